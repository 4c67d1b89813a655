//! [`Decompressor`]: the sans-I/O decoder for gzip, zlib and raw deflate.

use flate2::{Crc, FlushDecompress, Status};

use super::adler::Adler32;
use super::{
    DEFAULT_MAX_HEADER_FIELD, DEFAULT_MAX_OUTPUT, Format, GzipError, HeaderField, Progress,
};
use crate::codec::compression::ContentDecoder;

// gzip FLG bits, RFC 1952 section 2.3.1.
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0xe0;

/// A sans-I/O decoder: compressed bytes in, data out, with a cap on the
/// decompressed size.
///
/// [`decode`](Self::decode) takes any piece of the input — one byte or all
/// of it — and resumes after any byte, headers and trailers included. It
/// writes into the spare capacity of the caller's `Vec<u8>` and never grows
/// it, so the caller bounds memory. Each call returns when the input is
/// used up or the output is full; input it did not consume must be given
/// again.
///
/// At the end of the input, call `decode` with empty input (and room) until
/// it produces nothing, then [`finish`](Self::finish): it returns
/// [`GzipError::Truncated`] unless the stream (or the last gzip member)
/// ended. What is strict and what each limit does is in [the module
/// docs](super#limits).
///
/// ```
/// use producers::codec::gzip::{Decompressor, Format, GzipError};
///
/// // A zlib stream of "hi", fed one byte at a time.
/// let stream = [0x78, 0x9c, 0xcb, 0xc8, 0x04, 0x00, 0x01, 0x3b, 0x00, 0xd2];
/// let mut dec = Decompressor::new(Format::Zlib).max_output(2);
/// let mut out = Vec::with_capacity(16);
/// for b in stream.chunks(1) {
///     assert_eq!(dec.decode(b, &mut out)?.consumed, 1);
/// }
/// dec.finish()?;
/// assert_eq!(out, b"hi");
///
/// let mut cut = Decompressor::new(Format::Zlib);
/// cut.decode(&stream[..5], &mut out)?;
/// assert_eq!(cut.finish(), Err(GzipError::Truncated { offset: 5 }));
/// # Ok::<(), GzipError>(())
/// ```
#[derive(Debug)]
pub struct Decompressor {
    format: Format,
    max_output: u64,
    max_header_field: usize,
    /// The engine, always in raw deflate mode: headers and trailers are
    /// read here so that each failure is its own error.
    inflate: flate2::Decompress,
    state: State,
    /// CRC-32 and length (mod 2^32) of the current gzip member's data.
    crc: Crc,
    /// CRC-32 of the current gzip header so far; kept only with FHCRC.
    header_crc: Crc,
    /// Adler-32 of the zlib data.
    adler: Adler32,
    /// Input consumed over the whole stream: the offset of the next byte.
    total_in: u64,
    /// Output produced over the whole stream; never above `max_output`.
    total_out: u64,
    /// Complete gzip members read.
    members: u64,
}

/// What the decoder expects next. Fixed-size fields carry their partial
/// bytes (`buf`, `have`) so a parse resumes after any byte; `pending` is
/// the FLG bits whose fields are still to come (each is cleared as its
/// field is read, and FHCRC says whether to hash the header).
#[derive(Clone, Debug)]
enum State {
    /// The 10 fixed bytes of a gzip member header.
    GzipFixed { buf: [u8; 10], have: u8 },
    /// The 2-byte XLEN of FEXTRA, starting at `start`.
    GzipExtraLen {
        pending: u8,
        buf: [u8; 2],
        have: u8,
        start: u64,
    },
    /// `left` bytes of FEXTRA data to skip.
    GzipExtra { pending: u8, left: usize },
    /// A zero-terminated FNAME or FCOMMENT field that began at `start`.
    GzipText {
        pending: u8,
        field: HeaderField,
        start: u64,
    },
    /// The header's CRC-16.
    GzipHeaderCrc { buf: [u8; 2], have: u8 },
    /// The 2-byte zlib header.
    ZlibHeader { buf: [u8; 2], have: u8 },
    /// Deflate data.
    Body,
    /// A gzip member's CRC-32 and ISIZE.
    GzipTrailer { buf: [u8; 8], have: u8 },
    /// The zlib Adler-32.
    ZlibTrailer { buf: [u8; 4], have: u8 },
    /// A gzip member ended: the input may end, or another member begin.
    BetweenMembers,
    /// A zlib or deflate stream ended: only the end of input may follow.
    Done,
    /// An error was found; it is returned again by every call.
    Failed(GzipError),
}

/// Whether [`Decompressor::step`] can go on with the input it has.
enum Next {
    Go(State),
    Wait(State),
}

impl Decompressor {
    /// A decoder for `format`, with the default caps
    /// ([`DEFAULT_MAX_OUTPUT`], [`DEFAULT_MAX_HEADER_FIELD`]).
    pub fn new(format: Format) -> Decompressor {
        let state = match format {
            Format::Gzip => State::GzipFixed {
                buf: [0; 10],
                have: 0,
            },
            Format::Zlib => State::ZlibHeader {
                buf: [0; 2],
                have: 0,
            },
            Format::Deflate => State::Body,
        };
        Decompressor {
            format,
            max_output: DEFAULT_MAX_OUTPUT,
            max_header_field: DEFAULT_MAX_HEADER_FIELD,
            inflate: flate2::Decompress::new(false),
            state,
            crc: Crc::new(),
            header_crc: Crc::new(),
            adler: Adler32::default(),
            total_in: 0,
            total_out: 0,
            members: 0,
        }
    }

    /// Caps the decompressed size at `limit` bytes (over all gzip members):
    /// output of exactly `limit` bytes is fine, one more byte is
    /// [`GzipError::OutputTooLarge`], after the first `limit` bytes were
    /// produced. Default [`DEFAULT_MAX_OUTPUT`]; `u64::MAX` for none.
    pub fn max_output(mut self, limit: u64) -> Decompressor {
        self.max_output = limit;
        self
    }

    /// Caps each gzip FEXTRA, FNAME and FCOMMENT field at `limit` bytes
    /// (FNAME and FCOMMENT without their terminating zero); longer is
    /// [`GzipError::HeaderFieldTooLong`]. Default
    /// [`DEFAULT_MAX_HEADER_FIELD`]. The fields are skipped, never stored.
    pub fn max_header_field(mut self, limit: usize) -> Decompressor {
        self.max_header_field = limit;
        self
    }

    /// The format read.
    pub fn format(&self) -> Format {
        self.format
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

    /// Complete gzip members read so far.
    pub fn members(&self) -> u64 {
        self.members
    }

    /// Whether the input may end here: a zlib or deflate stream ended, or a
    /// gzip member did.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::BetweenMembers | State::Done)
    }

    /// Decodes from `input` into the spare capacity of `out` (which is
    /// never grown), until the input is used up or `out` is full.
    ///
    /// On error, what was appended to `out` before it is valid output; the
    /// decoder is then finished and returns the same error on every call.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, GzipError> {
        let start_out = out.len();
        let mut pos = 0;
        let result = loop {
            let state = std::mem::replace(&mut self.state, State::Done);
            match self.step(state, input, &mut pos, out) {
                Ok(Next::Go(s)) => self.state = s,
                Ok(Next::Wait(s)) => {
                    self.state = s;
                    break Ok(());
                }
                Err(e) => {
                    self.state = State::Failed(e.clone());
                    break Err(e);
                }
            }
        };
        self.total_in += pos as u64;
        result.map(|()| Progress {
            consumed: pos,
            produced: out.len() - start_out,
        })
    }

    /// Checks that the input may end here. Returns [`GzipError::Truncated`]
    /// (and is finished) if the stream did not end; the error found
    /// earlier, if any.
    ///
    /// Call it after draining: `decode(&[], out)` until it produces
    /// nothing.
    pub fn finish(&mut self) -> Result<(), GzipError> {
        match &self.state {
            State::Failed(e) => Err(e.clone()),
            State::BetweenMembers | State::Done => Ok(()),
            _ => {
                let e = GzipError::Truncated {
                    offset: self.total_in,
                };
                self.state = State::Failed(e.clone());
                Err(e)
            }
        }
    }

    /// Advances by one state. `pos` is how much of `input` is consumed;
    /// `self.total_in + pos` is the stream offset of `input[pos]`.
    fn step(
        &mut self,
        state: State,
        input: &[u8],
        pos: &mut usize,
        out: &mut Vec<u8>,
    ) -> Result<Next, GzipError> {
        let rest = &input[*pos..];
        let at = self.total_in + *pos as u64;
        if rest.is_empty() && !matches!(state, State::Body | State::Failed(_)) {
            return Ok(Next::Wait(state));
        }
        Ok(match state {
            State::Failed(e) => return Err(e),
            State::GzipFixed { mut buf, have } => {
                let n = fill(&mut buf, have, rest);
                *pos += n;
                let member = at - u64::from(have);
                for (i, &b) in buf.iter().enumerate().skip(usize::from(have)).take(n) {
                    self.check_fixed(i, b, member)?;
                }
                let have = have + n as u8;
                if have < 10 {
                    return Ok(Next::Wait(State::GzipFixed { buf, have }));
                }
                let pending = buf[3] & (FEXTRA | FNAME | FCOMMENT | FHCRC);
                if pending & FHCRC != 0 {
                    self.header_crc.reset();
                    self.header_crc.update(&buf);
                }
                Next::Go(self.next_field(pending, at + n as u64))
            }
            State::GzipExtraLen {
                pending,
                mut buf,
                have,
                start,
            } => {
                let n = fill(&mut buf, have, rest);
                self.hash_header(pending, &rest[..n]);
                *pos += n;
                let have = have + n as u8;
                if have < 2 {
                    return Ok(Next::Wait(State::GzipExtraLen {
                        pending,
                        buf,
                        have,
                        start,
                    }));
                }
                let xlen = usize::from(u16::from_le_bytes(buf));
                if xlen > self.max_header_field {
                    return Err(GzipError::HeaderFieldTooLong {
                        field: HeaderField::Extra,
                        limit: self.max_header_field,
                        offset: start,
                    });
                }
                Next::Go(State::GzipExtra {
                    pending,
                    left: xlen,
                })
            }
            State::GzipExtra { pending, left } => {
                let n = left.min(rest.len());
                self.hash_header(pending, &rest[..n]);
                *pos += n;
                if n < left {
                    return Ok(Next::Wait(State::GzipExtra {
                        pending,
                        left: left - n,
                    }));
                }
                Next::Go(self.next_field(pending & !FEXTRA, at + n as u64))
            }
            State::GzipText {
                pending,
                field,
                start,
            } => {
                let seen = (at - start) as usize;
                let (len, end) = match memchr::memchr(0, rest) {
                    Some(i) => (seen + i, Some(i + 1)),
                    None => (seen + rest.len(), None),
                };
                if len > self.max_header_field {
                    return Err(GzipError::HeaderFieldTooLong {
                        field,
                        limit: self.max_header_field,
                        offset: start,
                    });
                }
                let n = end.unwrap_or(rest.len());
                self.hash_header(pending, &rest[..n]);
                *pos += n;
                if end.is_none() {
                    return Ok(Next::Wait(State::GzipText {
                        pending,
                        field,
                        start,
                    }));
                }
                let done = if field == HeaderField::Name {
                    FNAME
                } else {
                    FCOMMENT
                };
                Next::Go(self.next_field(pending & !done, at + n as u64))
            }
            State::GzipHeaderCrc { mut buf, have } => {
                let n = fill(&mut buf, have, rest);
                *pos += n;
                let have = have + n as u8;
                if have < 2 {
                    return Ok(Next::Wait(State::GzipHeaderCrc { buf, have }));
                }
                let expected = self.header_crc.sum() as u16;
                let found = u16::from_le_bytes(buf);
                if found != expected {
                    return Err(GzipError::HeaderCrcMismatch {
                        offset: at + n as u64 - 2,
                        expected,
                        found,
                    });
                }
                Next::Go(self.start_body())
            }
            State::ZlibHeader { mut buf, have } => {
                let n = fill(&mut buf, have, rest);
                *pos += n;
                let have = have + n as u8;
                if have < 2 {
                    return Ok(Next::Wait(State::ZlibHeader { buf, have }));
                }
                check_zlib_header(buf, at + n as u64 - 2)?;
                Next::Go(self.start_body())
            }
            State::Body => {
                if self.body(input, pos, out)? {
                    match self.format {
                        Format::Gzip => Next::Go(State::GzipTrailer {
                            buf: [0; 8],
                            have: 0,
                        }),
                        Format::Zlib => Next::Go(State::ZlibTrailer {
                            buf: [0; 4],
                            have: 0,
                        }),
                        Format::Deflate => Next::Go(State::Done),
                    }
                } else {
                    Next::Wait(State::Body)
                }
            }
            State::GzipTrailer { mut buf, have } => {
                let n = fill(&mut buf, have, rest);
                *pos += n;
                let have = have + n as u8;
                if have < 8 {
                    return Ok(Next::Wait(State::GzipTrailer { buf, have }));
                }
                let trailer = at + n as u64 - 8;
                let [c0, c1, c2, c3, l0, l1, l2, l3] = buf;
                let found = u32::from_le_bytes([c0, c1, c2, c3]);
                if found != self.crc.sum() {
                    return Err(GzipError::CrcMismatch {
                        offset: trailer,
                        expected: self.crc.sum(),
                        found,
                    });
                }
                let found = u32::from_le_bytes([l0, l1, l2, l3]);
                if found != self.crc.amount() {
                    return Err(GzipError::LengthMismatch {
                        offset: trailer + 4,
                        expected: self.crc.amount(),
                        found,
                    });
                }
                self.members += 1;
                Next::Go(State::BetweenMembers)
            }
            State::ZlibTrailer { mut buf, have } => {
                let n = fill(&mut buf, have, rest);
                *pos += n;
                let have = have + n as u8;
                if have < 4 {
                    return Ok(Next::Wait(State::ZlibTrailer { buf, have }));
                }
                let found = u32::from_be_bytes(buf);
                if found != self.adler.sum() {
                    return Err(GzipError::Adler32Mismatch {
                        offset: at + n as u64 - 4,
                        expected: self.adler.sum(),
                        found,
                    });
                }
                Next::Go(State::Done)
            }
            // Input is waiting: another member starts here.
            State::BetweenMembers => Next::Go(State::GzipFixed {
                buf: [0; 10],
                have: 0,
            }),
            State::Done => return Err(GzipError::TrailingData { offset: at }),
        })
    }

    /// Checks byte `i` of a gzip member's fixed header, which starts at
    /// `member`.
    fn check_fixed(&self, i: usize, b: u8, member: u64) -> Result<(), GzipError> {
        let offset = member + i as u64;
        match (i, b) {
            (0, 0x1f) | (1, 0x8b) | (2, 8) => Ok(()),
            // After a member, anything but another member is trailing data.
            (0 | 1, _) if self.members > 0 => Err(GzipError::TrailingData { offset: member }),
            (0 | 1, found) => Err(GzipError::BadMagic { offset, found }),
            (2, found) => Err(GzipError::UnsupportedMethod { offset, found }),
            (3, found) if found & FRESERVED != 0 => Err(GzipError::ReservedFlags { offset, found }),
            _ => Ok(()),
        }
    }

    /// The state for the next optional header field still `pending`, which
    /// would start at offset `at`.
    fn next_field(&mut self, pending: u8, at: u64) -> State {
        if pending & FEXTRA != 0 {
            State::GzipExtraLen {
                pending,
                buf: [0; 2],
                have: 0,
                start: at,
            }
        } else if pending & FNAME != 0 {
            State::GzipText {
                pending,
                field: HeaderField::Name,
                start: at,
            }
        } else if pending & FCOMMENT != 0 {
            State::GzipText {
                pending,
                field: HeaderField::Comment,
                start: at,
            }
        } else if pending & FHCRC != 0 {
            State::GzipHeaderCrc {
                buf: [0; 2],
                have: 0,
            }
        } else {
            self.start_body()
        }
    }

    fn hash_header(&mut self, pending: u8, bytes: &[u8]) {
        if pending & FHCRC != 0 {
            self.header_crc.update(bytes);
        }
    }

    fn start_body(&mut self) -> State {
        if self.members > 0 {
            self.inflate.reset(false);
            self.crc.reset();
        }
        State::Body
    }

    /// Inflates from `input[*pos..]` into `out`, within the output cap.
    /// Returns `true` at the end of the deflate data, `false` when it needs
    /// more input or more room.
    fn body(
        &mut self,
        input: &[u8],
        pos: &mut usize,
        out: &mut Vec<u8>,
    ) -> Result<bool, GzipError> {
        loop {
            let spare = out.capacity() - out.len();
            if spare == 0 {
                return Ok(false);
            }
            let rest = &input[*pos..];
            let remaining = self.max_output - self.total_out;
            let (in0, out0) = (self.inflate.total_in(), self.inflate.total_out());
            let window = spare.min(usize::try_from(remaining).unwrap_or(usize::MAX));
            let start = out.len();
            let result = if window == 0 {
                // At the cap: any one more byte is too many, but the stream
                // may still end (or need input) without producing one.
                let mut probe = [0u8; 1];
                self.inflate
                    .decompress(rest, &mut probe, FlushDecompress::None)
            } else if window == spare {
                self.inflate
                    .decompress_vec(rest, out, FlushDecompress::None)
            } else {
                out.resize(start + window, 0);
                let r = self
                    .inflate
                    .decompress(rest, &mut out[start..], FlushDecompress::None);
                out.truncate(start + (self.inflate.total_out() - out0) as usize);
                r
            };
            let consumed = (self.inflate.total_in() - in0) as usize;
            let produced = (self.inflate.total_out() - out0) as usize;
            *pos += consumed;
            if window == 0 {
                if produced > 0 {
                    return Err(GzipError::OutputTooLarge {
                        limit: self.max_output,
                        offset: self.total_in + *pos as u64,
                    });
                }
            } else {
                // Counted even when the engine then failed: the bytes are in
                // `out`, and `total_out` says how many were handed over.
                let new = &out[start..];
                match self.format {
                    Format::Gzip => self.crc.update(new),
                    Format::Zlib => self.adler.update(new),
                    Format::Deflate => {}
                }
                self.total_out += produced as u64;
            }
            let status = result.map_err(|e| GzipError::Corrupt {
                offset: self.total_in + *pos as u64,
                detail: e.message().unwrap_or("").to_owned(),
            })?;
            if status == Status::StreamEnd {
                return Ok(true);
            }
            if (consumed == 0 && produced == 0) || (*pos == input.len() && produced < window) {
                // No progress, or all input used with room to spare: the
                // engine has nothing more to give until more input arrives.
                return Ok(false);
            }
        }
    }
}

impl ContentDecoder for Decompressor {
    type Error = GzipError;

    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Progress, GzipError> {
        Decompressor::decode(self, input, out)
    }

    fn finish(&mut self) -> Result<(), GzipError> {
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

/// Copies as much of `rest` as fits after the first `have` bytes of `buf`.
fn fill<const N: usize>(buf: &mut [u8; N], have: u8, rest: &[u8]) -> usize {
    let have = usize::from(have);
    let n = (N - have).min(rest.len());
    buf[have..have + n].copy_from_slice(&rest[..n]);
    n
}

/// RFC 1950 section 2.2, checked in zlib's order: the check bits first
/// (they guard the rest), then the method, window size and dictionary flag.
fn check_zlib_header([cmf, flg]: [u8; 2], offset: u64) -> Result<(), GzipError> {
    let both = u16::from_be_bytes([cmf, flg]);
    if both % 31 != 0 {
        return Err(GzipError::BadHeaderCheck {
            offset,
            found: both,
        });
    }
    if cmf & 0x0f != 8 {
        return Err(GzipError::UnsupportedMethod {
            offset,
            found: cmf & 0x0f,
        });
    }
    if cmf >> 4 > 7 {
        return Err(GzipError::BadWindowSize {
            offset,
            found: cmf >> 4,
        });
    }
    if flg & 0x20 != 0 {
        return Err(GzipError::PresetDictionary { offset: offset + 1 });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::gzip::test_util::{FORMATS, decode_all, decode_pieces, encode_all, text};

    fn dec(format: Format) -> Decompressor {
        Decompressor::new(format)
    }

    /// A gzip member with every optional header field, made by hand.
    fn fancy_member(data: &[u8], name: &[u8], comment: &[u8], extra: &[u8]) -> Vec<u8> {
        let mut m = vec![
            0x1f,
            0x8b,
            8,
            FEXTRA | FNAME | FCOMMENT | FHCRC,
            1,
            2,
            3,
            4,
            0,
            3,
        ];
        m.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        m.extend_from_slice(extra);
        m.extend_from_slice(name);
        m.push(0);
        m.extend_from_slice(comment);
        m.push(0);
        let mut hcrc = Crc::new();
        hcrc.update(&m);
        m.extend_from_slice(&(hcrc.sum() as u16).to_le_bytes());
        m.extend_from_slice(&encode_all(Format::Deflate, 6, data));
        let mut crc = Crc::new();
        crc.update(data);
        m.extend_from_slice(&crc.sum().to_le_bytes());
        m.extend_from_slice(&(data.len() as u32).to_le_bytes());
        m
    }

    fn samples() -> Vec<(Format, Vec<u8>, Vec<u8>)> {
        let mut v = Vec::new();
        for format in FORMATS {
            for data in [&b""[..], b"hello, hello", &text(3000)] {
                v.push((format, data.to_vec(), encode_all(format, 6, data)));
            }
        }
        v.push((
            Format::Gzip,
            b"fancy".to_vec(),
            fancy_member(b"fancy", b"f.txt", b"hi", b"ab\x02\x00xy"),
        ));
        let two = [
            encode_all(Format::Gzip, 1, b"first "),
            encode_all(Format::Gzip, 9, b"second"),
        ]
        .concat();
        v.push((Format::Gzip, b"first second".to_vec(), two));
        v
    }

    #[test]
    fn every_split_gives_the_same_output() {
        for (format, data, stream) in samples() {
            for room in [1, 7, 1 << 16] {
                assert_eq!(decode_pieces(dec(format), &[&stream], room).unwrap(), data);
                for i in 0..=stream.len() {
                    let (a, b) = stream.split_at(i);
                    let got = decode_pieces(dec(format), &[a, b], room).unwrap();
                    assert_eq!(got, data, "{format:?} split at {i}, room {room}");
                    if stream.len() < 64 {
                        for j in i..=b.len() + i {
                            let (b1, b2) = b.split_at(j - i);
                            let got = decode_pieces(dec(format), &[a, b1, b2], room).unwrap();
                            assert_eq!(got, data, "{format:?} split at {i} and {j}, room {room}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn one_byte_at_a_time() {
        for (format, data, stream) in samples() {
            let pieces: Vec<&[u8]> = stream.chunks(1).collect();
            assert_eq!(
                decode_pieces(dec(format), &pieces, 3).unwrap(),
                data,
                "{format:?}"
            );
        }
    }

    #[test]
    fn every_strict_prefix_is_truncated() {
        for (format, _, stream) in samples() {
            // Where the input may end: after each gzip member.
            let mut d = dec(format);
            let mut ends = Vec::new();
            for (i, b) in stream.iter().enumerate() {
                d.decode(std::slice::from_ref(b), &mut Vec::with_capacity(1 << 16))
                    .unwrap();
                if d.is_complete() {
                    ends.push(i + 1);
                }
            }
            assert_eq!(ends.last(), Some(&stream.len()));
            for n in 0..stream.len() {
                if ends.contains(&n) {
                    assert_eq!(format, Format::Gzip);
                    continue;
                }
                let got = decode_pieces(dec(format), &[&stream[..n]], 1 << 16);
                assert_eq!(
                    got,
                    Err(GzipError::Truncated { offset: n as u64 }),
                    "{format:?} prefix {n}"
                );
            }
        }
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        encode_all(Format::Gzip, 6, data)
    }

    fn zl(data: &[u8]) -> Vec<u8> {
        encode_all(Format::Zlib, 6, data)
    }

    fn with(mut v: Vec<u8>, at: usize, b: u8) -> Vec<u8> {
        v[at] = b;
        v
    }

    fn xor_at_end(mut v: Vec<u8>, from_end: usize) -> Vec<u8> {
        let n = v.len();
        v[n - from_end] ^= 0x01;
        v
    }

    fn crc(data: &[u8]) -> u32 {
        let mut c = Crc::new();
        c.update(data);
        c.sum()
    }

    fn adler(data: &[u8]) -> u32 {
        let mut a = Adler32::default();
        a.update(data);
        a.sum()
    }

    #[test]
    fn malformed_inputs_give_their_own_errors() {
        let hello = b"hello world";
        let g = gz(hello);
        let z = zl(hello);
        let gl = g.len() as u64;
        let zlen = z.len() as u64;
        // Reserved block type 3 with BFINAL set: the engine rejects the first byte.
        let corrupt_gz = [&g[..10], &[0x07, 0, 0, 0][..]].concat();
        // A zlib header with CM 7 and a valid check: 0x77 * 256 + flg divisible by 31.
        let flg7 = (0..=255u8)
            .find(|f| (0x7700u16 + u16::from(*f)).is_multiple_of(31))
            .unwrap();
        let flg8 = (0..=255u8)
            .find(|f| (0x8800u16 + u16::from(*f)).is_multiple_of(31))
            .unwrap();
        let cases: Vec<(&str, Format, Vec<u8>, GzipError)> = vec![
            (
                "bad magic 0",
                Format::Gzip,
                with(g.clone(), 0, 0x1e),
                GzipError::BadMagic {
                    offset: 0,
                    found: 0x1e,
                },
            ),
            (
                "bad magic 1",
                Format::Gzip,
                with(g.clone(), 1, 0x8c),
                GzipError::BadMagic {
                    offset: 1,
                    found: 0x8c,
                },
            ),
            (
                "bad method",
                Format::Gzip,
                with(g.clone(), 2, 7),
                GzipError::UnsupportedMethod {
                    offset: 2,
                    found: 7,
                },
            ),
            (
                "reserved flags",
                Format::Gzip,
                with(g.clone(), 3, 0x20),
                GzipError::ReservedFlags {
                    offset: 3,
                    found: 0x20,
                },
            ),
            (
                "corrupt deflate",
                Format::Gzip,
                corrupt_gz,
                GzipError::Corrupt {
                    offset: 11,
                    detail: "invalid block type".into(),
                },
            ),
            (
                "wrong crc",
                Format::Gzip,
                xor_at_end(g.clone(), 8),
                GzipError::CrcMismatch {
                    offset: gl - 8,
                    expected: crc(hello),
                    found: crc(hello) ^ 1,
                },
            ),
            (
                "wrong isize",
                Format::Gzip,
                xor_at_end(g.clone(), 4),
                GzipError::LengthMismatch {
                    offset: gl - 4,
                    expected: 11,
                    found: 10,
                },
            ),
            (
                "gzip truncated",
                Format::Gzip,
                g[..g.len() - 1].to_vec(),
                GzipError::Truncated { offset: gl - 1 },
            ),
            (
                "gzip trailing byte",
                Format::Gzip,
                [&g[..], b"x"].concat(),
                GzipError::TrailingData { offset: gl },
            ),
            (
                "gzip trailing zeros",
                Format::Gzip,
                [&g[..], &[0, 0][..]].concat(),
                GzipError::TrailingData { offset: gl },
            ),
            (
                "gzip trailing 1f",
                Format::Gzip,
                [&g[..], &[0x1f, 0][..]].concat(),
                GzipError::TrailingData { offset: gl },
            ),
            (
                "empty gzip",
                Format::Gzip,
                vec![],
                GzipError::Truncated { offset: 0 },
            ),
            (
                "zlib fcheck",
                Format::Zlib,
                with(z.clone(), 1, 0x9d),
                GzipError::BadHeaderCheck {
                    offset: 0,
                    found: 0x789d,
                },
            ),
            (
                "zlib method",
                Format::Zlib,
                [&[0x77, flg7][..], &z[2..]].concat(),
                GzipError::UnsupportedMethod {
                    offset: 0,
                    found: 7,
                },
            ),
            (
                "zlib window",
                Format::Zlib,
                [&[0x88, flg8][..], &z[2..]].concat(),
                GzipError::BadWindowSize {
                    offset: 0,
                    found: 8,
                },
            ),
            (
                "zlib fdict",
                Format::Zlib,
                [&[0x78, 0xbb][..], &z[2..]].concat(),
                GzipError::PresetDictionary { offset: 1 },
            ),
            (
                "zlib corrupt",
                Format::Zlib,
                vec![0x78, 0x9c, 0x07],
                GzipError::Corrupt {
                    offset: 3,
                    detail: "invalid block type".into(),
                },
            ),
            (
                "wrong adler32",
                Format::Zlib,
                xor_at_end(z.clone(), 1),
                GzipError::Adler32Mismatch {
                    offset: zlen - 4,
                    expected: adler(hello),
                    found: adler(hello) ^ 1,
                },
            ),
            (
                "zlib truncated",
                Format::Zlib,
                z[..z.len() - 1].to_vec(),
                GzipError::Truncated { offset: zlen - 1 },
            ),
            (
                "zlib trailing",
                Format::Zlib,
                [&z[..], b"x"].concat(),
                GzipError::TrailingData { offset: zlen },
            ),
            (
                "deflate corrupt",
                Format::Deflate,
                vec![0x07],
                GzipError::Corrupt {
                    offset: 1,
                    detail: "invalid block type".into(),
                },
            ),
            (
                "deflate trailing",
                Format::Deflate,
                [&encode_all(Format::Deflate, 6, hello)[..], b"x"].concat(),
                GzipError::TrailingData { offset: 13 },
            ),
        ];
        for (name, format, input, expected) in cases {
            // Whole, and byte by byte: the same error.
            let got = decode_pieces(dec(format), &[&input], 1 << 16);
            assert_eq!(got.as_ref(), Err(&expected), "{name}");
            let pieces: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(
                decode_pieces(dec(format), &pieces, 1).as_ref(),
                Err(&expected),
                "{name}, bytewise"
            );
        }
    }

    #[test]
    fn the_output_cap_is_exact_and_has_its_own_error() {
        let data = text(100_000);
        for format in FORMATS {
            let stream = encode_all(format, 6, &data);
            let n = data.len() as u64;
            let exact = decode_pieces(dec(format).max_output(n), &[&stream], 4096).unwrap();
            assert_eq!(exact, data);
            for room in [1000, 1 << 16] {
                let mut d = dec(format).max_output(n - 1);
                let mut out = Vec::new();
                let mut input = &stream[..];
                let err = loop {
                    let mut buf = Vec::with_capacity(room);
                    match d.decode(input, &mut buf) {
                        Ok(p) => {
                            input = &input[p.consumed..];
                            out.extend_from_slice(&buf);
                        }
                        Err(e) => {
                            out.extend_from_slice(&buf);
                            break e;
                        }
                    }
                };
                assert!(
                    matches!(err, GzipError::OutputTooLarge { limit, .. } if limit == n - 1),
                    "{err:?}"
                );
                assert_eq!(
                    out,
                    data[..data.len() - 1],
                    "{format:?}: exactly the cap was produced"
                );
                assert_eq!(d.total_out(), n - 1);
                // Finished: the same error again.
                assert_eq!(d.decode(&[], &mut Vec::with_capacity(10)), Err(err.clone()));
                assert_eq!(d.finish(), Err(err));
            }
        }
    }

    #[test]
    fn a_zero_cap_allows_only_empty_data() {
        for format in FORMATS {
            assert_eq!(
                decode_pieces(
                    dec(format).max_output(0),
                    &[&encode_all(format, 6, b"")],
                    10
                )
                .unwrap(),
                b""
            );
            let err = decode_pieces(
                dec(format).max_output(0),
                &[&encode_all(format, 6, b"x")],
                10,
            )
            .unwrap_err();
            assert!(
                matches!(err, GzipError::OutputTooLarge { limit: 0, .. }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn multi_member_gzip_is_read_in_full_and_the_cap_spans_members() {
        let a = encode_all(Format::Gzip, 6, b"first member, ");
        let b = encode_all(Format::Gzip, 1, b"second member, ");
        let c = encode_all(Format::Gzip, 0, b"");
        let d = fancy_member(b"fourth", b"name", b"", b"");
        let all = [&a[..], &b, &c, &d].concat();
        let mut decoder = dec(Format::Gzip);
        let mut out = Vec::with_capacity(100);
        decoder.decode(&all, &mut out).unwrap();
        decoder.finish().unwrap();
        assert_eq!(out, b"first member, second member, fourth");
        assert_eq!(decoder.members(), 4);
        assert_eq!(decoder.total_in(), all.len() as u64);
        let err = decode_pieces(dec(Format::Gzip).max_output(20), &[&all], 100).unwrap_err();
        assert!(
            matches!(err, GzipError::OutputTooLarge { limit: 20, .. }),
            "{err:?}"
        );
        // A bad second member is reported where it starts.
        let bad = [&a[..], &with(b.clone(), 2, 9)].concat();
        assert_eq!(
            decode_pieces(dec(Format::Gzip), &[&bad], 100),
            Err(GzipError::UnsupportedMethod {
                offset: a.len() as u64 + 2,
                found: 9
            })
        );
    }

    #[test]
    fn header_fields_are_capped_and_the_header_crc_checked() {
        let name = vec![b'n'; 100];
        let m = fancy_member(b"x", &name, b"comment", b"extra");
        assert_eq!(
            decode_pieces(dec(Format::Gzip).max_header_field(100), &[&m], 10).unwrap(),
            b"x"
        );
        let extra_at = 10;
        let name_at = 12 + 5;
        let comment_at = name_at + 101;
        let cases = [
            (
                99,
                GzipError::HeaderFieldTooLong {
                    field: HeaderField::Name,
                    limit: 99,
                    offset: name_at,
                },
            ),
            (
                6,
                GzipError::HeaderFieldTooLong {
                    field: HeaderField::Name,
                    limit: 6,
                    offset: name_at,
                },
            ),
            (
                4,
                GzipError::HeaderFieldTooLong {
                    field: HeaderField::Extra,
                    limit: 4,
                    offset: extra_at,
                },
            ),
        ];
        for (limit, expected) in cases {
            for room in [1, 100] {
                let pieces: Vec<&[u8]> = m.chunks(room).collect();
                let got = decode_pieces(dec(Format::Gzip).max_header_field(limit), &pieces, 10);
                assert_eq!(got, Err(expected.clone()), "limit {limit}");
            }
        }
        let long_comment = fancy_member(b"x", b"n", &[b'c'; 50], b"");
        assert_eq!(
            decode_pieces(dec(Format::Gzip).max_header_field(49), &[&long_comment], 10),
            Err(GzipError::HeaderFieldTooLong {
                field: HeaderField::Comment,
                limit: 49,
                offset: 14
            })
        );
        let _ = comment_at;
        // Flip the header CRC.
        let hcrc_at = 10 + 2 + 5 + 101 + 8;
        let bad = with(m.clone(), hcrc_at, m[hcrc_at] ^ 0xff);
        let got = decode_pieces(dec(Format::Gzip).max_header_field(100), &[&bad], 10).unwrap_err();
        assert!(
            matches!(got, GzipError::HeaderCrcMismatch { offset, found, expected }
                if offset == hcrc_at as u64 && found ^ expected == 0xff),
            "{got:?}"
        );
    }

    #[test]
    fn decoding_flate2s_own_gzip_and_zlib_streams() {
        use std::io::Write;
        let data = text(20_000);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
        e.write_all(&data).unwrap();
        assert_eq!(decode_all(Format::Gzip, &e.finish().unwrap()), data);
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(1));
        e.write_all(&data).unwrap();
        assert_eq!(decode_all(Format::Zlib, &e.finish().unwrap()), data);
    }

    #[test]
    fn output_before_corrupt_data_is_counted_and_kept() {
        let mut enc = crate::codec::gzip::Compressor::new(Format::Deflate, 6);
        let mut stream = Vec::with_capacity(100);
        enc.compress(b"hello", &mut stream);
        assert!(enc.flush(&mut stream));
        stream.push(0x07);
        let mut d = dec(Format::Deflate);
        let mut out = Vec::with_capacity(100);
        let err = d.decode(&stream, &mut out).unwrap_err();
        assert_eq!(
            err,
            GzipError::Corrupt {
                offset: stream.len() as u64,
                detail: "invalid block type".into()
            }
        );
        assert_eq!(out, b"hello");
        assert_eq!(d.total_out(), 5);
    }

    #[test]
    fn counts_and_completion() {
        let stream = encode_all(Format::Zlib, 6, b"abc");
        let mut d = dec(Format::Zlib);
        assert!(!d.is_complete());
        let mut out = Vec::with_capacity(10);
        let p = d.decode(&stream, &mut out).unwrap();
        assert_eq!(
            p,
            Progress {
                consumed: stream.len(),
                produced: 3
            }
        );
        assert!(d.is_complete());
        assert_eq!((d.total_in(), d.total_out()), (stream.len() as u64, 3));
        assert_eq!(d.format(), Format::Zlib);
        assert_eq!(d.output_limit(), crate::codec::gzip::DEFAULT_MAX_OUTPUT);
        d.finish().unwrap();
    }
}
