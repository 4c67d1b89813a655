//! [`Decompressed`]: the decoding producer combinator.

use std::io;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};

use super::{DECODE_CHUNK, Decompressor, Format};
use crate::chunk::{Chunk, REGION_PIECE};
use crate::produce::{Counters, More, Producer};

/// Decodes another producer's output, which is gzip, zlib or raw deflate.
///
/// Made by [`ProducerExt::gunzip`](crate::ProducerExt::gunzip),
/// [`unzlib`](crate::ProducerExt::unzlib) and
/// [`inflate`](crate::ProducerExt::inflate). A [`Decompressor`] does the
/// work, so everything said there holds: multi-member gzip is read in full,
/// the decompressed size is capped ([`max_output`](Self::max_output),
/// default [`DEFAULT_MAX_OUTPUT`](super::DEFAULT_MAX_OUTPUT)), trailing
/// data is an error.
///
/// - Output is handed out in chunks of at most [`DECODE_CHUNK`] bytes,
///   never empty; input file regions are read in pieces of at most 64 KiB.
/// - When the source is pending, output already decoded is handed out.
/// - A bad stream is an [`io::Error`] of kind
///   [`InvalidData`](io::ErrorKind::InvalidData) wrapping a
///   [`GzipError`](super::GzipError) (`err.get_ref()` downcasts to it),
///   after the output decoded before it. A source that ends early gives
///   [`GzipError::Truncated`](super::GzipError::Truncated). Errors from
///   the source pass through unchanged.
#[derive(Debug)]
pub struct Decompressed<P> {
    inner: P,
    dec: Decompressor,
    stage: Stage,
    /// Input taken from the source, not yet consumed by the decoder.
    input: Bytes,
    /// The rest of a source chunk, not yet read into `input`.
    chunk_rest: Option<Chunk>,
    /// Output not yet handed out; capacity 0 or `DECODE_CHUNK`.
    out: Vec<u8>,
    counters: Counters,
}

/// Where the decoder is.
#[derive(Debug)]
enum Stage {
    /// Reading the source.
    Reading,
    /// The source ended: drain the engine, then check the stream ended.
    Draining,
    /// Report this after the output decoded before it.
    Failed(io::Error),
    /// Everything handed out.
    Ended,
}

impl<P: Producer> Decompressed<P> {
    pub(crate) fn new(inner: P, format: Format) -> Self {
        Decompressed {
            inner,
            dec: Decompressor::new(format),
            stage: Stage::Reading,
            input: Bytes::new(),
            chunk_rest: None,
            out: Vec::new(),
            counters: Counters::default(),
        }
    }

    /// Caps the decompressed size. See [`Decompressor::max_output`].
    pub fn max_output(self, limit: u64) -> Self {
        Decompressed {
            dec: self.dec.max_output(limit),
            ..self
        }
    }

    /// Caps gzip header fields. See [`Decompressor::max_header_field`].
    pub fn max_header_field(self, limit: usize) -> Self {
        Decompressed {
            dec: self.dec.max_header_field(limit),
            ..self
        }
    }

    /// The decoder, for its counts (`total_in`, `members` …).
    pub fn decoder(&self) -> &Decompressor {
        &self.dec
    }

    /// The inner producer.
    pub fn get_ref(&self) -> &P {
        &self.inner
    }

    /// The inner producer, mutably. Taking chunks from it directly leaves
    /// them out of the decoded stream.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// The inner producer; buffered input and output are dropped.
    pub fn into_inner(self) -> P {
        self.inner
    }

    fn emit(&mut self) -> Option<Chunk> {
        if self.out.is_empty() {
            return None;
        }
        Chunk::from_bytes(std::mem::take(&mut self.out))
    }

    /// Runs the decoder over `input`; `false` on error (now in `stage`).
    fn decode(&mut self) -> bool {
        if self.out.capacity() == 0 {
            self.out.reserve_exact(DECODE_CHUNK);
        }
        match self.dec.decode(&self.input, &mut self.out) {
            Ok(p) => {
                self.input.advance(p.consumed);
                true
            }
            Err(e) => {
                self.stage = Stage::Failed(e.into());
                false
            }
        }
    }

    fn full(&self) -> bool {
        self.out.capacity() > 0 && self.out.len() == self.out.capacity()
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        loop {
            if self.full() {
                return Poll::Ready(self.emit().map(Ok));
            }
            match &self.stage {
                Stage::Ended => return Poll::Ready(self.emit().map(Ok)),
                Stage::Failed(_) => {
                    if let Some(c) = self.emit() {
                        return Poll::Ready(Some(Ok(c)));
                    }
                    let Stage::Failed(e) = std::mem::replace(&mut self.stage, Stage::Ended) else {
                        unreachable!()
                    };
                    self.out = Vec::new();
                    return Poll::Ready(Some(Err(e)));
                }
                Stage::Draining => {
                    let before = self.out.len();
                    if !self.decode() {
                        continue;
                    }
                    if self.full() {
                        continue;
                    }
                    if self.out.len() == before {
                        self.stage = match self.dec.finish() {
                            Ok(()) => Stage::Ended,
                            Err(e) => Stage::Failed(e.into()),
                        };
                    }
                }
                Stage::Reading => {
                    // Decode what we have (with empty input this drains
                    // output the engine held back while `out` was full).
                    if !self.decode() || self.full() {
                        continue;
                    }
                    if !self.input.is_empty() {
                        continue;
                    }
                    if let Some(chunk) = self.chunk_rest.take() {
                        match chunk.split_bytes(REGION_PIECE) {
                            Ok((head, rest)) => {
                                self.input = head;
                                self.chunk_rest = rest;
                            }
                            Err(e) => self.stage = Stage::Failed(e),
                        }
                        continue;
                    }
                    match self.inner.poll_more(cx) {
                        Poll::Ready(Some(Ok(chunk))) => self.chunk_rest = Some(chunk),
                        Poll::Ready(Some(Err(e))) => self.stage = Stage::Failed(e),
                        Poll::Ready(None) => self.stage = Stage::Draining,
                        Poll::Pending => {
                            return match self.emit() {
                                Some(c) => Poll::Ready(Some(Ok(c))),
                                None => Poll::Pending,
                            };
                        }
                    }
                }
            }
        }
    }
}

impl<P: Producer> Producer for Decompressed<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::gzip::GzipError;
    use crate::codec::gzip::test_util::{FORMATS, encode_all, text};
    use crate::testing::{self, Script, Step};
    use crate::{ProducerExt, from_bytes, produce::BytesProducer};

    fn decompress<P: Producer>(p: P, format: Format) -> Decompressed<P> {
        Decompressed::new(p, format)
    }

    fn gzip_error(e: &io::Error) -> &GzipError {
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        e.get_ref()
            .and_then(|e| e.downcast_ref::<GzipError>())
            .expect("a GzipError inside")
    }

    #[test]
    fn conformance() {
        let data = text(300_000);
        for format in FORMATS {
            let stream = encode_all(format, 6, &data);
            for piece in [1, 1000, 1 << 20] {
                testing::check(
                    || {
                        decompress(
                            BytesProducer::with_piece_size(stream.clone(), piece).unwrap(),
                            format,
                        )
                    },
                    &data,
                );
            }
        }
        testing::check(
            || from_bytes(encode_all(Format::Gzip, 6, b"")).gunzip(),
            b"",
        );
    }

    #[test]
    fn output_chunks_are_bounded() {
        let data = vec![b'a'; 1 << 20];
        let sizes = testing::chunk_sizes(from_bytes(encode_all(Format::Gzip, 9, &data)).gunzip());
        assert_eq!(sizes, vec![DECODE_CHUNK as u64; 16]);
    }

    #[test]
    fn a_compressed_file_region_is_read_transparently() {
        let data = text(200_000);
        let f = testing::file_with(&encode_all(Format::Gzip, 6, &data));
        let region = crate::FileProducer::from_file(f).unwrap().regions();
        assert_eq!(region.gunzip().collect_bytes().unwrap(), data);
    }

    #[test]
    fn the_cap_ends_the_output_with_its_error_after_exactly_the_cap() {
        let data = text(100_000);
        let mut p = from_bytes(encode_all(Format::Zlib, 6, &data))
            .unzlib()
            .max_output(70_000);
        let mut out = Vec::new();
        let err = loop {
            match p.more() {
                Ok(Some(c)) => out.extend_from_slice(&c.into_bytes().unwrap()),
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        assert!(matches!(
            gzip_error(&err),
            GzipError::OutputTooLarge { limit: 70_000, .. }
        ));
        assert_eq!(out, data[..70_000]);
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn a_stream_cut_short_is_truncated() {
        let stream = encode_all(Format::Gzip, 6, b"hello");
        let mut p = from_bytes(stream[..stream.len() - 3].to_vec()).gunzip();
        assert_eq!(
            p.more().unwrap().unwrap().into_bytes().unwrap(),
            &b"hello"[..]
        );
        let err = p.more().unwrap_err();
        assert_eq!(
            gzip_error(&err),
            &GzipError::Truncated {
                offset: stream.len() as u64 - 3
            }
        );
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn header_caps_reach_the_decoder() {
        let mut m = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3];
        m.extend_from_slice(b"long-name\0");
        let err = from_bytes(m)
            .gunzip()
            .max_header_field(4)
            .collect_bytes()
            .unwrap_err();
        assert!(matches!(
            gzip_error(&err),
            GzipError::HeaderFieldTooLong {
                limit: 4,
                offset: 10,
                ..
            }
        ));
    }

    #[test]
    fn pending_passes_through_with_what_was_decoded() {
        let stream = encode_all(Format::Deflate, 6, b"hello world");
        let (a, b) = stream.split_at(5);
        let script = Script::new([
            Step::chunk(a.to_vec()),
            Step::Pending,
            Step::chunk(b.to_vec()),
        ]);
        let mut p = script.inflate();
        let (mut cx, _wakes) = testing::counting_context();
        // The first poll decodes the first piece and, at the pending, hands
        // out what it decoded without asking for more.
        let first = match p.poll_more(&mut cx) {
            Poll::Ready(Some(Ok(c))) => c.into_bytes().unwrap().to_vec(),
            Poll::Pending => Vec::new(),
            other => panic!("{other:?}"),
        };
        assert_eq!(p.get_ref().counters().unwrap().calls, 2);
        assert!(b"hello world".starts_with(&first));
        let rest = p.collect_bytes().unwrap();
        assert_eq!([&first[..], &rest[..]].concat(), b"hello world");
    }

    #[test]
    fn source_errors_pass_through_unchanged_after_the_output() {
        let stream = encode_all(Format::Gzip, 6, b"hello world");
        let script = Script::new([
            Step::chunk(stream[..20].to_vec()),
            Step::error(io::ErrorKind::TimedOut),
        ]);
        let mut p = script.gunzip();
        let mut got = Vec::new();
        let err = loop {
            match p.more() {
                Ok(Some(c)) => got.extend_from_slice(&c.into_bytes().unwrap()),
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(b"hello world".starts_with(&got));
        assert!(p.more().unwrap().is_none());
        let _ = p.get_mut();
        let _ = p.into_inner();
    }

    #[test]
    fn trailing_garbage_is_an_error_naming_its_offset() {
        let stream = [encode_all(Format::Gzip, 6, b"ok"), b"garbage".to_vec()].concat();
        let err = from_bytes(stream).gunzip().collect_bytes().unwrap_err();
        assert_eq!(gzip_error(&err), &GzipError::TrailingData { offset: 22 });
    }
}
