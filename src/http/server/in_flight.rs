//! [`ConnState`]: what a connection's request reader, handler and
//! response producers share — the responses in flight, counted by
//! [`InFlight`] — so the reader can stop at the cap and be woken when a
//! response finishes.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use crate::produce::{Counters, More, Producer};

/// What a connection's consumer, handler and response producers share.
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    /// Responses queued and not yet fully handed to the socket writer.
    in_flight: AtomicUsize,
    /// Those of them that hold an open file.
    files: AtomicUsize,
    /// The reader stopped at a request boundary because `in_flight` hit the
    /// cap; the next response to finish wakes the channel to resume it.
    stalled: AtomicBool,
    /// A timeout already answered 408: the next one closes at once.
    timed_out: AtomicBool,
    /// Responses following a file (`?follow`) queued and not dropped: they
    /// never end, so the peer's close must close the connection at once.
    following: AtomicUsize,
}

impl ConnState {
    pub(crate) fn is_stalled(&self) -> bool {
        self.stalled.load(Ordering::Relaxed)
    }

    /// Whether a response following a file is queued.
    pub(crate) fn is_following(&self) -> bool {
        self.following.load(Ordering::Relaxed) > 0
    }

    /// Counts `body` as following a file until it is dropped.
    pub(super) fn following<P>(self: &Arc<Self>, body: P) -> Following<P> {
        self.following.fetch_add(1, Ordering::Relaxed);
        Following {
            inner: body,
            conn: self.clone(),
        }
    }

    /// Marks a timeout; true if it is the first.
    pub(crate) fn first_timeout(&self) -> bool {
        !self.timed_out.swap(true, Ordering::Relaxed)
    }

    /// Whether the reader must stop at a request boundary: `max_in_flight`
    /// responses not yet handed to the socket writer, or `max_open_files`
    /// of them holding a file. Remembered, so the next response to finish
    /// wakes the channel.
    pub(super) fn at_cap(&self, max_in_flight: usize, max_open_files: usize) -> bool {
        let stalled = self.in_flight.load(Ordering::Relaxed) >= max_in_flight
            || self.files.load(Ordering::Relaxed) >= max_open_files;
        self.stalled.store(stalled, Ordering::Relaxed);
        stalled
    }

    /// Counts `response` in flight (and holding a file, if `file`) until it
    /// ends or is dropped.
    pub(super) fn track<P>(self: &Arc<Self>, response: P, file: bool) -> InFlight<P> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        if file {
            self.files.fetch_add(1, Ordering::Relaxed);
        }
        InFlight {
            inner: response,
            conn: self.clone(),
            file,
            done: false,
        }
    }

    /// A response holding a file (`file`) or not left the queue.
    fn done(&self, file: bool) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        if file {
            self.files.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn release(&self, waker: &Waker, file: bool) {
        self.done(file);
        if self.stalled.load(Ordering::Relaxed) {
            // The channel's waker: the loop services the channel again and
            // hands the buffered requests to the reader.
            waker.wake_by_ref();
        }
    }
}

/// A response producer counted in flight until it ends or is dropped.
pub(super) struct InFlight<P> {
    inner: P,
    conn: Arc<ConnState>,
    /// Whether it holds an open file (counted in `ConnState::files`).
    file: bool,
    done: bool,
}

impl<P> fmt::Debug for InFlight<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<P: Producer> Producer for InFlight<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let r = self.inner.poll_more(cx);
        if matches!(r, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) && !self.done {
            self.done = true;
            self.conn.release(cx.waker(), self.file);
        }
        r
    }
    fn exact_len(&self) -> Option<u64> {
        self.inner.exact_len()
    }
    fn counters(&self) -> Option<Counters> {
        self.inner.counters()
    }
}

impl<P> Drop for InFlight<P> {
    fn drop(&mut self) {
        if !self.done {
            self.conn.done(self.file);
        }
    }
}

/// A body following a file, counted in [`ConnState`] until dropped.
pub(super) struct Following<P> {
    inner: P,
    conn: Arc<ConnState>,
}

impl<P> fmt::Debug for Following<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Following").finish_non_exhaustive()
    }
}

impl<P: Producer> Producer for Following<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        self.inner.poll_more(cx)
    }
    fn exact_len(&self) -> Option<u64> {
        self.inner.exact_len()
    }
    fn counters(&self) -> Option<Counters> {
        self.inner.counters()
    }
}

impl<P> Drop for Following<P> {
    fn drop(&mut self) {
        self.conn.following.fetch_sub(1, Ordering::Relaxed);
    }
}
