//! [`Handle`]: wakes the loop and posts work into it from any thread; the
//! channel wakers that producers and outboxes use.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Wake;
use std::time::{Duration, Instant};

use super::poller::Poller;

use super::{ChannelId, Reactor};

/// Work posted into the loop from another thread.
pub(crate) type Post = Box<dyn FnOnce(&mut Reactor) + Send>;

/// What other threads hand the loop; everything behind one lock, taken
/// once per loop turn by the loop and once per wake by a waker.
#[derive(Default)]
pub(crate) struct Inbound {
    /// Channels whose producer or outbox woke them.
    pub(crate) ready: Vec<ChannelId>,
    /// Closures to run on the loop thread.
    pub(crate) posts: Vec<Post>,
    /// A requested graceful shutdown: its deadline.
    pub(crate) shutdown: Option<Instant>,
}

/// State shared by the loop, its handles and its channel wakers.
pub(crate) struct Shared {
    pub(crate) poller: Poller,
    inbound: Mutex<Inbound>,
    /// True while the loop is (about to be) blocked in `Poller::wait`: only
    /// then does a wake need the `notify` system call. Set before the loop
    /// looks at `inbound` for the last time and cleared after `wait`, so a
    /// wake either is seen by that look or sees the flag (both sides go
    /// through the `inbound` mutex).
    sleeping: AtomicBool,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("sleeping", &self.sleeping.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(poller: Poller) -> Shared {
        Shared {
            poller,
            inbound: Mutex::new(Inbound::default()),
            sleeping: AtomicBool::new(false),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inbound> {
        // Every update under this lock is a single push or assignment, so
        // a panic cannot leave it inconsistent: ignore poisoning.
        self.inbound.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the inbound queues, then wakes the loop if it sleeps.
    fn send(&self, f: impl FnOnce(&mut Inbound)) {
        f(&mut self.lock());
        if self.sleeping.load(Ordering::SeqCst) {
            // An error here means the poller is gone with its loop.
            let _ = self.poller.notify();
        }
    }

    /// Marks the loop as about to sleep and takes what is inbound; the loop
    /// sleeps only if the result is empty.
    pub(crate) fn prepare_sleep(&self) -> Inbound {
        self.sleeping.store(true, Ordering::SeqCst);
        std::mem::take(&mut *self.lock())
    }

    pub(crate) fn woke(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
    }
}

/// A handle on a [`Reactor`], usable from any thread: wakes the loop, posts
/// closures into it, asks it to shut down.
///
/// This is how CPU-heavy work leaves the loop and comes back (Medusa's
/// "turning water into gold"): a handler queues an
/// [`output`](crate::produce::output) producer on its channel and hands the writer
/// to a worker thread; the worker writes the result and drops the writer,
/// and the producer's waker re-arms the channel. For anything else,
/// [`post`](Handle::post) a closure.
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// Wakes the loop: its current or next wait returns at once.
    pub fn wake(&self) {
        let _ = self.shared.poller.notify();
    }

    /// Runs `f` on the loop thread during its next turn. Closures posted
    /// from one thread run in the order posted. A panic in `f` is caught
    /// and reported to the [`Reactor::on_panic`] hook; the loop goes on.
    pub fn post(&self, f: impl FnOnce(&mut Reactor) + Send + 'static) {
        self.shared.send(|i| i.posts.push(Box::new(f)));
    }

    /// Asks for a graceful shutdown: listeners stop accepting, every
    /// channel is asked to close when done
    /// ([`Handler::on_shutdown`](super::Handler::on_shutdown)), and the
    /// channels still open `grace` from now are closed with
    /// [`CloseReason::Shutdown`](super::CloseReason::Shutdown).
    /// [`Reactor::run`] returns once no channel is left.
    pub fn shutdown(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        self.shared.send(|i| {
            i.shutdown = Some(i.shutdown.map_or(deadline, |d| d.min(deadline)));
        });
    }
}

/// A channel's waker: puts the channel on the ready list once per wake-up.
#[derive(Debug)]
pub(crate) struct ChannelWaker {
    shared: Arc<Shared>,
    id: ChannelId,
    /// True from a wake until the loop takes the channel off the ready
    /// list, so a burst of wakes queues the channel once.
    queued: AtomicBool,
}

impl ChannelWaker {
    pub(crate) fn new(shared: Arc<Shared>, id: ChannelId) -> ChannelWaker {
        ChannelWaker {
            shared,
            id,
            queued: AtomicBool::new(false),
        }
    }

    /// Called by the loop as it takes the channel off the ready list,
    /// before servicing it: a wake from now on queues it again.
    pub(crate) fn taken(&self) {
        self.queued.store(false, Ordering::SeqCst);
    }
}

impl Wake for ChannelWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::SeqCst) {
            self.shared.send(|i| i.ready.push(self.id));
        }
    }
}
