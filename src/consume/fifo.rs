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
pub const READ_SIZE: usize = 16 * 1024;

/// How many callbacks in a row may neither consume a byte nor retire a
/// consumer before the FIFO calls it a livelock (a consumer re-arming
/// `Count(0)` forever).
const MAX_IDLE_CALLBACKS: u32 = 1024;

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
    /// [`READ_SIZE`] bytes and never more than [`room`](ConsumerFifo::room).
    /// Returns the count read; 0 means the end of input (or no room: check
    /// [`wants_read`](ConsumerFifo::wants_read) first). `Interrupted` is
    /// retried; `WouldBlock` and other errors are returned, the buffer
    /// unchanged. Does not process: call [`process`](ConsumerFifo::process)
    /// or [`eof`](ConsumerFifo::eof).
    pub fn read_from<R: Read + ?Sized>(&mut self, reader: &mut R) -> io::Result<usize> {
        let want = self.room().min(READ_SIZE);
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
        let mut idle = 0u32;
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
                idle = 0;
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
            if self.framer.offset() != offset || self.queue.len() != heads {
                idle = 0;
            } else {
                idle += 1;
                if idle > MAX_IDLE_CALLBACKS {
                    return Err(ConsumeError::Invalid {
                        offset,
                        reason: "consumer makes no progress",
                    });
                }
            }
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
    use std::sync::atomic::{AtomicBool, Ordering};
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
}
