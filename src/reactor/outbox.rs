//! [`Outbox`]: a channel's output and control, reachable from consumers,
//! other channels and other threads.

use std::cell::Cell;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use bytes::Bytes;

use super::ChannelId;
use super::out_queue::ITEM_COST;
use crate::consume::Consumer;
use crate::produce::Producer;

/// One request queued through an [`Outbox`], applied by the loop in order.
pub(crate) enum Cmd {
    Bytes(Bytes),
    Producer(Box<dyn Producer + Send>),
    Consumer(Box<dyn Consumer + Send>),
    ShutdownWrite,
    CloseWhenDone,
    CloseNow,
    /// Close now with a reset (`SO_LINGER` 0).
    Abort,
    /// Pause (`true`) or resume (`false`) reading.
    PauseReading(bool),
}

/// A callback run once a channel's queued output drains.
pub(crate) type Drained = Box<dyn FnOnce() + Send>;

/// The shared half of an outbox, owned by its channel.
pub(crate) struct Inbox {
    id: ChannelId,
    cmds: Mutex<Vec<Cmd>>,
    waker: Waker,
    /// Set when the channel closes: pushes fail from then on.
    closed: AtomicBool,
    /// The channel's queued output bytes as of its last turn.
    queued: AtomicUsize,
    /// What the commands not yet applied will add (bytes, and
    /// [`ITEM_COST`] per producer); changed under the `cmds` lock.
    pending: AtomicUsize,
    /// The channel's watermarks as of its last turn.
    high: AtomicUsize,
    low: AtomicUsize,
    /// Reading paused on request (mirrors the channel's state, ahead of
    /// it by the commands not yet applied).
    paused_by_request: AtomicBool,
    /// Callbacks waiting for the queued output to drain to the low
    /// watermark.
    drained: Mutex<Vec<Drained>>,
    /// Whether `drained` is not empty, checked without the lock.
    watched: AtomicBool,
}

impl fmt::Debug for Inbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("id", &self.id)
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .field("queued", &self.queued.load(Ordering::Relaxed))
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .field(
                "paused_by_request",
                &self.paused_by_request.load(Ordering::Relaxed),
            )
            .field("watched", &self.watched.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// The inbox of the channel the loop on this thread is servicing: a
    /// push to it needs no wake-up, the loop drains it after the callback.
    static SERVICING: Cell<usize> = const { Cell::new(0) };
}

impl Inbox {
    pub(crate) fn new(
        id: ChannelId,
        waker: Waker,
        low: usize,
        high: usize,
        paused_by_request: bool,
    ) -> Inbox {
        Inbox {
            id,
            cmds: Mutex::new(Vec::new()),
            waker,
            closed: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
            pending: AtomicUsize::new(0),
            high: AtomicUsize::new(high),
            low: AtomicUsize::new(low),
            paused_by_request: AtomicBool::new(paused_by_request),
            drained: Mutex::new(Vec::new()),
            watched: AtomicBool::new(false),
        }
    }

    /// Takes the queued commands (into `into`, which is cleared first).
    pub(crate) fn drain(&self, into: &mut Vec<Cmd>) {
        into.clear();
        let mut cmds = self.cmds.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::swap(&mut *cmds, into);
        self.pending.store(0, Ordering::Relaxed);
    }

    /// Records the channel's state at the end of its turn: its queued
    /// output and its watermarks. Returns the drained callbacks that are
    /// due (the queue, commands not yet applied included, is at or below
    /// the low watermark).
    pub(crate) fn settle(&self, queued: usize, low: usize, high: usize) -> Vec<Drained> {
        self.queued.store(queued, Ordering::Relaxed);
        self.low.store(low, Ordering::Relaxed);
        self.high.store(high, Ordering::Relaxed);
        if !self.watched.load(Ordering::SeqCst) || self.total() > low {
            return Vec::new();
        }
        self.take_drained()
    }

    fn take_drained(&self) -> Vec<Drained> {
        let mut d = self.drained.lock().unwrap_or_else(|p| p.into_inner());
        self.watched.store(false, Ordering::SeqCst);
        std::mem::take(&mut *d)
    }

    /// Records the channel's queued output now, so that consumers checking
    /// [`Outbox::is_full`] see what the loop has written this turn.
    pub(crate) fn set_queued(&self, queued: usize) {
        self.queued.store(queued, Ordering::Relaxed);
    }

    /// Mirrors a pause or resume made through the channel's context.
    pub(crate) fn set_paused_by_request(&self, paused_by_request: bool) {
        self.paused_by_request
            .store(paused_by_request, Ordering::SeqCst);
    }

    /// The channel's queued output bytes as last recorded.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    fn total(&self) -> usize {
        self.queued.load(Ordering::Relaxed) + self.pending.load(Ordering::Relaxed)
    }

    /// Marks the channel closed and drops what is still queued. Returns
    /// the drained callbacks, which run now: nothing will drain later.
    pub(crate) fn close(&self) -> Vec<Drained> {
        self.closed.store(true, Ordering::SeqCst);
        let cmds = std::mem::take(&mut *self.cmds.lock().unwrap_or_else(|p| p.into_inner()));
        drop(cmds);
        self.take_drained()
    }

    /// Marks `this` as the inbox being serviced on this thread until the
    /// guard drops.
    pub(crate) fn servicing(this: Option<&Arc<Inbox>>) -> ServicingGuard {
        let addr = this.map_or(0, |a| Arc::as_ptr(a) as usize);
        ServicingGuard(SERVICING.replace(addr))
    }
}

/// Restores the previously serviced inbox.
pub(crate) struct ServicingGuard(usize);

impl Drop for ServicingGuard {
    fn drop(&mut self) {
        SERVICING.set(self.0);
    }
}

/// A cloneable, `Send` handle on one channel's output: push bytes,
/// producers and consumers, shut down writing, close — from a consumer's
/// closure, from another channel's handler, or from another thread.
///
/// Commands are applied by the loop in the order they were pushed. Pushed
/// from the loop thread while the channel is being serviced, they take
/// effect right after the callback returns; from anywhere else, the push
/// wakes the channel. Once the channel has closed every push fails with
/// [`io::ErrorKind::NotConnected`].
///
/// An outbox is not bounded by the channel's watermarks: the watermarks
/// stop the channel from *reading*. A foreign pusher bounds its own output
/// with [`is_full`](Outbox::is_full) and [`on_drained`](Outbox::on_drained)
/// (or pushes a lazy producer); a channel that forwards what it reads to
/// another one uses [`forward`](Outbox::forward), which pauses its reading
/// while the other side is full.
#[derive(Clone)]
pub struct Outbox {
    pub(crate) inbox: Arc<Inbox>,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("channel", &self.inbox.id)
            .field("closed", &self.is_closed())
            .field("queued", &self.queued())
            .finish()
    }
}

impl Outbox {
    fn send(&self, cmd: Cmd) -> io::Result<()> {
        if self.is_closed() {
            return Err(not_connected());
        }
        let cost = match &cmd {
            Cmd::Bytes(b) => b.len(),
            Cmd::Producer(_) => ITEM_COST,
            _ => 0,
        };
        let first = {
            let mut cmds = self.inbox.cmds.lock().unwrap_or_else(|p| p.into_inner());
            cmds.push(cmd);
            self.inbox.pending.fetch_add(cost, Ordering::Relaxed);
            cmds.len() == 1
        };
        // Only the first command since the last drain needs a wake-up, and
        // none if the loop is servicing this very channel.
        if first && SERVICING.get() != Arc::as_ptr(&self.inbox) as usize {
            self.inbox.waker.wake_by_ref();
        }
        Ok(())
    }

    /// The channel this outbox feeds.
    pub fn id(&self) -> ChannelId {
        self.inbox.id
    }

    /// Whether the channel has closed.
    pub fn is_closed(&self) -> bool {
        self.inbox.closed.load(Ordering::SeqCst)
    }

    /// The channel's queued output bytes as of its last loop turn, plus
    /// what was pushed through outboxes since (bytes, and 64 per producer).
    pub fn queued(&self) -> usize {
        self.inbox.total()
    }

    /// Whether the channel's [`queued`](Outbox::queued) output is above its
    /// high watermark ([`Config::high_watermark`](super::Config::high_watermark)
    /// or [`ChannelCtx::set_watermarks`](super::ChannelCtx::set_watermarks)):
    /// a pusher should stop until [`on_drained`](Outbox::on_drained).
    pub fn is_full(&self) -> bool {
        self.inbox.total() > self.inbox.high.load(Ordering::Relaxed)
    }

    /// Runs `f` once, on the loop thread, at the end of the first turn of
    /// the channel in which its [`queued`](Outbox::queued) output is at or
    /// below its low watermark — the next turn if it is already there — or
    /// when the channel closes. If the channel has already closed, `f` runs
    /// at once on this thread. A panic in `f` is caught and reported as
    /// [`PanicSite::Drained`](super::PanicSite::Drained).
    pub fn on_drained(&self, f: impl FnOnce() + Send + 'static) {
        {
            let mut d = self.inbox.drained.lock().unwrap_or_else(|p| p.into_inner());
            if !self.is_closed() {
                d.push(Box::new(f));
                self.inbox.watched.store(true, Ordering::SeqCst);
                drop(d);
                // The channel's next turn checks the level.
                self.inbox.waker.wake_by_ref();
                return;
            }
        }
        f();
    }

    /// Pauses the channel's reading (input already read is still handed to
    /// its consumers) until [`resume_reading`](Outbox::resume_reading); a
    /// command like the others, applied in order. True if reading was not
    /// already paused on request. Independent of the watermark pause: the
    /// channel reads when neither holds it.
    pub fn pause_reading(&self) -> io::Result<bool> {
        if self.is_closed() {
            return Err(not_connected());
        }
        if self.inbox.paused_by_request.swap(true, Ordering::SeqCst) {
            return Ok(false);
        }
        self.send(Cmd::PauseReading(true)).map(|()| true)
    }

    /// Resumes reading paused by [`pause_reading`](Outbox::pause_reading)
    /// (or [`ChannelCtx::pause_reading`](super::ChannelCtx::pause_reading));
    /// true if it was paused on request.
    pub fn resume_reading(&self) -> io::Result<bool> {
        if self.is_closed() {
            return Err(not_connected());
        }
        if !self.inbox.paused_by_request.swap(false, Ordering::SeqCst) {
            return Ok(false);
        }
        self.send(Cmd::PauseReading(false)).map(|()| true)
    }

    /// Whether reading is paused on request (after the commands pushed so
    /// far apply).
    pub fn is_reading_paused(&self) -> bool {
        self.inbox.paused_by_request.load(Ordering::SeqCst)
    }

    /// Pushes `bytes` read from the channel of `from` (a proxy's other
    /// side) with backpressure between the two channels: if this channel
    /// is then [full](Outbox::is_full), `from`'s reading is paused until
    /// this channel's output drains to its low watermark (or it closes).
    /// True if this push paused `from`.
    ///
    /// So a channel forwarding everything it reads holds at most about
    /// this channel's high watermark plus one read
    /// ([`Config::read_size`](super::Config::read_size)) of the other's
    /// input on its behalf, however fast `from`'s peer sends and however
    /// slowly this channel's peer reads.
    pub fn forward(&self, bytes: impl Into<Bytes>, from: &Outbox) -> io::Result<bool> {
        self.push(bytes)?;
        if !self.is_full() || !from.pause_reading()? {
            return Ok(false);
        }
        let from = from.clone();
        self.on_drained(move || {
            // `from` may have closed meanwhile: nothing to resume then.
            let _ = from.resume_reading();
        });
        Ok(true)
    }

    /// Queues bytes for output (no copy).
    pub fn push(&self, bytes: impl Into<Bytes>) -> io::Result<()> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Ok(());
        }
        self.send(Cmd::Bytes(bytes))
    }

    /// Queues a producer for output, after everything queued before.
    pub fn push_producer(&self, p: impl Producer + Send + 'static) -> io::Result<()> {
        self.send(Cmd::Producer(Box::new(p)))
    }

    /// Queues a boxed producer for output.
    pub fn push_boxed(&self, p: Box<dyn Producer + Send>) -> io::Result<()> {
        self.send(Cmd::Producer(p))
    }

    /// Queues a consumer at the back of the channel's consumer FIFO.
    pub fn push_consumer(&self, c: impl Consumer + Send + 'static) -> io::Result<()> {
        self.send(Cmd::Consumer(Box::new(c)))
    }

    /// Shuts down the writing half once everything queued has gone out.
    pub fn shutdown_write(&self) -> io::Result<()> {
        self.send(Cmd::ShutdownWrite)
    }

    /// Closes the channel once everything queued has gone out.
    pub fn close_when_done(&self) -> io::Result<()> {
        self.send(Cmd::CloseWhenDone)
    }

    /// Closes the channel now, dropping queued output.
    pub fn close_now(&self) -> io::Result<()> {
        self.send(Cmd::CloseNow)
    }

    /// Closes the channel now with a reset, so that its peer sees a
    /// failure rather than an end: see [`ChannelCtx::abort`](super::ChannelCtx::abort).
    /// Queued output (bytes and producers) is discarded, as with
    /// [`close_now`](Outbox::close_now).
    ///
    /// A command like the others: commands pushed before it apply first,
    /// and if the channel closes meanwhile (say, closed when done) the
    /// abort has nothing left to do.
    pub fn abort(&self) -> io::Result<()> {
        self.send(Cmd::Abort)
    }
}

fn not_connected() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "channel closed")
}

impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cmd::Bytes(b) => write!(f, "Bytes({})", b.len()),
            Cmd::Producer(_) => f.write_str("Producer"),
            Cmd::Consumer(_) => f.write_str("Consumer"),
            Cmd::ShutdownWrite => f.write_str("ShutdownWrite"),
            Cmd::CloseWhenDone => f.write_str("CloseWhenDone"),
            Cmd::CloseNow => f.write_str("CloseNow"),
            Cmd::Abort => f.write_str("Abort"),
            Cmd::PauseReading(h) => write!(f, "PauseReading({h})"),
        }
    }
}
