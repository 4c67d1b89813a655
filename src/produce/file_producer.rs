//! [`FileProducer`]: a file read in blocks, or handed out as file regions.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use super::{Counters, More, Producer};
use crate::chunk::{Chunk, FileRegion, read_at, shrunk};

/// A file's contents, read in blocks or handed out as [`FileRegion`]s.
///
/// By default the producer promises the file's length at the time it was
/// opened: [`exact_len`](Producer::exact_len) is that length, bytes the file
/// gains later are not sent, and a file that turns out shorter is an
/// [`io::ErrorKind::UnexpectedEof`] error naming the byte where it ended —
/// never a silently short body. [`promise`](Self::promise) and
/// [`range`](Self::range) set another length; [`until_eof`](Self::until_eof)
/// drops the promise and reads until the end, whatever it is.
///
/// In [`regions`](Self::regions) mode the producer reads nothing itself: it
/// hands out one region covering the rest of the promise, which a socket
/// writer can `sendfile` and any combinator that needs bytes reads.
#[derive(Debug)]
pub struct FileProducer {
    file: Arc<File>,
    /// The offset of the next byte to hand out.
    offset: u64,
    left: Left,
    mode: Mode,
    counters: Counters,
}

/// How much is still to be handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Left {
    /// Exactly this many bytes were promised and not handed out yet.
    Exactly(u64),
    /// Whatever the file holds from `offset` on.
    UntilEof,
    /// The end (or an error) has been reported.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Read into memory, at most this many bytes (never zero) a chunk.
    Blocks(usize),
    /// Hand out file regions.
    Regions,
}

impl FileProducer {
    /// The default block size for reads: 64 KiB.
    pub const DEFAULT_BLOCK: usize = 64 << 10;

    /// Opens `path` and promises its current length.
    pub fn open(path: impl AsRef<Path>) -> io::Result<FileProducer> {
        Self::from_file(File::open(path)?)
    }

    /// Wraps an open file, from its start, promising its current length.
    pub fn from_file(file: File) -> io::Result<FileProducer> {
        Self::from_shared(Arc::new(file))
    }

    /// Wraps a shared open file, from its start, promising its current length.
    pub fn from_shared(file: Arc<File>) -> io::Result<FileProducer> {
        let len = file.metadata()?.len();
        Ok(Self::promising(file, len))
    }

    /// Wraps an open file, from its start, promising `len` bytes — a length
    /// the caller already knows (from the metadata it just read), so no
    /// `stat` is made here.
    pub fn promising(file: impl Into<Arc<File>>, len: u64) -> FileProducer {
        FileProducer {
            file: file.into(),
            offset: 0,
            left: Left::Exactly(len),
            mode: Mode::Blocks(Self::DEFAULT_BLOCK),
            counters: Counters::default(),
        }
    }

    /// Promises exactly `len` bytes from the current offset: bytes past them
    /// are not sent, and a file that ends before them is an error.
    pub fn promise(mut self, len: u64) -> FileProducer {
        self.left = Left::Exactly(len);
        self
    }

    /// Exactly `len` bytes starting at `offset` (for HTTP ranges).
    pub fn range(mut self, offset: u64, len: u64) -> FileProducer {
        self.offset = offset;
        self.left = Left::Exactly(len);
        self
    }

    /// Drops the promise: reads until the file ends, however long it is
    /// ([`exact_len`](Producer::exact_len) becomes `None`).
    pub fn until_eof(mut self) -> FileProducer {
        self.left = Left::UntilEof;
        self
    }

    /// Reads in blocks of `size` bytes.
    ///
    /// # Panics
    ///
    /// If `size` is 0.
    pub fn block_size(mut self, size: usize) -> FileProducer {
        assert!(size > 0, "block size must not be zero");
        self.mode = Mode::Blocks(size);
        self
    }

    /// Hands out file regions instead of reading (for `sendfile`).
    pub fn regions(mut self) -> FileProducer {
        self.mode = Mode::Regions;
        self
    }

    /// The shared file.
    pub fn file(&self) -> &Arc<File> {
        &self.file
    }

    fn read_block(&mut self, size: usize) -> io::Result<Option<Chunk>> {
        let want = match self.left {
            Left::Exactly(0) | Left::Done => return Ok(None),
            Left::Exactly(n) => n.min(size as u64) as usize,
            Left::UntilEof => size,
        };
        let mut buf = vec![0u8; want];
        let n = loop {
            match read_at(&self.file, &mut buf, self.offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n == 0 {
            return match self.left {
                Left::UntilEof => Ok(None),
                _ => Err(shrunk(self.offset)),
            };
        }
        buf.truncate(n);
        self.offset += n as u64;
        if let Left::Exactly(left) = &mut self.left {
            *left -= n as u64;
        }
        Ok(Chunk::from_bytes(Bytes::from(buf)))
    }

    fn region(&mut self) -> io::Result<Option<Chunk>> {
        let promised = match self.left {
            // Nothing left: no `stat` for an empty region.
            Left::Exactly(0) | Left::Done => return Ok(None),
            Left::Exactly(n) => Some(n),
            Left::UntilEof => None,
        };
        let file_len = self.file.metadata()?.len();
        let len = match promised {
            Some(n) if file_len < self.offset.saturating_add(n) => {
                return Err(shrunk(file_len.max(self.offset)));
            }
            Some(n) => n,
            None => file_len.saturating_sub(self.offset),
        };
        let region = FileRegion::new(self.file.clone(), self.offset, len);
        self.offset += len;
        self.left = Left::Exactly(0);
        Ok(region.map(Chunk::File))
    }
}

impl Producer for FileProducer {
    fn poll_more(&mut self, _cx: &mut Context<'_>) -> More {
        let r = match self.mode {
            Mode::Blocks(size) => self.read_block(size),
            Mode::Regions => self.region(),
        };
        let more = match r {
            Ok(Some(c)) => Poll::Ready(Some(Ok(c))),
            Ok(None) => {
                self.left = Left::Done;
                Poll::Ready(None)
            }
            Err(e) => {
                self.left = Left::Done;
                Poll::Ready(Some(Err(e)))
            }
        };
        self.counters.record(more)
    }

    fn exact_len(&self) -> Option<u64> {
        match self.left {
            Left::Exactly(n) => Some(n),
            Left::UntilEof => None,
            Left::Done => Some(0),
        }
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProducerExt;
    use crate::testing;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn conformance_blocks_and_regions() {
        let d = data(10_000);
        let f = Arc::new(testing::file_with(&d));
        for block in [1, 100, 4096, 1 << 20] {
            testing::check(
                || {
                    FileProducer::from_shared(f.clone())
                        .unwrap()
                        .block_size(block)
                },
                &d,
            );
        }
        testing::check(
            || FileProducer::from_shared(f.clone()).unwrap().regions(),
            &d,
        );
        testing::check(
            || FileProducer::from_shared(f.clone()).unwrap().until_eof(),
            &d,
        );
        testing::check(
            || FileProducer::from_shared(f.clone()).unwrap().range(10, 20),
            &d[10..30],
        );
        testing::check(
            || {
                FileProducer::from_shared(f.clone())
                    .unwrap()
                    .range(10, 20)
                    .regions()
            },
            &d[10..30],
        );
        for regions in [false, true] {
            testing::check(
                || {
                    let p = FileProducer::promising(f.clone(), 5000);
                    if regions { p.regions() } else { p }
                },
                &d[..5000],
            );
        }
        let empty = Arc::new(testing::file_with(b""));
        testing::check(|| FileProducer::from_shared(empty.clone()).unwrap(), b"");
        testing::check(
            || FileProducer::from_shared(empty.clone()).unwrap().regions(),
            b"",
        );
    }

    #[test]
    fn bytes_past_the_promise_are_not_sent() {
        let d = data(1000);
        let f = testing::file_with(&d);
        let out = FileProducer::from_file(f)
            .unwrap()
            .promise(300)
            .block_size(128)
            .collect_bytes()
            .unwrap();
        assert_eq!(&out[..], &d[..300]);
    }

    #[test]
    fn a_file_shorter_than_its_promise_is_an_error_not_a_short_body() {
        for regions in [false, true] {
            let f = testing::file_with(&data(100));
            let mut p = FileProducer::from_file(f)
                .unwrap()
                .promise(150)
                .block_size(64);
            if regions {
                p = p.regions();
            }
            let mut got = 0;
            let err = loop {
                match p.more() {
                    Ok(Some(c)) => got += c.len(),
                    Ok(None) => panic!("ended after {got} bytes without an error"),
                    Err(e) => break e,
                }
            };
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
            assert!(err.to_string().contains("byte 100"), "{err}");
            assert!(p.more().unwrap().is_none(), "errors are final");
        }
    }

    #[test]
    fn a_file_that_shrinks_after_opening_is_an_error() {
        let f = testing::file_with(&data(1000));
        let p = FileProducer::from_file(f.try_clone().unwrap())
            .unwrap()
            .block_size(100);
        f.set_len(250).unwrap();
        let e = p.collect_bytes().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        // A region read after the shrink fails the same way.
        let f = testing::file_with(&data(1000));
        let mut p = FileProducer::from_file(f.try_clone().unwrap())
            .unwrap()
            .regions();
        let region = p.more().unwrap().unwrap();
        f.set_len(10).unwrap();
        assert_eq!(
            region.into_bytes().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn a_promise_longer_than_the_file_is_an_error_in_both_modes() {
        let f = Arc::new(testing::file_with(&data(100)));
        let blocks = FileProducer::promising(f.clone(), 101).collect_bytes();
        let regions = FileProducer::promising(f, 101).regions().collect_bytes();
        for e in [blocks.unwrap_err(), regions.unwrap_err()] {
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
            assert!(e.to_string().contains("byte 100"), "{e}");
        }
    }

    #[test]
    fn exact_len_counts_down() {
        let f = testing::file_with(&data(250));
        let mut p = FileProducer::from_file(f).unwrap().block_size(100);
        assert_eq!(p.exact_len(), Some(250));
        p.more().unwrap();
        assert_eq!(p.exact_len(), Some(150));
        assert!(
            FileProducer::from_file(testing::file_with(b"x"))
                .unwrap()
                .until_eof()
                .exact_len()
                .is_none()
        );
    }
}
