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
}

/// The shared half of an outbox, owned by its channel.
#[derive(Debug)]
pub(crate) struct Inbox {
    id: ChannelId,
    cmds: Mutex<Vec<Cmd>>,
    waker: Waker,
    /// Set when the channel closes: pushes fail from then on.
    closed: AtomicBool,
    /// The channel's queued output bytes as of its last turn.
    queued: AtomicUsize,
}

thread_local! {
    /// The inbox of the channel the loop on this thread is servicing: a
    /// push to it needs no wake-up, the loop drains it after the callback.
    static SERVICING: Cell<usize> = const { Cell::new(0) };
}

impl Inbox {
    pub(crate) fn new(id: ChannelId, waker: Waker) -> Inbox {
        Inbox {
            id,
            cmds: Mutex::new(Vec::new()),
            waker,
            closed: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
        }
    }

    /// Takes the queued commands (into `into`, which is cleared first).
    pub(crate) fn drain(&self, into: &mut Vec<Cmd>) {
        into.clear();
        let mut cmds = self.cmds.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::swap(&mut *cmds, into);
    }

    pub(crate) fn set_queued(&self, n: usize) {
        self.queued.store(n, Ordering::Relaxed);
    }

    /// Marks the channel closed and drops what is still queued.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let cmds = std::mem::take(&mut *self.cmds.lock().unwrap_or_else(|p| p.into_inner()));
        drop(cmds);
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
/// stop the channel from *reading*; a foreign pusher should look at
/// [`queued`](Outbox::queued) (or push a lazy producer) to bound its own
/// output.
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
        let first = {
            let mut cmds = self.inbox.cmds.lock().unwrap_or_else(|p| p.into_inner());
            cmds.push(cmd);
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

    /// The channel's queued output bytes as of its last loop turn.
    pub fn queued(&self) -> usize {
        self.inbox.queued.load(Ordering::Relaxed)
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
        }
    }
}
