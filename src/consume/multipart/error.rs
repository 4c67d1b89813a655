//! [`MultipartError`]: why a `multipart/form-data` body was refused.

use std::error::Error;
use std::fmt;
use std::io;

/// Why a multipart body (or its boundary) was refused.
///
/// Offsets are stream offsets from the first byte of the multipart body
/// (the first byte given to the [`MultipartParser`](super::MultipartParser)).
/// Every peer-controlled length has its cap
/// ([`MultipartLimits`](super::MultipartLimits)) and its variant here. An
/// error is final: the parser returns it again on every later call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultipartError {
    /// The boundary (given, or the `boundary` parameter of a
    /// `Content-Type` value) is not 1 to 70 of RFC 2046's `bchars`, not
    /// ending in a space; or the `Content-Type` value is not `multipart/*`
    /// with exactly one boundary.
    BadBoundary {
        /// What is wrong.
        reason: &'static str,
    },
    /// A boundary delimiter followed by something other than transport
    /// padding (spaces and tabs) then CRLF, or `--` (the close
    /// delimiter): the boundary occurs inside a part, which RFC 2046
    /// section 5.1.1 forbids.
    BadDelimiter {
        /// The offending byte.
        offset: u64,
    },
    /// A CR not followed by LF at the end of a boundary line.
    CrWithoutLf {
        /// The CR.
        offset: u64,
    },
    /// A part's header block is longer than `limit` bytes
    /// ([`MultipartLimits::max_header_bytes`](super::MultipartLimits::max_header_bytes())).
    HeadersTooLarge {
        /// The cap in force.
        limit: usize,
        /// Where the header block began.
        offset: u64,
    },
    /// A part has more than `limit` header fields
    /// ([`MultipartLimits::max_headers`](super::MultipartLimits::max_headers())).
    TooManyHeaders {
        /// The cap in force.
        limit: usize,
        /// The first field over the cap.
        offset: u64,
    },
    /// A header field line is malformed.
    BadHeader {
        /// The offending byte or line.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A part without a `Content-Disposition` field (RFC 7578 section 4.2
    /// requires one).
    MissingContentDisposition {
        /// Where the part's header block began.
        offset: u64,
    },
    /// A `Content-Disposition` field that is not `form-data` with a
    /// `name`, or is malformed.
    BadContentDisposition {
        /// The field's line.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// More than `limit` parts
    /// ([`MultipartLimits::max_parts`](super::MultipartLimits::max_parts())).
    TooManyParts {
        /// The cap in force.
        limit: usize,
        /// Where the part over the cap began (its header block).
        offset: u64,
    },
    /// A part's body is longer than `limit` bytes
    /// ([`MultipartLimits::max_part_bytes`](super::MultipartLimits::max_part_bytes())).
    PartTooLarge {
        /// The cap in force.
        limit: u64,
        /// The first byte over the cap.
        offset: u64,
    },
    /// The multipart body is longer than `limit` bytes in all
    /// ([`MultipartLimits::max_total`](super::MultipartLimits::max_total())).
    TooLarge {
        /// The cap in force.
        limit: u64,
        /// The first byte over the cap.
        offset: u64,
    },
    /// The input ended before the close delimiter (`--BOUNDARY--`): a
    /// truncated body, never a clean end.
    Truncated {
        /// Where the input ended.
        offset: u64,
        /// What was expected next.
        expected: &'static str,
    },
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MultipartError::BadBoundary { reason } => write!(f, "bad multipart boundary: {reason}"),
            MultipartError::BadDelimiter { offset } => write!(
                f,
                "boundary at offset {offset} followed by other than padding, crlf or --"
            ),
            MultipartError::CrWithoutLf { offset } => {
                write!(f, "cr without lf after a boundary at offset {offset}")
            }
            MultipartError::HeadersTooLarge { limit, offset } => write!(
                f,
                "part header block at offset {offset} longer than {limit} bytes"
            ),
            MultipartError::TooManyHeaders { limit, offset } => write!(
                f,
                "more than {limit} header fields in a part at offset {offset}"
            ),
            MultipartError::BadHeader { offset, reason } => {
                write!(f, "malformed part header at offset {offset}: {reason}")
            }
            MultipartError::MissingContentDisposition { offset } => {
                write!(f, "part at offset {offset} has no content-disposition")
            }
            MultipartError::BadContentDisposition { offset, reason } => {
                write!(f, "bad content-disposition at offset {offset}: {reason}")
            }
            MultipartError::TooManyParts { limit, offset } => {
                write!(f, "more than {limit} parts at offset {offset}")
            }
            MultipartError::PartTooLarge { limit, offset } => {
                write!(f, "part longer than {limit} bytes at offset {offset}")
            }
            MultipartError::TooLarge { limit, offset } => {
                write!(
                    f,
                    "multipart body longer than {limit} bytes at offset {offset}"
                )
            }
            MultipartError::Truncated { offset, expected } => write!(
                f,
                "multipart body ended at offset {offset} while expecting {expected}"
            ),
        }
    }
}

impl Error for MultipartError {}

impl MultipartError {
    /// The stream offset the error is about (`None` for a bad boundary,
    /// which is not about the body).
    pub fn offset(&self) -> Option<u64> {
        match *self {
            MultipartError::BadBoundary { .. } => None,
            MultipartError::BadDelimiter { offset }
            | MultipartError::CrWithoutLf { offset }
            | MultipartError::HeadersTooLarge { offset, .. }
            | MultipartError::TooManyHeaders { offset, .. }
            | MultipartError::BadHeader { offset, .. }
            | MultipartError::MissingContentDisposition { offset }
            | MultipartError::BadContentDisposition { offset, .. }
            | MultipartError::TooManyParts { offset, .. }
            | MultipartError::PartTooLarge { offset, .. }
            | MultipartError::TooLarge { offset, .. }
            | MultipartError::Truncated { offset, .. } => Some(offset),
        }
    }

    /// Whether a cap was hit (the body may be well formed but is refused
    /// for its size): an HTTP server answers 413 rather than 400.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            MultipartError::PartTooLarge { .. } | MultipartError::TooLarge { .. }
        )
    }
}

/// `InvalidData`, or `UnexpectedEof` for a truncated body; the error is
/// kept as the inner error.
impl From<MultipartError> for io::Error {
    fn from(e: MultipartError) -> io::Error {
        let kind = match e {
            MultipartError::Truncated { .. } => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

/// As [`ConsumeError::Io`](crate::consume::ConsumeError::Io), through the
/// `io::Error` conversion.
impl From<MultipartError> for crate::consume::ConsumeError {
    fn from(e: MultipartError) -> Self {
        crate::consume::ConsumeError::Io(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_lowercase_and_io_kinds() {
        let all = [
            MultipartError::BadBoundary { reason: "empty" },
            MultipartError::BadDelimiter { offset: 1 },
            MultipartError::CrWithoutLf { offset: 1 },
            MultipartError::HeadersTooLarge {
                limit: 1,
                offset: 1,
            },
            MultipartError::TooManyHeaders {
                limit: 1,
                offset: 1,
            },
            MultipartError::BadHeader {
                offset: 1,
                reason: "x",
            },
            MultipartError::MissingContentDisposition { offset: 1 },
            MultipartError::BadContentDisposition {
                offset: 1,
                reason: "x",
            },
            MultipartError::TooManyParts {
                limit: 1,
                offset: 1,
            },
            MultipartError::PartTooLarge {
                limit: 1,
                offset: 1,
            },
            MultipartError::TooLarge {
                limit: 1,
                offset: 1,
            },
            MultipartError::Truncated {
                offset: 1,
                expected: "x",
            },
        ];
        for e in all {
            let s = e.to_string();
            assert!(
                s.starts_with(char::is_lowercase) && !s.ends_with('.'),
                "{s}"
            );
            assert_eq!(
                e.offset().is_none(),
                matches!(e, MultipartError::BadBoundary { .. })
            );
            let io: io::Error = e.clone().into();
            let want = if matches!(e, MultipartError::Truncated { .. }) {
                io::ErrorKind::UnexpectedEof
            } else {
                io::ErrorKind::InvalidData
            };
            assert_eq!(io.kind(), want);
            assert_eq!(
                io.get_ref().unwrap().downcast_ref::<MultipartError>(),
                Some(&e)
            );
        }
    }
}
