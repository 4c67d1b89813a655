//! [`Deferred`]: a producer built when it is first asked for output.
//!
//! - Nothing is built until the first `poll_more`: a response queued
//!   behind others holds only its recipe (an open file, a level), not its
//!   codec state. A server that queues 32 gzip responses per connection
//!   holds one compressor, not 32 (issue 11: a client that pipelined gzip
//!   requests and never read pinned 11 MB per connection).
//! - Once built, every call goes to the built producer: end, errors,
//!   pending and `exact_len` are its own.
//! - Before it is built, `exact_len` is the hint given at construction
//!   ([`Deferred::with_len`]) or `None`: building it to learn its length
//!   would defeat the purpose.

use std::fmt;
use std::task::Context;

use super::{Counters, More, Producer};

/// A producer made by `make` on first use. Made by [`deferred`].
pub struct Deferred<F, P> {
    state: State<F, P>,
    /// The exact length promised before the producer is built; the built
    /// producer must produce exactly that many bytes when it is `Some`.
    len: Option<u64>,
}

/// Whether the producer exists yet.
enum State<F, P> {
    /// Not asked for output yet: the recipe.
    Waiting(F),
    /// Built and running.
    Running(P),
    /// `make` panicked while building; nothing more comes.
    Poisoned,
}

/// Defers building a producer until its first poll: `make` runs then,
/// once, on the thread that polls.
///
/// ```
/// use producers::ProducerExt;
/// use producers::produce::{deferred, from_bytes};
///
/// let p = deferred(|| from_bytes("later"));
/// let out = from_bytes("now, ").then(p).collect_bytes()?;
/// assert_eq!(&out[..], b"now, later");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn deferred<F, P>(make: F) -> Deferred<F, P>
where
    F: FnOnce() -> P,
    P: Producer,
{
    Deferred {
        state: State::Waiting(make),
        len: None,
    }
}

impl<F, P> Deferred<F, P>
where
    F: FnOnce() -> P,
    P: Producer,
{
    /// Promises that the producer, once built, produces exactly `len`
    /// bytes, so `exact_len` is known before it is built (a
    /// `Content-Length`).
    pub fn with_len(mut self, len: u64) -> Self {
        self.len = Some(len);
        self
    }

    /// Whether the producer has been built.
    pub fn is_built(&self) -> bool {
        !matches!(self.state, State::Waiting(_))
    }

    /// The built producer, if it has been built.
    pub fn get_ref(&self) -> Option<&P> {
        match &self.state {
            State::Running(p) => Some(p),
            _ => None,
        }
    }

    /// The built producer, mutably, if it has been built.
    pub fn get_mut(&mut self) -> Option<&mut P> {
        match &mut self.state {
            State::Running(p) => Some(p),
            _ => None,
        }
    }

    /// The built producer, building it now if it was not.
    pub fn into_inner(self) -> Option<P> {
        match self.state {
            State::Waiting(make) => Some(make()),
            State::Running(p) => Some(p),
            State::Poisoned => None,
        }
    }
}

impl<F, P> Producer for Deferred<F, P>
where
    F: FnOnce() -> P,
    P: Producer,
{
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        if let State::Waiting(_) = self.state {
            // Poisoned while `make` runs: a panic leaves no half state.
            let State::Waiting(make) = std::mem::replace(&mut self.state, State::Poisoned) else {
                unreachable!("checked above")
            };
            self.state = State::Running(make());
        }
        match &mut self.state {
            State::Running(p) => p.poll_more(cx),
            _ => std::task::Poll::Ready(None),
        }
    }

    fn exact_len(&self) -> Option<u64> {
        match &self.state {
            State::Waiting(_) => self.len,
            State::Running(p) => p.exact_len(),
            State::Poisoned => Some(0),
        }
    }

    fn counters(&self) -> Option<Counters> {
        match &self.state {
            State::Running(p) => p.counters(),
            _ => None,
        }
    }
}

impl<F, P: fmt::Debug> fmt::Debug for Deferred<F, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Waiting(_) => "waiting",
            State::Running(_) => "running",
            State::Poisoned => "poisoned",
        };
        f.debug_struct("Deferred")
            .field("state", &state)
            .field(
                "inner",
                &match &self.state {
                    State::Running(p) => Some(p),
                    _ => None,
                },
            )
            .field("len", &self.len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::*;
    use crate::ProducerExt;
    use crate::produce::{BytesProducer, from_bytes};
    use crate::testing;

    crate::conformance!(
        deferred_bytes,
        deferred(|| BytesProducer::with_piece_size("hello world", 3).unwrap()),
        b"hello world"
    );
    crate::conformance!(
        deferred_with_len,
        deferred(|| from_bytes("abc").then(from_bytes("de"))).with_len(5),
        b"abcde"
    );
    crate::conformance!(
        deferred_behind_another,
        from_bytes("head ").then(deferred(|| from_bytes("body").glob(2))),
        b"head body"
    );

    #[test]
    fn built_on_the_first_poll_and_only_once() {
        let made = Rc::new(Cell::new(0));
        let m = made.clone();
        let mut p = from_bytes("first").then(deferred(move || {
            m.set(m.get() + 1);
            from_bytes("second")
        }));
        assert_eq!(made.get(), 0);
        assert_eq!(
            &p.more().unwrap().unwrap().into_bytes().unwrap()[..],
            b"first"
        );
        assert_eq!(made.get(), 0, "not built while the producer before it runs");
        assert_eq!(
            &p.more().unwrap().unwrap().into_bytes().unwrap()[..],
            b"second"
        );
        assert!(p.more().unwrap().is_none());
        assert!(p.more().unwrap().is_none());
        assert_eq!(made.get(), 1);
    }

    #[test]
    fn the_length_hint_holds_until_built_then_the_inner_one() {
        let mut p = deferred(|| from_bytes("abc")).with_len(3);
        assert_eq!(p.exact_len(), Some(3));
        assert!(!p.is_built());
        let _ = p.more().unwrap();
        assert!(p.is_built());
        assert_eq!(p.exact_len(), Some(0));
        assert_eq!(deferred(|| from_bytes("x")).exact_len(), None);
    }

    #[test]
    fn a_panicking_recipe_poisons_it() {
        let mut p = deferred(|| -> crate::produce::BytesProducer { panic!("no") });
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.more()));
        assert!(r.is_err());
        assert!(p.more().unwrap().is_none());
        assert_eq!(p.exact_len(), Some(0));
        testing::check(|| deferred(|| from_bytes("ok")), b"ok");
    }
}
