//! [`HttpError`]: everything that turns a request into an error response.

use std::error::Error;
use std::fmt;
use std::io;

use super::status::Status;
use crate::codec::chunked::ChunkedError;
use crate::consume::MultipartError;

/// Why a request gets an error response instead of what it asked for.
///
/// Each variant maps to one status ([`status`](HttpError::status)), and
/// says whether the connection can go on after the response
/// ([`closes_connection`](HttpError::closes_connection)): after a framing
/// error the server cannot know where the next request starts, so it
/// answers and closes (RFC 9112 section 11.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// The request line is longer than `limit` bytes (414).
    RequestLineTooLong {
        /// The limit in force ([`HeadLimits::max_line`](crate::http::HeadLimits::max_line)).
        limit: usize,
    },
    /// The request head (request line and header fields) is longer than
    /// `limit` bytes (431).
    HeadTooLarge {
        /// The limit in force ([`HeadLimits::max_head`](crate::http::HeadLimits::max_head)).
        limit: usize,
    },
    /// More than `limit` header fields (431).
    TooManyHeaders {
        /// The limit in force ([`HeadLimits::max_headers`](crate::http::HeadLimits::max_headers)).
        limit: usize,
    },
    /// The request line is malformed (400).
    BadRequestLine {
        /// Where in the head the problem is.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A header field line is malformed (400).
    BadHeader {
        /// Where in the head the problem is.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// An HTTP version other than 1.x (505).
    VersionNotSupported {
        /// The major version asked for.
        major: u8,
        /// The minor version asked for.
        minor: u8,
    },
    /// `Host` is missing from an HTTP/1.1 request, sent twice, or not
    /// `uri-host [ ":" port ]` (400, RFC 9112 section 3.2).
    BadHost,
    /// `Content-Length` is not a number, or sent twice with different
    /// values (400).
    BadContentLength,
    /// Both `Content-Length` and `Transfer-Encoding`: a request smuggling
    /// attempt, refused (400, RFC 9112 section 6.3).
    ConflictingFraming,
    /// A transfer coding other than a final `chunked` (501), or
    /// `Transfer-Encoding` in an HTTP/1.0 request (400).
    UnsupportedTransferCoding {
        /// Whether the request was HTTP/1.0 (then the status is 400).
        http10: bool,
    },
    /// The request body is longer than `limit` bytes (413).
    BodyTooLarge {
        /// The limit in force.
        limit: u64,
    },
    /// The chunked request body is malformed (400).
    BadChunkedBody(ChunkedError),
    /// The request target cannot be mapped to a path: a bad percent escape,
    /// a NUL byte, invalid UTF-8, or `..` leaving the root (400).
    BadPath {
        /// What is wrong.
        reason: &'static str,
    },
    /// The path resolves outside the root through a symbolic link (403).
    Forbidden,
    /// Nothing at that path (404).
    NotFound,
    /// The method is not allowed on this resource (405); `allow` is the
    /// `Allow` header's value.
    MethodNotAllowed {
        /// The methods that are allowed, comma separated.
        allow: &'static str,
    },
    /// A method the server does not recognise (501, RFC 9110 section
    /// 15.6.2); see [`Method::is_known`](crate::http::Method::is_known).
    MethodNotImplemented,
    /// `If-Match` or `If-Unmodified-Since` does not hold for the file
    /// (412, RFC 9110 section 13.1.1 and 13.1.4).
    PreconditionFailed,
    /// No representation the client accepts: every content coding offered,
    /// `identity` included, is refused by `Accept-Encoding` (406, RFC 9110
    /// section 12.5.3).
    NotAcceptable,
    /// The byte range lies outside a representation of `len` bytes (416).
    RangeNotSatisfiable {
        /// The length of the representation.
        len: u64,
    },
    /// The server is short of a resource it needs for the request — file
    /// descriptors (`EMFILE`, `ENFILE`) — and may have it again soon (503,
    /// RFC 9110 section 15.6.4, sent with `Retry-After`). The connection
    /// closes, which gives back one descriptor.
    Unavailable {
        /// Seconds the client should wait before retrying (`Retry-After`).
        retry_after: u32,
    },
    /// An upload's `multipart/form-data` body is malformed (400), or over
    /// a cap (413, [`MultipartError::is_limit`]).
    BadMultipart(MultipartError),
    /// An upload's file name is not a plain name the server stores (400).
    BadUploadName {
        /// What is wrong.
        reason: &'static str,
    },
    /// An upload would replace an existing file and overwriting is off
    /// (409).
    UploadExists,
    /// An upload that is not `multipart/form-data` (415).
    UnsupportedMediaType,
    /// The request could not be answered because of a server-side I/O
    /// failure (500).
    Internal {
        /// The kind of the failure.
        kind: io::ErrorKind,
    },
}

impl HttpError {
    /// The status of the error response.
    pub fn status(&self) -> Status {
        match self {
            HttpError::RequestLineTooLong { .. } => Status::URI_TOO_LONG,
            HttpError::HeadTooLarge { .. } | HttpError::TooManyHeaders { .. } => {
                Status::HEADER_FIELDS_TOO_LARGE
            }
            HttpError::BadRequestLine { .. }
            | HttpError::BadHeader { .. }
            | HttpError::BadHost
            | HttpError::BadContentLength
            | HttpError::ConflictingFraming
            | HttpError::BadChunkedBody(_)
            | HttpError::BadPath { .. }
            | HttpError::UnsupportedTransferCoding { http10: true } => Status::BAD_REQUEST,
            HttpError::UnsupportedTransferCoding { http10: false } => Status::NOT_IMPLEMENTED,
            HttpError::VersionNotSupported { .. } => Status::VERSION_NOT_SUPPORTED,
            HttpError::BodyTooLarge { .. } => Status::CONTENT_TOO_LARGE,
            HttpError::BadMultipart(e) if e.is_limit() => Status::CONTENT_TOO_LARGE,
            HttpError::BadMultipart(_) | HttpError::BadUploadName { .. } => Status::BAD_REQUEST,
            HttpError::UploadExists => Status::CONFLICT,
            HttpError::UnsupportedMediaType => Status::UNSUPPORTED_MEDIA_TYPE,
            HttpError::Forbidden => Status::FORBIDDEN,
            HttpError::NotFound => Status::NOT_FOUND,
            HttpError::MethodNotAllowed { .. } => Status::METHOD_NOT_ALLOWED,
            HttpError::MethodNotImplemented => Status::NOT_IMPLEMENTED,
            HttpError::PreconditionFailed => Status::PRECONDITION_FAILED,
            HttpError::NotAcceptable => Status::NOT_ACCEPTABLE,
            HttpError::RangeNotSatisfiable { .. } => Status::RANGE_NOT_SATISFIABLE,
            HttpError::Unavailable { .. } => Status::SERVICE_UNAVAILABLE,
            HttpError::Internal { .. } => Status::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the connection must close after the error response: the
    /// request's framing is unknown or untrusted, or its body is left
    /// unread, or the server is short of descriptors (closing frees one).
    pub fn closes_connection(&self) -> bool {
        !matches!(
            self,
            HttpError::BadPath { .. }
                | HttpError::Forbidden
                | HttpError::NotFound
                | HttpError::MethodNotAllowed { .. }
                | HttpError::MethodNotImplemented
                | HttpError::PreconditionFailed
                | HttpError::NotAcceptable
                | HttpError::RangeNotSatisfiable { .. }
                | HttpError::Internal { .. }
        )
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::RequestLineTooLong { limit } => {
                write!(f, "request line longer than {limit} bytes")
            }
            HttpError::HeadTooLarge { limit } => {
                write!(f, "request head longer than {limit} bytes")
            }
            HttpError::TooManyHeaders { limit } => write!(f, "more than {limit} header fields"),
            HttpError::BadRequestLine { offset, reason } => {
                write!(f, "malformed request line at byte {offset}: {reason}")
            }
            HttpError::BadHeader { offset, reason } => {
                write!(f, "malformed header field at byte {offset}: {reason}")
            }
            HttpError::VersionNotSupported { major, minor } => {
                write!(f, "http version {major}.{minor} not supported")
            }
            HttpError::BadHost => f.write_str("missing, repeated or invalid host header"),
            HttpError::BadContentLength => f.write_str("invalid content-length"),
            HttpError::ConflictingFraming => {
                f.write_str("both content-length and transfer-encoding")
            }
            HttpError::UnsupportedTransferCoding { .. } => {
                f.write_str("unsupported transfer coding")
            }
            HttpError::BodyTooLarge { limit } => {
                write!(f, "request body longer than {limit} bytes")
            }
            HttpError::BadChunkedBody(e) => write!(f, "malformed chunked body: {e}"),
            HttpError::BadPath { reason } => write!(f, "bad request path: {reason}"),
            HttpError::Forbidden => f.write_str("path leads outside the root"),
            HttpError::NotFound => f.write_str("not found"),
            HttpError::MethodNotAllowed { allow } => {
                write!(f, "method not allowed (allowed: {allow})")
            }
            HttpError::MethodNotImplemented => f.write_str("method not implemented"),
            HttpError::PreconditionFailed => f.write_str("precondition failed"),
            HttpError::NotAcceptable => f.write_str("no acceptable content coding"),
            HttpError::RangeNotSatisfiable { len } => {
                write!(f, "range not satisfiable for {len} bytes")
            }
            HttpError::Unavailable { retry_after } => {
                write!(f, "out of file descriptors (retry after {retry_after} s)")
            }
            HttpError::Internal { kind } => write!(f, "internal error: {kind}"),
            HttpError::BadMultipart(e) => write!(f, "malformed upload: {e}"),
            HttpError::BadUploadName { reason } => write!(f, "refused file name: {reason}"),
            HttpError::UploadExists => f.write_str("a file of that name exists"),
            HttpError::UnsupportedMediaType => f.write_str("an upload must be multipart/form-data"),
        }
    }
}

impl Error for HttpError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            HttpError::BadChunkedBody(e) => Some(e),
            HttpError::BadMultipart(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ChunkedError> for HttpError {
    fn from(e: ChunkedError) -> HttpError {
        HttpError::BadChunkedBody(e)
    }
}

impl From<HttpError> for io::Error {
    fn from(e: HttpError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_closing() {
        let table: &[(HttpError, u16, bool)] = &[
            (HttpError::RequestLineTooLong { limit: 1 }, 414, true),
            (HttpError::HeadTooLarge { limit: 1 }, 431, true),
            (HttpError::TooManyHeaders { limit: 1 }, 431, true),
            (
                HttpError::BadRequestLine {
                    offset: 0,
                    reason: "x",
                },
                400,
                true,
            ),
            (
                HttpError::BadHeader {
                    offset: 0,
                    reason: "x",
                },
                400,
                true,
            ),
            (
                HttpError::VersionNotSupported { major: 2, minor: 0 },
                505,
                true,
            ),
            (HttpError::BadHost, 400, true),
            (HttpError::BadContentLength, 400, true),
            (HttpError::ConflictingFraming, 400, true),
            (
                HttpError::UnsupportedTransferCoding { http10: false },
                501,
                true,
            ),
            (
                HttpError::UnsupportedTransferCoding { http10: true },
                400,
                true,
            ),
            (HttpError::BodyTooLarge { limit: 1 }, 413, true),
            (
                HttpError::BadChunkedBody(ChunkedError::BareLf { offset: 3 }),
                400,
                true,
            ),
            (HttpError::BadPath { reason: "x" }, 400, false),
            (HttpError::Forbidden, 403, false),
            (HttpError::NotFound, 404, false),
            (HttpError::MethodNotAllowed { allow: "GET" }, 405, false),
            (HttpError::MethodNotImplemented, 501, false),
            (HttpError::PreconditionFailed, 412, false),
            (HttpError::RangeNotSatisfiable { len: 3 }, 416, false),
            (HttpError::Unavailable { retry_after: 1 }, 503, true),
            (
                HttpError::BadMultipart(MultipartError::BadDelimiter { offset: 1 }),
                400,
                true,
            ),
            (
                HttpError::BadMultipart(MultipartError::TooLarge {
                    limit: 1,
                    offset: 1,
                }),
                413,
                true,
            ),
            (HttpError::BadUploadName { reason: "x" }, 400, true),
            (HttpError::UploadExists, 409, true),
            (HttpError::UnsupportedMediaType, 415, true),
            (
                HttpError::Internal {
                    kind: io::ErrorKind::Other,
                },
                500,
                false,
            ),
        ];
        for (e, code, closes) in table {
            assert_eq!(e.status().code(), *code, "{e}");
            assert_eq!(e.closes_connection(), *closes, "{e}");
            let s = e.to_string();
            assert!(
                !s.ends_with('.') && s.chars().next().unwrap().is_lowercase(),
                "{s}"
            );
        }
    }

    #[test]
    fn into_io_error() {
        let e: io::Error = HttpError::ConflictingFraming.into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let e: io::Error = HttpError::BadChunkedBody(ChunkedError::BareLf { offset: 3 }).into();
        assert!(e.get_ref().unwrap().source().is_some());
    }
}
