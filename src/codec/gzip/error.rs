//! [`GzipError`]: everything that can be wrong with gzip, zlib or deflate
//! input.

use std::fmt;
use std::io;

/// Why a gzip, zlib or raw deflate stream could not be decoded.
///
/// Every variant says where: `offset` counts input bytes from the start of
/// the whole stream (across gzip members). Converts into an [`io::Error`]
/// of kind [`InvalidData`](io::ErrorKind::InvalidData) that carries it, so
/// `err.get_ref()` can be downcast back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GzipError {
    /// A gzip member did not start with the magic bytes `1f 8b`.
    BadMagic {
        /// Offset of the first wrong byte.
        offset: u64,
        /// The byte found there.
        found: u8,
    },
    /// The compression method is not deflate (gzip CM or zlib CM is not 8).
    UnsupportedMethod {
        /// Offset of the method byte.
        offset: u64,
        /// The method found.
        found: u8,
    },
    /// The gzip FLG byte has a reserved bit (5, 6 or 7) set.
    ReservedFlags {
        /// Offset of the FLG byte.
        offset: u64,
        /// The FLG byte.
        found: u8,
    },
    /// A gzip FEXTRA, FNAME or FCOMMENT field is longer than the cap
    /// ([`Decompressor::max_header_field`](super::Decompressor::max_header_field)).
    HeaderFieldTooLong {
        /// Which field.
        field: HeaderField,
        /// The cap.
        limit: usize,
        /// Offset of the field's first byte.
        offset: u64,
    },
    /// The gzip header's CRC-16 (FHCRC) does not match the header.
    HeaderCrcMismatch {
        /// Offset of the CRC-16.
        offset: u64,
        /// The low 16 bits of the header's CRC-32.
        expected: u16,
        /// The value in the stream.
        found: u16,
    },
    /// The zlib header check (FCHECK: `CMF * 256 + FLG` divisible by 31)
    /// fails.
    BadHeaderCheck {
        /// Offset of the header (0).
        offset: u64,
        /// The two header bytes, big-endian.
        found: u16,
    },
    /// The zlib window size (CINFO) is above 7 (32 KiB).
    BadWindowSize {
        /// Offset of the CMF byte.
        offset: u64,
        /// CINFO.
        found: u8,
    },
    /// The zlib stream needs a preset dictionary (FDICT), which is not
    /// supported.
    PresetDictionary {
        /// Offset of the FLG byte.
        offset: u64,
    },
    /// The deflate data is invalid.
    Corrupt {
        /// Input bytes consumed when the engine gave up.
        offset: u64,
        /// The engine's description, when it gave one.
        detail: String,
    },
    /// A gzip member's CRC-32 does not match its data.
    CrcMismatch {
        /// Offset of the trailer's CRC-32.
        offset: u64,
        /// The CRC-32 of the decoded data.
        expected: u32,
        /// The value in the stream.
        found: u32,
    },
    /// A gzip member's ISIZE does not match its length mod 2^32.
    LengthMismatch {
        /// Offset of the trailer's ISIZE.
        offset: u64,
        /// The decoded length mod 2^32.
        expected: u32,
        /// The value in the stream.
        found: u32,
    },
    /// A zlib stream's Adler-32 does not match its data.
    Adler32Mismatch {
        /// Offset of the Adler-32.
        offset: u64,
        /// The Adler-32 of the decoded data.
        expected: u32,
        /// The value in the stream.
        found: u32,
    },
    /// The input ended before the stream did.
    Truncated {
        /// The input's length: where more was expected.
        offset: u64,
    },
    /// Bytes follow the end of the stream (after the last gzip member, or
    /// after a zlib or deflate stream's end).
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

/// A variable-length field of a gzip header (RFC 1952 section 2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderField {
    /// FEXTRA: extra subfields.
    Extra,
    /// FNAME: the original file name.
    Name,
    /// FCOMMENT: a comment.
    Comment,
}

impl GzipError {
    /// The input offset the error refers to.
    pub fn offset(&self) -> u64 {
        match *self {
            GzipError::BadMagic { offset, .. }
            | GzipError::UnsupportedMethod { offset, .. }
            | GzipError::ReservedFlags { offset, .. }
            | GzipError::HeaderFieldTooLong { offset, .. }
            | GzipError::HeaderCrcMismatch { offset, .. }
            | GzipError::BadHeaderCheck { offset, .. }
            | GzipError::BadWindowSize { offset, .. }
            | GzipError::PresetDictionary { offset }
            | GzipError::Corrupt { offset, .. }
            | GzipError::CrcMismatch { offset, .. }
            | GzipError::LengthMismatch { offset, .. }
            | GzipError::Adler32Mismatch { offset, .. }
            | GzipError::Truncated { offset }
            | GzipError::TrailingData { offset }
            | GzipError::OutputTooLarge { offset, .. } => offset,
        }
    }
}

impl fmt::Display for HeaderField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderField::Extra => "extra field",
            HeaderField::Name => "file name",
            HeaderField::Comment => "comment",
        })
    }
}

impl fmt::Display for GzipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GzipError::BadMagic { offset, found } => {
                write!(
                    f,
                    "not gzip: byte {found:#04x} at offset {offset} is not the magic 1f 8b"
                )
            }
            GzipError::UnsupportedMethod { offset, found } => {
                write!(
                    f,
                    "unsupported compression method {found} at offset {offset} (only 8, deflate)"
                )
            }
            GzipError::ReservedFlags { offset, found } => {
                write!(
                    f,
                    "reserved gzip flag bits set in {found:#04x} at offset {offset}"
                )
            }
            GzipError::HeaderFieldTooLong {
                field,
                limit,
                offset,
            } => {
                write!(
                    f,
                    "gzip header {field} at offset {offset} is longer than {limit} bytes"
                )
            }
            GzipError::HeaderCrcMismatch {
                offset,
                expected,
                found,
            } => write!(
                f,
                "gzip header crc {found:#06x} at offset {offset} does not match the header ({expected:#06x})"
            ),
            GzipError::BadHeaderCheck { offset, found } => {
                write!(
                    f,
                    "zlib header {found:#06x} at offset {offset} fails its check"
                )
            }
            GzipError::BadWindowSize { offset, found } => {
                write!(f, "zlib window size {found} at offset {offset} is above 7")
            }
            GzipError::PresetDictionary { offset } => {
                write!(
                    f,
                    "zlib stream at offset {offset} needs a preset dictionary"
                )
            }
            GzipError::Corrupt { offset, detail } if detail.is_empty() => {
                write!(f, "corrupt deflate data at offset {offset}")
            }
            GzipError::Corrupt { offset, detail } => {
                write!(f, "corrupt deflate data at offset {offset}: {detail}")
            }
            GzipError::CrcMismatch {
                offset,
                expected,
                found,
            } => write!(
                f,
                "gzip crc32 {found:#010x} at offset {offset} does not match the data ({expected:#010x})"
            ),
            GzipError::LengthMismatch {
                offset,
                expected,
                found,
            } => write!(
                f,
                "gzip length {found} at offset {offset} does not match the data ({expected})"
            ),
            GzipError::Adler32Mismatch {
                offset,
                expected,
                found,
            } => write!(
                f,
                "zlib adler32 {found:#010x} at offset {offset} does not match the data ({expected:#010x})"
            ),
            GzipError::Truncated { offset } => {
                write!(f, "compressed stream truncated at offset {offset}")
            }
            GzipError::TrailingData { offset } => {
                write!(
                    f,
                    "trailing data at offset {offset} after the end of the compressed stream"
                )
            }
            GzipError::OutputTooLarge { limit, offset } => write!(
                f,
                "decompressed data exceeds the limit of {limit} bytes (at input offset {offset})"
            ),
        }
    }
}

impl std::error::Error for GzipError {}

impl From<GzipError> for io::Error {
    fn from(e: GzipError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_lowercase_without_a_period_and_io_keeps_the_error() {
        let e = GzipError::TrailingData { offset: 12 };
        let s = e.to_string();
        assert_eq!(
            s,
            "trailing data at offset 12 after the end of the compressed stream"
        );
        let io: io::Error = e.clone().into();
        assert_eq!(io.kind(), io::ErrorKind::InvalidData);
        assert_eq!(io.get_ref().unwrap().downcast_ref::<GzipError>(), Some(&e));
        assert_eq!(e.offset(), 12);
    }
}
