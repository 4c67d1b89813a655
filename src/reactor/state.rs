//! A channel's state and every transition of it, with no socket in sight:
//! the loop ([`service`](super::service), [`checkout`](super::checkout))
//! calls one method per event and does the I/O the method asks for.
//!
//! # What is a state and what is not
//!
//! - [`Phase`] is the state proper: where the channel is in its life. The
//!   close that ends a turn is a phase ([`Phase::Closing`], carrying its
//!   reason), not a flag beside one: nothing reads, writes or changes phase
//!   once it is set.
//! - [`WriteHalf`] is orthogonal while the channel can still write
//!   (`Connecting`, `Open`, `Draining`): shutting our writing half is
//!   independent of whether we still read or are draining to a close
//!   (`shutdown_write` keeps reading; `close_when_done` keeps the half open
//!   until the queue is empty). Entering `Lingering` shuts it.
//! - [`ReadPause`] is two independent reasons not to read: the output
//!   queue above its high watermark (lifted at the low one) and an explicit
//!   request ([`ChannelCtx::pause_reading`](super::ChannelCtx::pause_reading),
//!   [`Outbox::pause_reading`](super::Outbox::pause_reading), `forward`).
//!   Different parties set them, either can hold alone, each is lifted on
//!   its own, and both outlive a phase change (a pause asked during
//!   `Connecting` holds once `Open`); they matter only while `Open`.
//! - `recheck` is not a state but a to-do bit for the current turn:
//!   something happened that may let the consumers take input they left
//!   buffered (a consumer queued, a pause lifted, a wake-up), so the drive
//!   that ends the turn offers it again. It outlives the turn only when the
//!   turn's budget ran out, and then a self-wake brings the channel back.
//! - The peer's end of input is the consumer FIFO's state
//!   ([`ConsumerFifo::is_ending`](crate::ConsumerFifo::is_ending) while a
//!   consumer still holds input sent before it, then
//!   [`is_ended`](crate::ConsumerFifo::is_ended)), passed in where a
//!   transition depends on it rather than copied here.
//!
//! # The table
//!
//! | phase | event | next | I/O asked for |
//! |---|---|---|---|
//! | `Connecting` | connected | `Open` | `on_connect` |
//! | `Connecting` | connect failed | `Closing(ConnectFailed)` | `on_connect_failed` |
//! | `Connecting` | close when done | `Connecting` (ignored) | |
//! | `Open` | close when done | `Draining` | reading stops |
//! | `Open` | peer EOF | `Open` (FIFO ending or ended) | `on_peer_closed` once no consumer holds input |
//! | `Open`, `Draining` | queue empty, write half `ShutWhenDone` | same, write half `Shut` | `shutdown(Write)` |
//! | `Draining` | queue empty, input ended | `Closing(Done)` | |
//! | `Draining` | queue empty, input not ended | `Lingering { until: now + linger }`, write half `Shut` | `shutdown(Write)`, read and drop |
//! | `Lingering` | read EOF or error | `Closing(Done)` | |
//! | `Lingering` | `until` passed | `Closing(Done)` | |
//! | any but `Closing`, `Closed` | close now, abort, error, timeout, shutdown deadline | `Closing(reason)` | |
//! | `Closing(r)` | any close | `Closing(r)`: the first reason stays | |
//! | any | panic | `Closing(Panicked)`, replacing a reason set before | |
//! | `Closing(r)` | turn ends | `Closed` | deregister, `on_close(r)` |
//!
//! Interest follows from the state alone ([`State::wanted`]): `Connecting`
//! wants writability; `Open` wants to read while not paused and the FIFO
//! wants input, and to write while a chunk is ready; `Draining` only the
//! latter; `Lingering` wants to read (and drop); `Closing` and `Closed`
//! nothing.

use std::time::Instant;

use super::CloseReason;
use super::poller::Readiness;

/// Where a channel is in its life.
#[derive(Debug)]
pub(crate) enum Phase {
    /// An outgoing connect is in progress: waiting for writability.
    Connecting,
    /// Reading and writing.
    Open,
    /// Close when done was asked: no more reading; the queue drains.
    Draining,
    /// Everything went out and the writing half is shut; unread input is
    /// read and dropped until the peer's end or `until`, so the close does
    /// not reset the connection under the peer's last bytes.
    Lingering { until: Instant },
    /// The channel closes at the end of this turn, for this reason.
    Closing(CloseReason),
    /// Closed: the reason was handed to the handler.
    Closed,
}

/// What the writing half is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteHalf {
    Open,
    /// Shut it down once the queue is empty.
    ShutWhenDone,
    /// Shut down; later pushes are dropped.
    Shut,
}

/// Why reading is paused; see the [module docs](self) on why these are
/// two independent flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ReadPause {
    /// Queued output passed the high watermark; lifted at the low one.
    pub(crate) watermark: bool,
    /// Paused on request until resumed.
    pub(crate) request: bool,
}

impl ReadPause {
    fn any(self) -> bool {
        self.watermark || self.request
    }
}

/// What the loop must do after the queue emptied
/// ([`State::queue_empty`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AfterDrain {
    /// Shut the socket's writing half.
    pub(crate) shut_write: bool,
    /// Read and drop what the peer still sends (now `Lingering`).
    pub(crate) linger: bool,
}

/// A channel's state; see the [module docs](self) for the table.
#[derive(Debug)]
pub(crate) struct State {
    phase: Phase,
    write: WriteHalf,
    pause: ReadPause,
    /// Buffered input must be offered to the consumers again before the
    /// turn ends.
    pub(crate) recheck: bool,
}

impl State {
    /// A channel being connected (`connecting`) or already open.
    pub(crate) fn new(connecting: bool) -> State {
        State {
            phase: if connecting {
                Phase::Connecting
            } else {
                Phase::Open
            },
            write: WriteHalf::Open,
            pause: ReadPause::default(),
            recheck: false,
        }
    }

    pub(crate) fn phase(&self) -> &Phase {
        &self.phase
    }

    pub(crate) fn write_half(&self) -> WriteHalf {
        self.write
    }

    pub(crate) fn pause(&self) -> ReadPause {
        self.pause
    }

    // ----- derived predicates -----

    pub(crate) fn is_connecting(&self) -> bool {
        matches!(self.phase, Phase::Connecting)
    }

    pub(crate) fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open)
    }

    pub(crate) fn is_lingering(&self) -> bool {
        matches!(self.phase, Phase::Lingering { .. })
    }

    pub(crate) fn is_closing(&self) -> bool {
        matches!(self.phase, Phase::Closing(_) | Phase::Closed)
    }

    /// Whether input already buffered may be handed to the consumers:
    /// open and not paused.
    pub(crate) fn processing(&self) -> bool {
        self.is_open() && !self.pause.any()
    }

    /// Whether to read now, given whether the consumer FIFO wants input.
    pub(crate) fn reading(&self, fifo_wants_read: bool) -> bool {
        self.processing() && fifo_wants_read
    }

    /// Whether queued output is written: open or draining.
    pub(crate) fn flushing(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::Draining)
    }

    /// Whether pushed output is queued (else it is dropped).
    pub(crate) fn accepts_output(&self) -> bool {
        self.write == WriteHalf::Open && !self.is_closing()
    }

    /// The interest the channel needs, given whether the FIFO wants input
    /// and whether a chunk is ready to write.
    pub(crate) fn wanted(&self, fifo_wants_read: bool, has_ready: bool) -> Readiness {
        match self.phase {
            Phase::Connecting => Readiness::WRITE,
            Phase::Lingering { .. } => Readiness::READ,
            Phase::Open | Phase::Draining => {
                Readiness::new(self.reading(fifo_wants_read), has_ready)
            }
            Phase::Closing(_) | Phase::Closed => Readiness::NONE,
        }
    }

    /// The linger deadline, while lingering.
    pub(crate) fn linger_until(&self) -> Option<Instant> {
        match self.phase {
            Phase::Lingering { until } => Some(until),
            _ => None,
        }
    }

    // ----- transitions -----

    /// `Connecting` → `Open`.
    pub(crate) fn connected(&mut self) {
        if self.is_connecting() {
            self.phase = Phase::Open;
        }
    }

    /// `Open` → `Draining`; ignored in any other phase.
    pub(crate) fn close_when_done(&mut self) {
        if self.is_open() {
            self.phase = Phase::Draining;
        }
    }

    /// → `Closing(reason)`, unless already closing (the first reason
    /// stays).
    pub(crate) fn close(&mut self, reason: CloseReason) {
        if !self.is_closing() {
            self.phase = Phase::Closing(reason);
        }
    }

    /// → `Closing(reason)` whatever was set before: a panic, after which
    /// the state the earlier reason described may be broken.
    pub(crate) fn fail(&mut self, reason: CloseReason) {
        self.phase = Phase::Closing(reason);
    }

    /// `Closing(reason)` → `Closed`, returning the reason.
    pub(crate) fn take_close(&mut self) -> Option<CloseReason> {
        if !matches!(self.phase, Phase::Closing(_)) {
            return None;
        }
        match std::mem::replace(&mut self.phase, Phase::Closed) {
            Phase::Closing(reason) => Some(reason),
            _ => unreachable!("checked above"),
        }
    }

    /// Write half `Open` → `ShutWhenDone`.
    pub(crate) fn shutdown_write(&mut self) {
        if self.write == WriteHalf::Open {
            self.write = WriteHalf::ShutWhenDone;
        }
    }

    /// Pauses or resumes reading on request; a resume re-offers buffered
    /// input.
    pub(crate) fn pause_by_request(&mut self, paused: bool) {
        if self.pause.request && !paused {
            self.recheck = true;
        }
        self.pause.request = paused;
    }

    /// Output was queued: pause reading above the high watermark. True if
    /// this paused it.
    pub(crate) fn output_grew(&mut self, queued: usize, high: usize) -> bool {
        if !self.pause.watermark && queued > high {
            self.pause.watermark = true;
            return true;
        }
        false
    }

    /// Output went out: read again at or below the low watermark, and
    /// re-offer what the consumers left buffered meanwhile.
    pub(crate) fn output_shrank(&mut self, queued: usize, low: usize) {
        if self.pause.watermark && queued <= low {
            self.pause.watermark = false;
            self.recheck = true;
        }
    }

    /// The queue emptied (everything written, no producer left): finish a
    /// shutdown or a close that waited for it. `input_ended`: the peer's end
    /// was read and taken; `until`: the linger deadline should lingering
    /// start.
    pub(crate) fn queue_empty(&mut self, input_ended: bool, until: Instant) -> AfterDrain {
        let mut after = AfterDrain::default();
        if self.write == WriteHalf::ShutWhenDone {
            self.write = WriteHalf::Shut;
            after.shut_write = true;
        }
        if matches!(self.phase, Phase::Draining) {
            if input_ended {
                self.phase = Phase::Closing(CloseReason::Done);
            } else {
                // Lingering close: FIN first, then drop what the peer still
                // sends until its FIN, so our close does not turn into a
                // reset that destroys the last bytes in flight.
                self.write = WriteHalf::Shut;
                self.phase = Phase::Lingering { until };
                after = AfterDrain {
                    shut_write: true,
                    linger: true,
                };
            }
        }
        after
    }

    /// While lingering, the peer's end (or an error) was read: nothing can
    /// still be lost. `Lingering` → `Closing(Done)`.
    pub(crate) fn peer_gone(&mut self) {
        if self.is_lingering() {
            self.phase = Phase::Closing(CloseReason::Done);
        }
    }

    /// The reactor's shutdown deadline passed: a lingering channel has
    /// delivered everything (`Closing(Done)`); any other closes with
    /// `Shutdown` (the first reason stays).
    pub(crate) fn shutdown_deadline(&mut self) {
        if self.is_lingering() {
            self.phase = Phase::Closing(CloseReason::Done);
        } else {
            self.close(CloseReason::Shutdown);
        }
    }

    /// `Lingering` → `Closing(Done)` once `until` has passed; true if so.
    pub(crate) fn linger_expired(&mut self, now: Instant) -> bool {
        if self.linger_until().is_some_and(|until| now >= until) {
            self.phase = Phase::Closing(CloseReason::Done);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::time::Duration;

    fn open() -> State {
        State::new(false)
    }

    fn reason(s: &mut State) -> Option<String> {
        s.take_close().map(|r| format!("{r:?}"))
    }

    #[test]
    fn close_when_done_with_an_empty_queue_drains_then_lingers() {
        let mut s = open();
        s.close_when_done();
        assert!(matches!(s.phase(), Phase::Draining));
        assert!(!s.reading(true) && s.flushing() && s.accepts_output());
        let until = Instant::now() + Duration::from_secs(2);
        let after = s.queue_empty(false, until);
        assert!(after.shut_write && after.linger);
        assert_eq!(s.linger_until(), Some(until));
        assert_eq!(s.write_half(), WriteHalf::Shut);
        assert!(!s.accepts_output() && !s.flushing());
        assert_eq!(s.wanted(true, true), Readiness::READ);
        assert!(!s.linger_expired(until - Duration::from_millis(1)));
        s.peer_gone();
        assert_eq!(reason(&mut s).as_deref(), Some("Done"));
        assert!(matches!(s.phase(), Phase::Closed));
        assert_eq!(reason(&mut s), None, "closed once");
    }

    #[test]
    fn a_drained_close_after_the_peer_ended_closes_at_once() {
        let mut s = open();
        s.close_when_done();
        assert_eq!(s.queue_empty(true, Instant::now()), AfterDrain::default());
        assert_eq!(reason(&mut s).as_deref(), Some("Done"));
    }

    #[test]
    fn lingering_ends_at_its_deadline() {
        let mut s = open();
        s.close_when_done();
        let until = Instant::now();
        s.queue_empty(false, until);
        assert!(s.linger_expired(until));
        assert_eq!(reason(&mut s).as_deref(), Some("Done"));
    }

    #[test]
    fn the_shutdown_deadline_closes_a_lingering_channel_as_done() {
        let mut s = open();
        s.close_when_done();
        s.queue_empty(false, Instant::now() + Duration::from_secs(2));
        s.shutdown_deadline();
        assert_eq!(reason(&mut s).as_deref(), Some("Done"));
        let mut s = open();
        s.shutdown_deadline();
        assert_eq!(reason(&mut s).as_deref(), Some("Shutdown"));
    }

    #[test]
    fn an_empty_queue_while_open_only_finishes_a_write_shutdown() {
        let mut s = open();
        assert_eq!(s.queue_empty(false, Instant::now()), AfterDrain::default());
        assert!(s.is_open());
        s.shutdown_write();
        assert_eq!(s.write_half(), WriteHalf::ShutWhenDone);
        assert!(!s.accepts_output(), "pushes after a shutdown are dropped");
        assert!(s.reading(true), "reading goes on");
        let after = s.queue_empty(false, Instant::now());
        assert!(after.shut_write && !after.linger);
        assert_eq!(s.write_half(), WriteHalf::Shut);
        assert!(s.is_open());
        // Shut once: the next empty queue asks for nothing.
        assert_eq!(s.queue_empty(false, Instant::now()), AfterDrain::default());
    }

    #[test]
    fn a_peer_end_while_a_consumer_holds_input_keeps_the_channel_open() {
        // The FIFO is ending (it wants no more input) but the handler has
        // not closed: the channel stays open, writes, and reads nothing.
        let mut s = open();
        assert_eq!(s.wanted(false, true), Readiness::WRITE);
        assert!(s.processing(), "held input can still be taken");
        // The handler's default `on_peer_closed` then closes when done.
        s.close_when_done();
        assert!(!s.processing());
        assert_eq!(s.queue_empty(true, Instant::now()), AfterDrain::default());
        assert_eq!(reason(&mut s).as_deref(), Some("Done"));
    }

    #[test]
    fn connecting_wants_writability_and_ignores_close_when_done() {
        let mut s = State::new(true);
        assert_eq!(s.wanted(true, true), Readiness::WRITE);
        assert!(!s.flushing() && !s.processing());
        s.close_when_done();
        assert!(s.is_connecting());
        s.pause_by_request(true);
        s.connected();
        assert!(s.is_open());
        assert!(!s.reading(true), "a pause asked while connecting holds");
        s.pause_by_request(false);
        assert!(s.recheck && s.reading(true));
    }

    #[test]
    fn the_first_close_reason_stays_and_a_panic_replaces_it() {
        let mut s = open();
        s.close(CloseReason::Aborted);
        s.close(CloseReason::Io(io::ErrorKind::BrokenPipe.into()));
        s.close_when_done();
        assert!(matches!(s.phase(), Phase::Closing(CloseReason::Aborted)));
        assert!(!s.accepts_output() && !s.flushing() && !s.processing());
        assert_eq!(s.wanted(true, true), Readiness::NONE);
        s.fail(CloseReason::Panicked("boom".into()));
        assert!(reason(&mut s).unwrap().starts_with("Panicked"));
    }

    #[test]
    fn the_two_pauses_are_independent() {
        let mut s = open();
        assert!(s.output_grew(11, 10));
        assert!(!s.output_grew(12, 10), "paused once");
        s.pause_by_request(true);
        assert!(s.pause().watermark && s.pause().request);
        s.output_shrank(5, 5);
        assert!(s.recheck && !s.processing(), "the request still holds");
        s.recheck = false;
        s.pause_by_request(false);
        assert!(s.recheck && s.processing());
        assert_eq!(s.wanted(true, false), Readiness::READ);
        assert_eq!(s.wanted(false, false), Readiness::NONE);
        assert!(!s.output_grew(10, 10), "at the mark is not above it");
    }
}
