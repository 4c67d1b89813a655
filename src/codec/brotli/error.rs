//! [`BrotliError`]: everything that can be wrong with brotli input.

use std::fmt;
use std::io;

/// Why a brotli stream (RFC 7932) could not be decoded.
///
/// Every variant says where: `offset` counts input bytes from the start of
/// the stream. Converts into an [`io::Error`] of kind
/// [`InvalidData`](io::ErrorKind::InvalidData) that carries it, so
/// `err.get_ref()` can be downcast back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrotliError {
    /// The brotli data is invalid.
    Corrupt {
        /// Input bytes consumed when the engine gave up (it reads ahead a
        /// few bytes, so this is at or just after the bad bits).
        offset: u64,
        /// The engine's error code, in lowercase words (`format padding 1`).
        detail: String,
    },
    /// The input ended before the stream did (no last meta-block).
    Truncated {
        /// The input's length: where more was expected.
        offset: u64,
    },
    /// Bytes follow the end of the stream.
    TrailingData {
        /// Offset of the first such byte.
        offset: u64,
    },
    /// The decoded data is larger than the cap
    /// ([`Decompressor::max_output`](super::Decompressor::max_output)).
    /// The first `limit` bytes were produced.
    OutputTooLarge {
        /// The cap.
        limit: u64,
        /// Input bytes consumed when the cap was crossed.
        offset: u64,
    },
}

impl BrotliError {
    /// The input offset the error refers to.
    pub fn offset(&self) -> u64 {
        match *self {
            BrotliError::Corrupt { offset, .. }
            | BrotliError::Truncated { offset }
            | BrotliError::TrailingData { offset }
            | BrotliError::OutputTooLarge { offset, .. } => offset,
        }
    }
}

impl fmt::Display for BrotliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrotliError::Corrupt { offset, detail } => {
                write!(f, "corrupt brotli data at offset {offset}: {detail}")
            }
            BrotliError::Truncated { offset } => {
                write!(f, "brotli stream truncated at offset {offset}")
            }
            BrotliError::TrailingData { offset } => write!(
                f,
                "trailing data at offset {offset} after the end of the brotli stream"
            ),
            BrotliError::OutputTooLarge { limit, offset } => write!(
                f,
                "decompressed data exceeds the limit of {limit} bytes (at input offset {offset})"
            ),
        }
    }
}

impl std::error::Error for BrotliError {}

impl From<BrotliError> for io::Error {
    fn from(e: BrotliError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_lowercase_without_a_period_and_io_keeps_the_error() {
        let e = BrotliError::TrailingData { offset: 9 };
        assert_eq!(
            e.to_string(),
            "trailing data at offset 9 after the end of the brotli stream"
        );
        let io: io::Error = e.clone().into();
        assert_eq!(io.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            io.get_ref().unwrap().downcast_ref::<BrotliError>(),
            Some(&e)
        );
        assert_eq!(e.offset(), 9);
    }
}
