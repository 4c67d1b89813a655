//! [`ChunkedDecoder`]: a sans-I/O decoder of the chunked transfer coding.

use std::mem;

use bytes::{Buf, Bytes, BytesMut};

use super::{ChunkedError, Extension, Leniency, Limits, MAX_SIZE_DIGITS, Trailer};
use crate::codec::syntax::{is_forbidden_ctl, is_tchar};

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// One step of [`ChunkedDecoder::decode`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Payload, split off the front of the buffer without copying. Never
    /// empty. It belongs to the chunk whose extensions
    /// [`ChunkedDecoder::chunk_extensions`] gives now.
    Data(Bytes),
    /// The buffer has been used up (it is empty now); feed more input, or
    /// call [`ChunkedDecoder::finish`] if there is none.
    NeedMore,
    /// The final CRLF has been consumed. Whatever is left in the buffer
    /// belongs to the next message. Trailers are in
    /// [`ChunkedDecoder::trailers`]. Every later call returns `End` again
    /// without touching the buffer.
    End,
}

/// A sans-I/O decoder of one chunked message (RFC 9112 section 7.1).
///
/// Strict by default; see the [module documentation](super) for the grammar,
/// the [limits](super#limits) and the [leniency options](super#leniency).
///
/// The decoder holds no input: each call to [`decode`](Self::decode)
/// consumes framing bytes from the front of the buffer it is given and
/// splits chunk data off it. It resumes after any byte, never looks at a
/// byte twice, and holds at most an incomplete extension or trailer field
/// (bounded by the caps).
///
/// ```
/// use bytes::BytesMut;
/// use producers::codec::chunked::{ChunkedDecoder, ChunkedError, Decoded};
///
/// let mut d = ChunkedDecoder::new();
/// let mut buf = BytesMut::from(&b"3;name=\"x y\"\r\nab"[..]);
/// assert_eq!(d.decode(&mut buf)?, Decoded::Data("ab".into()));
/// assert_eq!(d.chunk_extensions()[0].name, "name");
/// assert_eq!(d.chunk_extensions()[0].value.as_deref(), Some(&b"x y"[..]));
/// assert_eq!(d.decode(&mut buf)?, Decoded::NeedMore);
/// assert_eq!(d.finish(), Err(ChunkedError::UnexpectedEnd { offset: 16 }));
///
/// buf.extend_from_slice(b"c\n");
/// assert_eq!(d.decode(&mut buf)?, Decoded::Data("c".into()));
/// assert_eq!(d.decode(&mut buf), Err(ChunkedError::BareLf { offset: 17 }));
/// # Ok::<(), ChunkedError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    limits: Limits,
    leniency: Leniency,
    /// Bytes of the message consumed so far (all of them, framing and data).
    offset: u64,
    /// The chunk size parsed so far on the current size line.
    size: u64,
    /// Hex digits seen so far on the current size line (leading zeros
    /// included).
    digits: u32,
    /// Bytes of the current size line so far, without its CR or LF.
    line_len: usize,
    /// Extension bytes of the whole message so far, counted from each `;`.
    extension_bytes: usize,
    /// Bytes of the trailer section so far (field lines with their CRLF).
    trailer_bytes: usize,
    /// The extensions of the size line being parsed.
    line_extensions: Vec<Extension>,
    /// The extensions of the last complete size line.
    extensions: Vec<Extension>,
    /// The name of the extension or trailer field being parsed.
    name: String,
    /// The value of the extension (`None` until its `=`) or trailer field
    /// being parsed. Trailer values always use `Some`.
    value: Option<Vec<u8>>,
    trailers: Vec<Trailer>,
}

/// What the decoder expects next. Chunk sizes, extensions and counters live
/// in the decoder's fields; each state only says where in the grammar the
/// next byte falls.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// The first hex digit of a size line.
    SizeStart,
    /// More hex digits, or what may follow them (BWS, `;`, CR).
    SizeDigits,
    /// After whitespace that followed the size: more whitespace or `;`.
    SizeWs {
        /// Where the whitespace started, for the error if no `;` follows.
        at: u64,
    },
    /// After `;`: whitespace or the first byte of an extension name.
    ExtBeforeName,
    /// More of an extension name, or what may follow it.
    ExtName,
    /// Whitespace after an extension name: more, `=` or `;`.
    ExtNameWs,
    /// After `=`: whitespace, a token or a quoted-string.
    ExtBeforeValue,
    /// More of a token value, or what may follow it.
    ExtToken,
    /// Inside a quoted-string value.
    ExtQuoted,
    /// The byte after a backslash in a quoted-string.
    ExtQuotedPair,
    /// Right after a quoted-string: whitespace, `;` or CR.
    ExtAfterQuoted,
    /// Whitespace after a value: more whitespace or `;`.
    ExtValueWs,
    /// The LF ending a size line.
    SizeLf,
    /// Chunk data.
    Data {
        /// Data bytes of this chunk not yet handed out; never zero.
        remaining: u64,
    },
    /// The CR after chunk data.
    DataCr,
    /// The LF after chunk data.
    DataLf,
    /// A trailer field name, or the CR of the final line.
    TrailerStart,
    /// More of a trailer field name, or its colon.
    TrailerName,
    /// A trailer field value, up to its CR.
    TrailerValue,
    /// The LF ending a trailer field line.
    TrailerLf,
    /// The LF of the final CRLF.
    EndLf,
    /// The message is complete.
    Done,
    /// Decoding failed; the error is repeated on every call.
    Failed(ChunkedError),
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder::new()
    }
}

impl ChunkedDecoder {
    /// A strict decoder with the default [`Limits`].
    pub fn new() -> Self {
        ChunkedDecoder::with_limits(Limits::default())
    }

    /// A strict decoder with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        ChunkedDecoder {
            state: State::SizeStart,
            limits,
            leniency: Leniency::default(),
            offset: 0,
            size: 0,
            digits: 0,
            line_len: 0,
            extension_bytes: 0,
            trailer_bytes: 0,
            line_extensions: Vec::new(),
            extensions: Vec::new(),
            name: String::new(),
            value: None,
            trailers: Vec::new(),
        }
    }

    /// Accepts the deviations switched on in `leniency` (see the
    /// [leniency table](super#leniency)).
    pub fn leniency(mut self, leniency: Leniency) -> Self {
        self.leniency = leniency;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Bytes of the message consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the final CRLF has been consumed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The extensions of the last complete size line: after
    /// [`Decoded::Data`], those of the chunk the data belongs to; after
    /// [`Decoded::End`], those of the last-chunk.
    pub fn chunk_extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The trailer fields, in order (complete after [`Decoded::End`]).
    pub fn trailers(&self) -> &[Trailer] {
        &self.trailers
    }

    /// Takes the trailer fields out of the decoder.
    pub fn take_trailers(&mut self) -> Vec<Trailer> {
        mem::take(&mut self.trailers)
    }

    /// Makes the decoder ready for the next message, keeping its limits and
    /// leniency.
    pub fn reset(&mut self) {
        *self = ChunkedDecoder::with_limits(self.limits).leniency(self.leniency);
    }

    /// The end of input: `Ok` if the message was complete, else
    /// [`ChunkedError::UnexpectedEnd`] at the number of bytes consumed (or
    /// the error the decoder already failed with).
    pub fn finish(&self) -> Result<(), ChunkedError> {
        match &self.state {
            State::Done => Ok(()),
            State::Failed(e) => Err(e.clone()),
            _ => Err(ChunkedError::UnexpectedEnd {
                offset: self.offset,
            }),
        }
    }

    /// Decodes what `buf` holds, handing each piece of payload to
    /// `on_data` as [`decode`](Self::decode) splits it off: `Ok(true)` once
    /// the final CRLF is consumed (what is left in `buf` belongs to the
    /// next message), `Ok(false)` once `buf` is used up. The first error,
    /// the decoder's or `on_data`'s, stops it; the bytes decoded until then
    /// are gone from `buf`, so a caller counting the bytes it was given
    /// measures `buf` before and after.
    ///
    /// The loop every push-driven adapter runs: the
    /// [`ChunkedBody`](crate::consume::ChunkedBody) consumer and the HTTP
    /// server's request reader.
    pub(crate) fn decode_each<E: From<ChunkedError>>(
        &mut self,
        buf: &mut BytesMut,
        mut on_data: impl FnMut(Bytes) -> Result<(), E>,
    ) -> Result<bool, E> {
        loop {
            match self.decode(buf)? {
                Decoded::Data(piece) => on_data(piece)?,
                Decoded::NeedMore => return Ok(false),
                Decoded::End => return Ok(true),
            }
        }
    }

    /// Consumes framing from the front of `buf` and returns the next piece
    /// of payload, [`Decoded::NeedMore`] once `buf` is used up, or
    /// [`Decoded::End`] after the final CRLF (leaving what follows in
    /// `buf`).
    ///
    /// An error is final: this and every later call return it.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, ChunkedError> {
        loop {
            match self.state {
                State::Done => return Ok(Decoded::End),
                State::Failed(ref e) => return Err(e.clone()),
                State::Data { remaining } => {
                    if buf.is_empty() {
                        return Ok(Decoded::NeedMore);
                    }
                    let n = remaining.min(buf.len() as u64);
                    let data = buf.split_to(n as usize).freeze();
                    self.offset += n;
                    self.state = match remaining - n {
                        0 => State::DataCr,
                        remaining => State::Data { remaining },
                    };
                    return Ok(Decoded::Data(data));
                }
                _ => {
                    let mut used = 0;
                    let mut result = Ok(());
                    for &b in buf.iter() {
                        result = self.step(b, self.offset + used as u64);
                        if result.is_err() {
                            break;
                        }
                        used += 1;
                        if matches!(self.state, State::Data { .. } | State::Done) {
                            break;
                        }
                    }
                    buf.advance(used);
                    self.offset += used as u64;
                    if let Err(e) = result {
                        self.state = State::Failed(e.clone());
                        return Err(e);
                    }
                    if buf.is_empty() && !matches!(self.state, State::Done) {
                        return Ok(Decoded::NeedMore);
                    }
                }
            }
        }
    }

    /// Feeds one framing byte at message offset `at`.
    fn step(&mut self, b: u8, at: u64) -> Result<(), ChunkedError> {
        use State::*;
        match self.state {
            SizeStart
            | SizeDigits
            | SizeWs { .. }
            | ExtBeforeName
            | ExtName
            | ExtNameWs
            | ExtBeforeValue
            | ExtToken
            | ExtQuoted
            | ExtQuotedPair
            | ExtAfterQuoted
            | ExtValueWs => self.size_line(b, at),
            SizeLf => match b {
                LF => self.end_size_line(at),
                _ => Err(ChunkedError::BareCr { offset: at - 1 }),
            },
            DataCr => match b {
                CR => {
                    self.state = DataLf;
                    Ok(())
                }
                LF if self.leniency.accepts_bare_lf() => {
                    self.state = SizeStart;
                    Ok(())
                }
                LF => Err(ChunkedError::BareLf { offset: at }),
                found => Err(ChunkedError::MissingDataCrlf { offset: at, found }),
            },
            DataLf => match b {
                LF => {
                    self.state = SizeStart;
                    Ok(())
                }
                _ => Err(ChunkedError::BareCr { offset: at - 1 }),
            },
            TrailerStart | TrailerName | TrailerValue | TrailerLf | EndLf => {
                self.trailer_section(b, at)
            }
            Data { .. } | Done | Failed(_) => unreachable!("step is only called on framing"),
        }
    }

    /// A byte of a size line (before its CR).
    fn size_line(&mut self, b: u8, at: u64) -> Result<(), ChunkedError> {
        use State::*;
        if b != CR && b != LF {
            self.line_len += 1;
            if self.line_len > self.limits.size_line() {
                return Err(ChunkedError::SizeLineTooLong {
                    offset: at,
                    limit: self.limits.size_line(),
                });
            }
            // Extension bytes count from each `;` on: plain sizes count
            // nothing, so many tiny chunks are fine while many tiny chunks
            // with long extensions are not.
            let in_extension = !matches!(self.state, SizeStart | SizeDigits | SizeWs { .. });
            if in_extension || b == b';' {
                self.extension_bytes += 1;
                if self.extension_bytes > self.limits.extension_bytes() {
                    return Err(ChunkedError::ExtensionsTooLong {
                        offset: at,
                        limit: self.limits.extension_bytes(),
                    });
                }
            }
        }
        let ws = b == b' ' || b == b'\t';
        let ext_error = |found: u8| {
            // CR or LF where they cannot end the line (after whitespace,
            // or after `=`) are misplaced line ends, not control bytes.
            if is_forbidden_ctl(found) && found != CR && found != LF {
                ChunkedError::ControlInExtension { offset: at, found }
            } else {
                ChunkedError::InvalidExtension { offset: at, found }
            }
        };
        match self.state {
            SizeStart => match b {
                _ if hex_value(b).is_some() => {
                    self.size = u64::from(hex_value(b).unwrap_or(0));
                    self.digits = 1;
                    self.state = SizeDigits;
                }
                b'+' | b'-' => return Err(ChunkedError::SignedSize { offset: at }),
                LF if !self.leniency.accepts_bare_lf() => {
                    return Err(ChunkedError::BareLf { offset: at });
                }
                found => return Err(ChunkedError::InvalidSize { offset: at, found }),
            },
            SizeDigits => match b {
                _ if hex_value(b).is_some() => {
                    self.digits += 1;
                    if self.digits > MAX_SIZE_DIGITS && !self.leniency.accepts_long_size() {
                        return Err(ChunkedError::TooManyDigits {
                            offset: at,
                            limit: MAX_SIZE_DIGITS,
                        });
                    }
                    if self.size >> 60 != 0 {
                        return Err(ChunkedError::SizeOverflow { offset: at });
                    }
                    self.size = self.size << 4 | u64::from(hex_value(b).unwrap_or(0));
                }
                b'x' | b'X' if self.digits == 1 && self.size == 0 => {
                    return Err(ChunkedError::HexPrefix { offset: at });
                }
                b';' => self.state = ExtBeforeName,
                CR => self.state = SizeLf,
                LF => return self.bare_lf_ending_size_line(at),
                _ if ws => self.state = SizeWs { at },
                found => return Err(ChunkedError::InvalidSize { offset: at, found }),
            },
            SizeWs { at: ws_at } => match b {
                b';' => self.state = ExtBeforeName,
                _ if ws => {}
                _ => return Err(ChunkedError::WhitespaceInSize { offset: ws_at }),
            },
            ExtBeforeName => match b {
                _ if is_tchar(b) => {
                    self.name.push(b as char);
                    self.state = ExtName;
                }
                _ if ws => {}
                b';' if self.leniency.accepts_empty_extension() => {}
                CR if self.leniency.accepts_empty_extension() => self.state = SizeLf,
                LF if self.leniency.accepts_empty_extension() => {
                    return self.bare_lf_ending_size_line(at);
                }
                b';' | b'=' | CR | LF => return Err(ChunkedError::EmptyExtension { offset: at }),
                found => return Err(ext_error(found)),
            },
            ExtName => match b {
                _ if is_tchar(b) => self.name.push(b as char),
                b'=' => self.start_value(),
                b';' => self.end_extension(ExtBeforeName),
                CR => self.end_extension(SizeLf),
                LF => {
                    self.end_extension(SizeLf);
                    return self.bare_lf_ending_size_line(at);
                }
                _ if ws => self.state = ExtNameWs,
                found => return Err(ext_error(found)),
            },
            ExtNameWs => match b {
                b'=' => self.start_value(),
                b';' => self.end_extension(ExtBeforeName),
                _ if ws => {}
                // CR or LF here is whitespace before the line end, which
                // the grammar does not allow.
                found => return Err(ext_error(found)),
            },
            ExtBeforeValue => match b {
                b'"' => self.state = ExtQuoted,
                _ if is_tchar(b) => {
                    self.push_value(b);
                    self.state = ExtToken;
                }
                _ if ws => {}
                found => return Err(ext_error(found)),
            },
            ExtToken => match b {
                _ if is_tchar(b) => self.push_value(b),
                b';' => self.end_extension(ExtBeforeName),
                CR => self.end_extension(SizeLf),
                LF => {
                    self.end_extension(SizeLf);
                    return self.bare_lf_ending_size_line(at);
                }
                _ if ws => self.end_extension(ExtValueWs),
                found => return Err(ext_error(found)),
            },
            ExtQuoted => match b {
                b'"' => self.end_extension(ExtAfterQuoted),
                b'\\' => self.state = ExtQuotedPair,
                found if is_forbidden_ctl(found) => {
                    return Err(ChunkedError::ControlInExtension { offset: at, found });
                }
                _ => self.push_value(b),
            },
            ExtQuotedPair => match b {
                found if is_forbidden_ctl(found) => {
                    return Err(ChunkedError::ControlInExtension { offset: at, found });
                }
                _ => {
                    self.push_value(b);
                    self.state = ExtQuoted;
                }
            },
            ExtAfterQuoted => match b {
                b';' => self.state = ExtBeforeName,
                CR => self.state = SizeLf,
                LF => return self.bare_lf_ending_size_line(at),
                _ if ws => self.state = ExtValueWs,
                found => return Err(ext_error(found)),
            },
            ExtValueWs => match b {
                b';' => self.state = ExtBeforeName,
                _ if ws => {}
                found => return Err(ext_error(found)),
            },
            _ => unreachable!("size_line is only called on size line states"),
        }
        Ok(())
    }

    /// A LF ending a size line with no CR before it.
    fn bare_lf_ending_size_line(&mut self, at: u64) -> Result<(), ChunkedError> {
        if self.leniency.accepts_bare_lf() {
            self.end_size_line(at)
        } else {
            Err(ChunkedError::BareLf { offset: at })
        }
    }

    fn start_value(&mut self) {
        self.value = Some(Vec::new());
        self.state = State::ExtBeforeValue;
    }

    fn push_value(&mut self, b: u8) {
        self.value.get_or_insert_with(Vec::new).push(b);
    }

    /// Records the extension just parsed and moves to `next`.
    fn end_extension(&mut self, next: State) {
        self.line_extensions.push(Extension {
            name: mem::take(&mut self.name),
            value: self.value.take().map(Bytes::from),
        });
        self.state = next;
    }

    /// The LF at `at` ended a size line.
    fn end_size_line(&mut self, at: u64) -> Result<(), ChunkedError> {
        self.extensions = mem::take(&mut self.line_extensions);
        self.line_len = 0;
        self.digits = 0;
        let size = mem::take(&mut self.size);
        if size == 0 {
            self.state = State::TrailerStart;
            return Ok(());
        }
        // Offsets are u64: a chunk that would end past u64::MAX is refused
        // here rather than wrapping later.
        if (at + 1).checked_add(size).is_none() {
            return Err(ChunkedError::SizeOverflow { offset: at });
        }
        self.state = State::Data { remaining: size };
        Ok(())
    }

    /// A byte of the trailer section or the final CRLF.
    fn trailer_section(&mut self, b: u8, at: u64) -> Result<(), ChunkedError> {
        use State::*;
        let starts_field = self.state == TrailerStart && b != CR && b != LF;
        if starts_field && is_tchar(b) && self.trailers.len() >= self.limits.trailers() {
            return Err(ChunkedError::TooManyTrailers {
                offset: at,
                limit: self.limits.trailers(),
            });
        }
        if starts_field || matches!(self.state, TrailerName | TrailerValue | TrailerLf) {
            self.trailer_bytes += 1;
            if self.trailer_bytes > self.limits.trailer_bytes() {
                return Err(ChunkedError::TrailersTooLong {
                    offset: at,
                    limit: self.limits.trailer_bytes(),
                });
            }
        }
        match self.state {
            TrailerStart => match b {
                CR => self.state = EndLf,
                LF if self.leniency.accepts_bare_lf() => self.state = Done,
                LF => return Err(ChunkedError::BareLf { offset: at }),
                _ if is_tchar(b) => {
                    self.name.push(b as char);
                    self.state = TrailerName;
                }
                found => return Err(ChunkedError::InvalidTrailerName { offset: at, found }),
            },
            TrailerName => match b {
                b':' => {
                    self.value = Some(Vec::new());
                    self.state = TrailerValue;
                }
                _ if is_tchar(b) => self.name.push(b as char),
                CR | LF => return Err(ChunkedError::TrailerWithoutColon { offset: at }),
                found => return Err(ChunkedError::InvalidTrailerName { offset: at, found }),
            },
            TrailerValue => match b {
                CR => self.state = TrailerLf,
                LF if self.leniency.accepts_bare_lf() => self.end_trailer(),
                LF => return Err(ChunkedError::BareLf { offset: at }),
                found if is_forbidden_ctl(found) => {
                    return Err(ChunkedError::InvalidTrailerValue { offset: at, found });
                }
                b' ' | b'\t' if self.value.as_ref().is_none_or(Vec::is_empty) => {}
                _ => self.push_value(b),
            },
            TrailerLf => match b {
                LF => self.end_trailer(),
                _ => return Err(ChunkedError::BareCr { offset: at - 1 }),
            },
            EndLf => match b {
                LF => self.state = Done,
                _ => return Err(ChunkedError::BareCr { offset: at - 1 }),
            },
            _ => unreachable!("trailer_section is only called on trailer states"),
        }
        Ok(())
    }

    /// Records the trailer field just parsed, without trailing whitespace.
    fn end_trailer(&mut self) {
        let mut value = self.value.take().unwrap_or_default();
        while value.last().is_some_and(|&b| b == b' ' || b == b'\t') {
            value.pop();
        }
        self.trailers.push(Trailer {
            name: mem::take(&mut self.name),
            value: Bytes::from(value),
        });
        self.state = State::TrailerStart;
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// What decoding one input gave: the payload, the extensions seen after
/// each piece of it (consecutive duplicates merged), the outcome and the
/// bytes left after the end.
#[cfg(test)]
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Outcome {
    pub(super) payload: Vec<u8>,
    pub(super) extensions: Vec<Vec<Extension>>,
    pub(super) result: Result<Vec<Trailer>, ChunkedError>,
    pub(super) rest: Vec<u8>,
}

/// Decodes `input` fed in pieces cut at `cuts` (ascending offsets).
#[cfg(test)]
pub(super) fn decode_pieces(mut d: ChunkedDecoder, input: &[u8], cuts: &[usize]) -> Outcome {
    let mut payload = Vec::new();
    let mut extensions: Vec<Vec<Extension>> = Vec::new();
    let mut rest = Vec::new();
    let mut buf = BytesMut::new();
    let mut start = 0;
    let ends = cuts.iter().copied().chain([input.len()]);
    let mut result = None;
    let mut failed = false;
    for end in ends {
        if failed {
            break;
        }
        if result.is_some() {
            rest.extend_from_slice(&input[start..end]);
            start = end;
            continue;
        }
        buf.extend_from_slice(&input[start..end]);
        start = end;
        loop {
            match d.decode(&mut buf) {
                Ok(Decoded::Data(data)) => {
                    assert!(!data.is_empty(), "empty data");
                    payload.extend_from_slice(&data);
                    if extensions.last().map(Vec::as_slice) != Some(d.chunk_extensions()) {
                        extensions.push(d.chunk_extensions().to_vec());
                    }
                }
                Ok(Decoded::NeedMore) => {
                    assert!(buf.is_empty(), "NeedMore with bytes left");
                    break;
                }
                Ok(Decoded::End) => {
                    assert_eq!(d.decode(&mut buf), Ok(Decoded::End), "end is sticky");
                    rest.extend_from_slice(&buf);
                    result = Some(Ok(d.trailers().to_vec()));
                    break;
                }
                Err(e) => {
                    assert_eq!(d.decode(&mut buf), Err(e.clone()), "errors are final");
                    result = Some(Err(e));
                    failed = true;
                    break;
                }
            }
        }
    }
    let result = result.unwrap_or_else(|| Err(d.finish().expect_err("finish before the end")));
    Outcome {
        payload,
        extensions,
        result,
        rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChunkedError as E;

    fn decode_with(d: ChunkedDecoder, input: &[u8]) -> Outcome {
        decode_pieces(d, input, &[])
    }

    fn decode(input: &[u8]) -> Outcome {
        decode_with(ChunkedDecoder::new(), input)
    }

    /// Every split at one offset (and at two, for short inputs) must give
    /// what the unsplit input gives.
    #[track_caller]
    fn assert_split_invariant(d: &ChunkedDecoder, input: &[u8]) -> Outcome {
        let whole = decode_with(d.clone(), input);
        for i in 0..=input.len() {
            assert_eq!(decode_pieces(d.clone(), input, &[i]), whole, "split at {i}");
        }
        if input.len() < 64 {
            for i in 0..=input.len() {
                for j in i..=input.len() {
                    assert_eq!(
                        decode_pieces(d.clone(), input, &[i, j]),
                        whole,
                        "split at {i},{j}"
                    );
                }
            }
        }
        // One byte at a time.
        let cuts: Vec<usize> = (1..input.len()).collect();
        assert_eq!(
            decode_pieces(d.clone(), input, &cuts),
            whole,
            "byte by byte"
        );
        whole
    }

    fn ext(name: &str, value: Option<&str>) -> Extension {
        Extension {
            name: name.into(),
            value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
        }
    }

    fn trailer(name: &str, value: &str) -> Trailer {
        Trailer {
            name: name.into(),
            value: Bytes::copy_from_slice(value.as_bytes()),
        }
    }

    /// Valid messages, with the payload they carry.
    pub(in super::super) const VALID: &[(&[u8], &[u8])] = &[
        (b"0\r\n\r\n", b""),
        (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world"),
        (
            b"A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n",
            b"0123456789abcdefghij",
        ),
        (b"000000000000001\r\nx\r\n0000000000000000\r\n\r\n", b"x"),
        (b"1;a\r\nx\r\n0\r\n\r\n", b"x"),
        (b"1 ;a=b\r\nx\r\n0;end\r\n\r\n", b"x"),
        (
            b"1\t; a = \"q \\\" \\\\ \xff\" ;b=c\t;d\r\nx\r\n0\r\n\r\n",
            b"x",
        ),
        (
            b"1;a=\"\"\r\nx\r\n0\r\nX-A: 1\r\nx-b:\t two  words \t\r\nc:\r\n\r\n",
            b"x",
        ),
        (b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", b"abc"),
    ];

    #[test]
    fn valid_messages_decode_the_same_however_split() {
        for &(input, payload) in VALID {
            let out = assert_split_invariant(&ChunkedDecoder::new(), input);
            assert_eq!(out.payload, payload, "{:?}", String::from_utf8_lossy(input));
            assert!(
                out.result.is_ok(),
                "{:?}: {:?}",
                String::from_utf8_lossy(input),
                out.result
            );
        }
    }

    #[test]
    fn extensions_and_trailers_are_values() {
        let out = decode(b"1\t; a = \"q \\\" \\\\ \xff\" ;b=c\t;d\r\nx\r\n0;end=1\r\n\r\n");
        let q = Bytes::from_static(b"q \" \\ \xff");
        let first = vec![
            Extension {
                name: "a".into(),
                value: Some(q),
            },
            ext("b", Some("c")),
            ext("d", None),
        ];
        assert_eq!(out.extensions, vec![first]);
        let mut d = ChunkedDecoder::new();
        let mut buf = BytesMut::from(
            &b"1;a=\"\"\r\nx\r\n0;end\r\nX-A: 1\r\nx-b:\t two  words \t\r\nc:\r\n\r\nrest"[..],
        );
        assert_eq!(d.decode(&mut buf), Ok(Decoded::Data("x".into())));
        assert_eq!(d.chunk_extensions(), [ext("a", Some(""))]);
        assert_eq!(d.decode(&mut buf), Ok(Decoded::End));
        assert_eq!(d.chunk_extensions(), [ext("end", None)]);
        assert_eq!(
            d.trailers(),
            [
                trailer("X-A", "1"),
                trailer("x-b", "two  words"),
                trailer("c", "")
            ]
        );
        assert_eq!(&buf[..], b"rest");
        assert!(d.is_done());
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn data_is_split_off_without_copying() {
        let mut buf = BytesMut::from(&b"5\r\nhello\r\n0\r\n\r\n"[..]);
        let base = buf.as_ptr() as usize;
        let mut d = ChunkedDecoder::new();
        let Ok(Decoded::Data(data)) = d.decode(&mut buf) else {
            panic!("no data")
        };
        assert_eq!(
            data.as_ptr() as usize,
            base + 3,
            "the payload is the input's memory"
        );
    }

    #[test]
    fn every_prefix_is_an_unexpected_end() {
        for &(input, _) in VALID {
            let end = decode(input);
            let full = input.len() - end.rest.len();
            for n in 0..full {
                let out = decode(&input[..n]);
                assert_eq!(
                    out.result,
                    Err(E::UnexpectedEnd { offset: n as u64 }),
                    "prefix of {n} bytes of {:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    /// Malformed inputs and the error each must give: every rejection the
    /// decoder makes.
    pub(in super::super) const MALFORMED: &[(&[u8], ChunkedError)] = &[
        (b"5\r\nhel", E::UnexpectedEnd { offset: 6 }),
        (b"0\r\n\r", E::UnexpectedEnd { offset: 4 }),
        (b"0\r\nA: b\r\n", E::UnexpectedEnd { offset: 9 }),
        (b"5\nhello\r\n0\r\n\r\n", E::BareLf { offset: 1 }),
        (b"5\r\nhello\n0\r\n\r\n", E::BareLf { offset: 8 }),
        (b"0\r\n\n", E::BareLf { offset: 3 }),
        (b"0\r\nA: b\n\r\n", E::BareLf { offset: 7 }),
        (b"\n", E::BareLf { offset: 0 }),
        (b"1;a\n", E::BareLf { offset: 3 }),
        (b"5\rhello\r\n0\r\n\r\n", E::BareCr { offset: 1 }),
        (b"1\r\nx\rx", E::BareCr { offset: 4 }),
        (b"0\r\n\rx", E::BareCr { offset: 3 }),
        (b"0\r\nA: b\rc", E::BareCr { offset: 7 }),
        (
            b"1;a=\"b\x01\"\r\n",
            E::ControlInExtension {
                offset: 6,
                found: 1,
            },
        ),
        (
            b"1;a=b\x7f\r\n",
            E::ControlInExtension {
                offset: 5,
                found: 0x7f,
            },
        ),
        (
            b"1;a\x00\r\n",
            E::ControlInExtension {
                offset: 3,
                found: 0,
            },
        ),
        (
            b"1;a=\"\\\x02\"\r\n",
            E::ControlInExtension {
                offset: 6,
                found: 2,
            },
        ),
        (
            b"1;a=\"b\r\n",
            E::ControlInExtension {
                offset: 6,
                found: b'\r',
            },
        ),
        (b"1;\r\nx\r\n0\r\n\r\n", E::EmptyExtension { offset: 2 }),
        (b"1;;a\r\n", E::EmptyExtension { offset: 2 }),
        (b"1; =a\r\n", E::EmptyExtension { offset: 3 }),
        (
            b"1;a@\r\n",
            E::InvalidExtension {
                offset: 3,
                found: b'@',
            },
        ),
        (
            b"1;a=b c\r\n",
            E::InvalidExtension {
                offset: 6,
                found: b'c',
            },
        ),
        (
            b"1;a \r\n",
            E::InvalidExtension {
                offset: 4,
                found: b'\r',
            },
        ),
        (
            b"1;a=b \r\n",
            E::InvalidExtension {
                offset: 6,
                found: b'\r',
            },
        ),
        (
            b"1;a=\r\n",
            E::InvalidExtension {
                offset: 4,
                found: b'\r',
            },
        ),
        (
            b"1;a=\"b\"c\r\n",
            E::InvalidExtension {
                offset: 7,
                found: b'c',
            },
        ),
        (b"+1\r\n", E::SignedSize { offset: 0 }),
        (b"-1\r\n", E::SignedSize { offset: 0 }),
        (b"0x1\r\nx\r\n0\r\n\r\n", E::HexPrefix { offset: 1 }),
        (b"0X1\r\n", E::HexPrefix { offset: 1 }),
        (b"1 2\r\n", E::WhitespaceInSize { offset: 1 }),
        (b"1 \r\nx\r\n0\r\n\r\n", E::WhitespaceInSize { offset: 1 }),
        (b"1\t\t\r\n", E::WhitespaceInSize { offset: 1 }),
        (
            b" 1\r\n",
            E::InvalidSize {
                offset: 0,
                found: b' ',
            },
        ),
        (
            b"\r\n",
            E::InvalidSize {
                offset: 0,
                found: b'\r',
            },
        ),
        (
            b"g\r\n",
            E::InvalidSize {
                offset: 0,
                found: b'g',
            },
        ),
        (
            b"1g\r\n",
            E::InvalidSize {
                offset: 1,
                found: b'g',
            },
        ),
        (
            b";a\r\n",
            E::InvalidSize {
                offset: 0,
                found: b';',
            },
        ),
        (
            b"00000000000000001\r\n",
            E::TooManyDigits {
                offset: 16,
                limit: 16,
            },
        ),
        (
            b"fffffffffffffffff\r\n",
            E::TooManyDigits {
                offset: 16,
                limit: 16,
            },
        ),
        (
            b"1\r\nx\r\nffffffffffffffff\r\n",
            E::SizeOverflow { offset: 23 },
        ),
        (
            b"1\r\nab\r\n0\r\n\r\n",
            E::MissingDataCrlf {
                offset: 4,
                found: b'b',
            },
        ),
        (b"0\r\nFoo\r\n\r\n", E::TrailerWithoutColon { offset: 6 }),
        (
            b"0\r\nFoo bar\r\n\r\n",
            E::InvalidTrailerName {
                offset: 6,
                found: b' ',
            },
        ),
        (
            b"0\r\n folded\r\n\r\n",
            E::InvalidTrailerName {
                offset: 3,
                found: b' ',
            },
        ),
        (
            b"0\r\n: v\r\n\r\n",
            E::InvalidTrailerName {
                offset: 3,
                found: b':',
            },
        ),
        (
            b"0\r\nA : v\r\n\r\n",
            E::InvalidTrailerName {
                offset: 4,
                found: b' ',
            },
        ),
        (
            b"0\r\nA: \x00\r\n\r\n",
            E::InvalidTrailerValue {
                offset: 6,
                found: 0,
            },
        ),
    ];

    #[test]
    fn malformed_inputs_give_their_error_however_split() {
        for (input, expected) in MALFORMED {
            let out = assert_split_invariant(&ChunkedDecoder::new(), input);
            assert_eq!(
                &out.result,
                &Err(expected.clone()),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn size_overflow_with_long_sizes() {
        let d = ChunkedDecoder::new().leniency(Leniency::strict().long_size(true));
        let out = decode_with(d, b"00010000000000000000\r\n");
        assert_eq!(out.result, Err(E::SizeOverflow { offset: 19 }));
    }

    // The leniency table, one test per row.

    #[test]
    fn leniency_empty_extension() {
        let input = b"1;\r\nx\r\n2;;a=1; ;\r\nyz\r\n0;\r\n\r\n";
        assert_eq!(decode(input).result, Err(E::EmptyExtension { offset: 2 }));
        let d = ChunkedDecoder::new().leniency(Leniency::strict().empty_extension(true));
        let out = assert_split_invariant(&d, input);
        assert_eq!(out.payload, b"xyz");
        assert_eq!(out.extensions, vec![vec![], vec![ext("a", Some("1"))]]);
        assert_eq!(out.result, Ok(vec![]));
    }

    #[test]
    fn leniency_bare_lf() {
        let input = b"5\nhello\n3;a\nabc\r\n0\nA: b\n\nnext";
        assert_eq!(decode(input).result, Err(E::BareLf { offset: 1 }));
        let d = ChunkedDecoder::new().leniency(Leniency::strict().bare_lf(true));
        let out = assert_split_invariant(&d, input);
        assert_eq!(out.payload, b"helloabc");
        assert_eq!(out.result, Ok(vec![trailer("A", "b")]));
        assert_eq!(out.rest, b"next");
        // A bare CR is still refused.
        let d = ChunkedDecoder::new().leniency(Leniency::all());
        assert_eq!(
            decode_with(d, b"5\rhello").result,
            Err(E::BareCr { offset: 1 })
        );
    }

    #[test]
    fn leniency_long_size() {
        let input = b"000000000000000000005\r\nhello\r\n000000000000000000000\r\n\r\n";
        assert_eq!(
            decode(input).result,
            Err(E::TooManyDigits {
                offset: 16,
                limit: 16
            })
        );
        let d = ChunkedDecoder::new().leniency(Leniency::strict().long_size(true));
        let out = assert_split_invariant(&d, input);
        assert_eq!(out.payload, b"hello");
        assert_eq!(out.result, Ok(vec![]));
    }

    // The caps, each with its own error.

    #[test]
    fn size_line_cap() {
        let limits = Limits::default().max_size_line(8);
        let ok = decode_with(
            ChunkedDecoder::with_limits(limits),
            b"1;abcdef\r\nx\r\n0\r\n\r\n",
        );
        assert!(ok.result.is_ok());
        let out = decode_with(
            ChunkedDecoder::with_limits(limits),
            b"1;abcdefg\r\nx\r\n0\r\n\r\n",
        );
        assert_eq!(
            out.result,
            Err(E::SizeLineTooLong {
                offset: 8,
                limit: 8
            })
        );
        // The default: 4096.
        let mut long = b"1;".to_vec();
        long.resize(4097, b'a');
        long.extend_from_slice(b"\r\n");
        assert_eq!(
            decode(&long).result,
            Err(E::SizeLineTooLong {
                offset: 4096,
                limit: 4096
            })
        );
    }

    #[test]
    fn extension_cap_refuses_many_small_chunks_with_extensions_only() {
        let plain: Vec<u8> = [&b"1\r\nx\r\n"[..]].repeat(50_000).concat();
        let plain = [plain, b"0\r\n\r\n".to_vec()].concat();
        let out = decode(&plain);
        assert_eq!(out.payload.len(), 50_000);
        assert!(out.result.is_ok());

        // 100 extension bytes per chunk: refused after 16 KiB of them.
        let ext = format!("1;{}\r\nx\r\n", "e".repeat(99));
        let mut input = ext.repeat(200).into_bytes();
        input.extend_from_slice(b"0\r\n\r\n");
        let out = decode(&input);
        let per_chunk = ext.len() as u64;
        let offset = 163 * per_chunk + 1 + 84; // the 16385th extension byte
        assert_eq!(
            out.result,
            Err(E::ExtensionsTooLong {
                offset,
                limit: 16 * 1024
            })
        );

        let limits = Limits::default().max_extension_bytes(0);
        let out = decode_with(
            ChunkedDecoder::with_limits(limits),
            b"1;a\r\nx\r\n0\r\n\r\n",
        );
        assert_eq!(
            out.result,
            Err(E::ExtensionsTooLong {
                offset: 1,
                limit: 0
            })
        );
    }

    #[test]
    fn trailer_caps() {
        let input = b"0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        let limits = Limits::default().max_trailers(2);
        let out = decode_with(ChunkedDecoder::with_limits(limits), input);
        assert_eq!(
            out.result,
            Err(E::TooManyTrailers {
                offset: 15,
                limit: 2
            })
        );
        let limits = Limits::default().max_trailer_bytes(13);
        let out = decode_with(ChunkedDecoder::with_limits(limits), input);
        assert_eq!(
            out.result,
            Err(E::TrailersTooLong {
                offset: 16,
                limit: 13
            })
        );
        let limits = Limits::default().max_trailer_bytes(18).max_trailers(3);
        let out = decode_with(ChunkedDecoder::with_limits(limits), input);
        assert_eq!(out.result.unwrap().len(), 3);
        // The defaults: 100 fields, 16 KiB.
        let many = [&b"0\r\n"[..], &b"a: b\r\n".repeat(101), b"\r\n"].concat();
        assert_eq!(
            decode(&many).result,
            Err(E::TooManyTrailers {
                offset: 603,
                limit: 100
            })
        );
        let long = [&b"0\r\na: "[..], &b"b".repeat(20_000), b"\r\n\r\n"].concat();
        assert_eq!(
            decode(&long).result,
            Err(E::TrailersTooLong {
                offset: 3 + 16 * 1024,
                limit: 16 * 1024
            })
        );
    }

    /// Seeds the fuzz corpora from the tables above. Run by hand after
    /// changing them: `cargo test --lib write_fuzz_corpus -- --ignored`.
    #[test]
    #[ignore = "writes fuzz/corpus"]
    fn write_fuzz_corpus() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let write = |dir: &str, name: String, bytes: &[u8]| {
            let dir = root.join(dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), bytes).unwrap();
        };
        // chunked_decode: [flags, cut1, cut2, message...]
        for (i, (input, _)) in VALID.iter().enumerate() {
            write(
                "chunked_decode",
                format!("valid-{i}"),
                &[&[0, 3, 9][..], input].concat(),
            );
            write(
                "chunked_decode",
                format!("valid-small-caps-{i}"),
                &[&[8, 1, 5][..], input].concat(),
            );
        }
        for (i, (input, _)) in MALFORMED.iter().enumerate() {
            write(
                "chunked_decode",
                format!("malformed-{i}"),
                &[&[0, 2, 4][..], input].concat(),
            );
        }
        let lenient: [(u8, &[u8]); 3] = [
            (1, b"1;\r\nx\r\n2;;a=1; ;\r\nyz\r\n0;\r\n\r\n"),
            (2, b"5\nhello\n3;a\nabc\r\n0\nA: b\n\nnext"),
            (
                4,
                b"000000000000000000005\r\nhello\r\n000000000000000000000\r\n\r\n",
            ),
        ];
        for (flags, input) in lenient {
            write(
                "chunked_decode",
                format!("lenient-{flags}"),
                &[&[flags, 7, 11][..], input].concat(),
            );
        }
        // chunked_roundtrip: [piece, max, cut, ext_len, trailer_len, bytes...]
        write(
            "chunked_roundtrip",
            "plain".into(),
            b"\x04\x00\x07\x00\x00hello, world",
        );
        write(
            "chunked_roundtrip",
            "max".into(),
            b"\x0f\x03\x20\x03\x02a bxyhello, world, again",
        );
        write("chunked_roundtrip", "empty".into(), b"\x00\x00\x00\x00\x00");
    }

    #[test]
    fn reset_starts_the_next_message() {
        let mut d = ChunkedDecoder::with_limits(Limits::default().max_trailers(0));
        let mut buf = BytesMut::from(&b"0\r\n\r\n1\r\nz\r\n0\r\n\r\n"[..]);
        assert_eq!(d.decode(&mut buf), Ok(Decoded::End));
        d.reset();
        assert_eq!(d.limits().trailers(), 0);
        assert_eq!(d.decode(&mut buf), Ok(Decoded::Data("z".into())));
        assert_eq!(d.decode(&mut buf), Ok(Decoded::End));
        assert_eq!(d.offset(), 11);
    }
}
