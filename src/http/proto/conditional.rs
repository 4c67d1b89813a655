//! Validators and the requests that use them: [`Validators`] (`ETag`,
//! `Last-Modified`), conditional GETs answered with 412 (`If-Match`,
//! `If-Unmodified-Since`) or 304, and single byte
//! ranges ([`ByteRange`], 206 and 416), per RFC 9110 sections 8.8, 13 and
//! 14.

use std::fs::Metadata;
use std::time::UNIX_EPOCH;

use super::date::parse_http_date;
use super::request::RequestHead;

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
        Validators {
            tag: format!("{:x}-{:x}", len, mtime_nanos),
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
    pub fn etag(&self, gzip: bool) -> String {
        if gzip {
            format!("\"{}-gz\"", self.tag)
        } else {
            format!("\"{}\"", self.tag)
        }
    }

    /// Whether a GET or HEAD of the representation with tag `etag` is
    /// answered 304 (RFC 9110 section 13.2.2): `If-None-Match` when sent
    /// (weak comparison, `*` matching anything), otherwise
    /// `If-Modified-Since` (not modified since that date).
    pub fn not_modified(&self, req: &RequestHead, etag: &str) -> bool {
        let mut inm = req.headers("if-none-match").peekable();
        if inm.peek().is_some() {
            let want = weak_opaque(etag.as_bytes());
            return inm.any(|v| {
                v.split(|&b| b == b',').any(|t| {
                    let t = trim(t);
                    t == b"*" || weak_opaque(t) == want
                })
            });
        }
        match req
            .header("if-modified-since")
            .and_then(|v| parse_http_date(v))
        {
            Some(since) => self.last_modified <= since,
            None => false,
        }
    }

    /// Whether a request for the representation with tag `etag` is
    /// answered 412 (RFC 9110 section 13.2.2, steps 1 and 2, which come
    /// before [`not_modified`](Self::not_modified)): `If-Match` when sent
    /// (strong comparison, so a weak tag never matches; `*` matches the
    /// existing file), otherwise `If-Unmodified-Since` (modified after
    /// that date; ignored when not a valid date).
    pub fn precondition_failed(&self, req: &RequestHead, etag: &str) -> bool {
        let mut im = req.headers("if-match").peekable();
        if im.peek().is_some() {
            // Our tags are strong, so equal bytes is strong comparison
            // (section 8.8.3.2): `W/"…"` never equals them.
            return !im.any(|v| {
                v.split(|&b| b == b',').any(|t| {
                    let t = trim(t);
                    t == b"*" || t == etag.as_bytes()
                })
            });
        }
        match req
            .header("if-unmodified-since")
            .and_then(|v| parse_http_date(v))
        {
            Some(since) => self.last_modified > since,
            None => false,
        }
    }

    /// Whether `If-Range`, if sent, lets the `Range` apply (RFC 9110
    /// section 13.1.5): an entity tag must match strongly, a date exactly.
    pub fn range_applies(&self, req: &RequestHead, etag: &str) -> bool {
        let Some(v) = req.header("if-range") else {
            return true;
        };
        let v = trim(v);
        if v.starts_with(b"W/") {
            false
        } else if v.starts_with(b"\"") {
            v == etag.as_bytes()
        } else {
            parse_http_date(v) == Some(self.last_modified)
        }
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// An entity tag without its weakness prefix, for weak comparison.
fn weak_opaque(t: &[u8]) -> &[u8] {
    t.strip_prefix(b"W/").unwrap_or(t)
}

/// A `Range` request evaluated against a representation's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// Serve the whole representation: no `Range`, or one this server
    /// ignores (another unit, several ranges, bad syntax — RFC 9110
    /// section 14.2 lets a server ignore it).
    Full,
    /// Serve `len` bytes from `start` with 206.
    Part {
        /// The first byte.
        start: u64,
        /// How many bytes (at least 1).
        len: u64,
    },
    /// No byte of the range exists: 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

impl ByteRange {
    /// Evaluates a `Range` value against a representation of `total` bytes:
    /// `bytes=first-last`, `bytes=first-` or `bytes=-suffix`.
    pub fn parse(value: &[u8], total: u64) -> ByteRange {
        let Some(spec) = value.strip_prefix(b"bytes=") else {
            return ByteRange::Full;
        };
        let spec = trim(spec);
        if spec.contains(&b',') {
            return ByteRange::Full;
        }
        let Some(dash) = memchr::memchr(b'-', spec) else {
            return ByteRange::Full;
        };
        let num = |s: &[u8]| -> Option<u64> {
            if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(s).ok()?.parse().ok()
        };
        let (first, last) = (trim(&spec[..dash]), trim(&spec[dash + 1..]));
        if first.is_empty() {
            // A suffix: the last n bytes.
            let Some(n) = num(last) else {
                return ByteRange::Full;
            };
            if n == 0 || total == 0 {
                return ByteRange::Unsatisfiable;
            }
            let len = n.min(total);
            return ByteRange::Part {
                start: total - len,
                len,
            };
        }
        let Some(start) = num(first) else {
            return ByteRange::Full;
        };
        let end = if last.is_empty() {
            u64::MAX
        } else {
            match num(last) {
                Some(e) if e >= start => e,
                _ => return ByteRange::Full,
            }
        };
        if start >= total {
            return ByteRange::Unsatisfiable;
        }
        let end = end.min(total - 1);
        ByteRange::Part {
            start,
            len: end - start + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn req(headers: &str) -> RequestHead {
        RequestHead::parse(Bytes::from(format!(
            "GET / HTTP/1.1\r\nHost: a\r\n{headers}\r\n"
        )))
        .unwrap()
    }

    #[test]
    fn ranges() {
        use ByteRange::*;
        let table: &[(&str, u64, ByteRange)] = &[
            ("bytes=0-0", 10, Part { start: 0, len: 1 }),
            ("bytes=2-5", 10, Part { start: 2, len: 4 }),
            ("bytes=2-", 10, Part { start: 2, len: 8 }),
            ("bytes=5-100", 10, Part { start: 5, len: 5 }),
            ("bytes=-3", 10, Part { start: 7, len: 3 }),
            ("bytes=-30", 10, Part { start: 0, len: 10 }),
            ("bytes=10-", 10, Unsatisfiable),
            ("bytes=10-20", 10, Unsatisfiable),
            ("bytes=-0", 10, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=-5", 0, Unsatisfiable),
            ("bytes=5-2", 10, Full),
            ("bytes=0-1,3-4", 10, Full),
            ("items=0-1", 10, Full),
            ("bytes=a-b", 10, Full),
            ("bytes=-", 10, Full),
            ("bytes=+1-2", 10, Full),
            ("bytes=1", 10, Full),
            ("bytes=99999999999999999999-", 10, Full),
        ];
        for (v, total, want) in table {
            assert_eq!(
                ByteRange::parse(v.as_bytes(), *total),
                *want,
                "{v} of {total}"
            );
        }
    }

    #[test]
    fn etags_and_dates() {
        let v = Validators::new(1234, 784_111_777_500_000_000);
        assert_eq!(v.last_modified, 784_111_777);
        let tag = v.etag(false);
        assert_eq!(tag, "\"4d2-ae1b981da166f00\"");
        assert_eq!(v.etag(true), "\"4d2-ae1b981da166f00-gz\"");
        assert!(v.not_modified(&req(&format!("If-None-Match: {tag}\r\n")), &tag));
        assert!(v.not_modified(&req(&format!("If-None-Match: \"x\", W/{tag}\r\n")), &tag));
        assert!(v.not_modified(&req("If-None-Match: *\r\n"), &tag));
        assert!(!v.not_modified(&req("If-None-Match: \"x\"\r\n"), &tag));
        assert!(!v.not_modified(&req(&format!("If-None-Match: {tag}\r\n")), &v.etag(true)));
        // If-None-Match wins over If-Modified-Since.
        assert!(!v.not_modified(
            &req("If-None-Match: \"x\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"),
            &tag
        ));
        assert!(v.not_modified(
            &req("If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"),
            &tag
        ));
        assert!(v.not_modified(
            &req("If-Modified-Since: Sun, 06 Nov 1994 08:49:38 GMT\r\n"),
            &tag
        ));
        assert!(!v.not_modified(
            &req("If-Modified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n"),
            &tag
        ));
        assert!(!v.not_modified(&req("If-Modified-Since: garbage\r\n"), &tag));
        assert!(!v.not_modified(&req(""), &tag));
    }

    #[test]
    fn preconditions() {
        // RFC 9110 section 13.1.1: If-Match compares strongly, `*` matches
        // the current representation; section 13.1.4: If-Unmodified-Since
        // fails for a later modification, and is ignored with If-Match or
        // when not a valid date.
        let v = Validators::new(1234, 784_111_777_500_000_000);
        let tag = v.etag(false);
        let gz = v.etag(true);
        let at = "Sun, 06 Nov 1994 08:49:37 GMT";
        let before = "Sun, 06 Nov 1994 08:49:36 GMT";
        let after = "Sun, 06 Nov 1994 08:49:38 GMT";
        let table: &[(String, &str, bool)] = &[
            (String::new(), &tag, false),
            (format!("If-Match: {tag}\r\n"), &tag, false),
            (format!("If-Match: \"x\" , {tag}\r\n"), &tag, false),
            (
                format!("If-Match: \"x\"\r\nIf-Match: {tag}\r\n"),
                &tag,
                false,
            ),
            ("If-Match: *\r\n".into(), &tag, false),
            ("If-Match: \"x\"\r\n".into(), &tag, true),
            (format!("If-Match: W/{tag}\r\n"), &tag, true),
            // The gzip coding is another representation with another tag.
            (format!("If-Match: {tag}\r\n"), &gz, true),
            (format!("If-Match: {gz}\r\n"), &gz, false),
            (format!("If-Unmodified-Since: {at}\r\n"), &tag, false),
            (format!("If-Unmodified-Since: {after}\r\n"), &tag, false),
            (format!("If-Unmodified-Since: {before}\r\n"), &tag, true),
            ("If-Unmodified-Since: garbage\r\n".into(), &tag, false),
            (
                format!("If-Match: {tag}\r\nIf-Unmodified-Since: {before}\r\n"),
                &tag,
                false,
            ),
            (
                format!("If-Match: \"x\"\r\nIf-Unmodified-Since: {after}\r\n"),
                &tag,
                true,
            ),
        ];
        for (fields, etag, want) in table {
            assert_eq!(
                v.precondition_failed(&req(fields), etag),
                *want,
                "{fields:?} against {etag}"
            );
        }
        // Section 13.2.2: the preconditions come before If-None-Match, so
        // a request both would answer is a 412 (checked first by the
        // caller), not a 304.
        let both = req(&format!("If-Match: \"x\"\r\nIf-None-Match: {tag}\r\n"));
        assert!(v.precondition_failed(&both, &tag) && v.not_modified(&both, &tag));
    }

    #[test]
    fn if_range() {
        let v = Validators::new(10, 784_111_777_000_000_000);
        let tag = v.etag(false);
        assert!(v.range_applies(&req(""), &tag));
        assert!(v.range_applies(&req(&format!("If-Range: {tag}\r\n")), &tag));
        assert!(!v.range_applies(&req("If-Range: \"other\"\r\n"), &tag));
        assert!(!v.range_applies(&req(&format!("If-Range: W/{tag}\r\n")), &tag));
        assert!(v.range_applies(&req("If-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n"), &tag));
        assert!(!v.range_applies(&req("If-Range: Sun, 06 Nov 1994 08:49:38 GMT\r\n"), &tag));
    }
}
