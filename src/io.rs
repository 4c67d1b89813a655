//! `std::io` adapters: a [`Read`] over any producer, a producer over any
//! blocking [`Read`], and a driver that writes a producer into any [`Write`]
//! with vectored writes.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};

use crate::chunk::Chunk;
use crate::produce::{Counters, More, Producer, with_thread_waker};

/// A [`Read`] over a producer.
///
/// Blocks (parks the thread, woken by the producer's waker) while the
/// producer is pending. File regions are read straight into the caller's
/// buffer, without an intermediate copy. A producer error is returned once,
/// after the bytes before it; then reads return `Ok(0)`.
#[derive(Debug)]
pub struct ProducerReader<P> {
    producer: P,
    /// The rest of the chunk being read.
    current: Option<Chunk>,
}

impl<P: Producer> ProducerReader<P> {
    /// A reader of `producer`'s output.
    pub fn new(producer: P) -> Self {
        ProducerReader {
            producer,
            current: None,
        }
    }

    /// The producer.
    pub fn get_ref(&self) -> &P {
        &self.producer
    }

    /// The producer, mutably.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.producer
    }

    /// The producer; the unread rest of the current chunk is dropped.
    pub fn into_inner(self) -> P {
        self.producer
    }
}

impl<P: Producer> Read for ProducerReader<P> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let chunk = match self.current.take() {
            Some(c) => c,
            None => match self.producer.more()? {
                Some(c) => c,
                None => return Ok(0),
            },
        };
        let n = (chunk.len().min(buf.len() as u64)) as usize;
        self.current = match chunk {
            Chunk::Bytes(b) => {
                buf[..n].copy_from_slice(&b[..n]);
                b.advance(n).map(Chunk::Bytes)
            }
            Chunk::File(r) => {
                r.read_into(&mut buf[..n])?;
                r.advance(n as u64).map(Chunk::File)
            }
        };
        Ok(n)
    }
}

/// A producer of what a blocking [`Read`] returns, in blocks.
///
/// Each `poll_more` makes one `read` call of at most the block size (retrying
/// `Interrupted`) and hands out what it returned; `Ok(0)` is the end. Meant
/// for blocking readers (standard input, pipes, files): the read blocks the
/// caller. A `WouldBlock` from a non-blocking reader is passed on as an
/// error, since this producer has no way to be woken; the reactor reads
/// sockets itself.
#[derive(Debug)]
pub struct ReadProducer<R> {
    reader: R,
    /// Never zero.
    block: usize,
    /// Scratch space read into; each block is split off it, so a short read
    /// leaves the rest of the allocation for the next one.
    buf: BytesMut,
    ended: bool,
    counters: Counters,
}

impl<R: Read> ReadProducer<R> {
    /// The default block size: 64 KiB.
    pub const DEFAULT_BLOCK: usize = 64 << 10;

    /// A producer of `reader`'s bytes in blocks of up to 64 KiB.
    pub fn new(reader: R) -> Self {
        ReadProducer {
            reader,
            block: Self::DEFAULT_BLOCK,
            buf: BytesMut::new(),
            ended: false,
            counters: Counters::default(),
        }
    }

    /// Reads at most `size` bytes a call.
    ///
    /// # Panics
    ///
    /// If `size` is 0.
    pub fn block_size(mut self, size: usize) -> Self {
        assert!(size > 0, "block size must not be zero");
        self.block = size;
        self
    }

    /// The reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader, mutably.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The reader.
    pub fn into_inner(self) -> R {
        self.reader
    }

    fn read_block(&mut self) -> More {
        if self.ended {
            return Poll::Ready(None);
        }
        self.buf.resize(self.block, 0);
        loop {
            match self.reader.read(&mut self.buf) {
                Ok(0) => {
                    self.ended = true;
                    return Poll::Ready(None);
                }
                Ok(n) => {
                    let n = n.min(self.block);
                    return Poll::Ready(Chunk::from_bytes(self.buf.split_to(n).freeze()).map(Ok));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

impl<R: Read> Producer for ReadProducer<R> {
    fn poll_more(&mut self, _cx: &mut Context<'_>) -> More {
        let more = self.read_block();
        self.counters.record(more)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

/// What [`Driver::write_to`] stopped at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriveStatus {
    /// Everything was written and the producer has ended.
    Done,
    /// The writer returned `WouldBlock`: call again when it is writable.
    WouldBlock,
    /// The producer is pending and nothing is left to write: call again when
    /// the waker in the context passed is woken.
    Pending,
}

/// The most slices handed to one vectored write, by [`Driver`] and by the
/// reactor's `sendmsg` alike: far under every supported platform's
/// `IOV_MAX` (1024 on Linux, macOS and the BSDs); writers that take fewer
/// just write fewer.
pub const MAX_SLICES: usize = 128;

/// One vectored write's worth of consecutive buffers: at most
/// [`MAX_SLICES`] of them and at most `max` bytes, the last one cut to fit.
/// The one place both write paths ([`Driver`], and the reactor's output
/// queue with `sendmsg`) gather their iovecs; [`advance`] is the other half.
pub(crate) struct Gathered<'a> {
    iov: [IoSlice<'a>; MAX_SLICES],
    /// Slices in use, a prefix of `iov`.
    n: usize,
    /// Bytes in those slices.
    len: usize,
}

impl<'a> Gathered<'a> {
    pub(crate) fn new(bufs: impl IntoIterator<Item = &'a [u8]>, max: usize) -> Gathered<'a> {
        let mut g = Gathered {
            iov: [IoSlice::new(&[]); MAX_SLICES],
            n: 0,
            len: 0,
        };
        for b in bufs {
            if g.n == MAX_SLICES || g.len >= max {
                break;
            }
            let take = b.len().min(max - g.len);
            g.iov[g.n] = IoSlice::new(&b[..take]);
            g.n += 1;
            g.len += take;
        }
        g
    }

    /// The slices, for `write_vectored` or `sendmsg`.
    pub(crate) fn slices(&self) -> &[IoSlice<'a>] {
        &self.iov[..self.n]
    }

    /// The bytes in them: what a write that took everything returns.
    #[cfg_attr(not(feature = "reactor"), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// A queued piece of output whose written front can be cut off.
pub(crate) trait Unwritten: Sized {
    /// Its bytes.
    fn unwritten_len(&self) -> u64;
    /// What is left after its first `n` bytes were written (`0 < n <
    /// unwritten_len`).
    fn after(self, n: usize) -> Self;
}

impl Unwritten for Bytes {
    fn unwritten_len(&self) -> u64 {
        self.len() as u64
    }

    fn after(mut self, n: usize) -> Bytes {
        Buf::advance(&mut self, n);
        self
    }
}

impl Unwritten for Chunk {
    fn unwritten_len(&self) -> u64 {
        self.len()
    }

    fn after(self, n: usize) -> Chunk {
        match self {
            Chunk::Bytes(b) => Chunk::from_bytes(b.slice(n..)).expect("n < len"),
            Chunk::File(r) => Chunk::from(r.advance(n as u64).expect("n < len")),
        }
    }
}

/// Drops `n` written bytes from the front of `queue`, so the next write
/// resumes exactly at the first unwritten byte: pieces written in full are
/// popped, a partly written one is replaced by its rest. `each(piece, k)`
/// is told of every piece touched and the `k` bytes of it written (`k` is
/// its whole length if it was popped).
///
/// # Panics
///
/// If `n` is more than the queue holds.
pub(crate) fn advance<T: Unwritten>(
    queue: &mut VecDeque<T>,
    mut n: usize,
    mut each: impl FnMut(&T, usize),
) {
    while n > 0 {
        let front = queue.pop_front().expect("wrote more than was queued");
        let len = front.unwritten_len();
        if (n as u64) < len {
            each(&front, n);
            queue.push_front(front.after(n));
            return;
        }
        each(&front, len as usize);
        n -= len as usize;
    }
}

/// The default most bytes a [`Driver`] gathers into one write
/// ([`Driver::max_write`]): 1 MiB. (The reactor's own default,
/// `reactor::DEFAULT_MAX_WRITE`, is 256 KiB per `sendmsg`.)
pub const DEFAULT_DRIVER_WRITE: usize = 1 << 20;

/// Drives a producer into a [`Write`], gathering consecutive chunks into one
/// vectored write.
///
/// - Up to [`MAX_SLICES`] chunks, and at most
///   [`max_write`](Self::max_write) bytes, go into each `write_vectored`
///   (gathered, and resumed after a partial write, by the same code as the
///   reactor's `sendmsg`).
/// - A partial write resumes exactly after the last byte written.
/// - `Interrupted` is retried; `Ok(0)` for a non-empty write becomes
///   [`io::ErrorKind::WriteZero`]; `WouldBlock` returns
///   [`DriveStatus::WouldBlock`] with everything kept, to be resumed later.
/// - File regions are read in pieces of at most `max_write` bytes.
/// - A producer error is returned after the bytes handed out before it have
///   been written: nothing accepted is lost.
#[derive(Debug)]
pub struct Driver<P> {
    producer: P,
    /// Bytes taken from the producer and not written yet, in order.
    queue: VecDeque<Bytes>,
    /// Total bytes in `queue`.
    queued: usize,
    /// The rest of a file region being read in pieces.
    region: Option<Chunk>,
    source: Source,
    max_write: usize,
    written: u64,
}

/// Where the producer stands, seen from the driver.
#[derive(Debug)]
enum Source {
    /// Ask it for more.
    Open,
    /// It failed; report this once the queue is written.
    Failed(io::Error),
    /// It ended (or its error was reported).
    Ended,
}

impl<P: Producer> Driver<P> {
    /// A driver of `producer`.
    pub fn new(producer: P) -> Self {
        Driver {
            producer,
            queue: VecDeque::new(),
            queued: 0,
            region: None,
            source: Source::Open,
            max_write: DEFAULT_DRIVER_WRITE,
            written: 0,
        }
    }

    /// Sets the most bytes gathered into one write (0 is taken as 1; default
    /// [`DEFAULT_DRIVER_WRITE`]).
    pub fn max_write(mut self, bytes: usize) -> Self {
        self.max_write = bytes.max(1);
        self
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Bytes taken from the producer and not written yet.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// The producer.
    pub fn get_ref(&self) -> &P {
        &self.producer
    }

    /// The producer, mutably.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.producer
    }

    /// The producer; queued bytes are dropped.
    pub fn into_inner(self) -> P {
        self.producer
    }

    /// Writes until done, the writer would block, or the producer is pending
    /// with nothing left to write.
    pub fn write_to<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        cx: &mut Context<'_>,
    ) -> io::Result<DriveStatus> {
        loop {
            let pending = self.fill(cx)?;
            if self.queue.is_empty() {
                return match std::mem::replace(&mut self.source, Source::Ended) {
                    Source::Ended => Ok(DriveStatus::Done),
                    Source::Failed(e) => Err(e),
                    Source::Open => {
                        self.source = Source::Open;
                        debug_assert!(pending);
                        Ok(DriveStatus::Pending)
                    }
                };
            }
            let r = {
                let batch = Gathered::new(self.queue.iter().map(|b| &b[..]), self.max_write);
                w.write_vectored(batch.slices())
            };
            match r {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "writer accepted no bytes",
                    ));
                }
                Ok(n) => self.consume(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(DriveStatus::WouldBlock);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes chunks from the producer until a write's worth is queued.
    /// Returns whether the producer was found pending.
    fn fill(&mut self, cx: &mut Context<'_>) -> io::Result<bool> {
        while self.queue.len() < MAX_SLICES && self.queued < self.max_write {
            let chunk = match self.region.take() {
                Some(c) => c,
                None => {
                    if !matches!(self.source, Source::Open) {
                        return Ok(false);
                    }
                    match self.producer.poll_more(cx) {
                        Poll::Ready(Some(Ok(c))) => c,
                        Poll::Ready(Some(Err(e))) => {
                            self.source = Source::Failed(e);
                            return Ok(false);
                        }
                        Poll::Ready(None) => {
                            self.source = Source::Ended;
                            return Ok(false);
                        }
                        Poll::Pending => return Ok(true),
                    }
                }
            };
            let (bytes, rest) = match chunk {
                Chunk::Bytes(b) => (b.into_bytes(), None),
                region @ Chunk::File(_) => match region.split_bytes(self.max_write - self.queued) {
                    Ok(split) => split,
                    Err(e) => {
                        self.source = Source::Failed(e);
                        return Ok(false);
                    }
                },
            };
            self.region = rest;
            self.queued += bytes.len();
            self.queue.push_back(bytes);
        }
        Ok(false)
    }

    /// Drops `n` written bytes from the front of the queue.
    fn consume(&mut self, n: usize) {
        self.written += n as u64;
        self.queued -= n;
        advance(&mut self.queue, n, |_, _| {});
    }
}

/// Writes all of `producer`'s output into `w`, blocking while the producer
/// is pending, and returns the bytes written.
///
/// Uses [`Driver`]: vectored writes, partial writes resumed, `Interrupted`
/// retried. A writer that returns `WouldBlock` fails the copy with that
/// error (use [`Driver`] directly with non-blocking writers).
pub fn copy<P: Producer, W: Write + ?Sized>(producer: P, w: &mut W) -> io::Result<u64> {
    let mut drive = Driver::new(producer);
    loop {
        match with_thread_waker(|cx| drive.write_to(w, cx))? {
            DriveStatus::Done => return Ok(drive.written()),
            DriveStatus::Pending => std::thread::park(),
            DriveStatus::WouldBlock => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "writer would block in a blocking copy",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Script, Step};
    use crate::{FileProducer, ProducerExt, from_bytes, produce::BytesProducer};

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 256) as u8).collect()
    }

    #[test]
    fn reader_reads_bytes_and_regions() {
        let d = data(10_000);
        let mut out = Vec::new();
        ProducerReader::new(BytesProducer::with_piece_size(d.clone(), 333).unwrap())
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, d);
        let f = testing::file_with(&d);
        let mut r = ProducerReader::new(FileProducer::from_file(f).unwrap().regions());
        let mut out = Vec::new();
        let mut buf = [0u8; 777];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, d);
    }

    #[test]
    fn reader_returns_bytes_before_an_error_then_the_error() {
        let p = Script::new([
            Step::chunk("abc"),
            Step::Pending,
            Step::error(io::ErrorKind::ConnectionReset),
        ]);
        let mut r = ProducerReader::new(p);
        let mut buf = [0u8; 10];
        assert_eq!(r.read(&mut buf).unwrap(), 3);
        assert_eq!(
            r.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::ConnectionReset
        );
        assert_eq!(r.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn read_producer_conformance_and_errors() {
        let d = data(100_000);
        for block in [1, 1000, 1 << 20] {
            testing::check(|| ReadProducer::new(&d[..]).block_size(block), &d);
        }
        struct Broken(usize);
        impl Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0 += 1;
                match self.0 {
                    1 => Err(io::ErrorKind::Interrupted.into()),
                    2 => {
                        buf[0] = b'x';
                        Ok(1)
                    }
                    _ => Err(io::ErrorKind::ConnectionReset.into()),
                }
            }
        }
        let mut p = ReadProducer::new(Broken(0));
        assert_eq!(p.more().unwrap().unwrap().len(), 1);
        assert_eq!(p.more().unwrap_err().kind(), io::ErrorKind::ConnectionReset);
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn copy_writes_everything_including_regions() {
        let d = data(3 << 20);
        let f = testing::file_with(&d);
        let p = from_bytes("head")
            .then(FileProducer::from_file(f).unwrap().regions())
            .then(from_bytes("tail"));
        let mut out = Vec::new();
        assert_eq!(copy(p, &mut out).unwrap(), d.len() as u64 + 8);
        assert_eq!(&out[..4], b"head");
        assert_eq!(&out[4..4 + d.len()], &d[..]);
        assert_eq!(&out[4 + d.len()..], b"tail");
    }

    #[test]
    fn gathering_stops_at_the_slice_limit_and_cuts_the_last_slice_to_the_byte_cap() {
        let bufs = vec![vec![1u8; 10]; MAX_SLICES + 5];
        let g = Gathered::new(bufs.iter().map(|b| &b[..]), usize::MAX);
        assert_eq!(g.slices().len(), MAX_SLICES);
        assert_eq!(g.len(), 10 * MAX_SLICES);
        let g = Gathered::new(bufs.iter().map(|b| &b[..]), 25);
        let lens: Vec<usize> = g.slices().iter().map(|s| s.len()).collect();
        assert_eq!(lens, [10, 10, 5]);
        assert_eq!(g.len(), 25);
    }

    #[test]
    fn advancing_resumes_at_the_first_unwritten_byte_of_bytes_and_regions() {
        let file = std::sync::Arc::new(testing::file_with(b"0123456789"));
        let region = crate::FileRegion::new(file, 2, 6).unwrap();
        let mut q: VecDeque<Chunk> = [
            Chunk::from_bytes("abc").unwrap(),
            Chunk::from(region),
            Chunk::from_bytes("xyz").unwrap(),
        ]
        .into();
        let mut seen = Vec::new();
        advance(&mut q, 5, |c, k| seen.push((c.len(), k)));
        assert_eq!(seen, [(3, 3), (6, 2)]);
        assert_eq!(q[0].clone().into_bytes().unwrap(), &b"4567"[..]);
        advance(&mut q, 5, |_, _| {});
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].as_bytes().unwrap(), &b"yz"[..]);
        let mut b: VecDeque<Bytes> = [Bytes::from("hello")].into();
        advance(&mut b, 2, |_, _| {});
        assert_eq!(b[0], "llo");
    }
}
