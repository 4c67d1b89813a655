//! [`Decompressor`]: the sans-I/O zstd decoder.

use std::fmt;

use zstd::stream::raw::{DParameter, Decoder, InBuffer, Operation, OutBuffer};

use super::{DEFAULT_WINDOW_LOG_MAX, ZstdError};
use crate::codec::compression::{ContentDecoder, DEFAULT_MAX_OUTPUT, Progress, with_spare};

/// A zstd frame's magic number, little-endian on the wire (RFC 8878 3.1.1).
const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// A skippable frame's magic number: `0x184D2A5?` (RFC 8878 3.1.2).
const SKIPPABLE: [u8; 4] = [0x50, 0x2a, 0x4d, 0x18];

/// Whether `p` begins a zstd or a skippable frame's magic number.
fn is_magic_prefix(p: &[u8]) -> bool {
    p.iter().zip(MAGIC).all(|(&b, m)| b == m)
        || p.iter()
            .zip(SKIPPABLE)
            .enumerate()
            .all(|(i, (&b, m))| if i == 0 { b & 0xf0 == m } else { b == m })
}

/// libzstd's name for `frameParameter_windowTooLarge`.
const WINDOW_TOO_LARGE: &str = "Frame requires too much memory for decoding";

/// A sans-I/O zstd decoder: zstd frames (RFC 8878) in, data out, with caps
/// on the decompressed size and the window.
///
/// [`decode`](Self::decode) takes any piece of the input — one byte or all
/// of it — and resumes after any byte. It writes into the spare capacity of
/// the caller's `Vec<u8>` and never grows it. Each call returns when the
/// input is used up or the output is full; input it did not consume must
/// be given again.
///
/// - A stream may hold several frames, zstd or skippable (RFC 8878 section
///   3.1.2, `cat a.zst b.zst`); all are read. Bytes after a frame that do
///   not begin another are [`ZstdError::TrailingData`]; the first bytes of
///   the stream not being a frame are [`ZstdError::BadMagic`].
/// - A frame whose window is above the cap ([`window_log_max`](Self::window_log_max),
///   2^23 = 8 MiB by default) is [`ZstdError::WindowTooLarge`]: the memory
///   a peer can make the decoder allocate is bounded.
/// - The decompressed size is capped ([`max_output`](Self::max_output)).
/// - Every input that ends inside a frame — including empty input — is
///   [`ZstdError::Truncated`]. Content checksums are checked.
///
/// After any error the decoder returns it again on every call.
///
/// ```
/// use producers::codec::zstd::{Compressor, Decompressor, ZstdError};
///
/// let mut enc = Compressor::new(3);
/// let mut stream = Vec::with_capacity(64);
/// enc.compress(b"hi there", &mut stream);
/// assert!(enc.finish(&mut stream));
///
/// let mut dec = Decompressor::new().max_output(8);
/// let mut out = Vec::with_capacity(16);
/// for b in stream.chunks(1) {
///     assert_eq!(dec.decode(b, &mut out)?.consumed, 1);
/// }
/// dec.finish()?;
/// assert_eq!(out, b"hi there");
///
/// let mut cut = Decompressor::new();
/// cut.decode(&stream[..6], &mut out)?;
/// assert_eq!(cut.finish(), Err(ZstdError::Truncated { offset: 6 }));
/// # Ok::<(), ZstdError>(())
/// ```
pub struct Decompressor {
    engine: Decoder<'static>,
    state: State,
    max_output: u64,
    window_log_max: u32,
    /// Input consumed over the whole stream: the offset of the next byte.
    total_in: u64,
    /// Output produced; never above `max_output`.
    total_out: u64,
    /// Complete frames read (zstd and skippable).
    frames: u64,
}

/// What the decoder expects next.
#[derive(Clone, Debug)]
enum State {
    /// A frame's 4-byte magic number, of which `have` bytes are in `buf`
    /// (checked byte by byte; handed to the engine once whole).
    Magic { buf: [u8; 4], have: u8 },
    /// The rest of a frame, inside the engine.
    Frame,
    /// An error was found; it is returned again by every call.
    Failed(ZstdError),
}

impl fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decompressor")
            .field("state", &self.state)
            .field("max_output", &self.max_output)
            .field("window_log_max", &self.window_log_max)
            .field("total_in", &self.total_in)
            .field("total_out", &self.total_out)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl Default for Decompressor {
    fn default() -> Self {
        Decompressor::new()
    }
}

impl Decompressor {
    /// A decoder with the default caps: [`DEFAULT_MAX_OUTPUT`] (64 MiB)
    /// of output, windows of at most 2^[`DEFAULT_WINDOW_LOG_MAX`] (8 MiB).
    pub fn new() -> Decompressor {
        let engine = Decoder::new().expect("zstd: out of memory");
        Decompressor {
            engine,
            state: State::Magic {
                buf: [0; 4],
                have: 0,
            },
            max_output: DEFAULT_MAX_OUTPUT,
            window_log_max: 0,
            total_in: 0,
            total_out: 0,
            frames: 0,
        }
        .window_log_max(DEFAULT_WINDOW_LOG_MAX)
    }

    /// Caps the decompressed size at `limit` bytes (over all frames):
    /// exactly `limit` is fine, one more byte is
    /// [`ZstdError::OutputTooLarge`], after the first `limit` bytes were
    /// produced. `u64::MAX` for none.
    pub fn max_output(mut self, limit: u64) -> Decompressor {
        self.max_output = limit;
        self
    }

    /// Caps the window a frame may ask for at `2^log` bytes (10 to 31;
    /// default 23, 8 MiB, as RFC 8878 section 3.1.1.1.2 recommends for
    /// HTTP). Larger is [`ZstdError::WindowTooLarge`].
    ///
    /// # Panics
    ///
    /// If `log` is outside 10 to 31.
    pub fn window_log_max(mut self, log: u32) -> Decompressor {
        assert!(
            (10..=31).contains(&log),
            "zstd window log {log} outside 10 to 31"
        );
        self.engine
            .set_parameter(DParameter::WindowLogMax(log))
            .expect("zstd: window log max");
        self.window_log_max = log;
        self
    }

    /// The cap on decompressed size.
    pub fn output_limit(&self) -> u64 {
        self.max_output
    }

    /// Input bytes consumed so far (the offset of the next byte).
    pub fn total_in(&self) -> u64 {
        self.total_in
    }

    /// Bytes produced so far.
    pub fn total_out(&self) -> u64 {
        self.total_out
    }

    /// Complete frames read so far (zstd and skippable).
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Whether the input may end here: at least one frame was read and no
    /// other has begun.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Magic { have: 0, .. }) && self.frames > 0
    }

    /// Decodes from `input` into the spare capacity of `out` (which is
    /// never grown), until the input is used up or `out` is full.
    ///
    /// On error, what was appended to `out` before it is valid output; the
    /// decoder is then finished and returns the same error on every call.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, ZstdError> {
        let start_out = out.len();
        let mut pos = 0;
        let result = self.run(input, &mut pos, out);
        self.total_in += pos as u64;
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result.map(|()| Progress {
            consumed: pos,
            produced: out.len() - start_out,
        })
    }

    /// Checks that the input may end here: [`ZstdError::Truncated`] (and
    /// finished) unless it is between frames after at least one; the error
    /// found earlier, if any. Call it after draining (`decode(&[], out)`
    /// until it produces nothing).
    pub fn finish(&mut self) -> Result<(), ZstdError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        if self.is_complete() {
            return Ok(());
        }
        let e = ZstdError::Truncated {
            offset: self.total_in,
        };
        self.state = State::Failed(e.clone());
        Err(e)
    }

    fn run(&mut self, input: &[u8], pos: &mut usize, out: &mut Vec<u8>) -> Result<(), ZstdError> {
        loop {
            match std::mem::replace(&mut self.state, State::Frame) {
                State::Failed(e) => return Err(e),
                State::Magic { mut buf, mut have } => {
                    while usize::from(have) < 4 && *pos < input.len() {
                        let i = usize::from(have);
                        buf[i] = input[*pos];
                        let fits = is_magic_prefix(&buf[..=i]);
                        if !fits {
                            let start = self.total_in + *pos as u64 - u64::from(have);
                            return Err(if self.frames == 0 {
                                ZstdError::BadMagic {
                                    offset: self.total_in + *pos as u64,
                                }
                            } else {
                                ZstdError::TrailingData { offset: start }
                            });
                        }
                        have += 1;
                        *pos += 1;
                    }
                    if have < 4 {
                        self.state = State::Magic { buf, have };
                        return Ok(());
                    }
                    // The magic goes to the engine, which reads the header.
                    let mut src = InBuffer::around(&buf);
                    let mut none: [u8; 0] = [];
                    let mut dst = OutBuffer::around(&mut none[..]);
                    let at = self.total_in + *pos as u64;
                    self.engine
                        .run(&mut src, &mut dst)
                        .map_err(|e| self.engine_error(&e, at))?;
                    debug_assert_eq!(src.pos(), 4);
                    self.state = State::Frame;
                }
                State::Frame => {
                    if out.len() == out.capacity() {
                        return Ok(());
                    }
                    let rest = &input[*pos..];
                    let remaining = self.max_output - self.total_out;
                    let spare = out.capacity() - out.len();
                    let window = spare.min(usize::try_from(remaining).unwrap_or(usize::MAX));
                    let engine = &mut self.engine;
                    let mut src = InBuffer::around(rest);
                    let result = if window == 0 {
                        // At the cap: one more byte is too many, but the
                        // frame may still end without producing one.
                        let mut probe = [0u8; 1];
                        let mut dst = OutBuffer::around(&mut probe[..]);
                        let r = engine.run(&mut src, &mut dst);
                        if dst.pos() > 0 {
                            *pos += src.pos();
                            return Err(ZstdError::OutputTooLarge {
                                limit: self.max_output,
                                offset: self.total_in + *pos as u64,
                            });
                        }
                        r.map(|hint| (hint, 0))
                    } else if window == spare {
                        let start = out.len();
                        let mut dst = OutBuffer::around_pos(out, start);
                        let r = engine.run(&mut src, &mut dst);
                        let made = dst.pos() - start;
                        r.map(|hint| (hint, made))
                    } else {
                        with_spare(out, window, |buf| {
                            let mut dst = OutBuffer::around(buf);
                            let r = engine.run(&mut src, &mut dst);
                            let made = dst.pos();
                            (made, r.map(|hint| (hint, made)))
                        })
                    };
                    let used = src.pos();
                    *pos += used;
                    let at = self.total_in + *pos as u64;
                    let (hint, made) = result.map_err(|e| self.engine_error(&e, at))?;
                    self.total_out += made as u64;
                    if hint == 0 {
                        // The frame is decoded and flushed (RFC 8878: frames
                        // may follow).
                        self.frames += 1;
                        self.state = State::Magic {
                            buf: [0; 4],
                            have: 0,
                        };
                        continue;
                    }
                    if used == 0 && made == 0 {
                        return Ok(());
                    }
                    if *pos == input.len() && made < window {
                        return Ok(());
                    }
                }
            }
        }
    }

    fn engine_error(&self, e: &std::io::Error, offset: u64) -> ZstdError {
        let detail = e.to_string();
        if detail == WINDOW_TOO_LARGE {
            ZstdError::WindowTooLarge {
                limit: 1 << self.window_log_max,
                offset,
            }
        } else {
            ZstdError::Corrupt {
                offset,
                detail: detail.to_lowercase(),
            }
        }
    }
}

impl ContentDecoder for Decompressor {
    type Error = ZstdError;

    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, ZstdError> {
        Decompressor::decode(self, input, out)
    }

    fn finish(&mut self) -> Result<(), ZstdError> {
        Decompressor::finish(self)
    }

    fn set_max_output(&mut self, limit: u64) {
        self.max_output = limit;
    }

    fn total_in(&self) -> u64 {
        self.total_in
    }

    fn total_out(&self) -> u64 {
        self.total_out
    }
}
