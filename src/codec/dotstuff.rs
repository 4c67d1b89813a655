//! SMTP/NNTP dot-stuffing (RFC 5321 section 4.5.2), both ways.
//!
//! Mail data is sent as lines ending in CRLF and closed by a line holding a
//! single `.`: the *end-of-data* sequence `CRLF . CRLF`, whose first CRLF ends
//! the last line of data. So that a data line cannot look like that closing
//! line, the sender adds a `.` at the start of every line that begins with
//! one (*stuffing*), and the receiver removes it (*un-stuffing*). NNTP
//! (RFC 3977 section 3.1.1) uses the same rule for multi-line blocks.
//!
//! - [`DotStuffed`] ([`ProducerExt::dot_stuffed`](crate::ProducerExt::dot_stuffed))
//!   stuffs a producer's output, optionally closing it with the end-of-data
//!   sequence ([`DotStuffed::terminated`]).
//! - [`DotUnstuffer`] is the sans-I/O decoder for the receiving side: it
//!   un-stuffs and stops at `CRLF . CRLF`, leaving what follows in the
//!   caller's buffer.
//! - [`DotUnstuffed`] ([`ProducerExt::dot_unstuffed`](crate::ProducerExt::dot_unstuffed))
//!   wraps the decoder around a producer of stuffed input (the `undotstuff`
//!   stage of `pipe`).
//!
//! ```
//! use producers::{ProducerExt, produce::BytesProducer};
//!
//! let body = ".hidden\r\nline\r\n.\r\n";
//! let wire = BytesProducer::with_piece_size(body, 3)?
//!     .dot_stuffed()
//!     .terminated(true)
//!     .collect_bytes()?;
//! assert_eq!(&wire[..], b"..hidden\r\nline\r\n..\r\n.\r\n");
//!
//! let back = BytesProducer::with_piece_size(wire, 2)?.dot_unstuffed().collect_bytes()?;
//! assert_eq!(&back[..], body.as_bytes());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Stuffing
//!
//! A line *starts* at the start of the stream and after every CRLF. Each
//! line that starts with `.` gets one more `.` — including the very first
//! line, which Medusa's producer missed. This is the escaping of `"\r\n."`
//! as `"\r\n.."` with the stream start counted as following a CRLF, so
//! [`DotStuffed`] is built on the [`Escaper`] of
//! [`escape`](super::escape): a CRLF split across chunks (`"a\r"` + `"\n.b"`)
//! is handled; since `"\r\n.."` begins with `"\r\n."`, nothing is ever held
//! back (so nothing can be lost at the end, nor can a chunk that ends in
//! `"\r"` make the stream end early — both Medusa bugs); and the payload is
//! **not copied**: the output is zero-copy slices of the input chunks between
//! insertion points, with a shared static `"."` inserted between them. File
//! regions are read in pieces of [`REGION_PIECE`]
//! bytes. A bare LF does not end a line (RFC 5321 section 2.3.8), so a `.`
//! after it is not stuffed — the un-stuffer agrees.
//!
//! With [`terminated(true)`](DotStuffed::terminated) the end-of-data sequence
//! follows the body: `".\r\n"` if the body ends with CRLF, `"\r\n.\r\n"` if
//! it does not (the CRLF is added to end its last line). An **empty body** is
//! just `".\r\n"`: right after the `354` reply to `DATA` the client is at a
//! line start, so the end-of-data line alone ends the (empty) message, as
//! `CRLF.CRLF` with its first CRLF being the end of the `DATA` command line.
//!
//! # Un-stuffing: what the decoder accepts
//!
//! Strict about the terminator, lenient about data (RFC 5321 section 4.5.2
//! and the robustness principle):
//!
//! - A line starts at the start of the input and after CRLF — only CRLF.
//! - At a line start, `".\r\n"` is the end-of-data line: decoding ends and
//!   the CRLF that preceded it is the end of the last data line (kept in the
//!   data). Nothing else ends the data: `".\n"`, `"\n.\n"` or `".\r"` plus
//!   another byte are not terminators.
//! - At a line start, any other `.` is removed, as section 4.5.2 says ("if
//!   the first character is a period and there are other characters on the
//!   line, the first character is deleted"): `".."` becomes `"."`, and a
//!   sender that forgot to stuff `".x"` gets `"x"`.
//! - A bare LF, a lone CR and every other byte are data, passed through.
//! - Bytes after the end-of-data line belong to whatever follows (SMTP
//!   pipelining): they are left in the caller's buffer.
//! - If the input ends before the end-of-data line,
//!   [`DotUnstuffer::finish`] reports [`DotError::UnexpectedEnd`].
//!
//! The decoder **buffers nothing**: every call consumes its whole input
//! unless it returns data or reaches the end, and returns
//! [`Unstuffed::NeedMore`] only with the buffer empty. Bytes whose meaning
//! depends on what follows — at most the `"."` and `"\r"` of a partial
//! end-of-data line — are remembered as its state, not kept; so it needs no
//! cap on buffered bytes. Data is handed out as zero-copy slices of the
//! input, except a `"\r"` that turned out to be data after a line-start
//! `"."`, which is a shared static byte.

use std::fmt;
use std::io;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use memchr::memmem;

use super::escape::{Escaped, Escaper};
use crate::chunk::{Chunk, NonEmptyBytes, REGION_PIECE};
use crate::produce::{Counters, More, Producer};

/// The end-of-data line after a body that ends with CRLF (or is empty).
const DOT_CRLF: &[u8] = b".\r\n";
/// The end-of-data sequence after a body that does not end with CRLF.
const CRLF_DOT_CRLF: &[u8] = b"\r\n.\r\n";

/// Dot-stuffs the inner producer's output (RFC 5321 section 4.5.2),
/// optionally adding the end-of-data sequence.
///
/// Made by [`ProducerExt::dot_stuffed`](crate::ProducerExt::dot_stuffed).
/// See the [module documentation](self): every line starting with `.`
/// (including the first) gets another `.`, CRLFs split across chunks are
/// handled, nothing is held back, and the payload is handed out as
/// zero-copy slices of the input with a shared static `"."` between them.
///
/// ```
/// use producers::{ProducerExt, from_bytes};
///
/// let out = from_bytes("no final newline").dot_stuffed().terminated(true).collect_bytes()?;
/// assert_eq!(&out[..], b"no final newline\r\n.\r\n");
/// let out = from_bytes("").dot_stuffed().terminated(true).collect_bytes()?;
/// assert_eq!(&out[..], b".\r\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct DotStuffed<P> {
    inner: Escaped<P>,
    trailer: Trailer,
    counters: Counters,
}

/// What follows the stuffed body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trailer {
    /// Nothing: the body is all.
    Off,
    /// The end-of-data sequence, once the body has ended.
    Owed,
    /// The end-of-data sequence was handed out (or an error made it moot).
    Sent,
}

impl<P: Producer> DotStuffed<P> {
    pub(crate) fn new(inner: P) -> Self {
        DotStuffed {
            inner: Escaped::new(inner, Escaper::dot_stuffer()),
            trailer: Trailer::Off,
            counters: Counters::default(),
        }
    }

    /// Whether to close the output with the end-of-data sequence:
    /// `".\r\n"` after a body ending with CRLF (or an empty body),
    /// `"\r\n.\r\n"` otherwise. Off by default. Set it before the first call
    /// to `poll_more`.
    pub fn terminated(mut self, yes: bool) -> Self {
        if self.trailer != Trailer::Sent {
            self.trailer = if yes { Trailer::Owed } else { Trailer::Off };
        }
        self
    }

    /// Whether the end-of-data sequence is (or was) added.
    pub fn is_terminated(&self) -> bool {
        self.trailer != Trailer::Off
    }

    /// The inner producer.
    pub fn get_ref(&self) -> &P {
        self.inner.get_ref()
    }

    /// The inner producer, mutably. Taking chunks from it directly breaks
    /// the output.
    pub fn get_mut(&mut self) -> &mut P {
        self.inner.get_mut()
    }

    /// The inner producer.
    pub fn into_inner(self) -> P {
        self.inner.into_inner()
    }

    /// The end-of-data sequence for the body seen so far.
    fn terminator(&self) -> &'static [u8] {
        // A partial match of two bytes of "\r\n." means the body ends with
        // CRLF, or is empty (the stream start counts as following a CRLF).
        if self.inner.escaper().partial_match() == 2 {
            DOT_CRLF
        } else {
            CRLF_DOT_CRLF
        }
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        match self.inner.poll_more(cx) {
            Poll::Ready(None) if self.trailer == Trailer::Owed => {
                self.trailer = Trailer::Sent;
                Poll::Ready(Some(Ok(Chunk::Bytes(NonEmptyBytes::from_static(
                    self.terminator(),
                )))))
            }
            Poll::Ready(Some(Err(e))) => {
                if self.trailer == Trailer::Owed {
                    self.trailer = Trailer::Sent;
                }
                Poll::Ready(Some(Err(e)))
            }
            other => other,
        }
    }
}

impl<P: Producer> Producer for DotStuffed<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    /// Known once the body has been read to its end (or the inner producer
    /// promises no more bytes).
    fn exact_len(&self) -> Option<u64> {
        let body = self.inner.exact_len()?;
        // The body is fully seen, so the terminator is decided.
        let trailer = match self.trailer {
            Trailer::Owed => self.terminator().len() as u64,
            Trailer::Off | Trailer::Sent => 0,
        };
        Some(body + trailer)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

/// An error in dot-stuffed input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DotError {
    /// The input ended before the end-of-data line (`CRLF . CRLF`).
    UnexpectedEnd {
        /// How many input bytes had been read.
        offset: u64,
    },
    /// Bytes follow the end-of-data line in a stream that must end there:
    /// the [`DotUnstuffed`] producer's input, unless told to
    /// [`stop_at_end`](DotUnstuffed::stop_at_end). The sans-I/O
    /// [`DotUnstuffer`] never reports it: it leaves them in the buffer.
    TrailingData {
        /// Where the first such byte is (the stuffed message's length).
        offset: u64,
    },
}

impl DotError {
    /// The byte offset of the error in the stuffed input.
    pub fn offset(&self) -> u64 {
        match *self {
            DotError::UnexpectedEnd { offset } | DotError::TrailingData { offset } => offset,
        }
    }
}

impl fmt::Display for DotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DotError::UnexpectedEnd { offset } => write!(
                f,
                "dot-stuffed input ended at byte {offset} before the end-of-data line (CRLF.CRLF)"
            ),
            DotError::TrailingData { offset } => write!(
                f,
                "trailing data at byte {offset} after the end-of-data line (CRLF.CRLF)"
            ),
        }
    }
}

impl std::error::Error for DotError {}

impl From<DotError> for io::Error {
    fn from(e: DotError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// One outcome of [`DotUnstuffer::decode`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unstuffed {
    /// Un-stuffed data (never empty).
    Data(Bytes),
    /// The buffer is used up (and empty): feed more input.
    NeedMore,
    /// The end-of-data line was consumed; the rest of the buffer belongs to
    /// what follows. Every later call returns `End` again, consuming nothing.
    End,
}

/// The sans-I/O decoder for dot-stuffed input: un-stuffs it and stops at the
/// end-of-data line `CRLF . CRLF`.
///
/// See the [module documentation](self#un-stuffing-what-the-decoder-accepts)
/// for exactly what it accepts. It never holds input bytes: after
/// [`Unstuffed::NeedMore`] the buffer is empty.
///
/// ```
/// use bytes::BytesMut;
/// use producers::codec::dotstuff::{DotUnstuffer, Unstuffed};
///
/// let mut dec = DotUnstuffer::new();
/// let mut buf = BytesMut::from(&b"..a\r\n"[..]);
/// assert_eq!(dec.decode(&mut buf)?, Unstuffed::Data(".a\r\n".into()));
/// assert_eq!(dec.decode(&mut buf)?, Unstuffed::NeedMore);
/// buf.extend_from_slice(b".\r\nQUIT\r\n");
/// assert_eq!(dec.decode(&mut buf)?, Unstuffed::End);
/// assert_eq!(&buf[..], b"QUIT\r\n");
/// dec.finish()?;
/// # Ok::<(), producers::codec::dotstuff::DotError>(())
/// ```
#[derive(Clone, Debug)]
pub struct DotUnstuffer {
    state: State,
    /// Input bytes consumed so far (for error offsets).
    consumed: u64,
    finder: memmem::Finder<'static>,
}

/// What the decoder expects next, named after where it is in a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a line (also the start of the input): a `.` here is
    /// stuffing, or begins the end-of-data line.
    LineStart,
    /// Inside a line.
    Line,
    /// Inside a line, right after a CR that was handed out: an LF ends the
    /// line.
    LineCr,
    /// After a line-start `.`, which was dropped: a CR may begin the end of
    /// data.
    Dot,
    /// After a line-start `.` and a CR, both absorbed: an LF ends the data;
    /// anything else means the CR was data.
    DotCr,
    /// The end-of-data line was consumed.
    Ended,
}

/// What one decoding step does with the front of the buffer.
#[derive(Debug)]
enum Action {
    /// The first `n` bytes are data.
    Data(usize),
    /// Drop one byte; it is remembered in the state.
    Absorb,
    /// Hand out a `"\r"` that was absorbed, consuming nothing.
    Cr,
    /// Consume one byte (the final LF): the end.
    End,
    /// The buffer is used up.
    NeedMore,
}

impl Default for DotUnstuffer {
    fn default() -> Self {
        DotUnstuffer::new()
    }
}

impl DotUnstuffer {
    /// A decoder at the start of a message.
    pub fn new() -> DotUnstuffer {
        DotUnstuffer {
            state: State::LineStart,
            consumed: 0,
            finder: memmem::Finder::new(b"\r\n.").into_owned(),
        }
    }

    /// Input bytes consumed so far (including the end-of-data line once it
    /// was reached).
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Whether the end-of-data line was consumed.
    pub fn is_ended(&self) -> bool {
        self.state == State::Ended
    }

    /// Decodes from the front of `buf`: un-stuffed data (split off `buf`
    /// without copying), [`NeedMore`](Unstuffed::NeedMore) with `buf` empty,
    /// or [`End`](Unstuffed::End) with `buf` holding what follows the
    /// end-of-data line.
    ///
    /// No input is malformed here (data bytes are data), so this never fails
    /// today; the `Result` leaves room for stricter modes.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Unstuffed, DotError> {
        Ok(self.decode_with(buf, |b, n| b.split_to(n).freeze()))
    }

    /// [`decode`](DotUnstuffer::decode) for a [`Bytes`] buffer, so that
    /// shared input is sliced rather than copied.
    pub fn decode_bytes(&mut self, buf: &mut Bytes) -> Result<Unstuffed, DotError> {
        Ok(self.decode_with(buf, |b, n| b.split_to(n)))
    }

    /// The end of the input: an error unless the end-of-data line was
    /// reached.
    pub fn finish(&self) -> Result<(), DotError> {
        match self.state {
            State::Ended => Ok(()),
            _ => Err(DotError::UnexpectedEnd {
                offset: self.consumed,
            }),
        }
    }

    fn decode_with<B: Buf + AsRef<[u8]>>(
        &mut self,
        buf: &mut B,
        split: impl Fn(&mut B, usize) -> Bytes,
    ) -> Unstuffed {
        loop {
            if self.state == State::Ended {
                return Unstuffed::End;
            }
            match self.step(buf.as_ref()) {
                Action::Data(n) => {
                    self.consumed += n as u64;
                    return Unstuffed::Data(split(buf, n));
                }
                Action::Absorb => {
                    self.consumed += 1;
                    buf.advance(1);
                }
                Action::Cr => return Unstuffed::Data(Bytes::from_static(b"\r")),
                Action::End => {
                    self.consumed += 1;
                    buf.advance(1);
                    return Unstuffed::End;
                }
                Action::NeedMore => return Unstuffed::NeedMore,
            }
        }
    }

    /// One step over `buf`, consuming nothing itself: says what to do with
    /// its front, and moves the state as if that were done.
    fn step(&mut self, buf: &[u8]) -> Action {
        // buf[..pos] is data decided so far in this step.
        let mut pos = 0;
        while pos < buf.len() {
            match self.state {
                State::LineStart => {
                    if buf[pos] == b'.' {
                        if pos > 0 {
                            // Hand out the data first; the dot is next.
                            return Action::Data(pos);
                        }
                        self.state = State::Dot;
                        return Action::Absorb;
                    }
                    self.state = State::Line;
                }
                State::LineCr => {
                    if buf[pos] == b'\n' {
                        pos += 1;
                        self.state = State::LineStart;
                    } else {
                        self.state = State::Line;
                    }
                }
                State::Line => {
                    // Entering Line, buf[pos] is never the LF of a CRLF whose
                    // CR came before pos, so scanning from pos sees every
                    // line start.
                    let rest = &buf[pos..];
                    if let Some(m) = self.finder.find(rest) {
                        self.state = State::LineStart;
                        return Action::Data(pos + m + 2);
                    }
                    self.state = if rest.ends_with(b"\r\n") {
                        State::LineStart
                    } else if rest.ends_with(b"\r") {
                        State::LineCr
                    } else {
                        State::Line
                    };
                    return Action::Data(buf.len());
                }
                State::Dot => {
                    debug_assert_eq!(pos, 0);
                    if buf[pos] == b'\r' {
                        self.state = State::DotCr;
                        return Action::Absorb;
                    }
                    // RFC 5321 section 4.5.2: a line-start dot followed by
                    // other characters is deleted.
                    self.state = State::Line;
                }
                State::DotCr => {
                    debug_assert_eq!(pos, 0);
                    if buf[pos] == b'\n' {
                        self.state = State::Ended;
                        return Action::End;
                    }
                    self.state = State::Line;
                    return Action::Cr;
                }
                State::Ended => unreachable!("checked by the caller"),
            }
        }
        if pos > 0 {
            Action::Data(pos)
        } else {
            Action::NeedMore
        }
    }
}

/// Un-stuffs a producer of dot-stuffed input, ending at the end-of-data
/// line `CRLF . CRLF`.
///
/// Made by [`ProducerExt::dot_unstuffed`](crate::ProducerExt::dot_unstuffed);
/// a wrapper around [`DotUnstuffer`]. Data is handed out as zero-copy slices
/// of the input chunks; file regions are read in pieces of
/// [`REGION_PIECE`] bytes.
///
/// - The input must end at the end-of-data line (issue 11: nothing may be
///   lost silently). After it the inner producer is read to its end; a
///   byte after the end-of-data line is [`DotError::TrailingData`] with that
///   byte's offset (an [`io::Error`] of kind `InvalidData`), whether it came
///   in the chunk that held the end or later.
/// - With [`stop_at_end(true)`](DotUnstuffed::stop_at_end), for a message
///   followed by something else (SMTP pipelining): it ends right after the
///   end-of-data line and asks the inner producer for nothing more;
///   [`into_parts`](DotUnstuffed::into_parts) gives back the input that
///   followed it and the inner producer.
/// - If the inner producer ends first, it fails with
///   [`DotError::UnexpectedEnd`] (as an [`io::Error`] of kind
///   `InvalidData`).
/// - Errors of the inner producer pass through with their kind.
#[derive(Debug)]
pub struct DotUnstuffed<P> {
    inner: P,
    decoder: DotUnstuffer,
    state: Input,
    /// Whether the output ends at the end-of-data line without checking
    /// that the input ends there too.
    stop_at_end: bool,
    counters: Counters,
}

/// Where the un-stuffing producer is in its input.
#[derive(Debug)]
enum Input {
    /// Ask the inner producer for the next chunk.
    Reading,
    /// Decoding `input`; `rest` is the unread remainder of a file region.
    Decoding { input: Bytes, rest: Option<Chunk> },
    /// The end-of-data line was consumed; `input` and `rest` followed it
    /// (with `stop_at_end`), or the input was checked to end there.
    Ended { input: Bytes, rest: Option<Chunk> },
    /// The end-of-data line was consumed with nothing after it so far: the
    /// inner producer must end before anything else comes from it.
    AfterEnd,
    /// Failed (the error was reported).
    Failed,
}

impl<P: Producer> DotUnstuffed<P> {
    pub(crate) fn new(inner: P) -> Self {
        DotUnstuffed {
            inner,
            decoder: DotUnstuffer::new(),
            state: Input::Reading,
            stop_at_end: false,
            counters: Counters::default(),
        }
    }

    /// With `true`, the output ends at the end-of-data line and the inner
    /// producer is not asked for more: what follows is left for the caller
    /// ([`into_parts`](DotUnstuffed::into_parts)). With `false` (the default),
    /// the inner producer is read to its end and anything after the
    /// end-of-data line is [`DotError::TrailingData`].
    ///
    /// ```
    /// use producers::{ProducerExt, from_bytes};
    ///
    /// let err = from_bytes("a\r\n.\r\nQUIT").dot_unstuffed().collect_bytes().unwrap_err();
    /// assert_eq!(err.to_string(), "trailing data at byte 6 after the end-of-data line (CRLF.CRLF)");
    ///
    /// let mut p = from_bytes("a\r\n.\r\nQUIT").dot_unstuffed().stop_at_end(true);
    /// assert_eq!(&p.collect_bytes()?[..], b"a\r\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop_at_end(mut self, yes: bool) -> Self {
        self.stop_at_end = yes;
        self
    }

    /// The decoder, for how much input it consumed.
    pub fn decoder(&self) -> &DotUnstuffer {
        &self.decoder
    }

    /// The inner producer.
    pub fn get_ref(&self) -> &P {
        &self.inner
    }

    /// The inner producer, mutably. Taking chunks from it directly breaks
    /// the output.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// The inner producer; input already taken from it is dropped.
    pub fn into_inner(self) -> P {
        self.inner
    }

    /// The input taken from the inner producer but not decoded (after the
    /// end-of-data line: what follows it; at most two chunks, the rest of
    /// the chunk that held the end and the unread rest of a file region),
    /// and the inner producer with the input after that.
    pub fn into_parts(self) -> (Vec<Chunk>, P) {
        let left = match self.state {
            Input::Decoding { input, rest } | Input::Ended { input, rest } => {
                Chunk::from_bytes(input).into_iter().chain(rest).collect()
            }
            Input::Reading | Input::AfterEnd | Input::Failed => Vec::new(),
        };
        (left, self.inner)
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        loop {
            match std::mem::replace(&mut self.state, Input::Failed) {
                Input::Failed => return Poll::Ready(None),
                ended @ Input::Ended { .. } => {
                    self.state = ended;
                    return Poll::Ready(None);
                }
                Input::AfterEnd => {
                    // Chunks are never empty, so any chunk is trailing data.
                    return match self.inner.poll_more(cx) {
                        Poll::Ready(None) => {
                            self.state = Input::Ended {
                                input: Bytes::new(),
                                rest: None,
                            };
                            Poll::Ready(None)
                        }
                        Poll::Ready(Some(Ok(_))) => self.fail_trailing(),
                        Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                        Poll::Pending => {
                            self.state = Input::AfterEnd;
                            Poll::Pending
                        }
                    };
                }
                Input::Decoding { mut input, rest } => {
                    match self.decoder.decode_bytes(&mut input) {
                        Ok(Unstuffed::Data(b)) => {
                            self.state = Input::Decoding { input, rest };
                            // `Data` is never empty; were it, decoding goes on.
                            if let Some(c) = Chunk::from_bytes(b) {
                                return Poll::Ready(Some(Ok(c)));
                            }
                        }
                        Ok(Unstuffed::End) if self.stop_at_end => {
                            self.state = Input::Ended { input, rest };
                            return Poll::Ready(None);
                        }
                        Ok(Unstuffed::End) => {
                            if !input.is_empty() || rest.is_some() {
                                return self.fail_trailing();
                            }
                            self.state = Input::AfterEnd;
                        }
                        Ok(Unstuffed::NeedMore) => {
                            self.state = match rest {
                                None => Input::Reading,
                                Some(c) => match c.split_bytes(REGION_PIECE) {
                                    Ok((input, rest)) => Input::Decoding { input, rest },
                                    Err(e) => return Poll::Ready(Some(Err(e))),
                                },
                            }
                        }
                        Err(e) => return Poll::Ready(Some(Err(e.into()))),
                    }
                }
                Input::Reading => match self.inner.poll_more(cx) {
                    Poll::Ready(Some(Ok(Chunk::Bytes(input)))) => {
                        self.state = Input::Decoding {
                            input: input.into_bytes(),
                            rest: None,
                        };
                    }
                    Poll::Ready(Some(Ok(c @ Chunk::File(_)))) => {
                        self.state = Input::Decoding {
                            input: Bytes::new(),
                            rest: Some(c),
                        };
                    }
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                    Poll::Ready(None) => {
                        return match self.decoder.finish() {
                            Err(e) => Poll::Ready(Some(Err(e.into()))),
                            Ok(()) => Poll::Ready(None),
                        };
                    }
                    Poll::Pending => {
                        self.state = Input::Reading;
                        return Poll::Pending;
                    }
                },
            }
        }
    }
}

impl<P: Producer> DotUnstuffed<P> {
    /// Reports bytes after the end-of-data line (the state is already
    /// `Failed`).
    fn fail_trailing(&mut self) -> More {
        let offset = self.decoder.consumed();
        Poll::Ready(Some(Err(DotError::TrailingData { offset }.into())))
    }
}

impl<P: Producer> Producer for DotUnstuffed<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    /// Known (zero) only at the end: the data's length depends on where
    /// the end-of-data line is.
    fn exact_len(&self) -> Option<u64> {
        match self.state {
            Input::Ended { .. } | Input::AfterEnd | Input::Failed => Some(0),
            _ => None,
        }
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Script, Step};
    use crate::{FileProducer, ProducerExt, from_bytes, produce::BytesProducer};
    use proptest::prelude::*;

    /// The model of stuffing: a `.` added at every line start.
    fn naive_stuff(body: &[u8], terminated: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut line_start = true;
        for (i, &b) in body.iter().enumerate() {
            if line_start && b == b'.' {
                out.push(b'.');
            }
            out.push(b);
            line_start = b == b'\n' && i > 0 && body[i - 1] == b'\r';
        }
        if terminated {
            if !body.is_empty() && !body.ends_with(b"\r\n") {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b".\r\n");
        }
        out
    }

    /// Stuffs `chunks` (each a separate inner chunk).
    fn stuff(chunks: &[&[u8]], terminated: bool) -> Vec<u8> {
        let steps = chunks
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| Step::chunk(c.to_vec()));
        Script::new(steps)
            .dot_stuffed()
            .terminated(terminated)
            .collect_bytes()
            .unwrap()
            .to_vec()
    }

    /// Decodes `chunks` with the sans-I/O decoder: the data, the end
    /// outcome (`Ok(bytes after the end)` or the `finish` error).
    fn unstuff(chunks: &[&[u8]]) -> (Vec<u8>, Result<Vec<u8>, DotError>) {
        let mut dec = DotUnstuffer::new();
        let mut data = Vec::new();
        let mut buf = BytesMut::new();
        for c in chunks {
            buf.extend_from_slice(c);
            loop {
                match dec.decode(&mut buf).unwrap() {
                    Unstuffed::Data(b) => {
                        assert!(!b.is_empty(), "empty data");
                        data.extend_from_slice(&b);
                    }
                    Unstuffed::NeedMore => {
                        // The bound: the decoder holds no input bytes.
                        assert!(buf.is_empty(), "bytes left in the buffer on NeedMore");
                        break;
                    }
                    Unstuffed::End => {
                        assert_eq!(dec.decode(&mut buf).unwrap(), Unstuffed::End, "sticky");
                        break;
                    }
                }
            }
        }
        let end = match dec.finish() {
            Ok(()) => Ok(buf.to_vec()),
            Err(e) => Err(e),
        };
        (data, end)
    }

    #[test]
    fn stuffing_exact_bytes() {
        let cases: &[(&[&[u8]], &[u8])] = &[
            (&[b".first"], b"..first"),
            (&[b"a\r\n.b"], b"a\r\n..b"),
            (&[b"a\r", b"\n.b"], b"a\r\n..b"),
            (&[b"a\r\n", b".b"], b"a\r\n..b"),
            (&[b"a", b"\r\n."], b"a\r\n.."),
            (&[b"a", b"\r", b"\n", b".", b"."], b"a\r\n..."),
            (&[b"abc\r"], b"abc\r"),
            (&[b"a\n.b"], b"a\n.b"),
            (&[b"a\r.b"], b"a\r.b"),
            (&[b"\r\n\r\n.\r\n"], b"\r\n\r\n..\r\n"),
            (&[b"..\r\n.."], b"...\r\n..."),
        ];
        for &(chunks, want) in cases {
            assert_eq!(stuff(chunks, false), want, "{chunks:?}");
        }
    }

    #[test]
    fn stuffing_with_the_terminator() {
        let cases: &[(&[&[u8]], &[u8])] = &[
            (&[], b".\r\n"),
            (&[b"abc\r"], b"abc\r\r\n.\r\n"),
            (&[b"abc"], b"abc\r\n.\r\n"),
            (&[b"abc\r\n"], b"abc\r\n.\r\n"),
            (&[b"abc\r", b"\n"], b"abc\r\n.\r\n"),
            (&[b"."], b"..\r\n.\r\n"),
            (&[b".\r\n"], b"..\r\n.\r\n"),
            (&[b"a\n"], b"a\n\r\n.\r\n"),
        ];
        for &(chunks, want) in cases {
            assert_eq!(stuff(chunks, true), want, "{chunks:?}");
        }
    }

    #[test]
    fn stuffing_inserts_a_static_dot_and_slices_the_input() {
        let input = Bytes::from_static(b"a\r\n.b\r\n.c");
        let mut p = from_bytes(input.clone()).dot_stuffed();
        let mut pieces = Vec::new();
        while let Some(c) = p.more().unwrap() {
            pieces.push(c.into_bytes().unwrap());
        }
        let got: Vec<&[u8]> = pieces.iter().map(|b| &b[..]).collect();
        assert_eq!(got, [&b"a\r\n."[..], b".", b"b\r\n.", b".", b"c"]);
        assert_eq!(pieces[0].as_ptr(), input.as_ptr());
        assert_eq!(pieces[2].as_ptr(), input[4..].as_ptr());
        assert_eq!(pieces[4].as_ptr(), input[8..].as_ptr());
        assert_eq!(pieces[1].as_ptr(), pieces[3].as_ptr(), "one shared dot");
    }

    #[test]
    fn a_chunk_ending_in_cr_does_not_end_the_stream() {
        let s = Script::new([
            Step::chunk("abc\r"),
            Step::Pending,
            Step::chunk("\n"),
            Step::Pending,
            Step::chunk(".x"),
        ]);
        let out = s.dot_stuffed().terminated(true).collect_bytes().unwrap();
        assert_eq!(&out[..], b"abc\r\n..x\r\n.\r\n");
    }

    #[test]
    fn stuffing_every_split_matches_the_model() {
        let inputs: &[&[u8]] = &[
            b".a\r\n..b\r\n.\r\nc\r\n",
            b"\r\n.\r\n.",
            b"x\r\r\n.\n.\r\n",
            b"",
        ];
        for &input in inputs {
            for t in [false, true] {
                let want = naive_stuff(input, t);
                for i in 0..=input.len() {
                    let (a, b) = input.split_at(i);
                    assert_eq!(stuff(&[a, b], t), want, "split at {i}");
                    for j in i..=input.len() {
                        let (b, c) = input[i..].split_at(j - i);
                        assert_eq!(stuff(&[a, b, c], t), want, "splits {i} {j}");
                    }
                }
            }
        }
    }

    #[test]
    fn stuffing_conformance() {
        let body = b".start\r\nmid\r\n.dot\r\n..two\r\nend".repeat(5);
        for piece in [1, 2, 3, 5, 64, 1000] {
            for t in [false, true] {
                testing::check(
                    || {
                        BytesProducer::with_piece_size(body.clone(), piece)
                            .unwrap()
                            .dot_stuffed()
                            .terminated(t)
                    },
                    &naive_stuff(&body, t),
                );
            }
        }
        testing::check(|| from_bytes("").dot_stuffed(), b"");
        testing::check(|| from_bytes("").dot_stuffed().terminated(true), b".\r\n");
        let f = testing::file_with(&body);
        testing::check(
            || {
                FileProducer::from_file(f.try_clone().unwrap())
                    .unwrap()
                    .regions()
                    .dot_stuffed()
                    .terminated(true)
            },
            &naive_stuff(&body, true),
        );
    }

    #[test]
    fn stuffing_exact_len_includes_the_terminator() {
        let mut p = from_bytes("ab").dot_stuffed().terminated(true);
        assert_eq!(p.exact_len(), None);
        assert_eq!(p.more().unwrap().unwrap().len(), 2);
        assert_eq!(p.exact_len(), Some(5));
        let mut p = from_bytes("ab\r\n").dot_stuffed().terminated(true);
        p.more().unwrap();
        assert_eq!(p.exact_len(), Some(3));
    }

    #[test]
    fn stuffing_passes_errors_and_adds_no_terminator_after_them() {
        let s = Script::new([
            Step::chunk("a"),
            Step::error(io::ErrorKind::ConnectionReset),
        ]);
        let mut p = s.dot_stuffed().terminated(true);
        assert_eq!(p.more().unwrap().unwrap().len(), 1);
        assert_eq!(p.more().unwrap_err().kind(), io::ErrorKind::ConnectionReset);
        assert!(p.more().unwrap().is_none());
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn unstuffing_exact_results() {
        type Case = (
            &'static [u8],
            &'static [u8],
            Result<&'static [u8], DotError>,
        );
        let end = |offset| Err(DotError::UnexpectedEnd { offset });
        let cases: &[Case] = &[
            (b".\r\n", b"", Ok(b"")),
            (b"a\r\n.\r\n", b"a\r\n", Ok(b"")),
            (
                b"..a\r\n..\r\n.\r\nQUIT\r\n",
                b".a\r\n.\r\n",
                Ok(b"QUIT\r\n"),
            ),
            (b".x\r\n.\r\n", b"x\r\n", Ok(b"")),
            (b".\rx\r\n.\r\n", b"\rx\r\n", Ok(b"")),
            (b".\r\r\n.\r\n", b"\r\r\n", Ok(b"")),
            (b"a\n.\r\n.\r\n", b"a\n.\r\n", Ok(b"")),
            (b"a\r.\r\n.\r\n", b"a\r.\r\n", Ok(b"")),
            (b"\r\n.\r\n", b"\r\n", Ok(b"")),
            (b".\r\n.\r\n", b"", Ok(b".\r\n")),
            // Malformed terminators are data, and the input then ends early.
            (b".\n", b"\n", end(2)),
            (b"a\n.\n", b"a\n.\n", end(4)),
            (b"a\r\n.\n", b"a\r\n\n", end(5)),
            (b"a\r\n.\r", b"a\r\n", end(5)),
            (b"a\r\n.\rx", b"a\r\n\rx", end(6)),
            (b"a\r\n. \r\n", b"a\r\n \r\n", end(7)),
            (b"", b"", end(0)),
        ];
        for (input, data, outcome) in cases {
            let want_end = outcome.clone().map(|r| r.to_vec());
            let (got, got_end) = unstuff(&[input]);
            assert_eq!(&got[..], *data, "{:?}", String::from_utf8_lossy(input));
            assert_eq!(got_end, want_end, "{:?}", String::from_utf8_lossy(input));
            // Every split and pair of splits gives the same result.
            for i in 0..=input.len() {
                let (a, b) = input.split_at(i);
                assert_eq!(
                    unstuff(&[a, b]),
                    (data.to_vec(), want_end.clone()),
                    "split {i}"
                );
                for j in i..=input.len() {
                    let (b, c) = input[i..].split_at(j - i);
                    assert_eq!(
                        unstuff(&[a, b, c]),
                        (data.to_vec(), want_end.clone()),
                        "splits {i} {j}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_prefix_of_a_message_is_an_unexpected_end() {
        let msg = b"..a\r\nb\r\n.c\r\n\r\n..\r\n.\r\n";
        assert!(unstuff(&[msg]).1.is_ok());
        for n in 0..msg.len() {
            assert_eq!(
                unstuff(&[&msg[..n]]).1,
                Err(DotError::UnexpectedEnd { offset: n as u64 }),
                "prefix of {n}"
            );
            let e = from_bytes(msg[..n].to_vec())
                .dot_unstuffed()
                .collect_bytes()
                .unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        }
    }

    #[test]
    fn error_display_and_io_conversion() {
        let e = DotError::UnexpectedEnd { offset: 7 };
        assert_eq!(
            e.to_string(),
            "dot-stuffed input ended at byte 7 before the end-of-data line (CRLF.CRLF)"
        );
        let io: io::Error = e.clone().into();
        assert_eq!(io.kind(), io::ErrorKind::InvalidData);
        assert_eq!(io.get_ref().unwrap().downcast_ref::<DotError>(), Some(&e));
    }

    #[test]
    fn decoded_data_is_sliced_not_copied() {
        let input = Bytes::from_static(b"hello\r\n..world\r\n.\r\n");
        let mut buf = input.clone();
        let mut dec = DotUnstuffer::new();
        let Unstuffed::Data(a) = dec.decode_bytes(&mut buf).unwrap() else {
            panic!()
        };
        assert_eq!(&a[..], b"hello\r\n");
        assert_eq!(a.as_ptr(), input.as_ptr());
        let Unstuffed::Data(b) = dec.decode_bytes(&mut buf).unwrap() else {
            panic!()
        };
        assert_eq!(&b[..], b".world\r\n");
        assert_eq!(b.as_ptr(), input[8..].as_ptr());
        assert_eq!(dec.decode_bytes(&mut buf).unwrap(), Unstuffed::End);
        assert!(buf.is_empty());
        assert_eq!(dec.consumed(), input.len() as u64);
        assert!(dec.is_ended());
    }

    #[test]
    fn unstuffing_producer_conformance_and_leftovers() {
        let body = b".start\r\nmid\r\n.dot\r\n..two\r\nend\r\n".repeat(5);
        let wire = naive_stuff(&body, true);
        for piece in [1, 2, 3, 7, 64, 1000] {
            testing::check(
                || {
                    BytesProducer::with_piece_size(wire.clone(), piece)
                        .unwrap()
                        .dot_unstuffed()
                },
                &body,
            );
        }
        let f = testing::file_with(&wire);
        testing::check(
            || {
                FileProducer::from_file(f.try_clone().unwrap())
                    .unwrap()
                    .regions()
                    .dot_unstuffed()
            },
            &body,
        );
        // What follows the end-of-data line is left for the caller.
        let s = Script::new([Step::chunk("a\r\n.\r\nNE"), Step::chunk("XT")]);
        let mut p = s.dot_unstuffed().stop_at_end(true);
        assert_eq!(
            p.more().unwrap().unwrap().into_bytes().unwrap(),
            &b"a\r\n"[..]
        );
        assert!(p.more().unwrap().is_none());
        assert!(p.more().unwrap().is_none());
        let (left, inner) = p.into_parts();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].as_bytes().unwrap(), &b"NE"[..]);
        assert_eq!(&inner.collect_bytes().unwrap()[..], b"XT");
    }

    #[test]
    fn unstuffing_passes_inner_errors() {
        let s = Script::new([Step::chunk("a\r"), Step::error(io::ErrorKind::TimedOut)]);
        let mut p = s.dot_unstuffed();
        assert_eq!(p.more().unwrap().unwrap().len(), 2);
        assert_eq!(p.more().unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(p.more().unwrap().is_none());
    }

    /// Un-stuffs `wire` cut at `cuts` (with a pending after each piece)
    /// through the producer: the data handed out and how it ended.
    fn unstuff_producer(wire: &[u8], cuts: &[usize]) -> (Vec<u8>, io::Result<()>) {
        testing::drain(chunked(wire, cuts).dot_unstuffed())
    }

    #[test]
    fn trailing_data_is_an_error_naming_its_offset() {
        // Issue 11: bytes after the end-of-data line were dropped silently.
        let wire = b"..a\r\nb\r\n.\r\nEXTRA";
        let end = (wire.len() - 5) as u64;
        for a in 0..=wire.len() {
            for b in a..=wire.len() {
                let (out, res) = unstuff_producer(wire, &[a, b]);
                assert_eq!(out, b".a\r\nb\r\n", "cuts at {a}, {b}");
                let e = res.expect_err("trailing data must fail");
                assert_eq!(e.kind(), io::ErrorKind::InvalidData);
                assert_eq!(
                    e.get_ref().unwrap().downcast_ref::<DotError>(),
                    Some(&DotError::TrailingData { offset: end }),
                    "cuts at {a}, {b}"
                );
            }
        }
        // Without trailing data, every split ends cleanly.
        let wire = b"..a\r\nb\r\n.\r\n";
        for a in 0..=wire.len() {
            for b in a..=wire.len() {
                let (out, res) = unstuff_producer(wire, &[a, b]);
                assert_eq!(out, b".a\r\nb\r\n");
                res.unwrap();
            }
        }
        let e = DotError::TrailingData { offset: 6 };
        assert_eq!(e.offset(), 6);
        assert_eq!(
            e.to_string(),
            "trailing data at byte 6 after the end-of-data line (CRLF.CRLF)"
        );
    }

    #[test]
    fn trailing_data_in_a_later_chunk_or_region_is_an_error() {
        // The end, a pending source, then one more byte.
        let s = Script::new([Step::chunk("a\r\n.\r\n"), Step::Pending, Step::chunk("Z")]);
        let mut p = s.dot_unstuffed();
        let (mut cx, wakes) = testing::counting_context();
        assert!(matches!(p.poll_more(&mut cx), Poll::Ready(Some(Ok(_)))));
        assert!(
            p.poll_more(&mut cx).is_pending(),
            "waits for the source's end"
        );
        assert_eq!(wakes.count(), 1);
        match p.poll_more(&mut cx) {
            Poll::Ready(Some(Err(e))) => assert_eq!(
                e.get_ref().unwrap().downcast_ref::<DotError>(),
                Some(&DotError::TrailingData { offset: 6 })
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(p.poll_more(&mut cx), Poll::Ready(None)));
        // A source error after the end passes through.
        let s = Script::new([Step::chunk(".\r\n"), Step::error(io::ErrorKind::TimedOut)]);
        let e = s.dot_unstuffed().collect_bytes().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        // A file region with more after the end than one read piece.
        let mut wire = b"x\r\n.\r\n".to_vec();
        wire.extend_from_slice(&vec![b'!'; REGION_PIECE + 10]);
        let f = testing::file_with(&wire);
        let e = FileProducer::from_file(f)
            .unwrap()
            .regions()
            .dot_unstuffed()
            .collect_bytes()
            .unwrap_err();
        assert_eq!(
            e.get_ref().unwrap().downcast_ref::<DotError>(),
            Some(&DotError::TrailingData { offset: 6 })
        );
    }

    fn chunked(data: &[u8], cuts: &[usize]) -> Script {
        let mut cuts: Vec<usize> = cuts.iter().map(|&c| c % (data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut steps = Vec::new();
        let mut last = 0;
        for c in cuts.into_iter().chain([data.len()]) {
            if c > last {
                steps.push(Step::chunk(data[last..c].to_vec()));
                steps.push(Step::Pending);
            }
            last = c;
        }
        Script::new(steps)
    }

    fn arb_body() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(prop::sample::select(&b"ab\r\n."[..]), 0..100)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn stuff_then_unstuff_round_trips(
            body in arb_body(),
            cuts1 in prop::collection::vec(any::<usize>(), 0..8),
            cuts2 in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let wire = chunked(&body, &cuts1).dot_stuffed().terminated(true)
                .collect_bytes().unwrap();
            prop_assert_eq!(&wire[..], &naive_stuff(&body, true)[..]);
            let back = chunked(&wire, &cuts2).dot_unstuffed().collect_bytes().unwrap();
            // The terminator adds a CRLF to a body that does not end with one.
            let mut want = body.clone();
            if !want.is_empty() && !want.ends_with(b"\r\n") {
                want.extend_from_slice(b"\r\n");
            }
            prop_assert_eq!(&back[..], &want[..]);
        }

        #[test]
        fn unterminated_stuffing_unstuffs_to_the_body_then_ends_early(
            body in arb_body(),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let wire = chunked(&body, &cuts).dot_stuffed().collect_bytes().unwrap();
            let (data, end) = unstuff(&[&wire]);
            prop_assert_eq!(&data[..], &body[..]);
            prop_assert_eq!(end, Err(DotError::UnexpectedEnd { offset: wire.len() as u64 }));
        }
    }
}
