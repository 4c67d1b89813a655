//! Medusa-style producers and consumers for Rust: output as small composable
//! objects that hand out chunks on demand.
//!
//! Sam Rushing's Medusa showed that a network server is best written as data
//! flowing through small objects: *producers*, with one method that returns
//! the next piece of output, and wrappers that transform them. This crate is
//! that idea with the contract made explicit:
//!
//! - [`Producer`]: `poll_more` returns a [`Chunk`], pending (with a
//!   [`Waker`](std::task::Waker)), the end, or an error. Never an empty
//!   chunk; the end is sticky. See [the contract](produce#the-contract).
//! - [`Chunk`]: shared bytes ([`chunk::NonEmptyBytes`], a
//!   [`Bytes`](bytes::Bytes) that cannot be empty), or a [`FileRegion`]
//!   that a socket writer can `sendfile`; never empty, by type.
//! - [`ProducerExt`]: combinators that read left to right —
//!   [`glob`](ProducerExt::glob), [`hooked`](ProducerExt::hooked),
//!   [`then`](ProducerExt::then), [`pieces`](ProducerExt::pieces).
//! - Sources: [`from_bytes`], [`file()`] ([`FileProducer`]), [`Chain`]; the
//!   others ([`produce::LinesProducer`], [`produce::ListProducer`],
//!   [`produce::output`] …) live in [`produce`].
//! - Input: a [`ConsumerFifo`] frames what a reader appends
//!   ([`Terminator`], [`Framing`]) and hands [`Frame`]s to the
//!   [`Consumer`] at its head, which steers it through [`Control`].
//! - With the `reactor` feature: [`Reactor`], [`Handler`], [`ChannelCtx`],
//!   [`Outbox`], [`CloseReason`]; with `http`: [`Server`], [`ServerConfig`].
//! - Adapters: [`io::ProducerReader`] (`std::io::Read`), [`io::ReadProducer`]
//!   (a producer over a blocking `Read`), [`io::Driver`] (a
//!   vectored writer into any `std::io::Write`), and with the `stream`
//!   feature [`stream`] (`futures_core::Stream` both ways), with
//!   `http-body` [`body`] (`http_body::Body`, both ways), with `tokio` [`tokio`]
//!   (`AsyncRead`, a driver into `AsyncWrite` with `sendfile`, a consumer
//!   FIFO fed from an `AsyncRead`, `tokio_util` codecs).
//!
//! Everything else is reached through its module: the codecs in
//! [`codec`] (`codec::chunked::Chunked`, `codec::gzip::Compressed` …),
//! the other combinators and sources in [`produce`], the ready-made
//! consumers in [`consume`].
//!
//! # A pipeline
//!
//! ```
//! use producers::{ProducerExt, file};
//! # let path = std::env::temp_dir().join(format!("producers-doc-{}", std::process::id()));
//! # std::fs::write(&path, vec![b'a'; 200_000]).unwrap();
//!
//! let mut sent = 0;
//! let mut out = Vec::new();
//! let written = producers::io::copy(
//!     file(&path)?.block_size(4096).glob(64 << 10).hooked(|n, _err| sent = n),
//!     &mut out,
//! )?;
//! assert_eq!(written, 200_000);
//! assert_eq!(sent, 200_000);
//! # std::fs::remove_file(&path).unwrap();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `gzip` | yes | gzip, zlib and raw deflate encoders and bounded decoders (flate2, zlib-rs backend) |
//! | `brotli` | no | brotli (`br`) encoder and bounded decoder (the pure-Rust `brotli` crate) |
//! | `zstd` | no | zstd encoder and decoder bounded in output and window (libzstd, built from C) |
//! | `reactor` | yes | the poll-based event loop (polling, rustix, socket2) |
//! | `stream` | yes | `futures_core::Stream` adapters, for hyper and axum bodies |
//! | `http` | yes | the HTTP/1.1 file server on the reactor (needs `reactor` and `gzip`) |
//! | `http-body` | no | `body`: `http_body::Body` both ways: a producer as a response body for hyper and axum (exact length, trailers), a request body as a producer (capped); and `http`'s sans-I/O helpers over the `http` crate's types (conditional requests, byte ranges, `Accept-Encoding`, paths under a root) without the reactor |
//! | `digest` | no | `digest`: `Content-Digest` (RFC 9530, sha-256) over a body as sent, a trailer of the chunked encoder and of a `body::ProducerBody` (sha2) |
//! | `tokio` | no | `tokio`: `AsyncRead` over a producer, a driver into any `AsyncWrite` (`sendfile` on a `TcpStream`), a consumer FIFO fed from an `AsyncRead`, `tokio_util::codec` decoders and encoders, a file source that never blocks a worker |
//! | `stage` | no | `stage`: pipeline stages parsed from strings (`gzip:6 chunk:4K`), for the `pipe` and `sweep` tools |
//! | `testing` | no | `testing`: the producer conformance check, `conformance!`, `Script`, counting wakers |

#![deny(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub,
    unsafe_code
)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "http-body")]
pub mod body;
pub mod chunk;
pub mod codec;
pub mod consume;
#[cfg(feature = "digest")]
pub mod digest;
mod ext;
#[cfg(any(feature = "http", feature = "http-body"))]
pub mod http;
pub mod io;
pub mod produce;
#[cfg(feature = "reactor")]
pub mod reactor;
#[cfg(feature = "stage")]
pub mod stage;
#[cfg(feature = "stream")]
pub mod stream;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use chunk::{Chunk, FileRegion};
pub use consume::{ConsumeError, Consumer, ConsumerFifo, Control, Frame, Framing, Terminator};
pub use ext::ProducerExt;
#[cfg(feature = "http")]
pub use http::{Server, ServerConfig};
pub use produce::{Chain, Counters, FileProducer, More, Producer, from_bytes};
#[cfg(feature = "reactor")]
pub use reactor::{ChannelCtx, CloseReason, Handler, Outbox, Reactor};

/// Opens `path` as a [`FileProducer`] that promises the file's current
/// length.
pub fn file(path: impl AsRef<std::path::Path>) -> std::io::Result<FileProducer> {
    FileProducer::open(path)
}

// The README's pipelines use gzip; without it they are not compiled.
#[cfg(all(doctest, feature = "gzip"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
