//! Content-coding negotiation: which of the codings a server can send a
//! client accepts best, from `Accept-Encoding` (RFC 9110 section 12.5.3).
//! The rules are in [`negotiate_encoding`]'s documentation.

use super::header_source::HeaderSource;
use crate::codec::syntax::trim_ows;

/// A quality value in thousandths: 0 to 1000.
type Quality = u16;

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in
/// thousandths; `None` when malformed.
fn quality(v: &[u8]) -> Option<Quality> {
    let (int, frac) = match memchr::memchr(b'.', v) {
        Some(dot) => (&v[..dot], &v[dot + 1..]),
        None => (v, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: Quality = 0;
    for i in 0..3 {
        thousandths = thousandths * 10 + frac.get(i).map_or(0, |d| Quality::from(d - b'0'));
    }
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// What the client said of codings: each named one with its quality, and
/// `*`'s.
#[derive(Debug, Default)]
struct Accepted<'a> {
    named: Vec<(&'a [u8], Quality)>,
    star: Option<Quality>,
}

impl<'a> Accepted<'a> {
    fn parse(values: impl Iterator<Item = &'a [u8]>) -> Accepted<'a> {
        let mut acc = Accepted::default();
        for value in values {
            for member in value.split(|&b| b == b',') {
                let mut params = member.split(|&b| b == b';');
                let name = trim_ows(params.next().unwrap_or_default());
                if name.is_empty() {
                    continue;
                }
                let mut q = Some(1000);
                for p in params {
                    let p = trim_ows(p);
                    if p.len() >= 2 && p[..2].eq_ignore_ascii_case(b"q=") {
                        q = quality(trim_ows(&p[2..]));
                    }
                }
                let Some(q) = q else { continue };
                let name: &[u8] = if name.eq_ignore_ascii_case(b"x-gzip") {
                    b"gzip"
                } else {
                    name
                };
                if name == b"*" {
                    acc.star = Some(acc.star.map_or(q, |s| s.max(q)));
                } else {
                    acc.named.push((name, q));
                }
            }
        }
        acc
    }

    /// The quality of `coding`: as named, else as `*`; identity covered by
    /// neither gets 1 thousandth, the least of any accepted coding.
    fn quality_of(&self, coding: &str) -> Quality {
        let named = self
            .named
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(coding.as_bytes()))
            .map(|&(_, q)| q)
            .max();
        match (named, self.star) {
            (Some(q), _) => q,
            (None, Some(star)) => star,
            (None, None) if coding.eq_ignore_ascii_case("identity") => 1,
            (None, None) => 0,
        }
    }
}

/// The coding to send: the one of `offered` (content-coding names such as
/// `"gzip"`, `"br"` and `"identity"`, in the server's order of preference)
/// that the request's `Accept-Encoding` accepts best, or `None` when none
/// is acceptable (the 406 case; the caller may send `identity` anyway).
///
/// The rules:
///
/// - Each member is `coding [; q=qvalue]`; the quality is 0 to 1 with at
///   most three decimals (section 12.4.2), 1 when absent. A member whose
///   `q` is malformed is skipped (neither accepted nor refused).
/// - A coding named explicitly gets its quality (the highest, if named
///   twice); `x-gzip` is `gzip` (section 8.4.1.3). Codings are compared
///   case-insensitively.
/// - A coding not named gets the quality of `*` when `*` is sent.
/// - `identity` named neither by itself nor through `*` is acceptable
///   (section 12.5.3), but least preferred: any coding the client accepts
///   with a non-zero quality wins over it.
/// - No `Accept-Encoding` at all: `identity` (the client has no
///   preference, and not every client decodes what it did not ask for). An
///   empty field: only `identity`.
/// - The highest quality wins; ties go to the first in the server's
///   `offered` list (its preference order).
/// - Nothing acceptable (`identity;q=0` or `*;q=0` and no other offered
///   coding accepted): `None`. RFC 9110 lets the server answer 406 or
///   disregard the field; the crate's server disregards it and sends
///   `identity`, as Go's `net/http` file server and nginx do.
///
/// `identity` should be in `offered` when the server can send the content
/// as is; without it, it is never chosen.
///
/// ```
/// # #[cfg(feature = "http-body")] {
/// use http::HeaderMap;
/// use producers::http::negotiate_encoding;
///
/// let offered = ["gzip", "identity"];
/// let ask = |accept: &str| {
///     let mut h = HeaderMap::new();
///     h.insert("accept-encoding", accept.parse().unwrap());
///     negotiate_encoding(&h, &offered)
/// };
/// assert_eq!(negotiate_encoding(&HeaderMap::new(), &offered), Some("identity"));
/// assert_eq!(ask("gzip, deflate"), Some("gzip"));
/// assert_eq!(ask("gzip;q=0"), Some("identity"));
/// assert_eq!(ask("identity;q=0, gzip"), Some("gzip"));
/// assert_eq!(ask("br;q=1, gzip;q=0.5"), Some("gzip"));
/// assert_eq!(ask("*;q=0"), None);
/// # }
/// ```
pub fn negotiate_encoding<'o, H>(headers: &H, offered: &[&'o str]) -> Option<&'o str>
where
    H: HeaderSource + ?Sized,
{
    if !headers.has_header("accept-encoding") {
        return offered
            .iter()
            .copied()
            .find(|c| c.eq_ignore_ascii_case("identity"));
    }
    let acc = Accepted::parse(headers.header_values("accept-encoding"));
    let mut best: Option<(&'o str, Quality)> = None;
    for &coding in offered {
        let q = acc.quality_of(coding);
        if q > 0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((coding, q));
        }
    }
    best.map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::proto::request::RequestHead;

    fn negotiate(fields: &str, offered: &[&'static str]) -> Option<&'static str> {
        let head = RequestHead::parse(
            format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n")
                .into_bytes()
                .into(),
        )
        .unwrap();
        negotiate_encoding(&head, offered)
    }

    #[test]
    fn qualities() {
        let table: &[(&str, Option<Quality>)] = &[
            ("1", Some(1000)),
            ("1.", Some(1000)),
            ("1.000", Some(1000)),
            ("0", Some(0)),
            ("0.5", Some(500)),
            ("0.001", Some(1)),
            ("0.12", Some(120)),
            ("1.001", None),
            ("0.1234", None),
            ("2", None),
            (".5", None),
            ("", None),
            ("abc", None),
        ];
        for (v, want) in table {
            assert_eq!(quality(v.as_bytes()), *want, "{v}");
        }
    }

    #[test]
    fn rfc_9110_section_12_5_3() {
        let gz = &["gzip", "identity"][..];
        let table: &[(&str, Option<&str>)] = &[
            // No field: no preference, identity.
            ("", Some("identity")),
            // An empty field: only identity.
            ("Accept-Encoding: \r\n", Some("identity")),
            ("Accept-Encoding: gzip\r\n", Some("gzip")),
            ("Accept-Encoding: compress, gzip\r\n", Some("gzip")),
            ("Accept-Encoding: *\r\n", Some("gzip")),
            (
                "Accept-Encoding: compress;q=0.5, gzip;q=1.0\r\n",
                Some("gzip"),
            ),
            (
                "Accept-Encoding: gzip;q=1.0, identity; q=0.5, *;q=0\r\n",
                Some("gzip"),
            ),
            ("Accept-Encoding: gzip;q=0\r\n", Some("identity")),
            ("Accept-Encoding: gzip; q=0.0, *\r\n", Some("identity")),
            ("Accept-Encoding: identity;q=0, gzip\r\n", Some("gzip")),
            ("Accept-Encoding: identity;q=0\r\n", None),
            ("Accept-Encoding: *;q=0\r\n", None),
            ("Accept-Encoding: *;q=0, identity\r\n", Some("identity")),
            (
                "Accept-Encoding: gzip;q=0.2, identity\r\n",
                Some("identity"),
            ),
            ("Accept-Encoding: gzip;q=0.2, *;q=0.5\r\n", Some("identity")),
            ("Accept-Encoding: GZIP;Q=0.5\r\n", Some("gzip")),
            (
                "Accept-Encoding: br\r\nAccept-Encoding: x-gzip\r\n",
                Some("gzip"),
            ),
            ("Accept-Encoding: gzipx\r\n", Some("identity")),
            ("Accept-Encoding: br\r\n", Some("identity")),
            // A malformed quality: the member is skipped.
            ("Accept-Encoding: gzip;q=2\r\n", Some("identity")),
            ("Accept-Encoding: gzip;q=abc, *;q=0\r\n", None),
            // Ties: the server's order.
            ("Accept-Encoding: identity, gzip\r\n", Some("gzip")),
        ];
        for (fields, want) in table {
            assert_eq!(negotiate(fields, gz), *want, "{fields:?}");
        }
    }

    #[test]
    fn server_preference_breaks_ties() {
        let fields = "Accept-Encoding: gzip, br\r\n";
        assert_eq!(negotiate(fields, &["br", "gzip", "identity"]), Some("br"));
        assert_eq!(negotiate(fields, &["gzip", "br", "identity"]), Some("gzip"));
        // A server preferring identity (a range asked for) keeps it on a
        // tie with `*`…
        assert_eq!(
            negotiate("Accept-Encoding: *\r\n", &["identity", "gzip"]),
            Some("identity")
        );
        // …but not over a coding the client named.
        assert_eq!(
            negotiate("Accept-Encoding: gzip\r\n", &["identity", "gzip"]),
            Some("gzip")
        );
        // identity is never chosen unless offered.
        assert_eq!(negotiate("", &["gzip"]), None);
        assert_eq!(negotiate("Accept-Encoding: br\r\n", &["gzip"]), None);
    }
}
