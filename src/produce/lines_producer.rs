//! [`LinesProducer`]: lines joined with CRLF, several to a chunk
//! (Medusa's `lines_producer`).

use std::collections::VecDeque;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};

use super::{Counters, More, Producer};
use crate::chunk::Chunk;

/// Lines, each followed by CRLF, handed out `batch` lines to a chunk.
///
/// Lines must not contain CRLF themselves; they are not checked or escaped
/// (use the dot-stuffing or escaping combinators for that). Batching trades
/// one small copy per line for far fewer, larger chunks.
#[derive(Debug, Clone)]
pub struct LinesProducer {
    lines: VecDeque<Bytes>,
    /// Lines per chunk; never zero.
    batch: usize,
    /// Bytes still to come, CRLFs included.
    remaining: u64,
    counters: Counters,
}

impl LinesProducer {
    /// The default number of lines per chunk (Medusa used 50).
    pub const DEFAULT_BATCH: usize = 50;

    /// A producer of `lines`, each followed by CRLF.
    pub fn new<I, L>(lines: I) -> LinesProducer
    where
        I: IntoIterator<Item = L>,
        L: Into<Bytes>,
    {
        let lines: VecDeque<Bytes> = lines.into_iter().map(Into::into).collect();
        let remaining = lines.iter().map(|l| l.len() as u64 + 2).sum();
        LinesProducer {
            lines,
            batch: Self::DEFAULT_BATCH,
            remaining,
            counters: Counters::default(),
        }
    }

    /// Sets how many lines go into one chunk (0 is taken as 1).
    pub fn batch(mut self, lines: usize) -> LinesProducer {
        self.batch = lines.max(1);
        self
    }
}

impl Producer for LinesProducer {
    fn poll_more(&mut self, _cx: &mut Context<'_>) -> More {
        let n = self.batch.min(self.lines.len());
        let more = if n == 0 {
            Poll::Ready(None)
        } else {
            let size = self.lines.iter().take(n).map(|l| l.len() + 2).sum();
            let mut buf = BytesMut::with_capacity(size);
            for line in self.lines.drain(..n) {
                buf.extend_from_slice(&line);
                buf.extend_from_slice(b"\r\n");
            }
            self.remaining -= size as u64;
            // Never `None`: every line adds its CRLF.
            Poll::Ready(Chunk::from_bytes(buf.freeze()).map(Ok))
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
    fn conformance() {
        let lines = ["HTTP/1.1 200 OK", "Server: producers", "", "x"];
        for batch in [0, 1, 2, 3, 50] {
            testing::check(
                || LinesProducer::new(lines).batch(batch),
                b"HTTP/1.1 200 OK\r\nServer: producers\r\n\r\nx\r\n",
            );
        }
        testing::check(|| LinesProducer::new(Vec::<Bytes>::new()), b"");
    }

    #[test]
    fn batches_lines_into_chunks() {
        let mut p = LinesProducer::new(["a", "b", "c"]).batch(2);
        assert_eq!(
            p.more().unwrap().unwrap().into_bytes().unwrap(),
            &b"a\r\nb\r\n"[..]
        );
        assert_eq!(
            p.more().unwrap().unwrap().into_bytes().unwrap(),
            &b"c\r\n"[..]
        );
        assert!(p.more().unwrap().is_none());
    }
}
