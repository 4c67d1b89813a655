//! brotli (RFC 7932, HTTP's `br` content coding): an encoder with a
//! caller-chosen flush policy, and a bounded decoder.
//!
//! The engine is the pure-Rust [`brotli`](https://docs.rs/brotli) crate,
//! what tower-http and async-compression use. The layers are gzip's:
//!
//! - [`Compressor`] and [`Decompressor`] are sans-I/O: bytes in, bytes out
//!   into the spare capacity of a caller's `Vec<u8>`, resumable after any
//!   byte.
//! - [`Compressed`] and [`Decompressed`] are the shared producer wrappers
//!   of [`compression`] with these engines, made by
//!   [`ProducerExt::brotli`](crate::ProducerExt::brotli) and
//!   [`unbrotli`](crate::ProducerExt::unbrotli);
//!   [`CompressedBody::with_decoder`](crate::consume::CompressedBody::with_decoder)
//!   decodes a request body.
//!
//! ```
//! use producers::{ProducerExt, from_bytes};
//! use producers::codec::compression::FlushPolicy;
//!
//! let text = "a line of text\n".repeat(1000);
//! let packed = from_bytes(text.clone()).brotli(5).flush_policy(FlushPolicy::AtEnd).collect_bytes()?;
//! assert!(packed.len() < 100);
//! let unpacked = from_bytes(packed).unbrotli().max_output(1 << 20).collect_bytes()?;
//! assert_eq!(unpacked, text.as_bytes());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Limits and strictness
//!
//! | limit | default | setter | error |
//! |---|---|---|---|
//! | decompressed size | [`DEFAULT_MAX_OUTPUT`] (64 MiB) | [`Decompressor::max_output`] | [`BrotliError::OutputTooLarge`] |
//! | window | RFC 7932's 16 MiB (24 bits); the large-window extension is refused | — | [`BrotliError::Corrupt`] |
//!
//! Every input that ends before the last meta-block — including empty
//! input — is [`BrotliError::Truncated`]; bytes after it are
//! [`BrotliError::TrailingData`], naming their offset.
//!
//! # The per-poll budget
//!
//! One poll of a [`Compressed`] feeds the engine at most
//! [`DEFAULT_POLL_BUDGET`] (32 KiB) input bytes, as gzip's. Brotli works in
//! bursts: it copies input into its ring buffer (about 1 µs per poll) and
//! compresses a whole meta-block at once when its input block is full —
//! 2^16 = 64 KiB at qualities 4-8, 2^18 = 256 KiB at 9-11. A budget below
//! the block size means one poll does at most one block's work, so the
//! longest poll is one block: measured with `cargo bench --bench codings
//! --features brotli,zstd,testing` on 1 MiB of this crate's sources
//! (shared 2-core VM, load average 3.1-3.4):
//!
//! | quality | MiB/s | size ratio | median µs per poll | longest poll µs |
//! |---|---|---|---|---|
//! | 4 | 82 | 0.237 | 1 | 3051 |
//! | 5 | — | — | 1 | 3421 |
//! | 11 | 0.9 | 0.183 | 1 | 246418 |
//!
//! So quality 4-5 keeps an executor's polls to a few milliseconds at worst;
//! quality 11 (a quarter of a second per block) belongs ahead of time or
//! off the executor. A flush bounds the block too:
//! [`FlushPolicy::Every`](super::compression::FlushPolicy::Every)`(n)`
//! ends a meta-block every `n` bytes, at some cost in ratio.

mod compressor;
mod decompressor;
mod error;

pub use compressor::Compressor;
pub use decompressor::Decompressor;
pub use error::BrotliError;

pub use super::compression::DEFAULT_MAX_OUTPUT;

use super::compression;
use crate::produce::Producer;

/// The highest quality: 11.
pub const MAX_QUALITY: u32 = 11;

/// The smallest window, in bits (1 KiB).
pub const MIN_WINDOW_BITS: u32 = 10;

/// The largest window of RFC 7932, in bits (16 MiB).
pub const MAX_WINDOW_BITS: u32 = 24;

/// The default window, in bits (4 MiB): the `brotli` tool's and the
/// crate's default.
pub const DEFAULT_WINDOW_BITS: u32 = 22;

/// The most input bytes a brotli [`Compressed`] feeds its engine in one
/// poll by default: 32 KiB, below the smallest input block (64 KiB), so a
/// poll compresses at most one meta-block. See [the module
/// docs](self#the-per-poll-budget) for the measurements.
pub const DEFAULT_POLL_BUDGET: usize = 32 << 10;

/// Compresses another producer's output as brotli: the shared
/// [`compression::Compressed`] wrapper with brotli's [`Compressor`]. Made
/// by [`ProducerExt::brotli`](crate::ProducerExt::brotli) or
/// `Compressed::with_compressor(p, Compressor::with_window_bits(q, bits))`.
pub type Compressed<P> = compression::Compressed<P, Compressor>;

/// Decodes another producer's output as brotli: the shared
/// [`compression::Decompressed`] wrapper with brotli's [`Decompressor`];
/// errors are [`BrotliError`]s inside `io::Error`s. Made by
/// [`ProducerExt::unbrotli`](crate::ProducerExt::unbrotli).
pub type Decompressed<P> = compression::Decompressed<P, Decompressor>;

impl<P: Producer> compression::Compressed<P, Compressor> {
    /// The quality (0-11).
    pub fn quality(&self) -> u32 {
        self.compressor().quality()
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::{Compressor, Decompressor};
    use crate::codec::compression::test_util::{decode_pieces_with, encode_with};

    pub(crate) fn encode_all(quality: u32, data: &[u8]) -> Vec<u8> {
        encode_with(Compressor::new(quality), data)
    }

    #[track_caller]
    pub(crate) fn decode_all(stream: &[u8]) -> Vec<u8> {
        decode_pieces_with(Decompressor::new().max_output(u64::MAX), &[stream], 1 << 16).unwrap()
    }
}

#[cfg(test)]
mod tests;
