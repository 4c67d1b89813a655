//! [`ZstdError`]: everything that can be wrong with zstd input.

use std::fmt;
use std::io;

/// Why a zstd stream (RFC 8878) could not be decoded.
///
/// Every variant says where: `offset` counts input bytes from the start of
/// the whole stream (across frames). Converts into an [`io::Error`] of kind
/// [`InvalidData`](io::ErrorKind::InvalidData) that carries it, so
/// `err.get_ref()` can be downcast back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZstdError {
    /// The stream does not begin with a zstd frame's magic number
    /// (`28 b5 2f fd`) or a skippable frame's (`5? 2a 4d 18`).
    BadMagic {
        /// Offset of the first wrong byte.
        offset: u64,
    },
    /// A frame asks for a window larger than the cap
    /// ([`Decompressor::window_log_max`](super::Decompressor::window_log_max),
    /// 8 MiB by default, RFC 8878 section 3.1.1.1.2).
    WindowTooLarge {
        /// The cap, in bytes.
        limit: u64,
        /// Input bytes consumed when the frame header was read.
        offset: u64,
    },
    /// The zstd data is invalid (including a content checksum that does
    /// not match the data).
    Corrupt {
        /// Input bytes consumed when the engine gave up.
        offset: u64,
        /// libzstd's description, lowercased.
        detail: String,
    },
    /// The input ended inside a frame (or before the first one).
    Truncated {
        /// The input's length: where more was expected.
        offset: u64,
    },
    /// Bytes after the last frame that do not begin another frame.
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

impl ZstdError {
    /// The input offset the error refers to.
    pub fn offset(&self) -> u64 {
        match *self {
            ZstdError::BadMagic { offset }
            | ZstdError::WindowTooLarge { offset, .. }
            | ZstdError::Corrupt { offset, .. }
            | ZstdError::Truncated { offset }
            | ZstdError::TrailingData { offset }
            | ZstdError::OutputTooLarge { offset, .. } => offset,
        }
    }
}

impl fmt::Display for ZstdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZstdError::BadMagic { offset } => {
                write!(f, "not zstd: no frame magic number at offset {offset}")
            }
            ZstdError::WindowTooLarge { limit, offset } => write!(
                f,
                "zstd frame at offset {offset} needs a window larger than {limit} bytes"
            ),
            ZstdError::Corrupt { offset, detail } => {
                write!(f, "corrupt zstd data at offset {offset}: {detail}")
            }
            ZstdError::Truncated { offset } => {
                write!(f, "zstd stream truncated at offset {offset}")
            }
            ZstdError::TrailingData { offset } => write!(
                f,
                "trailing data at offset {offset} after the end of the zstd stream"
            ),
            ZstdError::OutputTooLarge { limit, offset } => write!(
                f,
                "decompressed data exceeds the limit of {limit} bytes (at input offset {offset})"
            ),
        }
    }
}

impl std::error::Error for ZstdError {}

impl From<ZstdError> for io::Error {
    fn from(e: ZstdError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_lowercase_without_a_period_and_io_keeps_the_error() {
        let e = ZstdError::WindowTooLarge {
            limit: 8 << 20,
            offset: 6,
        };
        assert_eq!(
            e.to_string(),
            "zstd frame at offset 6 needs a window larger than 8388608 bytes"
        );
        let io: io::Error = e.clone().into();
        assert_eq!(io.kind(), io::ErrorKind::InvalidData);
        assert_eq!(io.get_ref().unwrap().downcast_ref::<ZstdError>(), Some(&e));
        assert_eq!(e.offset(), 6);
    }
}
