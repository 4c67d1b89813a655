//! [`OffloadedFile`]: a file read on tokio's blocking pool, so a worker
//! thread never waits for the disk.
//!
//! # Why `spawn_blocking` preads, measured
//!
//! `benches/tokio_file.rs` reads a 64 MiB file (in the page cache) through
//! each candidate, one read in flight, on a current-thread runtime (2 cores
//! shared with other builds, so the ratios matter more than the figures):
//!
//! ```text
//! $ cargo bench --features tokio --bench tokio_file -- --quick
//! uptime: load average: 5.81, 3.57, 2.07 (before), 6.99, 5.64, 3.33 (after)
//!
//! candidate                                     time     throughput
//! OffloadedFile, spawn_blocking pread   64 KiB  27.8 ms   2.3 GiB/s
//! OffloadedFile, spawn_blocking pread  256 KiB  10.4 ms   6.0 GiB/s
//! OffloadedFile, spawn_blocking pread    1 MiB   5.3 ms  11.8 GiB/s
//! tokio::fs::File::read into           256 KiB  20.3 ms   3.1 GiB/s
//! floor: blocking pread on the worker  256 KiB   5.4 ms  11.5 GiB/s
//! ```
//!
//! So (a) it is: `spawn_blocking` preads are twice as fast as (b),
//! `tokio::fs::File`, at the same size. The cost is the hop to the blocking pool and back,
//! about 20 µs a read here, so larger blocks amortise it: at 1 MiB the
//! reads run at the speed of blocking the worker. The default stays at
//! 256 KiB ([`REGION_FRAME`](crate::chunk::REGION_FRAME), what the other
//! adapters hand to a runtime) because it is also the memory each reading
//! producer holds — per connection, for a server — and 6 GiB/s is well
//! beyond any network link; a bulk reader sets
//! [`block_size(1 << 20)`](OffloadedFile::block_size).
//!
//! `tokio::fs::File` is itself `spawn_blocking` underneath, plus a copy
//! from its own buffer into the caller's; the preads here hand the buffer
//! they filled on as the chunk, without that copy, and never move a
//! shared cursor, so regions of one file can be read by several producers.
//! io_uring would avoid the thread hop but is not in tokio's stable API.

use std::fs::File;
use std::future::Future as _;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tokio::task::JoinHandle;
use bytes::Bytes;

use crate::chunk::{Chunk, FileRegion};
use crate::produce::{Counters, More, Producer};

/// The default most bytes of one read of an [`OffloadedFile`]: 256 KiB
/// ([`REGION_FRAME`](crate::chunk::REGION_FRAME)).
///
/// Measured (`benches/tokio_file.rs`, figures in `src/tokio/file.rs`):
/// `spawn_blocking` preads run twice as fast as `tokio::fs::File` reads of
/// the same size; the hop to the blocking pool costs about 20 µs a read, so
/// 64 KiB reads reach 2.3 GiB/s, 256 KiB 6 GiB/s and 1 MiB the speed of a
/// blocking pread (11.5 GiB/s). 256 KiB is the default because it is also
/// the memory a reading producer holds, per connection in a server, and
/// 6 GiB/s is beyond any network link; a bulk reader sets
/// [`block_size(1 << 20)`](OffloadedFile::block_size).
pub const DEFAULT_BLOCK: usize = crate::chunk::REGION_FRAME;

/// A file (or a region of one) read in blocks on tokio's blocking pool, so
/// a worker thread never waits for the disk.
///
/// - Each read is one positional read (`pread`) of at most the block size
///   ([`DEFAULT_BLOCK`], 256 KiB), run with
///   [`spawn_blocking`](::tokio::task::spawn_blocking); `poll_more` only
///   starts it and polls its handle, so it never blocks.
/// - At most one read is in flight: the next starts when the previous
///   piece has been handed out, so memory stays at about one block whatever
///   the file's size, and a slow consumer slows the reads.
/// - The producer promises a length ([`exact_len`](Producer::exact_len)):
///   the file's length when it was opened, or the region it was made from.
///   A file that turns out shorter is an [`io::ErrorKind::UnexpectedEof`]
///   error naming the byte where it ended, never a short body.
/// - It hands out [`Chunk::Bytes`] only, for writers that cannot `sendfile`
///   (the [`Driver`](super::Driver)'s copying path and
///   [`ProducerReader`](super::ProducerReader) use it for file regions).
/// - It must be polled inside a tokio runtime (it fails with an error, not a
///   panic, outside one). Dropping it while a read is in flight detaches
///   the read, which finishes on the pool and is dropped; drop never
///   blocks.
///
/// ```
/// use producers::{Producer, tokio::OffloadedFile};
/// # let path = std::env::temp_dir().join(format!("producers-offloaded-{}", std::process::id()));
/// # std::fs::write(&path, vec![b'a'; 600_000]).unwrap();
///
/// # ::tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut file = OffloadedFile::open(&path).await?;
/// assert_eq!(file.exact_len(), Some(600_000));
/// let mut total = 0;
/// while let Some(chunk) = std::future::poll_fn(|cx| file.poll_more(cx)).await {
///     total += chunk?.len(); // 256 KiB, 256 KiB, then the rest
/// }
/// assert_eq!(total, 600_000);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// # std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug)]
pub struct OffloadedFile {
    file: Arc<File>,
    /// The offset of the next byte to hand out (the start of the read in
    /// flight, if there is one).
    offset: u64,
    /// Bytes promised and not handed out yet; 0 after the end or an error.
    left: u64,
    /// The most bytes a read asks for; never zero.
    block: usize,
    state: Reading,
    counters: Counters,
}

/// What the producer is doing about the next piece.
#[derive(Debug)]
enum Reading {
    /// No read in flight: the next `poll_more` starts one (or reports the
    /// end when nothing is left).
    Idle,
    /// A read of the piece at `offset` is running on the blocking pool.
    InFlight(JoinHandle<io::Result<Bytes>>),
    /// The end or an error was reported; sticky.
    Done,
}

impl OffloadedFile {
    /// Opens `path` on the blocking pool and promises its current length.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<OffloadedFile> {
        let path = path.as_ref().to_owned();
        ::tokio::task::spawn_blocking(move || {
            let file = File::open(path)?;
            let len = file.metadata()?.len();
            Ok(OffloadedFile::promising(Arc::new(file), 0, len))
        })
        .await
        .map_err(joined)?
    }

    /// Wraps an open file, from its start, promising its current length
    /// (one `fstat`, made here).
    pub fn from_file(file: impl Into<Arc<File>>) -> io::Result<OffloadedFile> {
        let file = file.into();
        let len = file.metadata()?.len();
        Ok(OffloadedFile::promising(file, 0, len))
    }

    /// The bytes of `region`, read in blocks: how a writer that cannot
    /// `sendfile` gets a region's bytes without blocking.
    pub fn from_region(region: FileRegion) -> OffloadedFile {
        OffloadedFile::promising(region.file().clone(), region.offset(), region.len())
    }

    /// `len` bytes of `file` from `offset`, a length the caller vouches for.
    pub fn promising(file: Arc<File>, offset: u64, len: u64) -> OffloadedFile {
        OffloadedFile {
            file,
            offset,
            left: len,
            block: DEFAULT_BLOCK,
            state: Reading::Idle,
            counters: Counters::default(),
        }
    }

    /// Reads at most `size` bytes at a time (default [`DEFAULT_BLOCK`]);
    /// applies from the next read.
    ///
    /// # Panics
    ///
    /// If `size` is 0.
    pub fn block_size(mut self, size: usize) -> OffloadedFile {
        assert!(size > 0, "block size must not be zero");
        self.block = size;
        self
    }

    /// The file.
    pub fn get_ref(&self) -> &Arc<File> {
        &self.file
    }

    /// The file; a read in flight is detached.
    pub fn into_inner(self) -> Arc<File> {
        self.file
    }

    /// Starts the read of the next piece on the blocking pool.
    fn start(&mut self) -> io::Result<JoinHandle<io::Result<Bytes>>> {
        let handle = ::tokio::runtime::Handle::try_current().map_err(|_| {
            io::Error::other("an offloaded file read needs a tokio runtime, and none is running")
        })?;
        let want = self.left.min(self.block as u64);
        let region = FileRegion::new(self.file.clone(), self.offset, want)
            .expect("started only with bytes left");
        // `read_prefix` fills the whole piece or fails with `UnexpectedEof`
        // naming where the file ended: a short read is never a short body.
        Ok(handle.spawn_blocking(move || region.read_prefix(usize::MAX).map(|(b, _)| b)))
    }

    fn poll_piece(&mut self, cx: &mut Context<'_>) -> More {
        loop {
            match &mut self.state {
                Reading::Done => return Poll::Ready(None),
                Reading::Idle if self.left == 0 => {
                    self.state = Reading::Done;
                    return Poll::Ready(None);
                }
                Reading::Idle => match self.start() {
                    Ok(h) => self.state = Reading::InFlight(h),
                    Err(e) => return Poll::Ready(Some(Err(self.fail(e)))),
                },
                Reading::InFlight(h) => {
                    let read = match std::task::ready!(std::pin::Pin::new(h).poll(cx)) {
                        Ok(read) => read,
                        Err(e) => Err(joined(e)),
                    };
                    return Poll::Ready(Some(match read {
                        Ok(bytes) => {
                            let n = bytes.len() as u64;
                            self.offset += n;
                            self.left -= n;
                            self.state = Reading::Idle;
                            Ok(Chunk::from_bytes(bytes).expect("a piece is never empty"))
                        }
                        Err(e) => Err(self.fail(e)),
                    }));
                }
            }
        }
    }

    fn fail(&mut self, e: io::Error) -> io::Error {
        self.state = Reading::Done;
        self.left = 0;
        e
    }
}

/// A blocking task that did not complete: it panicked, or the runtime is
/// shutting down.
fn joined(e: ::tokio::task::JoinError) -> io::Error {
    io::Error::other(format!(
        "file read on the blocking pool did not complete: {e}"
    ))
}

impl Producer for OffloadedFile {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_piece(cx);
        self.counters.record(more)
    }

    fn exact_len(&self) -> Option<u64> {
        Some(self.left)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn runtime() -> ::tokio::runtime::Runtime {
        ::tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn conformance_over_block_sizes_and_regions() {
        let rt = runtime();
        let _in_runtime = rt.enter();
        let d = data(700_000);
        let file = Arc::new(testing::file_with(&d));
        for block in [4096, 100_000, DEFAULT_BLOCK, 1 << 20] {
            testing::check(
                || {
                    OffloadedFile::from_file(file.clone())
                        .unwrap()
                        .block_size(block)
                },
                &d,
            );
        }
        let small = Arc::new(testing::file_with(&d[..300]));
        testing::check(
            || {
                OffloadedFile::from_file(small.clone())
                    .unwrap()
                    .block_size(1)
            },
            &d[..300],
        );
        let region = FileRegion::new(file.clone(), 1234, 300_000).unwrap();
        testing::check(
            || OffloadedFile::from_region(region.clone()),
            &d[1234..301_234],
        );
        testing::check(|| OffloadedFile::promising(file.clone(), 0, 0), b"");
    }

    #[test]
    fn pieces_are_block_sized_and_one_read_is_in_flight() {
        let rt = runtime();
        let _in_runtime = rt.enter();
        let file = Arc::new(testing::file_with(&data(600_000)));
        let p = OffloadedFile::from_file(file).unwrap();
        assert_eq!(
            testing::chunk_sizes(p),
            [
                DEFAULT_BLOCK as u64,
                DEFAULT_BLOCK as u64,
                600_000 - 2 * DEFAULT_BLOCK as u64
            ]
        );
    }

    #[test]
    fn a_file_shorter_than_promised_is_an_unexpected_eof_naming_the_byte() {
        let rt = runtime();
        let _in_runtime = rt.enter();
        let file = Arc::new(testing::file_with(&data(10_000)));
        let p = OffloadedFile::promising(file, 0, 20_000).block_size(4096);
        let (got, end) = testing::drain(p);
        assert_eq!(got, &data(10_000)[..8192]);
        let e = end.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("byte 10000"), "{e}");
    }

    #[test]
    fn outside_a_runtime_it_fails_instead_of_panicking() {
        let file = Arc::new(testing::file_with(b"abc"));
        let (got, end) = testing::drain(OffloadedFile::from_file(file).unwrap());
        assert!(got.is_empty());
        assert!(end.unwrap_err().to_string().contains("tokio runtime"));
    }

    #[test]
    fn open_promises_the_length_at_open() {
        let rt = runtime();
        let path = std::env::temp_dir().join(format!("producers-offl-{}", std::process::id()));
        std::fs::write(&path, data(5000)).unwrap();
        let p = rt.block_on(OffloadedFile::open(&path)).unwrap();
        assert_eq!(p.exact_len(), Some(5000));
        let _in_runtime = rt.enter();
        assert_eq!(testing::drain(p).0, data(5000));
        std::fs::remove_file(&path).unwrap();
        let missing = rt.block_on(OffloadedFile::open(&path)).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }
}
