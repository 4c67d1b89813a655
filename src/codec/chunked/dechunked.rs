//! [`Dechunked`]: decodes a producer whose output is chunked-coded.

use std::io;
use std::task::{Context, Poll};

use bytes::BytesMut;

use super::{ChunkedDecoder, ChunkedError, Decoded};
use crate::chunk::{Chunk, REGION_PIECE};
use crate::produce::{Counters, More, Producer};

/// Decodes the chunked-coded output of the inner producer, handing out the
/// payload.
///
/// The payload pieces are split off the input buffer without copying; the
/// input itself is copied into that buffer only when the decoder holds a
/// partial line from an earlier chunk (or the inner chunk's memory is
/// shared). File regions in the input are read in pieces of 64 KiB.
///
/// - Malformed input is an [`io::ErrorKind::InvalidData`] error carrying the
///   [`ChunkedError`](super::ChunkedError) (reach it with
///   [`io::Error::get_ref`]); input that ends before the final CRLF is an
///   [`io::ErrorKind::UnexpectedEof`] error. Errors from the inner producer
///   pass through. Any error is final.
/// - The input must end at the final CRLF (issue 11: nothing may be lost
///   silently). After the final CRLF the inner producer is read to its end;
///   a byte after the final CRLF is an `InvalidData` error carrying
///   [`ChunkedError::TrailingData`] with that byte's offset, whether it came
///   in the chunk that held the end or later. The output ends only when the
///   inner producer does.
/// - With [`stop_at_end(true)`](Dechunked::stop_at_end), for a message
///   followed by something else (the next pipelined message): the output
///   ends at the final CRLF and the inner producer is not asked for more.
///   Bytes already read past the end are kept in
///   [`remainder`](Dechunked::remainder).
/// - Trailers and extensions are in [`decoder`](Dechunked::decoder).
///
/// Made by [`ProducerExt::dechunked`](crate::ProducerExt::dechunked) (strict,
/// default limits) or [`Dechunked::new`] with a configured decoder:
///
/// ```
/// use producers::{ProducerExt, from_bytes};
///
/// let body = from_bytes("hello, world").pieces(5).chunked().pieces(3).dechunked();
/// assert_eq!(&body.collect_bytes()?[..], b"hello, world");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Dechunked<P> {
    inner: P,
    decoder: ChunkedDecoder,
    /// Input not yet decoded.
    buf: BytesMut,
    state: State,
    /// Whether the output ends at the final CRLF without checking that the
    /// input ends there too.
    stop_at_end: bool,
    counters: Counters,
}

/// Where the input stands.
#[derive(Debug)]
enum State {
    /// Decode what is buffered, then ask the inner producer.
    Reading,
    /// The unread rest of a file region from the inner producer, to be
    /// read once the buffer has been decoded.
    Region(Chunk),
    /// The end was decoded with nothing buffered after it: the inner
    /// producer must end before anything else comes from it.
    AfterEnd,
    /// The end was decoded (and checked), or an error reported: nothing
    /// more, ever.
    Finished,
}

impl<P: Producer> Dechunked<P> {
    /// Decodes `inner` with `decoder` (for other limits or leniency).
    pub fn new(inner: P, decoder: ChunkedDecoder) -> Self {
        Dechunked {
            inner,
            decoder,
            buf: BytesMut::new(),
            state: State::Reading,
            stop_at_end: false,
            counters: Counters::default(),
        }
    }

    /// With `true`, the output ends at the final CRLF and the inner producer
    /// is not asked for more: what follows the message is left for the
    /// caller ([`remainder`](Dechunked::remainder), then the inner producer).
    /// With `false` (the default), the inner producer is read to its end and
    /// anything after the final CRLF is [`ChunkedError::TrailingData`].
    ///
    /// ```
    /// use producers::{Producer, ProducerExt, from_bytes};
    ///
    /// let err = from_bytes("0\r\n\r\nNEXT").dechunked().collect_bytes().unwrap_err();
    /// assert_eq!(err.to_string(), "trailing data at byte 5 after the end of the chunked message");
    ///
    /// let mut p = from_bytes("0\r\n\r\nNEXT").dechunked().stop_at_end(true);
    /// assert!(p.more()?.is_none());
    /// assert_eq!(p.remainder(), b"NEXT");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop_at_end(mut self, yes: bool) -> Self {
        self.stop_at_end = yes;
        self
    }

    /// The decoder: its [`trailers`](ChunkedDecoder::trailers) after the
    /// end, the [`chunk_extensions`](ChunkedDecoder::chunk_extensions) of
    /// the chunk whose data was handed out last.
    pub fn decoder(&self) -> &ChunkedDecoder {
        &self.decoder
    }

    /// Bytes read from the inner producer past the final CRLF (the start of
    /// whatever follows the message), with
    /// [`stop_at_end(true)`](Dechunked::stop_at_end); without it they are an
    /// error, and this is empty. An unread part of a file region is not
    /// included.
    pub fn remainder(&self) -> &[u8] {
        if self.decoder.is_done() {
            &self.buf
        } else {
            &[]
        }
    }

    /// The inner producer.
    pub fn get_ref(&self) -> &P {
        &self.inner
    }

    /// The inner producer, mutably. Taking chunks from it directly breaks
    /// the decoding.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// The inner producer; buffered input is dropped.
    pub fn into_inner(self) -> P {
        self.inner
    }

    /// Appends `bytes` to the input buffer, without copying when the buffer
    /// is empty and the bytes are not shared.
    fn feed(&mut self, bytes: bytes::Bytes) {
        if self.buf.is_empty() {
            match bytes.try_into_mut() {
                Ok(b) => self.buf = b,
                Err(b) => self.buf.extend_from_slice(&b),
            }
        } else {
            self.buf.extend_from_slice(&bytes);
        }
    }

    /// Takes the next piece of input into the buffer; `Ready(None)` at the
    /// inner producer's end.
    fn read(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<()>>> {
        let chunk = match std::mem::replace(&mut self.state, State::Reading) {
            State::Region(c) => c,
            State::Finished => return Poll::Ready(None),
            State::AfterEnd => unreachable!("no reads after the end"),
            State::Reading => match self.inner.poll_more(cx) {
                Poll::Ready(Some(Ok(c))) => c,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            },
        };
        match chunk {
            Chunk::Bytes(b) => self.feed(b.into_bytes()),
            region @ Chunk::File(_) => match region.split_bytes(REGION_PIECE) {
                Ok((head, rest)) => {
                    self.feed(head);
                    if let Some(rest) = rest {
                        self.state = State::Region(rest);
                    }
                }
                Err(e) => return Poll::Ready(Some(Err(e))),
            },
        }
        Poll::Ready(Some(Ok(())))
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        match self.state {
            State::Finished => return Poll::Ready(None),
            State::AfterEnd => return self.poll_after_end(cx),
            State::Reading | State::Region(_) => {}
        }
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Decoded::Data(data)) => {
                    // `Data` is never empty; were it, decoding goes on.
                    if let Some(c) = Chunk::from_bytes(data) {
                        return Poll::Ready(Some(Ok(c)));
                    }
                }
                Ok(Decoded::End) if self.stop_at_end => {
                    self.state = State::Finished;
                    return Poll::Ready(None);
                }
                Ok(Decoded::End) => {
                    // Bytes already read past the end, in the buffer or in
                    // the unread rest of a region (never empty), are
                    // trailing data.
                    if !self.buf.is_empty() || matches!(self.state, State::Region(_)) {
                        return self.fail_trailing();
                    }
                    self.state = State::AfterEnd;
                    return self.poll_after_end(cx);
                }
                Err(e) => return self.fail(e.into()),
                Ok(Decoded::NeedMore) => {
                    match self.read(cx) {
                        Poll::Ready(Some(Ok(()))) => {}
                        Poll::Ready(Some(Err(e))) => return self.fail(e),
                        Poll::Ready(None) => {
                            // NeedMore means neither the end nor an error yet,
                            // so this is the decoder's "unexpected end".
                            let e = self.decoder.finish().err().unwrap_or(
                                ChunkedError::UnexpectedEnd {
                                    offset: self.decoder.offset(),
                                },
                            );
                            return self.fail(e.into());
                        }
                        Poll::Pending => return Poll::Pending,
                    }
                }
            }
        }
    }

    /// After the final CRLF: the inner producer must end now. Chunks are
    /// never empty, so any chunk is trailing data.
    fn poll_after_end(&mut self, cx: &mut Context<'_>) -> More {
        match self.inner.poll_more(cx) {
            Poll::Ready(None) => {
                self.state = State::Finished;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(_))) => self.fail_trailing(),
            Poll::Ready(Some(Err(e))) => self.fail(e),
            Poll::Pending => Poll::Pending,
        }
    }

    fn fail_trailing(&mut self) -> More {
        let offset = self.decoder.offset();
        self.fail(ChunkedError::TrailingData { offset }.into())
    }

    /// Reports `e`; every later call returns the end.
    fn fail(&mut self, e: io::Error) -> More {
        self.state = State::Finished;
        self.buf = BytesMut::new();
        Poll::Ready(Some(Err(e)))
    }
}

impl<P: Producer> Producer for Dechunked<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    fn exact_len(&self) -> Option<u64> {
        // The payload length is only known once the end has been decoded.
        matches!(self.state, State::AfterEnd | State::Finished).then_some(0)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::chunked::{ChunkedError, Leniency};
    use crate::testing::{self, Script, Step};
    use crate::{FileProducer, ProducerExt, from_bytes, produce::BytesProducer};

    fn io_chunked_error(e: &io::Error) -> &ChunkedError {
        e.get_ref()
            .and_then(|e| e.downcast_ref())
            .expect("a ChunkedError inside")
    }

    #[test]
    fn conformance() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        for piece in [1, 100, 3000] {
            for input_piece in [1, 2, 7, 4096] {
                let make = || {
                    BytesProducer::with_piece_size(data.clone(), piece)
                        .unwrap()
                        .chunked()
                        .trailer("a", "b")
                        .unwrap()
                        .pieces(input_piece)
                        .dechunked()
                };
                testing::check(make, &data);
            }
        }
        testing::check(|| from_bytes("0\r\n\r\n").dechunked(), b"");
    }

    #[test]
    fn trailers_extensions_and_remainder() {
        let input = "3;e=1\r\nabc\r\n0\r\nT: v\r\n\r\nNEXT";
        let mut p = BytesProducer::with_piece_size(input, 4)
            .unwrap()
            .dechunked()
            .stop_at_end(true);
        assert_eq!(p.more().unwrap().unwrap().into_bytes().unwrap(), &b"a"[..]);
        assert_eq!(p.decoder().chunk_extensions()[0].name, "e");
        assert_eq!(p.more().unwrap().unwrap().into_bytes().unwrap(), &b"bc"[..]);
        assert!(p.more().unwrap().is_none());
        assert_eq!(p.decoder().trailers()[0].name, "T");
        assert_eq!(p.remainder(), b"N", "read past the end in 4-byte pieces");
        assert_eq!(
            p.get_ref().remaining(),
            &b"EXT"[..],
            "the rest was not asked for"
        );
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn truncated_input_is_unexpected_eof_and_final() {
        let mut p = from_bytes("5\r\nhel").dechunked();
        assert_eq!(p.more().unwrap().unwrap().len(), 3);
        let e = p.more().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(
            io_chunked_error(&e),
            &ChunkedError::UnexpectedEnd { offset: 6 }
        );
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn malformed_input_is_invalid_data() {
        let e = from_bytes("5\nhello\r\n0\r\n\r\n")
            .dechunked()
            .collect_bytes()
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(io_chunked_error(&e), &ChunkedError::BareLf { offset: 1 });
        let lenient = ChunkedDecoder::new().leniency(Leniency::strict().bare_lf(true));
        let out = Dechunked::new(from_bytes("5\nhello\n0\n\n"), lenient)
            .collect_bytes()
            .unwrap();
        assert_eq!(&out[..], b"hello");
    }

    #[test]
    fn pending_and_inner_errors_pass_through() {
        let script = Script::new([
            Step::chunk("2\r\nab"),
            Step::Pending,
            Step::chunk("\r\n0\r"),
            Step::error(io::ErrorKind::ConnectionReset),
        ]);
        let mut p = script.dechunked();
        let (mut cx, wakes) = testing::counting_context();
        match p.poll_more(&mut cx) {
            Poll::Ready(Some(Ok(c))) => assert_eq!(c.into_bytes().unwrap(), &b"ab"[..]),
            other => panic!("{other:?}"),
        }
        assert!(p.poll_more(&mut cx).is_pending());
        assert_eq!(wakes.count(), 1);
        match p.poll_more(&mut cx) {
            Poll::Ready(Some(Err(e))) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
            other => panic!("{other:?}"),
        }
        assert!(matches!(p.poll_more(&mut cx), Poll::Ready(None)));
    }

    /// Decodes `input` cut at `cuts` (ascending offsets), strictly: the
    /// payload handed out and how it ended.
    fn dechunk_split(input: &[u8], cuts: &[usize]) -> (Vec<u8>, Result<(), io::Error>) {
        let mut steps = Vec::new();
        let mut last = 0;
        for &c in cuts.iter().chain([&input.len()]) {
            if c > last {
                steps.push(Step::chunk(input[last..c].to_vec()));
                last = c;
            }
        }
        testing::drain(Script::new(steps).dechunked())
    }

    #[test]
    fn trailing_data_is_an_error_naming_its_offset() {
        // Issue 11: bytes after the final CRLF were dropped silently.
        let input = b"3\r\nabc\r\n0\r\n\r\nEXTRA";
        let end = input.len() - 5;
        for cut in 0..=input.len() {
            let (out, res) = dechunk_split(input, &[cut]);
            assert_eq!(out, b"abc", "cut at {cut}");
            let e = res.expect_err("trailing data must fail");
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "cut at {cut}");
            assert_eq!(
                io_chunked_error(&e),
                &ChunkedError::TrailingData { offset: end as u64 },
                "cut at {cut}"
            );
        }
        // Every pair of cuts, with one trailing byte.
        let input = b"1\r\nx\r\n0\r\n\r\n!";
        for a in 0..=input.len() {
            for b in a..=input.len() {
                let (out, res) = dechunk_split(input, &[a, b]);
                assert_eq!(out, b"x");
                let e = res.expect_err("trailing data must fail");
                assert_eq!(
                    io_chunked_error(&e),
                    &ChunkedError::TrailingData {
                        offset: input.len() as u64 - 1
                    },
                    "cuts at {a}, {b}"
                );
            }
        }
        // Without trailing data, every split ends cleanly.
        let input = b"3\r\nabc\r\n0\r\nT: v\r\n\r\n";
        for cut in 0..=input.len() {
            let (out, res) = dechunk_split(input, &[cut]);
            assert_eq!(out, b"abc");
            res.unwrap();
        }
    }

    #[test]
    fn trailing_data_in_a_later_chunk_or_region_is_an_error() {
        // The end arrives, the source is pending, then more bytes come.
        let script = Script::new([
            Step::chunk("2\r\nab\r\n0\r\n\r\n"),
            Step::Pending,
            Step::chunk("Z"),
            Step::chunk("never read"),
        ]);
        let mut p = script.dechunked();
        let (mut cx, wakes) = testing::counting_context();
        assert!(matches!(p.poll_more(&mut cx), Poll::Ready(Some(Ok(_)))));
        assert!(
            p.poll_more(&mut cx).is_pending(),
            "waits for the source's end"
        );
        assert_eq!(wakes.count(), 1);
        match p.poll_more(&mut cx) {
            Poll::Ready(Some(Err(e))) => {
                assert_eq!(
                    io_chunked_error(&e),
                    &ChunkedError::TrailingData { offset: 12 }
                );
                assert_eq!(
                    e.to_string(),
                    "trailing data at byte 12 after the end of the chunked message"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(p.poll_more(&mut cx), Poll::Ready(None)));
        // A source error after the end passes through.
        let script = Script::new([
            Step::chunk("0\r\n\r\n"),
            Step::error(io::ErrorKind::ConnectionReset),
        ]);
        let e = script.dechunked().collect_bytes().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        // A file region holding the end and more: the rest of the region.
        let mut encoded = from_bytes(vec![b'q'; 70_000])
            .chunked()
            .collect_bytes()
            .unwrap()
            .to_vec();
        let end = encoded.len() as u64;
        encoded.extend_from_slice(&[b'!'; 100_000]);
        let f = testing::file_with(&encoded);
        let e = FileProducer::from_file(f)
            .unwrap()
            .regions()
            .dechunked()
            .collect_bytes()
            .unwrap_err();
        assert_eq!(
            io_chunked_error(&e),
            &ChunkedError::TrailingData { offset: end }
        );
    }

    #[test]
    fn stop_at_end_leaves_what_follows_for_the_caller() {
        let script = Script::new([Step::chunk("0\r\n\r\n"), Step::chunk("NEXT")]);
        let mut p = script.dechunked().stop_at_end(true);
        assert!(p.more().unwrap().is_none());
        assert!(p.more().unwrap().is_none());
        assert_eq!(p.remainder(), b"");
        assert_eq!(&p.into_inner().collect_bytes().unwrap()[..], b"NEXT");
    }

    #[test]
    fn file_region_input_is_read_in_pieces() {
        let payload = vec![b'q'; 200_000];
        let encoded = from_bytes(payload.clone())
            .pieces(70_000)
            .chunked()
            .collect_bytes()
            .unwrap();
        let f = testing::file_with(&encoded);
        let p = FileProducer::from_file(f).unwrap().regions().dechunked();
        // 64 KiB reads: 65_536 - "11170\r\n", then the rest of that chunk...
        assert_eq!(
            testing::chunk_sizes(p),
            [65_529, 4_471, 61_056, 8_944, 56_584, 3_416]
        );
        let f = testing::file_with(&encoded);
        let out = FileProducer::from_file(f)
            .unwrap()
            .regions()
            .dechunked()
            .collect_bytes();
        assert_eq!(&out.unwrap()[..], &payload[..]);
    }
}
