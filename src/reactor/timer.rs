//! The loop's timers: one binary heap of deadlines for callbacks, channel
//! timeouts and listener backoffs.
//!
//! Entries are never removed from the middle of the heap. A cancelled
//! callback is dropped from the callback table and its entry is skipped
//! when it comes up; a channel keeps the deadline of its one live entry
//! (`Deadlines::timer_at`) and entries that do not match it are stale. This
//! keeps every operation `O(log n)` without a handle into the heap.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use super::channel::Core;
use super::ctx::ChannelCtx;
use super::fault::PanicSite;
use super::{ChannelId, CloseReason, Handler, Reactor};

/// Identifies a timer callback made by [`Reactor::after`] or
/// [`Reactor::every`]; pass it to [`Reactor::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerId(u64);

/// A timer callback: called on the loop thread with the reactor.
pub(crate) type Callback = Box<dyn FnMut(&mut Reactor)>;

/// What a heap entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// A callback in the table.
    Callback(TimerId),
    /// A channel's earliest timeout.
    Channel(ChannelId),
    /// A listener's accept backoff ends.
    Listener(ChannelId),
}

#[derive(Debug)]
struct Entry {
    at: Instant,
    /// Tie-break: first scheduled, first run.
    seq: u64,
    due: Due,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // Reversed: `BinaryHeap` is a max-heap and the earliest must be on top.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

struct Slot {
    f: Callback,
    period: Option<Duration>,
}

/// The heap and the callback table.
pub(crate) struct Timers {
    heap: BinaryHeap<Entry>,
    callbacks: HashMap<TimerId, Slot>,
    seq: u64,
    next_id: u64,
    /// The callback being called (taken out of the table) and whether it
    /// cancelled itself during the call.
    running: Option<(TimerId, bool)>,
}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timers")
            .field("entries", &self.heap.len())
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            heap: BinaryHeap::new(),
            callbacks: HashMap::new(),
            seq: 0,
            next_id: 0,
            running: None,
        }
    }

    /// Schedules `due` at `at`.
    pub(crate) fn schedule(&mut self, at: Instant, due: Due) {
        self.seq += 1;
        self.heap.push(Entry {
            at,
            seq: self.seq,
            due,
        });
    }

    /// Adds a callback first due at `at`, then every `period` if given.
    pub(crate) fn add(&mut self, at: Instant, period: Option<Duration>, f: Callback) -> TimerId {
        self.next_id += 1;
        let id = TimerId(self.next_id);
        self.callbacks.insert(id, Slot { f, period });
        self.schedule(at, Due::Callback(id));
        id
    }

    /// Cancels a callback; true if it was still scheduled.
    pub(crate) fn cancel(&mut self, id: TimerId) -> bool {
        if self.callbacks.remove(&id).is_some() {
            return true;
        }
        match &mut self.running {
            Some((r, cancelled)) if *r == id && !*cancelled => {
                *cancelled = true;
                true
            }
            _ => false,
        }
    }

    /// How many callbacks are scheduled.
    pub(crate) fn callbacks(&self) -> usize {
        self.callbacks.len()
    }

    /// The earliest deadline, stale entries included (waking early for a
    /// stale entry costs one loop turn, never a missed deadline).
    pub(crate) fn next_at(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.at)
    }

    /// Pops one entry due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, Due)> {
        if self.heap.peek()?.at > now {
            return None;
        }
        self.heap.pop().map(|e| (e.at, e.due))
    }

    /// Takes a due callback out of the table to call it; `None` if it was
    /// cancelled.
    pub(crate) fn take(&mut self, id: TimerId) -> Option<(Callback, Option<Duration>)> {
        let s = self.callbacks.remove(&id)?;
        self.running = Some((id, false));
        Some((s.f, s.period))
    }

    /// Ends the call of the taken callback; true if it cancelled itself.
    pub(crate) fn finish_call(&mut self) -> bool {
        self.running.take().is_some_and(|(_, c)| c)
    }

    /// Puts a periodic callback back after its call, due at `at`.
    pub(crate) fn put_back(&mut self, id: TimerId, f: Callback, period: Duration, at: Instant) {
        self.callbacks.insert(
            id,
            Slot {
                f,
                period: Some(period),
            },
        );
        self.schedule(at, Due::Callback(id));
    }
}

impl Reactor {
    pub(super) fn run_timers(&mut self) {
        let now = Instant::now();
        while let Some((at, due)) = self.timers.pop_due(now) {
            match due {
                Due::Callback(id) => {
                    let Some((mut f, period)) = self.timers.take(id) else {
                        continue;
                    };
                    self.stats.timers += 1;
                    let r = catch_unwind(AssertUnwindSafe(|| f(self)));
                    let cancelled = self.timers.finish_call();
                    if let Err(p) = r {
                        // Like a channel whose handler panicked, a timer
                        // that panicked is done: its state may be broken.
                        let _ = catch_unwind(AssertUnwindSafe(move || drop(f)));
                        self.report_panic(PanicSite::Timer(id), p);
                        continue;
                    }
                    if let Some(p) = period
                        && !cancelled
                    {
                        self.timers.put_back(id, f, p, (at + p).max(now));
                    }
                }
                Due::Channel(id) => {
                    self.with_channel(id, |r, core, handler| {
                        if core.deadlines.timer_at != Some(at) {
                            return; // stale
                        }
                        core.deadlines.timer_at = None;
                        r.expire(core, handler);
                    });
                }
                Due::Listener(id) => self.resume_listener(id),
            }
        }
    }

    pub(super) fn expire(&mut self, core: &mut Core, handler: &mut dyn Handler) {
        let now = Instant::now();
        if core.state.linger_expired(now) {
            return;
        }
        let Some(which) = core.expired(now) else {
            return;
        };
        let r = handler.on_timeout(
            &mut ChannelCtx {
                core: &mut *core,
                reactor: self,
            },
            which,
        );
        match r {
            Ok(()) => core.restart(which, now),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                core.close(CloseReason::Timeout(which));
            }
            Err(e) => {
                core.close(CloseReason::Handler(e));
            }
        }
        self.apply_inbox(core);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_out_earliest_first_then_in_scheduling_order() {
        let mut t = Timers::new();
        let base = Instant::now();
        let a = ChannelId::new(1, 0);
        let b = ChannelId::new(2, 0);
        t.schedule(base + Duration::from_millis(20), Due::Channel(a));
        t.schedule(base + Duration::from_millis(10), Due::Channel(b));
        t.schedule(base + Duration::from_millis(10), Due::Channel(a));
        assert_eq!(t.next_at(), Some(base + Duration::from_millis(10)));
        assert!(t.pop_due(base).is_none());
        let later = base + Duration::from_millis(30);
        let order: Vec<_> = std::iter::from_fn(|| t.pop_due(later).map(|e| e.1)).collect();
        assert_eq!(order, [Due::Channel(b), Due::Channel(a), Due::Channel(a)]);
    }

    #[test]
    fn cancelled_callbacks_are_not_taken() {
        let mut t = Timers::new();
        let now = Instant::now();
        let id = t.add(now, None, Box::new(|_| {}));
        assert_eq!(t.callbacks(), 1);
        assert!(t.cancel(id));
        assert!(!t.cancel(id));
        let (_, due) = t.pop_due(now).unwrap();
        assert_eq!(due, Due::Callback(id));
        assert!(t.take(id).is_none());
    }
}
