//! [`Framer`]: the split-safe framing engine under every consumer.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memmem;

use super::{FrameError, Framing, Overflow, Terminator};

/// One unit of framed input.
#[derive(Debug, Clone, PartialEq, Eq)]
// A word-sized tag keeps every field of `Result<Option<Frame>, _>` on an
// 8-byte boundary: with the default layout (a byte tag, `last` at byte 1) the
// caller's moves of a returned frame copy bytes 1..40 in 16-byte pieces that
// straddle the 8-byte stores which built it, a store-forwarding stall per
// frame (1.22x -> 1.47x LinesCodec on 100-byte lines, benches/paired.rs).
#[repr(C, u64)]
pub enum Frame {
    /// A whole frame, terminator removed, split off the input buffer
    /// without a copy.
    Whole(Bytes),
    /// A piece of a streamed frame. Pieces are never empty except the last
    /// one, which may be (a `Count(0)` frame, a delimiter arriving on its
    /// own, the end of an until-close frame).
    Piece {
        /// The bytes.
        data: Bytes,
        /// Whether this piece completes the frame.
        last: bool,
    },
}

impl Frame {
    /// The bytes of the frame or piece.
    pub fn bytes(&self) -> &Bytes {
        match self {
            Frame::Whole(b) | Frame::Piece { data: b, .. } => b,
        }
    }

    /// The bytes, by value.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Frame::Whole(b) | Frame::Piece { data: b, .. } => b,
        }
    }

    /// Whether this completes a frame (always, for a whole frame).
    pub fn is_last(&self) -> bool {
        match self {
            Frame::Whole(_) => true,
            Frame::Piece { last, .. } => *last,
        }
    }
}

/// What was left when the input ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Eof {
    /// Bytes that arrived but were never handed on: an unterminated whole
    /// frame, or a held-back partial delimiter, or (raw) whatever the
    /// consumer left in the buffer.
    pub tail: Bytes,
    /// Bytes of the unfinished frame that arrived, delivered or not
    /// (`tail` included). 0 means the input ended cleanly between frames.
    pub partial: u64,
    /// Where the unfinished frame began (or the end of input, when clean).
    pub offset: u64,
}

impl Eof {
    /// Whether the input ended between frames.
    pub fn is_clean(&self) -> bool {
        self.partial == 0
    }

    /// `Ok` if clean, else [`FrameError::UnexpectedEnd`].
    pub fn check(&self) -> Result<(), FrameError> {
        if self.is_clean() {
            Ok(())
        } else {
            Err(FrameError::UnexpectedEnd {
                partial: self.partial,
                offset: self.offset,
            })
        }
    }
}

/// What [`Framer::decode_eof`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtEof {
    /// A frame the end of input completes or that was still buffered; call
    /// again.
    Frame(Frame),
    /// The end: nothing more will come.
    End(Eof),
}

/// The framing engine: cuts a byte stream into frames by a [`Terminator`]
/// that may change between any two frames.
///
/// Sans-I/O, in the style of a codec's decoder: whoever reads appends to a
/// [`BytesMut`] and calls [`decode`](Framer::decode) until it returns
/// `None`; at the end of input, [`decode_eof`](Framer::decode_eof) until it
/// returns [`AtEof::End`]. The frames do not depend on how the input was
/// split into reads.
///
/// - Delimiters are found with `memchr` (one byte) or `memmem` (longer),
///   and no byte is scanned twice except the last `delimiter length - 1`
///   bytes of a read, which may begin a delimiter that the next read
///   completes: framing is linear in the input.
/// - Whole frames are bounded: a delimited frame is too long once more than
///   `max + delimiter length - 1` bytes are buffered without a delimiter (so
///   a legal line followed by half its delimiter is never rejected); a count
///   over `max` is rejected before any byte of it is buffered; an
///   until-close frame when more than `max` bytes arrive. The error is
///   returned once; then [`Overflow::Close`] stops framing and
///   [`Overflow::Discard`] drops the frame through its terminator and goes
///   on.
/// - Buffered bytes stay bounded: at most `max + delimiter length - 1`
///   bytes before a whole delimited frame is decided, and at most
///   `delimiter length - 1` bytes between calls in pieces mode.
///
/// ```
/// use bytes::BytesMut;
/// use producers::consume::{Frame, Framer, Framing, Terminator};
///
/// let mut framer = Framer::new(Framing::whole("\r\n"));
/// let mut buf = BytesMut::from(&b"hello\r\nwor"[..]);
/// assert_eq!(framer.decode(&mut buf)?, Some(Frame::Whole("hello".into())));
/// assert_eq!(framer.decode(&mut buf)?, None);
/// buf.extend_from_slice(b"ld\r\n3");
/// assert_eq!(framer.decode(&mut buf)?, Some(Frame::Whole("world".into())));
/// // Medusa's set_terminator, applied to the bytes already buffered.
/// framer.set_terminator(Terminator::Count(1));
/// assert_eq!(framer.decode(&mut buf)?, Some(Frame::Whole("3".into())));
/// # Ok::<(), producers::consume::FrameError>(())
/// ```
#[derive(Debug)]
pub struct Framer {
    framing: Framing,
    /// The delimiter's searcher when it is three bytes or longer; built once
    /// per distinct delimiter, kept across terminator changes back to it.
    finder: Option<memmem::Finder<'static>>,
    /// Whole frames ended by a delimiter, the common case, cached from
    /// `framing` for [`decode`](Framer::decode)'s fast path.
    hot: Option<Hot>,
    state: State,
    /// The stream offset of the first byte of the buffer passed in.
    offset: u64,
    /// The stream offset where the current frame began.
    frame_start: u64,
}

/// A single-byte searcher that inlines into the caller: on `x86_64` the
/// SSE2 one (SSE2 is always there), elsewhere the portable one. For the
/// short frames of a line protocol the call and dispatch of
/// `memchr::memchr` cost more than the search itself.
#[cfg(target_arch = "x86_64")]
type One = memchr::arch::x86_64::sse2::memchr::One;
#[cfg(not(target_arch = "x86_64"))]
type One = memchr::arch::all::memchr::One;

#[cfg(target_arch = "x86_64")]
fn one(byte: u8) -> One {
    One::new(byte).expect("SSE2 is part of x86_64")
}
#[cfg(not(target_arch = "x86_64"))]
fn one(byte: u8) -> One {
    One::new(byte)
}

/// The fast path's view of a whole delimited framing.
#[derive(Debug, Clone, Copy)]
struct Hot {
    /// The delimiter's length (at least 1).
    d: usize,
    /// Its first byte.
    first: u8,
    /// Finds its last byte.
    last: One,
    /// A legal frame's delimiter lies within the first `window` bytes:
    /// `max + d`.
    window: usize,
}

/// What the framer expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A delimiter: none begins before buffer index `scanned`.
    Seek { scanned: usize },
    /// A count: this many bytes of the frame still to come.
    Count { remaining: u64 },
    /// Everything until the close.
    UntilClose,
    /// An overlong delimited frame: dropping bytes through its delimiter.
    DiscardToDelimiter,
    /// An overlong counted frame: dropping this many more bytes.
    DiscardCount { remaining: u64 },
    /// An overlong until-close frame: dropping everything.
    DiscardToClose,
    /// A count frame (or an until-close frame) is complete: nothing more
    /// until a new terminator is set.
    Spent,
    /// An overlong frame under [`Overflow::Close`]: nothing more.
    Failed,
    /// Self-framed: the caller takes bytes itself.
    Raw,
    /// The close completed an until-close frame: the end of input is
    /// taken; only the (clean) end is left to report. Sticky, like `Ended`.
    Closed,
    /// The end of input was reported. Sticky: a terminator set after the
    /// end frames nothing (issue 11: a consumer re-arming `UntilClose` on
    /// every last frame got an empty last frame forever).
    Ended,
}

impl Framer {
    /// A framer for `framing`. With [`Framing::Raw`] it frames nothing (the
    /// caller takes bytes itself) but still reports the end.
    pub fn new(framing: Framing) -> Framer {
        let mut f = Framer {
            framing: Framing::Raw,
            finder: None,
            hot: None,
            state: State::Raw,
            offset: 0,
            frame_start: 0,
        };
        f.set_framing(framing);
        f
    }

    /// The framing in force.
    pub fn framing(&self) -> &Framing {
        &self.framing
    }

    /// Changes the whole framing; it applies from the current position, to
    /// the bytes already buffered. A frame in progress (pieces already
    /// handed on) is abandoned and a new one begins.
    ///
    /// Once the end of input is taken — [`decode_eof`](Framer::decode_eof)
    /// completed an until-close frame or returned [`AtEof::End`] — the end
    /// is sticky: a new framing frames nothing more (not even a `Count(0)`
    /// or until-close frame) and `decode_eof` returns a clean `End`.
    pub fn set_framing(&mut self, framing: Framing) {
        // An empty delimiter would match everywhere: it is a zero count.
        let framing = match framing.terminator() {
            Some(Terminator::Delimiter(d)) if d.is_empty() => {
                framing.with_terminator(Terminator::Count(0))
            }
            _ => framing,
        };
        if let Some(Terminator::Delimiter(d)) = framing.terminator() {
            let same = self.finder.as_ref().is_some_and(|f| f.needle() == &d[..]);
            if d.len() >= 3 && !same {
                self.finder = Some(memmem::Finder::new(&d[..]).into_owned());
            }
        }
        self.hot = match (&framing, framing.terminator()) {
            (Framing::Whole { max, .. }, Some(Terminator::Delimiter(d))) => Some(Hot {
                d: d.len(),
                first: d[0],
                last: one(d[d.len() - 1]),
                window: max.saturating_add(d.len()),
            }),
            _ => None,
        };
        self.state = match (self.state, framing.terminator()) {
            // The end is sticky: after it nothing is framed, whatever the
            // framing (the new one still says how a new consumer reads).
            (state @ (State::Closed | State::Ended), _) => state,
            (_, Some(Terminator::Delimiter(_))) => State::Seek { scanned: 0 },
            (_, Some(Terminator::Count(n))) => State::Count { remaining: *n },
            (_, Some(Terminator::UntilClose)) => State::UntilClose,
            (_, None) => State::Raw,
        };
        self.framing = framing;
        self.frame_start = self.offset;
    }

    /// Changes the terminator, keeping the delivery (whole or pieces) and
    /// the limits. See [`set_framing`](Framer::set_framing).
    pub fn set_terminator(&mut self, terminator: Terminator) {
        let framing = std::mem::replace(&mut self.framing, Framing::Raw);
        self.set_framing(framing.with_terminator(terminator));
    }

    /// The stream offset of the first byte of the buffer: how many bytes
    /// have been framed or skipped so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Records that the caller removed `n` bytes from the front of the
    /// buffer itself (raw consumers), so offsets stay right.
    pub fn skipped(&mut self, n: usize) {
        self.offset += n as u64;
        if self.state == State::Raw {
            self.frame_start = self.offset;
        }
    }

    /// Whether the framer will hand out nothing more without a new
    /// terminator: a count frame completed, an overlong frame closed it, or
    /// the end of input was taken (then not even with a new terminator).
    pub fn is_spent(&self) -> bool {
        matches!(
            self.state,
            State::Spent | State::Failed | State::Closed | State::Ended
        )
    }

    #[inline]
    fn advance(&mut self, buf: &mut BytesMut, n: usize) {
        buf.advance(n);
        self.offset += n as u64;
    }

    #[inline]
    fn split(&mut self, buf: &mut BytesMut, n: usize) -> Bytes {
        self.offset += n as u64;
        buf.split_to(n).freeze()
    }

    /// Splits off a frame of `n` bytes and its `d`-byte delimiter, handing
    /// out the frame: one split instead of a split and an advance.
    #[inline]
    fn split_delimited(&mut self, buf: &mut BytesMut, n: usize, d: usize) -> Bytes {
        self.offset += (n + d) as u64;
        let mut frame = buf.split_to(n + d);
        frame.truncate(n);
        frame.freeze()
    }

    #[inline]
    fn delimiter(&self) -> &[u8] {
        match self.framing.terminator() {
            Some(Terminator::Delimiter(d)) => d,
            _ => &[],
        }
    }

    #[inline]
    fn find(&self, hay: &[u8]) -> Option<usize> {
        let d = self.delimiter();
        match d.len() {
            1 => memchr::memchr(d[0], hay),
            2 => find2(d[0], &one(d[1]), hay),
            _ => self.finder.as_ref().and_then(|f| f.find(hay)),
        }
    }

    /// The next frame or piece the buffered bytes make, if any.
    ///
    /// Returns an error once for an overlong whole frame; what follows
    /// depends on the [`Overflow`] policy. After the error under
    /// [`Overflow::Close`] (or once the end was reported) it returns `None`.
    #[inline(always)]
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        match self.decode_whole(buf) {
            Some(frame) => Ok(Some(Frame::Whole(frame))),
            None => self.decode_slow(buf),
        }
    }

    /// The fast path: the next whole delimited frame, if the framing is
    /// one and a frame is buffered. Otherwise it returns `None`, having
    /// recorded how far no delimiter begins, and [`decode_slow`] decides
    /// (no frame yet, overlong, another framing) rescanning at most
    /// `d - 1` bytes.
    ///
    /// [`decode_slow`]: Framer::decode_slow
    #[inline(always)]
    pub(crate) fn decode_whole(&mut self, buf: &mut BytesMut) -> Option<Bytes> {
        let State::Seek { scanned } = self.state else {
            return None;
        };
        let hot = self.hot.as_ref()?;
        let d = hot.d;
        let end = buf.len().min(hot.window);
        let from = scanned.min(end);
        let found = match d {
            1 => hot.last.find(&buf[from..end]),
            2 => find2(hot.first, &hot.last, &buf[from..end]),
            _ => self.finder.as_ref().and_then(|f| f.find(&buf[from..end])),
        };
        match found {
            Some(i) => {
                let n = from + i;
                self.offset += (n + d) as u64;
                self.frame_start = self.offset;
                self.state = State::Seek { scanned: 0 };
                let mut frame = buf.split_to(n + d);
                frame.truncate(n);
                Some(frame.freeze())
            }
            None => {
                self.state = State::Seek {
                    scanned: (end + 1).saturating_sub(d).max(from),
                };
                None
            }
        }
    }

    /// Everything but the fast path: call it after
    /// [`decode_whole`](Framer::decode_whole) returned `None` (a caller
    /// that wants whole frames as [`Bytes`] without the [`Frame`] wrapper,
    /// such as the tokio decoder, calls the two itself).
    pub(crate) fn decode_slow(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        loop {
            match self.state {
                State::Seek { scanned } => return self.seek(buf, scanned),
                State::Count { remaining } => return self.count(buf, remaining),
                State::UntilClose => return self.until_close(buf),
                State::DiscardToDelimiter => {
                    let d = self.delimiter().len();
                    match self.find(buf) {
                        Some(p) => {
                            self.advance(buf, p + d);
                            self.frame_start = self.offset;
                            self.state = State::Seek { scanned: 0 };
                        }
                        None => {
                            // Keep what may begin the delimiter.
                            let n = buf.len().saturating_sub(d - 1);
                            self.advance(buf, n);
                            return Ok(None);
                        }
                    }
                }
                State::DiscardCount { remaining } => {
                    let n = remaining.min(buf.len() as u64);
                    self.advance(buf, n as usize);
                    let remaining = remaining - n;
                    if remaining > 0 {
                        self.state = State::DiscardCount { remaining };
                        return Ok(None);
                    }
                    self.frame_start = self.offset;
                    self.state = State::Spent;
                }
                State::DiscardToClose => {
                    let n = buf.len();
                    self.advance(buf, n);
                    return Ok(None);
                }
                State::Spent | State::Failed | State::Raw | State::Closed | State::Ended => {
                    return Ok(None);
                }
            }
        }
    }

    #[inline]
    fn whole_limit(&self) -> Option<(usize, Overflow)> {
        match self.framing {
            Framing::Whole { max, overflow, .. } => Some((max, overflow)),
            _ => None,
        }
    }

    /// Reports an overlong frame and applies the policy to what is
    /// buffered.
    fn overlong(&mut self, buf: &mut BytesMut, limit: usize, policy: Overflow) -> FrameError {
        let err = FrameError::FrameTooLong {
            limit,
            offset: self.frame_start,
        };
        self.state = match policy {
            Overflow::Close => State::Failed,
            Overflow::Discard => match self.state {
                State::Seek { scanned } => {
                    self.advance(buf, scanned);
                    State::DiscardToDelimiter
                }
                State::Count { remaining } => State::DiscardCount { remaining },
                _ => {
                    let n = buf.len();
                    self.advance(buf, n);
                    State::DiscardToClose
                }
            },
        };
        err
    }

    #[inline]
    fn seek(&mut self, buf: &mut BytesMut, scanned: usize) -> Result<Option<Frame>, FrameError> {
        let d = self.delimiter().len();
        match self.whole_limit() {
            Some((max, policy)) => {
                // A legal frame's delimiter lies within the first max + d bytes.
                let window = max.saturating_add(d);
                let end = buf.len().min(window);
                let from = scanned.min(end);
                if let Some(i) = self.find(&buf[from..end]) {
                    let frame = self.split_delimited(buf, from + i, d);
                    self.frame_start = self.offset;
                    self.state = State::Seek { scanned: 0 };
                    return Ok(Some(Frame::Whole(frame)));
                }
                if buf.len() >= window {
                    // No delimiter begins in the first window - (d - 1) bytes.
                    self.state = State::Seek {
                        scanned: window + 1 - d,
                    };
                    return Err(self.overlong(buf, max, policy));
                }
                self.state = State::Seek {
                    scanned: (end + 1).saturating_sub(d).max(from),
                };
                Ok(None)
            }
            None => {
                let from = scanned.min(buf.len());
                if let Some(i) = self.find(&buf[from..]) {
                    let data = self.split_delimited(buf, from + i, d);
                    self.frame_start = self.offset;
                    self.state = State::Seek { scanned: 0 };
                    return Ok(Some(Frame::Piece { data, last: true }));
                }
                let tail = partial_delimiter(buf, self.delimiter());
                let n = buf.len() - tail;
                // The tail bytes are rescanned next time: at most d - 1.
                self.state = State::Seek { scanned: 0 };
                if n == 0 {
                    return Ok(None);
                }
                let data = self.split(buf, n);
                Ok(Some(Frame::Piece { data, last: false }))
            }
        }
    }

    fn count(&mut self, buf: &mut BytesMut, remaining: u64) -> Result<Option<Frame>, FrameError> {
        match self.whole_limit() {
            Some((max, policy)) => {
                if remaining > max as u64 {
                    return Err(self.overlong(buf, max, policy));
                }
                if (buf.len() as u64) < remaining {
                    return Ok(None);
                }
                let frame = self.split(buf, remaining as usize);
                self.frame_start = self.offset;
                self.state = State::Spent;
                Ok(Some(Frame::Whole(frame)))
            }
            None => {
                if remaining > 0 && buf.is_empty() {
                    return Ok(None);
                }
                let n = remaining.min(buf.len() as u64);
                let data = self.split(buf, n as usize);
                let remaining = remaining - n;
                let last = remaining == 0;
                if last {
                    self.frame_start = self.offset;
                    self.state = State::Spent;
                } else {
                    self.state = State::Count { remaining };
                }
                Ok(Some(Frame::Piece { data, last }))
            }
        }
    }

    fn until_close(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        match self.whole_limit() {
            Some((max, policy)) if buf.len() > max => Err(self.overlong(buf, max, policy)),
            Some(_) => Ok(None),
            None if buf.is_empty() => Ok(None),
            None => {
                let n = buf.len();
                Ok(Some(Frame::Piece {
                    data: self.split(buf, n),
                    last: false,
                }))
            }
        }
    }

    /// At the end of input: the frames the buffered bytes still make (an
    /// until-close frame completes here, once), then [`AtEof::End`] with
    /// what was left. The end is sticky: later calls return a clean `End`,
    /// and so do calls after a new terminator once the close completed an
    /// until-close frame.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<AtEof, FrameError> {
        if self.state == State::UntilClose {
            if let Some(f) = self.until_close(buf)? {
                return Ok(AtEof::Frame(f));
            }
            if self.state == State::UntilClose {
                let n = buf.len();
                let data = self.split(buf, n);
                self.frame_start = self.offset;
                // The close is taken: no second until-close frame.
                self.state = State::Closed;
                return Ok(AtEof::Frame(match self.framing {
                    Framing::Pieces(_) => Frame::Piece { data, last: true },
                    _ => Frame::Whole(data),
                }));
            }
        }
        if let Some(f) = self.decode(buf)? {
            return Ok(AtEof::Frame(f));
        }
        let n = buf.len();
        let eof = match self.state {
            State::Seek { .. } | State::Count { .. } => {
                let tail = self.split(buf, n);
                Eof {
                    tail,
                    partial: self.offset - self.frame_start,
                    offset: self.frame_start,
                }
            }
            State::Raw => {
                let offset = self.offset;
                let tail = self.split(buf, n);
                Eof {
                    partial: n as u64,
                    tail,
                    offset,
                }
            }
            _ => {
                self.advance(buf, n);
                Eof {
                    tail: Bytes::new(),
                    partial: 0,
                    offset: self.offset,
                }
            }
        };
        self.state = State::Ended;
        Ok(AtEof::End(eof))
    }
}

/// Where `first, last` begins in `hay`: `memchr` for the last byte, then a
/// check of the one before. Each candidate is checked once: linear, and it
/// beats `memmem`'s per-call setup on the short lines of a CRLF protocol.
#[inline]
fn find2(first: u8, last: &One, hay: &[u8]) -> Option<usize> {
    let mut from = 1;
    while from <= hay.len() {
        let j = from + last.find(&hay[from..])?;
        if hay[j - 1] == first {
            return Some(j - 1);
        }
        from = j + 1;
    }
    None
}

/// The length of the longest proper prefix of `delim` that `hay` ends with:
/// bytes a streamed frame must hold back until the next read decides.
fn partial_delimiter(hay: &[u8], delim: &[u8]) -> usize {
    let most = delim.len().saturating_sub(1).min(hay.len());
    (1..=most)
        .rev()
        .find(|&k| hay[hay.len() - k..] == delim[..k])
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(b: &str) -> Option<Frame> {
        Some(Frame::Whole(Bytes::copy_from_slice(b.as_bytes())))
    }

    fn piece(b: &str, last: bool) -> Option<Frame> {
        Some(Frame::Piece {
            data: Bytes::copy_from_slice(b.as_bytes()),
            last,
        })
    }

    #[test]
    fn partial_delimiter_suffixes() {
        assert_eq!(partial_delimiter(b"abc\r", b"\r\n"), 1);
        assert_eq!(partial_delimiter(b"abc\r\n\r", b"\r\n\r\n"), 3);
        assert_eq!(partial_delimiter(b"abc", b"\r\n"), 0);
        assert_eq!(partial_delimiter(b"", b"\r\n"), 0);
        assert_eq!(partial_delimiter(b"\n", b"\n"), 0);
        assert_eq!(partial_delimiter(b"aa", b"aab"), 2);
    }

    #[test]
    fn delimiter_split_across_reads_is_found_without_rescanning() {
        let mut f = Framer::new(Framing::whole("\r\n\r\n"));
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: x\r\n\r"[..]);
        assert_eq!(f.decode(&mut buf).unwrap(), None);
        // Everything but the last three bytes is known not to start a delimiter.
        assert_eq!(
            f.state,
            State::Seek {
                scanned: buf.len() - 3
            }
        );
        buf.extend_from_slice(b"\nrest");
        assert_eq!(
            f.decode(&mut buf).unwrap(),
            whole("GET / HTTP/1.1\r\nHost: x")
        );
        assert_eq!(&buf[..], b"rest");
        assert_eq!(f.offset(), 27);
    }

    #[test]
    fn count_zero_completes_at_once_and_is_one_shot() {
        let mut f = Framer::new(Framing::whole(0u64));
        let mut buf = BytesMut::new();
        assert_eq!(f.decode(&mut buf).unwrap(), whole(""));
        assert_eq!(f.decode(&mut buf).unwrap(), None);
        assert!(f.is_spent());
        let mut f = Framer::new(Framing::pieces(0u64));
        assert_eq!(f.decode(&mut buf).unwrap(), piece("", true));
        assert_eq!(f.decode(&mut buf).unwrap(), None);
    }

    #[test]
    fn counts_over_the_limit_fail_before_buffering() {
        let mut f = Framer::new(Framing::whole(100u64).max(99));
        let mut buf = BytesMut::new();
        assert_eq!(
            f.decode(&mut buf),
            Err(FrameError::FrameTooLong {
                limit: 99,
                offset: 0
            })
        );
        assert_eq!(f.decode(&mut buf), Ok(None));
    }

    #[test]
    fn discarding_a_count_then_spent() {
        let mut f = Framer::new(Framing::whole(5u64).max(4).overflow(Overflow::Discard));
        let mut buf = BytesMut::from(&b"abc"[..]);
        assert!(f.decode(&mut buf).is_err());
        assert_eq!(f.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"defg");
        assert_eq!(f.decode(&mut buf), Ok(None));
        assert_eq!(&buf[..], b"fg");
        assert!(f.is_spent());
        f.set_terminator(Terminator::Count(2));
        assert_eq!(f.decode(&mut buf).unwrap(), whole("fg"));
        assert_eq!(f.offset(), 7);
    }

    #[test]
    fn pieces_hold_back_only_a_possible_delimiter_start() {
        let mut f = Framer::new(Framing::pieces("\r\n"));
        let mut buf = BytesMut::from(&b"abc"[..]);
        assert_eq!(f.decode(&mut buf).unwrap(), piece("abc", false));
        buf.extend_from_slice(b"de\r");
        assert_eq!(f.decode(&mut buf).unwrap(), piece("de", false));
        assert_eq!(f.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"\nx");
        assert_eq!(f.decode(&mut buf).unwrap(), piece("", true));
        assert_eq!(f.decode(&mut buf).unwrap(), piece("x", false));
    }

    #[test]
    fn until_close_whole_and_pieces() {
        let mut f = Framer::new(Framing::whole(Terminator::UntilClose).max(5));
        let mut buf = BytesMut::from(&b"abcde"[..]);
        assert_eq!(f.decode(&mut buf).unwrap(), None);
        assert_eq!(
            f.decode_eof(&mut buf).unwrap(),
            AtEof::Frame(whole("abcde").unwrap())
        );
        assert_eq!(
            f.decode_eof(&mut buf).unwrap(),
            AtEof::End(Eof {
                offset: 5,
                ..Eof::default()
            })
        );
        let mut f = Framer::new(Framing::pieces(Terminator::UntilClose));
        let mut buf = BytesMut::from(&b"ab"[..]);
        assert_eq!(f.decode(&mut buf).unwrap(), piece("ab", false));
        assert_eq!(
            f.decode_eof(&mut buf).unwrap(),
            AtEof::Frame(piece("", true).unwrap())
        );
        assert!(matches!(f.decode_eof(&mut buf).unwrap(), AtEof::End(e) if e.is_clean()));
    }

    #[test]
    fn until_close_over_the_limit() {
        let mut f = Framer::new(Framing::whole(Terminator::UntilClose).max(2));
        let mut buf = BytesMut::from(&b"abc"[..]);
        assert_eq!(
            f.decode(&mut buf),
            Err(FrameError::FrameTooLong {
                limit: 2,
                offset: 0
            })
        );
        assert!(matches!(f.decode_eof(&mut buf).unwrap(), AtEof::End(e) if e.is_clean()));
    }

    #[test]
    fn eof_reports_the_unterminated_tail_with_offsets() {
        let mut f = Framer::new(Framing::whole("\r\n"));
        let mut buf = BytesMut::from(&b"ok\r\nhalf\r"[..]);
        assert_eq!(
            f.decode_eof(&mut buf).unwrap(),
            AtEof::Frame(whole("ok").unwrap())
        );
        let AtEof::End(eof) = f.decode_eof(&mut buf).unwrap() else {
            panic!()
        };
        assert_eq!(eof.tail, &b"half\r"[..]);
        assert_eq!(
            eof.check(),
            Err(FrameError::UnexpectedEnd {
                partial: 5,
                offset: 4
            })
        );
        // Pieces: the partial count counts delivered pieces too.
        let mut f = Framer::new(Framing::pieces(10u64));
        let mut buf = BytesMut::from(&b"abc"[..]);
        assert_eq!(f.decode(&mut buf).unwrap(), piece("abc", false));
        let AtEof::End(eof) = f.decode_eof(&mut buf).unwrap() else {
            panic!()
        };
        assert_eq!(
            eof,
            Eof {
                tail: Bytes::new(),
                partial: 3,
                offset: 0
            }
        );
    }

    #[test]
    fn raw_framer_reports_what_is_left() {
        let mut f = Framer::new(Framing::Raw);
        let mut buf = BytesMut::from(&b"abcd"[..]);
        assert_eq!(f.decode(&mut buf).unwrap(), None);
        buf.advance(1);
        f.skipped(1);
        let AtEof::End(eof) = f.decode_eof(&mut buf).unwrap() else {
            panic!()
        };
        assert_eq!(
            eof,
            Eof {
                tail: Bytes::from_static(b"bcd"),
                partial: 3,
                offset: 1
            }
        );
    }

    #[test]
    fn empty_delimiter_is_a_zero_count() {
        let f = Framer::new(Framing::whole(""));
        assert_eq!(f.framing(), &Framing::whole(0u64));
    }

    #[test]
    fn the_end_is_sticky_across_new_terminators() {
        let clean = |f: &mut Framer, buf: &mut BytesMut| matches!(f.decode_eof(buf).unwrap(), AtEof::End(e) if e.is_clean() && e.offset == 2);
        for framing in [
            Framing::pieces(Terminator::UntilClose),
            Framing::whole(Terminator::UntilClose),
        ] {
            let mut f = Framer::new(framing.clone());
            let mut buf = BytesMut::from(&b"ab"[..]);
            // The close completes the until-close frame: one last frame.
            let mut lasts = 0;
            while let AtEof::Frame(frame) = f.decode_eof(&mut buf).unwrap() {
                lasts += usize::from(frame.is_last());
                assert!(lasts <= 1, "{framing:?}: a second last frame");
                // The asynchat port: until close again after every last frame.
                f.set_terminator(Terminator::UntilClose);
            }
            assert_eq!(lasts, 1);
            // Nothing more, whatever terminator is set after the end.
            for t in [
                Terminator::UntilClose,
                Terminator::Count(0),
                Terminator::lf(),
            ] {
                f.set_terminator(t);
                assert_eq!(f.decode(&mut buf), Ok(None));
                assert!(clean(&mut f, &mut buf), "{framing:?}");
                assert!(f.is_spent());
            }
        }
        // After an end reported as such, a zero count frames nothing either.
        let mut f = Framer::new(Framing::whole("\n"));
        let mut buf = BytesMut::from(&b"ab"[..]);
        assert!(matches!(f.decode_eof(&mut buf).unwrap(), AtEof::End(e) if e.partial == 2));
        f.set_framing(Framing::whole(0u64));
        assert_eq!(f.decode(&mut buf), Ok(None));
        assert!(clean(&mut f, &mut buf));
    }
}
