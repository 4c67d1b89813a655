//! zstd (RFC 8878, HTTP's `zstd` content coding): an encoder with a
//! caller-chosen flush policy, and a decoder bounded in output and window.
//!
//! The engine is libzstd through the [`zstd`](https://docs.rs/zstd) crate's
//! low-level streaming API (built from C by `zstd-sys`; the legacy pre-1.0
//! formats are left out). The layers are gzip's:
//!
//! - [`Compressor`] and [`Decompressor`] are sans-I/O: bytes in, bytes out
//!   into the spare capacity of a caller's `Vec<u8>`, resumable after any
//!   byte.
//! - [`Compressed`] and [`Decompressed`] are the shared producer wrappers
//!   of [`compression`] with these engines, made by
//!   [`ProducerExt::zstd`](crate::ProducerExt::zstd) and
//!   [`unzstd`](crate::ProducerExt::unzstd);
//!   [`CompressedBody::with_decoder`](crate::consume::CompressedBody::with_decoder)
//!   decodes a request body.
//!
//! ```
//! use producers::{ProducerExt, from_bytes};
//! use producers::codec::compression::FlushPolicy;
//!
//! let text = "a line of text\n".repeat(1000);
//! let packed = from_bytes(text.clone()).zstd(3).flush_policy(FlushPolicy::AtEnd).collect_bytes()?;
//! assert!(packed.len() < 100);
//! let unpacked = from_bytes(packed).unzstd().max_output(1 << 20).collect_bytes()?;
//! assert_eq!(unpacked, text.as_bytes());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Limits and strictness
//!
//! | limit | default | setter | error |
//! |---|---|---|---|
//! | decompressed size | [`DEFAULT_MAX_OUTPUT`] (64 MiB) | [`Decompressor::max_output`] | [`ZstdError::OutputTooLarge`] |
//! | window | 2^[`DEFAULT_WINDOW_LOG_MAX`] = 8 MiB (RFC 8878 section 3.1.1.1.2) | [`Decompressor::window_log_max`] | [`ZstdError::WindowTooLarge`] |
//!
//! The window is what a frame makes its decoder allocate, so it is a
//! peer-controlled length like any other: libzstd would accept 128 MiB
//! (2^27) by default. The encoder here never writes windows above 8 MiB
//! unless asked ([`Compressor::with_window_log`]).
//!
//! Several frames may follow each other (all are read, as `zstd -d`
//! does), and skippable frames are skipped; anything else after a frame is
//! [`ZstdError::TrailingData`], naming its offset. Every input that ends
//! inside a frame — including empty input — is [`ZstdError::Truncated`].
//! Frames carry a content checksum (XXH64), which the decoder checks.
//!
//! # The per-poll budget
//!
//! One poll of a [`Compressed`] feeds libzstd at most
//! [`DEFAULT_POLL_BUDGET`] (32 KiB) input bytes. libzstd buffers input and
//! compresses a 128 KiB block at once, so with a budget below the block a
//! poll does at most one block's work. Measured with `cargo bench --bench
//! codings --features brotli,zstd,testing` on 1 MiB of this crate's sources
//! (shared 2-core VM, load average 3.1-3.4):
//!
//! | level | MiB/s | size ratio | median µs per poll | longest poll µs |
//! |---|---|---|---|---|
//! | 3 | 326 | 0.244 | 15 | 506 |
//! | 19 | 3.7 | 0.188 | 16 | 36766 |
//!
//! Level 3 keeps every poll near gzip's 0.5 ms at level 6 (and compresses
//! 3.7 times as fast, to the same size); level 19 (37 ms per block) belongs
//! ahead of time or off the executor, or with
//! [`FlushPolicy::Every`](super::compression::FlushPolicy::Every) to cut
//! smaller blocks.

mod compressor;
mod decompressor;
mod error;

pub use compressor::Compressor;
pub use decompressor::Decompressor;
pub use error::ZstdError;

pub use super::compression::DEFAULT_MAX_OUTPUT;

use super::compression;
use crate::produce::Producer;

/// The default cap on a frame's window, as a power of two: 23 (8 MiB).
pub const DEFAULT_WINDOW_LOG_MAX: u32 = 23;

/// The most input bytes a zstd [`Compressed`] feeds its engine in one poll
/// by default: 32 KiB, as gzip's, below libzstd's block (128 KiB), so a
/// poll compresses at most one block. See [the module
/// docs](self#the-per-poll-budget) for the measurements.
pub const DEFAULT_POLL_BUDGET: usize = 32 << 10;

/// Compresses another producer's output as zstd: the shared
/// [`compression::Compressed`] wrapper with zstd's [`Compressor`]. Made by
/// [`ProducerExt::zstd`](crate::ProducerExt::zstd) or
/// `Compressed::with_compressor(p, Compressor::with_window_log(l, log))`.
pub type Compressed<P> = compression::Compressed<P, Compressor>;

/// Decodes another producer's output as zstd: the shared
/// [`compression::Decompressed`] wrapper with zstd's [`Decompressor`];
/// errors are [`ZstdError`]s inside `io::Error`s. Made by
/// [`ProducerExt::unzstd`](crate::ProducerExt::unzstd).
pub type Decompressed<P> = compression::Decompressed<P, Decompressor>;

impl<P: Producer> compression::Compressed<P, Compressor> {
    /// The compression level.
    pub fn level(&self) -> i32 {
        self.compressor().level()
    }
}

impl<P: Producer> compression::Decompressed<P, Decompressor> {
    /// Caps the window. See [`Decompressor::window_log_max`].
    pub fn window_log_max(self, log: u32) -> Self {
        self.map_decoder(|d| d.window_log_max(log))
    }
}

#[cfg(test)]
mod tests;
