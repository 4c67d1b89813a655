//! [`Compressor`]: the sans-I/O brotli encoder.

use std::fmt;

use brotli::enc::StandardAlloc;
use brotli::enc::encode::{
    BrotliEncoderOperation, BrotliEncoderParameter, BrotliEncoderStateStruct,
};

use super::{DEFAULT_WINDOW_BITS, MAX_QUALITY, MAX_WINDOW_BITS, MIN_WINDOW_BITS};
use crate::codec::compression::{ContentEncoder, with_spare};

/// The engine's own cap on a size hint (1 GiB).
const MAX_SIZE_HINT: u64 = 1 << 30;

/// A sans-I/O brotli encoder: input bytes in, a brotli stream (RFC 7932)
/// out.
///
/// Output goes into the spare capacity of a caller's `Vec<u8>`, which is
/// never grown; every method resumes after the output filled up. The
/// engine is the pure-Rust `brotli` crate (what tower-http and
/// async-compression use).
///
/// ```
/// use producers::codec::brotli::{Compressor, Decompressor};
///
/// let mut enc = Compressor::new(5);
/// let mut out = Vec::with_capacity(1024);
/// assert_eq!(enc.compress(b"hello", &mut out), 5);
/// assert!(enc.finish(&mut out));
///
/// let mut dec = Decompressor::new();
/// let mut plain = Vec::with_capacity(64);
/// dec.decode(&out, &mut plain)?;
/// dec.finish()?;
/// assert_eq!(plain, b"hello");
/// # Ok::<(), producers::codec::brotli::BrotliError>(())
/// ```
pub struct Compressor {
    engine: BrotliEncoderStateStruct<StandardAlloc>,
    quality: u32,
    window_bits: u32,
    total_in: u64,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor")
            .field("quality", &self.quality)
            .field("window_bits", &self.window_bits)
            .field("total_in", &self.total_in)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// An encoder at `quality` (0 = fastest to 11 = smallest) with the
    /// default window of 2^[`DEFAULT_WINDOW_BITS`] bytes (4 MiB).
    ///
    /// # Panics
    ///
    /// If `quality` is above 11.
    pub fn new(quality: u32) -> Compressor {
        Compressor::with_window_bits(quality, DEFAULT_WINDOW_BITS)
    }

    /// An encoder at `quality` with a window of `2^window_bits - 16` bytes
    /// (10 to 24, RFC 7932 section 9.1). A smaller window costs ratio and
    /// saves memory in the encoder and in every decoder.
    ///
    /// # Panics
    ///
    /// If `quality` is above 11 or `window_bits` is outside 10 to 24.
    pub fn with_window_bits(quality: u32, window_bits: u32) -> Compressor {
        assert!(
            quality <= MAX_QUALITY,
            "brotli quality {quality} is above {MAX_QUALITY}"
        );
        assert!(
            (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&window_bits),
            "brotli window bits {window_bits} outside {MIN_WINDOW_BITS} to {MAX_WINDOW_BITS}"
        );
        let mut engine = BrotliEncoderStateStruct::new(StandardAlloc::default());
        engine.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_QUALITY, quality);
        engine.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_LGWIN, window_bits);
        Compressor {
            engine,
            quality,
            window_bits,
            total_in: 0,
        }
    }

    /// Tells the engine the whole input's length before anything is fed,
    /// so it chooses its settings as for that input given at once; without
    /// it the engine takes the length of what it holds when its first block
    /// fills (about 64 KiB when fed in pieces). Only speed, ratio and
    /// memory change: from 1 MiB on, quality 4 uses another hash table (4
    /// MiB instead of 512 KiB; on text 2% smaller output and 10% fewer
    /// instructions, see [the module docs](super#the-size-hint)).
    /// [`Compressed`](super::Compressed) calls it with its source's
    /// `exact_len`. Ignored once input was fed; `0` means unknown.
    pub fn set_size_hint(&mut self, total: u64) {
        let hint = total.min(MAX_SIZE_HINT) as u32;
        self.engine
            .set_parameter(BrotliEncoderParameter::BROTLI_PARAM_SIZE_HINT, hint);
    }

    /// The quality (0-11).
    pub fn quality(&self) -> u32 {
        self.quality
    }

    /// The window size, in bits.
    pub fn window_bits(&self) -> u32 {
        self.window_bits
    }

    /// Input bytes consumed so far.
    pub fn total_in(&self) -> u64 {
        self.total_in
    }

    /// Whether the stream is complete ([`finish`](Self::finish) returned
    /// `true`).
    pub fn is_finished(&self) -> bool {
        self.engine.is_finished()
    }

    /// Compresses as much of `input` as fits into the spare capacity of
    /// `out` and returns how many input bytes were consumed. The engine
    /// keeps input buffered without output until a meta-block is full, a
    /// flush or the end.
    ///
    /// # Panics
    ///
    /// If called after [`finish`](Self::finish) began.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        let consumed = self.run(BrotliEncoderOperation::BROTLI_OPERATION_PROCESS, input, out);
        self.total_in += consumed as u64;
        consumed
    }

    /// Flushes: closes the current meta-block so that everything consumed
    /// so far decodes. `true` when done, `false` if `out` filled up first
    /// (call again with more room).
    ///
    /// # Panics
    ///
    /// If called after [`finish`](Self::finish) began.
    pub fn flush(&mut self, out: &mut Vec<u8>) -> bool {
        self.run(BrotliEncoderOperation::BROTLI_OPERATION_FLUSH, &[], out);
        !self.engine.has_more_output()
    }

    /// Ends the stream (the last meta-block). `true` when the stream is
    /// complete, `false` if `out` filled up first (call again with more
    /// room). Further calls return `true` and write nothing.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        if !self.engine.is_finished() {
            self.run(BrotliEncoderOperation::BROTLI_OPERATION_FINISH, &[], out);
        }
        self.engine.is_finished()
    }

    /// One operation over `input` into `out`'s spare room, repeated while
    /// it makes progress; returns the input consumed.
    fn run(&mut self, op: BrotliEncoderOperation, input: &[u8], out: &mut Vec<u8>) -> usize {
        let engine = &mut self.engine;
        let mut consumed = 0;
        loop {
            let room = out.capacity() - out.len();
            let (used, wrote) = with_spare(out, usize::MAX, |buf| {
                let mut avail_in = input.len() - consumed;
                let mut in_off = consumed;
                let mut avail_out = buf.len();
                let mut out_off = 0;
                let ok = engine.compress_stream(
                    op,
                    &mut avail_in,
                    input,
                    &mut in_off,
                    &mut avail_out,
                    buf,
                    &mut out_off,
                    &mut None,
                    &mut |_, _, _, _| (),
                );
                // The engine only fails on misuse (an operation after the
                // stream finished), which `finish` rules out.
                assert!(ok, "brotli engine misused");
                (out_off, (in_off - consumed, out_off))
            });
            consumed += used;
            let settled = match op {
                BrotliEncoderOperation::BROTLI_OPERATION_PROCESS => consumed == input.len(),
                _ => !engine.has_more_output(),
            };
            if settled || wrote == room || (used == 0 && wrote == 0) {
                return consumed;
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::brotli::test_util::{decode_all, encode_all};
    use crate::codec::compression::test_util::text;

    #[test]
    fn little_room_at_a_time_resumes_everywhere() {
        let data = text(50_000);
        for quality in [0, 1, 5, 11] {
            let mut small = Compressor::new(quality);
            let mut got = Vec::new();
            let mut fed = 0;
            while fed < data.len() {
                let mut room = Vec::with_capacity(7);
                fed += small.compress(&data[fed..], &mut room);
                got.extend_from_slice(&room);
            }
            for flush in [true, false] {
                loop {
                    let mut room = Vec::with_capacity(7);
                    let done = if flush {
                        small.flush(&mut room)
                    } else {
                        small.finish(&mut room)
                    };
                    got.extend_from_slice(&room);
                    if done {
                        break;
                    }
                }
            }
            assert!(decode_all(&got) == data, "quality {quality}");
            assert!(small.is_finished());
            let mut room = Vec::with_capacity(10);
            assert!(small.finish(&mut room));
            assert!(room.is_empty());
            assert_eq!(small.total_in(), data.len() as u64);
        }
    }

    #[test]
    fn a_flush_makes_everything_so_far_decodable() {
        let mut enc = Compressor::new(11);
        let mut out = Vec::with_capacity(1000);
        assert_eq!(enc.compress(b"data: tick 1\n\n", &mut out), 14);
        assert!(enc.flush(&mut out));
        let mut dec = crate::codec::brotli::Decompressor::new();
        let mut plain = Vec::with_capacity(100);
        let p = dec.decode(&out, &mut plain).unwrap();
        assert_eq!(p.consumed, out.len());
        assert_eq!(plain, b"data: tick 1\n\n");
        assert!(!dec.is_complete(), "a flush does not end the stream");
    }

    #[test]
    fn the_empty_stream_is_one_byte() {
        // RFC 7932 section 9.2: ISLAST, ISLASTEMPTY — with a 22-bit window
        // (WBITS 1011: bits 0111 0110 → 0x3b... any decoder checks it).
        let s = encode_all(5, b"");
        assert_eq!(s.len(), 1);
        assert_eq!(decode_all(&s), b"");
    }

    #[test]
    #[should_panic(expected = "above 11")]
    fn quality_above_11_panics() {
        Compressor::new(12);
    }
}
