//! [`Globbed`]: coalesces small chunks into large buffers (Medusa's
//! `globbing_producer`).

use std::io;
use std::task::{Context, Poll};

use bytes::BytesMut;

use super::{Counters, More, Producer};
use crate::chunk::Chunk;

/// Coalesces small chunks into buffers of `target` bytes to cut write calls.
///
/// - A chunk of `target` bytes or more passes through untouched: memory is
///   not copied and a file region stays a region. Whatever was gathered
///   before it is handed out first, so order is kept.
/// - Smaller chunks are copied into a buffer that never holds more than
///   `target` bytes; a chunk that would overflow it is split, and a full
///   buffer is handed out at once. Small file regions are read.
/// - When the inner producer is pending, what has been gathered so far is
///   handed out rather than held back: streamed output (server-sent events,
///   a slow backend) never stalls inside the glob.
/// - At the end, or before an error, the gathered bytes are handed out
///   first; the error follows on the next call.
///
/// - The buffer reserves at most [`MAX_RESERVE`](Globbed::MAX_RESERVE) bytes up front and grows
///   as bytes arrive, and a small file region is read in pieces of at most
///   that many bytes: memory follows the data, not the `target`, so any
///   `target` is safe, even one no allocation could hold (issue 11).
///
/// A `target` of 0 passes everything through. Made by
/// [`ProducerExt::glob`](crate::ProducerExt::glob).
#[derive(Debug)]
pub struct Globbed<P> {
    inner: P,
    /// Gathered bytes; `buf.len() < target` between calls.
    buf: BytesMut,
    target: usize,
    /// What came from the inner producer but could not be handed out yet.
    owed: Owed,
    counters: Counters,
}

/// What the glob took from its inner producer and still owes its caller.
#[derive(Debug)]
enum Owed {
    /// Nothing: ask the inner producer.
    Nothing,
    /// A chunk to hand out (or to gather) before asking for more.
    Chunk(Chunk),
    /// The inner producer failed; report this after the gathered bytes.
    Error(io::Error),
    /// The inner producer just returned `Pending`: hand out what was
    /// gathered, or return `Pending` if nothing was.
    Pending,
    /// The inner producer ended (or its error was reported).
    Ended,
}

impl<P> Globbed<P> {
    /// The most the buffer reserves before bytes arrive (1 MiB); a larger
    /// target is reached by growing. Also the largest piece of a small file
    /// region read at once.
    pub const MAX_RESERVE: usize = 1 << 20;
}

impl<P: Producer> Globbed<P> {
    pub(crate) fn new(inner: P, target: usize) -> Self {
        Globbed {
            inner,
            buf: BytesMut::new(),
            target,
            owed: Owed::Nothing,
            counters: Counters::default(),
        }
    }

    /// The target buffer size.
    pub fn target(&self) -> usize {
        self.target
    }

    /// The inner producer.
    pub fn get_ref(&self) -> &P {
        &self.inner
    }

    /// The inner producer, mutably. Taking chunks from it directly breaks
    /// the order of the output.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// The inner producer; gathered and owed bytes are dropped.
    pub fn into_inner(self) -> P {
        self.inner
    }

    /// Hands out the gathered bytes, if any.
    fn flush(&mut self) -> Option<Chunk> {
        Chunk::from_bytes(self.buf.split().freeze())
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        loop {
            let chunk = match std::mem::replace(&mut self.owed, Owed::Nothing) {
                Owed::Chunk(c) => c,
                Owed::Ended => {
                    self.owed = Owed::Ended;
                    return Poll::Ready(self.flush().map(Ok));
                }
                Owed::Error(e) => {
                    if let Some(c) = self.flush() {
                        self.owed = Owed::Error(e);
                        return Poll::Ready(Some(Ok(c)));
                    }
                    self.owed = Owed::Ended;
                    return Poll::Ready(Some(Err(e)));
                }
                Owed::Pending => {
                    return match self.flush() {
                        Some(c) => Poll::Ready(Some(Ok(c))),
                        None => Poll::Pending,
                    };
                }
                Owed::Nothing => match self.gather(cx) {
                    Some(c) => c,
                    None => continue,
                },
            };
            if let Some(out) = self.take(chunk) {
                return Poll::Ready(Some(Ok(out)));
            }
        }
    }

    /// The hot path: copies small memory chunks into the buffer for as long
    /// as they fit, and returns the first chunk that needs a decision (or
    /// `None` after recording the inner producer's end or error in `owed`).
    /// Pending hands out the gathered bytes through `owed`, too.
    #[inline]
    fn gather(&mut self, cx: &mut Context<'_>) -> Option<Chunk> {
        loop {
            match self.inner.poll_more(cx) {
                Poll::Ready(Some(Ok(Chunk::Bytes(b))))
                    if b.len() < self.target - self.buf.len() =>
                {
                    // Reserve once, when the first small chunk arrives:
                    // chunks that pass through need none.
                    if self.buf.capacity() == 0 {
                        self.reserve();
                    }
                    self.buf.extend_from_slice(&b);
                }
                Poll::Ready(Some(Ok(c))) => return Some(c),
                Poll::Ready(Some(Err(e))) => {
                    self.owed = Owed::Error(e);
                    return None;
                }
                Poll::Ready(None) => {
                    self.owed = Owed::Ended;
                    return None;
                }
                Poll::Pending => {
                    // Hand out what was gathered; if nothing was, the next
                    // call asks the inner producer again (and gets Pending
                    // with the waker registered, or progress).
                    self.owed = Owed::Pending;
                    return None;
                }
            }
        }
    }

    /// Decides what to do with a chunk that did not fit the hot path:
    /// returns a chunk to hand out, or `None` to keep gathering.
    fn take(&mut self, chunk: Chunk) -> Option<Chunk> {
        if chunk.len() >= self.target as u64 {
            // Large: pass through, after what was gathered.
            return match self.flush() {
                Some(c) => {
                    self.owed = Owed::Chunk(chunk);
                    Some(c)
                }
                None => Some(chunk),
            };
        }
        // Small (so under `target`). A region is read a piece of at most
        // MAX_RESERVE bytes at a time, so a huge target cannot make one huge
        // read; the rest of it comes back through `owed`.
        let room = self.target - self.buf.len();
        let (mut bytes, rest) = match chunk {
            Chunk::Bytes(b) => (b.into_bytes(), None),
            region @ Chunk::File(_) => match region.split_bytes(room.min(Self::MAX_RESERVE)) {
                Ok(split) => split,
                Err(e) => {
                    self.owed = Owed::Error(e);
                    return None;
                }
            },
        };
        if let Some(rest) = rest {
            self.owed = Owed::Chunk(rest);
        }
        if self.buf.capacity() == 0 {
            self.reserve();
        }
        if bytes.len() < room {
            self.buf.extend_from_slice(&bytes);
            return None;
        }
        // Fill the buffer exactly and hand it out; keep the rest (memory
        // only: a region's piece is at most `room`, so nothing is left of
        // it here and `owed` is free).
        self.buf.extend_from_slice(&bytes[..room]);
        let rest = bytes.split_off(room);
        if let Some(c) = Chunk::from_bytes(rest) {
            self.owed = Owed::Chunk(c);
        }
        self.flush()
    }

    /// Reserves room for the target, or for [`MAX_RESERVE`](Globbed::MAX_RESERVE) bytes of it:
    /// a larger buffer grows as bytes arrive.
    fn reserve(&mut self) {
        self.buf.reserve(self.target.min(Self::MAX_RESERVE));
    }
}

impl<P: Producer> Producer for Globbed<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    fn exact_len(&self) -> Option<u64> {
        let owed = match &self.owed {
            Owed::Chunk(c) => c.len(),
            Owed::Error(_) => return None,
            Owed::Nothing | Owed::Pending | Owed::Ended => 0,
        };
        let inner = match self.owed {
            Owed::Ended => 0,
            _ => self.inner.exact_len()?,
        };
        Some(self.buf.len() as u64 + owed + inner)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Script, Step};
    use crate::{ProducerExt, from_bytes, produce::BytesProducer};

    #[test]
    fn conformance() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        for piece in [1, 7, 64, 100, 1000] {
            for target in [0, 1, 10, 64, 128, 999, 4096] {
                testing::check(
                    || {
                        BytesProducer::with_piece_size(data.clone(), piece)
                            .unwrap()
                            .glob(target)
                    },
                    &data,
                );
            }
        }
    }

    #[test]
    fn small_chunks_are_gathered_to_exactly_the_target() {
        let p = BytesProducer::with_piece_size(vec![1u8; 1000], 30)
            .unwrap()
            .glob(100);
        let sizes = testing::chunk_sizes(p);
        assert_eq!(sizes, [100, 100, 100, 100, 100, 100, 100, 100, 100, 100]);
    }

    #[test]
    fn large_chunks_pass_through_without_copy() {
        let big = bytes::Bytes::from(vec![9u8; 500]);
        let mut p = from_bytes("ab").then(from_bytes(big.clone())).glob(100);
        assert_eq!(p.more().unwrap().unwrap().len(), 2);
        let c = p.more().unwrap().unwrap();
        assert_eq!(
            c.as_bytes().unwrap().as_ptr(),
            big.as_ptr(),
            "passed through, not copied"
        );
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn large_file_regions_stay_regions_and_small_ones_are_read() {
        let f = testing::file_with(&[5u8; 300]);
        let region = crate::FileProducer::from_file(f.try_clone().unwrap())
            .unwrap()
            .regions();
        let mut p = from_bytes("hdr").then(region).glob(100);
        assert!(matches!(p.more().unwrap().unwrap(), Chunk::Bytes(_)));
        assert!(matches!(p.more().unwrap().unwrap(), Chunk::File(_)));
        let small = crate::FileProducer::from_file(f)
            .unwrap()
            .regions()
            .pieces(10);
        let sizes = testing::chunk_sizes(from_bytes("x").then(small).glob(100));
        assert_eq!(sizes, [100, 100, 100, 1]);
    }

    #[test]
    fn a_huge_target_allocates_only_what_arrives() {
        // Issue 11: `glob:64G` reserved 64 GiB up front and aborted.
        for target in [1 << 36, usize::MAX] {
            let mut p = from_bytes("ab").then(from_bytes("cd")).glob(target);
            assert_eq!(
                &p.more().unwrap().unwrap().into_bytes().unwrap()[..],
                b"abcd"
            );
            assert!(p.more().unwrap().is_none());
            assert!(p.buf.capacity() <= Globbed::<()>::MAX_RESERVE);
            testing::check(
                || {
                    BytesProducer::with_piece_size(vec![7u8; 5000], 3)
                        .unwrap()
                        .glob(target)
                },
                &[7u8; 5000],
            );
        }
        // A region under the target is read in pieces of MAX_RESERVE.
        let data: Vec<u8> = (0..(5 << 20) / 2).map(|i| (i % 253) as u8).collect();
        let f = testing::file_with(&data);
        let region = crate::FileProducer::from_file(f).unwrap().regions();
        let out = from_bytes("x")
            .then(region)
            .glob(1 << 40)
            .collect_bytes()
            .unwrap();
        assert_eq!(out[0], b'x');
        assert!(out[1..] == data[..]);
    }

    #[test]
    fn pending_hands_out_what_was_gathered() {
        let script = Script::new([
            Step::chunk("ab"),
            Step::chunk("cd"),
            Step::Pending,
            Step::Pending,
            Step::chunk("ef"),
        ]);
        let mut p = script.glob(1000);
        let (mut cx, _wakes) = testing::counting_context();
        match p.poll_more(&mut cx) {
            Poll::Ready(Some(Ok(c))) => assert_eq!(c.into_bytes().unwrap(), &b"abcd"[..]),
            other => panic!("expected the gathered bytes, got {other:?}"),
        }
        assert!(p.poll_more(&mut cx).is_pending());
        assert_eq!(p.more().unwrap().unwrap().into_bytes().unwrap(), &b"ef"[..]);
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn gathered_bytes_go_out_before_an_error() {
        let script = Script::new([Step::chunk("ab"), Step::error(io::ErrorKind::BrokenPipe)]);
        let mut p = script.glob(1000);
        assert_eq!(p.more().unwrap().unwrap().len(), 2);
        assert_eq!(p.more().unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert!(p.more().unwrap().is_none());
    }
}
