//! What every content coding shares (gzip, brotli, zstd): the engine traits,
//! the producer wrappers built on them, the flush policy and the common
//! limits.
//!
//! Each coding lives in its own module — [`gzip`](super::gzip) (feature
//! `gzip`), [`brotli`](super::brotli) (feature `brotli`),
//! [`zstd`](super::zstd) (feature `zstd`) — with a sans-I/O `Compressor`
//! and `Decompressor` and its own error type. This module holds what they
//! have in common, so the wrappers are written once:
//!
//! - [`ContentEncoder`] and [`ContentDecoder`]: the sans-I/O engine
//!   contracts (bytes in, bytes out into the spare capacity of a caller's
//!   `Vec<u8>`, resumable after any byte).
//! - [`Compressed<P, E>`](Compressed) and [`Decompressed<P, D>`](Decompressed):
//!   the producer wrappers, generic over the engine. Each coding names its
//!   own (`codec::gzip::Compressed<P>` is `Compressed<P, gzip::Compressor>`),
//!   and [`ProducerExt`](crate::ProducerExt) builds them: `.gzip(6)`,
//!   `.brotli(5)`, `.zstd(3)`, `.gunzip()`, `.unbrotli()`, `.unzstd()`.
//! - [`CompressedBody`](crate::consume::CompressedBody): the request-body
//!   consumer, generic over the decoder the same way.
//!
//! ```
//! # #[cfg(feature = "gzip")] {
//! use producers::{ProducerExt, from_bytes};
//! use producers::codec::compression::FlushPolicy;
//!
//! let text = "a line of text\n".repeat(1000);
//! let packed = from_bytes(text.clone()).gzip(6).flush_policy(FlushPolicy::AtEnd).collect_bytes()?;
//! let unpacked = from_bytes(packed).gunzip().max_output(1 << 20).collect_bytes()?;
//! assert_eq!(unpacked, text.as_bytes());
//! # }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Flush policy
//!
//! An encoder keeps input inside its engine until it has enough for a good
//! block. [`FlushPolicy`] says when to force it out with a *flush* (after
//! which everything fed so far decodes): never before the end
//! ([`FlushPolicy::AtEnd`]: best ratio), whenever the source is pending
//! ([`FlushPolicy::OnPending`], the default: server-sent events never stall
//! inside the compressor), or after every `n` input bytes
//! ([`FlushPolicy::Every`]). For gzip a flush is deflate's sync flush (an
//! empty stored block), for brotli `BROTLI_OPERATION_FLUSH` (the current
//! meta-block is closed and padded to a byte), for zstd `ZSTD_e_flush`
//! (the current block is closed; the frame goes on).
//!
//! # Limits
//!
//! Every decoder caps the decompressed size, by default at
//! [`DEFAULT_MAX_OUTPUT`] (64 MiB), with its own error (`OutputTooLarge`)
//! after exactly the cap was produced; its setter is `max_output` on the
//! decoder, the [`Decompressed`] wrapper and the body consumer. Decoders
//! hand out at most [`DECODE_CHUNK`] bytes at a time, encoders
//! [`ENCODE_CHUNK`]. Each coding's own limits (gzip header fields, the zstd
//! window) are in its module.

mod compressed;
mod decompressed;
#[cfg(test)]
pub(crate) mod test_util;

pub use compressed::Compressed;
pub use decompressed::Decompressed;

use std::io;
use std::num::NonZeroUsize;

/// The default cap on decompressed size for every decoder: 64 MiB. See
/// [the gzip module docs](super::gzip#limits) for why.
pub const DEFAULT_MAX_OUTPUT: u64 = 64 << 20;

/// The most bytes a [`Compressed`] producer hands out in one chunk: 32 KiB.
pub const ENCODE_CHUNK: usize = 32 << 10;

/// The most bytes a [`Decompressed`] producer hands out in one chunk: 64 KiB.
pub const DECODE_CHUNK: usize = 64 << 10;

/// When an encoder forces buffered input out as decodable output (a
/// flush). See [the module docs](self#flush-policy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum FlushPolicy {
    /// Only at the end of the input: the best ratio. Output the engine has
    /// already made is still handed out when the source is pending.
    AtEnd,
    /// Flush whenever the source is pending and input was fed since the
    /// last flush, so a streamed response never stalls inside the
    /// compressor. With a source that is never pending this is `AtEnd`.
    #[default]
    OnPending,
    /// Flush after every `n` input bytes (at input offsets `n`, `2n`, …,
    /// whatever the chunking), and hand the output out.
    Every(NonZeroUsize),
}

impl FlushPolicy {
    /// [`FlushPolicy::Every`] `n` input bytes.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    pub fn every(n: usize) -> FlushPolicy {
        FlushPolicy::Every(NonZeroUsize::new(n).expect("FlushPolicy::every(0)"))
    }
}

/// What one decoder `decode` call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Input bytes consumed (a prefix of the input given).
    pub consumed: usize,
    /// Bytes appended to the output.
    pub produced: usize,
}

/// A sans-I/O compression engine, as [`Compressed`] drives it.
///
/// Output goes into the spare capacity of the caller's `Vec<u8>`, which is
/// never grown; every method can be called again after the output filled
/// up, and resumes where it stopped.
pub trait ContentEncoder {
    /// The most input bytes a [`Compressed`] feeds this engine in one poll
    /// unless told otherwise: sized, by measurement, so that one poll at
    /// the default level stays under about 0.5 ms.
    const DEFAULT_POLL_BUDGET: usize;

    /// Compresses as much of `input` as fits and returns how many bytes
    /// were consumed. The engine may keep input buffered without output.
    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize;

    /// Makes everything consumed so far decodable. `true` when done,
    /// `false` if `out` filled up first (call again with more room).
    fn flush(&mut self, out: &mut Vec<u8>) -> bool;

    /// Ends the stream. `true` when complete, `false` if `out` filled up
    /// first (call again with more room); after `true`, further calls
    /// write nothing and return `true`.
    fn finish(&mut self, out: &mut Vec<u8>) -> bool;

    /// Input bytes consumed so far.
    fn total_in(&self) -> u64;

    /// The whole input's length, told before anything is fed:
    /// [`Compressed`] passes its source's
    /// [`exact_len`](crate::Producer::exact_len) when known, so the
    /// per-poll budget, which feeds the engine in small pieces, does not
    /// also set the engine's idea of the input's size. Engines that choose
    /// settings by it (brotli, zstd) use it; the default ignores it.
    fn set_size_hint(&mut self, total: u64) {
        let _ = total;
    }
}

/// A sans-I/O decoder with a cap on its output, as [`Decompressed`] and
/// [`CompressedBody`](crate::consume::CompressedBody) drive it.
///
/// `decode` takes any piece of the input and resumes after any byte; at
/// the end of the input the caller drains it (`decode(&[], out)` until it
/// produces nothing) and calls `finish`, which fails with the coding's
/// truncation error unless the stream ended. After an error the decoder
/// returns the same error on every call.
pub trait ContentDecoder {
    /// The coding's error, which converts into an `io::Error` of kind
    /// `InvalidData` that carries it.
    type Error: std::error::Error + Clone + Send + Sync + 'static + Into<io::Error>;

    /// Decodes from `input` into the spare capacity of `out` (never grown)
    /// until the input is used up or `out` is full.
    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, Self::Error>;

    /// Checks that the input may end here.
    fn finish(&mut self) -> Result<(), Self::Error>;

    /// Sets the cap on decompressed size (`u64::MAX` for none).
    fn set_max_output(&mut self, limit: u64);

    /// Input bytes consumed so far.
    fn total_in(&self) -> u64;

    /// Bytes produced so far.
    fn total_out(&self) -> u64;
}

/// Runs `f` over up to `limit` bytes of `out`'s spare capacity as an
/// initialised slice (engines that write into `&mut [u8]`), keeping the
/// `n` bytes `f` says it wrote. The spare room is zeroed first: the crate
/// has no `unsafe` to hand out uninitialised memory.
#[cfg(any(feature = "brotli", feature = "zstd"))]
pub(crate) fn with_spare<R>(
    out: &mut Vec<u8>,
    limit: usize,
    f: impl FnOnce(&mut [u8]) -> (usize, R),
) -> R {
    let start = out.len();
    let room = (out.capacity() - start).min(limit);
    out.resize(start + room, 0);
    let (n, r) = f(&mut out[start..]);
    out.truncate(start + n);
    r
}
