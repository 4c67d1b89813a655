//! Sans-I/O codecs: bytes in, bytes or frames out.
//!
//! Encoders are wrapped as producer combinators (see
//! [`ProducerExt`](crate::ProducerExt)); decoders are usable on their own and
//! are wrapped by consumers (see [`consume`](crate::consume)).

#[cfg(feature = "brotli")]
pub mod brotli;
pub mod chunked;
#[cfg(any(feature = "gzip", feature = "brotli", feature = "zstd"))]
pub mod compression;
pub mod dotstuff;
pub mod escape;
#[cfg(feature = "gzip")]
pub mod gzip;
pub(crate) mod syntax;
#[cfg(feature = "zstd")]
pub mod zstd;
