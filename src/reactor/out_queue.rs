//! [`OutQueue`]: a channel's producer FIFO and the writer that empties it
//! into a non-blocking socket — vectored writes for memory chunks,
//! `sendfile` for file regions, exact resumption after partial writes.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::net::TcpStream;
use std::task::{Context, Poll};

use bytes::Bytes;

use super::sys::{self, Sent};
use crate::chunk::{Chunk, FileRegion};
use crate::io::{Gathered, MAX_SLICES, advance};
use crate::produce::Producer;

/// What a queued file region or producer counts for against the
/// watermarks: its bookkeeping, not its payload (which is not in memory).
pub(crate) const ITEM_COST: usize = 64;

/// An element not yet pulled into the ready list.
enum Later {
    Chunk(Chunk),
    Producer(Box<dyn Producer + Send>),
}

/// The queued output of one channel.
///
/// Invariant: every chunk in `ready` comes before everything in `later`.
/// `ready` holds chunks that can be written now; `later` holds chunks
/// pushed behind a producer and the producers themselves, pulled into
/// `ready` (up to one write's worth) by [`fill`](OutQueue::fill).
#[derive(Default)]
pub(crate) struct OutQueue {
    ready: VecDeque<Chunk>,
    later: VecDeque<Later>,
    /// Payload bytes in `ready`.
    ready_len: u64,
    /// Memory held: bytes of memory chunks plus [`ITEM_COST`] per file
    /// region and producer. What the watermarks compare against.
    queued: usize,
}

impl std::fmt::Debug for OutQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutQueue")
            .field("ready", &self.ready.len())
            .field("later", &self.later.len())
            .field("queued", &self.queued)
            .finish()
    }
}

fn cost(c: &Chunk) -> usize {
    match c {
        Chunk::Bytes(b) => b.len(),
        Chunk::File(_) => ITEM_COST,
    }
}

/// What [`OutQueue::write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wrote {
    /// Everything attempted went out; the socket may take more.
    All(usize),
    /// Only part went out (or none: `WouldBlock`): wait for writability.
    Partial(usize),
}

impl OutQueue {
    /// Whether nothing at all is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.ready.is_empty() && self.later.is_empty()
    }

    /// Whether a chunk is ready to write.
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Memory held, for the watermarks.
    pub(crate) fn queued(&self) -> usize {
        self.queued
    }

    pub(crate) fn push_bytes(&mut self, b: Bytes) {
        if let Some(c) = Chunk::from_bytes(b) {
            self.push_chunk(c);
        }
    }

    pub(crate) fn push_chunk(&mut self, c: Chunk) {
        self.queued += cost(&c);
        if self.later.is_empty() {
            self.ready_len += c.len();
            self.ready.push_back(c);
        } else {
            self.later.push_back(Later::Chunk(c));
        }
    }

    pub(crate) fn push_producer(&mut self, p: Box<dyn Producer + Send>) {
        self.queued += ITEM_COST;
        self.later.push_back(Later::Producer(p));
    }

    /// Pulls chunks from `later` into `ready` until `ready` holds `target`
    /// bytes or [`MAX_SLICES`] chunks, the queue holds `mem_cap` bytes of
    /// memory ([`queued`](Self::queued); at least one chunk is pulled
    /// into an empty `ready`), the head producer is pending (its waker
    /// registered through `cx`), or nothing is left. A producer's error is
    /// returned once; the producer is dropped.
    pub(crate) fn fill(
        &mut self,
        cx: &mut Context<'_>,
        target: u64,
        mem_cap: usize,
    ) -> io::Result<()> {
        while self.ready_len < target
            && self.ready.len() < MAX_SLICES
            && (self.ready.is_empty() || self.queued < mem_cap)
        {
            let Some(front) = self.later.front_mut() else {
                return Ok(());
            };
            match front {
                Later::Chunk(_) => {
                    let Some(Later::Chunk(c)) = self.later.pop_front() else {
                        unreachable!("front is a chunk")
                    };
                    self.ready_len += c.len();
                    self.ready.push_back(c);
                }
                Later::Producer(p) => match p.poll_more(cx) {
                    Poll::Ready(Some(Ok(c))) => {
                        self.queued += cost(&c);
                        self.ready_len += c.len();
                        self.ready.push_back(c);
                    }
                    Poll::Ready(None) => {
                        self.later.pop_front();
                        self.queued -= ITEM_COST;
                    }
                    Poll::Ready(Some(Err(e))) => {
                        self.later.pop_front();
                        self.queued -= ITEM_COST;
                        return Err(e);
                    }
                    Poll::Pending => return Ok(()),
                },
            }
        }
        Ok(())
    }

    /// Writes once from the front of `ready`: consecutive memory chunks in
    /// one vectored write (at most [`MAX_SLICES`] chunks and `max` bytes,
    /// gathered by [`Gathered`] like [`io::Driver`](crate::io::Driver)'s), or
    /// one file region with `sendfile` if `sendfile` allows it (at most
    /// `max` bytes; else, or where `sendfile` is unavailable, through
    /// `scratch`). Partial writes leave the queue exactly at the first
    /// unwritten byte.
    pub(crate) fn write(
        &mut self,
        sock: &TcpStream,
        max: usize,
        scratch: &mut Vec<u8>,
        sendfile: bool,
    ) -> io::Result<Wrote> {
        let Some(front) = self.ready.front() else {
            return Ok(Wrote::All(0));
        };
        let (attempted, r) = match front {
            Chunk::File(region) => {
                let region = region.clone();
                let want = region.len().min(max as u64) as usize;
                (want, write_region(sock, &region, want, scratch, sendfile))
            }
            Chunk::Bytes(_) => {
                let memory = self.ready.iter().map_while(|c| c.as_bytes());
                let batch = Gathered::new(memory.map(|b| &b[..]), max);
                (batch.len(), sys::write_vectored(sock, batch.slices()))
            }
        };
        match r {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "socket accepted no bytes",
            )),
            Ok(n) => {
                self.advance(n);
                Ok(if n < attempted {
                    Wrote::Partial(n)
                } else {
                    Wrote::All(n)
                })
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Wrote::Partial(0)),
            Err(e) => Err(e),
        }
    }

    /// Drops `n` written bytes from the front of `ready`. Memory held
    /// shrinks by the bytes written, and by [`ITEM_COST`] for a file region
    /// written in full.
    fn advance(&mut self, n: usize) {
        self.ready_len -= n as u64;
        let queued = &mut self.queued;
        advance(&mut self.ready, n, |c, k| {
            *queued -= match c {
                Chunk::Bytes(_) => k,
                Chunk::File(r) if k as u64 == r.len() => ITEM_COST,
                Chunk::File(_) => 0,
            }
        });
    }

    /// Whether the next write is of a file region.
    pub(crate) fn front_is_file(&self) -> bool {
        matches!(self.ready.front(), Some(Chunk::File(_)))
    }
}

/// One write of the first `want` bytes of `region`: `sendfile` (if
/// allowed), or a positional read into `scratch` and a plain write that
/// cannot raise `SIGPIPE`.
fn write_region(
    sock: &TcpStream,
    region: &FileRegion,
    want: usize,
    scratch: &mut Vec<u8>,
    sendfile: bool,
) -> io::Result<usize> {
    let mut offset = region.offset();
    let sent = if sendfile {
        sys::sendfile(sock, region.file(), &mut offset, want)?
    } else {
        Sent::Unsupported
    };
    match sent {
        Sent::Wrote(0) => Err(crate::chunk::shrunk(region.offset())),
        Sent::Wrote(n) => Ok(n),
        Sent::Unsupported => {
            let want = want.min(64 << 10);
            scratch.resize(want, 0);
            region.read_into(&mut scratch[..want])?;
            sys::write_vectored(sock, &[IoSlice::new(&scratch[..want])])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Script, Step, counting_context};
    use crate::{ProducerExt, from_bytes};

    fn pair() -> (TcpStream, TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (b, _) = l.accept().unwrap();
        a.set_nonblocking(true).unwrap();
        (a, b)
    }

    fn read_all(mut s: &TcpStream, n: usize) -> Vec<u8> {
        use std::io::Read;
        let mut v = vec![0; n];
        s.read_exact(&mut v).unwrap();
        v
    }

    #[test]
    fn chunks_behind_a_pending_producer_wait_for_it() {
        let (a, b) = pair();
        let mut q = OutQueue::default();
        q.push_bytes(Bytes::from_static(b"one "));
        q.push_producer(Box::new(Script::new([
            Step::Pending,
            Step::chunk(&b"two "[..]),
        ])));
        q.push_bytes(Bytes::from_static(b"three"));
        let (mut cx, _wakes) = counting_context();
        q.fill(&mut cx, 1 << 20, usize::MAX).unwrap();
        assert_eq!(
            q.write(&a, 1 << 20, &mut Vec::new(), true).unwrap(),
            Wrote::All(4)
        );
        assert!(!q.has_ready() && !q.is_empty());
        q.fill(&mut cx, 1 << 20, usize::MAX).unwrap();
        assert_eq!(
            q.write(&a, 1 << 20, &mut Vec::new(), true).unwrap(),
            Wrote::All(9)
        );
        assert!(q.is_empty());
        assert_eq!(q.queued(), 0);
        assert_eq!(read_all(&b, 13), b"one two three");
    }

    #[test]
    fn writes_are_bounded_by_max_and_resume_exactly() {
        let (a, b) = pair();
        let mut q = OutQueue::default();
        q.push_producer(Box::new(from_bytes(&b"abcdefghij"[..]).pieces(3)));
        let (mut cx, _) = counting_context();
        let mut out = Vec::new();
        while !q.is_empty() {
            q.fill(&mut cx, 4, usize::MAX).unwrap();
            match q.write(&a, 4, &mut Vec::new(), true).unwrap() {
                Wrote::All(n) | Wrote::Partial(n) => assert!(n <= 4),
            }
        }
        out.extend(read_all(&b, 10));
        assert_eq!(out, b"abcdefghij");
        assert_eq!(q.queued(), 0);
    }

    #[test]
    fn producers_are_pulled_only_up_to_the_memory_cap() {
        // Issue 11: a peer that never reads held `max_write` (256 KiB) of
        // each connection's compressed output; the queue now stops pulling
        // at the cap, and always pulls at least one chunk.
        let mut q = OutQueue::default();
        q.push_producer(Box::new(from_bytes(vec![7u8; 100_000]).pieces(1000)));
        let (mut cx, _) = counting_context();
        q.fill(&mut cx, 1 << 20, 10_000).unwrap();
        assert!(q.queued() >= 10_000 && q.queued() < 10_000 + 1000 + ITEM_COST);
        let mut q = OutQueue::default();
        q.push_producer(Box::new(from_bytes(vec![7u8; 5000])));
        q.fill(&mut cx, 1 << 20, 0).unwrap();
        assert!(q.has_ready(), "at least one chunk");
    }

    #[test]
    fn file_regions_go_out_with_their_offset() {
        let (a, b) = pair();
        let file = std::sync::Arc::new(crate::testing::file_with(b"0123456789"));
        let mut q = OutQueue::default();
        q.push_chunk(Chunk::File(FileRegion::new(file, 2, 6).unwrap()));
        q.push_bytes(Bytes::from_static(b"!"));
        assert_eq!(q.queued(), ITEM_COST + 1);
        let mut scratch = Vec::new();
        assert_eq!(q.write(&a, 4, &mut scratch, true).unwrap(), Wrote::All(4));
        assert_eq!(q.write(&a, 4, &mut scratch, true).unwrap(), Wrote::All(2));
        assert_eq!(q.write(&a, 4, &mut scratch, true).unwrap(), Wrote::All(1));
        assert_eq!(read_all(&b, 7), b"234567!");
        assert!(q.is_empty());
        assert_eq!(q.queued(), 0);
    }

    #[test]
    fn file_regions_go_out_by_copy_when_sendfile_is_not_allowed() {
        let (a, b) = pair();
        let file = std::sync::Arc::new(crate::testing::file_with(b"0123456789"));
        let mut q = OutQueue::default();
        q.push_chunk(Chunk::File(FileRegion::new(file, 1, 8).unwrap()));
        assert!(q.front_is_file());
        let mut scratch = Vec::new();
        assert_eq!(q.write(&a, 5, &mut scratch, false).unwrap(), Wrote::All(5));
        assert_eq!(scratch.len(), 5, "the copy went through scratch");
        assert_eq!(q.write(&a, 5, &mut scratch, false).unwrap(), Wrote::All(3));
        assert_eq!(read_all(&b, 8), b"12345678");
        assert!(q.is_empty() && !q.front_is_file());
    }

    #[test]
    fn a_producer_error_is_returned_once() {
        let mut q = OutQueue::default();
        q.push_producer(Box::new(Script::new([Step::Error(
            io::ErrorKind::BrokenPipe,
        )])));
        let (mut cx, _) = counting_context();
        let e = q.fill(&mut cx, 10, usize::MAX).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        assert!(q.is_empty());
        assert_eq!(q.queued(), 0);
    }
}
