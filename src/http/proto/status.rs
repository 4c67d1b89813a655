//! [`Status`]: an HTTP status code and its reason phrase.

use std::fmt;

/// The reason phrases and the whole status lines of the codes this server
/// sends, from one list so they cannot drift apart.
macro_rules! status_table {
    ($($code:literal $reason:literal,)*) => {
        /// The reason phrase (empty for codes this server never sends).
        pub fn reason(self) -> &'static str {
            match self.0 {
                $($code => $reason,)*
                _ => "",
            }
        }

        /// The whole `HTTP/1.1` status line, CRLF included, of a code this
        /// server sends: a static string, so a response head starts with
        /// one copy.
        pub(crate) fn line(self) -> Option<&'static str> {
            match self.0 {
                $($code => Some(concat!("HTTP/1.1 ", stringify!($code), " ", $reason, "\r\n")),)*
                _ => None,
            }
        }
    };
}

/// An HTTP status code (RFC 9110 section 15) with the reason phrase this
/// server sends for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(u16);

impl Status {
    /// 100 Continue: the client may send the body it announced with
    /// `Expect: 100-continue`.
    pub const CONTINUE: Status = Status(100);
    /// 200 OK.
    pub const OK: Status = Status(200);
    /// 201 Created: an upload stored.
    pub const CREATED: Status = Status(201);
    /// 204 No Content (never has a body).
    pub const NO_CONTENT: Status = Status(204);
    /// 206 Partial Content: a byte range.
    pub const PARTIAL_CONTENT: Status = Status(206);
    /// 301 Moved Permanently: a directory asked for without its slash.
    pub const MOVED_PERMANENTLY: Status = Status(301);
    /// 304 Not Modified (never has a body).
    pub const NOT_MODIFIED: Status = Status(304);
    /// 400 Bad Request.
    pub const BAD_REQUEST: Status = Status(400);
    /// 403 Forbidden.
    pub const FORBIDDEN: Status = Status(403);
    /// 404 Not Found.
    pub const NOT_FOUND: Status = Status(404);
    /// 405 Method Not Allowed (sent with `Allow`).
    pub const METHOD_NOT_ALLOWED: Status = Status(405);
    /// 406 Not Acceptable: no offered content coding is acceptable
    /// (RFC 9110 section 12.5.3; see
    /// [`negotiate_encoding`](crate::http::negotiate_encoding)).
    pub const NOT_ACCEPTABLE: Status = Status(406);
    /// 408 Request Timeout.
    pub const REQUEST_TIMEOUT: Status = Status(408);
    /// 409 Conflict: an upload would replace an existing file.
    pub const CONFLICT: Status = Status(409);
    /// 412 Precondition Failed: `If-Match` or `If-Unmodified-Since`.
    pub const PRECONDITION_FAILED: Status = Status(412);
    /// 413 Content Too Large.
    pub const CONTENT_TOO_LARGE: Status = Status(413);
    /// 414 URI Too Long.
    pub const URI_TOO_LONG: Status = Status(414);
    /// 415 Unsupported Media Type: an upload that is not
    /// `multipart/form-data`.
    pub const UNSUPPORTED_MEDIA_TYPE: Status = Status(415);
    /// 416 Range Not Satisfiable.
    pub const RANGE_NOT_SATISFIABLE: Status = Status(416);
    /// 431 Request Header Fields Too Large (RFC 6585).
    pub const HEADER_FIELDS_TOO_LARGE: Status = Status(431);
    /// 500 Internal Server Error.
    pub const INTERNAL_SERVER_ERROR: Status = Status(500);
    /// 501 Not Implemented.
    pub const NOT_IMPLEMENTED: Status = Status(501);
    /// 503 Service Unavailable (sent with `Retry-After`).
    pub const SERVICE_UNAVAILABLE: Status = Status(503);
    /// 505 HTTP Version Not Supported.
    pub const VERSION_NOT_SUPPORTED: Status = Status(505);

    /// A status from its code; `None` outside 100..=999.
    pub fn from_code(code: u16) -> Option<Status> {
        (100..=999).contains(&code).then_some(Status(code))
    }

    /// The numeric code.
    pub fn code(self) -> u16 {
        self.0
    }

    status_table! {
        100 "Continue",
        200 "OK",
        201 "Created",
        204 "No Content",
        206 "Partial Content",
        301 "Moved Permanently",
        304 "Not Modified",
        400 "Bad Request",
        403 "Forbidden",
        404 "Not Found",
        405 "Method Not Allowed",
        406 "Not Acceptable",
        408 "Request Timeout",
        409 "Conflict",
        412 "Precondition Failed",
        413 "Content Too Large",
        414 "URI Too Long",
        415 "Unsupported Media Type",
        416 "Range Not Satisfiable",
        431 "Request Header Fields Too Large",
        500 "Internal Server Error",
        501 "Not Implemented",
        503 "Service Unavailable",
        505 "HTTP Version Not Supported",
    }

    /// Whether a response with this status never carries a body, whatever
    /// the method (RFC 9110 section 6.4.1: 1xx, 204 and 304).
    pub fn forbids_body(self) -> bool {
        self.0 < 200 || self.0 == 204 || self.0 == 304
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_reasons() {
        assert_eq!(Status::OK.code(), 200);
        assert_eq!(
            Status::HEADER_FIELDS_TOO_LARGE.to_string(),
            "431 Request Header Fields Too Large"
        );
        assert_eq!(Status::from_code(99), None);
        assert_eq!(Status::from_code(1000), None);
        assert_eq!(Status::from_code(299).unwrap().reason(), "");
    }

    #[test]
    fn status_lines_match_code_and_reason() {
        for code in 100..=999 {
            let s = Status::from_code(code).unwrap();
            match s.line() {
                Some(line) => assert_eq!(line, format!("HTTP/1.1 {} {}\r\n", code, s.reason())),
                None => assert_eq!(s.reason(), "", "{code}"),
            }
        }
        assert_eq!(Status::NOT_FOUND.line(), Some("HTTP/1.1 404 Not Found\r\n"));
    }

    #[test]
    fn bodiless_statuses() {
        for s in [Status::CONTINUE, Status::NO_CONTENT, Status::NOT_MODIFIED] {
            assert!(s.forbids_body(), "{s}");
        }
        for s in [Status::OK, Status::PARTIAL_CONTENT, Status::NOT_FOUND] {
            assert!(!s.forbids_body(), "{s}");
        }
    }
}
