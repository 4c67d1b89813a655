//! `FramedRead` decoding 100-byte lines from an in-memory reader: the
//! crate's [`FrameDecoder`] (each line as `Bytes`, split off the read
//! buffer) against tokio-util's `LinesCodec` (UTF-8 checked, a `String`
//! per line), in one criterion group so the figure is a ratio taken in one
//! run.
//!
//! Run: `cargo bench --bench framed_lines --features tokio -- --quick`
//!
//! Both sides run the same `FramedRead` over the same `&[u8]` reader
//! (`AsyncRead`), polled with a no-op waker: the reader is always ready, so
//! no runtime is needed and what differs is the codec alone. (`Framed`
//! shares `FramedRead`'s read path.)

use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::Stream;
use producers::tokio::codec::FrameDecoder;
use tokio_util::codec::{Decoder, FramedRead, LinesCodec};

const LINES: usize = 10_000;

/// `LINES` lines of 100 bytes, `\n` included.
fn lines() -> Vec<u8> {
    let mut v = Vec::with_capacity(LINES * 100);
    for i in 0..LINES {
        let line = format!("{i:08} {}", "x".repeat(90));
        v.extend_from_slice(&line.as_bytes()[..99]);
        v.push(b'\n');
    }
    v
}

/// Drains the stream; returns the number of items and their total length.
fn drain<D>(input: &[u8], codec: D, len: impl Fn(&D::Item) -> usize) -> (usize, usize)
where
    D: Decoder,
    D::Error: std::fmt::Debug,
{
    let mut framed = FramedRead::new(input, codec);
    let mut cx = Context::from_waker(Waker::noop());
    let (mut n, mut bytes) = (0, 0);
    loop {
        match Pin::new(&mut framed).poll_next(&mut cx) {
            Poll::Ready(Some(Ok(item))) => {
                n += 1;
                bytes += len(&black_box(item));
            }
            Poll::Ready(Some(Err(e))) => panic!("{e:?}"),
            Poll::Ready(None) => return (n, bytes),
            Poll::Pending => unreachable!("an in-memory reader is always ready"),
        }
    }
}

fn framed_lines_100(c: &mut Criterion) {
    let input = lines();
    // Both decode the same lines.
    let ours = drain(&input, FrameDecoder::lines(8192), |b| b.len());
    let theirs = drain(&input, LinesCodec::new_with_max_length(8192), String::len);
    assert_eq!(ours, (LINES, LINES * 99));
    assert_eq!(ours, theirs);

    let mut g = c.benchmark_group("framed_lines_100");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("FrameDecoder (Bytes)", |b| {
        b.iter(|| drain(&input, FrameDecoder::lines(8192), |b| b.len()))
    });
    g.bench_function("bare memchr split (floor)", |b| {
        b.iter(|| drain(&input, Bare(0), |b| b.len()))
    });
    g.bench_function("baseline tokio-util LinesCodec (String)", |b| {
        b.iter(|| drain(&input, LinesCodec::new_with_max_length(8192), String::len))
    });
    g.finish();
}

/// The floor for any zero-copy line decoder in `FramedRead`: `memchr`
/// from where the last search stopped, then one split per line; no cap, no
/// state, no `\r`.
struct Bare(usize);

impl Decoder for Bare {
    type Item = bytes::Bytes;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut bytes::BytesMut) -> std::io::Result<Option<bytes::Bytes>> {
        match memchr::memchr(b'\n', &buf[self.0..]) {
            Some(i) => {
                let n = self.0 + i;
                self.0 = 0;
                let mut line = buf.split_to(n + 1);
                line.truncate(n);
                Ok(Some(line.freeze()))
            }
            None => {
                self.0 = buf.len();
                Ok(None)
            }
        }
    }
}

criterion_group!(benches, framed_lines_100);
criterion_main!(benches);
