//! [`Compressor`]: the sans-I/O zstd encoder.

use std::fmt;

use zstd::stream::raw::{CParameter, Encoder, InBuffer, Operation, OutBuffer};

use super::DEFAULT_WINDOW_LOG_MAX;
use crate::codec::compression::ContentEncoder;

/// A sans-I/O zstd encoder: input bytes in, one zstd frame (RFC 8878) out,
/// with a content checksum.
///
/// Output goes into the spare capacity of a caller's `Vec<u8>`, which is
/// never grown; every method resumes after the output filled up. The
/// engine is libzstd (the `zstd` crate's low-level streaming API).
///
/// ```
/// use producers::codec::zstd::{Compressor, Decompressor};
///
/// let mut enc = Compressor::new(3);
/// let mut out = Vec::with_capacity(1024);
/// assert_eq!(enc.compress(b"hello", &mut out), 5);
/// assert!(enc.finish(&mut out));
///
/// let mut dec = Decompressor::new();
/// let mut plain = Vec::with_capacity(64);
/// dec.decode(&out, &mut plain)?;
/// dec.finish()?;
/// assert_eq!(plain, b"hello");
/// # Ok::<(), producers::codec::zstd::ZstdError>(())
/// ```
pub struct Compressor {
    engine: Encoder<'static>,
    level: i32,
    total_in: u64,
    state: State,
}

/// Where the frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Taking input (and flushes).
    Open,
    /// The frame's end is being written.
    Ending,
    /// The frame is complete.
    Done,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor")
            .field("level", &self.level)
            .field("total_in", &self.total_in)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// An encoder at `level` (zstd's range: 1-22 and the negative fast
    /// levels; 0 means zstd's default, 3). Levels 20-22 would use windows
    /// of 32-128 MiB; here the window is capped at 8 MiB
    /// ([`DEFAULT_WINDOW_LOG_MAX`]), the most RFC 8878 asks an HTTP decoder
    /// to accept.
    ///
    /// # Panics
    ///
    /// If `level` is outside zstd's range.
    pub fn new(level: i32) -> Compressor {
        Compressor::build(level, (level >= 20).then_some(DEFAULT_WINDOW_LOG_MAX))
    }

    /// An encoder at `level` with a window of `2^window_log` bytes (10 to
    /// 30). A decoder refuses windows above its cap (8 MiB, 23, by
    /// default).
    ///
    /// # Panics
    ///
    /// If `level` is outside zstd's range or `window_log` outside 10 to 30.
    pub fn with_window_log(level: i32, window_log: u32) -> Compressor {
        assert!(
            (10..=30).contains(&window_log),
            "zstd window log {window_log} outside 10 to 30"
        );
        Compressor::build(level, Some(window_log))
    }

    fn build(level: i32, window_log: Option<u32>) -> Compressor {
        let range = zstd::compression_level_range();
        assert!(
            range.contains(&level),
            "zstd level {level} outside {} to {}",
            range.start(),
            range.end()
        );
        let mut engine = Encoder::new(level).expect("zstd: out of memory");
        engine
            .set_parameter(CParameter::ChecksumFlag(true))
            .expect("zstd: checksum flag");
        if let Some(log) = window_log {
            engine
                .set_parameter(CParameter::WindowLog(log))
                .expect("zstd: window log");
        }
        Compressor {
            engine,
            level,
            total_in: 0,
            state: State::Open,
        }
    }

    /// Tells libzstd that about `total` bytes of input will come
    /// (`ZSTD_c_srcSizeHint`): for an input smaller than the level's
    /// window, it then picks a window and match tables sized to the input
    /// (at level 3, a 16 KiB input takes some 10 times less memory than
    /// an unknown one). Only a hint: any amount of input still makes a
    /// valid frame, and the frame header does not record it. Inputs over
    /// 2 GiB are hinted as 2 GiB; `0` means unknown. Ignored once input
    /// was fed. [`Compressed`](super::Compressed) calls it with its
    /// source's `exact_len`.
    ///
    /// ```
    /// use producers::codec::zstd::{Compressor, Decompressor};
    ///
    /// let mut enc = Compressor::new(3);
    /// enc.set_size_hint(5);
    /// let mut out = Vec::with_capacity(1024);
    /// assert_eq!(enc.compress(b"hello, world", &mut out), 12);
    /// assert!(enc.finish(&mut out), "more than hinted is fine");
    /// let mut dec = Decompressor::new();
    /// let mut plain = Vec::with_capacity(64);
    /// dec.decode(&out, &mut plain)?;
    /// dec.finish()?;
    /// assert_eq!(plain, b"hello, world");
    /// # Ok::<(), producers::codec::zstd::ZstdError>(())
    /// ```
    pub fn set_size_hint(&mut self, total: u64) {
        if self.total_in > 0 {
            return;
        }
        let hint = total.min(i32::MAX as u64) as u32;
        self.engine
            .set_parameter(CParameter::SrcSizeHint(hint))
            .expect("zstd: source size hint");
    }

    /// The compression level.
    pub fn level(&self) -> i32 {
        self.level
    }

    /// Input bytes consumed so far.
    pub fn total_in(&self) -> u64 {
        self.total_in
    }

    /// Whether the frame is complete ([`finish`](Self::finish) returned
    /// `true`).
    pub fn is_finished(&self) -> bool {
        self.state == State::Done
    }

    /// Compresses as much of `input` as fits into the spare capacity of
    /// `out` and returns how many input bytes were consumed. libzstd keeps
    /// up to a block (128 KiB) of input without output until a flush or
    /// the end.
    ///
    /// # Panics
    ///
    /// If called after [`finish`](Self::finish) began.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        assert_eq!(self.state, State::Open, "compress after finish");
        let mut consumed = 0;
        while consumed < input.len() && out.len() < out.capacity() {
            let mut src = InBuffer::around(&input[consumed..]);
            let before = out.len();
            let mut dst = OutBuffer::around_pos(out, before);
            // libzstd only fails here on misuse or allocation failure.
            self.engine
                .run(&mut src, &mut dst)
                .expect("zstd engine failed");
            let made = dst.pos() - before;
            consumed += src.pos();
            if src.pos() == 0 && made == 0 {
                break;
            }
        }
        self.total_in += consumed as u64;
        consumed
    }

    /// Flushes: closes the current block so that everything consumed so
    /// far decodes (the frame goes on). `true` when done, `false` if `out`
    /// filled up first (call again with more room).
    ///
    /// # Panics
    ///
    /// If called after [`finish`](Self::finish) began.
    pub fn flush(&mut self, out: &mut Vec<u8>) -> bool {
        assert_eq!(self.state, State::Open, "flush after finish");
        if out.len() == out.capacity() {
            return false;
        }
        let pos = out.len();
        let mut dst = OutBuffer::around_pos(out, pos);
        self.engine.flush(&mut dst).expect("zstd engine failed") == 0
    }

    /// Ends the frame (its last block and checksum). `true` when it is
    /// complete, `false` if `out` filled up first (call again with more
    /// room). Further calls return `true` and write nothing.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        if self.state == State::Done {
            return true;
        }
        self.state = State::Ending;
        if out.len() == out.capacity() {
            return false;
        }
        let pos = out.len();
        let mut dst = OutBuffer::around_pos(out, pos);
        let left = self
            .engine
            .finish(&mut dst, false)
            .expect("zstd engine failed");
        if left == 0 {
            self.state = State::Done;
        }
        left == 0
    }
}

impl ContentEncoder for Compressor {
    const DEFAULT_POLL_BUDGET: usize = super::DEFAULT_POLL_BUDGET;

    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        Compressor::compress(self, input, out)
    }

    fn flush(&mut self, out: &mut Vec<u8>) -> bool {
        Compressor::flush(self, out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        Compressor::finish(self, out)
    }

    fn total_in(&self) -> u64 {
        self.total_in
    }

    fn set_size_hint(&mut self, total: u64) {
        Compressor::set_size_hint(self, total);
    }
}
