//! [`BytesProducer`]: one buffer handed out in pieces, without copying
//! (Medusa's `simple_producer` and `scanning_producer`).

use std::io;
use std::task::{Context, Poll};

use bytes::Bytes;

use super::{Counters, More, Producer};
use crate::chunk::Chunk;

/// One buffer, handed out in slices of at most `piece_size` bytes.
///
/// Each piece is a [`Bytes`] slice of the original buffer: no payload byte is
/// copied. Made by [`from_bytes`] (one piece) or
/// [`BytesProducer::with_piece_size`].
#[derive(Debug, Clone)]
pub struct BytesProducer {
    /// The whole buffer; `data[pos..]` is still to be handed out. Kept
    /// whole (rather than split) so each piece is one `slice`, built in
    /// registers, instead of a read-modify-write of the stored `Bytes`.
    data: Bytes,
    pos: usize,
    /// Never zero.
    piece_size: usize,
    counters: Counters,
}

/// A producer of `data` as a single chunk (nothing at all if it is empty).
pub fn from_bytes(data: impl Into<Bytes>) -> BytesProducer {
    BytesProducer {
        data: data.into(),
        pos: 0,
        piece_size: usize::MAX,
        counters: Counters::default(),
    }
}

impl BytesProducer {
    /// A producer of `data` in pieces of at most `piece_size` bytes.
    ///
    /// A `piece_size` of 0 is rejected with [`io::ErrorKind::InvalidInput`]:
    /// it could only produce empty chunks or never finish.
    pub fn with_piece_size(data: impl Into<Bytes>, piece_size: usize) -> io::Result<BytesProducer> {
        if piece_size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "piece size must not be zero",
            ));
        }
        Ok(BytesProducer {
            data: data.into(),
            pos: 0,
            piece_size,
            counters: Counters::default(),
        })
    }

    /// The bytes not handed out yet.
    pub fn remaining(&self) -> &[u8] {
        &self.data[self.pos..]
    }
}

impl Producer for BytesProducer {
    #[inline]
    fn poll_more(&mut self, _cx: &mut Context<'_>) -> More {
        let left = self.data.len() - self.pos;
        let more = if left == 0 {
            Poll::Ready(None)
        } else {
            let n = self.piece_size.min(left);
            let piece = self.data.slice(self.pos..self.pos + n);
            self.pos += n;
            // `n > 0`, so never `None` (and the check folds away).
            Poll::Ready(Chunk::from_bytes(piece).map(Ok))
        };
        self.counters.record(more)
    }

    fn exact_len(&self) -> Option<u64> {
        Some((self.data.len() - self.pos) as u64)
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
    fn zero_piece_size_is_rejected() {
        let e = BytesProducer::with_piece_size(&b"abc"[..], 0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn pieces_are_slices_of_the_original() {
        let data = Bytes::from(vec![7u8; 10]);
        let mut p = BytesProducer::with_piece_size(data.clone(), 4).unwrap();
        let mut sizes = vec![];
        while let Some(c) = p.more().unwrap() {
            let b = c.into_bytes().unwrap();
            // Same allocation: the slice points into `data`.
            let start = b.as_ptr() as usize - data.as_ptr() as usize;
            assert!(start < data.len());
            sizes.push(b.len());
        }
        assert_eq!(sizes, [4, 4, 2]);
        assert_eq!(p.counters().unwrap().chunks, 3);
    }

    #[test]
    fn conformance() {
        for size in [1, 2, 3, 7, 100] {
            testing::check(
                || BytesProducer::with_piece_size(&b"hello, world"[..], size).unwrap(),
                b"hello, world",
            );
        }
        testing::check(|| from_bytes(Bytes::new()), b"");
        testing::check(|| from_bytes(&b"one piece"[..]), b"one piece");
    }
}
