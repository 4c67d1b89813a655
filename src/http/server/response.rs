//! [`Response`]: one queued response — its head, then its body in memory
//! or from a producer — as one concrete producer.
//!
//! - The head goes out first, as one chunk; then the body: a buffer in
//!   memory as one chunk, or a producer's chunks as they come.
//! - One type for the common shapes, where a `ListProducer` or a
//!   `from_bytes(head).then(body)` chain boxed per response cost an
//!   allocation and a dynamic call or two each (issue 14): a response in
//!   memory costs no allocation here at all.
//! - The exact length is the head's plus the body's, when the body's is
//!   known.

use std::fmt;
use std::task::{Context, Poll};

use bytes::Bytes;

use crate::chunk::{Chunk, NonEmptyBytes};
use crate::produce::{Counters, More, Producer};

/// What follows the head.
enum Rest {
    /// Nothing (an empty body, a HEAD, a 304), or the body already handed
    /// out.
    Nothing,
    /// The whole body, in memory.
    Memory(NonEmptyBytes),
    /// A body from a producer: a file, ranges, a chunked or compressed
    /// stream.
    Streamed(Box<dyn Producer + Send>),
}

/// A response head followed by its body; see the [module](self).
pub(crate) struct Response {
    /// The head, until it is handed out.
    head: Option<NonEmptyBytes>,
    rest: Rest,
    counters: Counters,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("head", &self.head.as_ref().map(|h| h.len()))
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Response {
    /// A head without a body.
    pub(crate) fn head_only(head: Bytes) -> Response {
        Response {
            head: NonEmptyBytes::new(head),
            rest: Rest::Nothing,
            counters: Counters::default(),
        }
    }

    /// A head and a body in memory: two chunks, which the writer gathers
    /// into one write (with the responses queued behind, when pipelined).
    pub(crate) fn in_memory(head: Bytes, body: Bytes) -> Response {
        Response {
            rest: NonEmptyBytes::new(body).map_or(Rest::Nothing, Rest::Memory),
            ..Response::head_only(head)
        }
    }

    /// A head and a body from `body`.
    pub(crate) fn streamed(head: Bytes, body: Box<dyn Producer + Send>) -> Response {
        Response {
            rest: Rest::Streamed(body),
            ..Response::head_only(head)
        }
    }
}

impl Producer for Response {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = if let Some(head) = self.head.take() {
            Poll::Ready(Some(Ok(Chunk::Bytes(head))))
        } else {
            match &mut self.rest {
                Rest::Nothing => Poll::Ready(None),
                Rest::Memory(_) => {
                    let Rest::Memory(body) = std::mem::replace(&mut self.rest, Rest::Nothing)
                    else {
                        unreachable!("matched above")
                    };
                    Poll::Ready(Some(Ok(Chunk::Bytes(body))))
                }
                Rest::Streamed(p) => {
                    let more = p.poll_more(cx);
                    if matches!(more, Poll::Ready(None | Some(Err(_)))) {
                        // Ended: the end is sticky, and the body's
                        // resources (a descriptor) go now.
                        self.rest = Rest::Nothing;
                    }
                    more
                }
            }
        };
        self.counters.record(more)
    }

    fn exact_len(&self) -> Option<u64> {
        let head = self.head.as_ref().map_or(0, |h| h.len() as u64);
        let rest = match &self.rest {
            Rest::Nothing => 0,
            Rest::Memory(b) => b.len() as u64,
            Rest::Streamed(p) => p.exact_len()?,
        };
        Some(head + rest)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProducerExt;
    use crate::produce::from_bytes;
    use crate::testing::{self, Script, Step};

    #[test]
    fn each_shape_is_its_head_then_its_body() {
        testing::check(
            || Response::head_only(Bytes::from_static(b"H\r\n\r\n")),
            b"H\r\n\r\n",
        );
        testing::check(
            || Response::in_memory(Bytes::from_static(b"head"), Bytes::from_static(b"body")),
            b"headbody",
        );
        testing::check(
            || Response::in_memory(Bytes::from_static(b"head"), Bytes::new()),
            b"head",
        );
        testing::check(
            || {
                let body = from_bytes("a").then(from_bytes("bc")).boxed();
                Response::streamed(Bytes::from_static(b"head"), body)
            },
            b"headabc",
        );
    }

    #[test]
    fn a_body_in_memory_is_one_chunk_after_the_head() {
        let mut r = Response::in_memory(Bytes::from_static(b"head"), Bytes::from_static(b"body"));
        assert_eq!(r.exact_len(), Some(8));
        assert_eq!(
            &r.more().unwrap().unwrap().into_bytes().unwrap()[..],
            b"head"
        );
        assert_eq!(r.exact_len(), Some(4));
        assert_eq!(
            &r.more().unwrap().unwrap().into_bytes().unwrap()[..],
            b"body"
        );
        assert!(r.more().unwrap().is_none());
        assert!(r.more().unwrap().is_none(), "the end is sticky");
        assert_eq!(r.counters().unwrap().bytes, 8);
    }

    #[test]
    fn a_streamed_body_passes_pending_and_errors_through() {
        let body = Script::new([
            Step::Pending,
            Step::chunk("x"),
            Step::Error(std::io::ErrorKind::BrokenPipe),
        ]);
        let mut r = Response::streamed(Bytes::from_static(b"head"), Box::new(body));
        assert_eq!(r.exact_len(), None, "the body's length is unknown");
        assert_eq!(
            &r.more().unwrap().unwrap().into_bytes().unwrap()[..],
            b"head"
        );
        assert_eq!(&r.more().unwrap().unwrap().into_bytes().unwrap()[..], b"x");
        assert_eq!(r.more().unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
        assert!(r.more().unwrap().is_none(), "ended after the error");
    }
}
