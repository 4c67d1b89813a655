//! [`Driver`]: a producer written into a tokio [`AsyncWrite`], with
//! vectored writes, and `sendfile` for file regions on a [`TcpStream`].

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use ::tokio::io::AsyncWrite;
use ::tokio::net::TcpStream;
use bytes::Bytes;

use super::file::OffloadedFile;
use crate::chunk::{Chunk, FileRegion};
use crate::io::{DEFAULT_DRIVER_WRITE, Gathered, MAX_SLICES, advance};
use crate::produce::Producer;

/// Where a [`Driver`] writes: an [`AsyncWrite`] that may also send file
/// regions itself, without copying them through user space.
///
/// Implemented for [`TcpStream`] and its write halves (`sendfile` on Linux,
/// copying elsewhere) and for [`Copying`], which wraps any other
/// [`AsyncWrite`] (a `DuplexStream`, a TLS stream, a Unix socket …) and
/// has the driver read regions and write their bytes.
pub trait Target: AsyncWrite + Unpin {
    /// Whether [`poll_send_region`](Target::poll_send_region) sends file
    /// regions; when false (the default) the driver reads their bytes and
    /// writes them.
    fn sends_regions(&self) -> bool {
        false
    }

    /// Sends the front of `region` (not necessarily all of it) and returns
    /// how many bytes went, or `Pending` after registering `cx`'s waker.
    /// Called only if [`sends_regions`](Target::sends_regions) is true.
    ///
    /// Returning `Ok(0)` is not allowed: a file that ends before the region
    /// is an [`io::ErrorKind::UnexpectedEof`] error.
    fn poll_send_region(
        &mut self,
        cx: &mut Context<'_>,
        region: &FileRegion,
    ) -> Poll<io::Result<usize>> {
        let _ = (cx, region);
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this target does not send file regions",
        )))
    }
}

impl<T: Target + ?Sized> Target for &mut T {
    fn sends_regions(&self) -> bool {
        (**self).sends_regions()
    }

    fn poll_send_region(
        &mut self,
        cx: &mut Context<'_>,
        region: &FileRegion,
    ) -> Poll<io::Result<usize>> {
        (**self).poll_send_region(cx, region)
    }
}

impl Target for TcpStream {
    fn sends_regions(&self) -> bool {
        sendfile::usable()
    }

    fn poll_send_region(
        &mut self,
        cx: &mut Context<'_>,
        region: &FileRegion,
    ) -> Poll<io::Result<usize>> {
        sendfile::poll(self, cx, region)
    }
}

impl Target for ::tokio::net::tcp::OwnedWriteHalf {
    fn sends_regions(&self) -> bool {
        sendfile::usable()
    }

    fn poll_send_region(
        &mut self,
        cx: &mut Context<'_>,
        region: &FileRegion,
    ) -> Poll<io::Result<usize>> {
        sendfile::poll(self.as_ref(), cx, region)
    }
}

impl Target for ::tokio::net::tcp::WriteHalf<'_> {
    fn sends_regions(&self) -> bool {
        sendfile::usable()
    }

    fn poll_send_region(
        &mut self,
        cx: &mut Context<'_>,
        region: &FileRegion,
    ) -> Poll<io::Result<usize>> {
        sendfile::poll(self.as_ref(), cx, region)
    }
}

/// `sendfile(2)` under tokio's readiness, where the platform has it.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod sendfile {
    use std::io;
    use std::sync::OnceLock;
    use std::task::{Context, Poll, ready};

    use ::tokio::io::Interest;
    use ::tokio::net::TcpStream;

    use crate::chunk::{FileRegion, shrunk};

    /// The most bytes one call asks for: 1 MiB. The socket is
    /// non-blocking, but a call returns early only when the socket buffer
    /// fills: while the peer keeps up, one uncapped call sent a whole
    /// 256 MiB file (100 ms holding the worker, seen in
    /// `benches/tokio_sendfile.rs`). At 1 MiB a call takes well under a
    /// millisecond, and the syscall costs nothing next to the bytes.
    const MAX_SENDFILE: usize = 1 << 20;

    /// Whether the process ignores `SIGPIPE`, checked once (see the module
    /// docs).
    pub(super) fn usable() -> bool {
        static IGNORED: OnceLock<bool> = OnceLock::new();
        *IGNORED.get_or_init(|| {
            std::fs::read_to_string("/proc/self/status").is_ok_and(|s| sigpipe_ignored_in(&s))
        })
    }

    /// Whether the `SigIgn` mask of a `/proc/PID/status` text has `SIGPIPE`
    /// (signal 13, bit 12, on every Linux architecture).
    pub(super) fn sigpipe_ignored_in(status: &str) -> bool {
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << 12) != 0)
    }

    pub(super) fn poll(
        tcp: &TcpStream,
        cx: &mut Context<'_>,
        region: &FileRegion,
    ) -> Poll<io::Result<usize>> {
        let count = usize::try_from(region.len())
            .unwrap_or(usize::MAX)
            .min(MAX_SENDFILE);
        loop {
            ready!(tcp.poll_write_ready(cx))?;
            let sent = tcp.try_io(Interest::WRITABLE, || {
                let mut offset = region.offset();
                rustix::fs::sendfile(tcp, &**region.file(), Some(&mut offset), count)
                    .map_err(io::Error::from)
            });
            match sent {
                // Nothing at the offset: the file shrank below the region.
                Ok(0) => return Poll::Ready(Err(shrunk(region.offset()))),
                Ok(n) => return Poll::Ready(Ok(n)),
                // `try_io` cleared the readiness: the next
                // `poll_write_ready` registers the waker and waits.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn sigpipe_is_read_from_the_ignored_mask() {
            assert!(super::sigpipe_ignored_in(
                "Name:\tx\nSigIgn:\t0000000000001000\n"
            ));
            assert!(!super::sigpipe_ignored_in("SigIgn:\t0000000000000800\n"));
            assert!(!super::sigpipe_ignored_in("no mask here"));
        }
    }
}

/// Elsewhere a [`TcpStream`] target copies, like any other writer.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod sendfile {
    use std::io;
    use std::task::{Context, Poll};

    use ::tokio::net::TcpStream;

    use crate::chunk::FileRegion;

    pub(super) fn usable() -> bool {
        false
    }

    pub(super) fn poll(
        _: &TcpStream,
        _: &mut Context<'_>,
        _: &FileRegion,
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::ErrorKind::Unsupported.into()))
    }
}

/// Any [`AsyncWrite`] as a [`Target`] that copies file regions: the
/// [`Driver`] reads their bytes on tokio's blocking pool and writes them.
///
/// ```
/// use producers::{from_bytes, tokio::{Copying, Driver}};
/// use tokio::io::AsyncReadExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let (mut near, mut far) = tokio::io::duplex(64);
/// let send = Driver::new(from_bytes("hello, duplex")).drive_into(Copying::new(&mut near));
/// let mut got = Vec::new();
/// let (sent, _) = tokio::try_join!(send, async { far.read_buf(&mut got).await })?;
/// assert_eq!((sent, &got[..]), (13, &b"hello, duplex"[..]));
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Copying<W> {
    inner: W,
}

impl<W: AsyncWrite + Unpin> Copying<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Copying<W> {
        Copying { inner }
    }

    /// The writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The writer, mutably.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Copying<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<W: AsyncWrite + Unpin> Target for Copying<W> {}

/// What a [`Driver`] has sent, and how.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    /// Bytes written, all paths together.
    pub bytes: u64,
    /// Vectored write calls that wrote something.
    pub writes: u64,
    /// Bytes of file regions sent by the target itself (`sendfile`).
    pub sendfile_bytes: u64,
    /// Calls that sent file region bytes (`sendfile` calls that sent any).
    pub sendfile_calls: u64,
    /// Bytes of file regions read into memory to be written (the copying
    /// path).
    pub copied_bytes: u64,
}

/// The most bytes one [`Driver::poll_drive`] call writes before it wakes
/// its task and returns `Pending`, so one fast stream cannot keep a
/// worker from its other tasks: 16 MiB (writers that take part in tokio's
/// cooperative budget, as sockets do, may yield sooner).
pub const DRIVE_BUDGET: u64 = 16 << 20;

/// Drives a producer into a [`Target`] until the producer ends: vectored
/// writes, and `sendfile` for file regions on a [`TcpStream`].
///
/// - Memory chunks are gathered into one `poll_write_vectored` call: up to
///   [`MAX_SLICES`](crate::io::MAX_SLICES) of them and at most
///   [`max_write`](Driver::max_write) bytes (the same gathering and resuming
///   code as [`io::Driver`](crate::io::Driver) and the reactor). A partial
///   write resumes exactly after the last byte written; `Interrupted` is
///   retried; `Ok(0)` for a non-empty write is
///   [`io::ErrorKind::WriteZero`].
/// - File regions go to the [`Target`]: a [`TcpStream`] (or its write half)
///   on Linux sends them with `sendfile(2)`, driven by tokio's readiness —
///   `poll_write_ready`, then the call inside
///   [`try_io`](TcpStream::try_io), so a `WouldBlock` clears the readiness
///   and the next poll registers the task's waker: no spin, no copy through
///   user space. Any other writer, wrapped in [`Copying`], gets the
///   region's bytes read on tokio's blocking pool ([`OffloadedFile`], one
///   read in flight, at most 256 KiB each), so a worker never waits for the
///   disk.
/// - A short `sendfile` resumes after the bytes sent. A `sendfile` that
///   returns 0 before the region's end means the file shrank while it was
///   served: [`io::ErrorKind::UnexpectedEof`] naming the byte, never a hang
///   or a spin. The copying path reports the same error.
/// - A producer that is pending, with nothing left to write, makes the
///   driver pending with the task's waker passed to the producer.
/// - A producer error is returned after the bytes handed out before it have
///   been written: nothing accepted is lost. A writer error (a reset peer:
///   `ConnectionReset`, `BrokenPipe`) is returned at once.
/// - One call writes at most [`DRIVE_BUDGET`] bytes, then wakes its task
///   and returns `Pending`: a fast stream shares its worker.
/// - At the end the writer is flushed (not shut down: that is the caller's).
///   After an error the output is broken: drop the driver.
/// - [`Driver::sent`] counts what went where ([`Sent`]: bytes by `sendfile`
///   and its calls, bytes copied from regions, vectored writes).
///
/// # `SIGPIPE`
///
/// Linux `sendfile` to a socket whose peer went away raises `SIGPIPE`, and
/// unlike `send` it has no flag to prevent it. Rust binaries ignore
/// `SIGPIPE`; a host that does not (a C program embedding this library)
/// would be killed. So a [`TcpStream`] target uses `sendfile` only if the
/// process ignores `SIGPIPE` (checked once, from `/proc/self/status`, as
/// the reactor does), and copies otherwise.
///
/// ```
/// use producers::{ProducerExt, file, from_bytes, tokio::Driver};
/// use tokio::io::AsyncReadExt;
/// use tokio::net::{TcpListener, TcpStream};
/// # let path = std::env::temp_dir().join(format!("producers-driver-{}", std::process::id()));
/// # std::fs::write(&path, vec![b'x'; 1 << 20]).unwrap();
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let mut client = TcpStream::connect(listener.local_addr()?).await?;
/// let (mut conn, _) = listener.accept().await?;
///
/// let send = async {
///     let mut driver = Driver::new(from_bytes("head\n").then(file(&path)?.regions()));
///     driver.drive(&mut conn).await?;
///     conn.shutdown().await?;
///     Ok::<_, std::io::Error>(driver.sent())
/// };
/// let mut got = Vec::new();
/// let (sent, _) = tokio::try_join!(send, client.read_to_end(&mut got))?;
/// assert_eq!(got.len(), 5 + (1 << 20));
/// assert_eq!(sent.bytes, 5 + (1 << 20));
/// # #[cfg(target_os = "linux")]
/// assert_eq!(sent.sendfile_bytes, 1 << 20); // zero-copy on Linux
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// # std::fs::remove_file(&path).unwrap();
/// # use tokio::io::AsyncWriteExt;
/// ```
#[derive(Debug)]
pub struct Driver<P> {
    producer: P,
    /// Bytes taken from the producer (or read from a region) and not
    /// written yet, in order; they come before `next`.
    queue: VecDeque<Bytes>,
    /// Total bytes in `queue`.
    queued: usize,
    next: Next,
    source: Source,
    /// Never zero.
    max_write: usize,
    sent: Sent,
}

/// What comes after the queued bytes.
#[derive(Debug)]
enum Next {
    /// The producer's next chunk.
    Producer,
    /// The rest of a file region, for the target to send once the queue is
    /// written.
    Region(FileRegion),
    /// The rest of a file region, read on the blocking pool a piece at a
    /// time, for a target that copies.
    Reading(OffloadedFile),
}

/// Where the producer stands, seen from the driver.
#[derive(Debug)]
enum Source {
    /// Ask it for more.
    Open,
    /// It (or the read of a region) failed; report this once the queue is
    /// written.
    Failed(io::Error),
    /// It ended.
    Ended,
}

impl<P: Producer> Driver<P> {
    /// A driver of `producer`.
    pub fn new(producer: P) -> Driver<P> {
        Driver {
            producer,
            queue: VecDeque::new(),
            queued: 0,
            next: Next::Producer,
            source: Source::Open,
            max_write: DEFAULT_DRIVER_WRITE,
            sent: Sent::default(),
        }
    }

    /// Sets the most bytes gathered into one vectored write (0 is taken as
    /// 1; default [`DEFAULT_DRIVER_WRITE`], 1 MiB). Regions copied are read
    /// in pieces of at most this many bytes (and at most 256 KiB).
    pub fn max_write(mut self, bytes: usize) -> Driver<P> {
        self.max_write = bytes.max(1);
        self
    }

    /// What was sent so far, and how.
    pub fn sent(&self) -> Sent {
        self.sent
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.sent.bytes
    }

    /// The producer.
    pub fn get_ref(&self) -> &P {
        &self.producer
    }

    /// The producer, mutably.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.producer
    }

    /// The producer; what was taken from it and not written is dropped.
    pub fn into_inner(self) -> P {
        self.producer
    }

    /// Writes the producer's output into `target` until it ends, then
    /// flushes; returns the bytes written in all.
    pub async fn drive<T: Target + ?Sized>(&mut self, target: &mut T) -> io::Result<u64> {
        std::future::poll_fn(|cx| self.poll_drive(target, cx)).await
    }

    /// [`drive`](Driver::drive), taking the driver and the target: for a
    /// future that owns what it needs (`tokio::spawn`, `try_join!`).
    pub async fn drive_into<T: Target>(mut self, mut target: T) -> io::Result<u64> {
        self.drive(&mut target).await
    }

    /// Writes until the producer has ended and everything is written and
    /// flushed (`Ready(Ok(total))`), an error, or `Pending` (the producer
    /// or the target will wake `cx`'s waker).
    pub fn poll_drive<T: Target + ?Sized>(
        &mut self,
        target: &mut T,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<u64>> {
        let sends_regions = target.sends_regions();
        let start = self.sent.bytes;
        loop {
            if self.sent.bytes - start >= DRIVE_BUDGET {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let pending = self.fill(sends_regions, cx);
            if !self.queue.is_empty() {
                let r = {
                    let batch = Gathered::new(self.queue.iter().map(|b| &b[..]), self.max_write);
                    Pin::new(&mut *target).poll_write_vectored(cx, batch.slices())
                };
                match ready!(r) {
                    Ok(0) => {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::WriteZero,
                            "writer accepted no bytes",
                        )));
                    }
                    Ok(n) => self.consume(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
                continue;
            }
            if let Next::Region(region) = &self.next {
                let n = ready!(target.poll_send_region(cx, region))?;
                self.sent.bytes += n as u64;
                self.sent.sendfile_bytes += n as u64;
                self.sent.sendfile_calls += 1;
                let Next::Region(region) = std::mem::replace(&mut self.next, Next::Producer) else {
                    unreachable!("matched above")
                };
                if let Some(rest) = region.advance(n as u64) {
                    self.next = Next::Region(rest);
                }
                continue;
            }
            if pending {
                return Poll::Pending;
            }
            return match std::mem::replace(&mut self.source, Source::Ended) {
                Source::Ended => {
                    ready!(Pin::new(&mut *target).poll_flush(cx))?;
                    Poll::Ready(Ok(self.sent.bytes))
                }
                Source::Failed(e) => Poll::Ready(Err(e)),
                Source::Open => unreachable!("an open producer with nothing queued was pending"),
            };
        }
    }

    /// Queues memory bytes until a write's worth is queued, a region is
    /// next, or the producer (or a region's read) is pending or done.
    /// Returns whether it found something pending.
    fn fill(&mut self, sends_regions: bool, cx: &mut Context<'_>) -> bool {
        while self.queue.len() < MAX_SLICES && self.queued < self.max_write {
            let chunk = match &mut self.next {
                Next::Region(_) => return false,
                Next::Reading(file) => match file.poll_more(cx) {
                    Poll::Ready(Some(Ok(c))) => {
                        self.sent.copied_bytes += c.len();
                        c
                    }
                    Poll::Ready(Some(Err(e))) => {
                        self.next = Next::Producer;
                        self.source = Source::Failed(e);
                        return false;
                    }
                    Poll::Ready(None) => {
                        self.next = Next::Producer;
                        continue;
                    }
                    Poll::Pending => return true,
                },
                Next::Producer => {
                    if !matches!(self.source, Source::Open) {
                        return false;
                    }
                    match self.producer.poll_more(cx) {
                        Poll::Ready(Some(Ok(c))) => c,
                        Poll::Ready(Some(Err(e))) => {
                            self.source = Source::Failed(e);
                            return false;
                        }
                        Poll::Ready(None) => {
                            self.source = Source::Ended;
                            return false;
                        }
                        Poll::Pending => return true,
                    }
                }
            };
            match chunk {
                Chunk::Bytes(b) => {
                    self.queued += b.len();
                    self.queue.push_back(b.into_bytes());
                }
                Chunk::File(r) if sends_regions => self.next = Next::Region(r),
                Chunk::File(r) => {
                    let piece = self.max_write.min(super::file::DEFAULT_BLOCK);
                    self.next = Next::Reading(OffloadedFile::from_region(r).block_size(piece));
                }
            }
        }
        false
    }

    /// Drops `n` written bytes from the front of the queue.
    fn consume(&mut self, n: usize) {
        self.sent.bytes += n as u64;
        self.sent.writes += 1;
        self.queued -= n;
        advance(&mut self.queue, n, |_, _| {});
    }
}

/// Writes all of `producer`'s output into `target` with a [`Driver`] and
/// flushes; returns the bytes written.
pub async fn copy<P: Producer, T: Target + ?Sized>(producer: P, target: &mut T) -> io::Result<u64> {
    Driver::new(producer).drive(target).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Script, Step};
    use crate::{FileProducer, ProducerExt, from_bytes};
    use ::tokio::io::AsyncReadExt;

    use crate::testing::tokio_runtime as runtime;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 13 % 253) as u8).collect()
    }

    /// A writer that accepts at most `max` bytes a call and records the
    /// slices of each call.
    #[derive(Default)]
    struct Trickle {
        max: usize,
        out: Vec<u8>,
        calls: Vec<usize>,
        flushed: bool,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.poll_write_vectored(cx, &[io::IoSlice::new(buf)])
        }
        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.calls.push(bufs.len());
            let mut left = self.max;
            for b in bufs {
                let n = b.len().min(left);
                self.out.extend_from_slice(&b[..n]);
                left -= n;
            }
            Poll::Ready(Ok(self.max - left))
        }
        fn is_write_vectored(&self) -> bool {
            true
        }
        fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.flushed = true;
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn memory_chunks_are_gathered_partial_writes_resumed_and_the_end_flushed() {
        let rt = runtime();
        let p = from_bytes(vec![b'a'; 1000]).pieces(10);
        let mut w = Copying::new(Trickle {
            max: 333,
            ..Default::default()
        });
        let mut d = Driver::new(p);
        assert_eq!(rt.block_on(d.drive(&mut w)).unwrap(), 1000);
        let w = w.into_inner();
        assert_eq!(w.out, vec![b'a'; 1000]);
        assert!(w.flushed);
        // 100 pieces of 10 bytes: the first write gathers all of them.
        assert_eq!(w.calls[0], 100);
        assert_eq!(d.sent().writes, 4);
        assert_eq!(d.sent().copied_bytes, 0);
    }

    #[test]
    fn regions_are_copied_in_bounded_pieces_through_a_copying_target() {
        let rt = runtime();
        let d = data(1 << 20);
        let f = crate::testing::file_with(&d);
        let p = from_bytes("<")
            .then(FileProducer::from_file(f).unwrap().regions())
            .then(from_bytes(">"));
        let mut w = Copying::new(Trickle {
            max: usize::MAX,
            ..Default::default()
        });
        let mut drv = Driver::new(p).max_write(100_000);
        assert_eq!(rt.block_on(drv.drive(&mut w)).unwrap(), 2 + (1 << 20));
        let out = w.into_inner().out;
        assert_eq!(out[0], b'<');
        assert_eq!(&out[1..=d.len()], &d[..]);
        assert_eq!(out[d.len() + 1], b'>');
        let sent = drv.sent();
        assert_eq!(sent.copied_bytes, 1 << 20);
        assert_eq!(sent.sendfile_bytes, 0);
        // No write held more than the cap.
        assert!(sent.writes >= (1 << 20) / 100_000);
    }

    #[test]
    fn a_write_of_zero_is_write_zero_and_a_producer_error_comes_after_its_bytes() {
        let rt = runtime();
        let mut w = Copying::new(Trickle::default());
        let e = rt
            .block_on(Driver::new(from_bytes("x")).drive(&mut w))
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WriteZero);

        let p = Script::new([
            Step::chunk("abc"),
            Step::Pending,
            Step::chunk("def"),
            Step::error(io::ErrorKind::ConnectionReset),
        ]);
        let (mut near, mut far) = ::tokio::io::duplex(2);
        let mut d = Driver::new(p);
        let (r, got) = rt.block_on(async {
            let send = async {
                let r = d.drive(&mut Copying::new(&mut near)).await;
                drop(near);
                r
            };
            let mut got = Vec::new();
            let (r, _) = ::tokio::join!(send, far.read_to_end(&mut got));
            (r, got)
        });
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(got, b"abcdef");
    }

    #[test]
    fn a_call_that_wrote_its_budget_wakes_its_task_and_yields() {
        let p = from_bytes(vec![0u8; 40 << 20]);
        let mut w = Copying::new(Trickle {
            max: usize::MAX,
            ..Default::default()
        });
        let mut d = Driver::new(p);
        let (mut cx, wakes) = crate::testing::counting_context();
        assert!(d.poll_drive(&mut w, &mut cx).is_pending());
        assert_eq!(d.written(), DRIVE_BUDGET);
        assert_eq!(wakes.count(), 1);
        assert!(d.poll_drive(&mut w, &mut cx).is_pending());
        assert_eq!(d.written(), 2 * DRIVE_BUDGET);
        match d.poll_drive(&mut w, &mut cx) {
            Poll::Ready(Ok(n)) => assert_eq!(n, 40 << 20),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_region_past_the_end_of_its_file_fails_on_the_copying_path() {
        let rt = runtime();
        let file = std::sync::Arc::new(crate::testing::file_with(&data(1000)));
        let region = FileRegion::new(file, 0, 5000).unwrap();
        let p = Script::new([Step::Chunk(Chunk::from(region))]);
        let mut w = Copying::new(Trickle {
            max: usize::MAX,
            ..Default::default()
        });
        let e = rt.block_on(Driver::new(p).drive(&mut w)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }
}
