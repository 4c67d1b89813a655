//! [`Decompressed`]: the decoding producer combinator, generic over the
//! decoder.

use std::io;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};

use super::{ContentDecoder, DECODE_CHUNK};
use crate::chunk::{Chunk, REGION_PIECE};
use crate::produce::{Counters, More, Producer};

/// Decodes another producer's output with the decoder `D`: gzip, zlib or
/// raw deflate, brotli, zstd.
///
/// Made by [`ProducerExt::gunzip`](crate::ProducerExt::gunzip),
/// [`unzlib`](crate::ProducerExt::unzlib),
/// [`inflate`](crate::ProducerExt::inflate), `unbrotli` and `unzstd`
/// (features `brotli`, `zstd`), or by [`with_decompressor`](Self::with_decompressor);
/// each coding's module names its own (`codec::gzip::Decompressed<P>`). The
/// decoder does the work, so everything said there holds: the
/// decompressed size is capped ([`max_output`](Self::max_output), default
/// [`DEFAULT_MAX_OUTPUT`](super::DEFAULT_MAX_OUTPUT)), trailing data is an
/// error.
///
/// - Output is handed out in chunks of at most [`DECODE_CHUNK`] bytes,
///   never empty; input file regions are read in pieces of at most 64 KiB.
/// - When the source is pending, output already decoded is handed out.
/// - A bad stream is an [`io::Error`] of kind
///   [`InvalidData`](io::ErrorKind::InvalidData) wrapping the coding's
///   error (`GzipError`, `BrotliError`, `ZstdError`: `err.get_ref()`
///   downcasts to it), after the output decoded before it. A source that
///   ends early gives the coding's `Truncated`. Errors from the source
///   pass through unchanged.
#[derive(Debug)]
pub struct Decompressed<P, D> {
    inner: P,
    dec: D,
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

impl<P: Producer, D: ContentDecoder> Decompressed<P, D> {
    /// Decodes `inner`'s output with a decoder set up by the caller. The
    /// decoder must be fresh: nothing fed yet.
    pub fn with_decompressor(inner: P, dec: D) -> Self {
        Decompressed {
            inner,
            dec,
            stage: Stage::Reading,
            input: Bytes::new(),
            chunk_rest: None,
            out: Vec::new(),
            counters: Counters::default(),
        }
    }

    /// Caps the decompressed size at `limit` bytes: exactly `limit` is
    /// fine, one more is the coding's `OutputTooLarge` error, after the
    /// first `limit` bytes were handed out. `u64::MAX` for none.
    pub fn max_output(mut self, limit: u64) -> Self {
        self.dec.set_max_output(limit);
        self
    }

    /// Replaces the decoder by `f(decoder)`: a coding's own settings.
    #[cfg(any(feature = "gzip", feature = "zstd"))]
    pub(crate) fn map_decoder(mut self, f: impl FnOnce(D) -> D) -> Self {
        self.dec = f(self.dec);
        self
    }

    /// The decoder, for its counts (`total_in`, `members` …).
    pub fn decoder(&self) -> &D {
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

impl<P: Producer, D: ContentDecoder> Producer for Decompressed<P, D> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}
