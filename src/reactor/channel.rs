//! Channels (Medusa's `async_chat`): [`Handler`], [`ChannelCtx`],
//! [`ChannelId`], [`CloseReason`], and the per-channel state the loop
//! drives.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::handle::{ChannelWaker, Shared};
use super::out_queue::OutQueue;
use super::outbox::{Cmd, Inbox, Outbox};
use super::poller::Readiness;
use super::{Handle, Reactor, sys};
use crate::consume::{Consumer, ConsumerFifo};
use crate::produce::Producer;

/// Identifies a channel (or a listener) of one [`Reactor`].
///
/// Ids are reused after a close, but a reused id has a new generation, so
/// an id kept after its channel closed never reaches another channel.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl ChannelId {
    pub(crate) fn new(index: u32, generation: u32) -> ChannelId {
        ChannelId { index, generation }
    }

    /// The poller key: index and generation, so a stale event for a reused
    /// slot is recognised.
    pub(crate) fn key(self) -> usize {
        (self.index as usize) | ((self.generation as usize & 0x7fff_ffff) << 32)
    }

    pub(crate) fn from_key(key: usize) -> ChannelId {
        ChannelId {
            index: key as u32,
            generation: (key >> 32) as u32,
        }
    }
}

impl fmt::Debug for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChannelId({}.{})", self.index, self.generation)
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.index, self.generation)
    }
}

/// Which per-channel timeout fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// Nothing was read or written for the idle timeout.
    Idle,
    /// A partly received frame did not complete within the read timeout
    /// (bytes are buffered and no consumer has been handed a frame since),
    /// or the head consumer's read deadline passed
    /// ([`Control::set_read_deadline`](crate::consume::Control::set_read_deadline)).
    Read,
    /// Output waited on a full socket without any byte going out for the
    /// write timeout.
    Write,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timeout::Idle => "idle timeout",
            Timeout::Read => "read timeout",
            Timeout::Write => "write timeout",
        })
    }
}

impl From<Timeout> for io::Error {
    fn from(t: Timeout) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, t.to_string())
    }
}

/// Why a channel closed; handed to [`Handler::on_close`] and to the
/// reactor's close hook ([`Reactor::on_close`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum CloseReason {
    /// Closed when done: everything queued went out (after a close when
    /// done, or after the peer's half-close).
    Done,
    /// The handler closed it at once ([`ChannelCtx::close_now`]), or
    /// aborted it with a reset ([`ChannelCtx::abort`]).
    Aborted,
    /// The socket failed: a reset (`ECONNRESET`), a broken pipe (`EPIPE`),
    /// or a hang-up.
    Io(io::Error),
    /// A handler callback or a consumer returned this error.
    Handler(io::Error),
    /// An output producer failed with this error.
    Producer(io::Error),
    /// A handler or consumer panicked, with this message.
    Panicked(String),
    /// A timeout fired and the handler did not keep the channel.
    Timeout(Timeout),
    /// An outgoing connection could not be made.
    ConnectFailed(io::Error),
    /// The reactor's shutdown deadline passed.
    Shutdown,
}

impl CloseReason {
    /// Whether the close was an orderly one ([`Done`](CloseReason::Done) or
    /// [`Aborted`](CloseReason::Aborted) by the handler).
    pub fn is_clean(&self) -> bool {
        matches!(self, CloseReason::Done | CloseReason::Aborted)
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Done => f.write_str("closed when done"),
            CloseReason::Aborted => f.write_str("aborted by the handler"),
            CloseReason::Io(e) => write!(f, "socket error: {e}"),
            CloseReason::Handler(e) => write!(f, "handler error: {e}"),
            CloseReason::Producer(e) => write!(f, "producer error: {e}"),
            CloseReason::Panicked(m) => write!(f, "handler panicked: {m}"),
            CloseReason::Timeout(t) => write!(f, "{t}"),
            CloseReason::ConnectFailed(e) => write!(f, "connect failed: {e}"),
            CloseReason::Shutdown => f.write_str("reactor shut down"),
        }
    }
}

/// The callbacks of one channel. Every method has a default; input goes to
/// the consumers the handler queues ([`ChannelCtx::push_consumer`]), not to
/// the handler.
///
/// A callback returning an error closes the channel with
/// [`CloseReason::Handler`]; a panic closes it with
/// [`CloseReason::Panicked`]. Either way only this channel is affected.
pub trait Handler: 'static {
    /// An accepted or adopted channel is open: queue consumers, push a
    /// greeting.
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        let _ = ctx;
        Ok(())
    }

    /// An outgoing connection completed. The default calls
    /// [`on_open`](Handler::on_open).
    fn on_connect(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        self.on_open(ctx)
    }

    /// An outgoing connection failed; [`on_close`](Handler::on_close)
    /// follows with [`CloseReason::ConnectFailed`].
    fn on_connect_failed(&mut self, err: &io::Error) {
        let _ = err;
    }

    /// The peer stopped sending (its half-close); the consumers have seen
    /// the end of input. The default closes when done: queued output
    /// (pending producers included) is still delivered, then the channel
    /// closes.
    fn on_peer_closed(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        ctx.close_when_done();
        Ok(())
    }

    /// A timeout fired. The default returns the timeout as an error, which
    /// closes the channel with [`CloseReason::Timeout`]; returning `Ok`
    /// keeps it and restarts that timeout.
    fn on_timeout(&mut self, ctx: &mut ChannelCtx<'_>, which: Timeout) -> io::Result<()> {
        let _ = ctx;
        Err(which.into())
    }

    /// The reactor is shutting down gracefully. The default closes when
    /// done.
    fn on_shutdown(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        ctx.close_when_done();
        Ok(())
    }

    /// The channel closed; the socket is already deregistered.
    fn on_close(&mut self, reason: &CloseReason) {
        let _ = reason;
    }
}

/// Where a channel is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// An outgoing connect is in progress: waiting for writability.
    Connecting,
    /// Reading and writing.
    Open,
    /// Close when done was asked: no more reading; the queue drains.
    Draining,
    /// Everything went out and the writing half is shut; unread input is
    /// read and dropped until the peer's end or the deadline, so the close
    /// does not reset the connection under the peer's last bytes.
    Lingering { until: Instant },
}

/// What the writing half is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteSide {
    Open,
    /// Shut it down once the queue is empty.
    ShutWhenDone,
    /// Shut down; later pushes are dropped.
    Shut,
}

/// Per-channel limits, copied from the reactor's [`Config`](super::Config)
/// and changeable through the context.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) low: usize,
    pub(crate) high: usize,
    pub(crate) max_write: usize,
    pub(crate) read_size: usize,
    pub(crate) idle: Option<Duration>,
    pub(crate) read: Option<Duration>,
    pub(crate) write: Option<Duration>,
}

/// Everything of a channel but its handler.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) id: ChannelId,
    pub(crate) sock: TcpStream,
    pub(crate) input: ConsumerFifo,
    pub(crate) out: OutQueue,
    /// Made on first use of [`ChannelCtx::outbox`].
    pub(crate) inbox: Option<Arc<Inbox>>,
    /// Made on first use (a producer polled, an outbox made).
    pub(crate) waker: Option<Arc<ChannelWaker>>,
    pub(crate) phase: Phase,
    pub(crate) write_side: WriteSide,
    /// Backpressure: reading stopped because queued output passed the high
    /// watermark; resumes under the low one.
    pub(crate) paused: bool,
    /// Reading paused on request ([`ChannelCtx::pause_reading`],
    /// [`Outbox::pause_reading`]) until resumed.
    pub(crate) paused_by_request: bool,
    /// The registered interest.
    pub(crate) interest: Readiness,
    /// Set when the channel must close at the end of this turn.
    pub(crate) close: Option<CloseReason>,
    pub(crate) limits: Limits,
    /// The last read or write.
    pub(crate) last_io: Instant,
    /// Since when a partial frame has waited without a frame being handed
    /// on (read timeout base); `None` while nothing is buffered.
    pub(crate) frame_since: Option<Instant>,
    /// The input offset at the last check of `frame_since`.
    pub(crate) last_offset: u64,
    /// Since when output has waited on a full socket (write timeout base).
    pub(crate) blocked_since: Option<Instant>,
    /// The deadline of this channel's one live timer entry.
    pub(crate) timer_at: Option<Instant>,
    /// Consecutive events that matched no registered interest (a hang-up).
    pub(crate) unwanted: u8,
    /// Something happened that may let the consumers take input they left
    /// buffered: a wake-up, a consumer queued, reading resumed after a
    /// pause. The loop hands the buffered input on again before the
    /// channel's turn ends.
    pub(crate) recheck: bool,
}

impl Core {
    pub(crate) fn new(
        id: ChannelId,
        sock: TcpStream,
        phase: Phase,
        limits: Limits,
        budget: usize,
        now: Instant,
    ) -> Core {
        Core {
            id,
            sock,
            input: ConsumerFifo::with_budget(budget),
            out: OutQueue::default(),
            inbox: None,
            waker: None,
            phase,
            write_side: WriteSide::Open,
            paused: false,
            paused_by_request: false,
            interest: Readiness::NONE,
            close: None,
            limits,
            last_io: now,
            frame_since: None,
            last_offset: 0,
            blocked_since: None,
            timer_at: None,
            unwanted: 0,
            recheck: false,
        }
    }

    pub(crate) fn waker(&mut self, shared: &Arc<Shared>) -> Waker {
        let w = self
            .waker
            .get_or_insert_with(|| Arc::new(ChannelWaker::new(shared.clone(), self.id)));
        Waker::from(w.clone())
    }

    pub(crate) fn inbox(&mut self, shared: &Arc<Shared>) -> Arc<Inbox> {
        if self.inbox.is_none() {
            let w = self.waker(shared);
            let l = &self.limits;
            self.inbox = Some(Arc::new(Inbox::new(
                self.id,
                w,
                l.low,
                l.high,
                self.paused_by_request,
            )));
        }
        self.inbox.clone().expect("made above")
    }

    /// Whether the channel should read now.
    pub(crate) fn reading(&self) -> bool {
        self.phase == Phase::Open
            && !self.paused
            && !self.paused_by_request
            && self.close.is_none()
            && self.input.wants_read()
    }

    /// Whether input already buffered may be handed to the consumers now:
    /// open and not paused (unlike [`reading`](Core::reading), a full input
    /// budget does not matter).
    pub(crate) fn processing(&self) -> bool {
        self.phase == Phase::Open && !self.paused && !self.paused_by_request && self.close.is_none()
    }

    /// The interest the channel needs now.
    pub(crate) fn wanted(&self) -> Readiness {
        match self.phase {
            Phase::Connecting => Readiness::WRITE,
            Phase::Lingering { .. } => Readiness::READ,
            Phase::Open | Phase::Draining => Readiness::new(self.reading(), self.out.has_ready()),
        }
    }

    /// Applies one outbox or context command.
    pub(crate) fn apply(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Bytes(b) => self.push_bytes(b),
            Cmd::Producer(p) => self.push_producer(p),
            Cmd::Consumer(c) => {
                self.input.push_boxed(c);
                self.recheck = true;
            }
            Cmd::ShutdownWrite => {
                if self.write_side == WriteSide::Open {
                    self.write_side = WriteSide::ShutWhenDone;
                }
            }
            Cmd::CloseWhenDone => {
                if self.phase == Phase::Open {
                    self.phase = Phase::Draining;
                }
            }
            Cmd::CloseNow => {
                self.close.get_or_insert(CloseReason::Aborted);
            }
            Cmd::Abort => {
                // The socket closes at the end of this turn, whatever
                // closes it; from now on that close sends a reset. Should
                // the option fail, it is an ordinary close: nothing better
                // is left to do.
                let _ = sys::reset_on_close(&self.sock);
                self.close.get_or_insert(CloseReason::Aborted);
            }
            Cmd::PauseReading(h) => self.pause_by_request(h),
        }
    }

    /// Pauses or resumes reading on request; a resume hands buffered input
    /// on again.
    fn pause_by_request(&mut self, paused_by_request: bool) {
        if self.paused_by_request && !paused_by_request {
            self.recheck = true;
        }
        self.paused_by_request = paused_by_request;
    }

    /// Pauses or resumes reading on request, from the channel's context.
    fn set_paused_by_request(&mut self, paused_by_request: bool) {
        self.pause_by_request(paused_by_request);
        if let Some(inbox) = &self.inbox {
            inbox.set_paused_by_request(paused_by_request);
        }
    }

    fn accepts_output(&self) -> bool {
        self.write_side == WriteSide::Open && self.close.is_none()
    }

    pub(crate) fn push_bytes(&mut self, b: Bytes) {
        if self.accepts_output() {
            self.out.push_bytes(b);
        }
    }

    pub(crate) fn push_producer(&mut self, p: Box<dyn Producer + Send>) {
        if self.accepts_output() {
            self.out.push_producer(p);
        }
    }

    /// Backpressure after output was queued: stop reading above the high
    /// watermark.
    pub(crate) fn check_high(&mut self) -> bool {
        if !self.paused && self.out.queued() > self.limits.high {
            self.paused = true;
            return true;
        }
        false
    }

    /// Backpressure after output went out: read again under the low one,
    /// and hand on the input the consumers left buffered meanwhile.
    pub(crate) fn check_low(&mut self) {
        if self.paused && self.out.queued() <= self.limits.low {
            self.paused = false;
            self.recheck = true;
        }
    }

    /// Tracks read-timeout progress after input was processed.
    pub(crate) fn track_frames(&mut self, now: Instant) {
        if self.input.buffered() == 0 {
            self.frame_since = None;
        } else if self.input.offset() != self.last_offset || self.frame_since.is_none() {
            self.frame_since = Some(now);
        }
        self.last_offset = self.input.offset();
    }

    /// The head consumer's read deadline, while the channel still reads.
    fn read_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Open => self.input.read_deadline(),
            _ => None,
        }
    }

    /// The earliest deadline among the active timeouts and the linger.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let l = &self.limits;
        let linger = match self.phase {
            Phase::Lingering { until } => Some(until),
            _ => None,
        };
        [
            linger,
            l.idle.map(|d| self.last_io + d),
            l.read.zip(self.frame_since).map(|(d, t)| t + d),
            self.read_deadline(),
            l.write.zip(self.blocked_since).map(|(d, t)| t + d),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Which timeout has expired at `now`, if any.
    pub(crate) fn expired(&self, now: Instant) -> Option<Timeout> {
        let l = &self.limits;
        if l.write
            .zip(self.blocked_since)
            .is_some_and(|(d, t)| now >= t + d)
        {
            Some(Timeout::Write)
        } else if l
            .read
            .zip(self.frame_since)
            .is_some_and(|(d, t)| now >= t + d)
            || self.read_deadline().is_some_and(|t| now >= t)
        {
            Some(Timeout::Read)
        } else if l.idle.is_some_and(|d| now >= self.last_io + d) {
            Some(Timeout::Idle)
        } else {
            None
        }
    }

    /// Restarts `which` after a handler chose to keep the channel.
    pub(crate) fn restart(&mut self, which: Timeout, now: Instant) {
        match which {
            Timeout::Idle => self.last_io = now,
            Timeout::Read => {
                self.frame_since = self.frame_since.map(|_| now);
                // The consumer set it and sets the next one.
                self.input.clear_read_deadline();
            }
            Timeout::Write => self.blocked_since = self.blocked_since.map(|_| now),
        }
    }
}

/// A channel: its state and its handler.
pub(crate) struct Channel {
    pub(crate) core: Core,
    pub(crate) handler: Box<dyn Handler>,
}

/// What a [`Handler`] callback can do to its channel and its reactor.
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
            .field("phase", &self.core.phase)
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
        self.core.recheck = true;
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
    /// one. [`on_close`](Handler::on_close) gets [`CloseReason::Aborted`].
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
        self.core.paused_by_request
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
    pub fn reactor(&mut self) -> &mut Reactor {
        self.reactor
    }
}
