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
//! bursts: it copies input into its ring buffer (a few µs per poll), finds
//! matches a whole input block at a time when one is full (2^16 = 64 KiB
//! at qualities 4-8, the smallest `BROTLI_PARAM_LGBLOCK` the engine takes
//! there; 2^18 = 256 KiB at 9-11), and, from quality 4 on, merges those
//! blocks into one
//! meta-block of up to 2^(window bits + 1) bytes whose entropy coding is
//! done in one call when it is full, at a flush or at the end. The longest
//! poll is that call: measured with `cargo bench --all-features --bench
//! codings -- br` on 1 MiB of this crate's sources (256 KiB at quality
//! 11; shared 2-core VM, load average 2.5-3.1; three runs, one pass each):
//!
//! | quality, window | size ratio | median µs per poll | longest poll µs |
//! |---|---|---|---|
//! | 4, 22 bits | 0.231 | 2-3 | 3700-4531 |
//! | 4, 18 bits | 0.244 | 3-4 | 2846-3000 |
//! | 4, 18 bits, flush every 256 KiB | 0.244 | 2 | 1308-1403 |
//! | 5, 22 bits | 0.217 | 16-21 | 4782-6853 |
//! | 11, 22 bits | 0.199 | 23-28 | 260007-293320 |
//!
//! So quality 4-5 keeps an executor's polls to a few milliseconds, more
//! for a longer input up to the meta-block's cap; quality 11 (a quarter of
//! a second per block) belongs ahead of time or off the executor. A flush
//! bounds the meta-block:
//! [`FlushPolicy::Every`](super::compression::FlushPolicy::Every)`(n)`
//! ends one every `n` bytes, at some cost in ratio (under 0.1% at 256
//! KiB).
//!
//! # The size hint
//!
//! The engine chooses some settings by the input's size, which it takes as
//! what it holds when its first block fills, unless told
//! ([`Compressor::set_size_hint`]). Fed in pieces by the per-poll budget,
//! it would see 64 KiB whatever the input; so [`Compressed`] tells it the
//! source's [`exact_len`](crate::Producer::exact_len) when known, and the
//! engine works as if given the whole input at once (as `brotli`'s
//! `CompressorWriter` after one write of it). At quality 4 and from 1 MiB
//! on, that is a hash table of 4 MiB instead of 512 KiB, on 1 MiB of text
//! 2.3% smaller output and 10% fewer instructions (`valgrind
//! --tool=callgrind`). The HTTP server's engine ignores it, to keep its
//! memory per connection.

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
/// poll by default: 32 KiB, below the input block (64 KiB at qualities
/// 4-8), so a poll finds matches in at most one block; the longest poll is
/// the meta-block's entropy coding. See [the module
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
