//! [`ChannelCtx`]: what a [`Handler`](super::Handler) callback can do to
//! its own channel and to the reactor.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::Bytes;

use super::channel::Core;
use super::outbox::{Cmd, Outbox};
use super::slab::Entry;
use super::{ChannelId, Handle, Reactor};
use crate::consume::{Consumer, ConsumerFifo};
use crate::produce::Producer;

/// What a [`Handler`](super::Handler) callback can do to its channel and its reactor.
///
/// Output pushed here is queued in order behind what is already queued and
/// goes out as the socket takes it; nothing blocks.
pub struct ChannelCtx<'a> {
    pub(crate) core: &'a mut Core,
    pub(crate) reactor: &'a mut Reactor,
}

impl fmt::Debug for ChannelCtx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelCtx")
            .field("id", &self.core.id)
            .field("phase", &self.core.state.phase())
            .field("write", &self.core.state.write_half())
            .field("queued", &self.core.out.queued())
            .finish()
    }
}

impl ChannelCtx<'_> {
    /// This channel's id.
    pub fn id(&self) -> ChannelId {
        self.core.id
    }

    /// The socket, for its addresses and options. Do not read or write it:
    /// the reactor does.
    pub fn stream(&self) -> &TcpStream {
        &self.core.sock
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.core.sock.peer_addr()
    }

    /// Queues bytes for output (no copy). Dropped after a close or a
    /// shutdown of the writing half.
    pub fn push(&mut self, bytes: impl Into<Bytes>) {
        self.core.push_bytes(bytes.into());
    }

    /// Queues a producer; its chunks go out in order after everything
    /// queued before it. A pending producer costs nothing until its waker
    /// fires (from any thread).
    pub fn push_producer(&mut self, p: impl Producer + Send + 'static) {
        self.core.push_producer(Box::new(p));
    }

    /// Queues a boxed producer.
    pub fn push_boxed(&mut self, p: Box<dyn Producer + Send>) {
        self.core.push_producer(p);
    }

    /// Queues a consumer at the back of the input FIFO. The head consumer
    /// changes the terminator through its [`Control`](crate::consume::Control).
    pub fn push_consumer(&mut self, c: impl Consumer + Send + 'static) {
        self.core.input.push(c);
        self.core.state.recheck = true;
    }

    /// The input FIFO: its budget, what it buffers.
    pub fn input(&mut self) -> &mut ConsumerFifo {
        &mut self.core.input
    }

    /// An [`Outbox`] for this channel: a `Send` handle consumers and other
    /// threads use to push output and close.
    pub fn outbox(&mut self) -> Outbox {
        Outbox {
            inbox: self.core.inbox(&self.reactor.shared),
        }
    }

    /// Closes the channel once everything queued (pending producers too)
    /// has gone out. Reading stops.
    pub fn close_when_done(&mut self) {
        self.core.apply(Cmd::CloseWhenDone);
    }

    /// Closes the channel at the end of this callback, dropping queued
    /// output.
    pub fn close_now(&mut self) {
        self.core.apply(Cmd::CloseNow);
    }

    /// Closes the channel at the end of this callback with a reset (an
    /// abortive close, RFC 9293 section 3.10.5 "ABORT"): the socket gets
    /// `SO_LINGER` with a zero timeout, so closing it sends an RST instead
    /// of a FIN, and the peer's next read fails with `ECONNRESET` instead
    /// of seeing a clean end.
    ///
    /// Everything queued is discarded — output not yet written (bytes,
    /// file regions, producers) here, and whatever the kernel still holds
    /// unsent or unread — as is the peer's data in flight. Use it to pass
    /// a failure on: a proxy whose other side was reset or failed aborts
    /// this side, so its peer cannot take a cut-off stream for a complete
    /// one. [`on_close`](super::Handler::on_close) gets [`CloseReason::Aborted`](super::CloseReason::Aborted).
    pub fn abort(&mut self) {
        self.core.apply(Cmd::Abort);
    }

    /// Shuts down the writing half once everything queued has gone out;
    /// reading goes on.
    pub fn shutdown_write(&mut self) {
        self.core.apply(Cmd::ShutdownWrite);
    }

    /// Output bytes queued (memory chunks; each file region and producer
    /// counts 64).
    pub fn queued(&self) -> usize {
        self.core.out.queued()
    }

    /// Sets the backpressure watermarks: reading stops above `high` queued
    /// bytes and resumes at or below `low` (`low` is clamped to `high`).
    pub fn set_watermarks(&mut self, low: usize, high: usize) {
        self.core.limits.high = high;
        self.core.limits.low = low.min(high);
    }

    /// Pauses reading until [`resume_reading`](ChannelCtx::resume_reading),
    /// whatever the watermarks say; input already read still goes to the
    /// consumers. The peer's sending then stops at the kernel's buffers.
    /// Other channels and threads do the same through
    /// [`Outbox::pause_reading`].
    pub fn pause_reading(&mut self) {
        self.core.set_paused_by_request(true);
    }

    /// Resumes reading paused by [`pause_reading`](ChannelCtx::pause_reading)
    /// (it still waits for the watermark and the consumers' budget).
    pub fn resume_reading(&mut self) {
        self.core.set_paused_by_request(false);
    }

    /// Whether reading is paused on request.
    pub fn is_reading_paused(&self) -> bool {
        self.core.state.pause().request
    }

    /// Sets the idle timeout (`None`: none).
    pub fn set_idle_timeout(&mut self, t: Option<Duration>) {
        self.core.limits.idle = t;
    }

    /// Sets the read timeout: how long a partly received frame may take to
    /// complete (`None`: none).
    pub fn set_read_timeout(&mut self, t: Option<Duration>) {
        self.core.limits.read = t;
    }

    /// Sets the write timeout: how long output may wait on a full socket
    /// without progress (`None`: none).
    pub fn set_write_timeout(&mut self, t: Option<Duration>) {
        self.core.limits.write = t;
    }

    /// A handle on the reactor, for other threads.
    pub fn handle(&self) -> Handle {
        self.reactor.handle()
    }

    /// The reactor, for creating channels, timers, and reaching other
    /// channels' outboxes.
    ///
    /// It reaches this channel too, though the channel is out of the
    /// reactor's table while its callback runs:
    /// [`Reactor::outbox`](Reactor::outbox) of [`id`](ChannelCtx::id) is
    /// this channel's outbox, [`Reactor::queued`](Reactor::queued) its
    /// queued output, and [`Reactor::close`](Reactor::close) closes it when
    /// the callback returns (as [`close_now`](ChannelCtx::close_now) does).
    pub fn reactor(&mut self) -> &mut Reactor {
        let inbox = self.core.inbox(&self.reactor.shared);
        inbox.set_queued(self.core.out.queued());
        self.reactor.slab.put(self.core.id, Entry::Serviced(inbox));
        self.reactor
    }
}
