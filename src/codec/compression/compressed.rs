//! [`Compressed`]: the encoding producer combinator, generic over the
//! engine.

use std::task::{Context, Poll};

use bytes::{Buf, Bytes};

use super::{ContentEncoder, ENCODE_CHUNK, FlushPolicy};
use crate::chunk::{Chunk, REGION_PIECE};
use crate::produce::{Counters, More, Producer};

/// Compresses another producer's output with the engine `E`: gzip, zlib
/// or raw deflate ([`gzip::Compressor`](crate::codec::gzip)), brotli, zstd.
///
/// Made by [`ProducerExt::gzip`](crate::ProducerExt::gzip),
/// [`zlib`](crate::ProducerExt::zlib),
/// [`deflate`](crate::ProducerExt::deflate), `brotli` and `zstd` (features
/// `brotli`, `zstd`), or by [`with_compressor`](Self::with_compressor) with
/// an engine set up by the caller; each coding's module names its own
/// (`codec::gzip::Compressed<P>`). When to force buffered input out is set
/// by [`flush_policy`](Self::flush_policy) (default
/// [`FlushPolicy::OnPending`]).
///
/// - Output is handed out in chunks of at most [`ENCODE_CHUNK`] bytes,
///   never empty; a small chunk (after a flush) is copied to its own
///   buffer so a queue of them does not pin 32 KiB each.
/// - Input file regions are read in pieces of at most 64 KiB; memory
///   chunks are compressed in place. Memory held: one output buffer and
///   the engine's state (about 256 KiB for zlib at level 6+; brotli and
///   zstd: see their modules).
/// - When the source is pending, output already made is handed out (and,
///   under `OnPending`, everything fed is sync-flushed first).
/// - An error from the source is passed on at once; the compressed stream
///   is then unfinished, as it must be.
/// - One poll compresses at most [`poll_budget`](Self::poll_budget)
///   input bytes (the engine's
///   [`DEFAULT_POLL_BUDGET`](ContentEncoder::DEFAULT_POLL_BUDGET): 32 KiB
///   for gzip, measured per coding): past it, the output
///   made is handed out, or, if none yet (highly compressible input), the
///   producer wakes its own waker and returns pending, so the loop or the
///   executor serves others before it goes on. Without it one poll of a
///   megabyte of zeros compressed all of it.
/// - The source's `exact_len`, when known, goes to the engine as the
///   whole input's size ([`ContentEncoder::set_size_hint`]) before anything
///   is fed: the budget's small pieces must not change its settings.
/// - `exact_len` is unknown.
#[derive(Debug)]
pub struct Compressed<P, E> {
    inner: P,
    enc: E,
    policy: FlushPolicy,
    stage: Stage,
    /// Input taken from the source, not yet consumed by the engine.
    input: Bytes,
    /// The rest of a source chunk, not yet read into `input`.
    chunk_rest: Option<Chunk>,
    /// Output not yet handed out; its capacity is 0 or about `ENCODE_CHUNK`.
    out: Vec<u8>,
    /// Most input bytes compressed per poll.
    budget: usize,
    /// Input bytes compressed in the current poll.
    spent: usize,
    /// Input bytes fed since the last sync flush (or the start).
    since_flush: usize,
    counters: Counters,
}

/// Where the encoder is in its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Feeding the source's output to the engine.
    Reading,
    /// A sync flush is under way; then back to `Reading`.
    Flushing,
    /// The source ended; the engine is writing the end of the stream.
    Finishing,
    /// All handed out, or the source failed.
    Ended,
}

impl<P: Producer, E: ContentEncoder> Compressed<P, E> {
    /// Compresses `inner`'s output with an engine set up by the caller (a
    /// smaller window, other settings). The engine must be fresh: nothing
    /// fed or finished yet.
    pub fn with_compressor(inner: P, mut enc: E) -> Self {
        if let Some(total) = inner.exact_len() {
            enc.set_size_hint(total);
        }
        Compressed {
            inner,
            enc,
            policy: FlushPolicy::default(),
            stage: Stage::Reading,
            input: Bytes::new(),
            chunk_rest: None,
            out: Vec::new(),
            since_flush: 0,
            budget: E::DEFAULT_POLL_BUDGET,
            spent: 0,
            counters: Counters::default(),
        }
    }

    /// Sets the most input bytes compressed in one poll (at least 1).
    pub fn poll_budget(mut self, bytes: usize) -> Self {
        self.budget = bytes.max(1);
        self
    }

    /// Sets when buffered input is forced out. See [`FlushPolicy`].
    pub fn flush_policy(mut self, policy: FlushPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The engine, for its settings and counts (`total_in` …).
    pub fn compressor(&self) -> &E {
        &self.enc
    }

    /// The inner producer.
    pub fn get_ref(&self) -> &P {
        &self.inner
    }

    /// The inner producer, mutably. Taking chunks from it directly leaves
    /// them out of the compressed stream.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// The inner producer; buffered input and output are dropped.
    pub fn into_inner(self) -> P {
        self.inner
    }

    /// Makes sure `out` has room; `true` if it was full (hand it out).
    fn full(&mut self) -> bool {
        if self.out.capacity() == 0 {
            self.out.reserve_exact(ENCODE_CHUNK);
        }
        self.out.len() == self.out.capacity()
    }

    /// Hands out the buffered output, if any.
    fn emit(&mut self) -> Option<Chunk> {
        if self.out.is_empty() {
            return None;
        }
        let bytes = if self.out.len() < ENCODE_CHUNK / 4 {
            // Small (a flush): copy it out and keep the buffer.
            let b = Bytes::copy_from_slice(&self.out);
            self.out.clear();
            b
        } else {
            Bytes::from(std::mem::take(&mut self.out))
        };
        Chunk::from_bytes(bytes)
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        loop {
            match self.stage {
                Stage::Ended => return Poll::Ready(self.emit().map(Ok)),
                Stage::Finishing => {
                    if self.full() {
                        return Poll::Ready(self.emit().map(Ok));
                    }
                    if self.enc.finish(&mut self.out) {
                        self.stage = Stage::Ended;
                    }
                }
                Stage::Flushing => {
                    if self.full() {
                        return Poll::Ready(self.emit().map(Ok));
                    }
                    if self.enc.flush(&mut self.out) {
                        self.stage = Stage::Reading;
                        self.since_flush = 0;
                        if let Some(c) = self.emit() {
                            return Poll::Ready(Some(Ok(c)));
                        }
                    }
                }
                Stage::Reading => {
                    if self.full() {
                        return Poll::Ready(self.emit().map(Ok));
                    }
                    if !self.input.is_empty() {
                        if self.spent >= self.budget {
                            // The poll's work is done: what was made goes
                            // out; else come back after the others.
                            return match self.emit() {
                                Some(c) => Poll::Ready(Some(Ok(c))),
                                None => {
                                    cx.waker().wake_by_ref();
                                    Poll::Pending
                                }
                            };
                        }
                        let take = match self.policy {
                            FlushPolicy::Every(n) => {
                                (n.get() - self.since_flush).min(self.input.len())
                            }
                            FlushPolicy::AtEnd | FlushPolicy::OnPending => self.input.len(),
                        };
                        let take = take.min(self.budget - self.spent);
                        let n = self.enc.compress(&self.input[..take], &mut self.out);
                        self.input.advance(n);
                        self.spent += n;
                        self.since_flush += n;
                        if let FlushPolicy::Every(every) = self.policy
                            && self.since_flush == every.get()
                        {
                            self.stage = Stage::Flushing;
                        }
                        continue;
                    }
                    if let Some(chunk) = self.chunk_rest.take() {
                        match chunk.split_bytes(REGION_PIECE) {
                            Ok((head, rest)) => {
                                self.input = head;
                                self.chunk_rest = rest;
                            }
                            Err(e) => {
                                self.stage = Stage::Ended;
                                self.out = Vec::new();
                                return Poll::Ready(Some(Err(e)));
                            }
                        }
                        continue;
                    }
                    match self.inner.poll_more(cx) {
                        Poll::Ready(Some(Ok(chunk))) => self.chunk_rest = Some(chunk),
                        Poll::Ready(Some(Err(e))) => {
                            self.stage = Stage::Ended;
                            self.out = Vec::new();
                            return Poll::Ready(Some(Err(e)));
                        }
                        Poll::Ready(None) => self.stage = Stage::Finishing,
                        Poll::Pending => {
                            if self.policy == FlushPolicy::OnPending && self.since_flush > 0 {
                                self.stage = Stage::Flushing;
                                continue;
                            }
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

impl<P: Producer, E: ContentEncoder> Producer for Compressed<P, E> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        self.spent = 0;
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}
