//! [`ProducerReader`]: a tokio [`AsyncRead`] over any producer.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, ReadBuf};

use super::file::OffloadedFile;
use crate::chunk::{Chunk, NonEmptyBytes};
use crate::produce::Producer;

/// A tokio [`AsyncRead`] over a producer's output.
///
/// - Memory chunks are copied into the caller's [`ReadBuf`]; what does not
///   fit is kept (sliced, not copied) for the next read.
/// - File regions are read on tokio's blocking pool in pieces of at most
///   256 KiB ([`OffloadedFile`], one read in flight), so a worker never
///   waits for the disk.
/// - A pending producer (or a region read in flight) makes the read
///   `Pending`, with the task's waker passed through to it.
/// - A producer error (or a region whose file shrank:
///   [`io::ErrorKind::UnexpectedEof`]) is returned once, after the bytes
///   before it; every read after that fills nothing (`Ok` with 0 bytes,
///   the end), so the error cannot be mistaken for a clean end.
/// - The end is a read that fills nothing; a read into a full buffer also
///   returns at once with nothing filled.
///
/// ```
/// use producers::{ProducerExt, from_bytes, tokio::ProducerReader};
/// use tokio::io::AsyncBufReadExt;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut lines = tokio::io::BufReader::new(ProducerReader::new(from_bytes("one\ntwo\n"))).lines();
/// assert_eq!(lines.next_line().await?.as_deref(), Some("one"));
/// assert_eq!(lines.next_line().await?.as_deref(), Some("two"));
/// assert_eq!(lines.next_line().await?, None);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct ProducerReader<P> {
    producer: P,
    state: Reading,
}

/// Where the reader stands.
#[derive(Debug)]
enum Reading {
    /// Between chunks: the next read asks the producer.
    Between,
    /// The unread rest of a memory chunk.
    Bytes(NonEmptyBytes),
    /// A file region, read on the blocking pool a piece at a time, and the
    /// unread rest of the piece last read (it comes before the region's
    /// rest).
    Region(OffloadedFile, Option<NonEmptyBytes>),
    /// The end, or an error was returned: reads fill nothing.
    Done,
}

impl<P: Producer> ProducerReader<P> {
    /// A reader of `producer`'s output.
    pub fn new(producer: P) -> ProducerReader<P> {
        ProducerReader {
            producer,
            state: Reading::Between,
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

/// Copies what fits of `b` into `buf`; returns the rest.
fn copy_out(b: NonEmptyBytes, buf: &mut ReadBuf<'_>) -> Option<NonEmptyBytes> {
    let n = b.len().min(buf.remaining());
    buf.put_slice(&b[..n]);
    b.advance(n)
}

impl<P: Producer + Unpin> AsyncRead for ProducerReader<P> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            let more = match std::mem::replace(&mut this.state, Reading::Done) {
                Reading::Done => return Poll::Ready(Ok(())),
                Reading::Bytes(b) => {
                    if let Some(rest) = copy_out(b, buf) {
                        this.state = Reading::Bytes(rest);
                    } else {
                        this.state = Reading::Between;
                    }
                    return Poll::Ready(Ok(()));
                }
                Reading::Region(file, Some(b)) => {
                    this.state = Reading::Region(file, copy_out(b, buf));
                    return Poll::Ready(Ok(()));
                }
                Reading::Region(mut file, None) => match file.poll_more(cx) {
                    Poll::Ready(Some(Ok(Chunk::Bytes(b)))) => {
                        this.state = Reading::Region(file, Some(b));
                        continue;
                    }
                    Poll::Ready(Some(Ok(Chunk::File(_)))) => {
                        unreachable!("an offloaded file hands out bytes only")
                    }
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                    Poll::Ready(None) => {
                        this.state = Reading::Between;
                        continue;
                    }
                    Poll::Pending => {
                        this.state = Reading::Region(file, None);
                        return Poll::Pending;
                    }
                },
                Reading::Between => this.producer.poll_more(cx),
            };
            // From the producer; `state` is `Done` until set otherwise, so
            // its end and its error leave the reader done.
            match more {
                Poll::Ready(Some(Ok(Chunk::Bytes(b)))) => this.state = Reading::Bytes(b),
                Poll::Ready(Some(Ok(Chunk::File(r)))) => {
                    this.state = Reading::Region(OffloadedFile::from_region(r), None);
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => {
                    this.state = Reading::Between;
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ::tokio::io::AsyncReadExt;

    use super::*;
    use crate::testing::{self, Script, Step};
    use crate::{FileRegion, ProducerExt, from_bytes};

    use crate::testing::tokio_runtime as runtime;

    #[test]
    fn an_error_comes_once_after_the_bytes_before_it_then_the_end() {
        let rt = runtime();
        let p = Script::new([
            Step::chunk("abc"),
            Step::Pending,
            Step::error(io::ErrorKind::ConnectionReset),
        ]);
        let mut r = ProducerReader::new(p);
        let mut buf = [0u8; 10];
        rt.block_on(async {
            assert_eq!(r.read(&mut buf).await.unwrap(), 3);
            let e = r.read(&mut buf).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
            assert_eq!(r.read(&mut buf).await.unwrap(), 0);
            assert_eq!(r.read(&mut buf).await.unwrap(), 0);
        });
    }

    #[test]
    fn a_region_whose_file_shrank_is_an_error_and_then_the_end() {
        let rt = runtime();
        let file = Arc::new(testing::file_with(b"0123456789"));
        let region = FileRegion::new(file, 4, 100).unwrap();
        let p = Script::new([Step::Chunk(Chunk::from(region))]).then(from_bytes("never"));
        let mut r = ProducerReader::new(p);
        let mut out = Vec::new();
        let e = rt.block_on(r.read_to_end(&mut out)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(out.is_empty());
        let mut buf = [0u8; 4];
        assert_eq!(rt.block_on(r.read(&mut buf)).unwrap(), 0);
    }

    #[test]
    fn a_pending_producer_wakes_the_reading_task() {
        let rt = runtime();
        let (mut w, p) = crate::produce::output();
        let mut r = ProducerReader::new(p);
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            w.send("late".into()).unwrap();
        });
        let mut out = String::new();
        rt.block_on(r.read_to_string(&mut out)).unwrap();
        writer.join().unwrap();
        assert_eq!(out, "late");
    }

    #[test]
    fn a_full_buffer_reads_nothing_and_loses_nothing() {
        let rt = runtime();
        let mut r = ProducerReader::new(from_bytes("abc"));
        rt.block_on(async {
            assert_eq!(r.read(&mut []).await.unwrap(), 0);
            let mut out = Vec::new();
            r.read_to_end(&mut out).await.unwrap();
            assert_eq!(out, b"abc");
        });
    }
}
