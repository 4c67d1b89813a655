//! [`output`]: a `std::io::Write` sink whose bytes come out of a producer
//! (Medusa's `output_producer`), woken across threads.
//!
//! This is the deferred, push-style producer: a worker thread (or a handler
//! that finishes later) writes, and whoever drives the producer — a reactor,
//! a [`ProducerReader`](crate::io::ProducerReader), a stream — sees the data
//! as it arrives, is pending (with its waker registered) while there is
//! none, and sees the end when the writer is closed or dropped.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use super::{Counters, More, Producer};
use crate::chunk::{Chunk, NonEmptyBytes};

/// The default bound on bytes written but not yet taken: 1 MiB.
pub const DEFAULT_OUTPUT_CAPACITY: usize = 1 << 20;

/// A connected writer and producer with the default capacity
/// ([`DEFAULT_OUTPUT_CAPACITY`]).
pub fn output() -> (OutputWriter, OutputProducer) {
    output_with_capacity(DEFAULT_OUTPUT_CAPACITY)
}

/// A connected writer and producer holding at most `capacity` bytes between
/// them: a writer that gets ahead blocks until the producer's side catches
/// up, so memory stays bounded however slow the reader is.
///
/// # Panics
///
/// If `capacity` is 0.
pub fn output_with_capacity(capacity: usize) -> (OutputWriter, OutputProducer) {
    assert!(capacity > 0, "output capacity must not be zero");
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            queued: 0,
            writer: WriterState::Open,
            waker: None,
            producer_gone: false,
        }),
        space: Condvar::new(),
        capacity,
    });
    (
        OutputWriter {
            shared: shared.clone(),
        },
        OutputProducer {
            shared,
            ended: false,
            counters: Counters::default(),
        },
    )
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when the producer takes bytes (or goes away).
    space: Condvar,
    capacity: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` inconsistent
        // (every update is a single push, pop or assignment), so poisoning
        // is ignored rather than spread to the other side.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug)]
struct State {
    queue: VecDeque<NonEmptyBytes>,
    /// Total bytes in `queue`.
    queued: usize,
    writer: WriterState,
    /// The waker of the last poll that found nothing to hand out.
    waker: Option<Waker>,
    producer_gone: bool,
}

#[derive(Debug)]
enum WriterState {
    Open,
    /// Closed or dropped: the end, once the queue is drained.
    Closed,
    /// Failed by the writer: this error, once the queue is drained.
    Failed(io::Error),
}

/// The writing half: implements [`std::io::Write`]; see [`output`].
///
/// Dropping it (or calling [`close`](Self::close)) ends the producer's
/// output once everything written has been taken.
#[derive(Debug)]
pub struct OutputWriter {
    shared: Arc<Shared>,
}

impl OutputWriter {
    /// Queues `bytes` without copying, blocking while the queue is full.
    ///
    /// Fails with [`io::ErrorKind::BrokenPipe`] if the producer was dropped.
    pub fn send(&mut self, bytes: Bytes) -> io::Result<()> {
        let Some(bytes) = NonEmptyBytes::new(bytes) else {
            return Ok(());
        };
        let mut st = self.wait_for_room()?;
        st.queued += bytes.len();
        st.queue.push_back(bytes);
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Ends the output after what has been written.
    pub fn close(self) {}

    /// Ends the output with `error` after what has been written: the
    /// producer hands out the queued bytes, then the error.
    pub fn fail(self, error: io::Error) {
        self.finish(WriterState::Failed(error));
    }

    fn finish(&self, end: WriterState) {
        let mut st = self.shared.lock();
        if let WriterState::Open = st.writer {
            st.writer = end;
        }
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn wait_for_room(&self) -> io::Result<MutexGuard<'_, State>> {
        let mut st = self.shared.lock();
        loop {
            if st.producer_gone {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "output producer was dropped",
                ));
            }
            if st.queued < self.shared.capacity {
                return Ok(st);
            }
            st = self
                .shared
                .space
                .wait(st)
                .unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Write for OutputWriter {
    /// Copies as much of `buf` as fits under the capacity (blocking until
    /// some fits).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut st = self.wait_for_room()?;
        let n = buf.len().min(self.shared.capacity - st.queued);
        // There is room and `buf` is not empty, so `n` is at least 1.
        let Some(piece) = NonEmptyBytes::new(Bytes::copy_from_slice(&buf[..n])) else {
            return Ok(0);
        };
        st.queued += n;
        st.queue.push_back(piece);
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for OutputWriter {
    fn drop(&mut self) {
        self.finish(WriterState::Closed);
    }
}

/// The producing half; see [`output`].
#[derive(Debug)]
pub struct OutputProducer {
    shared: Arc<Shared>,
    /// The end or an error has been reported.
    ended: bool,
    counters: Counters,
}

impl OutputProducer {
    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        if self.ended {
            return Poll::Ready(None);
        }
        let mut st = self.shared.lock();
        if let Some(b) = st.queue.pop_front() {
            st.queued -= b.len();
            drop(st);
            self.shared.space.notify_all();
            return Poll::Ready(Some(Ok(Chunk::Bytes(b))));
        }
        match std::mem::replace(&mut st.writer, WriterState::Closed) {
            WriterState::Open => {
                st.writer = WriterState::Open;
                // Register before unlocking: a write after this sees the waker.
                st.waker = Some(cx.waker().clone());
                Poll::Pending
            }
            WriterState::Closed => {
                self.ended = true;
                Poll::Ready(None)
            }
            WriterState::Failed(e) => {
                self.ended = true;
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}

impl Producer for OutputProducer {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

impl Drop for OutputProducer {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.producer_gone = true;
        st.queue.clear();
        st.queued = 0;
        drop(st);
        self.shared.space.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use std::thread;

    #[test]
    fn fed_from_another_thread_with_the_reader_parked_on_its_waker() {
        let (mut w, p) = output_with_capacity(64);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        let expected = data.clone();
        let writer = thread::spawn(move || {
            for piece in data.chunks(1000) {
                w.write_all(piece).unwrap();
                if piece[0] % 7 == 0 {
                    thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        });
        // `more()` parks the thread while pending; only the writer's wake
        // unparks it. The counters show how few times it had to wait.
        let mut p = p;
        let mut got = Vec::new();
        while let Some(c) = p.more().unwrap() {
            got.extend_from_slice(&c.into_bytes().unwrap());
        }
        writer.join().unwrap();
        assert_eq!(got, expected);
        let c = p.counters().unwrap();
        assert!(c.pendings <= c.chunks + 1, "{c:?}");
    }

    #[test]
    fn pending_until_written_and_woken_once() {
        let (mut w, mut p) = output();
        let (mut cx, wakes) = testing::counting_context();
        assert!(p.poll_more(&mut cx).is_pending());
        w.write_all(b"hi").unwrap();
        assert_eq!(wakes.count(), 1);
        assert!(matches!(p.poll_more(&mut cx), Poll::Ready(Some(Ok(_)))));
        assert!(p.poll_more(&mut cx).is_pending());
        drop(w);
        assert_eq!(wakes.count(), 2);
        assert!(matches!(p.poll_more(&mut cx), Poll::Ready(None)));
        assert!(matches!(p.poll_more(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn a_failed_writer_delivers_its_bytes_then_the_error() {
        let (mut w, p) = output();
        w.write_all(b"partial").unwrap();
        w.fail(io::Error::new(io::ErrorKind::TimedOut, "backend timed out"));
        let mut p = p;
        assert_eq!(p.more().unwrap().unwrap().len(), 7);
        assert_eq!(p.more().unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn writing_to_a_dropped_producer_is_a_broken_pipe() {
        let (mut w, p) = output();
        drop(p);
        assert_eq!(w.write(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn the_queue_never_exceeds_its_capacity() {
        let (mut w, mut p) = output_with_capacity(10);
        assert_eq!(w.write(&[0u8; 25]).unwrap(), 10);
        let h = thread::spawn(move || {
            w.write_all(&[1u8; 25]).unwrap();
        });
        let mut total = 0;
        while total < 35 {
            let c = p.more().unwrap().unwrap();
            assert!(c.len() <= 10);
            total += c.len();
        }
        h.join().unwrap();
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn conformance() {
        testing::check(
            || {
                let (mut w, p) = output();
                w.write_all(b"hello ").unwrap();
                w.send(Bytes::from_static(b"world")).unwrap();
                w.close();
                p
            },
            b"hello world",
        );
    }
}
