//! [`Pieces`]: re-cuts a producer's output into pieces of at most N bytes.

use std::task::{Context, Poll};

use super::{Counters, More, Producer};
use crate::chunk::Chunk;

/// Re-cuts the inner producer's output into pieces of at most `size` bytes.
///
/// Memory chunks are sliced, never copied; file regions are split into
/// smaller regions (still not read). Made by
/// [`ProducerExt::pieces`](crate::ProducerExt::pieces). Useful to simulate a
/// peer that delivers small reads, and for the `chunk:N` stage of `pipe`.
#[derive(Debug)]
pub struct Pieces<P> {
    inner: P,
    /// The part of the last inner chunk not yet handed out.
    held: Option<Chunk>,
    size: usize,
    counters: Counters,
}

impl<P: Producer> Pieces<P> {
    pub(crate) fn new(inner: P, size: usize) -> Self {
        assert!(size > 0, "piece size must not be zero");
        Pieces {
            inner,
            held: None,
            size,
            counters: Counters::default(),
        }
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

    /// The inner producer; a held partial chunk is dropped.
    pub fn into_inner(self) -> P {
        self.inner
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        let chunk = match self.held.take() {
            Some(c) => c,
            None => match self.inner.poll_more(cx) {
                Poll::Ready(Some(Ok(c))) => c,
                other => return other,
            },
        };
        let size = self.size as u64;
        if chunk.len() <= size {
            return Poll::Ready(Some(Ok(chunk)));
        }
        let head = match chunk {
            Chunk::Bytes(mut b) => {
                let head = b.split_to(self.size).expect("0 < size < len");
                self.held = Some(Chunk::Bytes(b));
                Chunk::Bytes(head)
            }
            Chunk::File(r) => {
                let (head, rest) = r.split_at(size);
                self.held = rest.map(Chunk::File);
                Chunk::File(head.expect("size is non-zero"))
            }
        };
        Poll::Ready(Some(Ok(head)))
    }
}

impl<P: Producer> Producer for Pieces<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    fn exact_len(&self) -> Option<u64> {
        let held = self.held.as_ref().map_or(0, Chunk::len);
        self.inner.exact_len().map(|n| n + held)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing;
    use crate::{Producer, ProducerExt, from_bytes};

    #[test]
    fn conformance() {
        let data: Vec<u8> = (0..=255).collect();
        for size in [1, 3, 64, 255, 256, 1000] {
            testing::check(|| from_bytes(data.clone()).pieces(size), &data);
        }
    }

    #[test]
    fn file_regions_are_split_not_read() {
        let data: Vec<u8> = (0..100).collect();
        let f = testing::file_with(&data);
        let mut p = crate::FileProducer::from_file(f)
            .unwrap()
            .regions()
            .pieces(30);
        let mut lens = vec![];
        while let Some(c) = p.more().unwrap() {
            assert!(matches!(c, crate::Chunk::File(_)));
            lens.push(c.len());
        }
        assert_eq!(lens, [30, 30, 30, 10]);
    }

    #[test]
    #[should_panic(expected = "piece size must not be zero")]
    fn zero_size_is_rejected() {
        let _ = from_bytes(&b"abc"[..]).pieces(0);
    }
}
