//! Per-channel timeouts (contract rule 11): [`Timeout`], and
//! [`Deadlines`], the times they run from. Pure bookkeeping: the loop
//! feeds it I/O and frame progress, asks for the next deadline to put in
//! the timer heap ([`timer`](super::timer)), and asks which timeout expired
//! when that entry comes up.

use std::fmt;
use std::io;
use std::time::Instant;

use super::config::Limits;

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

/// When each of a channel's timeouts started running.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    /// The last read or write (idle timeout base).
    pub(crate) last_io: Instant,
    /// Since when a partial frame has waited without a frame being handed
    /// on (read timeout base); `None` while nothing is buffered.
    pub(crate) frame_since: Option<Instant>,
    /// The input offset at the last [`track_frames`](Deadlines::track_frames).
    last_offset: u64,
    /// Since when output has waited on a full socket (write timeout base).
    pub(crate) blocked_since: Option<Instant>,
    /// The deadline of the channel's one live timer entry; entries at
    /// other times are stale.
    pub(crate) timer_at: Option<Instant>,
}

impl Deadlines {
    pub(crate) fn new(now: Instant) -> Deadlines {
        Deadlines {
            last_io: now,
            frame_since: None,
            last_offset: 0,
            blocked_since: None,
            timer_at: None,
        }
    }

    /// Tracks read-timeout progress after input was processed: `buffered`
    /// bytes wait in the FIFO, which has framed up to input `offset`.
    pub(crate) fn track_frames(&mut self, buffered: usize, offset: u64, now: Instant) {
        if buffered == 0 {
            self.frame_since = None;
        } else if offset != self.last_offset || self.frame_since.is_none() {
            self.frame_since = Some(now);
        }
        self.last_offset = offset;
    }

    /// The earliest of the active timeouts, the head consumer's
    /// `read_deadline` and the `linger` deadline.
    pub(crate) fn next(
        &self,
        l: &Limits,
        linger: Option<Instant>,
        read_deadline: Option<Instant>,
    ) -> Option<Instant> {
        [
            linger,
            l.idle.map(|d| self.last_io + d),
            l.read.zip(self.frame_since).map(|(d, t)| t + d),
            read_deadline,
            l.write.zip(self.blocked_since).map(|(d, t)| t + d),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Which timeout has expired at `now`, if any: write before read before
    /// idle.
    pub(crate) fn expired(
        &self,
        l: &Limits,
        read_deadline: Option<Instant>,
        now: Instant,
    ) -> Option<Timeout> {
        let passed = |d: Option<Instant>| d.is_some_and(|t| now >= t);
        if passed(l.write.zip(self.blocked_since).map(|(d, t)| t + d)) {
            Some(Timeout::Write)
        } else if passed(l.read.zip(self.frame_since).map(|(d, t)| t + d)) || passed(read_deadline)
        {
            Some(Timeout::Read)
        } else if passed(l.idle.map(|d| self.last_io + d)) {
            Some(Timeout::Idle)
        } else {
            None
        }
    }

    /// Restarts `which` after a handler chose to keep the channel. (A
    /// consumer's read deadline is the consumer's to clear and set again.)
    pub(crate) fn restart(&mut self, which: Timeout, now: Instant) {
        match which {
            Timeout::Idle => self.last_io = now,
            Timeout::Read => self.frame_since = self.frame_since.map(|_| now),
            Timeout::Write => self.blocked_since = self.blocked_since.map(|_| now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits(idle: u64, read: u64, write: u64) -> Limits {
        let s = |n| (n > 0).then(|| Duration::from_secs(n));
        Limits {
            low: 0,
            high: 0,
            max_write: 1,
            read_size: 1,
            idle: s(idle),
            read: s(read),
            write: s(write),
        }
    }

    #[test]
    fn timeouts_are_chosen_write_then_read_then_idle() {
        let t0 = Instant::now();
        let l = limits(1, 1, 1);
        let mut d = Deadlines::new(t0);
        let s = Duration::from_secs(1);
        assert_eq!(d.expired(&l, None, t0), None);
        assert_eq!(d.expired(&l, None, t0 + s), Some(Timeout::Idle));
        d.track_frames(10, 0, t0);
        assert_eq!(d.expired(&l, None, t0 + s), Some(Timeout::Read));
        d.blocked_since = Some(t0);
        assert_eq!(d.expired(&l, None, t0 + s), Some(Timeout::Write));
        // No limit, no timeout.
        assert_eq!(d.expired(&limits(0, 0, 0), None, t0 + 100 * s), None);
    }

    #[test]
    fn a_consumer_read_deadline_is_a_read_timeout() {
        let t0 = Instant::now();
        let d = Deadlines::new(t0);
        let l = limits(0, 0, 0);
        let at = t0 + Duration::from_millis(5);
        assert_eq!(d.next(&l, None, Some(at)), Some(at));
        assert_eq!(d.expired(&l, Some(at), at), Some(Timeout::Read));
    }

    #[test]
    fn frame_progress_restarts_the_read_timeout_and_nothing_buffered_stops_it() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        let mut d = Deadlines::new(t0);
        d.track_frames(5, 0, t0);
        assert_eq!(d.frame_since, Some(t0));
        d.track_frames(7, 0, t1);
        assert_eq!(d.frame_since, Some(t0), "more bytes, same frame");
        d.track_frames(2, 6, t1);
        assert_eq!(d.frame_since, Some(t1), "a frame was handed on");
        d.track_frames(0, 8, t1);
        assert_eq!(d.frame_since, None);
    }

    #[test]
    fn the_next_deadline_is_the_earliest_including_the_linger() {
        let t0 = Instant::now();
        let mut d = Deadlines::new(t0);
        let l = limits(60, 10, 5);
        assert_eq!(d.next(&l, None, None), Some(t0 + Duration::from_secs(60)));
        d.blocked_since = Some(t0);
        assert_eq!(d.next(&l, None, None), Some(t0 + Duration::from_secs(5)));
        let linger = t0 + Duration::from_secs(1);
        assert_eq!(d.next(&l, Some(linger), None), Some(linger));
        d.restart(Timeout::Write, linger);
        assert_eq!(d.blocked_since, Some(linger));
        d.restart(Timeout::Read, linger);
        assert_eq!(d.frame_since, None, "a read timeout not running stays off");
    }
}
