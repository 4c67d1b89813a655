//! [`Control`]: what a consumer asks of the consumer FIFO from inside a
//! callback.

use std::fmt;
use std::time::Instant;

use super::{Consumer, Framing, Terminator};

/// Handed to every [`Consumer`] callback: the consumer changes its
/// terminator, queues a follow-up consumer, or says it is done. The FIFO
/// applies the requests when the callback returns, before the next byte is
/// framed, so they apply to bytes already buffered.
pub struct Control {
    /// A framing change requested by the callback.
    change: Option<Change>,
    /// Whether the callback said the consumer is done.
    done: bool,
    /// Consumers to run right after this one, in order.
    next: Vec<Box<dyn Consumer + Send>>,
    /// The stream offset just after the bytes handed to the callback.
    offset: u64,
    /// Whether the callback asked the FIFO to hold its input for now.
    hold: bool,
    /// A new read deadline asked for (`Some(None)` clears it).
    deadline: Option<Option<Instant>>,
    /// Whether anything above was asked since the FIFO last looked: one
    /// test per frame on the FIFO's fast path.
    asked: bool,
}

/// A framing change requested through [`Control`].
#[derive(Debug)]
pub(crate) enum Change {
    Terminator(Terminator),
    Framing(Framing),
}

impl Control {
    pub(crate) fn new() -> Control {
        Control {
            change: None,
            done: false,
            next: Vec::new(),
            offset: 0,
            hold: false,
            deadline: None,
            asked: false,
        }
    }

    /// Changes the terminator, keeping the delivery (whole frames or
    /// pieces) and limits (Medusa's `set_terminator`). It applies from the
    /// current position: to the bytes just after this frame, already
    /// buffered or not.
    pub fn set_terminator(&mut self, terminator: impl Into<Terminator>) {
        self.change = Some(Change::Terminator(terminator.into()));
        self.asked = true;
    }

    /// Changes the framing (delivery, limits and terminator) from the
    /// current position.
    pub fn set_framing(&mut self, framing: Framing) {
        self.change = Some(Change::Framing(framing));
        self.asked = true;
    }

    /// This consumer is done: the bytes after what it was handed go to the
    /// next consumer in the FIFO.
    pub fn done(&mut self) {
        self.done = true;
        self.asked = true;
    }

    /// This consumer is paused: it takes no more input for now and will
    /// take what is buffered later, once whatever paused it (a cap on work
    /// in flight, a full output queue) lets it go on. The FIFO stops
    /// handing input on until the next [`process`](super::ConsumerFifo::process)
    /// — its owner calls it again after the wake-up that ends the pause
    /// (the reactor does on any wake-up of the channel).
    ///
    /// While held, a full input budget is not an error (reading just
    /// stops), and the end of input waits: [`eof`](super::ConsumerFifo::eof)
    /// leaves the FIFO [ending](super::ConsumerFifo::is_ending) until a
    /// later `process` finds the consumer no longer holding, so buffered
    /// requests are still answered after the peer's half-close.
    pub fn hold(&mut self) {
        self.hold = true;
        self.asked = true;
    }

    /// Sets (or with `None` clears) the time by which this consumer
    /// expects more of its input: a request head that must complete, a
    /// body that must keep a minimum rate. The FIFO keeps it
    /// ([`ConsumerFifo::read_deadline`](super::ConsumerFifo::read_deadline))
    /// until changed, or until this consumer is done; the reactor reports
    /// [`Timeout::Read`](crate::reactor::Timeout) to the channel's handler
    /// when it passes. Bytes that arrive do not move it: only the consumer
    /// does, so input that is not progress (empty lines, a trickle) cannot
    /// keep a connection alive.
    pub fn set_read_deadline(&mut self, at: Option<Instant>) {
        self.deadline = Some(at);
        self.asked = true;
    }

    /// Queues `consumer` to run right after this one (after those queued
    /// by earlier calls), ahead of consumers already in the FIFO.
    pub fn then(&mut self, consumer: impl Consumer + Send + 'static) {
        self.next.push(Box::new(consumer));
        self.asked = true;
    }

    /// Like [`then`](Control::then), for a consumer already boxed.
    pub fn then_boxed(&mut self, consumer: Box<dyn Consumer + Send>) {
        self.next.push(consumer);
        self.asked = true;
    }

    /// The stream offset just after the bytes handed to this callback (for
    /// error reports).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    #[inline]
    pub(crate) fn set_offset(&mut self, offset: u64) {
        self.offset = offset;
    }

    /// Whether a callback asked anything since the last
    /// [`take_asked`](Control::take_asked).
    #[inline]
    pub(crate) fn asked(&self) -> bool {
        self.asked
    }

    /// Whether a callback asked anything since the last
    /// [`take_asked`](Control::take_asked); cleared by it.
    #[inline]
    pub(crate) fn take_asked(&mut self) -> bool {
        std::mem::take(&mut self.asked)
    }

    pub(crate) fn take_change(&mut self) -> Option<Change> {
        self.change.take()
    }

    pub(crate) fn take_hold(&mut self) -> bool {
        std::mem::take(&mut self.hold)
    }

    pub(crate) fn take_deadline(&mut self) -> Option<Option<Instant>> {
        self.deadline.take()
    }

    pub(crate) fn take_done(&mut self) -> bool {
        std::mem::take(&mut self.done)
    }

    pub(crate) fn take_next(&mut self) -> std::vec::Drain<'_, Box<dyn Consumer + Send>> {
        self.next.drain(..)
    }

    pub(crate) fn has_next(&self) -> bool {
        !self.next.is_empty()
    }
}

impl fmt::Debug for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Control")
            .field("change", &self.change)
            .field("done", &self.done)
            .field("next", &self.next.len())
            .field("offset", &self.offset)
            .field("hold", &self.hold)
            .field("deadline", &self.deadline)
            .field("asked", &self.asked)
            .finish()
    }
}
