//! `tokio_util::codec` decoders and encoders over the crate's sans-I/O
//! codecs, for [`Framed`](::tokio_util::codec::Framed),
//! [`FramedRead`](::tokio_util::codec::FramedRead) and
//! [`FramedWrite`](::tokio_util::codec::FramedWrite).
//!
//! - [`FrameDecoder`]: the crate's [`Framer`] as a [`Decoder`]: lines,
//!   delimiters, counts, until-close, each frame split off the read buffer
//!   as [`Bytes`] without a copy, every whole frame capped, and the framing
//!   changeable between any two frames (Medusa's `set_terminator`) through
//!   [`Framed::codec_mut`](::tokio_util::codec::Framed::codec_mut).
//!   Errors are [`DecodeError`]s carrying the framer's [`FrameError`] with
//!   its stream offset.
//! - [`ChunkedEncoder`]: each item becomes one chunk of the HTTP/1.1
//!   chunked transfer coding (RFC 9112 section 7.1); a [`LastChunk`] item
//!   ends the message, with its trailers.
//! - [`CompressedEncoder`] (feature `gzip`): gzip, zlib or raw deflate,
//!   brotli and zstd (features `brotli`, `zstd`);
//!   each item is compressed (and by default sync-flushed, so the peer can
//!   decode it at once); a [`Finish`] item writes the end of the stream.
//!
//! The encoders write into `Framed`'s write buffer, so an item is copied
//! once (the producer combinators [`Chunked`](crate::codec::chunked::Chunked)
//! and [`Compressed`](crate::codec::gzip::Compressed) hand payloads on
//! without a copy, when the driving layer is the crate's own).
//!
//! The decoder is driven here by hand, as `Framed` drives it: `decode`
//! until `None`, more input, and `decode_eof` at the end. A pipelined
//! request, a line announcing a body, the body, and the next line:
//!
//! ```
//! use bytes::BytesMut;
//! use producers::consume::Terminator;
//! use producers::tokio::codec::FrameDecoder;
//! use tokio_util::codec::Decoder;
//!
//! let mut codec = FrameDecoder::lines(1024);
//! let mut buf = BytesMut::from(&b"LEN 5\r\nhelloQUIT\n"[..]);
//! assert_eq!(codec.decode(&mut buf)?.unwrap(), "LEN 5");
//! // What `framed.codec_mut().set_terminator(…)` does between two items.
//! codec.set_terminator(Terminator::Count(5));
//! assert_eq!(codec.decode(&mut buf)?.unwrap(), "hello");
//! codec.set_lines(1024);
//! assert_eq!(codec.decode(&mut buf)?.unwrap(), "QUIT");
//! assert_eq!(codec.decode_eof(&mut buf)?, None);
//! # Ok::<(), producers::tokio::codec::DecodeError>(())
//! ```
//!
//! `examples/tokio_echo.rs` is a line echo server around it in `Framed`.

use std::error::Error;
use std::fmt;
use std::io;

use ::tokio_util::codec::{Decoder, Encoder};
use bytes::{Bytes, BytesMut};

use crate::codec::chunked::{ChunkedError, put_size_line, render_extension, render_trailer};
#[cfg(feature = "gzip")]
use crate::codec::compression::ContentEncoder;
#[cfg(feature = "gzip")]
use crate::codec::gzip::{Compressor, ENCODE_CHUNK, Format};
use crate::consume::{AtEof, FrameError, Framer, Framing, Terminator};

/// Cuts a byte stream into frames for `Framed` / `FramedRead`: the crate's
/// [`Framer`] as a [`Decoder`].
///
/// - Items are the frames' bytes, delimiter removed, split off `Framed`'s
///   read buffer without a copy (LinesCodec, by contrast, checks UTF-8 and
///   allocates a `String` per line).
/// - Whole frames are capped (`max`, the delimiter not counted): a longer
///   one is [`FrameError::FrameTooLong`] with the frame's stream offset,
///   known as soon as `max + delimiter length` bytes are buffered without a
///   delimiter (a count over the cap fails before any byte of it is
///   buffered). `Framed` ends its stream after the first error; with the
///   framing's [`Overflow::Discard`](crate::consume::Overflow::Discard),
///   a caller driving `decode` itself can go on after the error instead.
/// - At the end of input an unfinished frame — an unterminated last line,
///   a short count — is [`FrameError::UnexpectedEnd`], never a silent clean
///   end. Only [`Terminator::UntilClose`] makes the close end a frame.
/// - The framing can change between any two items:
///   [`set_framing`](Self::set_framing),
///   [`set_terminator`](Self::set_terminator) and
///   [`set_lines`](Self::set_lines), through `Framed::codec_mut()` or
///   `FramedRead::decoder_mut()`; the new framing applies to the bytes
///   already buffered (pipelined input). A count frames one frame: set the
///   next framing after it (until then nothing more is framed, and bytes
///   left at the end of input are dropped as unframed).
/// - With [`Framing::Pieces`] each piece is an item as it arrives (the last
///   piece of a frame may be empty); [`frame_complete`](Self::frame_complete)
///   tells whether the last item ended its frame. With [`Framing::Raw`]
///   nothing is framed, and bytes left at the end are an error.
///
/// The line constructors treat `\n` as the end of a line and drop one `\r`
/// before it, as LinesCodec does (so `\r\n` and `\n` lines both work); the
/// cap counts that `\r`.
#[derive(Debug)]
pub struct FrameDecoder {
    framer: Framer,
    /// Drop a `\r` at the end of each frame: set by the line constructors
    /// and [`set_lines`](Self::set_lines), cleared by any other framing.
    strip_cr: bool,
    /// Whether the last item handed out completed its frame (always, for
    /// whole frames).
    complete: bool,
}

impl FrameDecoder {
    /// Frames by any [`Framing`].
    pub fn new(framing: Framing) -> FrameDecoder {
        FrameDecoder {
            framer: Framer::new(framing),
            strip_cr: false,
            complete: true,
        }
    }

    /// Lines ended by `\n` or `\r\n`, each at most `max` bytes (a `\r`
    /// before the `\n` counted, the `\n` not). [`DEFAULT_MAX_LINE`] is the
    /// crate's usual line cap.
    ///
    /// [`DEFAULT_MAX_LINE`]: crate::consume::DEFAULT_MAX_LINE
    pub fn lines(max: usize) -> FrameDecoder {
        let mut d = FrameDecoder::new(Framing::Raw);
        d.set_lines(max);
        d
    }

    /// Frames ended by `delimiter` (any bytes; empty means a zero count),
    /// each at most `max` bytes, the delimiter not counted.
    pub fn delimited(delimiter: impl Into<Bytes>, max: usize) -> FrameDecoder {
        FrameDecoder::new(Framing::whole(Terminator::Delimiter(delimiter.into())).max(max))
    }

    /// One frame of exactly `n` bytes, buffered whole. The count is the
    /// cap: when `n` comes from the peer, check it against a limit first.
    pub fn count(n: u64) -> FrameDecoder {
        FrameDecoder::new(Framing::whole(n).max(usize::try_from(n).unwrap_or(usize::MAX)))
    }

    /// The framing in force.
    pub fn framing(&self) -> &Framing {
        self.framer.framing()
    }

    /// Changes the framing from the current position; bytes already
    /// buffered are framed by it. See [`Framer::set_framing`].
    pub fn set_framing(&mut self, framing: Framing) {
        self.strip_cr = false;
        self.framer.set_framing(framing);
    }

    /// Changes the terminator, keeping the delivery and the cap (note that
    /// a count over the cap fails: use [`set_framing`](Self::set_framing)
    /// to raise it).
    pub fn set_terminator(&mut self, terminator: Terminator) {
        self.strip_cr = false;
        self.framer.set_terminator(terminator);
    }

    /// Back to lines of at most `max` bytes, as [`lines`](Self::lines).
    pub fn set_lines(&mut self, max: usize) {
        self.framer
            .set_framing(Framing::whole(Terminator::lf()).max(max));
        self.strip_cr = true;
    }

    /// Whether the last item handed out ended its frame: always for whole
    /// frames; for [`Framing::Pieces`], whether it was the frame's last
    /// piece.
    pub fn frame_complete(&self) -> bool {
        self.complete
    }

    /// The stream offset of the first byte not yet framed: bytes framed or
    /// skipped so far.
    pub fn offset(&self) -> u64 {
        self.framer.offset()
    }

    /// The framer underneath.
    pub fn get_ref(&self) -> &Framer {
        &self.framer
    }

    /// The framer underneath, mutably. Changing its framing directly keeps
    /// the line constructors' `\r` stripping as it was.
    pub fn get_mut(&mut self) -> &mut Framer {
        &mut self.framer
    }

    /// The framer underneath.
    pub fn into_inner(self) -> Framer {
        self.framer
    }

    #[inline(always)]
    fn item(&self, mut frame: Bytes) -> Bytes {
        if self.strip_cr && frame.last() == Some(&b'\r') {
            frame.truncate(frame.len() - 1);
        }
        frame
    }
}

impl Decoder for FrameDecoder {
    type Item = Bytes;
    type Error = DecodeError;

    #[inline]
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, DecodeError> {
        // The fast path first: a whole delimited frame, without the `Frame`
        // wrapper the general path returns.
        if let Some(frame) = self.framer.decode_whole(buf) {
            self.complete = true;
            return Ok(Some(self.item(frame)));
        }
        match self.framer.decode_slow(buf)? {
            Some(frame) => {
                self.complete = frame.is_last();
                Ok(Some(self.item(frame.into_bytes())))
            }
            None => Ok(None),
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, DecodeError> {
        match self.framer.decode_eof(buf)? {
            AtEof::Frame(frame) => {
                self.complete = frame.is_last();
                Ok(Some(self.item(frame.into_bytes())))
            }
            AtEof::End(eof) => {
                eof.check()?;
                Ok(None)
            }
        }
    }
}

/// Why a [`FrameDecoder`] stopped: the framing failed, or reading did
/// (`tokio_util` passes read errors through the decoder's error type).
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeError {
    /// The framing failed: an overlong frame, or the input ended inside
    /// one; the error carries the frame's stream offset.
    Frame(FrameError),
    /// Reading the input failed.
    Io(io::Error),
}

impl DecodeError {
    /// The stream offset where the failing frame began, for a framing
    /// error.
    pub fn offset(&self) -> Option<u64> {
        match self {
            DecodeError::Frame(
                FrameError::FrameTooLong { offset, .. }
                | FrameError::UnexpectedEnd { offset, .. }
                | FrameError::BudgetExceeded { offset, .. }
                | FrameError::NoProgress { offset, .. },
            ) => Some(*offset),
            DecodeError::Io(_) => None,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Frame(e) => e.fmt(f),
            DecodeError::Io(e) => write!(f, "read error: {e}"),
        }
    }
}

impl Error for DecodeError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            DecodeError::Frame(e) => Some(e),
            DecodeError::Io(e) => Some(e),
        }
    }
}

impl From<FrameError> for DecodeError {
    fn from(e: FrameError) -> Self {
        DecodeError::Frame(e)
    }
}

impl From<io::Error> for DecodeError {
    fn from(e: io::Error) -> Self {
        DecodeError::Io(e)
    }
}

/// A framing error as `io::Error` with the [`FrameError`] inside (kind
/// `InvalidData`, or `UnexpectedEof` for a truncated frame); a read error
/// as it was.
impl From<DecodeError> for io::Error {
    fn from(e: DecodeError) -> io::Error {
        match e {
            DecodeError::Frame(e) => e.into(),
            DecodeError::Io(e) => e,
        }
    }
}

/// Writes each item as one chunk of the HTTP/1.1 chunked transfer coding
/// (RFC 9112 section 7.1); a [`LastChunk`] item ends the message.
///
/// - An item of `n > 0` bytes becomes the size line (`{n:x}`, lowercase,
///   no leading zeros, with the encoder's [extensions](Self::extension),
///   CRLF), the bytes and CRLF: the same size-line formatter as the
///   [`Chunked`](crate::codec::chunked::Chunked) producer.
/// - An empty item writes nothing: an empty chunk would be the last-chunk,
///   ending the body early.
/// - [`LastChunk`] writes `0`, its extensions, CRLF, its trailer fields
///   and the final CRLF. After it, data items fail with
///   [`io::ErrorKind::InvalidInput`] until [`reset`](Self::reset) starts
///   the next message.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use producers::tokio::codec::{ChunkedEncoder, LastChunk};
/// use tokio_util::codec::Encoder;
///
/// let mut enc = ChunkedEncoder::new();
/// let mut out = BytesMut::new();
/// enc.encode(Bytes::from("hello "), &mut out)?;
/// enc.encode(&b""[..], &mut out)?; // nothing
/// enc.encode(&b"world"[..], &mut out)?;
/// enc.encode(LastChunk::new().trailer("Expires", "never")?, &mut out)?;
/// assert_eq!(&out[..], b"6\r\nhello \r\n5\r\nworld\r\n0\r\nExpires: never\r\n\r\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ChunkedEncoder {
    /// `;name=value…`, rendered once, appended to every size line.
    extensions: BytesMut,
    /// Whether the last-chunk has been written.
    ended: bool,
}

impl ChunkedEncoder {
    /// An encoder without extensions.
    pub fn new() -> ChunkedEncoder {
        ChunkedEncoder::default()
    }

    /// Adds `;name=value` to every data chunk's size line (the value as a
    /// token if it is one, else quoted). Fails with
    /// [`ChunkedError::InvalidField`] if `name` is not a token or `value`
    /// holds a control byte other than tab.
    pub fn extension(mut self, name: &str, value: impl AsRef<[u8]>) -> Result<Self, ChunkedError> {
        render_extension(&mut self.extensions, name, Some(value.as_ref()))?;
        Ok(self)
    }

    /// Adds `;name` to every data chunk's size line.
    pub fn extension_name(mut self, name: &str) -> Result<Self, ChunkedError> {
        render_extension(&mut self.extensions, name, None)?;
        Ok(self)
    }

    /// Whether the last-chunk has been written.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Starts the next message (keeping the extensions).
    pub fn reset(&mut self) {
        self.ended = false;
    }

    fn encode_slice(&mut self, data: &[u8], dst: &mut BytesMut) -> io::Result<()> {
        if self.ended {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "chunk data after the last-chunk",
            ));
        }
        if data.is_empty() {
            return Ok(());
        }
        dst.reserve(16 + self.extensions.len() + 2 + data.len() + 2);
        put_size_line(dst, data.len() as u64, &self.extensions);
        dst.extend_from_slice(data);
        dst.extend_from_slice(b"\r\n");
        Ok(())
    }
}

impl Encoder<Bytes> for ChunkedEncoder {
    type Error = io::Error;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> io::Result<()> {
        self.encode_slice(&item, dst)
    }
}

impl Encoder<&[u8]> for ChunkedEncoder {
    type Error = io::Error;

    fn encode(&mut self, item: &[u8], dst: &mut BytesMut) -> io::Result<()> {
        self.encode_slice(item, dst)
    }
}

impl Encoder<LastChunk> for ChunkedEncoder {
    type Error = io::Error;

    fn encode(&mut self, item: LastChunk, dst: &mut BytesMut) -> io::Result<()> {
        if self.ended {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a second last-chunk",
            ));
        }
        self.ended = true;
        dst.reserve(1 + item.extensions.len() + 2 + item.trailers.len() + 2);
        dst.extend_from_slice(b"0");
        dst.extend_from_slice(&item.extensions);
        dst.extend_from_slice(b"\r\n");
        dst.extend_from_slice(&item.trailers);
        dst.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// The end of a chunked message, for [`ChunkedEncoder`]: the last-chunk
/// (`0`), its extensions, the trailer fields (computed when the body ends:
/// a digest, a status) and the final CRLF.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastChunk {
    /// `;name=value…` after the `0`.
    extensions: BytesMut,
    /// The trailer field lines, each with its CRLF.
    trailers: BytesMut,
}

impl LastChunk {
    /// A plain `0\r\n\r\n`.
    pub fn new() -> LastChunk {
        LastChunk::default()
    }

    /// Adds `;name=value` to the last-chunk's line.
    pub fn extension(mut self, name: &str, value: impl AsRef<[u8]>) -> Result<Self, ChunkedError> {
        render_extension(&mut self.extensions, name, Some(value.as_ref()))?;
        Ok(self)
    }

    /// Adds `;name` to the last-chunk's line.
    pub fn extension_name(mut self, name: &str) -> Result<Self, ChunkedError> {
        render_extension(&mut self.extensions, name, None)?;
        Ok(self)
    }

    /// Adds the trailer field `name: value`. Fails with
    /// [`ChunkedError::InvalidField`] if `name` is not a token, or `value`
    /// holds a control byte other than tab or starts or ends with
    /// whitespace.
    pub fn trailer(mut self, name: &str, value: impl AsRef<[u8]>) -> Result<Self, ChunkedError> {
        render_trailer(&mut self.trailers, name, value.as_ref())?;
        Ok(self)
    }
}

/// Compresses each item with a content coding: gzip, zlib or raw deflate
/// with the crate's gzip [`Compressor`], or brotli and zstd
/// ([`brotli`](CompressedEncoder::brotli), [`zstd`](CompressedEncoder::zstd),
/// features `brotli` and `zstd`), or any [`ContentEncoder`]; a [`Finish`]
/// item ends the stream (feature `gzip`).
///
/// - By default each item is flushed after it is compressed, so
///   everything sent so far can be decoded at once (a streamed log, a
///   server-sent event); [`sync_flush(false)`](Self::sync_flush) leaves
///   the engine to buffer for a better ratio, and output comes when the
///   engine's window fills and at [`Finish`].
/// - An empty item writes nothing (not even a flush).
/// - [`Finish`] writes the rest of the stream and its end (gzip: CRC-32
///   and length). After it, data items fail with
///   [`io::ErrorKind::InvalidInput`]; a second `Finish` writes nothing.
/// - Each item is compressed whole inside one `encode` call, that is inside
///   one poll of the `Framed` sink: the time an item holds the executor is
///   the caller's choice. At level 6 about 32 KiB of text is under 0.5 ms
///   on a 2-core machine ([`DEFAULT_POLL_BUDGET`], measured by `cargo bench
///   --bench poll_budget`, table in `src/codec/gzip/compressed.rs`); brotli
///   and zstd compress a whole block (64–256 KiB) at once whatever the item
///   size, so their high levels belong off the executor. Send larger data
///   in items of that size, or compress it off the executor. The
///   [`Compressed`](crate::codec::compression::Compressed) producer, by
///   contrast, bounds its own work per poll.
///
/// [`DEFAULT_POLL_BUDGET`]: crate::codec::gzip::DEFAULT_POLL_BUDGET
///
/// ```
/// use bytes::BytesMut;
/// use producers::codec::gzip::{Decompressor, Format};
/// use producers::tokio::codec::{CompressedEncoder, Finish};
/// use tokio_util::codec::Encoder;
///
/// let mut enc = CompressedEncoder::gzip(6);
/// let mut out = BytesMut::new();
/// enc.encode(&b"data: one\n\n"[..], &mut out)?;
/// // Sync-flushed: the first item decodes before the stream ends.
/// let mut dec = Decompressor::new(Format::Gzip);
/// let mut plain = Vec::with_capacity(64);
/// dec.decode(&out, &mut plain)?;
/// assert_eq!(plain, b"data: one\n\n");
/// enc.encode(Finish, &mut out)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "gzip")]
#[derive(Debug)]
pub struct CompressedEncoder<E = Compressor> {
    enc: E,
    /// Flush after each item.
    sync_flush: bool,
    /// Whether [`Finish`] has been written.
    finished: bool,
    /// The engine's output, copied into the write buffer whenever it
    /// fills; capacity 0 until the first item, then [`ENCODE_CHUNK`].
    out: Vec<u8>,
}

/// The end of a compressed stream, for [`CompressedEncoder`].
#[cfg(feature = "gzip")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Finish;

#[cfg(feature = "gzip")]
impl CompressedEncoder {
    /// gzip (RFC 1952) at `level` (0 to 9).
    ///
    /// # Panics
    ///
    /// If `level` is above 9.
    pub fn gzip(level: u32) -> CompressedEncoder {
        CompressedEncoder::new(Compressor::new(Format::Gzip, level))
    }

    /// zlib (RFC 1950, HTTP's `deflate`) at `level` (0 to 9).
    ///
    /// # Panics
    ///
    /// If `level` is above 9.
    pub fn zlib(level: u32) -> CompressedEncoder {
        CompressedEncoder::new(Compressor::new(Format::Zlib, level))
    }

    /// Raw deflate (RFC 1951) at `level` (0 to 9).
    ///
    /// # Panics
    ///
    /// If `level` is above 9.
    pub fn deflate(level: u32) -> CompressedEncoder {
        CompressedEncoder::new(Compressor::new(Format::Deflate, level))
    }

    /// The format written.
    pub fn format(&self) -> Format {
        self.enc.format()
    }
}

#[cfg(all(feature = "gzip", feature = "brotli"))]
impl CompressedEncoder<crate::codec::brotli::Compressor> {
    /// brotli (RFC 7932) at `quality` (0 to 11), feature `brotli`.
    ///
    /// # Panics
    ///
    /// If `quality` is above 11.
    pub fn brotli(quality: u32) -> Self {
        CompressedEncoder::new(crate::codec::brotli::Compressor::new(quality))
    }
}

#[cfg(all(feature = "gzip", feature = "zstd"))]
impl CompressedEncoder<crate::codec::zstd::Compressor> {
    /// zstd (RFC 8878) at `level` (1 to 22), feature `zstd`.
    ///
    /// # Panics
    ///
    /// If `level` is out of that range.
    pub fn zstd(level: i32) -> Self {
        CompressedEncoder::new(crate::codec::zstd::Compressor::new(level))
    }
}

#[cfg(feature = "gzip")]
impl<E: ContentEncoder> CompressedEncoder<E> {
    /// Compresses with an engine set up by the caller (a smaller window:
    /// [`Compressor::with_window_bits`]). It must be fresh: nothing fed or
    /// finished yet.
    pub fn new(enc: E) -> Self {
        CompressedEncoder {
            enc,
            sync_flush: true,
            finished: false,
            out: Vec::new(),
        }
    }

    /// Whether each item is flushed (the default: yes).
    pub fn sync_flush(mut self, yes: bool) -> Self {
        self.sync_flush = yes;
        self
    }

    /// Whether [`Finish`] has been written.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The engine.
    pub fn get_ref(&self) -> &E {
        &self.enc
    }

    /// The engine; output not yet written is dropped.
    pub fn into_inner(self) -> E {
        self.enc
    }

    /// Moves the engine's output into `dst`, leaving room for more.
    fn drain(&mut self, dst: &mut BytesMut) {
        if self.out.capacity() == 0 {
            self.out.reserve_exact(ENCODE_CHUNK);
        }
        dst.extend_from_slice(&self.out);
        self.out.clear();
    }

    fn encode_slice(&mut self, mut data: &[u8], dst: &mut BytesMut) -> io::Result<()> {
        if self.finished {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "data after the end of the compressed stream",
            ));
        }
        if data.is_empty() {
            return Ok(());
        }
        self.drain(dst);
        while !data.is_empty() {
            let n = self.enc.compress(data, &mut self.out);
            data = &data[n..];
            // Nothing consumed means the output is full: emptied here.
            self.drain(dst);
        }
        if self.sync_flush {
            while !self.enc.flush(&mut self.out) {
                self.drain(dst);
            }
            self.drain(dst);
        }
        Ok(())
    }
}

#[cfg(feature = "gzip")]
impl<E: ContentEncoder> Encoder<Bytes> for CompressedEncoder<E> {
    type Error = io::Error;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> io::Result<()> {
        self.encode_slice(&item, dst)
    }
}

#[cfg(feature = "gzip")]
impl<E: ContentEncoder> Encoder<&[u8]> for CompressedEncoder<E> {
    type Error = io::Error;

    fn encode(&mut self, item: &[u8], dst: &mut BytesMut) -> io::Result<()> {
        self.encode_slice(item, dst)
    }
}

#[cfg(feature = "gzip")]
impl<E: ContentEncoder> Encoder<Finish> for CompressedEncoder<E> {
    type Error = io::Error;

    fn encode(&mut self, _: Finish, dst: &mut BytesMut) -> io::Result<()> {
        if self.finished {
            return Ok(());
        }
        self.drain(dst);
        while !self.enc.finish(&mut self.out) {
            self.drain(dst);
        }
        self.drain(dst);
        self.finished = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_line_framings_drop_a_carriage_return() {
        let mut d = FrameDecoder::lines(10);
        let mut buf = BytesMut::from(&b"a\r\nb\r\n"[..]);
        assert_eq!(d.decode(&mut buf).unwrap().unwrap(), "a");
        // Any other framing hands the bytes on as they are.
        d.set_terminator(Terminator::lf());
        assert_eq!(d.decode(&mut buf).unwrap().unwrap(), "b\r");
        let mut d = FrameDecoder::delimited("\n", 10);
        let mut buf = BytesMut::from(&b"c\r\n"[..]);
        assert_eq!(d.decode(&mut buf).unwrap().unwrap(), "c\r");
        d.set_lines(10);
        buf.extend_from_slice(b"d\r\n");
        assert_eq!(d.decode(&mut buf).unwrap().unwrap(), "d");
        assert_eq!(d.offset(), 6);
    }

    #[test]
    fn a_count_is_its_own_cap() {
        let mut d = FrameDecoder::count(100_000);
        let mut buf = BytesMut::from(&vec![7u8; 100_001][..]);
        assert_eq!(d.decode(&mut buf).unwrap().unwrap().len(), 100_000);
        assert_eq!(d.decode(&mut buf).unwrap(), None, "one frame per count");
    }

    #[test]
    fn errors_keep_their_offset_and_kind() {
        let e = DecodeError::from(FrameError::FrameTooLong {
            limit: 4,
            offset: 9,
        });
        assert_eq!(e.offset(), Some(9));
        assert_eq!(e.to_string(), "frame at offset 9 longer than 4 bytes");
        assert!(e.source().is_some());
        let io: io::Error = e.into();
        assert_eq!(io.kind(), io::ErrorKind::InvalidData);
        assert!(io.get_ref().unwrap().is::<FrameError>());
        let e = DecodeError::from(io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(e.offset(), None);
        assert_eq!(
            io::Error::from(e).kind(),
            io::ErrorKind::ConnectionReset,
            "a read error passes through"
        );
    }

    /// Each item, once flushed, decodes whole before the next is written;
    /// `Finish` ends the stream once; data after it is refused.
    #[cfg(feature = "gzip")]
    fn each_flushed_item_decodes_at_once<E, D>(mut enc: CompressedEncoder<E>, mut dec: D)
    where
        E: ContentEncoder,
        D: crate::codec::compression::ContentDecoder,
    {
        let items: [&[u8]; 3] = [b"data: one\n\n", b"data: two, a little longer\n\n", b"x"];
        let mut out = BytesMut::new();
        let mut plain = Vec::with_capacity(1 << 16);
        let mut want = Vec::new();
        for item in items {
            out.clear();
            enc.encode(item, &mut out).unwrap();
            want.extend_from_slice(item);
            let mut input = &out[..];
            loop {
                let p = dec.decode(input, &mut plain).map_err(|_| ()).unwrap();
                input = &input[p.consumed..];
                if input.is_empty() && p.produced == 0 {
                    break;
                }
            }
            assert_eq!(plain, want, "decodable after each item");
        }
        out.clear();
        enc.encode(&b""[..], &mut out).unwrap();
        assert!(out.is_empty(), "an empty item writes nothing");
        enc.encode(Finish, &mut out).unwrap();
        assert!(enc.is_finished());
        let mut input = &out[..];
        while !input.is_empty() {
            let p = dec.decode(input, &mut plain).map_err(|_| ()).unwrap();
            input = &input[p.consumed..];
        }
        dec.finish().map_err(|_| ()).unwrap();
        assert_eq!(plain, want);
        let mut again = BytesMut::new();
        enc.encode(Finish, &mut again).unwrap();
        assert!(again.is_empty(), "a second Finish writes nothing");
        let e = enc.encode(&b"late"[..], &mut again).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[cfg(feature = "gzip")]
    #[test]
    fn gzip_items_decode_as_they_come() {
        each_flushed_item_decodes_at_once(
            CompressedEncoder::gzip(6),
            crate::codec::gzip::Decompressor::new(Format::Gzip),
        );
    }

    #[cfg(all(feature = "gzip", feature = "brotli"))]
    #[test]
    fn brotli_items_decode_as_they_come() {
        each_flushed_item_decodes_at_once(
            CompressedEncoder::brotli(5),
            crate::codec::brotli::Decompressor::new(),
        );
    }

    #[cfg(all(feature = "gzip", feature = "zstd"))]
    #[test]
    fn zstd_items_decode_as_they_come() {
        each_flushed_item_decodes_at_once(
            CompressedEncoder::zstd(3),
            crate::codec::zstd::Decompressor::new(),
        );
    }

    #[cfg(feature = "gzip")]
    #[test]
    fn a_compressed_item_larger_than_the_output_buffer_is_written_whole() {
        // Incompressible and three output buffers long: drained as it fills.
        let mut x = 3u64;
        let data: Vec<u8> = (0..3 * ENCODE_CHUNK)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                (x >> 56) as u8
            })
            .collect();
        let mut enc = CompressedEncoder::deflate(1);
        let mut out = BytesMut::new();
        enc.encode(&data[..], &mut out).unwrap();
        assert!(out.len() > data.len(), "stored blocks and all");
        enc.encode(Finish, &mut out).unwrap();
        let mut dec = crate::codec::gzip::Decompressor::new(Format::Deflate);
        let mut plain = Vec::with_capacity(data.len() + 1);
        dec.decode(&out, &mut plain).unwrap();
        dec.finish().unwrap();
        assert_eq!(plain, data);
    }
}
