//! [`Reply`]: what a request gets — a status, its specific header fields
//! and a body — before the connection's framing is added.

use std::fs::File;
use std::sync::Arc;

use bytes::Bytes;

use super::coding::OnTheFly;
use super::variant_cache::VariantFill;
use crate::http::proto::{HttpError, ResponseHead, Status};
use crate::produce::{Chain, FileProducer, Followed, ListProducer};

/// A response body before framing.
#[derive(Debug)]
pub(crate) enum Body {
    /// No body (304, 204).
    Empty,
    /// Bytes in memory.
    Bytes(Bytes),
    /// Part or all of a file, of known length.
    File(FileProducer),
    /// The parts of a `multipart/byteranges` body: framing in memory and
    /// file ranges, of known length.
    Parts(Chain),
    /// A file to compress in a coding: the compressed length is unknown.
    /// A br or zstd coding holds its permit until the encoder made from it
    /// is dropped. With a fill (and the file compressed), the output is recorded into
    /// the variant cache ([`Recorded`](super::Recorded)).
    Encoded(OnTheFly, FileProducer, Option<(VariantFill, Arc<File>)>),
    /// Pieces sent with the chunked coding.
    Chunks(ListProducer),
    /// A file followed as it grows (`GET /FILE?follow`): chunked, never
    /// ending; the connection closes when the client goes.
    Followed(Followed),
}

/// A response: the head without the connection's fields, and the body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) head: ResponseHead,
    pub(crate) body: Body,
}

impl Reply {
    #[cfg(test)]
    pub(crate) fn status(&self) -> Status {
        self.head.status()
    }

    /// The answer to `OPTIONS`: 200, the methods in `Allow`, no content
    /// (so `Content-Length: 0`, RFC 9110 section 9.3.7).
    pub(crate) fn options(allow: &'static str) -> Reply {
        Reply {
            head: ResponseHead::new(Status::OK).header("Allow", allow),
            body: Body::Bytes(Bytes::new()),
        }
    }

    /// The short error page for `e`.
    pub(crate) fn error(e: &HttpError) -> Reply {
        let status = e.status();
        let mut head =
            ResponseHead::new(status).header("Content-Type", "text/plain; charset=utf-8");
        match e {
            HttpError::MethodNotAllowed { allow } => head.add("Allow", allow.as_bytes()),
            HttpError::RangeNotSatisfiable { len } => {
                head.add("Content-Range", format!("bytes */{len}").as_bytes())
            }
            HttpError::Unavailable { retry_after } => {
                head.add("Retry-After", retry_after.to_string().as_bytes())
            }
            // Chosen by the request's Accept-Encoding (RFC 9110 section
            // 12.5.5), as the representations it stands for.
            HttpError::NotAcceptable => head.add("Vary", b"Accept-Encoding"),
            _ => {}
        }
        let body = match e {
            // An upload refused, or no coding acceptable: say why, the
            // client cannot guess.
            HttpError::BadMultipart(_)
            | HttpError::BadUploadName { .. }
            | HttpError::UploadExists
            | HttpError::UnsupportedMediaType
            | HttpError::NotAcceptable => format!("{status}\n{e}\n"),
            _ => format!("{status}\n"),
        };
        Reply {
            head,
            body: Body::Bytes(Bytes::from(body)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_pages() {
        let r = Reply::error(&HttpError::MethodNotAllowed { allow: "GET, HEAD" });
        assert_eq!(r.status(), Status::METHOD_NOT_ALLOWED);
        let head = r.head.finish();
        assert!(head.windows(16).any(|w| w == b"Allow: GET, HEAD"));
        let Body::Bytes(b) = r.body else { panic!() };
        assert_eq!(&b[..], b"405 Method Not Allowed\n");
        let r = Reply::error(&HttpError::RangeNotSatisfiable { len: 7 });
        assert!(
            r.head
                .finish()
                .windows(21)
                .any(|w| w == b"Content-Range: bytes */7"[..21].as_ref())
        );
        let r = Reply::error(&HttpError::NotAcceptable);
        assert_eq!(r.status(), Status::NOT_ACCEPTABLE);
        let head = r.head.finish();
        assert!(head.windows(21).any(|w| w == b"Vary: Accept-Encoding"));
    }
}
