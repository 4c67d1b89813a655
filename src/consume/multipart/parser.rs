//! [`MultipartParser`]: the sans-I/O engine that cuts a multipart body into
//! parts, on the crate's [`Framer`].

use bytes::{Buf, Bytes, BytesMut};

use super::{Boundary, MultipartError, MultipartLimits, PartHeaders};
use crate::consume::{Frame, FrameError, Framer, Framing, Terminator};

/// What a multipart body yields, in order: for each part a `Start`, its
/// body as `Data` pieces (none for an empty part), and an `End`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartEvent {
    /// A part begins: its header fields.
    Start(PartHeaders),
    /// A piece of the part's body, never empty, split off the input
    /// without a copy.
    Data(Bytes),
    /// The part's body is complete.
    End,
}

/// What the parser expects next.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// The first bytes: `--BOUNDARY` at once (no preamble, the first
    /// delimiter without its CRLF, RFC 2046 section 5.1.1), or a
    /// preamble. Nothing is taken until that is decided.
    Start,
    /// The preamble: discarded, up to the first `CRLF--BOUNDARY`.
    Preamble,
    /// Just after a delimiter: transport padding (spaces, tabs), then the
    /// CRLF that ends the boundary line (left in the buffer: it begins the
    /// header block's framing) or the `--` of the close delimiter.
    Padding,
    /// A part's header block, framed whole by `CRLF CRLF`.
    Headers {
        /// Where the header block begins (after the boundary line).
        start: u64,
    },
    /// A part's body, streamed in pieces up to the next delimiter.
    Body {
        /// Where the body begins.
        start: u64,
        /// Bytes of it handed on.
        len: u64,
    },
    /// The last piece of a body was handed on: its `End` is next.
    BodyEnd,
    /// After the close delimiter: the epilogue, discarded.
    Epilogue,
    /// The end of input after the close delimiter was taken.
    Done,
    /// An error was returned; it is returned again.
    Failed(MultipartError),
}

/// The sans-I/O multipart parser: feed it the body's bytes in a
/// [`BytesMut`], take [`PartEvent`]s out, as with the [`Framer`] it is
/// built on.
///
/// - The delimiter `CRLF--BOUNDARY` is the framer's terminator in
///   [`Framing::Pieces`]: part bodies are handed on as they arrive, never
///   buffered (only the last `delimiter length - 1` bytes are held back
///   while they could begin a delimiter), and a delimiter split across
///   reads is found.
/// - A header block is a whole frame ended by `CRLF CRLF`, at most
///   [`max_header_bytes`](MultipartLimits::max_header_bytes) long.
/// - The body may start with the first delimiter's `--BOUNDARY` (no
///   CRLF, no preamble) or with a preamble; the preamble and the epilogue
///   (after `--BOUNDARY--`) are discarded; transport padding after a
///   boundary is accepted.
/// - The input must end after the close delimiter: an end anywhere else
///   is [`MultipartError::Truncated`], never a clean end.
/// - A body with no part (`--BOUNDARY--` at once) is accepted, as
///   browsers send it for an empty form.
///
/// Memory: the parser holds nothing but its state; what stays in the
/// caller's buffer between calls is at most a header block or a partial
/// delimiter (72 bytes).
///
/// ```
/// use bytes::BytesMut;
/// use producers::consume::{Boundary, MultipartLimits, MultipartParser, PartEvent};
///
/// let boundary = Boundary::new("xyz")?;
/// let mut p = MultipartParser::new(&boundary, MultipartLimits::default());
/// let mut buf = BytesMut::from(
///     &b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhel"[..],
/// );
/// let Some(PartEvent::Start(h)) = p.decode(&mut buf)? else { panic!() };
/// assert_eq!(h.name(), "a");
/// assert_eq!(p.decode(&mut buf)?, Some(PartEvent::Data("hel".into())));
/// assert_eq!(p.decode(&mut buf)?, None);
/// buf.extend_from_slice(b"lo\r\n--xyz--\r\n");
/// assert_eq!(p.decode(&mut buf)?, Some(PartEvent::Data("lo".into())));
/// assert_eq!(p.decode(&mut buf)?, Some(PartEvent::End));
/// assert_eq!(p.decode_eof(&mut buf)?, None);
/// assert!(p.is_done());
/// # Ok::<(), producers::consume::MultipartError>(())
/// ```
#[derive(Debug)]
pub struct MultipartParser {
    /// Raw while the parser reads bytes itself (start, padding, epilogue),
    /// else framing by the delimiter or `CRLF CRLF`. Its offset is the
    /// stream offset of the buffer's first byte.
    framer: Framer,
    /// `CRLF--BOUNDARY`.
    delimiter: Bytes,
    limits: MultipartLimits,
    state: State,
    /// Parts begun so far.
    parts: usize,
}

impl MultipartParser {
    /// A parser for a body with `boundary`, under `limits`.
    pub fn new(boundary: &Boundary, limits: MultipartLimits) -> MultipartParser {
        MultipartParser {
            framer: Framer::new(Framing::Raw),
            delimiter: boundary.delimiter(),
            limits,
            state: State::Start,
            parts: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &MultipartLimits {
        &self.limits
    }

    /// The stream offset of the next byte the parser takes.
    pub fn offset(&self) -> u64 {
        self.framer.offset()
    }

    /// How many parts have begun.
    pub fn parts(&self) -> usize {
        self.parts
    }

    /// Whether the close delimiter was seen (what follows is the
    /// epilogue).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Epilogue | State::Done)
    }

    /// Whether the body ended well: the close delimiter, then the end of
    /// input ([`decode_eof`](Self::decode_eof) returned `None`).
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Takes `n` bytes the parser read itself.
    fn advance(&mut self, buf: &mut BytesMut, n: usize) {
        buf.advance(n);
        self.framer.skipped(n);
    }

    fn fail(&mut self, e: MultipartError) -> Result<Option<PartEvent>, MultipartError> {
        self.state = State::Failed(e.clone());
        Err(e)
    }

    /// The next event the buffered bytes make, if any; the bytes used are
    /// split off the front of `buf`. `Ok(None)` means "feed more".
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<PartEvent>, MultipartError> {
        let event = self.step(buf);
        // The total cap, on every byte taken (the epilogue's too): a body
        // is refused as soon as more than `max_total` bytes of it were
        // taken, and no piece beyond the cap is handed on.
        let limit = self.limits.max_total;
        if self.framer.offset() > limit && !matches!(self.state, State::Failed(_)) {
            return self.fail(MultipartError::TooLarge {
                limit,
                offset: limit,
            });
        }
        event
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<PartEvent>, MultipartError> {
        loop {
            match self.state {
                State::Start => {
                    let dash = &self.delimiter[2..];
                    let n = buf.len().min(dash.len());
                    if buf[..n] != dash[..n] {
                        self.framer
                            .set_framing(Framing::Pieces(Terminator::Delimiter(
                                self.delimiter.clone(),
                            )));
                        self.state = State::Preamble;
                    } else if n < dash.len() {
                        return Ok(None);
                    } else {
                        self.advance(buf, n);
                        self.state = State::Padding;
                    }
                }
                State::Preamble => match self.framer.decode(buf).map_err(unexpected)? {
                    Some(Frame::Piece { last: true, .. }) => {
                        self.framer.set_framing(Framing::Raw);
                        self.state = State::Padding;
                    }
                    Some(_) => {}
                    None => return Ok(None),
                },
                State::Padding => {
                    let offset = self.framer.offset();
                    let Some(&c) = buf.first() else {
                        return Ok(None);
                    };
                    match c {
                        b' ' | b'\t' => {
                            let n = buf
                                .iter()
                                .position(|&c| c != b' ' && c != b'\t')
                                .unwrap_or(buf.len());
                            self.advance(buf, n);
                        }
                        b'-' | b'\r' => {
                            let Some(&next) = buf.get(1) else {
                                return Ok(None);
                            };
                            match (c, next) {
                                (b'-', b'-') => {
                                    self.advance(buf, 2);
                                    self.state = State::Epilogue;
                                }
                                (b'-', _) => {
                                    return self.fail(MultipartError::BadDelimiter { offset });
                                }
                                (_, b'\n') => {
                                    if self.parts == self.limits.max_parts {
                                        return self.fail(MultipartError::TooManyParts {
                                            limit: self.limits.max_parts,
                                            offset: offset + 2,
                                        });
                                    }
                                    // The CRLF stays: a block with no field is
                                    // then `CRLF CRLF` too, an empty frame.
                                    let max = self.limits.max_header_bytes.saturating_add(2);
                                    self.framer.set_framing(Framing::whole("\r\n\r\n").max(max));
                                    self.state = State::Headers { start: offset + 2 };
                                }
                                _ => return self.fail(MultipartError::CrWithoutLf { offset }),
                            }
                        }
                        _ => return self.fail(MultipartError::BadDelimiter { offset }),
                    }
                }
                State::Headers { start } => {
                    let block = match self.framer.decode(buf) {
                        Ok(Some(f)) => f.into_bytes(),
                        Ok(None) => return Ok(None),
                        Err(FrameError::FrameTooLong { .. }) => {
                            return self.fail(MultipartError::HeadersTooLarge {
                                limit: self.limits.max_header_bytes,
                                offset: start,
                            });
                        }
                        Err(e) => return self.fail(unexpected(e)),
                    };
                    // The frame is the boundary line's CRLF and the fields.
                    let fields = block.get(2..).unwrap_or_default();
                    let headers = match PartHeaders::parse(fields, start, self.limits.max_headers) {
                        Ok(h) => h,
                        Err(e) => return self.fail(e),
                    };
                    self.parts += 1;
                    self.framer
                        .set_framing(Framing::Pieces(Terminator::Delimiter(
                            self.delimiter.clone(),
                        )));
                    self.state = State::Body {
                        start: self.framer.offset(),
                        len: 0,
                    };
                    return Ok(Some(PartEvent::Start(headers)));
                }
                State::Body { start, len } => {
                    let Some(frame) = self.framer.decode(buf).map_err(unexpected)? else {
                        return Ok(None);
                    };
                    let last = frame.is_last();
                    let data = frame.into_bytes();
                    let len = len + data.len() as u64;
                    let limit = self.limits.max_part_bytes;
                    if len > limit {
                        return self.fail(MultipartError::PartTooLarge {
                            limit,
                            offset: start + limit,
                        });
                    }
                    self.state = if last {
                        self.framer.set_framing(Framing::Raw);
                        State::BodyEnd
                    } else {
                        State::Body { start, len }
                    };
                    if !data.is_empty() {
                        return Ok(Some(PartEvent::Data(data)));
                    }
                }
                State::BodyEnd => {
                    self.state = State::Padding;
                    return Ok(Some(PartEvent::End));
                }
                State::Epilogue => {
                    let n = buf.len();
                    self.advance(buf, n);
                    return Ok(None);
                }
                State::Done => return Ok(None),
                State::Failed(ref e) => return Err(e.clone()),
            }
        }
    }

    /// At the end of input: the events the buffered bytes still make, then
    /// `Ok(None)` if the body ended after its close delimiter, or
    /// [`MultipartError::Truncated`].
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<PartEvent>, MultipartError> {
        if let Some(event) = self.decode(buf)? {
            return Ok(Some(event));
        }
        let expected = match self.state {
            State::Epilogue | State::Done => {
                self.state = State::Done;
                return Ok(None);
            }
            State::Failed(ref e) => return Err(e.clone()),
            State::Start | State::Preamble => "the first boundary",
            State::Padding => "the end of a boundary line",
            State::Headers { .. } => "the end of a part's header block",
            State::Body { .. } | State::BodyEnd => "a boundary after a part",
        };
        let offset = self.framer.offset() + buf.len() as u64;
        self.fail(MultipartError::Truncated { offset, expected })
    }
}

/// The framer in the parser's framings fails only on an overlong header
/// block, handled where it can happen; anything else would be a bug, kept
/// as a truncation at the framer's offset rather than a panic.
fn unexpected(e: FrameError) -> MultipartError {
    let offset = match e {
        FrameError::FrameTooLong { offset, .. } | FrameError::UnexpectedEnd { offset, .. } => {
            offset
        }
        _ => 0,
    };
    MultipartError::Truncated {
        offset,
        expected: "well-framed input",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A part as read: name, filename, content type, the body joined.
    type Part = (String, Option<String>, Option<String>, Vec<u8>);

    /// Feeds `body` cut at `cuts` (ascending) and returns the parts read
    /// and how it ended; checks that data pieces are never empty and that
    /// events come in order.
    fn run(
        body: &[u8],
        cuts: &[usize],
        limits: MultipartLimits,
    ) -> (Vec<Part>, Result<(), MultipartError>) {
        let b = Boundary::new("BOUNDARY").unwrap();
        let mut p = MultipartParser::new(&b, limits);
        let mut parts: Vec<Part> = Vec::new();
        let mut open = false;
        let mut on = |e: PartEvent, parts: &mut Vec<Part>| match e {
            PartEvent::Start(h) => {
                assert!(!open, "start inside a part");
                open = true;
                parts.push((
                    h.name().into(),
                    h.filename().map(Into::into),
                    h.content_type().map(Into::into),
                    Vec::new(),
                ));
            }
            PartEvent::Data(d) => {
                assert!(open && !d.is_empty());
                parts.last_mut().unwrap().3.extend_from_slice(&d);
            }
            PartEvent::End => {
                assert!(open);
                open = false;
            }
        };
        let mut buf = BytesMut::new();
        let mut from = 0;
        for &cut in cuts.iter().chain([body.len()].iter()) {
            buf.extend_from_slice(&body[from..cut]);
            from = cut;
            loop {
                match p.decode(&mut buf) {
                    Ok(Some(e)) => on(e, &mut parts),
                    Ok(None) => break,
                    Err(e) => return (parts, Err(e)),
                }
            }
        }
        loop {
            match p.decode_eof(&mut buf) {
                Ok(Some(e)) => on(e, &mut parts),
                Ok(None) => {
                    assert!(p.is_done());
                    return (parts, Ok(()));
                }
                Err(e) => {
                    // Sticky.
                    assert_eq!(p.decode(&mut buf), Err(e.clone()));
                    return (parts, Err(e));
                }
            }
        }
    }

    /// The same result whatever the cuts: every single cut, and every
    /// pair of cuts for short bodies.
    /// A failed body's data pieces before the error depend on the cuts
    /// (they stream); the error does not.
    fn shotgun(body: &[u8], limits: MultipartLimits) -> (Vec<Part>, Result<(), MultipartError>) {
        let whole = run(body, &[], limits);
        let same = |got: (Vec<Part>, Result<(), MultipartError>), how: &str| match &whole.1 {
            Ok(()) => assert_eq!(got, whole, "{how}"),
            Err(_) => assert_eq!(got.1, whole.1, "{how}"),
        };
        for i in 0..=body.len() {
            same(run(body, &[i], limits), &format!("cut at {i}"));
        }
        if body.len() <= 200 {
            for i in 0..=body.len() {
                for j in i..=body.len() {
                    same(run(body, &[i, j], limits), &format!("cuts at {i} {j}"));
                }
            }
        }
        let ones: Vec<usize> = (1..body.len()).collect();
        same(run(body, &ones, limits), "byte by byte");
        whole
    }

    fn part(name: &str, filename: Option<&str>, ct: Option<&str>, data: &[u8]) -> Part {
        (
            name.into(),
            filename.map(Into::into),
            ct.map(Into::into),
            data.to_vec(),
        )
    }

    const BODY: &[u8] = b"This is the preamble.\r\n--BOUNDARY \t\r\n\
Content-Disposition: form-data; name=\"text\"\r\n\r\n\
hello\r\n-- BOUNDARY\r\n--BOUNDAR\r\n\r\n--BOUNDARY\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\
Content-Type: application/octet-stream\r\n\r\n\
\r\n\r--BOUNDARY\r\n--BOUNDARY\r\n\
Content-Disposition: form-data; name=\"empty\"\r\n\r\n\
\r\n--BOUNDARY--  \r\nthe epilogue\r\n--BOUNDARY\r\n";

    #[test]
    fn a_body_reads_the_same_however_it_is_split() {
        let (parts, end) = shotgun(BODY, MultipartLimits::default());
        assert_eq!(end, Ok(()));
        assert_eq!(
            parts,
            [
                part("text", None, None, b"hello\r\n-- BOUNDARY\r\n--BOUNDAR\r\n"),
                part(
                    "file",
                    Some("a.bin"),
                    Some("application/octet-stream"),
                    b"\r\n\r--BOUNDARY"
                ),
                part("empty", None, None, b""),
            ]
        );
    }

    #[test]
    fn no_preamble_no_part_and_padding() {
        let body = b"--BOUNDARY\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--BOUNDARY--";
        let (parts, end) = shotgun(body, MultipartLimits::default());
        assert_eq!((parts, end), (vec![part("a", None, None, b"x")], Ok(())));
        // An empty form, as browsers send it.
        assert_eq!(
            shotgun(b"--BOUNDARY--\r\n", MultipartLimits::default()),
            (vec![], Ok(()))
        );
        // A preamble that is only a CRLF.
        assert_eq!(
            shotgun(b"\r\n--BOUNDARY--", MultipartLimits::default()),
            (vec![], Ok(()))
        );
        // `--BOUNDARY` not at a line start is preamble.
        assert_eq!(
            shotgun(b"x--BOUNDARY--\r\n--BOUNDARY--", MultipartLimits::default()),
            (vec![], Ok(()))
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        // Go's all-prefixes test: each prefix that stops before the close
        // delimiter is complete fails, whatever the split.
        let close = BODY.windows(12).position(|w| w == b"--BOUNDARY--").unwrap() + 12;
        for n in 0..BODY.len() {
            let (_, end) = run(&BODY[..n], &[n / 2], MultipartLimits::default());
            if n < close {
                assert!(
                    matches!(end, Err(MultipartError::Truncated { offset, .. }) if offset == n as u64),
                    "prefix {n}: {end:?}"
                );
            } else {
                assert_eq!(end, Ok(()), "prefix {n}");
            }
        }
    }

    #[test]
    fn malformed_bodies() {
        let cd = "Content-Disposition: form-data; name=a\r\n";
        let lim = MultipartLimits::default();
        let table: Vec<(String, MultipartLimits, MultipartError)> = vec![
            // Missing close delimiter.
            (
                format!("--BOUNDARY\r\n{cd}\r\nabc\r\n--BOUNDARY\r\n{cd}\r\n"),
                lim,
                MultipartError::Truncated {
                    offset: 113,
                    expected: "a boundary after a part",
                },
            ),
            (
                "no boundary at all".into(),
                lim,
                MultipartError::Truncated {
                    offset: 18,
                    expected: "the first boundary",
                },
            ),
            (
                format!("--BOUNDARY\r\n{cd}"),
                lim,
                MultipartError::Truncated {
                    offset: 52,
                    expected: "the end of a part's header block",
                },
            ),
            (
                "--BOUNDARY  ".into(),
                lim,
                MultipartError::Truncated {
                    offset: 12,
                    expected: "the end of a boundary line",
                },
            ),
            // Header block over the cap (10 + 2: the block starts at 12).
            (
                format!("--BOUNDARY\r\n{cd}\r\n\r\n--BOUNDARY--"),
                lim.max_header_bytes(20),
                MultipartError::HeadersTooLarge {
                    limit: 20,
                    offset: 12,
                },
            ),
            (
                format!("--BOUNDARY\r\n{cd}X: 1\r\nY: 2\r\n\r\n\r\n--BOUNDARY--"),
                lim.max_headers(2),
                MultipartError::TooManyHeaders {
                    limit: 2,
                    offset: 58,
                },
            ),
            // Too many parts: the third begins at 124.
            (
                format!(
                    "--BOUNDARY\r\n{cd}\r\n\r\n--BOUNDARY\r\n{cd}\r\n\r\n--BOUNDARY\r\n{cd}\r\n\r\n--BOUNDARY--"
                ),
                lim.max_parts(2),
                MultipartError::TooManyParts {
                    limit: 2,
                    offset: 124,
                },
            ),
            // Part too large: its body starts at 54, the fourth byte is over.
            (
                format!("--BOUNDARY\r\n{cd}\r\nabcd\r\n--BOUNDARY--"),
                lim.max_part_bytes(3),
                MultipartError::PartTooLarge {
                    limit: 3,
                    offset: 57,
                },
            ),
            (
                format!("--BOUNDARY\r\n{cd}\r\nabcd\r\n--BOUNDARY--"),
                lim.max_total(40),
                MultipartError::TooLarge {
                    limit: 40,
                    offset: 40,
                },
            ),
            // The boundary inside a part: `--BOUNDARYx`.
            (
                format!("--BOUNDARY\r\n{cd}\r\nab\r\n--BOUNDARYx\r\n--BOUNDARY--"),
                lim,
                MultipartError::BadDelimiter { offset: 68 },
            ),
            (
                format!("--BOUNDARY-x\r\n{cd}\r\n\r\n--BOUNDARY--"),
                lim,
                MultipartError::BadDelimiter { offset: 10 },
            ),
            // CR without LF after a boundary.
            (
                format!("--BOUNDARY\rX{cd}\r\n\r\n--BOUNDARY--"),
                lim,
                MultipartError::CrWithoutLf { offset: 10 },
            ),
            (
                "--BOUNDARY\r\nX: y\r\n\r\n\r\n--BOUNDARY--".into(),
                lim,
                MultipartError::MissingContentDisposition { offset: 12 },
            ),
            (
                "--BOUNDARY\r\n\r\n\r\n--BOUNDARY--".into(),
                lim,
                MultipartError::MissingContentDisposition { offset: 12 },
            ),
            (
                "--BOUNDARY\r\nContent-Disposition: inline\r\n\r\n\r\n--BOUNDARY--".into(),
                lim,
                MultipartError::BadContentDisposition {
                    offset: 12,
                    reason: "not form-data",
                },
            ),
            (
                format!("--BOUNDARY\r\n{cd}X: a\rb\r\n\r\n\r\n--BOUNDARY--"),
                lim,
                MultipartError::BadHeader {
                    offset: 56,
                    reason: "cr without lf",
                },
            ),
            (
                format!("--BOUNDARY\r\n{cd}X: a\nb\r\n\r\n\r\n--BOUNDARY--"),
                lim,
                MultipartError::BadHeader {
                    offset: 56,
                    reason: "lf without cr",
                },
            ),
        ];
        for (body, limits, want) in table {
            let (_, end) = shotgun(body.as_bytes(), limits);
            assert_eq!(end, Err(want.clone()), "{body:?}");
            assert!(!want.to_string().is_empty());
        }
    }

    #[test]
    fn memory_stays_bounded_while_a_large_part_streams() {
        let b = Boundary::new("BOUNDARY").unwrap();
        let mut p = MultipartParser::new(&b, MultipartLimits::default());
        let mut buf =
            BytesMut::from(&b"--BOUNDARY\r\nContent-Disposition: form-data; name=a\r\n\r\n"[..]);
        assert!(matches!(p.decode(&mut buf), Ok(Some(PartEvent::Start(_)))));
        let mut total = 0;
        for _ in 0..1000 {
            buf.extend_from_slice(&[b'\r'; 4096]);
            while let Some(PartEvent::Data(d)) = p.decode(&mut buf).unwrap() {
                total += d.len();
            }
            // Only a possible delimiter start is held back.
            assert!(buf.len() < 12, "{}", buf.len());
        }
        assert_eq!(total, 4096 * 1000 - 1);
    }
}
