//! [`Compressor`]: the sans-I/O encoder for gzip, zlib and raw deflate.

use flate2::{Compression, Crc, FlushCompress, Status};

use super::Format;

/// A sans-I/O encoder: input bytes in, compressed bytes out.
///
/// Output goes into the spare capacity of a caller's `Vec<u8>`, which is
/// never grown: the caller bounds memory by the capacity it reserves. Every
/// method can be called again after the output fills up, and resumes where
/// it stopped (including inside the gzip header and trailer).
///
/// zlib and raw deflate are written by the engine; for gzip this type
/// writes the header itself — `1f 8b 08`, no flags, mtime 0, XFL by level,
/// OS 255 (unknown), so the output is the same on every platform — and the
/// trailer (CRC-32 and ISIZE, little-endian).
///
/// ```
/// use producers::codec::gzip::{Compressor, Decompressor, Format};
///
/// let mut enc = Compressor::new(Format::Gzip, 6);
/// let mut out = Vec::with_capacity(1024);
/// assert_eq!(enc.compress(b"hello", &mut out), 5);
/// assert!(enc.finish(&mut out));
///
/// let mut dec = Decompressor::new(Format::Gzip);
/// let mut plain = Vec::with_capacity(64);
/// dec.decode(&out, &mut plain)?;
/// dec.finish()?;
/// assert_eq!(plain, b"hello");
/// # Ok::<(), producers::codec::gzip::GzipError>(())
/// ```
#[derive(Debug)]
pub struct Compressor {
    format: Format,
    level: u32,
    deflate: flate2::Compress,
    /// CRC-32 and length of the input (gzip only).
    crc: Crc,
    state: State,
}

/// What the encoder writes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The gzip header, of which `written` bytes are out.
    Header { written: u8 },
    /// Deflate data.
    Body,
    /// The gzip trailer, of which `written` bytes are out.
    Trailer { written: u8 },
    /// The stream is complete.
    Done,
}

/// The smallest deflate window, in bits (512 bytes).
pub const MIN_WINDOW_BITS: u8 = 9;
/// The largest deflate window, in bits (32 KiB), and the default.
pub const MAX_WINDOW_BITS: u8 = 15;

impl Compressor {
    /// An encoder for `format` at `level` (0 = stored, 1 = fastest, 9 =
    /// smallest; 6 is zlib's default).
    ///
    /// # Panics
    ///
    /// If `level` is above 9.
    pub fn new(format: Format, level: u32) -> Compressor {
        Compressor::with_window_bits(format, level, MAX_WINDOW_BITS)
    }

    /// An encoder for `format` at `level` with a window of
    /// `2^window_bits` bytes (9 to 15; 15, 32 KiB, is what [`new`](Self::new)
    /// uses). The engine's state shrinks with the window: about 380 KB at
    /// 15 bits, 316 KB at 14, 284 KB at 13 — for text, 14 bits costs well
    /// under 1% in size (measured on this crate's sources and a 1.2 MB
    /// text), 13 bits 1-6%. Any decoder inflates every window size.
    ///
    /// # Panics
    ///
    /// If `level` is above 9 or `window_bits` is outside 9 to 15.
    pub fn with_window_bits(format: Format, level: u32, window_bits: u8) -> Compressor {
        assert!(level <= 9, "compression level {level} is above 9");
        assert!(
            (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&window_bits),
            "window bits {window_bits} outside {MIN_WINDOW_BITS} to {MAX_WINDOW_BITS}"
        );
        let deflate = flate2::Compress::new_with_window_bits(
            Compression::new(level),
            format == Format::Zlib,
            window_bits,
        );
        let state = match format {
            Format::Gzip => State::Header { written: 0 },
            Format::Zlib | Format::Deflate => State::Body,
        };
        Compressor {
            format,
            level,
            deflate,
            crc: Crc::new(),
            state,
        }
    }

    /// The format written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The compression level.
    pub fn level(&self) -> u32 {
        self.level
    }

    /// Input bytes consumed so far.
    pub fn total_in(&self) -> u64 {
        self.deflate.total_in()
    }

    /// Whether the stream is complete ([`finish`](Self::finish) returned
    /// `true`).
    pub fn is_finished(&self) -> bool {
        self.state == State::Done
    }

    /// Compresses as much of `input` as fits, into the spare capacity of
    /// `out`, and returns how many input bytes were consumed. The engine may
    /// keep input buffered without output until a flush or the end.
    ///
    /// # Panics
    ///
    /// If called after [`finish`](Self::finish) began.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        if !self.header(out) {
            return 0;
        }
        assert_eq!(self.state, State::Body, "compress after finish");
        let before = self.deflate.total_in();
        self.run(input, out, FlushCompress::None);
        let consumed = (self.deflate.total_in() - before) as usize;
        if self.format == Format::Gzip {
            self.crc.update(&input[..consumed]);
        }
        consumed
    }

    /// Sync-flushes: writes everything consumed so far as decodable output,
    /// ending with an empty stored block. Returns `true` when done, `false`
    /// if `out` filled up first (call again with more room). A flush with
    /// nothing consumed since the last one writes nothing.
    ///
    /// # Panics
    ///
    /// If called after [`finish`](Self::finish) began.
    pub fn flush(&mut self, out: &mut Vec<u8>) -> bool {
        if !self.header(out) {
            return false;
        }
        assert_eq!(self.state, State::Body, "flush after finish");
        self.run(&[], out, FlushCompress::Sync);
        // zlib's rule: the flush is complete when output space is left over.
        out.len() < out.capacity()
    }

    /// Ends the stream: the rest of the deflate data, then the trailer.
    /// Returns `true` when the stream is complete, `false` if `out` filled
    /// up first (call again with more room). Further calls return `true`
    /// and write nothing.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        if !self.header(out) {
            return false;
        }
        if self.state == State::Body {
            if self.run(&[], out, FlushCompress::Finish) != Status::StreamEnd {
                return false;
            }
            self.state = match self.format {
                Format::Gzip => State::Trailer { written: 0 },
                Format::Zlib | Format::Deflate => State::Done,
            };
        }
        if let State::Trailer { written } = self.state {
            let mut trailer = [0u8; 8];
            trailer[..4].copy_from_slice(&self.crc.sum().to_le_bytes());
            trailer[4..].copy_from_slice(&self.crc.amount().to_le_bytes());
            let n = put(&trailer[usize::from(written)..], out);
            let written = written + n as u8;
            self.state = if written == 8 {
                State::Done
            } else {
                State::Trailer { written }
            };
        }
        self.state == State::Done
    }

    /// Writes what is left of the gzip header; `true` once it is all out.
    fn header(&mut self, out: &mut Vec<u8>) -> bool {
        let State::Header { written } = self.state else {
            return true;
        };
        // RFC 1952 2.3.1: XFL 2 = slowest, 4 = fastest (as gzip and flate2 set it).
        let xfl = match self.level {
            9 => 2,
            0 | 1 => 4,
            _ => 0,
        };
        let header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255];
        let written = written + put(&header[usize::from(written)..], out) as u8;
        self.state = if written == 10 {
            State::Body
        } else {
            State::Header { written }
        };
        written == 10
    }

    fn run(&mut self, input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) -> Status {
        // The engine only fails on misuse (a stream already finished), which
        // the state machine rules out.
        self.deflate
            .compress_vec(input, out, flush)
            .expect("deflate engine misused")
    }
}

/// Copies as much of `bytes` as fits into `out`'s spare capacity.
fn put(bytes: &[u8], out: &mut Vec<u8>) -> usize {
    let n = bytes.len().min(out.capacity() - out.len());
    out.extend_from_slice(&bytes[..n]);
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::gzip::test_util::{decode_all, text};

    #[test]
    fn gzip_header_is_fixed_and_platform_independent() {
        for (level, xfl) in [(0, 4), (1, 4), (6, 0), (9, 2)] {
            let mut enc = Compressor::new(Format::Gzip, level);
            let mut out = Vec::with_capacity(100);
            assert!(enc.finish(&mut out));
            assert_eq!(out[..10], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]);
            // Empty input: CRC 0, ISIZE 0.
            assert_eq!(out[out.len() - 8..], [0; 8]);
        }
    }

    #[test]
    fn little_room_at_a_time_resumes_everywhere() {
        let data = text(5000);
        for format in [Format::Gzip, Format::Zlib, Format::Deflate] {
            let mut big = Compressor::new(format, 6);
            let mut expected = Vec::with_capacity(10_000);
            assert_eq!(big.compress(&data, &mut expected), data.len());
            assert!(big.flush(&mut expected));
            assert!(big.finish(&mut expected));

            const ROOM: usize = 7;
            let mut small = Compressor::new(format, 6);
            let mut got = Vec::new();
            let mut fed = 0;
            while fed < data.len() {
                let mut room = Vec::with_capacity(ROOM);
                fed += small.compress(&data[fed..], &mut room);
                got.extend_from_slice(&room);
            }
            loop {
                let mut room = Vec::with_capacity(ROOM);
                let done = small.flush(&mut room);
                got.extend_from_slice(&room);
                if done {
                    break;
                }
            }
            loop {
                let mut room = Vec::with_capacity(ROOM);
                let done = small.finish(&mut room);
                got.extend_from_slice(&room);
                if done {
                    break;
                }
            }
            // zlib-rs may cut blocks differently when output room is
            // scarce, so the bytes can differ; the stream must not.
            assert!(decode_all(format, &got) == data, "{format:?}");
            assert!(decode_all(format, &expected) == data, "{format:?}");
            assert!(small.is_finished());
            let mut room = Vec::with_capacity(10);
            assert!(small.finish(&mut room));
            assert!(room.is_empty());
        }
    }

    #[test]
    fn a_sync_flush_makes_everything_so_far_decodable_and_a_second_adds_nothing() {
        for format in [Format::Gzip, Format::Zlib, Format::Deflate] {
            let mut enc = Compressor::new(format, 6);
            let mut out = Vec::with_capacity(1000);
            enc.compress(b"data: tick 1\n\n", &mut out);
            assert!(enc.flush(&mut out));
            assert_eq!(out[out.len() - 4..], [0, 0, 0xff, 0xff]);
            let len = out.len();
            assert!(enc.flush(&mut out));
            assert_eq!(out.len(), len, "{format:?}");
            let mut dec = crate::codec::gzip::Decompressor::new(format);
            let mut plain = Vec::with_capacity(100);
            let p = dec.decode(&out, &mut plain).unwrap();
            assert_eq!(p.consumed, out.len());
            assert_eq!(plain, b"data: tick 1\n\n");
        }
    }

    #[test]
    #[should_panic(expected = "above 9")]
    fn level_above_9_panics() {
        Compressor::new(Format::Gzip, 10);
    }
}
