//! Framing: asynchat's behaviours, split invariance (shotgun and proptest),
//! maximum lengths, the consumer FIFO, raw consumers and the input budget.

use std::io::Cursor;
use std::sync::{Arc, Mutex};

use bytes::{Buf, Bytes, BytesMut};
use producers::consume::{
    AtEof, ConsumeError, Consumer, ConsumerFifo, Control, Count, Eof, Frame, FrameError, Framer,
    Framing, Overflow, Terminator, from_fn,
};
use proptest::prelude::*;

/// What a run produced: frames (or errors) in order, and the end.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    F(Vec<u8>),
    Err(FrameError),
    End(Vec<u8>, u64),
}

fn f(b: &[u8]) -> Ev {
    Ev::F(b.to_vec())
}

/// Feeds `input` cut at `cuts` to a bare framer; pieces are joined per frame.
fn run_framer(framing: Framing, input: &[u8], cuts: &[usize]) -> Vec<Ev> {
    let mut framer = Framer::new(framing);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut piece = Vec::new();
    let mut push = |frame: Frame, out: &mut Vec<Ev>| match frame {
        Frame::Whole(b) => out.push(Ev::F(b.to_vec())),
        Frame::Piece { data, last } => {
            assert!(last || !data.is_empty(), "an empty non-last piece");
            piece.extend_from_slice(&data);
            if last {
                out.push(Ev::F(std::mem::take(&mut piece)));
            }
        }
    };
    let mut at = 0;
    for &cut in cuts.iter().chain([input.len()].iter()) {
        let cut = cut.clamp(at, input.len());
        buf.extend_from_slice(&input[at..cut]);
        at = cut;
        loop {
            match framer.decode(&mut buf) {
                Ok(Some(frame)) => push(frame, &mut out),
                Ok(None) => break,
                Err(e) => out.push(Ev::Err(e)),
            }
        }
    }
    loop {
        match framer.decode_eof(&mut buf) {
            Ok(AtEof::Frame(frame)) => push(frame, &mut out),
            Ok(AtEof::End(eof)) => {
                // Streamed: the pieces of the unfinished frame, then the held-back tail.
                let mut rest = std::mem::take(&mut piece);
                rest.extend_from_slice(&eof.tail);
                out.push(Ev::End(rest, eof.partial));
                break;
            }
            Err(e) => out.push(Ev::Err(e)),
        }
    }
    out
}

/// The naive model: `input` split on `delim` (leftmost, non-overlapping),
/// the unterminated rest as the end; frames longer than `max` become errors
/// (offsets where they began), and an unterminated rest that reached
/// `max + d` bytes is an error followed by a clean end.
fn model_delimited(input: &[u8], delim: &[u8], max: usize, policy: Overflow) -> Vec<Ev> {
    let mut out = Vec::new();
    let mut pos = 0;
    let d = delim.len();
    loop {
        let found = (pos..input.len()).find(|&i| input[i..].starts_with(delim));
        match found {
            Some(i) if i - pos <= max => out.push(Ev::F(input[pos..i].to_vec())),
            Some(_) => {
                out.push(Ev::Err(FrameError::FrameTooLong {
                    limit: max,
                    offset: pos as u64,
                }));
                if policy == Overflow::Close {
                    out.push(Ev::End(vec![], 0));
                    return out;
                }
            }
            None => {
                let rest = &input[pos..];
                if rest.len() >= max + d {
                    out.push(Ev::Err(FrameError::FrameTooLong {
                        limit: max,
                        offset: pos as u64,
                    }));
                    out.push(Ev::End(vec![], 0));
                } else {
                    out.push(Ev::End(rest.to_vec(), rest.len() as u64));
                }
                return out;
            }
        }
        pos = found.unwrap() + d;
    }
}

#[track_caller]
fn every_split(framing: &Framing, input: &[u8], expected: &[Ev]) {
    assert_eq!(
        run_framer(framing.clone(), input, &[]),
        expected,
        "in one read"
    );
    for i in 0..=input.len() {
        assert_eq!(
            run_framer(framing.clone(), input, &[i]),
            expected,
            "split at {i}"
        );
        if input.len() < 64 {
            for j in i..=input.len() {
                assert_eq!(
                    run_framer(framing.clone(), input, &[i, j]),
                    expected,
                    "split {i},{j}"
                );
            }
        }
    }
    let ones: Vec<usize> = (0..input.len()).collect();
    assert_eq!(
        run_framer(framing.clone(), input, &ones),
        expected,
        "byte by byte"
    );
}

// ---- asynchat's behaviours (CPython's test_asynchat) ----

fn in_pieces(input: &[u8], size: usize) -> Vec<usize> {
    (size..input.len()).step_by(size).collect()
}

#[test]
fn asynchat_line_terminators_in_1_2_3_byte_pieces() {
    for term in [&b"\n"[..], b"\r\n", b"qqq"] {
        let mut input = Vec::new();
        for part in [&b"hello "[..], b"world", b"I'm not dead yet!"] {
            input.extend_from_slice(part);
            input.extend_from_slice(term);
        }
        let expected = vec![
            f(b"hello "),
            f(b"world"),
            f(b"I'm not dead yet!"),
            Ev::End(vec![], 0),
        ];
        for size in [1, 2, 3] {
            for framing in [
                Framing::whole(Terminator::delimiter(term.to_vec())),
                Framing::pieces(Terminator::delimiter(term.to_vec())),
            ] {
                let got = run_framer(framing, &input, &in_pieces(&input, size));
                assert_eq!(got, expected, "{term:?} in {size}-byte pieces");
            }
        }
    }
}

#[test]
fn asynchat_numeric_terminator_followed_by_more_data() {
    let data = b"hello world, I'm not dead yet!\n";
    for size in [1, 2, 3, 100] {
        let got = run_framer(Framing::whole(6u64), data, &in_pieces(data, size));
        // One count frame; the rest waits for a new terminator.
        assert_eq!(got, [f(b"hello "), Ev::End(vec![], 0)]);
    }
    // Through a consumer that re-arms the count: consecutive records.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let mut fifo = ConsumerFifo::new();
    fifo.push(
        from_fn(Framing::whole(6u64), move |fr, ctl| {
            s.lock().unwrap().push(fr.into_bytes());
            ctl.set_terminator(6u64);
            Ok(())
        })
        .on_eof(|eof, _| {
            assert_eq!(eof.tail, &b"\n"[..]);
            Ok(())
        }),
    );
    fifo.feed(data).unwrap();
    fifo.eof().unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["hello ", "world,", " I'm n", "ot dea", "d yet!"]
    );
}

#[test]
fn asynchat_no_terminator_collects_until_close() {
    let data = b"hello world, I'm not dead yet!\n";
    for size in [1, 2, 3] {
        let got = run_framer(
            Framing::whole(Terminator::UntilClose),
            data,
            &in_pieces(data, size),
        );
        assert_eq!(got, [f(data), Ev::End(vec![], 0)]);
        let got = run_framer(
            Framing::pieces(Terminator::UntilClose),
            data,
            &in_pieces(data, size),
        );
        assert_eq!(got, [f(data), Ev::End(vec![], 0)]);
    }
}

#[test]
fn asynchat_empty_lines() {
    let data = b"hello world\n\nI'm not dead yet!\n";
    every_split(
        &Framing::whole("\n"),
        data,
        &[
            f(b"hello world"),
            f(b""),
            f(b"I'm not dead yet!"),
            Ev::End(vec![], 0),
        ],
    );
    every_split(
        &Framing::pieces("\n"),
        data,
        &[
            f(b"hello world"),
            f(b""),
            f(b"I'm not dead yet!"),
            Ev::End(vec![], 0),
        ],
    );
}

#[test]
fn asynchat_terminator_changed_in_the_callback_with_everything_in_one_read() {
    // Length-prefixed records: a line with the length, then that many bytes.
    let input = b"3\nabc0\n5\nhello2\nhi";
    for cut in 0..=input.len() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let mut expect_length = true;
        let mut fifo = ConsumerFifo::new();
        fifo.push(from_fn(Framing::whole("\n"), move |fr, ctl| {
            if expect_length {
                let n: u64 = std::str::from_utf8(fr.bytes()).unwrap().parse().unwrap();
                ctl.set_terminator(n);
            } else {
                s.lock().unwrap().push(fr.into_bytes());
                ctl.set_terminator("\n");
            }
            expect_length = !expect_length;
            Ok(())
        }));
        fifo.feed(&input[..cut]).unwrap();
        fifo.feed(&input[cut..]).unwrap();
        fifo.eof().unwrap();
        assert_eq!(
            *seen.lock().unwrap(),
            ["abc", "", "hello", "hi"],
            "cut at {cut}"
        );
    }
}

#[test]
fn asynchat_partial_delimiter_at_end_of_input_is_reported() {
    let framing = Framing::whole("\r\n.\r\n");
    every_split(
        &framing,
        b"first\r\n.\r\nsecond\r\n.",
        &[f(b"first"), Ev::End(b"second\r\n.".to_vec(), 9)],
    );
    // Streamed: the held-back partial delimiter is the tail; the partial
    // count includes the pieces already delivered.
    let got = run_framer(Framing::pieces("\r\n.\r\n"), b"second\r\n.", &[3]);
    assert_eq!(got, [Ev::End(b"second\r\n.".to_vec(), 9)]);
    let mut framer = Framer::new(Framing::pieces("\r\n.\r\n"));
    let mut buf = BytesMut::from(&b"second\r\n."[..]);
    let piece = Frame::Piece {
        data: Bytes::from_static(b"second"),
        last: false,
    };
    assert_eq!(framer.decode(&mut buf), Ok(Some(piece)));
    let end = Eof {
        tail: Bytes::from_static(b"\r\n."),
        partial: 9,
        offset: 0,
    };
    assert_eq!(framer.decode_eof(&mut buf), Ok(AtEof::End(end)));
    // Through a FIFO the consumer is told, by default as an error.
    let mut fifo = ConsumerFifo::new();
    fifo.push(from_fn(framing, |_, _| Ok(())));
    fifo.feed(b"first\r\n.\r\nsecond\r\n.").unwrap();
    assert!(matches!(
        fifo.eof(),
        Err(ConsumeError::Frame(FrameError::UnexpectedEnd {
            partial: 9,
            offset: 10
        }))
    ));
}

// ---- maximum lengths ----

#[test]
fn the_exact_boundary_is_not_yet_an_error() {
    // max 5, CRLF: "abcde\r" (max + d - 1 bytes) may still be a legal line.
    let mut framer = Framer::new(Framing::whole("\r\n").max(5));
    let mut buf = BytesMut::from(&b"abcde\r"[..]);
    assert_eq!(framer.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"\n");
    assert_eq!(
        framer.decode(&mut buf),
        Ok(Some(Frame::Whole(Bytes::from_static(b"abcde"))))
    );
    // One byte more without a delimiter is the error, with the frame's offset.
    let mut buf = BytesMut::from(&b"abcdef"[..]);
    assert_eq!(framer.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"g");
    assert_eq!(
        framer.decode(&mut buf),
        Err(FrameError::FrameTooLong {
            limit: 5,
            offset: 7
        })
    );
    // Four-byte delimiter: max + 3 bytes are still fine.
    let mut framer = Framer::new(Framing::whole("\r\n\r\n").max(4));
    let mut buf = BytesMut::from(&b"abcd\r\n\r"[..]);
    assert_eq!(framer.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"\n");
    assert_eq!(
        framer.decode(&mut buf),
        Ok(Some(Frame::Whole(Bytes::from_static(b"abcd"))))
    );
}

#[test]
fn overflow_then_recovery_through_the_next_delimiter() {
    let framing = Framing::whole("\r\n").max(4).overflow(Overflow::Discard);
    let input = b"ok\r\nmuch too long\r\r\n\r\nfine\r\nxxxxxxxx";
    every_split(
        &framing,
        input,
        &[
            f(b"ok"),
            Ev::Err(FrameError::FrameTooLong {
                limit: 4,
                offset: 4,
            }),
            f(b""),
            f(b"fine"),
            Ev::Err(FrameError::FrameTooLong {
                limit: 4,
                offset: 28,
            }),
            Ev::End(vec![], 0),
        ],
    );
}

#[test]
fn fail_fast_versus_discard() {
    let input = b"ok\r\nmuch too long\r\nfine\r\n";
    every_split(
        &Framing::whole("\r\n").max(4),
        input,
        &[
            f(b"ok"),
            Ev::Err(FrameError::FrameTooLong {
                limit: 4,
                offset: 4,
            }),
            Ev::End(vec![], 0),
        ],
    );
    // In a FIFO, Close fails it; Discard goes on.
    for (policy, lines) in [
        (Overflow::Close, vec!["ok"]),
        (Overflow::Discard, vec!["ok", "fine"]),
    ] {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let errors = Arc::new(Mutex::new(0));
        let mut fifo = ConsumerFifo::new();
        fifo.push(Recorder {
            framing: Framing::whole("\r\n").max(4).overflow(policy),
            seen: seen.clone(),
            errors: errors.clone(),
        });
        let r = fifo.feed(input);
        assert_eq!(*seen.lock().unwrap(), lines);
        assert_eq!(*errors.lock().unwrap(), 1, "the error is handed over once");
        assert_eq!(r.is_err(), policy == Overflow::Close);
        assert_eq!(fifo.is_failed(), policy == Overflow::Close);
    }
}

struct Recorder {
    framing: Framing,
    seen: Arc<Mutex<Vec<Bytes>>>,
    errors: Arc<Mutex<u32>>,
}

impl Consumer for Recorder {
    fn framing(&self) -> Framing {
        self.framing.clone()
    }
    fn on_frame(&mut self, frame: Frame, _: &mut Control) -> Result<(), ConsumeError> {
        self.seen.lock().unwrap().push(frame.into_bytes());
        Ok(())
    }
    fn on_frame_error(&mut self, _: &FrameError, _: &mut Control) -> Result<(), ConsumeError> {
        *self.errors.lock().unwrap() += 1;
        Ok(())
    }
}

// ---- the consumer FIFO ----

type Log = Arc<Mutex<Vec<Bytes>>>;

/// Header (`\r\n\r\n`, 16 KiB) → body (count from the header, which is just
/// the decimal length) → the next header.
fn request(log: Log) -> impl Consumer + Send + 'static {
    from_fn(
        Framing::whole("\r\n\r\n").max(16 << 10),
        move |head, ctl| {
            let head = head.into_bytes();
            let len: u64 = std::str::from_utf8(&head).unwrap().parse().unwrap();
            log.lock().unwrap().push(head);
            let (l, next) = (log.clone(), log.clone());
            ctl.then(Count::new(len, move |body, ctl| {
                l.lock().unwrap().push(body);
                ctl.then(request(next));
                Ok(())
            }));
            ctl.done();
            Ok(())
        },
    )
}

#[test]
fn pipelined_requests_split_everywhere() {
    let input = b"5\r\n\r\nhello0\r\n\r\n3\r\n\r\nabc2\r\n\r\n";
    let expected = ["5", "hello", "0", "", "3", "abc", "2"];
    for i in 0..=input.len() {
        for j in i..=input.len() {
            let log = Log::default();
            let mut fifo = ConsumerFifo::new();
            fifo.push(request(log.clone()));
            for part in [&input[..i], &input[i..j], &input[j..]] {
                fifo.feed(part).unwrap();
            }
            assert_eq!(*log.lock().unwrap(), expected, "split {i},{j}");
            assert_eq!(fifo.len(), 1, "the last body consumer waits");
            // Its body never came: a clean end (nothing of it arrived).
            fifo.eof().unwrap();
        }
    }
}

#[test]
fn frames_are_split_off_the_read_buffer_not_copied() {
    let log = Log::default();
    let mut fifo = ConsumerFifo::new();
    fifo.push(request(log.clone()));
    let input = b"5\r\n\r\nhello11\r\n\r\nhello world2\r\n\r\nhi";
    fifo.read_buf().extend_from_slice(input);
    let base = fifo.read_buf().as_ptr() as usize;
    fifo.process().unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 6);
    for frame in log.iter().filter(|f| !f.is_empty()) {
        let p = frame.as_ptr() as usize;
        assert!(
            p >= base && p + frame.len() <= base + input.len(),
            "{frame:?} was copied"
        );
    }
    assert_eq!(fifo.offset(), input.len() as u64);
}

#[test]
fn consumers_pushed_while_others_run_and_done_mid_stream() {
    let seen = Log::default();
    let (s1, s2) = (seen.clone(), seen.clone());
    let mut fifo = ConsumerFifo::new();
    // Lines until "DATA", then the message to "\r\n.\r\n", streamed.
    fifo.push(producers::consume::Lines::new("\r\n", move |line, ctl| {
        if &line[..] == b"DATA" {
            ctl.done();
        }
        s1.lock().unwrap().push(line);
        Ok(())
    }));
    fifo.feed(b"HELO x\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), ["HELO x", "DATA"]);
    assert_eq!(fifo.buffered(), 30, "held for the next consumer, not lost");
    fifo.push(from_fn(Framing::pieces("\r\n.\r\n"), move |piece, ctl| {
        s2.lock().unwrap().push(piece.bytes().clone());
        if piece.is_last() {
            ctl.done();
        }
        Ok(())
    }));
    fifo.process().unwrap();
    assert_eq!(seen.lock().unwrap()[2], "Subject: hi\r\n\r\nbody");
    assert_eq!(fifo.buffered(), 6);
}

#[test]
fn lines_then_a_count_then_lines_split_everywhere() {
    // Lines take the FIFO's batch path; a request stops the batch right
    // after the line that made it, whatever is buffered behind it.
    let input = b"HELO x\r\nBODY\r\nabcd\r\nQUIT\r\n\r\nlast";
    let expected = ["HELO x", "BODY", "abcd", "", "QUIT", ""];
    for i in 0..=input.len() {
        for j in i..=input.len() {
            let log = Log::default();
            let l = log.clone();
            let mut fifo = ConsumerFifo::new();
            fifo.push(producers::consume::Lines::new("\r\n", move |line, ctl| {
                assert_eq!(ctl.offset(), [8, 14][l.lock().unwrap().len()]);
                if &line[..] == b"BODY" {
                    let (l2, l3) = (l.clone(), l.clone());
                    ctl.then(Count::new(4, move |body, _| {
                        l2.lock().unwrap().push(body);
                        Ok(())
                    }));
                    ctl.then(
                        producers::consume::Lines::new("\r\n", move |line, _| {
                            l3.lock().unwrap().push(line);
                            Ok(())
                        })
                        .accept_unterminated(),
                    );
                    ctl.done();
                }
                l.lock().unwrap().push(line);
                Ok(())
            }));
            for part in [&input[..i], &input[i..j], &input[j..]] {
                fifo.feed(part).unwrap();
            }
            assert_eq!(*log.lock().unwrap(), expected, "split {i},{j}");
            assert_eq!(fifo.buffered(), 4, "split {i},{j}");
            fifo.eof().unwrap();
            assert_eq!(log.lock().unwrap()[expected.len()..], ["last"]);
        }
    }
}

/// Overrides the batch method: pulls frames until a line asks for a count,
/// then tries once more (and must get nothing).
struct Batcher {
    log: Arc<Mutex<Vec<(Bytes, u64)>>>,
}

impl Consumer for Batcher {
    fn framing(&self) -> Framing {
        Framing::whole("\n")
    }
    fn on_frame(&mut self, frame: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        self.log
            .lock()
            .unwrap()
            .push((frame.into_bytes(), ctl.offset()));
        ctl.set_terminator("\n");
        Ok(())
    }
    fn on_whole_frames(
        &mut self,
        frames: &mut producers::consume::WholeFrames<'_>,
        ctl: &mut Control,
    ) -> Result<(), ConsumeError> {
        while let Some(line) = frames.next(ctl) {
            if let Some(n) = line.strip_prefix(b"count ") {
                let n: u64 = std::str::from_utf8(n).unwrap().parse().unwrap();
                ctl.set_terminator(n);
            }
            self.log.lock().unwrap().push((line, ctl.offset()));
        }
        if ctl.offset() == 10 {
            assert_eq!(frames.next(ctl), None, "no frame after a request");
        }
        Ok(())
    }
}

#[test]
fn a_batch_stops_at_the_first_request() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut fifo = ConsumerFifo::new();
    fifo.push(Batcher { log: log.clone() });
    fifo.feed(b"a\ncount 3\nx\nyb\nc\n").unwrap();
    let got: Vec<(Bytes, u64)> = log.lock().unwrap().clone();
    let want = [
        ("a", 2),
        ("count 3", 10),
        ("x\ny", 13),
        ("b", 15),
        ("c", 17),
    ]
    .map(|(b, o)| (Bytes::from(b), o));
    assert_eq!(got, want);
    assert_eq!(fifo.offset(), 17);
}

#[test]
fn eof_reaches_every_queued_consumer() {
    let ends = Arc::new(Mutex::new(Vec::new()));
    let mut fifo = ConsumerFifo::new();
    for i in 0..3 {
        let e = ends.clone();
        fifo.push(
            from_fn(Framing::whole("\n"), |_, ctl| {
                ctl.done();
                Ok(())
            })
            .on_eof(move |eof: Eof, _| {
                e.lock().unwrap().push((i, eof.tail));
                Ok(())
            }),
        );
    }
    fifo.feed(b"a\nbc").unwrap();
    fifo.eof().unwrap();
    assert_eq!(
        *ends.lock().unwrap(),
        [(1, Bytes::from_static(b"bc")), (2, Bytes::new())]
    );
    assert!(fifo.is_ended() && fifo.is_empty() && !fifo.wants_read());
}

// ---- raw (self-framed) consumers: the shape of the chunked and gzip ones ----

/// A toy self-framed decoder of the shape the chunked decoder has:
/// records of one length byte and that many bytes, ended by a zero length.
#[derive(Debug, Default)]
struct ToyDecoder;

enum Decoded {
    Data(Bytes),
    NeedMore,
    End,
}

impl ToyDecoder {
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, std::io::Error> {
        let Some(&n) = buf.first() else {
            return Ok(Decoded::NeedMore);
        };
        if n == 0 {
            buf.advance(1);
            return Ok(Decoded::End);
        }
        if n == 0xff {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "bad record",
            ));
        }
        if buf.len() < 1 + n as usize {
            return Ok(Decoded::NeedMore);
        }
        buf.advance(1);
        Ok(Decoded::Data(buf.split_to(n as usize).freeze()))
    }
}

struct ToyBody {
    decoder: ToyDecoder,
    log: Log,
}

impl Consumer for ToyBody {
    fn framing(&self) -> Framing {
        Framing::Raw
    }
    fn on_frame(&mut self, _: Frame, _: &mut Control) -> Result<(), ConsumeError> {
        unreachable!("raw")
    }
    fn on_raw(&mut self, buf: &mut BytesMut, ctl: &mut Control) -> Result<(), ConsumeError> {
        loop {
            match self.decoder.decode(buf)? {
                Decoded::Data(b) => self.log.lock().unwrap().push(b),
                Decoded::NeedMore => return Ok(()),
                Decoded::End => {
                    ctl.done();
                    return Ok(());
                }
            }
        }
    }
    fn on_eof(&mut self, eof: Eof, _: &mut Control) -> Result<(), ConsumeError> {
        Err(FrameError::UnexpectedEnd {
            partial: eof.partial,
            offset: eof.offset,
        }
        .into())
    }
}

#[test]
fn a_raw_consumer_hands_back_what_it_did_not_use() {
    let input = b"\x03abc\x02de\x00next\n\x01z\x00";
    for i in 0..=input.len() {
        for j in i..=input.len() {
            let log = Log::default();
            let mut fifo = ConsumerFifo::new();
            fifo.push(ToyBody {
                decoder: ToyDecoder,
                log: log.clone(),
            });
            let l = log.clone();
            fifo.push(from_fn(Framing::whole("\n"), move |fr, ctl| {
                l.lock().unwrap().push(fr.into_bytes());
                ctl.done();
                Ok(())
            }));
            fifo.push(ToyBody {
                decoder: ToyDecoder,
                log: log.clone(),
            });
            for part in [&input[..i], &input[i..j], &input[j..]] {
                fifo.feed(part).unwrap();
            }
            fifo.eof().unwrap();
            assert_eq!(
                *log.lock().unwrap(),
                ["abc", "de", "next", "z"],
                "split {i},{j}"
            );
        }
    }
    // Truncated inside: the raw consumer's end reports it with the offset.
    let mut fifo = ConsumerFifo::new();
    fifo.push(ToyBody {
        decoder: ToyDecoder,
        log: Log::default(),
    });
    fifo.feed(b"\x03abc\x02d").unwrap();
    assert!(matches!(
        fifo.eof(),
        Err(ConsumeError::Frame(FrameError::UnexpectedEnd {
            partial: 2,
            offset: 4
        }))
    ));
    // A decoder error crosses as an io::Error with its kind.
    let mut fifo = ConsumerFifo::new();
    fifo.push(ToyBody {
        decoder: ToyDecoder,
        log: Log::default(),
    });
    let e = fifo.feed(b"\x01a\xff").unwrap_err();
    assert_eq!(
        std::io::Error::from(e).kind(),
        std::io::ErrorKind::InvalidData
    );
}

// ---- the input budget ----

#[test]
fn backpressure_stops_reading_until_a_consumer_catches_up() {
    let mut fifo = ConsumerFifo::with_budget(12);
    let mut reader = Cursor::new(b"line one\nline two\nline three\n".to_vec());
    assert!(fifo.wants_read());
    assert_eq!(fifo.read_from(&mut reader).unwrap(), 12);
    fifo.process().unwrap();
    // No consumer yet: the budget is full, the reader is told to stop.
    assert!(!fifo.wants_read());
    assert_eq!(fifo.room(), 0);
    assert_eq!(fifo.read_from(&mut reader).unwrap(), 0);
    let log = Log::default();
    let l = log.clone();
    fifo.push(from_fn(Framing::whole("\n"), move |fr, _| {
        l.lock().unwrap().push(fr.into_bytes());
        Ok(())
    }));
    fifo.process().unwrap();
    assert!(fifo.wants_read());
    assert!(fifo.buffered() <= 12);
    while fifo.wants_read() {
        match fifo.read_from(&mut reader).unwrap() {
            0 => fifo.eof().unwrap(),
            _ => fifo.process().unwrap(),
        }
        assert!(fifo.buffered() <= 12);
    }
    assert_eq!(*log.lock().unwrap(), ["line one", "line two", "line three"]);
}

#[test]
fn a_frame_longer_than_the_budget_is_an_error_not_a_stall() {
    let mut fifo = ConsumerFifo::with_budget(16);
    fifo.push(from_fn(Framing::whole("\n").max(100), |_, _| Ok(())));
    assert!(matches!(
        fifo.feed(&[b'x'; 40]),
        Err(ConsumeError::Frame(FrameError::BudgetExceeded {
            budget: 16,
            offset: 0
        }))
    ));
    assert!(fifo.is_failed());
    // With no consumer at all, feed cannot hold more than the budget.
    let mut fifo = ConsumerFifo::with_budget(4);
    assert!(fifo.feed(b"abcd").is_ok());
    assert!(matches!(
        fifo.feed(b"e"),
        Err(ConsumeError::Frame(FrameError::BudgetExceeded {
            budget: 4,
            ..
        }))
    ));
}

#[test]
fn streamed_bodies_pass_through_a_small_budget() {
    let total = Arc::new(Mutex::new(0usize));
    let t = total.clone();
    let mut fifo = ConsumerFifo::with_budget(64);
    fifo.push(from_fn(Framing::pieces(100_000u64), move |p, ctl| {
        *t.lock().unwrap() += p.bytes().len();
        if p.is_last() {
            ctl.done();
        }
        Ok(())
    }));
    fifo.feed(&vec![7u8; 100_000]).unwrap();
    assert_eq!(*total.lock().unwrap(), 100_000);
}

#[test]
fn a_livelocked_consumer_is_stopped() {
    let mut fifo = ConsumerFifo::new();
    fifo.push(from_fn(Framing::whole(0u64), |_, ctl| {
        ctl.set_terminator(0u64);
        Ok(())
    }));
    assert!(matches!(
        fifo.process(),
        Err(ConsumeError::Frame(FrameError::NoProgress {
            offset: 0,
            rearms: 1025
        }))
    ));
}

// ---- proptest: any stream, any delimiter, any split ----

fn alphabet() -> impl Strategy<Value = u8> {
    prop_oneof![Just(b'a'), Just(b'b'), Just(b'\r'), Just(b'\n')]
}

fn cuts(len: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..=len, 0..8).prop_map(|mut v| {
        v.sort_unstable();
        v
    })
}

fn stream_delim_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, Vec<usize>)> {
    (
        proptest::collection::vec(alphabet(), 0..200),
        proptest::collection::vec(alphabet(), 1..5),
    )
        .prop_flat_map(|(s, d)| {
            let n = s.len();
            (Just(s), Just(d), cuts(n))
        })
}

/// Feeds `s` cut at `cuts` to a FIFO.
fn feed_cut(fifo: &mut ConsumerFifo, s: &[u8], cuts: &[usize]) {
    let mut at = 0;
    for &cut in cuts.iter().chain([s.len()].iter()) {
        let cut = cut.clamp(at, s.len());
        fifo.feed(&s[at..cut]).unwrap();
        at = cut;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn delimited_frames_equal_the_naive_split((s, d, cuts) in stream_delim_cuts()) {
        let expected = model_delimited(&s, &d, usize::MAX / 2, Overflow::Close);
        let term = Terminator::delimiter(d.clone());
        prop_assert_eq!(&run_framer(Framing::whole(term.clone()).max(usize::MAX / 2), &s, &cuts), &expected);
        prop_assert_eq!(&run_framer(Framing::pieces(term), &s, &cuts), &expected);
    }

    #[test]
    fn overlong_frames_follow_the_model((s, d, cuts) in stream_delim_cuts(), max in 0usize..12, discard: bool) {
        let policy = if discard { Overflow::Discard } else { Overflow::Close };
        let framing = Framing::whole(Terminator::delimiter(d.clone())).max(max).overflow(policy);
        prop_assert_eq!(run_framer(framing, &s, &cuts), model_delimited(&s, &d, max, policy));
    }

    #[test]
    fn counted_frames_equal_consecutive_slices(
        s in proptest::collection::vec(any::<u8>(), 0..300),
        counts in proptest::collection::vec(0u64..40, 1..20),
        cuts in cuts(300),
        pieces: bool,
    ) {
        let mut expected = Vec::new();
        let mut pos = 0usize;
        for &c in &counts {
            let c = c as usize;
            if pos + c > s.len() { break; }
            expected.push(s[pos..pos + c].to_vec());
            pos += c;
        }
        let complete = expected.len() == counts.len();
        let counts2 = counts.clone();
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let first = if pieces { Framing::pieces(counts[0]) } else { Framing::whole(counts[0]) };
        let mut k = 0usize;
        let mut piece = Vec::new();
        let consumer = from_fn(first, move |fr, ctl| {
            piece.extend_from_slice(fr.bytes());
            if fr.is_last() {
                l.lock().unwrap().push(std::mem::take(&mut piece));
                k += 1;
                match counts2.get(k) {
                    Some(&c) => ctl.set_terminator(c),
                    None => ctl.done(),
                }
            }
            Ok(())
        }).on_eof(|_, _| Ok(()));
        let mut fifo = ConsumerFifo::new();
        fifo.push(consumer);
        feed_cut(&mut fifo, &s, &cuts);
        prop_assert_eq!(&*log.lock().unwrap(), &expected);
        prop_assert_eq!(fifo.offset() + fifo.buffered() as u64, s.len() as u64);
        if complete {
            prop_assert_eq!(fifo.offset(), pos as u64);
        }
        fifo.eof().unwrap();
    }

    #[test]
    fn fifo_frames_equal_the_naive_split((s, d, cuts) in stream_delim_cuts(), every in 1usize..4) {
        // A chain of consumers, each taking `every` frames, then done.
        let model = model_delimited(&s, &d, 1 << 20, Overflow::Close);
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut fifo = ConsumerFifo::new();
        for _ in 0..(s.len() / every + 2) {
            let l = log.clone();
            let le = log.clone();
            let mut left = every;
            let framing = Framing::whole(Terminator::delimiter(d.clone())).max(1 << 20);
            fifo.push(from_fn(framing, move |fr, ctl| {
                l.lock().unwrap().push(Ev::F(fr.bytes().to_vec()));
                left -= 1;
                if left == 0 { ctl.done(); }
                Ok(())
            }).on_eof(move |eof, _| {
                let mut v = le.lock().unwrap();
                if !matches!(v.last(), Some(Ev::End(..))) {
                    v.push(Ev::End(eof.tail.to_vec(), eof.partial));
                }
                Ok(())
            }));
        }
        feed_cut(&mut fifo, &s, &cuts);
        fifo.eof().unwrap();
        prop_assert_eq!(&*log.lock().unwrap(), &model);
    }

    #[test]
    fn pipelined_requests_through_the_fifo(
        bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 1..8),
        cuts in cuts(500),
    ) {
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for b in &bodies {
            let head = b.len().to_string();
            input.extend_from_slice(head.as_bytes());
            input.extend_from_slice(b"\r\n\r\n");
            input.extend_from_slice(b);
            expected.push(Bytes::from(head));
            expected.push(Bytes::from(b.clone()));
        }
        let log = Log::default();
        let mut fifo = ConsumerFifo::new();
        fifo.push(request(log.clone()));
        feed_cut(&mut fifo, &input, &cuts);
        fifo.eof().unwrap();
        prop_assert_eq!(&*log.lock().unwrap(), &expected);
    }
}
