//! [`ListProducer`]: a sequence of buffers in order (Medusa's
//! `buffer_list_producer`).

use std::collections::VecDeque;
use std::task::{Context, Poll};

use bytes::Bytes;

use super::{Counters, More, Producer};
use crate::chunk::{Chunk, NonEmptyBytes};

/// A sequence of buffers handed out in order, each as its own chunk.
///
/// An empty buffer in the list is skipped: it is not the end (Medusa's
/// `buffer_list_producer` stopped at the first empty string).
#[derive(Debug, Clone, Default)]
pub struct ListProducer {
    bufs: VecDeque<NonEmptyBytes>,
    remaining: u64,
    counters: Counters,
}

impl ListProducer {
    /// A producer of `bufs`, in order.
    pub fn new<I, B>(bufs: I) -> ListProducer
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        let mut p = ListProducer::default();
        for b in bufs {
            p.push(b);
        }
        p
    }

    /// Appends a buffer to the end of the list.
    pub fn push(&mut self, buf: impl Into<Bytes>) {
        if let Some(buf) = NonEmptyBytes::new(buf) {
            self.remaining += buf.len() as u64;
            self.bufs.push_back(buf);
        }
    }
}

impl Producer for ListProducer {
    #[inline]
    fn poll_more(&mut self, _cx: &mut Context<'_>) -> More {
        let more = match self.bufs.pop_front() {
            Some(b) => {
                self.remaining -= b.len() as u64;
                Poll::Ready(Some(Ok(Chunk::Bytes(b))))
            }
            None => Poll::Ready(None),
        };
        self.counters.record(more)
    }

    fn exact_len(&self) -> Option<u64> {
        Some(self.remaining)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn empty_elements_are_skipped_not_the_end() {
        testing::check(|| ListProducer::new(["a", "", "bc", "", "", "d"]), b"abcd");
        testing::check(|| ListProducer::new(["", ""]), b"");
        let mut p = ListProducer::new(["a", "", "b"]);
        assert_eq!(p.more().unwrap().unwrap().len(), 1);
        assert_eq!(p.more().unwrap().unwrap().len(), 1);
        assert!(p.more().unwrap().is_none());
    }
}
