//! [`ConsumerFifo`]: a queue of consumers over one input buffer, with an
//! input budget.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read};
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::control::Change;
use super::{
    AtEof, ConsumeError, Consumer, Control, FrameError, Framer, Framing, Overflow, WholeFrames,
};

/// The default input budget of a [`ConsumerFifo`]: 128 KiB, twice the
/// default maximum frame, so a default whole frame and its delimiter always
/// fit.
pub const DEFAULT_INPUT_BUDGET: usize = 128 * 1024;

/// The most [`ConsumerFifo::read_from`] reads in one call: 16 KiB.
pub const MAX_READ_FROM: usize = 16 * 1024;

/// The default [re-arm limit](ConsumerFifo::set_rearm_limit) of a
/// [`ConsumerFifo`]: 1024 callbacks in a row that consume no byte.
///
/// Generous: legitimate empty frames come one per request or so (a
/// `Count(0)` body after each header block, which consumes bytes), never
/// a thousand in a row.
pub const DEFAULT_REARM_LIMIT: u32 = 1024;

/// A queue of [`Consumer`]s over one connection's input.
///
/// The reader appends what it reads to the FIFO's buffer ([`feed`], or
/// [`read_buf`]/[`read_from`] to read straight into it) and calls
/// [`process`]; the head consumer is handed frames until it is done, then
/// the rest of the buffered bytes go to the next consumer — split off the
/// same buffer, never copied, never lost. Consumers can be queued at any
/// time, from outside ([`push`]) or from a callback ([`Control::then`]).
///
/// # Input budget
///
/// The buffered bytes never exceed the budget ([`DEFAULT_INPUT_BUDGET`],
/// [`set_budget`]) as long as the reader reads at most [`room`] bytes at a
/// time ([`feed`] and [`read_from`] do). [`wants_read`] is false while the
/// budget is full, so the reader stops reading until the consumers catch
/// up: input backpressure. A head consumer that cannot progress with the
/// budget full fails with [`FrameError::BudgetExceeded`]; raise the budget
/// above any whole frame a consumer may need (`max` plus its delimiter).
///
/// # End and errors
///
/// [`eof`] frames what is left, hands the head consumer its unfinished
/// frame ([`Consumer::on_eof`]) and tells every queued consumer the input
/// ended. A consumer that [holds](Control::hold) its input (paused until a
/// wake-up) defers the end: the FIFO is [ending](ConsumerFifo::is_ending)
/// until a later [`process`] finds it taking input again, so nothing
/// buffered before the end is lost to a pause. An error from a consumer or
/// the framing is returned once; the
/// FIFO is then failed: it wants no more reads and drops its consumers.
///
/// # Progress
///
/// The end is sticky: once it is taken (the close completed an
/// until-close frame, or a consumer was handed its [`Eof`](super::Eof)),
/// no consumer gets another frame, whatever terminator it sets. And every
/// call ([`feed`], [`process`], [`eof`]) guards against a consumer that
/// keeps being called without making progress: more than the
/// [re-arm limit](ConsumerFifo::set_rearm_limit) ([`DEFAULT_REARM_LIMIT`])
/// callbacks in a row that consume no byte and retire no consumer fail the
/// FIFO with [`FrameError::NoProgress`], so the caller — a reactor's one
/// thread — always gets control back. A `Count(0)` body per pipelined
/// request is progress (its header consumed bytes); a consumer re-arming
/// `Count(0)` on every frame is not.
///
/// [`feed`]: ConsumerFifo::feed
/// [`read_buf`]: ConsumerFifo::read_buf
/// [`read_from`]: ConsumerFifo::read_from
/// [`process`]: ConsumerFifo::process
/// [`push`]: ConsumerFifo::push
/// [`set_budget`]: ConsumerFifo::set_budget
/// [`room`]: ConsumerFifo::room
/// [`wants_read`]: ConsumerFifo::wants_read
/// [`eof`]: ConsumerFifo::eof
pub struct ConsumerFifo {
    /// Bytes read and not yet handed on; its first byte is at stream offset
    /// `framer.offset()`.
    buf: BytesMut,
    queue: VecDeque<Box<dyn Consumer + Send>>,
    /// Frames `buf` for the head consumer.
    framer: Framer,
    /// Whether the head's framing is loaded into `framer`; false when the
    /// head changed since.
    armed: bool,
    ctl: Control,
    budget: usize,
    phase: Phase,
    /// The head asked to hold ([`Control::hold`]) in the current run.
    held: bool,
    /// The head consumer's read deadline ([`Control::set_read_deadline`]).
    read_deadline: Option<Instant>,
    /// The most callbacks in a row without progress in one call.
    rearm_limit: u32,
    /// Callbacks in a row, in the current call, that consumed no byte and
    /// retired no consumer; at most `rearm_limit`.
    idle: u32,
}

/// Where the FIFO is in the life of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading.
    Open,
    /// The input ended while a consumer held buffered bytes: no more
    /// reading; `process` goes on handing them over, then ends.
    Ending,
    /// The end of input was handled.
    Ended,
    /// An error was returned; nothing more happens.
    Failed,
}

impl Default for ConsumerFifo {
    fn default() -> Self {
        ConsumerFifo::new()
    }
}

impl ConsumerFifo {
    /// An empty FIFO with the default budget.
    pub fn new() -> ConsumerFifo {
        ConsumerFifo::with_budget(DEFAULT_INPUT_BUDGET)
    }

    /// An empty FIFO whose buffered input never exceeds `budget` bytes
    /// (at least 1).
    pub fn with_budget(budget: usize) -> ConsumerFifo {
        ConsumerFifo {
            buf: BytesMut::new(),
            queue: VecDeque::new(),
            framer: Framer::new(Framing::Raw),
            armed: false,
            ctl: Control::new(),
            budget: budget.max(1),
            phase: Phase::Open,
            held: false,
            read_deadline: None,
            rearm_limit: DEFAULT_REARM_LIMIT,
            idle: 0,
        }
    }

    /// The input budget.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Changes the input budget (at least 1). Bytes already buffered over a
    /// lowered budget stay; [`wants_read`](ConsumerFifo::wants_read) is
    /// false until they drain below it.
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget.max(1);
    }

    /// The re-arm limit: see [`set_rearm_limit`](ConsumerFifo::set_rearm_limit).
    pub fn rearm_limit(&self) -> u32 {
        self.rearm_limit
    }

    /// Changes the re-arm limit (at least 1; default
    /// [`DEFAULT_REARM_LIMIT`]): how many callbacks in a row, within one
    /// call of [`feed`](ConsumerFifo::feed), [`process`](ConsumerFifo::process)
    /// or [`eof`](ConsumerFifo::eof), may consume no byte and retire no
    /// consumer. One more fails the FIFO with [`FrameError::NoProgress`]: a
    /// consumer re-arming `Count(0)` on every frame, or queuing follow-ups
    /// that do, would otherwise keep the caller (a reactor's only thread)
    /// busy forever. Consuming a byte starts the count again.
    pub fn set_rearm_limit(&mut self, limit: u32) {
        self.rearm_limit = limit.max(1);
    }

    /// Queues a consumer at the back.
    pub fn push(&mut self, consumer: impl Consumer + Send + 'static) {
        self.queue.push_back(Box::new(consumer));
    }

    /// Queues a boxed consumer at the back.
    pub fn push_boxed(&mut self, consumer: Box<dyn Consumer + Send>) {
        self.queue.push_back(consumer);
    }

    /// How many consumers are queued, the head included.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no consumer is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Bytes buffered and not yet handed to a consumer.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The stream offset of the first buffered byte: bytes handed on so far.
    pub fn offset(&self) -> u64 {
        self.framer.offset()
    }

    /// Whether the reader should read: the input has not ended, nothing
    /// failed, and the budget is not full.
    pub fn wants_read(&self) -> bool {
        self.phase == Phase::Open && self.buf.len() < self.budget
    }

    /// How many bytes the reader may append now without exceeding the
    /// budget (0 once ended or failed).
    pub fn room(&self) -> usize {
        match self.phase {
            Phase::Open => self.budget.saturating_sub(self.buf.len()),
            _ => 0,
        }
    }

    /// Whether the end of input was handled.
    pub fn is_ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// Whether the input ended while a consumer [held](Control::hold)
    /// buffered bytes: nothing more is read, and later
    /// [`process`](ConsumerFifo::process) calls hand the bytes on and then
    /// finish the end (the FIFO is then [ended](ConsumerFifo::is_ended)).
    pub fn is_ending(&self) -> bool {
        self.phase == Phase::Ending
    }

    /// Whether the head consumer asked to [hold](Control::hold) its input
    /// in the last run.
    pub fn is_held(&self) -> bool {
        self.held
    }

    /// The time by which the head consumer expects more input
    /// ([`Control::set_read_deadline`]); `None` once the input ended or
    /// failed.
    pub fn read_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Open => self.read_deadline,
            _ => None,
        }
    }

    /// Clears the read deadline (its owner handled its passing).
    pub fn clear_read_deadline(&mut self) {
        self.read_deadline = None;
    }

    /// Whether an error was returned.
    pub fn is_failed(&self) -> bool {
        self.phase == Phase::Failed
    }

    /// The input buffer, for a reader that appends to it directly. Append
    /// at most [`room`](ConsumerFifo::room) bytes, then call
    /// [`process`](ConsumerFifo::process). Never remove bytes from it.
    pub fn read_buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Takes every buffered byte out of the FIFO, for a connection that
    /// leaves this protocol (an upgrade); the offset moves past them.
    pub fn take_buffered(&mut self) -> Bytes {
        let n = self.buf.len();
        self.framer.skipped(n);
        self.buf.split().freeze()
    }

    /// Reads once from `reader` into the buffer: at most
    /// [`MAX_READ_FROM`] bytes and never more than [`room`](ConsumerFifo::room).
    /// Returns the count read; 0 means the end of input (or no room: check
    /// [`wants_read`](ConsumerFifo::wants_read) first). `Interrupted` is
    /// retried; `WouldBlock` and other errors are returned, the buffer
    /// unchanged. Does not process: call [`process`](ConsumerFifo::process)
    /// or [`eof`](ConsumerFifo::eof).
    pub fn read_from<R: Read + ?Sized>(&mut self, reader: &mut R) -> io::Result<usize> {
        let want = self.room().min(MAX_READ_FROM);
        if want == 0 {
            return Ok(0);
        }
        let start = self.buf.len();
        self.buf.resize(start + want, 0);
        loop {
            match reader.read(&mut self.buf[start..]) {
                Ok(n) => {
                    self.buf.truncate(start + n.min(want));
                    return Ok(n.min(want));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(e);
                }
            }
        }
    }

    /// Appends `data` (in slices of at most the room left) and processes
    /// after each slice; for tests and callers that already hold the input.
    ///
    /// Fails with [`FrameError::BudgetExceeded`] when the budget is full and
    /// no consumer takes the bytes. After the end or an error, `data` is
    /// dropped.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), ConsumeError> {
        while self.phase == Phase::Open {
            let n = self.room().min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            self.process()?;
            if data.is_empty() {
                break;
            }
            if self.room() == 0 && self.phase == Phase::Open {
                return Err(self.fail(self.budget_exceeded().into()));
            }
        }
        Ok(())
    }

    /// Hands the buffered bytes to the consumers until no more progress
    /// can be made. An error is returned once; the FIFO is then failed and
    /// later calls do nothing.
    ///
    /// While [ending](ConsumerFifo::is_ending), it also finishes the end
    /// once no consumer holds its input any more.
    pub fn process(&mut self) -> Result<(), ConsumeError> {
        self.idle = 0;
        match self.phase {
            Phase::Open => self.run().map_err(|e| self.fail(e)),
            Phase::Ending => self.end(),
            Phase::Ended | Phase::Failed => Ok(()),
        }
    }

    /// The input ended: frames what is left, hands each consumer its end
    /// ([`Consumer::on_eof`]) and empties the queue. Called once; later
    /// calls do nothing.
    ///
    /// If the head consumer [holds](Control::hold) buffered bytes, the end
    /// waits: the FIFO is [ending](ConsumerFifo::is_ending) and later
    /// [`process`](ConsumerFifo::process) calls finish it.
    pub fn eof(&mut self) -> Result<(), ConsumeError> {
        if self.phase != Phase::Open {
            return Ok(());
        }
        self.idle = 0;
        self.phase = Phase::Ending;
        self.end()
    }

    /// Runs the end of input unless a consumer holds: `Ended` then.
    fn end(&mut self) -> Result<(), ConsumeError> {
        match self.run_eof() {
            Ok(true) => {
                self.phase = Phase::Ended;
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn fail(&mut self, e: ConsumeError) -> ConsumeError {
        self.phase = Phase::Failed;
        self.queue.clear();
        e
    }

    fn budget_exceeded(&self) -> FrameError {
        FrameError::BudgetExceeded {
            budget: self.budget,
            offset: self.framer.offset(),
        }
    }

    /// Counts a callback that ran when the stream offset was `offset` and
    /// the queue held `heads` consumers. It made progress if it consumed a
    /// byte (the count starts again) or retired a consumer (the queue
    /// shrank: not counted, and bounded by what was queued). Anything else
    /// — an empty frame, a re-armed terminator, a follow-up queued in its
    /// own place — counts; one more than the re-arm limit in a row is
    /// [`FrameError::NoProgress`] (issue 11: a consumer re-arming
    /// `Count(0)` forever kept the reactor's thread).
    fn progress(&mut self, offset: u64, heads: usize) -> Result<(), FrameError> {
        if self.framer.offset() != offset {
            self.idle = 0;
        } else if self.queue.len() >= heads {
            self.idle += 1;
            if self.idle > self.rearm_limit {
                return Err(FrameError::NoProgress {
                    offset,
                    rearms: self.idle,
                });
            }
        }
        Ok(())
    }

    /// Loads the head's framing if it changed; false if there is no head.
    fn arm(&mut self) -> bool {
        match self.queue.front() {
            Some(head) => {
                if !self.armed {
                    self.framer.set_framing(head.framing());
                    self.armed = true;
                }
                true
            }
            None => false,
        }
    }

    /// Applies what the last callback asked through `ctl`; true if it asked
    /// anything.
    fn apply(&mut self) -> bool {
        if !self.ctl.take_asked() {
            return false;
        }
        let mut asked = false;
        if self.ctl.take_hold() {
            self.held = true;
            asked = true;
        }
        if let Some(at) = self.ctl.take_deadline() {
            // Not progress by itself: a consumer that only moves its
            // deadline has not taken input.
            self.read_deadline = at;
        }
        if let Some(change) = self.ctl.take_change() {
            match change {
                Change::Terminator(t) => self.framer.set_terminator(t),
                Change::Framing(f) => self.framer.set_framing(f),
            }
            asked = true;
        }
        if self.ctl.has_next() {
            for (i, c) in self.ctl.take_next().enumerate() {
                self.queue.insert(1 + i, c);
            }
            asked = true;
        }
        if self.ctl.take_done() {
            self.queue.pop_front();
            self.armed = false;
            self.read_deadline = None;
            asked = true;
        }
        asked
    }

    /// A framing error for the head: hand it over, then the policy.
    fn frame_error(&mut self, e: FrameError) -> Result<(), ConsumeError> {
        let policy = match self.framer.framing() {
            Framing::Whole { overflow, .. } => *overflow,
            _ => Overflow::Close,
        };
        self.ctl.set_offset(self.framer.offset());
        if let Some(head) = self.queue.front_mut() {
            head.on_frame_error(&e, &mut self.ctl)?;
        }
        match policy {
            Overflow::Close => Err(e.into()),
            Overflow::Discard => {
                self.apply();
                Ok(())
            }
        }
    }

    fn run(&mut self) -> Result<(), ConsumeError> {
        self.held = false;
        while self.arm() {
            let (offset, heads) = (self.framer.offset(), self.queue.len());
            let progressed = if matches!(self.framer.framing(), Framing::Raw) {
                if self.buf.is_empty() {
                    return Ok(());
                }
                let before = self.buf.len();
                self.ctl.set_offset(self.framer.offset());
                let head = self.queue.front_mut().expect("armed");
                head.on_raw(&mut self.buf, &mut self.ctl)?;
                self.framer.skipped(before.saturating_sub(self.buf.len()));
                let asked = self.apply();
                asked || self.buf.len() != before
            } else if self.whole_frames()? {
                // The fast path delivered frames and stopped at a request
                // or where it cannot decide: the general path takes over.
                if self.held {
                    return Ok(());
                }
                // Every frame moved the offset past its delimiter.
                self.idle = 0;
                continue;
            } else {
                match self.framer.decode(&mut self.buf) {
                    Ok(Some(frame)) => {
                        self.ctl.set_offset(self.framer.offset());
                        let head = self.queue.front_mut().expect("armed");
                        head.on_frame(frame, &mut self.ctl)?;
                        self.apply();
                        true
                    }
                    Ok(None) => false,
                    Err(e) => {
                        self.frame_error(e)?;
                        true
                    }
                }
            };
            if self.held {
                // Paused by the consumer: the next `process` goes on.
                return Ok(());
            }
            if !progressed {
                if self.buf.len() >= self.budget {
                    return Err(self.budget_exceeded().into());
                }
                return Ok(());
            }
            self.progress(offset, heads)?;
        }
        Ok(())
    }

    /// The fast path for whole delimited frames: the head takes every
    /// buffered frame in one call, until it asks anything (applied here).
    /// Each frame moves the offset past its delimiter, so it is progress
    /// without the general loop's bookkeeping. Returns whether any frame
    /// was handed on.
    #[inline]
    fn whole_frames(&mut self) -> Result<bool, ConsumeError> {
        let Some(head) = self.queue.front_mut() else {
            return Ok(false);
        };
        let mut frames = WholeFrames::new(&mut self.framer, &mut self.buf);
        let r = head.on_whole_frames(&mut frames, &mut self.ctl);
        let any = frames.taken() > 0;
        r?;
        if self.ctl.asked() {
            self.apply();
        }
        Ok(any)
    }

    /// Frames what is left and hands out the end; `false` if a consumer
    /// holds buffered bytes (the end waits for a later call).
    fn run_eof(&mut self) -> Result<bool, ConsumeError> {
        loop {
            self.run()?;
            if self.held && !self.buf.is_empty() {
                return Ok(false);
            }
            if !self.arm() {
                return Ok(true);
            }
            // Each turn calls back once: counted like the frames of `run`,
            // so neither a terminator re-armed after the end nor a consumer
            // queuing its own successor at every end can loop forever.
            let (offset, heads) = (self.framer.offset(), self.queue.len());
            match self.framer.decode_eof(&mut self.buf) {
                Ok(AtEof::Frame(frame)) => {
                    self.ctl.set_offset(self.framer.offset());
                    let head = self.queue.front_mut().expect("armed");
                    head.on_frame(frame, &mut self.ctl)?;
                    self.apply();
                }
                Ok(AtEof::End(eof)) => {
                    self.ctl.set_offset(self.framer.offset());
                    let head = self.queue.front_mut().expect("armed");
                    head.on_eof(eof, &mut self.ctl)?;
                    self.ctl.done();
                    self.apply();
                }
                Err(e) => self.frame_error(e)?,
            }
            self.progress(offset, heads)?;
        }
    }
}

impl fmt::Debug for ConsumerFifo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerFifo")
            .field("buffered", &self.buf.len())
            .field("consumers", &self.queue.len())
            .field("framer", &self.framer)
            .field("budget", &self.budget)
            .field("phase", &self.phase)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::consume::{Eof, Frame, Terminator, from_fn};

    /// What a gated consumer saw.
    #[derive(Default)]
    struct Seen {
        taken: Vec<u8>,
        eof: Option<Eof>,
    }

    /// A raw consumer that takes 4-byte units while its gate is open and
    /// holds otherwise.
    struct Gate {
        open: Arc<AtomicBool>,
        seen: Arc<Mutex<Seen>>,
    }

    impl Consumer for Gate {
        fn framing(&self) -> Framing {
            Framing::Raw
        }
        fn on_frame(&mut self, _: Frame, _: &mut Control) -> Result<(), ConsumeError> {
            unreachable!("raw")
        }
        fn on_raw(&mut self, buf: &mut BytesMut, ctl: &mut Control) -> Result<(), ConsumeError> {
            while buf.len() >= 4 {
                if !self.open.load(Ordering::Relaxed) {
                    ctl.hold();
                    return Ok(());
                }
                let unit = buf.split_to(4);
                self.seen.lock().unwrap().taken.extend_from_slice(&unit);
            }
            Ok(())
        }
        fn on_eof(&mut self, eof: Eof, _: &mut Control) -> Result<(), ConsumeError> {
            self.seen.lock().unwrap().eof = Some(eof);
            Ok(())
        }
    }

    fn gated(budget: usize) -> (ConsumerFifo, Arc<AtomicBool>, Arc<Mutex<Seen>>) {
        let open = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut fifo = ConsumerFifo::with_budget(budget);
        fifo.push(Gate {
            open: open.clone(),
            seen: seen.clone(),
        });
        (fifo, open, seen)
    }

    #[test]
    fn a_held_consumer_with_the_budget_full_is_a_pause_not_an_overflow() {
        let (mut fifo, open, seen) = gated(16);
        fifo.read_buf().extend_from_slice(b"aaaabbbbccccdddd");
        fifo.process().unwrap();
        assert!(fifo.is_held());
        assert!(!fifo.wants_read(), "the budget is full");
        assert_eq!(fifo.room(), 0);
        assert!(!fifo.is_failed());
        // Processing again while still held changes nothing.
        fifo.process().unwrap();
        assert_eq!(fifo.buffered(), 16);
        open.store(true, Ordering::Relaxed);
        fifo.process().unwrap();
        assert!(!fifo.is_held());
        assert_eq!(seen.lock().unwrap().taken, b"aaaabbbbccccdddd");
        assert!(fifo.wants_read());
    }

    #[test]
    fn the_end_waits_for_a_held_consumer_then_hands_over_the_rest() {
        let (mut fifo, open, seen) = gated(1024);
        fifo.read_buf().extend_from_slice(b"aaaabbbbcc");
        fifo.process().unwrap();
        fifo.eof().unwrap();
        assert!(fifo.is_ending() && !fifo.is_ended());
        assert!(!fifo.wants_read(), "nothing is read after the end");
        assert_eq!(fifo.room(), 0);
        assert!(seen.lock().unwrap().eof.is_none(), "the end waits");
        fifo.process().unwrap();
        assert!(fifo.is_ending(), "still held");
        open.store(true, Ordering::Relaxed);
        fifo.process().unwrap();
        assert!(fifo.is_ended());
        let seen = seen.lock().unwrap();
        assert_eq!(seen.taken, b"aaaabbbb");
        // The unfinished unit is the end's tail, at its offset.
        let eof = seen.eof.as_ref().unwrap();
        assert_eq!((&eof.tail[..], eof.partial, eof.offset), (&b"cc"[..], 2, 8));
        assert!(fifo.is_empty());
    }

    #[test]
    fn the_end_waits_only_while_held_bytes_are_buffered() {
        let (mut fifo, _open, seen) = gated(1024);
        fifo.read_buf().extend_from_slice(b"aaaa");
        fifo.process().unwrap();
        assert!(fifo.is_held());
        // The hold came with a unit buffered; the unit stays until opened,
        // so the end is deferred ...
        fifo.eof().unwrap();
        assert!(fifo.is_ending());
        // ... but a gate holding with an empty buffer ends at once.
        let (mut fifo, _open, seen2) = gated(1024);
        fifo.eof().unwrap();
        assert!(fifo.is_ended());
        assert!(seen2.lock().unwrap().eof.as_ref().unwrap().is_clean());
        assert!(seen.lock().unwrap().eof.is_none());
    }

    #[test]
    fn a_framed_consumer_can_hold_between_frames() {
        let open = Arc::new(AtomicBool::new(false));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut fifo = ConsumerFifo::new();
        let (o, l) = (open.clone(), lines.clone());
        fifo.push(from_fn(
            Framing::whole(Terminator::delimiter(&b"\n"[..])),
            move |frame, ctl| {
                l.lock().unwrap().push(frame.into_bytes());
                if !o.load(Ordering::Relaxed) {
                    ctl.hold();
                }
                Ok(())
            },
        ));
        fifo.read_buf().extend_from_slice(b"one\ntwo\nthree\n");
        fifo.process().unwrap();
        assert_eq!(lines.lock().unwrap().len(), 1, "held after the first line");
        fifo.process().unwrap();
        assert_eq!(lines.lock().unwrap().len(), 2, "one more per process");
        open.store(true, Ordering::Relaxed);
        fifo.process().unwrap();
        assert_eq!(
            *lines.lock().unwrap(),
            [&b"one"[..], b"two", b"three"].map(Bytes::from_static)
        );
    }

    /// Runs `f` on its own thread and fails the test if it has not
    /// returned within five seconds: a FIFO that spins must fail a test,
    /// not hang it (the spinning thread is left behind).
    fn within_deadline<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        match rx.recv_timeout(std::time::Duration::from_secs(5)) {
            Ok(t) => t,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("no progress guard: the fifo still spins after 5 s")
            }
            Err(e) => panic!("the fifo's thread panicked: {e}"),
        }
    }

    fn is_no_progress(r: &Result<(), ConsumeError>) -> bool {
        matches!(r, Err(ConsumeError::Frame(FrameError::NoProgress { .. })))
    }

    /// The literal port of an asynchat handler whose `found_terminator`
    /// sets the terminator to None (until close) again: it re-arms
    /// `UntilClose` on every last frame.
    fn asynchat_port(
        framing: Framing,
        lasts: Arc<AtomicUsize>,
        data: Arc<Mutex<Vec<u8>>>,
    ) -> impl Consumer + Send + 'static {
        from_fn(framing, move |frame, ctl| {
            data.lock().unwrap().extend_from_slice(frame.bytes());
            if frame.is_last() {
                lasts.fetch_add(1, Ordering::Relaxed);
                ctl.set_terminator(Terminator::UntilClose);
            }
            Ok(())
        })
    }

    #[test]
    fn an_asynchat_port_rearming_until_close_gets_one_last_frame_then_the_end() {
        for framing in [
            Framing::pieces(Terminator::UntilClose),
            Framing::whole(Terminator::UntilClose),
        ] {
            for input in [&b""[..], b"abc"] {
                let (lasts, data) = (Arc::new(AtomicUsize::new(0)), Arc::default());
                let mut fifo = ConsumerFifo::new();
                fifo.push(asynchat_port(
                    framing.clone(),
                    lasts.clone(),
                    Arc::clone(&data),
                ));
                let (fifo, r) = within_deadline(move || {
                    let r = fifo.feed(input).and_then(|()| fifo.eof());
                    (fifo, r)
                });
                assert!(r.is_ok() || is_no_progress(&r), "{framing:?}: {r:?}");
                assert!(fifo.is_ended() || fifo.is_failed());
                assert_eq!(lasts.load(Ordering::Relaxed), 1, "{framing:?}");
                assert_eq!(&data.lock().unwrap()[..], input);
                // End is sticky: nothing more, whatever is called.
                let mut fifo = fifo;
                assert!(fifo.eof().is_ok() && fifo.process().is_ok());
                assert_eq!(lasts.load(Ordering::Relaxed), 1);
            }
        }
    }

    /// A consumer that re-arms `Count(0)` on every frame, counting them.
    fn zero_forever(framing: Framing, calls: Arc<AtomicUsize>) -> impl Consumer + Send + 'static {
        from_fn(framing, move |_frame, ctl| {
            calls.fetch_add(1, Ordering::Relaxed);
            ctl.set_terminator(Terminator::Count(0));
            Ok(())
        })
    }

    #[test]
    fn a_consumer_rearming_count_zero_forever_is_no_progress_in_feed_process_and_eof() {
        for framing in [Framing::whole(0u64), Framing::pieces(0u64)] {
            for path in ["feed", "process", "eof"] {
                let calls = Arc::new(AtomicUsize::new(0));
                let mut fifo = ConsumerFifo::new();
                fifo.push(zero_forever(framing.clone(), calls.clone()));
                let (fifo, r) = within_deadline(move || {
                    let r = match path {
                        "feed" => fifo.feed(b"xy"),
                        "process" => {
                            fifo.read_buf().extend_from_slice(b"xy");
                            fifo.process()
                        }
                        _ => fifo.eof(),
                    };
                    (fifo, r)
                });
                match r {
                    Err(ConsumeError::Frame(FrameError::NoProgress { offset, rearms })) => {
                        assert_eq!((offset, rearms), (0, DEFAULT_REARM_LIMIT + 1), "{path}");
                    }
                    other => panic!("{framing:?} {path}: {other:?}"),
                }
                assert!(fifo.is_failed() && fifo.is_empty());
                let n = calls.load(Ordering::Relaxed);
                assert_eq!(n, DEFAULT_REARM_LIMIT as usize + 1, "{path}");
            }
        }
    }

    #[test]
    fn a_consumer_queuing_itself_at_every_end_is_no_progress() {
        fn again(ends: Arc<AtomicUsize>) -> impl Consumer + Send + 'static {
            from_fn(Framing::whole("\n"), |_, _| Ok(())).on_eof(move |_, ctl| {
                ends.fetch_add(1, Ordering::Relaxed);
                ctl.then(again(ends.clone()));
                Ok(())
            })
        }
        let ends = Arc::new(AtomicUsize::new(0));
        let mut fifo = ConsumerFifo::new();
        fifo.push(again(ends.clone()));
        let r = within_deadline(move || fifo.eof());
        assert!(is_no_progress(&r), "{r:?}");
        assert!(ends.load(Ordering::Relaxed) <= DEFAULT_REARM_LIMIT as usize + 1);
    }

    #[test]
    fn pipelined_zero_counts_and_bounded_rearms_are_progress() {
        // Five thousand header lines, each followed by a Count(0) body:
        // bytes are consumed between the empty frames.
        fn header(bodies: Arc<AtomicUsize>) -> impl Consumer + Send + 'static {
            from_fn(Framing::whole("\n"), move |_, ctl| {
                let b = bodies.clone();
                ctl.then(from_fn(Framing::whole(0u64), move |f, ctl| {
                    assert!(f.bytes().is_empty());
                    b.fetch_add(1, Ordering::Relaxed);
                    ctl.then(header(b.clone()));
                    ctl.done();
                    Ok(())
                }));
                ctl.done();
                Ok(())
            })
        }
        let bodies = Arc::new(AtomicUsize::new(0));
        let mut fifo = ConsumerFifo::new();
        fifo.push(header(bodies.clone()));
        fifo.feed("h\n".repeat(5000).as_bytes()).unwrap();
        fifo.eof().unwrap();
        assert_eq!(bodies.load(Ordering::Relaxed), 5000);

        // Re-arming Count(0) up to the limit is fine; one more is not.
        for (limit, rearms, ok) in [
            (DEFAULT_REARM_LIMIT, 1000, true),
            (10, 10, true),
            (10, 11, false),
        ] {
            let mut fifo = ConsumerFifo::new();
            fifo.set_rearm_limit(limit);
            assert_eq!(fifo.rearm_limit(), limit);
            let mut left = rearms;
            fifo.push(from_fn(Framing::whole(0u64), move |_, ctl| {
                if left == 0 {
                    ctl.done();
                } else {
                    left -= 1;
                    ctl.set_terminator(Terminator::Count(0));
                }
                Ok(())
            }));
            let r = fifo.feed(b"x");
            assert_eq!(r.is_ok(), ok, "{limit} {rearms}: {r:?}");
        }
    }
}
