//! HTTP/1.1 chunked transfer coding (RFC 9112 section 7.1), both ways.
//!
//! - [`Chunked<P>`] (made by [`ProducerExt::chunked`](crate::ProducerExt::chunked))
//!   encodes a producer's output. Each chunk of the inner producer becomes
//!   three pieces: the size line, the payload itself and the closing CRLF.
//!   The payload is never copied: memory stays the same [`Bytes`], and a
//!   file region stays a region, so a vectored writer sends the three
//!   pieces in one `writev` (or `sendfile`s the region between them).
//!   Trailers are fixed ([`Chunked::trailer`]) or computed over the payload
//!   as it goes out by a [`TrailerHook`] ([`Chunked::trailer_hook`]; with
//!   the `digest` feature, `digest::ContentDigest`).
//! - [`ChunkedDecoder`] is a sans-I/O decoder: feed it a [`BytesMut`], it
//!   consumes framing from the front and splits payload off without copying.
//! - [`Dechunked<P>`] (made by
//!   [`ProducerExt::dechunked`](crate::ProducerExt::dechunked)) decodes a
//!   producer whose output is chunked-coded.
//!
//! ```
//! use producers::{ProducerExt, produce::BytesProducer};
//! use producers::codec::chunked::{ChunkedDecoder, Decoded};
//!
//! let body = BytesProducer::with_piece_size("hello, world", 5)?
//!     .chunked()
//!     .trailer("checksum", "42")?
//!     .collect_bytes()?;
//! assert_eq!(&body[..], b"5\r\nhello\r\n5\r\n, wor\r\n2\r\nld\r\n0\r\nchecksum: 42\r\n\r\n");
//!
//! let mut buf = bytes::BytesMut::from(&body[..]);
//! buf.extend_from_slice(b"GET / HTTP/1.1\r\n");
//! let mut decoder = ChunkedDecoder::new();
//! let mut payload = Vec::new();
//! loop {
//!     match decoder.decode(&mut buf)? {
//!         Decoded::Data(data) => payload.extend_from_slice(&data),
//!         Decoded::NeedMore => unreachable!("the whole message is in the buffer"),
//!         Decoded::End => break,
//!     }
//! }
//! assert_eq!(payload, b"hello, world");
//! assert_eq!(decoder.trailers()[0].name, "checksum");
//! assert_eq!(&decoder.trailers()[0].value[..], b"42");
//! assert_eq!(&buf[..], b"GET / HTTP/1.1\r\n", "the next message is handed back");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What the decoder accepts
//!
//! Exactly the grammar of RFC 9112 section 7.1:
//!
//! ```text
//! chunked-body   = *chunk last-chunk trailer-section CRLF
//! chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size     = 1*HEXDIG                      ; either case
//! last-chunk     = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! chunk-ext-val  = token / quoted-string
//! trailer-section = *( field-name ":" OWS field-value OWS CRLF )
//! ```
//!
//! with at most 16 hex digits in a size. Everything else is rejected with a
//! [`ChunkedError`] that names the problem and the byte offset (counted from
//! the start of the message). After an error the decoder is finished: every
//! later call returns the same error, and the connection should be closed,
//! since the framing of what follows cannot be trusted (RFC 9112 section
//! 11.2, request smuggling).
//!
//! # Limits
//!
//! Every length the peer controls and the decoder has to hold is capped
//! (see [`Limits`]); each cap has its own error. Chunk *data* is never held,
//! so chunk sizes are not capped (beyond fitting in a `u64` together with
//! the offset).
//!
//! | cap | default | error |
//! |---|---|---|
//! | size line length (digits and extensions, without CRLF) | [`DEFAULT_MAX_SIZE_LINE`] = 4096 | [`ChunkedError::SizeLineTooLong`] |
//! | extension bytes per message (all size lines, from the first byte after the digits) | [`DEFAULT_MAX_EXTENSION_BYTES`] = 16 KiB | [`ChunkedError::ExtensionsTooLong`] |
//! | trailer section bytes (field lines with their CRLFs) | [`DEFAULT_MAX_TRAILER_BYTES`] = 16 KiB | [`ChunkedError::TrailersTooLong`] |
//! | trailer field count | [`DEFAULT_MAX_TRAILERS`] = 100 | [`ChunkedError::TooManyTrailers`] |
//!
//! A stream of plain 1-byte chunks counts no extension bytes at all, so it is
//! never refused; a stream of 1-byte chunks each carrying a long extension
//! is refused once the extensions add up to the cap (hyper's defence against
//! the same attack). Hitting a cap is an error like any other: the message
//! is abandoned.
//!
//! # Leniency
//!
//! Some peers send framing that the RFC forbids. Each deviation below is
//! refused by default and can be accepted with a [`Leniency`] option. Accept
//! them only when talking to a peer known to need it: the more lenient the
//! parser, the more room for two parsers to disagree on where a message ends.
//!
//! | deviation | example | strict error | option |
//! |---|---|---|---|
//! | an empty extension after `;` (ignored when accepted) | `5;\r\n`, `5;;a\r\n` | [`ChunkedError::EmptyExtension`] | [`Leniency::empty_extension`] |
//! | bare LF line ends in the framing | `5\nhello\n0\n\n` | [`ChunkedError::BareLf`] | [`Leniency::bare_lf`] |
//! | more than 16 hex digits, with leading zeros | `00000000000000005\r\n` | [`ChunkedError::TooManyDigits`] | [`Leniency::long_size`] |
//!
//! A bare CR is never accepted. With [`Leniency::long_size`], a size whose
//! value does not fit in 64 bits is still refused
//! ([`ChunkedError::SizeOverflow`]).
//!
//! # Extensions and trailers
//!
//! Both are exposed as values: [`ChunkedDecoder::chunk_extensions`] gives the
//! [`Extension`]s of the chunk whose data was returned last (or of the
//! last-chunk, after the end), and [`ChunkedDecoder::trailers`] the
//! [`Trailer`] fields after the end. Quoted-string extension values are
//! unescaped.

use std::fmt;
use std::io;

use bytes::{Bytes, BytesMut};

use crate::codec::syntax::{is_forbidden_ctl, is_tchar};

mod chunked_decoder;
mod dechunked;
mod trailer_hook;
// Named after its type, like every file here; the module is private, so
// `chunked::chunked` never appears in a path.
#[allow(clippy::module_inception)]
mod chunked;

pub use chunked::Chunked;
#[cfg(feature = "tokio")]
pub(crate) use chunked::put_size_line;
pub use chunked_decoder::{ChunkedDecoder, Decoded};
pub use dechunked::Dechunked;
pub use trailer_hook::{NoHook, TrailerHook};

/// Default cap on one size line: hex digits and extensions, without the
/// CRLF.
pub const DEFAULT_MAX_SIZE_LINE: usize = 4096;
/// Default cap on the extension bytes of a whole message.
pub const DEFAULT_MAX_EXTENSION_BYTES: usize = 16 * 1024;
/// Default cap on the bytes of the trailer section (without the final CRLF).
pub const DEFAULT_MAX_TRAILER_BYTES: usize = 16 * 1024;
/// Default cap on the number of trailer fields.
pub const DEFAULT_MAX_TRAILERS: usize = 100;

/// The most hex digits a strict decoder accepts in a chunk size: 16 digits
/// hold any `u64`.
pub const MAX_SIZE_DIGITS: u32 = 16;

/// The caps a [`ChunkedDecoder`] enforces on what the peer sends.
///
/// See the [module documentation](self#limits) for what each counts.
///
/// ```
/// use producers::codec::chunked::{ChunkedDecoder, Limits};
/// let decoder = ChunkedDecoder::with_limits(Limits::default().max_trailers(4));
/// assert_eq!(decoder.limits().trailers(), 4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    size_line: usize,
    extension_bytes: usize,
    trailer_bytes: usize,
    trailers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            size_line: DEFAULT_MAX_SIZE_LINE,
            extension_bytes: DEFAULT_MAX_EXTENSION_BYTES,
            trailer_bytes: DEFAULT_MAX_TRAILER_BYTES,
            trailers: DEFAULT_MAX_TRAILERS,
        }
    }
}

impl Limits {
    /// Caps one size line (digits and extensions, without CRLF) at `bytes`.
    pub fn max_size_line(mut self, bytes: usize) -> Self {
        self.size_line = bytes;
        self
    }

    /// Caps the extension bytes of a whole message at `bytes` (0 refuses
    /// every extension).
    pub fn max_extension_bytes(mut self, bytes: usize) -> Self {
        self.extension_bytes = bytes;
        self
    }

    /// Caps the trailer section at `bytes`.
    pub fn max_trailer_bytes(mut self, bytes: usize) -> Self {
        self.trailer_bytes = bytes;
        self
    }

    /// Caps the number of trailer fields at `count` (0 refuses trailers).
    pub fn max_trailers(mut self, count: usize) -> Self {
        self.trailers = count;
        self
    }

    /// The size line cap, in bytes.
    pub fn size_line(&self) -> usize {
        self.size_line
    }

    /// The per-message extension cap, in bytes.
    pub fn extension_bytes(&self) -> usize {
        self.extension_bytes
    }

    /// The trailer section cap, in bytes.
    pub fn trailer_bytes(&self) -> usize {
        self.trailer_bytes
    }

    /// The trailer field count cap.
    pub fn trailers(&self) -> usize {
        self.trailers
    }
}

/// Deviations from RFC 9112 that a [`ChunkedDecoder`] may be told to accept.
///
/// All are off by default ([`Leniency::default`] is strict). See the
/// [leniency table](self#leniency).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Leniency {
    empty_extension: bool,
    bare_lf: bool,
    long_size: bool,
}

impl Leniency {
    /// The strict default: nothing outside the RFC grammar is accepted.
    pub fn strict() -> Self {
        Leniency::default()
    }

    /// Every deviation in the table accepted.
    pub fn all() -> Self {
        Leniency {
            empty_extension: true,
            bare_lf: true,
            long_size: true,
        }
    }

    /// Accepts (and ignores) a `;` with no extension name after it, as in
    /// `5;\r\n` or `5;;a=1\r\n`.
    pub fn empty_extension(mut self, on: bool) -> Self {
        self.empty_extension = on;
        self
    }

    /// Accepts a bare LF wherever the framing needs CRLF (size lines, after
    /// data, trailer lines, the final line). A bare CR is still refused.
    pub fn bare_lf(mut self, on: bool) -> Self {
        self.bare_lf = on;
        self
    }

    /// Accepts more than 16 hex digits in a size as long as the value fits
    /// in 64 bits (that is, the extra digits are leading zeros).
    pub fn long_size(mut self, on: bool) -> Self {
        self.long_size = on;
        self
    }

    /// Whether empty extensions are accepted.
    pub fn accepts_empty_extension(&self) -> bool {
        self.empty_extension
    }

    /// Whether bare LF line ends are accepted.
    pub fn accepts_bare_lf(&self) -> bool {
        self.bare_lf
    }

    /// Whether sizes of more than 16 digits (leading zeros) are accepted.
    pub fn accepts_long_size(&self) -> bool {
        self.long_size
    }
}

/// One chunk extension: `;name` or `;name=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The name (a token, so ASCII).
    pub name: String,
    /// The value, if there was an `=`; a quoted-string is unescaped (its
    /// quotes removed, each `\x` turned into `x`).
    pub value: Option<Bytes>,
}

/// One trailer field line: `name: value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trailer {
    /// The field name (a token, so ASCII), as sent.
    pub name: String,
    /// The field value without surrounding whitespace.
    pub value: Bytes,
}

/// Which part of a [`Chunked`] encoder's configuration was invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// A chunk extension name (must be a non-empty token).
    ExtensionName,
    /// A chunk extension value (no control bytes other than tab).
    ExtensionValue,
    /// A trailer field name (must be a non-empty token).
    TrailerName,
    /// A trailer field value (no control bytes other than tab, no
    /// surrounding whitespace).
    TrailerValue,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::ExtensionName => "extension name",
            Part::ExtensionValue => "extension value",
            Part::TrailerName => "trailer name",
            Part::TrailerValue => "trailer value",
        })
    }
}

/// Why chunked input was refused (or an encoder was misconfigured).
///
/// Every decoding error carries the byte `offset` of the problem, counted
/// from the start of the message. Converts into an [`io::Error`] of kind
/// [`InvalidData`](io::ErrorKind::InvalidData), except
/// [`UnexpectedEnd`](ChunkedError::UnexpectedEnd), which becomes
/// [`UnexpectedEof`](io::ErrorKind::UnexpectedEof) (the input was cut
/// short, not malformed); the `ChunkedError` stays reachable through
/// [`io::Error::get_ref`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkedError {
    /// The input ended before the final CRLF.
    UnexpectedEnd {
        /// Bytes of the message seen.
        offset: u64,
    },
    /// A LF not preceded by CR in the framing.
    BareLf {
        /// Where the LF is.
        offset: u64,
    },
    /// A CR not followed by LF in the framing.
    BareCr {
        /// Where the CR is.
        offset: u64,
    },
    /// A byte other than a hex digit where a chunk size must start.
    InvalidSize {
        /// Where the byte is.
        offset: u64,
        /// The byte.
        found: u8,
    },
    /// A `+` or `-` before a chunk size.
    SignedSize {
        /// Where the sign is.
        offset: u64,
    },
    /// A `0x` prefix on a chunk size.
    HexPrefix {
        /// Where the `x` is.
        offset: u64,
    },
    /// Whitespace inside a chunk size, or after it with no extension
    /// following.
    WhitespaceInSize {
        /// Where the whitespace starts.
        offset: u64,
    },
    /// More hex digits in a chunk size than [`MAX_SIZE_DIGITS`].
    TooManyDigits {
        /// Where the first digit too many is.
        offset: u64,
        /// The most digits accepted.
        limit: u32,
    },
    /// A chunk size that does not fit in 64 bits, or that would take the
    /// message past `u64::MAX` bytes.
    SizeOverflow {
        /// Where the size line ends (the digit that overflowed, or the CR).
        offset: u64,
    },
    /// A `;` with no extension name after it.
    EmptyExtension {
        /// Where the name was expected.
        offset: u64,
    },
    /// A control byte (other than tab) in a chunk extension.
    ControlInExtension {
        /// Where the byte is.
        offset: u64,
        /// The byte.
        found: u8,
    },
    /// A byte that does not belong where it is in a chunk extension (a
    /// separator in a token, whitespace before the line end, ...).
    InvalidExtension {
        /// Where the byte is.
        offset: u64,
        /// The byte.
        found: u8,
    },
    /// Chunk data not followed by CRLF.
    MissingDataCrlf {
        /// Where the CRLF should be.
        offset: u64,
        /// What is there instead.
        found: u8,
    },
    /// A trailer line with no colon.
    TrailerWithoutColon {
        /// Where the line ends.
        offset: u64,
    },
    /// A byte that cannot be in a trailer field name (including whitespace
    /// at the start of a line, an obsolete line folding).
    InvalidTrailerName {
        /// Where the byte is.
        offset: u64,
        /// The byte.
        found: u8,
    },
    /// A control byte (other than tab) in a trailer field value.
    InvalidTrailerValue {
        /// Where the byte is.
        offset: u64,
        /// The byte.
        found: u8,
    },
    /// A size line longer than [`Limits::size_line`].
    SizeLineTooLong {
        /// Where the first byte too many is.
        offset: u64,
        /// The cap.
        limit: usize,
    },
    /// More extension bytes in the message than [`Limits::extension_bytes`].
    ExtensionsTooLong {
        /// Where the first byte too many is.
        offset: u64,
        /// The cap.
        limit: usize,
    },
    /// A trailer section longer than [`Limits::trailer_bytes`].
    TrailersTooLong {
        /// Where the first byte too many is.
        offset: u64,
        /// The cap.
        limit: usize,
    },
    /// More trailer fields than [`Limits::trailers`].
    TooManyTrailers {
        /// Where the first field too many starts.
        offset: u64,
        /// The cap.
        limit: usize,
    },
    /// Bytes follow the final CRLF in a stream that must end there: the
    /// [`Dechunked`] producer's input, unless told to
    /// [`stop_at_end`](Dechunked::stop_at_end). The sans-I/O
    /// [`ChunkedDecoder`] never reports it: it hands what follows back.
    TrailingData {
        /// Where the first such byte is (the message's length).
        offset: u64,
    },
    /// An encoder was given an invalid extension or trailer.
    InvalidField {
        /// Which part.
        part: Part,
        /// The index of the first invalid byte in it (0 for an empty name).
        index: usize,
    },
}

impl ChunkedError {
    /// The byte offset of a decoding error, from the start of the message
    /// (`None` for [`InvalidField`](ChunkedError::InvalidField)).
    pub fn offset(&self) -> Option<u64> {
        use ChunkedError::*;
        match *self {
            UnexpectedEnd { offset }
            | BareLf { offset }
            | BareCr { offset }
            | InvalidSize { offset, .. }
            | SignedSize { offset }
            | HexPrefix { offset }
            | WhitespaceInSize { offset }
            | TooManyDigits { offset, .. }
            | SizeOverflow { offset }
            | EmptyExtension { offset }
            | ControlInExtension { offset, .. }
            | InvalidExtension { offset, .. }
            | MissingDataCrlf { offset, .. }
            | TrailerWithoutColon { offset }
            | InvalidTrailerName { offset, .. }
            | InvalidTrailerValue { offset, .. }
            | SizeLineTooLong { offset, .. }
            | ExtensionsTooLong { offset, .. }
            | TrailersTooLong { offset, .. }
            | TooManyTrailers { offset, .. }
            | TrailingData { offset } => Some(offset),
            InvalidField { .. } => None,
        }
    }
}

impl fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ChunkedError::*;
        match self {
            UnexpectedEnd { offset } => {
                write!(
                    f,
                    "chunked input ended at byte {offset}, before the final CRLF"
                )
            }
            BareLf { offset } => write!(f, "bare LF in chunked framing at byte {offset}"),
            BareCr { offset } => write!(f, "bare CR in chunked framing at byte {offset}"),
            InvalidSize { offset, found } => {
                write!(
                    f,
                    "expected a hex chunk size at byte {offset}, found {:?}",
                    *found as char
                )
            }
            SignedSize { offset } => write!(f, "signed chunk size at byte {offset}"),
            HexPrefix { offset } => write!(f, "0x prefix on a chunk size at byte {offset}"),
            WhitespaceInSize { offset } => {
                write!(f, "whitespace in or after a chunk size at byte {offset}")
            }
            TooManyDigits { offset, limit } => {
                write!(
                    f,
                    "chunk size longer than {limit} hex digits at byte {offset}"
                )
            }
            SizeOverflow { offset } => write!(f, "chunk size overflow at byte {offset}"),
            EmptyExtension { offset } => {
                write!(f, "chunk extension without a name at byte {offset}")
            }
            ControlInExtension { offset, found } => {
                write!(
                    f,
                    "control byte 0x{found:02x} in a chunk extension at byte {offset}"
                )
            }
            InvalidExtension { offset, found } => {
                write!(
                    f,
                    "unexpected {:?} in a chunk extension at byte {offset}",
                    *found as char
                )
            }
            MissingDataCrlf { offset, found } => write!(
                f,
                "chunk data not followed by CRLF at byte {offset}, found {:?}",
                *found as char
            ),
            TrailerWithoutColon { offset } => {
                write!(f, "trailer line without a colon, ending at byte {offset}")
            }
            InvalidTrailerName { offset, found } => {
                write!(
                    f,
                    "unexpected {:?} in a trailer name at byte {offset}",
                    *found as char
                )
            }
            InvalidTrailerValue { offset, found } => {
                write!(
                    f,
                    "control byte 0x{found:02x} in a trailer value at byte {offset}"
                )
            }
            SizeLineTooLong { offset, limit } => {
                write!(
                    f,
                    "chunk size line longer than {limit} bytes at byte {offset}"
                )
            }
            ExtensionsTooLong { offset, limit } => {
                write!(
                    f,
                    "chunk extensions longer than {limit} bytes at byte {offset}"
                )
            }
            TrailersTooLong { offset, limit } => {
                write!(
                    f,
                    "trailer section longer than {limit} bytes at byte {offset}"
                )
            }
            TooManyTrailers { offset, limit } => {
                write!(f, "more than {limit} trailer fields at byte {offset}")
            }
            TrailingData { offset } => {
                write!(
                    f,
                    "trailing data at byte {offset} after the end of the chunked message"
                )
            }
            InvalidField { part, index } => write!(f, "invalid {part} at index {index}"),
        }
    }
}

impl std::error::Error for ChunkedError {}

impl From<ChunkedError> for io::Error {
    fn from(e: ChunkedError) -> io::Error {
        let kind = match e {
            ChunkedError::UnexpectedEnd { .. } => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

/// Where the first byte of `name` that is not a tchar is (0 if empty).
fn check_token(name: &[u8], part: Part) -> Result<(), ChunkedError> {
    if name.is_empty() {
        return Err(ChunkedError::InvalidField { part, index: 0 });
    }
    match name.iter().position(|&b| !is_tchar(b)) {
        Some(index) => Err(ChunkedError::InvalidField { part, index }),
        None => Ok(()),
    }
}

/// Renders `;name` or `;name=value` (a token value bare, anything else as a
/// quoted-string), validating both.
pub(crate) fn render_extension(
    out: &mut BytesMut,
    name: &str,
    value: Option<&[u8]>,
) -> Result<(), ChunkedError> {
    check_token(name.as_bytes(), Part::ExtensionName)?;
    out.extend_from_slice(b";");
    out.extend_from_slice(name.as_bytes());
    let Some(value) = value else { return Ok(()) };
    if let Some(index) = value.iter().position(|&b| is_forbidden_ctl(b)) {
        return Err(ChunkedError::InvalidField {
            part: Part::ExtensionValue,
            index,
        });
    }
    out.extend_from_slice(b"=");
    if !value.is_empty() && value.iter().all(|&b| is_tchar(b)) {
        out.extend_from_slice(value);
    } else {
        out.extend_from_slice(b"\"");
        for &b in value {
            if b == b'"' || b == b'\\' {
                out.extend_from_slice(b"\\");
            }
            out.extend_from_slice(&[b]);
        }
        out.extend_from_slice(b"\"");
    }
    Ok(())
}

/// Renders `name: value\r\n`, validating both.
pub(crate) fn render_trailer(
    out: &mut BytesMut,
    name: &str,
    value: &[u8],
) -> Result<(), ChunkedError> {
    check_token(name.as_bytes(), Part::TrailerName)?;
    let bad = |index| {
        Err(ChunkedError::InvalidField {
            part: Part::TrailerValue,
            index,
        })
    };
    if let Some(index) = value.iter().position(|&b| is_forbidden_ctl(b)) {
        return bad(index);
    }
    // RFC 9110 section 5.5: a field value has no leading or trailing
    // whitespace; a decoder would strip it, so refuse rather than change it.
    if value.first().is_some_and(|&b| b == b' ' || b == b'\t') {
        return bad(0);
    }
    if value.last().is_some_and(|&b| b == b' ' || b == b'\t') {
        return bad(value.len() - 1);
    }
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_convert_into_io_errors_intact() {
        let e: io::Error = ChunkedError::BareLf { offset: 3 }.into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(e.to_string(), "bare LF in chunked framing at byte 3");
        let inner = e.get_ref().unwrap().downcast_ref::<ChunkedError>().unwrap();
        assert_eq!(inner, &ChunkedError::BareLf { offset: 3 });
        let e: io::Error = ChunkedError::UnexpectedEnd { offset: 9 }.into();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        let e: io::Error = ChunkedError::TrailingData { offset: 5 }.into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            e.to_string(),
            "trailing data at byte 5 after the end of the chunked message"
        );
    }

    #[test]
    fn extensions_render_as_tokens_or_quoted_strings() {
        let mut out = BytesMut::new();
        render_extension(&mut out, "a", None).unwrap();
        render_extension(&mut out, "b", Some(b"tok")).unwrap();
        render_extension(&mut out, "c", Some(b"two words \"q\" \\")).unwrap();
        render_extension(&mut out, "d", Some(b"")).unwrap();
        assert_eq!(
            &out[..],
            &b";a;b=tok;c=\"two words \\\"q\\\" \\\\\";d=\"\""[..]
        );
        assert_eq!(
            render_extension(&mut out, "a b", None),
            Err(ChunkedError::InvalidField {
                part: Part::ExtensionName,
                index: 1
            })
        );
        assert_eq!(
            render_extension(&mut out, "", None),
            Err(ChunkedError::InvalidField {
                part: Part::ExtensionName,
                index: 0
            })
        );
        assert_eq!(
            render_extension(&mut out, "a", Some(b"x\r\n")),
            Err(ChunkedError::InvalidField {
                part: Part::ExtensionValue,
                index: 1
            })
        );
    }

    #[test]
    fn trailers_are_validated() {
        let mut out = BytesMut::new();
        render_trailer(&mut out, "X-Sum", b"a\tb").unwrap();
        assert_eq!(&out[..], b"X-Sum: a\tb\r\n");
        let err = |part, index| Err(ChunkedError::InvalidField { part, index });
        assert_eq!(
            render_trailer(&mut out, "X:", b""),
            err(Part::TrailerName, 1)
        );
        assert_eq!(
            render_trailer(&mut out, "X", b"a\nb"),
            err(Part::TrailerValue, 1)
        );
        assert_eq!(
            render_trailer(&mut out, "X", b" a"),
            err(Part::TrailerValue, 0)
        );
        assert_eq!(
            render_trailer(&mut out, "X", b"ab "),
            err(Part::TrailerValue, 2)
        );
    }

    #[test]
    fn every_error_displays_lowercase_without_a_period() {
        let e = ChunkedError::TooManyDigits {
            offset: 17,
            limit: 16,
        };
        assert_eq!(
            e.to_string(),
            "chunk size longer than 16 hex digits at byte 17"
        );
        assert_eq!(e.offset(), Some(17));
    }
}
