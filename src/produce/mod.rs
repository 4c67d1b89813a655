//! The [`Producer`] trait, its contract, the sources and the generic
//! combinators (`Globbed`, `Hooked`, `Pieces`, `Then` …).
//!
//! The methods that build pipelines from them (and from the codecs) are on
//! [`ProducerExt`](crate::ProducerExt), which lives above this module: the
//! producer core names no codec.
//!
//! # The contract
//!
//! A producer hands out its output one [`Chunk`] at a time, on demand, through
//! [`Producer::poll_more`]. Each call has exactly one of four outcomes:
//!
//! | outcome | value | meaning |
//! |---|---|---|
//! | a chunk | `Poll::Ready(Some(Ok(chunk)))` | the next piece of output; never empty |
//! | pending | `Poll::Pending` | nothing now, more later; the waker in `cx` will be woken when there is |
//! | end | `Poll::Ready(None)` | no more output, ever |
//! | an error | `Poll::Ready(Some(Err(e)))` | the output cannot be completed; `e.kind()` is preserved through every combinator |
//!
//! The rules every producer in this crate keeps, and that
//! `testing::check` (feature `testing`) verifies:
//!
//! 1. **No empty chunks.** Medusa used `""` to mean "end", so a producer
//!    that happened to have nothing was taken as finished. Here end is
//!    `None`, and a [`Chunk`] cannot be empty: the rule is held by types
//!    ([`NonEmptyBytes`](crate::chunk::NonEmptyBytes) and
//!    [`FileRegion`](crate::FileRegion) refuse to be empty), not by care.
//! 2. **End is sticky.** After `None`, every call returns `None`.
//! 3. **Errors are final.** After an error, every call returns `None`; the
//!    consumer of the output has already been told the stream is broken.
//! 4. **Pending registers a wake-up.** A producer returns `Pending` only after
//!    arranging for `cx.waker()` to be woken when progress is possible (the
//!    same rule as `Future`/`Stream`). Nothing ever busy-polls a producer:
//!    Medusa's loop asked idle producers for more on every pass.
//! 5. **Honest length.** [`Producer::exact_len`] is either `None` or the
//!    exact number of bytes the remaining calls will produce. A server uses
//!    it to send `Content-Length` instead of chunked coding.
//! 6. **File regions are transparent.** A combinator that needs the bytes of
//!    a [`Chunk::File`] reads them (in bounded pieces of
//!    [`REGION_PIECE`](crate::chunk::REGION_PIECE), see
//!    [`Chunk::split_bytes`]); one that does not passes the region on, so the
//!    writer at the end can `sendfile` it.
//!
//! Synchronous callers use [`Producer::more`], which parks the thread while
//! the producer is pending and is woken by the producer's waker.
//!
//! # Object safety and static dispatch
//!
//! `Producer` is object safe: a FIFO of mixed producers holds
//! `Box<dyn Producer + Send>`. Every combinator is also a generic wrapper
//! (`Globbed<P>`, `Hooked<P, F>` …) so a pipeline built from concrete types is
//! statically dispatched end to end. Wrappers are `Send` when their parts are.
//!
//! # Combinators read left to right
//!
//! ```
//! use producers::{ProducerExt, from_bytes};
//!
//! let mut logged = 0;
//! let out = from_bytes(vec![b'x'; 100_000])
//!     .pieces(100)
//!     .glob(16 << 10)
//!     .hooked(|n, _err| logged = n)
//!     .collect_bytes()
//!     .unwrap();
//! assert_eq!(out.len(), 100_000);
//! assert_eq!(logged, 100_000);
//! ```

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use crate::chunk::Chunk;

mod bytes_producer;
mod chain;
mod deferred;
mod file_producer;
mod file_watch;
mod followed;
mod globbed;
mod hooked;
mod lines_producer;
mod list_producer;
mod output;
mod pieces;

pub use bytes_producer::{BytesProducer, from_bytes};
pub use chain::{Chain, Then, WhenEmpty};
pub use deferred::{Deferred, deferred};
pub use file_producer::FileProducer;
pub use followed::{Followed, follow};
pub use globbed::Globbed;
pub use hooked::Hooked;
pub use lines_producer::LinesProducer;
pub use list_producer::ListProducer;
pub use output::{
    DEFAULT_OUTPUT_CAPACITY, OutputProducer, OutputWriter, output, output_with_capacity,
};
pub use pieces::Pieces;

/// The result of one [`Producer::poll_more`] call.
pub type More = Poll<Option<io::Result<Chunk>>>;

/// A source of output, handed out one chunk at a time on demand.
///
/// See the [module documentation](self) for the full contract.
pub trait Producer {
    /// Asks for the next chunk of output.
    ///
    /// Returns a chunk, `Pending` (after registering `cx.waker()`), `None`
    /// at the end, or an error. See the [contract](self#the-contract).
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More;

    /// The exact number of bytes still to come, if the producer knows it.
    ///
    /// Must be honest: `Some(n)` means the remaining chunks add up to exactly
    /// `n` bytes (unless an error cuts the stream short). The default is
    /// `None` (unknown).
    fn exact_len(&self) -> Option<u64> {
        None
    }

    /// This producer's counters: calls, chunks, bytes and pendings handed out
    /// so far. Every producer in this crate keeps them; the default (for
    /// producers outside it) is `None`.
    fn counters(&self) -> Option<Counters> {
        None
    }

    /// Blocking convenience: the next chunk, parking the current thread
    /// while the producer is pending.
    ///
    /// The thread is woken by the producer's waker, never by a timer, so a
    /// pending producer costs no CPU.
    fn more(&mut self) -> io::Result<Option<Chunk>> {
        with_thread_waker(|cx| {
            loop {
                match self.poll_more(cx) {
                    Poll::Ready(Some(r)) => return r.map(Some),
                    Poll::Ready(None) => return Ok(None),
                    Poll::Pending => thread::park(),
                }
            }
        })
    }
}

impl<P: Producer + ?Sized> Producer for Box<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        (**self).poll_more(cx)
    }
    fn exact_len(&self) -> Option<u64> {
        (**self).exact_len()
    }
    fn counters(&self) -> Option<Counters> {
        (**self).counters()
    }
}

impl<P: Producer + ?Sized> Producer for &mut P {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        (**self).poll_more(cx)
    }
    fn exact_len(&self) -> Option<u64> {
        (**self).exact_len()
    }
    fn counters(&self) -> Option<Counters> {
        (**self).counters()
    }
}

impl<P: Producer + Unpin + ?Sized> Producer for Pin<&mut P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        (**self).poll_more(cx)
    }
    fn exact_len(&self) -> Option<u64> {
        (**self).exact_len()
    }
    fn counters(&self) -> Option<Counters> {
        (**self).counters()
    }
}

/// What a producer has handed out so far, for tuning chunk sizes from data.
///
/// Counted on the output side of each producer: `calls` to `poll_more`,
/// `chunks` and `bytes` returned, and `pendings` returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Calls to `poll_more`.
    pub calls: u64,
    /// Chunks handed out.
    pub chunks: u64,
    /// Payload bytes handed out.
    pub bytes: u64,
    /// Times `Pending` was returned.
    pub pendings: u64,
}

impl Counters {
    /// Records one call's outcome and passes it through.
    #[inline]
    pub fn record(&mut self, more: More) -> More {
        self.calls += 1;
        match &more {
            Poll::Ready(Some(Ok(c))) => {
                self.chunks += 1;
                self.bytes += c.len();
            }
            Poll::Pending => self.pendings += 1,
            _ => {}
        }
        more
    }

    /// The mean chunk size so far, in bytes (0 before the first chunk).
    pub fn mean_chunk(&self) -> u64 {
        self.bytes.checked_div(self.chunks).unwrap_or(0)
    }
}

/// Runs `f` with a context whose waker unparks the current thread. The
/// waker is made once per thread, so blocking calls allocate nothing.
pub(crate) fn with_thread_waker<R>(f: impl FnOnce(&mut Context<'_>) -> R) -> R {
    thread_local! {
        static WAKER: Waker = thread_waker();
    }
    WAKER.with(|w| f(&mut Context::from_waker(w)))
}

/// A waker that unparks the thread that made it.
fn thread_waker() -> Waker {
    struct ThreadWaker(Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    Waker::from(Arc::new(ThreadWaker(thread::current())))
}
