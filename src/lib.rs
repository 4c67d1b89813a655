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
//! - [`Chunk`]: shared [`Bytes`](bytes::Bytes), or a [`FileRegion`] that a
//!   socket writer can `sendfile`.
//! - [`ProducerExt`]: combinators that read left to right —
//!   [`glob`](ProducerExt::glob), [`hooked`](ProducerExt::hooked),
//!   [`then`](ProducerExt::then), [`pieces`](ProducerExt::pieces).
//! - Sources: [`from_bytes`], [`LinesProducer`], [`ListProducer`],
//!   [`FileProducer`], [`Chain`], [`output`].
//! - Adapters: [`io::ProducerReader`] (`std::io::Read`), [`io::ReadProducer`]
//!   (a producer over a blocking `Read`), [`io::Drive`] (a
//!   vectored writer into any `std::io::Write`), and with the `stream`
//!   feature [`stream`] (`futures_core::Stream` both ways).
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
//! | `reactor` | yes | the poll-based event loop (polling, rustix, socket2) |
//! | `stream` | yes | `futures_core::Stream` adapters, for hyper and axum bodies |
//! | `http` | yes | the HTTP/1.1 file server on the reactor (needs `reactor` and `gzip`) |

#![deny(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub,
    unsafe_code
)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod chunk;
pub mod codec;
pub mod consume;
#[cfg(feature = "http")]
pub mod http;
pub mod io;
pub mod produce;
#[cfg(feature = "reactor")]
pub mod reactor;
pub mod stage;
#[cfg(feature = "stream")]
pub mod stream;
pub mod testing;

pub use chunk::{Chunk, FileRegion};
pub use codec::chunked::{Chunked, ChunkedDecoder, ChunkedError, Dechunked};
pub use codec::dotstuff::{DotStuff, DotUnstuff, DotUnstuffer};
pub use codec::escape::{Escaped, Escaper};
#[cfg(feature = "gzip")]
pub use codec::gzip::{Compress, Decompress, Decompressor, FlushPolicy, GzipError};
pub use consume::{Consumer, ConsumerFifo, Framer, Terminator};
pub use produce::{
    BytesProducer, Chain, Counters, FileProducer, Glob, Hooked, LinesProducer, ListProducer, More,
    OutputProducer, OutputWriter, Pieces, Producer, ProducerExt, Then, WhenEmpty, from_bytes,
    output, output_with_capacity,
};
#[cfg(feature = "reactor")]
pub use reactor::{ChannelCtx, ChannelId, CloseReason, Handle, Handler, Outbox, Reactor};

/// Opens `path` as a [`FileProducer`] that promises the file's current
/// length.
pub fn file(path: impl AsRef<std::path::Path>) -> std::io::Result<FileProducer> {
    FileProducer::open(path)
}

// The README's pipelines use gzip; without it they are not compiled.
#[cfg(all(doctest, feature = "gzip"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
