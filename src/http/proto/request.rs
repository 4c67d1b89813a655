//! The request head: [`HeadScanner`] finds where it ends, [`RequestHead`]
//! parses it (RFC 9112 sections 2 to 6), sans-I/O.

use std::fmt;

use bytes::Bytes;

use super::error::HttpError;
use crate::codec::syntax::{is_forbidden_ctl, is_tchar, trim_ows};

/// Default most bytes in the request line, CRLF excluded: 8 KiB (414 past it).
pub const DEFAULT_MAX_LINE: usize = 8 << 10;
/// Default most bytes in the whole request head, final CRLF CRLF included:
/// 16 KiB (431 past it).
pub const DEFAULT_MAX_HEAD: usize = 16 << 10;
/// Default most header fields: 100 (431 past it).
pub const DEFAULT_MAX_HEADERS: usize = 100;

/// The caps on a request head. Every one is peer-controlled; each has its
/// own [`HttpError`], and the connection closes after the error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Most bytes in the request line ([`DEFAULT_MAX_LINE`]); past it,
    /// [`HttpError::RequestLineTooLong`] (414).
    pub max_line: usize,
    /// Most bytes in the whole head ([`DEFAULT_MAX_HEAD`]); past it,
    /// [`HttpError::HeadTooLarge`] (431).
    pub max_head: usize,
    /// Most header fields ([`DEFAULT_MAX_HEADERS`]); past it,
    /// [`HttpError::TooManyHeaders`] (431).
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_line: DEFAULT_MAX_LINE,
            max_head: DEFAULT_MAX_HEAD,
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }
}

/// Finds the end of a request head in a growing buffer, line by line, each
/// byte looked at once however the head arrives, and enforces the
/// [`HeadLimits`] as soon as they are passed (not when the head ends, so a
/// peer cannot make the server buffer more than the caps).
///
/// The buffer passed to [`scan`](Self::scan) must start with the head and
/// only grow between calls.
#[derive(Debug, Clone)]
pub struct HeadScanner {
    limits: HeadLimits,
    state: Scan,
}

/// What the scanner expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// The end of the request line; nothing before `from` holds a LF.
    RequestLine { from: usize },
    /// The end of the field line starting at `start`; `fields` lines seen.
    Field { start: usize, fields: usize },
}

impl HeadScanner {
    /// A scanner with `limits`.
    pub fn new(limits: HeadLimits) -> HeadScanner {
        HeadScanner {
            limits,
            state: Scan::RequestLine { from: 0 },
        }
    }

    /// The limits.
    pub fn limits(&self) -> &HeadLimits {
        &self.limits
    }

    /// Starts over for the next head.
    pub fn reset(&mut self) {
        self.state = Scan::RequestLine { from: 0 };
    }

    /// Looks at what `buf` holds now: `Ok(Some(n))` when the head is the
    /// first `n` bytes (through the empty line), `Ok(None)` when more is
    /// needed, or the limit that was passed.
    pub fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>, HttpError> {
        let l = self.limits;
        loop {
            match self.state {
                Scan::RequestLine { from } => match memchr::memchr(b'\n', &buf[from..]) {
                    Some(i) => {
                        let end = from + i;
                        let len = end - usize::from(end > 0 && buf[end - 1] == b'\r');
                        if len > l.max_line {
                            return Err(HttpError::RequestLineTooLong { limit: l.max_line });
                        }
                        self.state = Scan::Field {
                            start: end + 1,
                            fields: 0,
                        };
                    }
                    None => {
                        // The CR of the CRLF may already be there.
                        let len = buf.len() - usize::from(buf.last() == Some(&b'\r'));
                        if len > l.max_line {
                            return Err(HttpError::RequestLineTooLong { limit: l.max_line });
                        }
                        if buf.len() > l.max_head {
                            return Err(HttpError::HeadTooLarge { limit: l.max_head });
                        }
                        self.state = Scan::RequestLine { from: buf.len() };
                        return Ok(None);
                    }
                },
                Scan::Field { start, fields } => {
                    let Some(i) = memchr::memchr(b'\n', &buf[start..]) else {
                        if buf.len() > l.max_head {
                            return Err(HttpError::HeadTooLarge { limit: l.max_head });
                        }
                        return Ok(None);
                    };
                    let end = start + i + 1;
                    if end > l.max_head {
                        return Err(HttpError::HeadTooLarge { limit: l.max_head });
                    }
                    // An empty line (CRLF, or a bare LF the parser rejects)
                    // ends the head.
                    if i == 0 || (i == 1 && buf[start] == b'\r') {
                        self.reset();
                        return Ok(Some(end));
                    }
                    if fields == l.max_headers {
                        return Err(HttpError::TooManyHeaders {
                            limit: l.max_headers,
                        });
                    }
                    self.state = Scan::Field {
                        start: end,
                        fields: fields + 1,
                    };
                }
            }
        }
    }
}

/// The request method (RFC 9110 section 9).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`.
    Head,
    /// `POST`.
    Post,
    /// `OPTIONS`.
    Options,
    /// Any other method token, as sent.
    Other(Bytes),
}

impl Method {
    /// The method's name.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Options => "OPTIONS",
            // Tokens are ASCII, checked by the parser.
            Method::Other(b) => std::str::from_utf8(b).unwrap_or("?"),
        }
    }
}

impl Method {
    /// Whether the server recognises the method: the eight of RFC 9110
    /// section 9.3 (`GET`, `HEAD`, `POST`, `PUT`, `DELETE`, `CONNECT`,
    /// `OPTIONS`, `TRACE`) and `PATCH` (RFC 5789), case-sensitively
    /// (section 9.1). A known method a resource does not support gets 405
    /// with `Allow`; any other gets 501 (section 15.6.2).
    pub fn is_known(&self) -> bool {
        match self {
            Method::Get | Method::Head | Method::Post | Method::Options => true,
            Method::Other(m) => matches!(
                &m[..],
                b"PUT" | b"DELETE" | b"CONNECT" | b"TRACE" | b"PATCH"
            ),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The HTTP version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// HTTP/1.0: close after each response unless `Connection: keep-alive`.
    Http10,
    /// HTTP/1.1 (and any later 1.x, RFC 9110 section 6.2): keep-alive by
    /// default.
    Http11,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        })
    }
}

/// One header field, name and value split off the head without copying.
/// The value has no leading or trailing whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The field name as sent (compare with `eq_ignore_ascii_case`).
    pub name: Bytes,
    /// The field value, trimmed.
    pub value: Bytes,
}

/// How the request body is framed (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The request target as sent (origin form `/path?query`, absolute
    /// form, or `*` with `OPTIONS` only).
    pub target: Bytes,
    /// The version.
    pub version: Version,
    /// The header fields in order.
    pub headers: Vec<Header>,
}

impl RequestHead {
    /// Parses a whole head: the bytes [`HeadScanner::scan`] delimited,
    /// through the final empty line. Strict: lines end with CRLF, single
    /// spaces in the request line, no whitespace before a field's colon and
    /// no line folding (RFC 9112 sections 3, 5.1 and 5.2).
    pub fn parse(head: Bytes) -> Result<RequestHead, HttpError> {
        let bad_line = |offset, reason| HttpError::BadRequestLine { offset, reason };
        let line_end = memchr::memchr(b'\n', &head).ok_or(bad_line(0, "no line end"))?;
        if line_end == 0 || head[line_end - 1] != b'\r' {
            return Err(bad_line(line_end, "line not ended by crlf"));
        }
        let line = &head[..line_end - 1];
        let sp1 = memchr::memchr(b' ', line).ok_or(bad_line(0, "no space after the method"))?;
        let method = &line[..sp1];
        if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
            return Err(bad_line(0, "invalid method"));
        }
        let rest = &line[sp1 + 1..];
        let sp2 =
            memchr::memchr(b' ', rest).ok_or(bad_line(sp1 + 1, "no space after the target"))?;
        let target_at = sp1 + 1;
        let target = &rest[..sp2];
        if target.is_empty() {
            return Err(bad_line(target_at, "empty target"));
        }
        if let Some(i) = target.iter().position(|&b| b <= b' ' || b == 0x7f) {
            return Err(bad_line(target_at + i, "invalid byte in target"));
        }
        if !(target[0] == b'/'
            || target == b"*"
            || target.starts_with(b"http://")
            || target.starts_with(b"https://"))
        {
            return Err(bad_line(
                target_at,
                "target is not in origin or absolute form",
            ));
        }
        // RFC 9112 section 3.2.4: `*` only for a server-wide OPTIONS.
        if target == b"*" && method != b"OPTIONS" {
            return Err(bad_line(target_at, "asterisk form without options"));
        }
        let version_at = target_at + sp2 + 1;
        let version = parse_version(&rest[sp2 + 1..]).map_err(|e| match e {
            Some(e) => e,
            None => bad_line(version_at, "invalid version"),
        })?;
        let method = match method {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"OPTIONS" => Method::Options,
            _ => Method::Other(head.slice(..sp1)),
        };
        let target = head.slice(target_at..target_at + target.len());

        let mut headers = Vec::with_capacity(4);
        let mut pos = line_end + 1;
        loop {
            let bad = |offset, reason| HttpError::BadHeader { offset, reason };
            let nl = memchr::memchr(b'\n', &head[pos..]).ok_or(bad(pos, "no line end"))? + pos;
            if nl == pos || head[nl - 1] != b'\r' {
                return Err(bad(nl, "line not ended by crlf"));
            }
            let line = &head[pos..nl - 1];
            if line.is_empty() {
                if nl + 1 != head.len() {
                    return Err(bad(nl + 1, "bytes after the head"));
                }
                break;
            }
            if line[0] == b' ' || line[0] == b'\t' {
                return Err(bad(pos, "obsolete line folding"));
            }
            let colon = memchr::memchr(b':', line).ok_or(bad(pos, "no colon"))?;
            let name = &line[..colon];
            if name.is_empty() {
                return Err(bad(pos, "empty field name"));
            }
            if let Some(i) = name.iter().position(|&b| !is_tchar(b)) {
                return Err(bad(pos + i, "invalid byte in field name"));
            }
            let raw = &line[colon + 1..];
            if let Some(i) = raw.iter().position(|&b| is_forbidden_ctl(b)) {
                return Err(bad(pos + colon + 1 + i, "invalid byte in field value"));
            }
            let value = trim_ows(raw);
            let vstart = value.as_ptr() as usize - head.as_ptr() as usize;
            headers.push(Header {
                name: head.slice(pos..pos + colon),
                value: head.slice(vstart..vstart + value.len()),
            });
            pos = nl + 1;
        }
        Ok(RequestHead {
            method,
            target,
            version,
            headers,
        })
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&Bytes> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| &h.value)
    }

    /// Every value of header `name`, in order.
    pub fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Bytes> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| &h.value)
    }

    /// Whether a comma-separated list header `name` holds `token`
    /// (case-insensitive), in any of its lines.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers(name).any(|v| {
            v.split(|&b| b == b',')
                .any(|t| trim_ows(t).eq_ignore_ascii_case(token.as_bytes()))
        })
    }

    /// Whether the client asked to keep the connection open after this
    /// request: HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with
    /// `Connection: keep-alive` (RFC 9112 section 9.3).
    pub fn wants_keep_alive(&self) -> bool {
        match self.version {
            Version::Http11 => !self.has_token("connection", "close"),
            Version::Http10 => {
                self.has_token("connection", "keep-alive") && !self.has_token("connection", "close")
            }
        }
    }

    /// Checks `Host` (exactly one in HTTP/1.1, at most one in 1.0, its
    /// value `uri-host [ ":" port ]` or empty, RFC 9112 section 3.2) and
    /// works out the body's framing (RFC 9112 section 6.3): both
    /// `Content-Length` and `Transfer-Encoding` is refused as a smuggling
    /// attempt; a transfer coding other than a single final `chunked` is
    /// not implemented; several `Content-Length` values must agree.
    pub fn body_framing(&self) -> Result<BodyFraming, HttpError> {
        // One pass over the fields (this runs for every request), the
        // checks then made in their order of precedence.
        let (mut hosts, mut host, mut has_te) = (0, None, false);
        let mut length: Result<Option<u64>, HttpError> = Ok(None);
        for h in &self.headers {
            let name = &h.name[..];
            // The length first: most names are none of the three.
            match name.len() {
                4 if name.eq_ignore_ascii_case(b"host") => {
                    hosts += 1;
                    host.get_or_insert(&h.value);
                }
                14 if name.eq_ignore_ascii_case(b"content-length") => {
                    if let Ok(l) = &mut length {
                        // A list of equal values is allowed (RFC 9110
                        // section 8.6).
                        for part in h.value.split(|&b| b == b',') {
                            match parse_length(trim_ows(part)) {
                                Some(n) if l.is_none_or(|l| l == n) => *l = Some(n),
                                _ => {
                                    length = Err(HttpError::BadContentLength);
                                    break;
                                }
                            }
                        }
                    }
                }
                17 if name.eq_ignore_ascii_case(b"transfer-encoding") => has_te = true,
                _ => {}
            }
        }
        if hosts > 1 || (hosts == 0 && self.version == Version::Http11) {
            return Err(HttpError::BadHost);
        }
        if host.is_some_and(|h| !is_host(h)) {
            return Err(HttpError::BadHost);
        }
        let length = length?;
        match (has_te, length) {
            (true, Some(_)) => Err(HttpError::ConflictingFraming),
            (true, None) => {
                if self.version == Version::Http10 {
                    return Err(HttpError::UnsupportedTransferCoding { http10: true });
                }
                let codings: Vec<&[u8]> = self
                    .headers("transfer-encoding")
                    .flat_map(|v| v.split(|&b| b == b','))
                    .map(trim_ows)
                    .filter(|t| !t.is_empty())
                    .collect();
                if codings.len() == 1 && codings[0].eq_ignore_ascii_case(b"chunked") {
                    Ok(BodyFraming::Chunked)
                } else {
                    Err(HttpError::UnsupportedTransferCoding { http10: false })
                }
            }
            (false, Some(0)) | (false, None) => Ok(BodyFraming::None),
            (false, Some(n)) => Ok(BodyFraming::Length(n)),
        }
    }
}

/// RFC 3986 `unreserved`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

/// RFC 3986 `sub-delims`.
fn is_sub_delim(b: u8) -> bool {
    b"!$&'()*+,;=".contains(&b)
}

/// A `Host` value: empty (allowed when the target has no authority, RFC
/// 9112 section 3.2) or `uri-host [ ":" port ]` (RFC 3986 sections 3.2.2
/// and 3.2.3), where `port = *DIGIT` may be empty.
fn is_host(v: &[u8]) -> bool {
    let (host, port) = if v.first() == Some(&b'[') {
        let Some(close) = memchr::memchr(b']', v) else {
            return false;
        };
        let (literal, rest) = (&v[1..close], &v[close + 1..]);
        if !is_ip_literal(literal) {
            return false;
        }
        match rest {
            [] => return true,
            [b':', port @ ..] => (&[][..], port),
            _ => return false,
        }
    } else {
        match memchr::memchr(b':', v) {
            Some(i) => (&v[..i], &v[i + 1..]),
            None => (v, &[][..]),
        }
    };
    is_reg_name(host) && port.iter().all(u8::is_ascii_digit)
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )`; IPv4 addresses
/// are reg-names too as far as characters go.
fn is_reg_name(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                if !(s.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
                {
                    return false;
                }
                i += 3;
            }
            b if is_unreserved(b) || is_sub_delim(b) => i += 1,
            _ => return false,
        }
    }
    true
}

/// What lies between `[` and `]`: an IPvFuture (`v` 1*HEXDIG `.`
/// 1*( unreserved / sub-delims / `:` )), or by its characters an IPv6
/// address (hex digits, `:`, `.` for a trailing IPv4 part, at least one
/// `:`). No zone identifier: RFC 6874 keeps them out of `Host`.
fn is_ip_literal(s: &[u8]) -> bool {
    if let [b'v' | b'V', rest @ ..] = s {
        let Some(dot) = memchr::memchr(b'.', rest) else {
            return false;
        };
        let (ver, tail) = (&rest[..dot], &rest[dot + 1..]);
        return !ver.is_empty()
            && ver.iter().all(u8::is_ascii_hexdigit)
            && !tail.is_empty()
            && tail
                .iter()
                .all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':');
    }
    s.contains(&b':')
        && s.iter()
            .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
}

/// A decimal length: 1 to 19 digits, nothing else.
fn parse_length(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// `HTTP/x.y`; `Err(None)` when malformed, `Err(Some(505))` when not 1.x.
fn parse_version(v: &[u8]) -> Result<Version, Option<HttpError>> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            match (major - b'0', minor - b'0') {
                (1, 0) => Ok(Version::Http10),
                (1, _) => Ok(Version::Http11),
                (major, minor) => Err(Some(HttpError::VersionNotSupported { major, minor })),
            }
        }
        _ => Err(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<RequestHead, HttpError> {
        RequestHead::parse(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn parses_a_head() {
        let h =
            parse("GET /a%20b?x=1 HTTP/1.1\r\nHost: h\r\nX-A:  v 1 \t\r\nx-a:w\r\n\r\n").unwrap();
        assert_eq!(h.method, Method::Get);
        assert_eq!(&h.target[..], b"/a%20b?x=1");
        assert_eq!(h.version, Version::Http11);
        assert_eq!(h.headers.len(), 3);
        assert_eq!(&h.header("x-a").unwrap()[..], b"v 1");
        assert_eq!(h.headers("X-A").count(), 2);
        assert_eq!(h.body_framing(), Ok(BodyFraming::None));
        assert!(h.wants_keep_alive());
        let h = parse("PATCH / HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!(h.method, Method::Other(Bytes::from_static(b"PATCH")));
        assert_eq!(h.method.as_str(), "PATCH");
        assert_eq!(h.version, Version::Http10);
        assert!(!h.wants_keep_alive());
        assert_eq!(
            parse("GET / HTTP/1.7\r\nHost: a\r\n\r\n").unwrap().version,
            Version::Http11
        );
    }

    #[test]
    fn known_methods() {
        // RFC 9110 section 9.3 and PATCH (RFC 5789): known; methods are
        // case-sensitive (section 9.1), so `get` is not GET.
        for m in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
        ] {
            let h = parse(&format!("{m} / HTTP/1.1\r\nHost: a\r\n\r\n")).unwrap();
            assert!(h.method.is_known(), "{m}");
            assert_eq!(h.method.as_str(), m);
        }
        for m in ["get", "FOO", "BREW", "PROPFIND", "Options"] {
            let h = parse(&format!("{m} / HTTP/1.1\r\nHost: a\r\n\r\n")).unwrap();
            assert!(!h.method.is_known(), "{m}");
        }
        // The asterisk form is for OPTIONS only (RFC 9112 section 3.2.4).
        let h = parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!((h.method, &h.target[..]), (Method::Options, &b"*"[..]));
    }

    #[test]
    fn keep_alive_rules() {
        let ka = |s: &str| parse(s).unwrap().wants_keep_alive();
        assert!(!ka("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n"));
        assert!(!ka("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n"));
        assert!(ka("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n"));
        assert!(ka("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
        assert!(!ka(
            "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"
        ));
    }

    #[test]
    fn malformed_heads() {
        use HttpError::*;
        let table: &[(&str, HttpError)] = &[
            (
                "GET / HTTP/1.1\n\r\n",
                BadRequestLine {
                    offset: 14,
                    reason: "line not ended by crlf",
                },
            ),
            (
                "GET  / HTTP/1.1\r\n\r\n",
                BadRequestLine {
                    offset: 4,
                    reason: "empty target",
                },
            ),
            (
                "GET /\r\n\r\n",
                BadRequestLine {
                    offset: 4,
                    reason: "no space after the target",
                },
            ),
            (
                "GET\r\n\r\n",
                BadRequestLine {
                    offset: 0,
                    reason: "no space after the method",
                },
            ),
            (
                "G(T / HTTP/1.1\r\n\r\n",
                BadRequestLine {
                    offset: 0,
                    reason: "invalid method",
                },
            ),
            (
                "GET a HTTP/1.1\r\n\r\n",
                BadRequestLine {
                    offset: 4,
                    reason: "target is not in origin or absolute form",
                },
            ),
            (
                "GET * HTTP/1.1\r\n\r\n",
                BadRequestLine {
                    offset: 4,
                    reason: "asterisk form without options",
                },
            ),
            (
                "GET /\x01 HTTP/1.1\r\n\r\n",
                BadRequestLine {
                    offset: 5,
                    reason: "invalid byte in target",
                },
            ),
            (
                "GET / HTTP/1.1 \r\n\r\n",
                BadRequestLine {
                    offset: 6,
                    reason: "invalid version",
                },
            ),
            (
                "GET / http/1.1\r\n\r\n",
                BadRequestLine {
                    offset: 6,
                    reason: "invalid version",
                },
            ),
            (
                "GET / HTTP/2.0\r\n\r\n",
                VersionNotSupported { major: 2, minor: 0 },
            ),
            (
                "GET / HTTP/0.9\r\n\r\n",
                VersionNotSupported { major: 0, minor: 9 },
            ),
            (
                "GET / HTTP/1.1\r\nA: b\n\r\n",
                BadHeader {
                    offset: 20,
                    reason: "line not ended by crlf",
                },
            ),
            (
                "GET / HTTP/1.1\r\nA : b\r\n\r\n",
                BadHeader {
                    offset: 17,
                    reason: "invalid byte in field name",
                },
            ),
            (
                "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
                BadHeader {
                    offset: 22,
                    reason: "obsolete line folding",
                },
            ),
            (
                "GET / HTTP/1.1\r\nAb\r\n\r\n",
                BadHeader {
                    offset: 16,
                    reason: "no colon",
                },
            ),
            (
                "GET / HTTP/1.1\r\n: b\r\n\r\n",
                BadHeader {
                    offset: 16,
                    reason: "empty field name",
                },
            ),
            (
                "GET / HTTP/1.1\r\nA: b\x00\r\n\r\n",
                BadHeader {
                    offset: 20,
                    reason: "invalid byte in field value",
                },
            ),
            (
                "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
                BadHeader {
                    offset: 20,
                    reason: "invalid byte in field value",
                },
            ),
        ];
        for (input, want) in table {
            assert_eq!(parse(input).as_ref(), Err(want), "{input:?}");
        }
    }

    #[test]
    fn body_framing_rules() {
        use HttpError::*;
        let f = |s: &str| parse(s).unwrap().body_framing();
        let table: &[(&str, Result<BodyFraming, HttpError>)] = &[
            ("GET / HTTP/1.1\r\n\r\n", Err(BadHost)),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", Err(BadHost)),
            ("GET / HTTP/1.0\r\n\r\n", Ok(BodyFraming::None)),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n",
                Ok(BodyFraming::Length(12)),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
                Ok(BodyFraming::None),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\n",
                Ok(BodyFraming::Length(3)),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
                Err(BadContentLength),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n",
                Err(BadContentLength),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
                Err(BadContentLength),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
                Err(BadContentLength),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                Ok(BodyFraming::Chunked),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
                Ok(BodyFraming::Chunked),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                Err(ConflictingFraming),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                Err(ConflictingFraming),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                Err(UnsupportedTransferCoding { http10: false }),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                Err(UnsupportedTransferCoding { http10: false }),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
                Err(UnsupportedTransferCoding { http10: false }),
            ),
            (
                "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                Err(UnsupportedTransferCoding { http10: true }),
            ),
        ];
        for (input, want) in table {
            assert_eq!(&f(input), want, "{input:?}");
        }
    }

    #[test]
    fn host_values() {
        // RFC 9112 section 3.2: Host = uri-host [ ":" port ] (RFC 3986
        // sections 3.2.2 and 3.2.3), or empty when the target has no
        // authority; an invalid value gets 400.
        let valid = [
            "",
            "a",
            "example.com",
            "example.com:",
            "example.com:8080",
            "127.0.0.1",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8080",
            "[2001:db8::192.0.2.1]",
            "[v7.a:b]",
            "[V1F.x~!]",
            "%41bc",
            "a-b_c.~!$&'()*+,;=",
            "A.EXAMPLE",
        ];
        let invalid = [
            "a b", "a/b@c", "a@b", "[::1", "::1]", "a:80x", "a:b", "a:80:90", "%4", "%zz", "a%",
            "a\tb", "a?b", "a#b", "\"a\"", "[]", "[::1]x", "[::1]:a", "[::g]", "[v1]", "[v.x]",
            "[vx.a]", "[v1.]", "[v1.a/b]", "x[::1]", "\u{e9}",
        ];
        let framing = |host: &str| {
            RequestHead::parse(Bytes::from(format!(
                "GET / HTTP/1.1\r\nHost: {host}\r\n\r\n"
            )))
            .unwrap()
            .body_framing()
        };
        for host in valid {
            assert_eq!(framing(host), Ok(BodyFraming::None), "{host:?}");
        }
        for host in invalid {
            assert_eq!(framing(host), Err(HttpError::BadHost), "{host:?}");
        }
    }

    fn scan_all(input: &[u8], limits: HeadLimits) -> Result<Option<usize>, HttpError> {
        HeadScanner::new(limits).scan(input)
    }

    #[test]
    fn scanner_finds_the_end_at_every_split() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\nNEXT";
        let end = head.len() - 4;
        assert_eq!(scan_all(head, HeadLimits::default()), Ok(Some(end)));
        for i in 0..head.len() {
            for j in i..head.len() {
                let mut s = HeadScanner::new(HeadLimits::default());
                let mut got = None;
                for cut in [i, j, head.len()] {
                    if let Some(n) = s.scan(&head[..cut]).unwrap() {
                        got = Some(n);
                        break;
                    }
                }
                assert_eq!(got, Some(end), "split at {i},{j}");
            }
        }
        // Every strict prefix of the head needs more.
        for cut in 0..end {
            assert_eq!(
                scan_all(&head[..cut], HeadLimits::default()),
                Ok(None),
                "{cut}"
            );
        }
    }

    #[test]
    fn scanner_limits() {
        let limits = HeadLimits {
            max_line: 10,
            max_head: 40,
            max_headers: 2,
        };
        type Case<'a> = (&'a [u8], Result<Option<usize>, HttpError>);
        let cases: &[Case<'_>] = &[
            (b"GET /12345", Ok(None)),
            (b"GET /12345\r", Ok(None)),
            (
                b"GET /123456",
                Err(HttpError::RequestLineTooLong { limit: 10 }),
            ),
            (
                b"GET /123456\r\n",
                Err(HttpError::RequestLineTooLong { limit: 10 }),
            ),
            (b"GET /12345\r\nA: 1\r\nB: 2\r\n\r\n", Ok(Some(26))),
            (
                b"GET /12345\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
                Err(HttpError::TooManyHeaders { limit: 2 }),
            ),
            (b"GET /12345\r\nA: 1234567890123456789012345", Ok(None)),
            (
                b"GET /12345\r\nA: 12345678901234567890123456789",
                Err(HttpError::HeadTooLarge { limit: 40 }),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                &scan_all(input, limits),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        // Split scanning gives the same errors.
        let input = b"GET /12345\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        let mut s = HeadScanner::new(limits);
        let mut res = Ok(None);
        for cut in 1..=input.len() {
            res = s.scan(&input[..cut]);
            if res != Ok(None) {
                break;
            }
        }
        assert_eq!(res, Err(HttpError::TooManyHeaders { limit: 2 }));
    }

    #[test]
    fn bare_lf_ends_the_scan_and_fails_the_parse() {
        let input = b"GET / HTTP/1.1\r\nHost: a\r\n\n";
        let n = scan_all(input, HeadLimits::default()).unwrap().unwrap();
        assert_eq!(n, input.len());
        assert!(RequestHead::parse(Bytes::copy_from_slice(input)).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn parse_never_panics(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let mut s = HeadScanner::new(HeadLimits::default());
            if let Ok(Some(n)) = s.scan(&input) {
                let _ = RequestHead::parse(Bytes::copy_from_slice(&input[..n]));
            }
        }

        #[test]
        fn header_values_round_trip(name in "[A-Za-z][A-Za-z0-9-]{0,20}", value in "[!-~]([ !-~]{0,30}[!-~])?") {
            let raw = format!("GET / HTTP/1.1\r\n{name}:  {value} \r\n\r\n");
            let h = parse(&raw).unwrap();
            proptest::prop_assert_eq!(&h.header(&name).unwrap()[..], value.as_bytes());
        }
    }
}
