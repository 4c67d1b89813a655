//! The [`Producer`] trait, its contract, and the combinators built on it.
//!
//! # The contract
//!
//! A producer hands out its output one [`Chunk`] at a time, on demand, through
//! [`Producer::poll_more`]. Each call has exactly one of four outcomes:
//!
//! | outcome | value | meaning |
//! |---|---|---|
//! | a chunk | `Poll::Ready(Some(Ok(chunk)))` | the next piece of output; never empty |
//! | pending | `Poll::Pending` | nothing now, more later; the waker in `cx` will be woken when there is |
//! | end | `Poll::Ready(None)` | no more output, ever |
//! | an error | `Poll::Ready(Some(Err(e)))` | the output cannot be completed; `e.kind()` is preserved through every combinator |
//!
//! The rules every producer in this crate keeps, and that
//! `testing::check` (feature `testing`) verifies:
//!
//! 1. **No empty chunks.** Medusa used `""` to mean "end", so a producer
//!    that happened to have nothing was taken as finished. Here end is
//!    `None`, and a [`Chunk`] cannot be empty.
//! 2. **End is sticky.** After `None`, every call returns `None`.
//! 3. **Errors are final.** After an error, every call returns `None`; the
//!    consumer of the output has already been told the stream is broken.
//! 4. **Pending registers a wake-up.** A producer returns `Pending` only after
//!    arranging for `cx.waker()` to be woken when progress is possible (the
//!    same rule as `Future`/`Stream`). Nothing ever busy-polls a producer:
//!    Medusa's loop asked idle producers for more on every pass.
//! 5. **Honest length.** [`Producer::exact_len`] is either `None` or the
//!    exact number of bytes the remaining calls will produce. A server uses
//!    it to send `Content-Length` instead of chunked coding.
//! 6. **File regions are transparent.** A combinator that needs the bytes of
//!    a [`Chunk::File`] reads them (in bounded pieces, see
//!    [`Chunk::split_bytes`]); one that does not passes the region on, so the
//!    writer at the end can `sendfile` it.
//!
//! Synchronous callers use [`Producer::more`], which parks the thread while
//! the producer is pending and is woken by the producer's waker.
//!
//! # Object safety and static dispatch
//!
//! `Producer` is object safe: a FIFO of mixed producers holds
//! `Box<dyn Producer + Send>`. Every combinator is also a generic wrapper
//! (`Globbed<P>`, `Hooked<P, F>` …) so a pipeline built from concrete types is
//! statically dispatched end to end. Wrappers are `Send` when their parts are.
//!
//! # Combinators read left to right
//!
//! ```
//! use producers::{ProducerExt, from_bytes};
//!
//! let mut logged = 0;
//! let out = from_bytes(vec![b'x'; 100_000])
//!     .pieces(100)
//!     .glob(16 << 10)
//!     .hooked(|n, _err| logged = n)
//!     .collect_bytes()
//!     .unwrap();
//! assert_eq!(out.len(), 100_000);
//! assert_eq!(logged, 100_000);
//! ```

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use bytes::{Bytes, BytesMut};

use crate::chunk::Chunk;

mod bytes_producer;
mod chain;
mod deferred;
mod file;
mod glob;
mod hooked;
mod lines;
mod list;
mod output;

pub use bytes_producer::{BytesProducer, from_bytes};
pub use chain::{Chain, Then, WhenEmpty};
pub use deferred::{Deferred, deferred};
pub use file::FileProducer;
pub use glob::Globbed;
pub use hooked::Hooked;
pub use lines::LinesProducer;
pub use list::ListProducer;
pub use output::{
    DEFAULT_OUTPUT_CAPACITY, OutputProducer, OutputWriter, output, output_with_capacity,
};

/// The result of one [`Producer::poll_more`] call.
pub type More = Poll<Option<io::Result<Chunk>>>;

/// A source of output, handed out one chunk at a time on demand.
///
/// See the [module documentation](self) for the full contract.
pub trait Producer {
    /// Asks for the next chunk of output.
    ///
    /// Returns a chunk, `Pending` (after registering `cx.waker()`), `None`
    /// at the end, or an error. See the [contract](self#the-contract).
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More;

    /// The exact number of bytes still to come, if the producer knows it.
    ///
    /// Must be honest: `Some(n)` means the remaining chunks add up to exactly
    /// `n` bytes (unless an error cuts the stream short). The default is
    /// `None` (unknown).
    fn exact_len(&self) -> Option<u64> {
        None
    }

    /// This producer's counters: calls, chunks, bytes and pendings handed out
    /// so far. Every producer in this crate keeps them; the default (for
    /// producers outside it) is `None`.
    fn counters(&self) -> Option<Counters> {
        None
    }

    /// Blocking convenience: the next chunk, parking the current thread
    /// while the producer is pending.
    ///
    /// The thread is woken by the producer's waker, never by a timer, so a
    /// pending producer costs no CPU.
    fn more(&mut self) -> io::Result<Option<Chunk>> {
        with_thread_waker(|cx| {
            loop {
                match self.poll_more(cx) {
                    Poll::Ready(Some(r)) => return r.map(Some),
                    Poll::Ready(None) => return Ok(None),
                    Poll::Pending => thread::park(),
                }
            }
        })
    }
}

impl<P: Producer + ?Sized> Producer for Box<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        (**self).poll_more(cx)
    }
    fn exact_len(&self) -> Option<u64> {
        (**self).exact_len()
    }
    fn counters(&self) -> Option<Counters> {
        (**self).counters()
    }
}

impl<P: Producer + ?Sized> Producer for &mut P {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        (**self).poll_more(cx)
    }
    fn exact_len(&self) -> Option<u64> {
        (**self).exact_len()
    }
    fn counters(&self) -> Option<Counters> {
        (**self).counters()
    }
}

impl<P: Producer + Unpin + ?Sized> Producer for Pin<&mut P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        (**self).poll_more(cx)
    }
    fn exact_len(&self) -> Option<u64> {
        (**self).exact_len()
    }
    fn counters(&self) -> Option<Counters> {
        (**self).counters()
    }
}

/// What a producer has handed out so far, for tuning chunk sizes from data.
///
/// Counted on the output side of each producer: `calls` to `poll_more`,
/// `chunks` and `bytes` returned, and `pendings` returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Calls to `poll_more`.
    pub calls: u64,
    /// Chunks handed out.
    pub chunks: u64,
    /// Payload bytes handed out.
    pub bytes: u64,
    /// Times `Pending` was returned.
    pub pendings: u64,
}

impl Counters {
    /// Records one call's outcome and passes it through.
    #[inline]
    pub fn record(&mut self, more: More) -> More {
        self.calls += 1;
        match &more {
            Poll::Ready(Some(Ok(c))) => {
                self.chunks += 1;
                self.bytes += c.len();
            }
            Poll::Pending => self.pendings += 1,
            _ => {}
        }
        more
    }

    /// The mean chunk size so far, in bytes (0 before the first chunk).
    pub fn mean_chunk(&self) -> u64 {
        self.bytes.checked_div(self.chunks).unwrap_or(0)
    }
}

/// Extension methods that build pipelines left to right.
///
/// Implemented for every [`Producer`] that is `Sized`.
pub trait ProducerExt: Producer + Sized {
    /// Re-cuts this producer's output into pieces of at most `size` bytes,
    /// without copying memory chunks (file regions are read as needed).
    ///
    /// # Panics
    ///
    /// If `size` is 0 (like [`slice::chunks`]); use
    /// [`BytesProducer::with_piece_size`] for a checked constructor.
    fn pieces(self, size: usize) -> Pieces<Self> {
        Pieces::new(self, size)
    }

    /// Coalesces small chunks into buffers of `target` bytes. See [`Globbed`].
    fn glob(self, target: usize) -> Globbed<Self> {
        Globbed::new(self, target)
    }

    /// Calls `hook(total_bytes, error)` exactly once when this producer ends,
    /// fails, or is dropped before its end. See [`Hooked`].
    fn hooked<F>(self, hook: F) -> Hooked<Self, F>
    where
        F: FnOnce(u64, Option<&io::Error>),
    {
        Hooked::new(self, hook)
    }

    /// This producer's output followed by `next`'s.
    fn then<Q: Producer>(self, next: Q) -> Then<Self, Q> {
        Then::new(self, next)
    }

    // --- codec combinators (chunked, gzip/zlib/deflate, dot-stuffing) ---
    // Each codec adds its methods here, grouped by codec.

    /// Encodes this producer's output with the HTTP/1.1 chunked transfer
    /// coding: size line, payload (never copied; file regions stay regions)
    /// and CRLF per chunk, then the last-chunk. Builder methods add
    /// extensions, trailers and a maximum chunk size. See
    /// [`Chunked`](crate::codec::chunked::Chunked).
    fn chunked(self) -> crate::codec::chunked::Chunked<Self> {
        crate::codec::chunked::Chunked::new(self)
    }

    /// Decodes this producer's chunked-coded output, strictly and with the
    /// default limits. See [`Dechunked`](crate::codec::chunked::Dechunked).
    fn dechunked(self) -> crate::codec::chunked::Dechunked<Self> {
        crate::codec::chunked::Dechunked::new(self, crate::codec::chunked::ChunkedDecoder::new())
    }

    /// Dot-stuffs this producer's output for SMTP/NNTP (RFC 5321 section
    /// 4.5.2): a `.` is added to every line that starts with one, the first
    /// included. Chain [`.terminated(true)`](crate::codec::dotstuff::DotStuffed::terminated)
    /// to close it with `CRLF.CRLF`. See [`DotStuffed`](crate::codec::dotstuff::DotStuffed).
    fn dot_stuffed(self) -> crate::codec::dotstuff::DotStuffed<Self> {
        crate::codec::dotstuff::DotStuffed::new(self)
    }

    /// Un-stuffs this producer's dot-stuffed output, ending at the
    /// end-of-data line `CRLF.CRLF`; fails with `InvalidData` if the output
    /// ends before it. See [`DotUnstuffed`](crate::codec::dotstuff::DotUnstuffed).
    fn dot_unstuffed(self) -> crate::codec::dotstuff::DotUnstuffed<Self> {
        crate::codec::dotstuff::DotUnstuffed::new(self)
    }

    /// Replaces every occurrence of `find` by `replace`, however the output
    /// is cut into chunks (Medusa's `escaping_producer`). See
    /// [`Escaped`](crate::codec::escape::Escaped).
    ///
    /// # Panics
    ///
    /// If `find` is empty.
    fn escaped(
        self,
        find: impl Into<Bytes>,
        replace: impl Into<Bytes>,
    ) -> crate::codec::escape::Escaped<Self> {
        crate::codec::escape::Escaped::new(self, crate::codec::escape::Escaper::new(find, replace))
    }

    /// Compresses this producer's output as gzip (RFC 1952) at `level`
    /// (0-9). See [`Compressed`](crate::codec::gzip::Compressed) and
    /// [`FlushPolicy`](crate::codec::gzip::FlushPolicy).
    ///
    /// # Panics
    ///
    /// If `level` is above 9.
    #[cfg(feature = "gzip")]
    fn gzip(self, level: u32) -> crate::codec::gzip::Compressed<Self> {
        crate::codec::gzip::Compressed::new(self, crate::codec::gzip::Format::Gzip, level)
    }

    /// Compresses this producer's output as zlib (RFC 1950; HTTP's
    /// `Content-Encoding: deflate`) at `level` (0-9).
    ///
    /// # Panics
    ///
    /// If `level` is above 9.
    #[cfg(feature = "gzip")]
    fn zlib(self, level: u32) -> crate::codec::gzip::Compressed<Self> {
        crate::codec::gzip::Compressed::new(self, crate::codec::gzip::Format::Zlib, level)
    }

    /// Compresses this producer's output as raw deflate (RFC 1951, no
    /// header or check) at `level` (0-9).
    ///
    /// # Panics
    ///
    /// If `level` is above 9.
    #[cfg(feature = "gzip")]
    fn deflate(self, level: u32) -> crate::codec::gzip::Compressed<Self> {
        crate::codec::gzip::Compressed::new(self, crate::codec::gzip::Format::Deflate, level)
    }

    /// Decodes this producer's output as gzip (all members), with a cap on
    /// the decompressed size. See [`Decompressed`](crate::codec::gzip::Decompressed).
    #[cfg(feature = "gzip")]
    fn gunzip(self) -> crate::codec::gzip::Decompressed<Self> {
        crate::codec::gzip::Decompressed::new(self, crate::codec::gzip::Format::Gzip)
    }

    /// Decodes this producer's output as zlib, with a cap on the
    /// decompressed size.
    #[cfg(feature = "gzip")]
    fn unzlib(self) -> crate::codec::gzip::Decompressed<Self> {
        crate::codec::gzip::Decompressed::new(self, crate::codec::gzip::Format::Zlib)
    }

    /// Decodes this producer's output as raw deflate, with a cap on the
    /// decompressed size.
    #[cfg(feature = "gzip")]
    fn inflate(self) -> crate::codec::gzip::Decompressed<Self> {
        crate::codec::gzip::Decompressed::new(self, crate::codec::gzip::Format::Deflate)
    }

    // --- end of codec combinators ---

    /// Boxes this producer for a FIFO of mixed producers.
    fn boxed(self) -> Box<dyn Producer + Send>
    where
        Self: Send + 'static,
    {
        Box::new(self)
    }

    /// Reads the whole output into one buffer, blocking while pending.
    /// File regions are read. Meant for tests and small outputs.
    fn collect_bytes(mut self) -> io::Result<Bytes> {
        let mut out = BytesMut::new();
        while let Some(c) = self.more()? {
            out.extend_from_slice(&c.into_bytes()?);
        }
        Ok(out.freeze())
    }
}

impl<P: Producer> ProducerExt for P {}

mod pieces;
pub use pieces::Pieces;

/// Runs `f` with a context whose waker unparks the current thread. The
/// waker is made once per thread, so blocking calls allocate nothing.
pub(crate) fn with_thread_waker<R>(f: impl FnOnce(&mut Context<'_>) -> R) -> R {
    thread_local! {
        static WAKER: Waker = thread_waker();
    }
    WAKER.with(|w| f(&mut Context::from_waker(w)))
}

/// A waker that unparks the thread that made it.
fn thread_waker() -> Waker {
    struct ThreadWaker(Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    Waker::from(Arc::new(ThreadWaker(thread::current())))
}
