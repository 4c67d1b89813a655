//! gzip (RFC 1952), zlib (RFC 1950) and raw deflate (RFC 1951): encoders
//! with a caller-chosen flush policy, and bounded decoders.
//!
//! The three formats share one deflate engine (flate2 with the zlib-rs
//! backend) and differ in their wrapping, named by [`Format`]:
//!
//! | format | RFC | header | trailer | `Content-Encoding` |
//! |---|---|---|---|---|
//! | [`Format::Gzip`] | 1952 | 10+ bytes (magic `1f 8b`) | CRC-32 and length | `gzip` |
//! | [`Format::Zlib`] | 1950 | 2 bytes (check `% 31`) | Adler-32 | `deflate` (sic, HTTP's name) |
//! | [`Format::Deflate`] | 1951 | none | none | — |
//!
//! Medusa's "compressed producer" emitted zlib while its documentation said
//! gzip; here every name says exactly which wrapping it reads or writes.
//!
//! # Layers
//!
//! The wrappers are the shared generic ones of
//! [`compression`](super::compression), named here for gzip's engines
//! (`Compressed<P>` is `compression::Compressed<P, Compressor>`).
//!
//! - [`Compressor`] and [`Decompressor`] are sans-I/O: bytes in, bytes out,
//!   into the spare capacity of a caller's `Vec<u8>` (never grown), with
//!   every state resumable after any byte. A consumer can wrap them.
//! - [`Compressed`] and [`Decompressed`] are producer combinators built on them,
//!   made by [`ProducerExt::gzip`](crate::ProducerExt::gzip),
//!   [`zlib`](crate::ProducerExt::zlib), [`deflate`](crate::ProducerExt::deflate),
//!   [`gunzip`](crate::ProducerExt::gunzip), [`unzlib`](crate::ProducerExt::unzlib)
//!   and [`inflate`](crate::ProducerExt::inflate).
//!
//! ```
//! use producers::{ProducerExt, from_bytes};
//! use producers::codec::gzip::FlushPolicy;
//!
//! let text = "a line of text\n".repeat(1000);
//! let packed = from_bytes(text.clone()).gzip(6).flush_policy(FlushPolicy::AtEnd).collect_bytes()?;
//! assert!(packed.len() < 200);
//! let unpacked = from_bytes(packed).gunzip().max_output(1 << 20).collect_bytes()?;
//! assert_eq!(unpacked, text.as_bytes());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Flush policy
//!
//! [`FlushPolicy`] is shared by every content coding (see
//! [`compression`](super::compression#flush-policy)). An encoder keeps input inside the deflate engine until it has enough for a
//! good block. [`FlushPolicy`] says when to force it out with a *sync flush*
//! (an empty stored block, `00 00 ff ff`, after which everything fed so far
//! decodes): never before the end ([`FlushPolicy::AtEnd`]: best ratio),
//! whenever the source is pending ([`FlushPolicy::OnPending`], the default:
//! server-sent events never stall inside the compressor), or after every `n`
//! input bytes ([`FlushPolicy::Every`]). The output is a function of the
//! input, its chunking (and pendings) and the policy: the same run gives the
//! same bytes.
//!
//! # Limits
//!
//! | limit | default | setter | error |
//! |---|---|---|---|
//! | decompressed size | [`DEFAULT_MAX_OUTPUT`] (64 MiB) | [`Decompressor::max_output`] | [`GzipError::OutputTooLarge`] |
//! | gzip FEXTRA, FNAME, FCOMMENT length (each) | [`DEFAULT_MAX_HEADER_FIELD`] (4 KiB) | [`Decompressor::max_header_field`] | [`GzipError::HeaderFieldTooLong`] |
//!
//! Deflate can expand about 1032 times, so 64 KiB of input can claim 64 MiB
//! of output. Decoders hand their output out in chunks of at most
//! [`DECODE_CHUNK`] bytes, so their own memory stays bounded whatever the
//! cap; the cap bounds the *work* and whatever a downstream consumer
//! accumulates. 64 MiB is far above any HTTP body or mail part a server
//! would decode on a peer's behalf, and small enough that a bomb costs
//! little; a tool decoding trusted files raises it
//! (`.max_output(u64::MAX)`). After any error a decoder is finished: it
//! returns the same error again and never resynchronises.
//!
//! # Strictness
//!
//! - A gzip stream may hold several members (`cat a.gz b.gz`); all are read,
//!   each checked against its own CRC-32 and ISIZE.
//! - Bytes after the last member (gzip), or after the end of a zlib or
//!   deflate stream, are [`GzipError::TrailingData`], naming their offset.
//!   `gzip -d` only warns about trailing garbage and silently skips zero
//!   padding (tape blocks); a network peer has no such excuse, so this
//!   decoder does neither.
//! - A zlib stream that asks for a preset dictionary is
//!   [`GzipError::PresetDictionary`]: none is negotiated in the protocols we
//!   speak.
//! - Every input that ends early — including empty input — is
//!   [`GzipError::Truncated`].

mod adler;
mod compressed;
mod compressor;
mod decompressed;
mod decompressor;
mod error;

pub use compressed::{Compressed, DEFAULT_POLL_BUDGET};
pub use compressor::{Compressor, MAX_WINDOW_BITS, MIN_WINDOW_BITS};
pub use decompressed::Decompressed;
pub use decompressor::Decompressor;
pub use error::{GzipError, HeaderField};

// Shared by every content coding; re-exported here where they began.
pub use super::compression::{
    DECODE_CHUNK, DEFAULT_MAX_OUTPUT, ENCODE_CHUNK, FlushPolicy, Progress,
};

/// The default cap on each of the gzip header's FEXTRA, FNAME and FCOMMENT
/// fields: 4 KiB (a path name's usual `PATH_MAX`). FEXTRA is also bounded
/// by its 16-bit length.
pub const DEFAULT_MAX_HEADER_FIELD: usize = 4 << 10;

/// Which wrapping around deflate data: gzip, zlib or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// gzip (RFC 1952): a header with magic `1f 8b`, deflate data, then the
    /// CRC-32 and length (mod 2^32) of the data. Possibly several members.
    Gzip,
    /// zlib (RFC 1950): a 2-byte header, deflate data, then the Adler-32 of
    /// the data. What HTTP calls `Content-Encoding: deflate`.
    Zlib,
    /// Raw deflate (RFC 1951) with no header or check.
    Deflate,
}

impl Format {
    /// The format's name as `gzip`, `zlib` or `deflate`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Zlib => "zlib",
            Format::Deflate => "deflate",
        }
    }
}

#[cfg(test)]
pub(crate) mod test_util;
