//! [`Decompressor`]: the sans-I/O brotli decoder.

use std::fmt;

use brotli::enc::StandardAlloc;
use brotli::{BrotliDecompressStream, BrotliResult, BrotliState};

use super::BrotliError;
use crate::codec::compression::{ContentDecoder, DEFAULT_MAX_OUTPUT, Progress, with_spare};

/// A sans-I/O brotli decoder: a brotli stream (RFC 7932) in, data out,
/// with a cap on the decompressed size.
///
/// [`decode`](Self::decode) takes any piece of the input — one byte or all
/// of it — and resumes after any byte. It writes into the spare capacity
/// of the caller's `Vec<u8>` and never grows it. Each call returns when the
/// input is used up or the output is full; input it did not consume must
/// be given again.
///
/// At the end of the input, call `decode` with empty input (and room)
/// until it produces nothing, then [`finish`](Self::finish): it returns
/// [`BrotliError::Truncated`] unless the last meta-block was read. Bytes
/// after it are [`BrotliError::TrailingData`]. The decompressed size is
/// capped ([`max_output`](Self::max_output)). Windows are those of RFC
/// 7932 (at most 16 MiB); the "large window" extension is refused as
/// corrupt data. After any error the decoder returns it again on every
/// call.
///
/// ```
/// use producers::codec::brotli::{BrotliError, Compressor, Decompressor};
///
/// let mut enc = Compressor::new(5);
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
/// cut.decode(&stream[..3], &mut out)?;
/// assert_eq!(cut.finish(), Err(BrotliError::Truncated { offset: 3 }));
/// # Ok::<(), BrotliError>(())
/// ```
pub struct Decompressor {
    engine: BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>,
    state: State,
    max_output: u64,
    /// Input consumed over the whole stream: the offset of the next byte.
    total_in: u64,
    /// Output produced; never above `max_output`.
    total_out: u64,
}

/// What the decoder expects next.
#[derive(Clone, Debug)]
enum State {
    /// Meta-blocks, until the last one.
    Body,
    /// The stream ended: only the end of input may follow.
    Done,
    /// An error was found; it is returned again by every call.
    Failed(BrotliError),
}

impl fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decompressor")
            .field("state", &self.state)
            .field("max_output", &self.max_output)
            .field("total_in", &self.total_in)
            .field("total_out", &self.total_out)
            .finish_non_exhaustive()
    }
}

impl Default for Decompressor {
    fn default() -> Self {
        Decompressor::new()
    }
}

impl Decompressor {
    /// A decoder with the default cap ([`DEFAULT_MAX_OUTPUT`], 64 MiB).
    pub fn new() -> Decompressor {
        let mut engine = BrotliState::new(
            StandardAlloc::default(),
            StandardAlloc::default(),
            StandardAlloc::default(),
        );
        // RFC 7932 streams only: the large-window extension (windows up to
        // 1 GiB) is not the `br` content coding.
        engine.large_window = false;
        Decompressor {
            engine,
            state: State::Body,
            max_output: DEFAULT_MAX_OUTPUT,
            total_in: 0,
            total_out: 0,
        }
    }

    /// Caps the decompressed size at `limit` bytes: exactly `limit` is
    /// fine, one more byte is [`BrotliError::OutputTooLarge`], after the
    /// first `limit` bytes were produced. `u64::MAX` for none.
    pub fn max_output(mut self, limit: u64) -> Decompressor {
        self.max_output = limit;
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

    /// Whether the input may end here: the last meta-block was read.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Decodes from `input` into the spare capacity of `out` (which is
    /// never grown), until the input is used up or `out` is full.
    ///
    /// On error, what was appended to `out` before it is valid output; the
    /// decoder is then finished and returns the same error on every call.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, BrotliError> {
        let start_out = out.len();
        let mut pos = 0;
        let result = self.body(input, &mut pos, out);
        self.total_in += pos as u64;
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result.map(|()| Progress {
            consumed: pos,
            produced: out.len() - start_out,
        })
    }

    /// Checks that the input may end here: [`BrotliError::Truncated`] (and
    /// finished) if the stream did not end; the error found earlier, if
    /// any. Call it after draining (`decode(&[], out)` until it produces
    /// nothing).
    pub fn finish(&mut self) -> Result<(), BrotliError> {
        match &self.state {
            State::Failed(e) => Err(e.clone()),
            State::Done => Ok(()),
            State::Body => {
                let e = BrotliError::Truncated {
                    offset: self.total_in,
                };
                self.state = State::Failed(e.clone());
                Err(e)
            }
        }
    }

    fn body(
        &mut self,
        input: &[u8],
        pos: &mut usize,
        out: &mut Vec<u8>,
    ) -> Result<(), BrotliError> {
        loop {
            let at = self.total_in + *pos as u64;
            match &self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Done if *pos < input.len() => {
                    return Err(BrotliError::TrailingData { offset: at });
                }
                State::Done => return Ok(()),
                State::Body => {}
            }
            let spare = out.capacity() - out.len();
            if spare == 0 {
                return Ok(());
            }
            let remaining = self.max_output - self.total_out;
            let window = spare.min(usize::try_from(remaining).unwrap_or(usize::MAX));
            let rest = &input[*pos..];
            let engine = &mut self.engine;
            let mut run = |buf: &mut [u8]| {
                let mut avail_in = rest.len();
                let mut in_off = 0;
                let mut avail_out = buf.len();
                let mut out_off = 0;
                let mut written = 0;
                let r = BrotliDecompressStream(
                    &mut avail_in,
                    &mut in_off,
                    rest,
                    &mut avail_out,
                    &mut out_off,
                    buf,
                    &mut written,
                    engine,
                );
                (out_off, (r, in_off, out_off))
            };
            let (result, used, made) = if window == 0 {
                // At the cap: any one more byte is too many, but the stream
                // may still end (or need input) without producing one.
                let mut probe = [0u8; 1];
                run(&mut probe).1
            } else {
                with_spare(out, window, run)
            };
            *pos += used;
            let at = self.total_in + *pos as u64;
            if window == 0 && made > 0 {
                return Err(BrotliError::OutputTooLarge {
                    limit: self.max_output,
                    offset: at,
                });
            }
            self.total_out += made as u64;
            match result {
                BrotliResult::ResultSuccess => self.state = State::Done,
                BrotliResult::NeedsMoreInput => return Ok(()),
                BrotliResult::NeedsMoreOutput => {}
                BrotliResult::ResultFailure => {
                    let code = format!("{:?}", self.engine.error_code);
                    let detail = code
                        .trim_start_matches("BROTLI_DECODER_ERROR_")
                        .to_ascii_lowercase()
                        .replace('_', " ");
                    return Err(BrotliError::Corrupt { offset: at, detail });
                }
            }
        }
    }
}

impl ContentDecoder for Decompressor {
    type Error = BrotliError;

    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, BrotliError> {
        Decompressor::decode(self, input, out)
    }

    fn finish(&mut self) -> Result<(), BrotliError> {
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
