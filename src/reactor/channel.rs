//! Channels (Medusa's `async_chat`): [`Handler`], [`ChannelId`],
//! [`CloseReason`], and [`Core`], what the loop keeps per channel. The
//! channel's state machine is in [`state`](super::state), its timeouts in
//! [`deadline`](super::deadline), what a handler may do in
//! [`ctx`](super::ctx).

use std::fmt;
use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use bytes::Bytes;

use super::ChannelCtx;
use super::config::Limits;
use super::deadline::{Deadlines, Timeout};
use super::handle::{ChannelWaker, Shared};
use super::out_queue::OutQueue;
use super::outbox::{Cmd, Inbox};
use super::poller::Readiness;
use super::state::State;
use super::sys;
use crate::consume::ConsumerFifo;
use crate::produce::Producer;

/// Identifies a channel (or a listener) of one [`Reactor`](super::Reactor).
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

/// Why a channel closed; handed to [`Handler::on_close`] and to the
/// reactor's close hook ([`Reactor::on_close`](super::Reactor::on_close)).
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

/// Everything of a channel but its handler.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) id: ChannelId,
    pub(crate) sock: TcpStream,
    pub(crate) input: ConsumerFifo,
    pub(crate) out: OutQueue,
    /// Made on first use of [`ChannelCtx::outbox`](super::ChannelCtx::outbox).
    pub(crate) inbox: Option<Arc<Inbox>>,
    /// Made on first use (a producer polled, an outbox made).
    pub(crate) waker: Option<Arc<ChannelWaker>>,
    /// Phase, write half, read pauses; every transition is there.
    pub(crate) state: State,
    /// The registered interest.
    pub(crate) interest: Readiness,
    pub(crate) limits: Limits,
    pub(crate) deadlines: Deadlines,
    /// Consecutive events that matched no registered interest (a hang-up).
    pub(crate) unwanted: u8,
}

impl Core {
    pub(crate) fn new(
        id: ChannelId,
        sock: TcpStream,
        connecting: bool,
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
            state: State::new(connecting),
            interest: Readiness::NONE,
            limits,
            deadlines: Deadlines::new(now),
            unwanted: 0,
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
                self.state.pause().request,
            )));
        }
        self.inbox.clone().expect("made above")
    }

    /// Whether the channel should read now.
    pub(crate) fn reading(&self) -> bool {
        self.state.reading(self.input.wants_read())
    }

    /// The interest the channel needs now.
    pub(crate) fn wanted(&self) -> Readiness {
        self.state
            .wanted(self.input.wants_read(), self.out.has_ready())
    }

    /// Closes at the end of this turn (the first reason stays).
    pub(crate) fn close(&mut self, reason: CloseReason) {
        self.state.close(reason);
    }

    /// Applies one outbox or context command.
    pub(crate) fn apply(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Bytes(b) => self.push_bytes(b),
            Cmd::Producer(p) => self.push_producer(p),
            Cmd::Consumer(c) => {
                self.input.push_boxed(c);
                self.state.recheck = true;
            }
            Cmd::ShutdownWrite => self.state.shutdown_write(),
            Cmd::CloseWhenDone => self.state.close_when_done(),
            Cmd::CloseNow => self.close(CloseReason::Aborted),
            Cmd::Abort => {
                // The socket closes at the end of this turn, whatever
                // closes it; from now on that close sends a reset. Should
                // the option fail, it is an ordinary close: nothing better
                // is left to do.
                let _ = sys::reset_on_close(&self.sock);
                self.close(CloseReason::Aborted);
            }
            Cmd::PauseReading(h) => self.state.pause_by_request(h),
        }
    }

    /// Pauses or resumes reading on request, from the channel's context:
    /// the inbox mirrors it for [`Outbox::is_reading_paused`].
    pub(crate) fn set_paused_by_request(&mut self, paused_by_request: bool) {
        self.state.pause_by_request(paused_by_request);
        if let Some(inbox) = &self.inbox {
            inbox.set_paused_by_request(paused_by_request);
        }
    }

    pub(crate) fn push_bytes(&mut self, b: Bytes) {
        if self.state.accepts_output() {
            self.out.push_bytes(b);
        }
    }

    pub(crate) fn push_producer(&mut self, p: Box<dyn Producer + Send>) {
        if self.state.accepts_output() {
            self.out.push_producer(p);
        }
    }

    /// The head consumer's read deadline, while the channel still reads.
    fn read_deadline(&self) -> Option<Instant> {
        if self.state.is_open() {
            self.input.read_deadline()
        } else {
            None
        }
    }

    /// The earliest deadline among the active timeouts and the linger.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.next(
            &self.limits,
            self.state.linger_until(),
            self.read_deadline(),
        )
    }

    /// Which timeout has expired at `now`, if any.
    pub(crate) fn expired(&self, now: Instant) -> Option<Timeout> {
        self.deadlines
            .expired(&self.limits, self.read_deadline(), now)
    }

    /// Restarts `which` after a handler chose to keep the channel.
    pub(crate) fn restart(&mut self, which: Timeout, now: Instant) {
        self.deadlines.restart(which, now);
        if which == Timeout::Read {
            // The consumer set it and sets the next one.
            self.input.clear_read_deadline();
        }
    }
}

/// A channel: its state and its handler.
pub(crate) struct Channel {
    pub(crate) core: Core,
    pub(crate) handler: Box<dyn Handler>,
}
