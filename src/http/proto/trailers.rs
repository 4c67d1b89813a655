//! Whether a client asked for a `Content-Digest` trailer: it accepts
//! trailers (`TE: trailers`, RFC 9110 section 10.1.4) and wants the
//! `sha-256` digest of the content (`Want-Content-Digest`, RFC 9530
//! section 4). The crate's server and the hyper and axum examples decide
//! with the same function, [`wants_digest_trailer`].

use super::header_source::HeaderSource;
use crate::codec::syntax::trim_ows;

/// Whether the request carries `TE: trailers`: a `TE` list member whose
/// token is `trailers` (case-insensitive, parameters ignored).
pub fn accepts_trailers<H: HeaderSource + ?Sized>(headers: &H) -> bool {
    headers.header_values("te").any(|v| {
        v.split(|&b| b == b',').any(|member| {
            let token = member.split(|&b| b == b';').next().unwrap_or_default();
            trim_ows(token).eq_ignore_ascii_case(b"trailers")
        })
    })
}

/// The preference the request gives `sha-256` in `Want-Content-Digest`
/// (RFC 9530 section 4): a Structured Fields dictionary of algorithms with
/// integer preferences 0 to 10, where 0 means "not acceptable". A key
/// without a value (the dictionary's boolean true) counts as 1; a member
/// whose value is not an integer in 0..=10 is ignored, and so is a
/// malformed header. `None` when the request does not name `sha-256`.
pub fn content_digest_preference<H: HeaderSource + ?Sized>(headers: &H) -> Option<u8> {
    let mut found = None;
    for value in headers.header_values("want-content-digest") {
        for member in value.split(|&b| b == b',') {
            // Parameters (`;a=b`) are not used by RFC 9530: dropped.
            let member = member.split(|&b| b == b';').next().unwrap_or_default();
            let member = trim_ows(member);
            let (key, pref) = match memchr::memchr(b'=', member) {
                Some(eq) => (&member[..eq], preference(&member[eq + 1..])),
                None => (member, Some(1)),
            };
            // Dictionary keys are lowercase; a later member of the same
            // key overrides an earlier one (RFC 8941 section 4.2.2).
            if let (b"sha-256", Some(p)) = (key, pref) {
                found = Some(p);
            }
        }
    }
    found
}

/// An integer preference 0..=10, or `None`.
fn preference(v: &[u8]) -> Option<u8> {
    match v {
        [d @ b'0'..=b'9'] => Some(d - b'0'),
        b"10" => Some(10),
        _ => None,
    }
}

/// Whether to send a `Content-Digest` trailer (`sha-256`, over the content
/// as sent): the client accepts trailers and wants `sha-256` with a
/// preference above 0.
///
/// ```
/// use http::HeaderMap;
/// use producers::http::wants_digest_trailer;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("te", "trailers".parse().unwrap());
/// headers.insert("want-content-digest", "sha-512=3, sha-256=1".parse().unwrap());
/// assert!(wants_digest_trailer(&headers));
///
/// headers.insert("want-content-digest", "sha-256=0".parse().unwrap());
/// assert!(!wants_digest_trailer(&headers));
/// ```
pub fn wants_digest_trailer<H: HeaderSource + ?Sized>(headers: &H) -> bool {
    accepts_trailers(headers) && content_digest_preference(headers).is_some_and(|p| p > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::proto::request::RequestHead;

    fn head(fields: &str) -> RequestHead {
        let raw = format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n");
        RequestHead::parse(raw.into()).expect("valid head")
    }

    #[test]
    fn te_trailers_is_a_list_member() {
        let table = [
            ("TE: trailers\r\n", true),
            ("TE: Trailers\r\n", true),
            ("TE: deflate;q=0.5, trailers\r\n", true),
            ("TE: gzip\r\nTE: trailers\r\n", true),
            ("TE: trailers;q=1\r\n", true),
            ("TE: gzip\r\n", false),
            ("TE: trailersx\r\n", false),
            ("", false),
        ];
        for (fields, want) in table {
            assert_eq!(accepts_trailers(&head(fields)), want, "{fields:?}");
        }
    }

    #[test]
    fn want_content_digest_follows_rfc_9530() {
        let table = [
            ("Want-Content-Digest: sha-256=1\r\n", Some(1)),
            ("Want-Content-Digest: sha-512=3, sha-256=10\r\n", Some(10)),
            ("Want-Content-Digest: sha-256=0\r\n", Some(0)),
            ("Want-Content-Digest: sha-256\r\n", Some(1)),
            ("Want-Content-Digest: sha-256=1;x=y\r\n", Some(1)),
            ("Want-Content-Digest: sha-256=1, sha-256=0\r\n", Some(0)),
            ("Want-Content-Digest: sha-256=11\r\n", None),
            ("Want-Content-Digest: sha-256=?1\r\n", None),
            ("Want-Content-Digest: SHA-256=1\r\n", None),
            ("Want-Content-Digest: sha-512=1\r\n", None),
            ("", None),
        ];
        for (fields, want) in table {
            assert_eq!(content_digest_preference(&head(fields)), want, "{fields:?}");
        }
    }

    #[test]
    fn a_digest_trailer_needs_both_fields() {
        assert!(wants_digest_trailer(&head(
            "TE: trailers\r\nWant-Content-Digest: sha-256=1\r\n"
        )));
        assert!(!wants_digest_trailer(&head(
            "Want-Content-Digest: sha-256=1\r\n"
        )));
        assert!(!wants_digest_trailer(&head("TE: trailers\r\n")));
        assert!(!wants_digest_trailer(&head(
            "TE: trailers\r\nWant-Content-Digest: sha-256=0\r\n"
        )));
    }
}
