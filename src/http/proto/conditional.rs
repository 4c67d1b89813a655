//! Validators and the requests that use them, per RFC 9110 sections 8.8,
//! 13 and 14: [`Validators`] (`ETag`, `Last-Modified` of a file), and
//! [`answer`], the one decision of what a request gets — 412, 304, 206
//! with [`ByteRanges`], 416, or everything ([`Answer`]) — for any
//! [`HeaderSource`] (the crate's [`RequestHead`](crate::http::RequestHead),
//! the `http` crate's `HeaderMap`) and any [`RequestMethod`].

use std::fs::Metadata;
use std::time::UNIX_EPOCH;

use super::date::{format_http_date, parse_http_date};
use super::digits::Digits;
use super::header_source::HeaderSource;
#[cfg(doc)]
use super::range::ByteRange;
use super::range::{ByteRanges, RangeError, RangeLimits};
use super::request_method::RequestMethod;
use super::status::Status;
use crate::codec::syntax::trim_ows;

/// What identifies one version of a file: a strong entity tag built from
/// its length and modification time, and that time in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// The opaque part of the entity tag, without quotes.
    tag: String,
    /// `Last-Modified`, in seconds since the epoch.
    pub last_modified: u64,
}

impl Validators {
    /// Validators of a file of `len` bytes modified at `mtime_nanos`
    /// nanoseconds since the epoch.
    pub fn new(len: u64, mtime_nanos: u128) -> Validators {
        // Without `core::fmt`: one per response until files are cached.
        let (len, mtime) = (Digits::hex(len as u128), Digits::hex(mtime_nanos));
        let mut tag = String::with_capacity(len.as_bytes().len() + 1 + mtime.as_bytes().len());
        len.push_to(&mut tag);
        tag.push('-');
        mtime.push_to(&mut tag);
        Validators {
            tag,
            last_modified: (mtime_nanos / 1_000_000_000) as u64,
        }
    }

    /// Validators of a file from its metadata.
    pub fn from_metadata(meta: &Metadata) -> Validators {
        let nanos = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Validators::new(meta.len(), nanos)
    }

    /// The `ETag` value of the representation: the file as is, or its gzip
    /// coding (a different representation, so a different strong tag).
    /// [`etag_with_suffix`](Self::etag_with_suffix) for other codings.
    pub fn etag(&self, gzip: bool) -> String {
        self.etag_with_suffix(if gzip { "-gz" } else { "" })
    }

    /// The `ETag` value of one coding of the file: the file's tag with
    /// `suffix` appended inside the quotes (`-gz`, `-br`, `-zst`; empty for
    /// the file as is). Each content coding is a representation of its
    /// own, so each gets its own strong tag (RFC 9110 section 8.8.3).
    pub fn etag_with_suffix(&self, suffix: &str) -> String {
        let mut etag = String::with_capacity(self.tag.len() + suffix.len() + 2);
        etag.push('"');
        etag.push_str(&self.tag);
        etag.push_str(suffix);
        etag.push('"');
        etag
    }

    /// The `Last-Modified` value: an IMF-fixdate.
    pub fn last_modified_date(&self) -> String {
        format_http_date(self.last_modified)
    }
}

/// What a conditional or range request is evaluated against: the selected
/// representation's validators and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Representation<'a> {
    /// Its `ETag` value as sent, quotes included (`"xyz"`, or `W/"xyz"`
    /// for a weak tag), if it has one.
    pub etag: Option<&'a str>,
    /// Its `Last-Modified` time in seconds since the epoch, if it has one.
    pub last_modified: Option<u64>,
    /// Its length, when ranges of it can be served; `None` when not (a
    /// coding produced on the fly, of unknown length): `Range` is then
    /// ignored.
    pub len: Option<u64>,
}

/// What to answer a GET or HEAD (or any method's preconditions), decided
/// by [`answer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200 with the whole representation (no `Range`, or one that is
    /// ignored: see [`RangeError`]).
    Full,
    /// 304 Not Modified: no content, the validator fields.
    NotModified,
    /// 412 Precondition Failed.
    PreconditionFailed,
    /// 206 Partial Content with these ranges: one range as is with
    /// `Content-Range` ([`ByteRange::content_range`]), several as
    /// `multipart/byteranges` ([`MultipartRanges`](crate::http::MultipartRanges)).
    Partial(ByteRanges),
    /// 416 Range Not Satisfiable, with `Content-Range: bytes */len`
    /// ([`unsatisfied_range`](crate::http::unsatisfied_range)).
    RangeNotSatisfiable {
        /// The representation's length.
        len: u64,
    },
}

impl Answer {
    /// The status to send.
    pub fn status(&self) -> Status {
        match self {
            Answer::Full => Status::OK,
            Answer::NotModified => Status::NOT_MODIFIED,
            Answer::PreconditionFailed => Status::PRECONDITION_FAILED,
            Answer::Partial(_) => Status::PARTIAL_CONTENT,
            Answer::RangeNotSatisfiable { .. } => Status::RANGE_NOT_SATISFIABLE,
        }
    }
}

/// Decides what a request gets, from its method and header fields and the
/// selected representation, in the order of RFC 9110 section 13.2.2:
///
/// 1. `If-Match` (strong comparison; `*` matches): false → 412.
/// 2. Without `If-Match`, `If-Unmodified-Since` (ignored unless a valid
///    date): modified after it → 412.
/// 3. `If-None-Match` (weak comparison; `*` matches): a match → 304 for
///    GET and HEAD, 412 for any other method.
/// 4. Without `If-None-Match`, for GET and HEAD only,
///    `If-Modified-Since` (ignored unless a valid date): not modified
///    since → 304.
/// 5. For GET only, with `Range` and a known [`len`](Representation::len):
///    `If-Range` (if sent) must match — an entity tag strongly, a date
///    exactly — or the whole representation is sent; then the range is
///    evaluated by [`ByteRanges::parse`] with `limits`: 206, 416, or
///    ignored (200).
///
/// ```
/// # #[cfg(feature = "http-body")] {
/// use http::{HeaderMap, Method};
/// use producers::http::{Answer, RangeLimits, Representation, answer};
///
/// let rep = Representation { etag: Some("\"v1\""), last_modified: None, len: Some(100) };
/// let mut h = HeaderMap::new();
/// h.insert("if-none-match", "\"v1\"".parse().unwrap());
/// assert_eq!(answer(&Method::GET, &h, &rep, &RangeLimits::default()), Answer::NotModified);
/// assert_eq!(answer(&Method::PUT, &h, &rep, &RangeLimits::default()), Answer::PreconditionFailed);
///
/// let mut h = HeaderMap::new();
/// h.insert("range", "bytes=-10".parse().unwrap());
/// h.insert("if-range", "\"v1\"".parse().unwrap());
/// let Answer::Partial(ranges) = answer(&Method::GET, &h, &rep, &RangeLimits::default()) else {
///     panic!()
/// };
/// assert_eq!(ranges.single().unwrap().content_range(100), "bytes 90-99/100");
/// # }
/// ```
pub fn answer<M, H>(
    method: &M,
    headers: &H,
    rep: &Representation<'_>,
    limits: &RangeLimits,
) -> Answer
where
    M: RequestMethod + ?Sized,
    H: HeaderSource + ?Sized,
{
    let etag = rep.etag.map(str::as_bytes);
    // Step 1 and 2.
    if headers.has_header("if-match") {
        if !tag_list_matches(headers.header_values("if-match"), etag, true) {
            return Answer::PreconditionFailed;
        }
    } else if let (Some(since), Some(lm)) = (
        single_date(headers, "if-unmodified-since"),
        rep.last_modified,
    ) && lm > since
    {
        return Answer::PreconditionFailed;
    }
    // Step 3 and 4.
    if headers.has_header("if-none-match") {
        if tag_list_matches(headers.header_values("if-none-match"), etag, false) {
            return if method.is_get_or_head() {
                Answer::NotModified
            } else {
                Answer::PreconditionFailed
            };
        }
    } else if method.is_get_or_head()
        && let (Some(since), Some(lm)) =
            (single_date(headers, "if-modified-since"), rep.last_modified)
        && lm <= since
    {
        return Answer::NotModified;
    }
    // Step 5: only GET has range handling (section 14.2).
    let Some(len) = rep.len else {
        return Answer::Full;
    };
    if !method.is_get() {
        return Answer::Full;
    }
    let mut range = headers.header_values("range");
    let (Some(value), None) = (range.next(), range.next()) else {
        // None, or sent twice: not one valid ranges-specifier.
        return Answer::Full;
    };
    if headers.has_header("if-range") && !if_range_holds(headers, rep) {
        return Answer::Full;
    }
    match ByteRanges::parse(value, len, limits) {
        Ok(ranges) => Answer::Partial(ranges),
        Err(RangeError::Unsatisfiable { total }) => Answer::RangeNotSatisfiable { len: total },
        Err(_) => Answer::Full,
    }
}

/// A field that must be one valid HTTP-date: `None` when absent, sent
/// twice or not a date (sections 13.1.3 and 13.1.4: then it is ignored).
fn single_date<H: HeaderSource + ?Sized>(headers: &H, name: &str) -> Option<u64> {
    let mut values = headers.header_values(name);
    match (values.next(), values.next()) {
        (Some(v), None) => parse_http_date(trim_ows(v)),
        _ => None,
    }
}

/// `If-Range` (section 13.1.5): an entity tag must match the
/// representation's strongly, a date must equal its `Last-Modified`; a
/// field that is neither, or sent twice, does not hold.
fn if_range_holds<H: HeaderSource + ?Sized>(headers: &H, rep: &Representation<'_>) -> bool {
    let mut values = headers.header_values("if-range");
    let (Some(v), None) = (values.next(), values.next()) else {
        return false;
    };
    let v = trim_ows(v);
    if v.starts_with(b"\"") || v.starts_with(b"W/") {
        match (
            EntityTag::parse_one(v),
            rep.etag.and_then(|t| EntityTag::parse_one(t.as_bytes())),
        ) {
            (Some(a), Some(b)) => a.strong_eq(&b),
            _ => false,
        }
    } else {
        matches!((parse_http_date(v), rep.last_modified), (Some(d), Some(lm)) if d == lm)
    }
}

/// An entity tag (section 8.8.3): weak or strong, and its opaque part with
/// its quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EntityTag<'a> {
    weak: bool,
    opaque: &'a [u8],
}

impl<'a> EntityTag<'a> {
    /// One tag at the start of `s`: the tag and what follows it.
    fn parse_prefix(s: &'a [u8]) -> Option<(EntityTag<'a>, &'a [u8])> {
        let (weak, rest) = match s.strip_prefix(b"W/") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let body = rest.strip_prefix(b"\"")?;
        let close = memchr::memchr(b'"', body)?;
        // etagc: %x21 / %x23-7E / obs-text (no space, no control).
        if !body[..close]
            .iter()
            .all(|&b| b == 0x21 || b >= 0x23 && b != 0x7f)
        {
            return None;
        }
        let opaque = &rest[..close + 2];
        Some((EntityTag { weak, opaque }, &body[close + 1..]))
    }

    /// A whole value that is exactly one tag (OWS around it allowed).
    fn parse_one(s: &'a [u8]) -> Option<EntityTag<'a>> {
        match EntityTag::parse_prefix(trim_ows(s))? {
            (t, []) => Some(t),
            _ => None,
        }
    }

    /// Strong comparison: both strong, same opaque part.
    fn strong_eq(&self, other: &EntityTag<'_>) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison: same opaque part.
    fn weak_eq(&self, other: &EntityTag<'_>) -> bool {
        self.opaque == other.opaque
    }
}

/// Whether an `If-Match` (strong) or `If-None-Match` (weak) list matches
/// the representation's tag: `*` matches any existing representation,
/// else one of the listed tags must. Parsing stops at the first malformed
/// member (what came before it still counts); a comma inside a quoted tag
/// is part of the tag.
fn tag_list_matches<'v>(
    values: impl Iterator<Item = &'v [u8]>,
    etag: Option<&[u8]>,
    strong: bool,
) -> bool {
    let current = etag.and_then(EntityTag::parse_one);
    for value in values {
        let mut rest = value;
        loop {
            rest = trim_list_separators(rest);
            if rest.is_empty() {
                break;
            }
            if let Some(after) = rest.strip_prefix(b"*") {
                if trim_ows(after).is_empty() || trim_ows(after).starts_with(b",") {
                    return true;
                }
                break;
            }
            let Some((tag, after)) = EntityTag::parse_prefix(rest) else {
                break;
            };
            if let Some(cur) = &current {
                let eq = if strong {
                    tag.strong_eq(cur)
                } else {
                    tag.weak_eq(cur)
                };
                if eq {
                    return true;
                }
            }
            let after = trim_ows(after);
            if !(after.is_empty() || after.starts_with(b",")) {
                break;
            }
            rest = after;
        }
    }
    false
}

/// `s` without leading OWS and commas (empty list members, section
/// 5.6.1.2).
fn trim_list_separators(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b',', rest @ ..] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::proto::range::ByteRange;
    use crate::http::proto::request::{Method, RequestHead};

    /// A request with `fields` (lines joined with CRLF, no final CRLF).
    fn req(method: &str, fields: &str) -> RequestHead {
        let fields = if fields.is_empty() {
            String::new()
        } else {
            format!("{fields}\r\n")
        };
        RequestHead::parse(
            format!("{method} / HTTP/1.1\r\nHost: a\r\n{fields}\r\n")
                .into_bytes()
                .into(),
        )
        .unwrap()
    }

    const AT: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const BEFORE: &str = "Sun, 06 Nov 1994 08:49:36 GMT";
    const AFTER: &str = "Sun, 06 Nov 1994 08:49:38 GMT";

    /// A 10-byte representation tagged `"v1"`, modified at `AT`.
    fn rep() -> Representation<'static> {
        Representation {
            etag: Some("\"v1\""),
            last_modified: Some(784_111_777),
            len: Some(10),
        }
    }

    fn decide(method: &str, fields: &str) -> Answer {
        let head = req(method, fields);
        answer(&head.method, &head, &rep(), &RangeLimits::default())
    }

    fn part(start: u64, len: u64) -> Answer {
        Answer::Partial(
            ByteRanges::parse(
                format!("bytes={start}-{}", start + len - 1).as_bytes(),
                10,
                &RangeLimits::default(),
            )
            .unwrap(),
        )
    }

    #[test]
    fn validators() {
        let v = Validators::new(1234, 784_111_777_500_000_000);
        assert_eq!(v.last_modified, 784_111_777);
        assert_eq!(v.etag(false), "\"4d2-ae1b981da166f00\"");
        assert_eq!(v.etag(true), "\"4d2-ae1b981da166f00-gz\"");
        assert_eq!(v.etag_with_suffix("-br"), "\"4d2-ae1b981da166f00-br\"");
        assert_eq!(v.last_modified_date(), AT);
    }

    #[test]
    fn rfc_9110_section_13_2_2_order() {
        use Answer::*;
        let table: &[(&str, String, Answer)] = &[
            ("GET", String::new(), Full),
            // Step 1: If-Match, strong.
            ("GET", "If-Match: \"v1\"".into(), Full),
            ("GET", "If-Match: \"x\", \"v1\"".into(), Full),
            ("GET", "If-Match: \"x\"\r\nIf-Match: \"v1\"".into(), Full),
            ("GET", "If-Match: *".into(), Full),
            ("GET", "If-Match: \"x\"".into(), PreconditionFailed),
            ("GET", "If-Match: W/\"v1\"".into(), PreconditionFailed),
            ("PUT", "If-Match: \"x\"".into(), PreconditionFailed),
            // A comma inside a tag is part of it.
            ("GET", "If-Match: \"v1,x\"".into(), PreconditionFailed),
            // Step 2: If-Unmodified-Since, only without If-Match.
            ("GET", format!("If-Unmodified-Since: {AT}"), Full),
            ("GET", format!("If-Unmodified-Since: {AFTER}"), Full),
            (
                "GET",
                format!("If-Unmodified-Since: {BEFORE}"),
                PreconditionFailed,
            ),
            ("GET", "If-Unmodified-Since: garbage".into(), Full),
            (
                "GET",
                format!("If-Match: \"v1\"\r\nIf-Unmodified-Since: {BEFORE}"),
                Full,
            ),
            // Step 3: If-None-Match, weak; 304 for GET/HEAD, else 412.
            ("GET", "If-None-Match: \"v1\"".into(), NotModified),
            ("HEAD", "If-None-Match: \"x\", W/\"v1\"".into(), NotModified),
            ("GET", "If-None-Match: *".into(), NotModified),
            ("GET", "If-None-Match: \"x\"".into(), Full),
            ("POST", "If-None-Match: \"v1\"".into(), PreconditionFailed),
            ("DELETE", "If-None-Match: *".into(), PreconditionFailed),
            // 412 comes before 304.
            (
                "GET",
                "If-Match: \"x\"\r\nIf-None-Match: \"v1\"".into(),
                PreconditionFailed,
            ),
            (
                "GET",
                format!("If-Unmodified-Since: {BEFORE}\r\nIf-None-Match: \"v1\""),
                PreconditionFailed,
            ),
            (
                "GET",
                format!("If-Unmodified-Since: {AT}\r\nIf-None-Match: \"v1\""),
                NotModified,
            ),
            // Step 4: If-Modified-Since, GET/HEAD, only without If-None-Match.
            ("GET", format!("If-Modified-Since: {AT}"), NotModified),
            ("HEAD", format!("If-Modified-Since: {AFTER}"), NotModified),
            ("GET", format!("If-Modified-Since: {BEFORE}"), Full),
            ("GET", "If-Modified-Since: garbage".into(), Full),
            ("POST", format!("If-Modified-Since: {AT}"), Full),
            (
                "GET",
                format!("If-Modified-Since: {AT}\r\nIf-Modified-Since: {AT}"),
                Full,
            ),
            (
                "GET",
                format!("If-None-Match: \"x\"\r\nIf-Modified-Since: {AT}"),
                Full,
            ),
        ];
        for (method, fields, want) in table {
            assert_eq!(decide(method, fields), *want, "{method} {fields:?}");
        }
    }

    #[test]
    fn ranges_and_if_range() {
        use Answer::*;
        let table: &[(&str, String, Answer)] = &[
            ("GET", "Range: bytes=2-5".into(), part(2, 4)),
            ("GET", "Range: bytes=-3".into(), part(7, 3)),
            (
                "GET",
                "Range: bytes=10-".into(),
                RangeNotSatisfiable { len: 10 },
            ),
            // Malformed, another unit, too many overlaps: ignored.
            ("GET", "Range: bytes=5-2".into(), Full),
            ("GET", "Range: items=0-1".into(), Full),
            ("GET", "Range: bytes=0-,0-".into(), Full),
            ("GET", "Range: bytes=0-1\r\nRange: bytes=3-4".into(), Full),
            // Only GET has ranges.
            ("HEAD", "Range: bytes=2-5".into(), Full),
            ("POST", "Range: bytes=2-5".into(), Full),
            // If-Range: a strong tag, or the exact date.
            (
                "GET",
                "Range: bytes=2-5\r\nIf-Range: \"v1\"".into(),
                part(2, 4),
            ),
            ("GET", "Range: bytes=2-5\r\nIf-Range: \"v0\"".into(), Full),
            ("GET", "Range: bytes=2-5\r\nIf-Range: W/\"v1\"".into(), Full),
            (
                "GET",
                format!("Range: bytes=2-5\r\nIf-Range: {AT}"),
                part(2, 4),
            ),
            (
                "GET",
                format!("Range: bytes=2-5\r\nIf-Range: {AFTER}"),
                Full,
            ),
            ("GET", "Range: bytes=2-5\r\nIf-Range: garbage".into(), Full),
            ("GET", "Range: bytes=10-\r\nIf-Range: \"v0\"".into(), Full),
            // If-Range without Range is ignored.
            ("GET", "If-Range: \"v0\"".into(), Full),
            // A precondition first, then the range.
            (
                "GET",
                "Range: bytes=2-5\r\nIf-None-Match: \"v1\"".into(),
                NotModified,
            ),
            (
                "GET",
                "Range: bytes=2-5\r\nIf-Match: \"v0\"".into(),
                PreconditionFailed,
            ),
        ];
        for (method, fields, want) in table {
            assert_eq!(decide(method, fields), *want, "{method} {fields:?}");
        }
        let Partial(r) = decide("GET", "Range: bytes=0-1,5-6") else {
            panic!()
        };
        assert_eq!(
            r.as_slice(),
            [
                ByteRange { start: 0, len: 2 },
                ByteRange { start: 5, len: 2 }
            ]
        );
    }

    #[test]
    fn representations_without_validators_or_length() {
        let head = req("GET", "If-Match: *\r\nRange: bytes=0-1");
        let bare = Representation::default();
        // `*` matches any existing representation; no length, no range.
        assert_eq!(
            answer(&Method::Get, &head, &bare, &RangeLimits::default()),
            Answer::Full
        );
        let head = req("GET", "If-Match: \"v1\"\r\nIf-None-Match: *");
        assert_eq!(
            answer(&Method::Get, &head, &bare, &RangeLimits::default()),
            Answer::PreconditionFailed
        );
        let head = req("GET", &format!("If-Modified-Since: {AT}"));
        assert_eq!(
            answer("GET", &head, &bare, &RangeLimits::default()),
            Answer::Full
        );
        let weak = Representation {
            etag: Some("W/\"v1\""),
            ..rep()
        };
        let head = req("GET", "If-None-Match: \"v1\"");
        assert_eq!(
            answer("GET", &head, &weak, &RangeLimits::default()),
            Answer::NotModified
        );
        let head = req("GET", "Range: bytes=0-1\r\nIf-Range: W/\"v1\"");
        assert_eq!(
            answer("GET", &head, &weak, &RangeLimits::default()),
            Answer::Full,
            "a weak tag never lets a range apply"
        );
    }

    #[test]
    fn entity_tags() {
        fn t(s: &str) -> Option<EntityTag<'_>> {
            EntityTag::parse_one(s.as_bytes())
        }
        assert_eq!(
            t("W/\"a\""),
            Some(EntityTag {
                weak: true,
                opaque: b"\"a\""
            })
        );
        assert!(t("\"\"").is_some());
        for bad in ["a", "\"a", "w/\"a\"", "\"a b\"", "\"a\"x", "W/ \"a\""] {
            assert_eq!(t(bad), None, "{bad}");
        }
        let m = |list: &str, strong| {
            tag_list_matches([list.as_bytes()].into_iter(), Some(b"\"v1\""), strong)
        };
        assert!(m(" , \"x\" ,, \"v1\"", true));
        assert!(m("\"x\", *", true));
        // Parsing stops at a malformed member.
        assert!(!m("\"x\" junk, \"v1\"", true));
        assert!(!m("**", true));
        assert!(m("W/\"v1\"", false) && !m("W/\"v1\"", true));
    }

    #[test]
    fn answer_statuses() {
        assert_eq!(Answer::Full.status(), Status::OK);
        assert_eq!(Answer::NotModified.status(), Status::NOT_MODIFIED);
        assert_eq!(
            Answer::PreconditionFailed.status(),
            Status::PRECONDITION_FAILED
        );
        assert_eq!(part(0, 1).status(), Status::PARTIAL_CONTENT);
        assert_eq!(
            Answer::RangeNotSatisfiable { len: 1 }.status(),
            Status::RANGE_NOT_SATISFIABLE
        );
    }
}
