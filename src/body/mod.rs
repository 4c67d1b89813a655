//! `http_body::Body` both ways (feature `http-body`): a producer as a
//! response body for hyper and axum, and a request body as a producer.
//!
//! - [`ProducerBody`] keeps what the peer ecosystem keeps: a producer's
//!   exact length becomes the body's exact size hint (so hyper sends
//!   `Content-Length`, and chunked coding otherwise — and always with
//!   declared trailers, which need it), memory chunks become
//!   data frames without a copy, file regions are read in bounded pieces of
//!   [`REGION_FRAME`] (a large file never lands in memory whole, a poll never
//!   blocks for long), an error ends the body with that error, and
//!   [`Trailers`] computed over the bytes as sent are yielded as a trailers
//!   frame at the end (with the `digest` feature,
//!   [`digest::ContentDigest`](crate::digest::ContentDigest) is one).
//! - [`BodyProducer`] is the other direction: any `http_body::Body` (hyper's
//!   `Incoming`, axum's `Body`) as a [`Producer`](crate::Producer), its
//!   data frames handed out as chunks (without a copy when they are
//!   [`Bytes`](bytes::Bytes)), its trailers kept for after the end, its
//!   length capped ([`DEFAULT_MAX_LEN`], [`BodyError::TooLarge`]).
//!
//! # A handler
//!
//! A hyper (or axum) handler returns `Response<ProducerBody<…>>` directly:
//! here a file, gzip-compressed, with a `Content-Digest` trailer (RFC 9530)
//! over the gzip stream as sent. [`ProducerBody::into_response`] declares
//! the trailer in a `Trailer` header, which hyper needs before it sends a
//! trailer field (and it sends them only to a client that said
//! `TE: trailers`).
//!
//! ```
//! # #[cfg(all(feature = "gzip", feature = "digest"))] {
//! use std::io;
//! use http::{Request, Response, header};
//! use producers::ProducerExt;
//! use producers::body::ProducerBody;
//! use producers::codec::gzip::Compressed;
//! use producers::digest::ContentDigest;
//!
//! type Gzipped = Compressed<producers::FileProducer>;
//!
//! async fn handle<B>(_req: Request<B>) -> io::Result<Response<ProducerBody<Gzipped, ContentDigest>>> {
//!     let path = std::env::temp_dir().join(format!("producers-body-doc-{}", std::process::id()));
//!     let mut response = ProducerBody::new(producers::file(&path)?.gzip(6))
//!         .with_trailers(ContentDigest::new())
//!         .into_response();
//!     response.headers_mut().insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
//!     Ok(response)
//! }
//!
//! // It fits hyper as it is:
//! let _service = hyper::service::service_fn(handle::<hyper::body::Incoming>);
//!
//! // Called in-process here, and the body collected as hyper would send it.
//! # let path = std::env::temp_dir().join(format!("producers-body-doc-{}", std::process::id()));
//! # std::fs::write(&path, "hello, digest ".repeat(1000)).unwrap();
//! use http_body_util::BodyExt;
//! let rt = tokio::runtime::Builder::new_current_thread().build()?;
//! let response = rt.block_on(handle(Request::new(())))?;
//! assert_eq!(response.headers()[header::TRAILER], "content-digest");
//! let collected = rt.block_on(response.into_body().collect())?;
//! let trailers = collected.trailers().unwrap().clone();
//! let gzip = collected.to_bytes();
//! let mut expected = ContentDigest::new();
//! expected.update(&gzip);
//! assert_eq!(trailers["content-digest"], expected.field_value());
//! # std::fs::remove_file(&path).unwrap();
//! # }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Over HTTP/1.1 trailers need the chunked coding, and hyper sends
//! `Content-Length` whenever a body's size hint is exact (dropping any
//! trailers): so a `ProducerBody` with declared trailers
//! ([`Trailers::names`]) reports no exact length, even over a file of known
//! length, and goes chunked; without trailers its exact length stays, and
//! becomes `Content-Length`.
//!
//! # On a tokio worker
//!
//! A body is polled on an executor's worker, so what one poll may cost is
//! bounded, by measurement:
//!
//! - a file region is read in pieces of at most [`REGION_FRAME`]
//!   (256 KiB): one `pread` from the page cache, about 21 µs here
//!   (`cargo bench --features tokio --bench tokio_file`: 64 MiB in 5.4 ms
//!   of 256 KiB blocking preads);
//! - a compressor takes at most its poll budget of input per poll
//!   ([`Compressed::poll_budget`](crate::codec::gzip::Compressed::poll_budget),
//!   32 KiB by default: a median of 358 µs at level 6 on text, under the
//!   0.5 ms aim; `cargo bench --bench poll_budget`), then wakes itself and
//!   returns pending so other tasks run;
//! - a file on storage that can stall (a network file system, a cold
//!   disk) is better read through
//!   [`tokio::OffloadedFile`](crate::tokio::OffloadedFile) (feature
//!   `tokio`): its reads run on tokio's blocking pool, one in flight, for
//!   about 20 µs of hand-off per read.

use std::fmt;
use std::io;

use ::http::{HeaderMap, HeaderName};

mod body_producer;
mod producer_body;

pub use body_producer::{BodyProducer, DEFAULT_MAX_LEN};
pub use producer_body::ProducerBody;

/// The largest data frame a [`ProducerBody`] reads from a file region: the
/// crate's [`REGION_FRAME`] (256 KiB).
pub use crate::chunk::REGION_FRAME;

/// Trailers computed over a body's data as it is sent, yielded as a trailers
/// frame when the body ends.
///
/// `update` sees every data frame, in order; `finish` is called once, at the
/// end (not after an error), and an empty map sends no trailers frame.
pub trait Trailers {
    /// Takes in one data frame's bytes.
    fn update(&mut self, data: &[u8]);

    /// The trailer fields, once the last data frame has been sent.
    fn finish(self) -> HeaderMap;

    /// The names of the fields [`finish`](Trailers::finish) will return, if
    /// known in advance, for the `Trailer` header
    /// ([`ProducerBody::into_response`]): hyper sends over HTTP/1.1 only
    /// the trailer fields declared there, and only in the chunked coding, so
    /// a body with declared names reports no exact length (see
    /// [`ProducerBody`](ProducerBody#trailers-and-content-length)). The
    /// default is none. Asked when the trailers are attached, and by
    /// [`ProducerBody::trailer_header`].
    fn names(&self) -> Vec<HeaderName> {
        Vec::new()
    }
}

/// No trailers: the default of a [`ProducerBody`].
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTrailers;

impl Trailers for NoTrailers {
    fn update(&mut self, _data: &[u8]) {}

    fn finish(self) -> HeaderMap {
        HeaderMap::new()
    }
}

/// Trailers from a pair of closures: `update` per data frame, `finish` at
/// the end. Built by [`trailers_fn`].
#[derive(Clone, Debug)]
pub struct TrailersFn<U, F> {
    update: U,
    finish: F,
}

/// Trailers from a pair of closures: `update` sees every data frame,
/// `finish` returns the trailer fields at the end.
pub fn trailers_fn<U, F>(update: U, finish: F) -> TrailersFn<U, F>
where
    U: FnMut(&[u8]),
    F: FnOnce() -> HeaderMap,
{
    TrailersFn { update, finish }
}

impl<U, F> Trailers for TrailersFn<U, F>
where
    U: FnMut(&[u8]),
    F: FnOnce() -> HeaderMap,
{
    fn update(&mut self, data: &[u8]) {
        (self.update)(data)
    }

    fn finish(self) -> HeaderMap {
        (self.finish)()
    }
}

/// Why a [`BodyProducer`] stopped short of a body's end (other than an
/// error of the body itself, which is passed through as it is).
///
/// Converts into an [`io::Error`] of kind
/// [`InvalidData`](io::ErrorKind::InvalidData), from which it can be
/// recovered with [`BodyError::of`] (to answer `413 Content Too Large`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is longer than the cap ([`BodyProducer::max_len`]). Nothing
    /// past the cap is handed out: the frame that crosses it is dropped.
    TooLarge {
        /// The cap, in bytes.
        limit: u64,
        /// How long the body is known to be, at least: its declared length
        /// (an exact size hint, such as `Content-Length`, checked before
        /// anything is read), or the bytes received up to the end of the
        /// frame that crossed the cap.
        at_least: u64,
    },
}

impl BodyError {
    /// The `BodyError` inside an [`io::Error`] made from one, if it is.
    pub fn of(e: &io::Error) -> Option<&BodyError> {
        e.get_ref()?.downcast_ref()
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge { limit, at_least } => write!(
                f,
                "body of at least {at_least} bytes is over the cap of {limit} bytes"
            ),
        }
    }
}

impl std::error::Error for BodyError {}

impl From<BodyError> for io::Error {
    fn from(e: BodyError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}
