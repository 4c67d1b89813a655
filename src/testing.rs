//! Helpers for testing producers: the conformance check, scripted producers
//! and counting wakers.
//!
//! [`check`] verifies the [`Producer` contract](crate::produce#the-contract)
//! on any producer. It is public so that producers written outside this crate
//! can be held to the same rules:
//!
//! ```
//! use producers::{ProducerExt, from_bytes, testing};
//!
//! testing::check(|| from_bytes("hello").pieces(2).glob(3), b"hello");
//! ```

use std::fs::File;
use std::io::{self, Seek, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use bytes::Bytes;

use crate::chunk::Chunk;
use crate::produce::{Counters, More, Producer};

/// Drives a fresh producer from `make` to its end and checks the contract:
///
/// - no chunk is empty;
/// - every `exact_len` it gives (before each call, and at the start) equals
///   the bytes that actually followed;
/// - the end is sticky (asked three more times, still the end);
/// - its counters, if it keeps them, match what was handed out;
/// - the bytes (file regions read) equal `expected`.
///
/// Pending is allowed; the check parks until woken, so a producer that never
/// wakes its waker hangs the test rather than passing by busy-polling.
///
/// # Panics
///
/// On the first broken rule, with a message that says which.
#[track_caller]
pub fn check<P: Producer>(make: impl Fn() -> P, expected: &[u8]) {
    let mut p = make();
    let mut out = Vec::with_capacity(expected.len());
    let mut hints: Vec<(usize, u64)> = Vec::new();
    let mut chunks = 0u64;
    loop {
        if let Some(n) = p.exact_len() {
            hints.push((out.len(), n));
        }
        match p.more() {
            Ok(Some(c)) => {
                assert!(!c.is_empty(), "an empty chunk after {} bytes", out.len());
                chunks += 1;
                let b = c.into_bytes().expect("reading a file region");
                out.extend_from_slice(&b);
            }
            Ok(None) => break,
            Err(e) => panic!("unexpected error after {} bytes: {e}", out.len()),
        }
    }
    for _ in 0..3 {
        assert!(matches!(p.more(), Ok(None)), "the end is not sticky");
    }
    assert_eq!(p.exact_len().unwrap_or(0), 0, "exact_len after the end");
    for (at, hint) in hints {
        assert_eq!(
            hint,
            (out.len() - at) as u64,
            "dishonest exact_len at byte {at}"
        );
    }
    if let Some(c) = p.counters() {
        assert_eq!(c.bytes, out.len() as u64, "counters.bytes");
        assert_eq!(c.chunks, chunks, "counters.chunks");
        assert!(c.calls > chunks, "counters.calls");
    }
    assert!(
        out == expected,
        "bytes differ: got {} bytes, expected {}",
        out.len(),
        expected.len()
    );
}

/// Defines a `#[test]` that runs [`check`] on a producer expression.
///
/// ```
/// producers::conformance!(hello_in_pieces, producers::produce::BytesProducer::with_piece_size("hello", 2).unwrap(), b"hello");
/// ```
#[macro_export]
macro_rules! conformance {
    ($name:ident, $producer:expr, $expected:expr $(,)?) => {
        #[test]
        fn $name() {
            $crate::testing::check(|| $producer, $expected);
        }
    };
}

/// Reads `p` to its end or its first error: the bytes handed out (file
/// regions read) and how it ended. Checks that an error is final (the
/// next call is the end).
#[track_caller]
pub fn drain<P: Producer>(mut p: P) -> (Vec<u8>, io::Result<()>) {
    let mut out = Vec::new();
    loop {
        match p.more() {
            Ok(Some(c)) => out.extend_from_slice(&c.into_bytes().expect("reading a file region")),
            Ok(None) => return (out, Ok(())),
            Err(e) => {
                assert!(
                    matches!(p.more(), Ok(None)),
                    "errors are final: after {} bytes and {e}",
                    out.len()
                );
                return (out, Err(e));
            }
        }
    }
}

/// The sizes of the chunks a producer hands out, to its end.
#[track_caller]
pub fn chunk_sizes<P: Producer>(mut p: P) -> Vec<u64> {
    let mut v = Vec::new();
    while let Some(c) = p.more().expect("producer failed") {
        v.push(c.len());
    }
    v
}

/// A new file holding `data`, already unlinked from its directory where the
/// platform allows, positioned at its start.
#[track_caller]
pub fn file_with(data: &[u8]) -> File {
    static N: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "producers-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let mut f = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .expect("creating a temporary file");
    #[cfg(unix)]
    std::fs::remove_file(&path).expect("unlinking a temporary file");
    f.write_all(data).expect("writing a temporary file");
    f.rewind().expect("rewinding a temporary file");
    f
}

/// One step of a [`Script`].
#[derive(Debug)]
pub enum Step {
    /// Hand out this chunk.
    Chunk(Chunk),
    /// Return `Pending` once (waking the waker at once, so drivers go on).
    Pending,
    /// Fail with an error of this kind.
    Error(io::ErrorKind),
}

impl Step {
    /// A step handing out `bytes`.
    ///
    /// # Panics
    ///
    /// If `bytes` is empty.
    pub fn chunk(bytes: impl Into<Bytes>) -> Step {
        Step::Chunk(Chunk::from_bytes(bytes).expect("a script chunk must not be empty"))
    }

    /// A step failing with `kind`.
    pub fn error(kind: io::ErrorKind) -> Step {
        Step::Error(kind)
    }
}

/// A producer that plays a fixed script of chunks, pendings and errors,
/// then ends. After an error it ends, as the contract requires.
#[derive(Debug)]
pub struct Script {
    steps: std::collections::VecDeque<Step>,
    counters: Counters,
}

impl Script {
    /// A producer playing `steps` in order.
    pub fn new(steps: impl IntoIterator<Item = Step>) -> Script {
        Script {
            steps: steps.into_iter().collect(),
            counters: Counters::default(),
        }
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        match self.steps.pop_front() {
            None => Poll::Ready(None),
            Some(Step::Chunk(c)) => Poll::Ready(Some(Ok(c))),
            Some(Step::Pending) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(Step::Error(kind)) => {
                self.steps.clear();
                Poll::Ready(Some(Err(io::Error::new(kind, "scripted error"))))
            }
        }
    }
}

impl Producer for Script {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

/// Counts how often a waker made by [`counting_context`] was woken.
#[derive(Debug, Default)]
pub struct WakeCount(AtomicUsize);

impl WakeCount {
    /// Wakes so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A context whose waker counts its wakes, for asserting that a producer
/// registers (and is woken) exactly when it should.
///
/// The waker is leaked to give the context a `'static` lifetime; meant for
/// tests only.
pub fn counting_context() -> (Context<'static>, Arc<WakeCount>) {
    let count = Arc::new(WakeCount::default());
    let waker: &'static Waker = Box::leak(Box::new(Waker::from(count.clone())));
    (Context::from_waker(waker), count)
}

/// A current-thread tokio runtime with its I/O and time drivers: what the
/// tokio adapters' tests run on.
#[cfg(feature = "tokio")]
pub fn tokio_runtime() -> ::tokio::runtime::Runtime {
    ::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
}
