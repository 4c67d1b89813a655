//! Sans-I/O codecs: bytes in, bytes or frames out.
//!
//! Encoders are wrapped as producer combinators (see
//! [`ProducerExt`](crate::ProducerExt)); decoders are usable on their own and
//! are wrapped by consumers (see [`consume`](crate::consume)).

pub mod chunked;
pub mod dotstuff;
pub mod escape;
#[cfg(feature = "gzip")]
pub mod gzip;
pub(crate) mod syntax;
