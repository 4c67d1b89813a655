//! `futures_core::Stream` adapters, both ways (feature `stream`).
//!
//! [`ProducerStream`] turns any producer into a
//! `Stream<Item = io::Result<Bytes>>` — the shape hyper and axum take as a
//! response body (`axum::body::Body::from_stream`). [`StreamProducer`] turns
//! such a stream into a producer, so async sources can feed pipelines.
//!
//! A stream has no byte length and no trailers, so a hyper or axum body
//! built from one is always chunked: for a response body, prefer
//! [`body::ProducerBody`](crate::body::ProducerBody) (feature `http-body`),
//! whose size hint is the producer's exact length (`Content-Length`) and
//! which can send trailers.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use crate::chunk::Chunk;
use crate::produce::{Counters, More, Producer};

/// The largest item a [`ProducerStream`] reads from a file region: the
/// crate's [`REGION_FRAME`](crate::chunk::REGION_FRAME) (256 KiB).
pub use crate::chunk::REGION_FRAME as REGION_ITEM;

/// A stream of a producer's output as [`Bytes`].
///
/// File regions are read in pieces of at most [`REGION_ITEM`] bytes, so a
/// large file never lands in memory whole. Empty items are never yielded.
#[derive(Debug)]
pub struct ProducerStream<P> {
    producer: P,
    /// The rest of a file region being read in pieces.
    region: Option<Chunk>,
}

impl<P: Producer + Unpin> ProducerStream<P> {
    /// A stream of `producer`'s output.
    pub fn new(producer: P) -> Self {
        ProducerStream {
            producer,
            region: None,
        }
    }

    /// The producer.
    pub fn get_ref(&self) -> &P {
        &self.producer
    }

    /// The producer, mutably.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.producer
    }

    /// The producer; an unread region rest is dropped.
    pub fn into_inner(self) -> P {
        self.producer
    }
}

impl<P: Producer + Unpin> Stream for ProducerStream<P> {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let chunk = match this.region.take() {
            Some(c) => c,
            None => match this.producer.poll_more(cx) {
                Poll::Ready(Some(Ok(c))) => c,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            },
        };
        match chunk.split_bytes(REGION_ITEM) {
            Ok((bytes, rest)) => {
                this.region = rest;
                Poll::Ready(Some(Ok(bytes)))
            }
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

/// A producer of a stream's items.
///
/// Empty items are skipped (they are not the end); an item error ends the
/// output after being handed on. The stream must be `Unpin`; box a stream
/// that is not with [`StreamProducer::pinned`].
#[derive(Debug)]
pub struct StreamProducer<S> {
    stream: S,
    ended: bool,
    counters: Counters,
}

impl<S> StreamProducer<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    /// A producer of `stream`'s items.
    pub fn new(stream: S) -> Self {
        StreamProducer {
            stream,
            ended: false,
            counters: Counters::default(),
        }
    }

    /// The stream.
    pub fn into_inner(self) -> S {
        self.stream
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        while !self.ended {
            match Pin::new(&mut self.stream).poll_next(cx) {
                Poll::Ready(Some(Ok(b))) => {
                    if let Some(c) = Chunk::from_bytes(b) {
                        return Poll::Ready(Some(Ok(c)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    self.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => self.ended = true,
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(None)
    }
}

impl<T> StreamProducer<Pin<Box<T>>>
where
    T: Stream<Item = io::Result<Bytes>>,
{
    /// A producer of a stream that is not `Unpin`, pinned on the heap.
    pub fn pinned(stream: T) -> Self {
        StreamProducer::new(Box::pin(stream))
    }
}

impl<S> Producer for StreamProducer<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
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
    use crate::testing::{self, Script, Step};
    use crate::{FileProducer, ProducerExt, from_bytes};

    /// Polls a stream to its end with a counting waker; scripted pendings
    /// wake at once.
    fn drain<S: Stream<Item = io::Result<Bytes>> + Unpin>(
        mut s: S,
    ) -> (Vec<u8>, Option<io::ErrorKind>) {
        let (mut cx, _) = testing::counting_context();
        let mut out = Vec::new();
        loop {
            match Pin::new(&mut s).poll_next(&mut cx) {
                Poll::Ready(Some(Ok(b))) => {
                    assert!(!b.is_empty());
                    out.extend_from_slice(&b);
                }
                Poll::Ready(Some(Err(e))) => return (out, Some(e.kind())),
                Poll::Ready(None) => return (out, None),
                Poll::Pending => {}
            }
        }
    }

    #[test]
    fn producer_to_stream_reads_regions_in_pieces() {
        let d: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        let f = testing::file_with(&d);
        let p = from_bytes("<")
            .then(FileProducer::from_file(f).unwrap().regions())
            .then(from_bytes(">"));
        let (out, err) = drain(ProducerStream::new(p));
        assert!(err.is_none());
        assert_eq!(out.len(), d.len() + 2);
        assert_eq!(&out[1..out.len() - 1], &d[..]);
    }

    #[test]
    fn stream_to_producer_and_back_round_trips_with_pending_and_errors() {
        let p = Script::new([
            Step::chunk("a"),
            Step::Pending,
            Step::chunk("bc"),
            Step::error(io::ErrorKind::TimedOut),
        ]);
        let back = StreamProducer::new(ProducerStream::new(p));
        let (out, err) = drain(ProducerStream::new(back));
        assert_eq!(out, b"abc");
        assert_eq!(err, Some(io::ErrorKind::TimedOut));
    }

    #[test]
    fn conformance_of_stream_producer() {
        testing::check(
            || StreamProducer::new(ProducerStream::new(from_bytes("hello").pieces(2))),
            b"hello",
        );
    }
}
