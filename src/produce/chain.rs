//! [`Chain`]: a FIFO of producers (Medusa's `composite_producer`), and
//! [`Then`], its statically dispatched two-part form.

use std::collections::VecDeque;
use std::fmt;
use std::task::{Context, Poll, Waker};

use super::{Counters, More, Producer};

/// What an empty [`Chain`] does when asked for more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenEmpty {
    /// End the stream (a fixed concatenation).
    End,
    /// Be pending until a producer is pushed or [`Chain::close`] is called
    /// (an open output queue, such as a connection's).
    Wait,
}

/// The concatenation of any number of producers, in order: a FIFO that more
/// producers can be pushed onto while it runs.
///
/// Chunks pass through untouched — no payload byte is copied, and file
/// regions stay regions. An element's error ends the whole chain (the rest
/// are dropped). With [`WhenEmpty::Wait`] the chain stays open when drained:
/// it is pending (not ended) until more is pushed, and [`push`](Self::push)
/// wakes whoever polled it.
pub struct Chain {
    queue: VecDeque<Box<dyn Producer + Send>>,
    state: State,
    /// The waker of the last poll that found the queue empty (Wait mode).
    waker: Option<Waker>,
    counters: Counters,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open(WhenEmpty),
    /// The end (or an error) has been reported.
    Ended,
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chain")
            .field("queued", &self.queue.len())
            .field("state", &self.state)
            .field("counters", &self.counters)
            .finish()
    }
}

impl Default for Chain {
    fn default() -> Self {
        Chain::new(WhenEmpty::End)
    }
}

impl Chain {
    /// An empty chain that does `when_empty` once drained.
    pub fn new(when_empty: WhenEmpty) -> Chain {
        Chain {
            queue: VecDeque::new(),
            state: State::Open(when_empty),
            waker: None,
            counters: Counters::default(),
        }
    }

    /// A chain of `producers` that ends after the last.
    pub fn of<I>(producers: I) -> Chain
    where
        I: IntoIterator<Item = Box<dyn Producer + Send>>,
    {
        let mut c = Chain::default();
        c.queue.extend(producers);
        c
    }

    /// Appends a producer, waking a poller that found the chain empty.
    ///
    /// # Panics
    ///
    /// If the chain has already reported its end or an error: a producer
    /// pushed then would be silently lost. Check [`is_ended`](Self::is_ended).
    pub fn push(&mut self, p: impl Producer + Send + 'static) {
        self.push_boxed(Box::new(p));
    }

    /// Appends a boxed producer. See [`push`](Self::push).
    pub fn push_boxed(&mut self, p: Box<dyn Producer + Send>) {
        assert!(!self.is_ended(), "push onto a Chain that has ended");
        self.queue.push_back(p);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Ends the chain once what is queued is drained (a `Wait` chain becomes
    /// an `End` chain), waking a poller that found it empty.
    pub fn close(&mut self) {
        if let State::Open(_) = self.state {
            self.state = State::Open(WhenEmpty::End);
        }
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Whether the chain has reported its end or an error.
    pub fn is_ended(&self) -> bool {
        self.state == State::Ended
    }

    /// How many producers are queued (the running one included).
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no producer is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        loop {
            let when_empty = match self.state {
                State::Ended => return Poll::Ready(None),
                State::Open(w) => w,
            };
            let Some(head) = self.queue.front_mut() else {
                return match when_empty {
                    WhenEmpty::End => {
                        self.state = State::Ended;
                        Poll::Ready(None)
                    }
                    WhenEmpty::Wait => {
                        self.waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                };
            };
            match head.poll_more(cx) {
                Poll::Ready(None) => {
                    self.queue.pop_front();
                }
                Poll::Ready(Some(Err(e))) => {
                    self.state = State::Ended;
                    self.queue.clear();
                    return Poll::Ready(Some(Err(e)));
                }
                other => return other,
            }
        }
    }
}

impl Producer for Chain {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    fn exact_len(&self) -> Option<u64> {
        match self.state {
            State::Ended => Some(0),
            State::Open(WhenEmpty::Wait) => None,
            State::Open(WhenEmpty::End) => self.queue.iter().map(|p| p.exact_len()).sum(),
        }
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

/// One producer's output followed by another's, statically dispatched.
/// Made by [`ProducerExt::then`](crate::ProducerExt::then).
#[derive(Debug)]
pub struct Then<A, B> {
    first: A,
    second: B,
    at: At,
    counters: Counters,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    First,
    Second,
    Ended,
}

impl<A: Producer, B: Producer> Then<A, B> {
    pub(crate) fn new(first: A, second: B) -> Self {
        Then {
            first,
            second,
            at: At::First,
            counters: Counters::default(),
        }
    }

    /// The two producers.
    pub fn get_ref(&self) -> (&A, &B) {
        (&self.first, &self.second)
    }

    /// The two producers, mutably.
    pub fn get_mut(&mut self) -> (&mut A, &mut B) {
        (&mut self.first, &mut self.second)
    }

    /// The two producers.
    pub fn into_inner(self) -> (A, B) {
        (self.first, self.second)
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        loop {
            let more = match self.at {
                At::First => self.first.poll_more(cx),
                At::Second => self.second.poll_more(cx),
                At::Ended => return Poll::Ready(None),
            };
            match more {
                Poll::Ready(None) if self.at == At::First => self.at = At::Second,
                Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                    self.at = At::Ended;
                    return more;
                }
                other => return other,
            }
        }
    }
}

impl<A: Producer, B: Producer> Producer for Then<A, B> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    fn exact_len(&self) -> Option<u64> {
        match self.at {
            At::First => Some(self.first.exact_len()? + self.second.exact_len()?),
            At::Second => self.second.exact_len(),
            At::Ended => Some(0),
        }
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use crate::{ProducerExt, from_bytes, produce::ListProducer};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    #[test]
    fn conformance() {
        testing::check(
            || {
                Chain::of([
                    from_bytes("ab").boxed(),
                    from_bytes("").boxed(),
                    ListProducer::new(["c", "", "de"]).boxed(),
                ])
            },
            b"abcde",
        );
        testing::check(Chain::default, b"");
        testing::check(
            || from_bytes("ab").then(from_bytes("")).then(from_bytes("cd")),
            b"abcd",
        );
    }

    #[test]
    fn an_error_ends_the_chain() {
        let f = testing::file_with(b"abc");
        let short = crate::FileProducer::from_file(f).unwrap().promise(10);
        let mut c = Chain::of([
            from_bytes("x").boxed(),
            short.boxed(),
            from_bytes("never").boxed(),
        ]);
        assert_eq!(c.more().unwrap().unwrap().len(), 1);
        assert_eq!(c.more().unwrap().unwrap().len(), 3);
        assert!(c.more().is_err());
        assert!(c.more().unwrap().is_none());
        assert!(c.is_ended());
    }

    struct CountWakes(AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_waiting_chain_is_pending_when_empty_and_woken_by_push() {
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut c = Chain::new(WhenEmpty::Wait);
        assert!(c.poll_more(&mut cx).is_pending());
        assert_eq!(c.exact_len(), None);
        c.push(from_bytes("hi"));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert!(matches!(c.poll_more(&mut cx), Poll::Ready(Some(Ok(_)))));
        assert!(c.poll_more(&mut cx).is_pending());
        c.close();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2);
        assert!(matches!(c.poll_more(&mut cx), Poll::Ready(None)));
        assert!(c.is_ended());
    }

    #[test]
    #[should_panic(expected = "push onto a Chain that has ended")]
    fn pushing_after_the_end_is_refused_loudly() {
        let mut c = Chain::default();
        assert!(c.more().unwrap().is_none());
        c.push(from_bytes("lost"));
    }
}
