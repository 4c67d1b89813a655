//! [`Hooked`]: calls a hook once with the byte count when a producer is done
//! (Medusa's `hooked_producer`, used for access logs).

use std::fmt;
use std::io;
use std::task::{Context, Poll};

use super::{Counters, More, Producer};

/// Passes the inner producer's output through and calls `hook(total, error)`
/// exactly once:
///
/// - at the end, with the total byte count and `None`;
/// - on an error, with the bytes handed out before it and `Some(&error)`;
/// - if dropped before either (a connection aborted mid-response), with the
///   bytes handed out and an [`io::ErrorKind::ConnectionAborted`] error, so
///   an access log never misses a request.
///
/// Made by [`ProducerExt::hooked`](crate::ProducerExt::hooked).
pub struct Hooked<P, F>
where
    F: FnOnce(u64, Option<&io::Error>),
{
    inner: P,
    slot: Slot<F>,
}

/// The hook and the counters it reports, kept apart from the inner producer
/// so that dropping a `Hooked` early calls the hook while
/// [`Hooked::into_inner`] can still move the producer out.
struct Slot<F: FnOnce(u64, Option<&io::Error>)> {
    /// `None` once the hook has been called (or disarmed).
    hook: Option<F>,
    counters: Counters,
}

impl<F: FnOnce(u64, Option<&io::Error>)> Slot<F> {
    fn call(&mut self, error: Option<&io::Error>) {
        if let Some(hook) = self.hook.take() {
            hook(self.counters.bytes, error);
        }
    }
}

impl<F: FnOnce(u64, Option<&io::Error>)> Drop for Slot<F> {
    fn drop(&mut self) {
        if self.hook.is_some() {
            let e = io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "producer dropped before its end",
            );
            self.call(Some(&e));
        }
    }
}

impl<P: fmt::Debug, F: FnOnce(u64, Option<&io::Error>)> fmt::Debug for Hooked<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooked")
            .field("inner", &self.inner)
            .field("called", &self.slot.hook.is_none())
            .field("counters", &self.slot.counters)
            .finish()
    }
}

impl<P: Producer, F: FnOnce(u64, Option<&io::Error>)> Hooked<P, F> {
    pub(crate) fn new(inner: P, hook: F) -> Self {
        Hooked {
            inner,
            slot: Slot {
                hook: Some(hook),
                counters: Counters::default(),
            },
        }
    }

    /// The inner producer.
    pub fn get_ref(&self) -> &P {
        &self.inner
    }

    /// The inner producer, mutably. Bytes taken from it directly are not
    /// counted.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// The inner producer. The hook is dropped without being called.
    pub fn into_inner(self) -> P {
        let Hooked { inner, mut slot } = self;
        slot.hook = None;
        inner
    }
}

impl<P: Producer, F: FnOnce(u64, Option<&io::Error>)> Producer for Hooked<P, F> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.slot.counters.record(self.inner.poll_more(cx));
        match &more {
            Poll::Ready(None) => self.slot.call(None),
            Poll::Ready(Some(Err(e))) => self.slot.call(Some(e)),
            _ => {}
        }
        more
    }

    fn exact_len(&self) -> Option<u64> {
        self.inner.exact_len()
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.slot.counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Script, Step};
    use crate::{ProducerExt, produce::BytesProducer};
    use std::cell::RefCell;

    #[test]
    fn conformance() {
        testing::check(
            || {
                BytesProducer::with_piece_size(vec![3u8; 100], 7)
                    .unwrap()
                    .hooked(|_, _| {})
            },
            &[3u8; 100],
        );
    }

    #[test]
    fn called_once_with_the_total_at_the_end() {
        let calls = RefCell::new(vec![]);
        let mut p = BytesProducer::with_piece_size(vec![0u8; 100], 30)
            .unwrap()
            .hooked(|n, e| calls.borrow_mut().push((n, e.map(|e| e.kind()))));
        while p.more().unwrap().is_some() {}
        assert!(p.more().unwrap().is_none());
        drop(p);
        assert_eq!(*calls.borrow(), [(100, None)]);
    }

    #[test]
    fn called_once_with_the_count_so_far_on_error() {
        let calls = RefCell::new(vec![]);
        let script = Script::new([Step::chunk("abc"), Step::error(io::ErrorKind::TimedOut)]);
        let mut p = script.hooked(|n, e| calls.borrow_mut().push((n, e.map(|e| e.kind()))));
        p.more().unwrap();
        assert!(p.more().is_err());
        assert!(p.more().unwrap().is_none());
        drop(p);
        assert_eq!(*calls.borrow(), [(3, Some(io::ErrorKind::TimedOut))]);
    }

    #[test]
    fn called_once_when_dropped_early() {
        let calls = RefCell::new(vec![]);
        let mut p = BytesProducer::with_piece_size(vec![0u8; 100], 30)
            .unwrap()
            .hooked(|n, e| calls.borrow_mut().push((n, e.map(|e| e.kind()))));
        p.more().unwrap();
        drop(p);
        assert_eq!(
            *calls.borrow(),
            [(30, Some(io::ErrorKind::ConnectionAborted))]
        );
    }

    #[test]
    fn into_inner_does_not_call_the_hook() {
        let calls = RefCell::new(0);
        let p = BytesProducer::with_piece_size(vec![0u8; 10], 3)
            .unwrap()
            .hooked(|_, _| *calls.borrow_mut() += 1);
        let inner = p.into_inner();
        assert_eq!(inner.remaining().len(), 10);
        assert_eq!(*calls.borrow(), 0);
    }
}
