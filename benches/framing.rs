//! Framing throughput, each figure against a baseline in the same group.
//!
//! Run: `cargo bench --bench framing -- --warm-up-time 1 --measurement-time 3`
//!
//! - `lines_crlf_100`: 100-byte CRLF lines as whole frames, against
//!   tokio-util's `LinesCodec` on the same `BytesMut` and a bare `memchr`
//!   loop that only finds each line end.
//! - `blank_line_1k`: 1 KiB header blocks ended by `\r\n\r\n`, against a
//!   bare `memmem` loop.
//! - `fifo_pipelined`: the consumer FIFO's header → count → header cycle
//!   over pipelined requests, against a bare loop that finds each header end
//!   and skips the body. Before the timings it prints the bytes allocated
//!   per request (a counting allocator): far below the body size, so frames
//!   are split off the input, never copied.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use memchr::memmem;
use producers::consume::{
    ConsumeError, Consumer, ConsumerFifo, Control, Count, Frame, Framer, Framing, Lines,
};
use tokio_util::codec::{Decoder, LinesCodec};

#[path = "util/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

const LINES: usize = 10_000;

fn crlf_lines() -> Vec<u8> {
    let mut v = Vec::with_capacity(LINES * 100);
    for i in 0..LINES {
        let line = format!("{i:08} {}", "x".repeat(89));
        v.extend_from_slice(&line.as_bytes()[..98]);
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn lines_crlf_100(c: &mut Criterion) {
    let input = crlf_lines();
    let mut g = c.benchmark_group("lines_crlf_100");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("framer", |b| {
        b.iter_batched(
            || BytesMut::from(&input[..]),
            |mut buf| {
                let mut framer = Framer::new(Framing::whole("\r\n").max(8192));
                let mut n = 0;
                loop {
                    match framer.decode(&mut buf) {
                        Ok(Some(f)) => n += black_box(f).bytes().len(),
                        Ok(None) => break,
                        Err(e) => panic!("{e}"),
                    }
                }
                assert_eq!(n, LINES * 98);
                buf // freed outside the timing, for every contender alike
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("fifo_lines", |b| {
        b.iter_batched(
            || {
                let mut fifo = ConsumerFifo::with_budget(2 << 20);
                fifo.push(Lines::new("\r\n", |line, _| {
                    black_box(line);
                    Ok(())
                }));
                fifo.read_buf().extend_from_slice(&input);
                fifo
            },
            |mut fifo| {
                fifo.process().unwrap();
                assert_eq!(fifo.buffered(), 0);
                fifo
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("tokio_lines_codec", |b| {
        b.iter_batched(
            || BytesMut::from(&input[..]),
            |mut buf| {
                let mut codec = LinesCodec::new_with_max_length(8192);
                let mut n = 0;
                while let Some(l) = codec.decode(&mut buf).unwrap() {
                    n += black_box(l).len();
                }
                assert_eq!(n, LINES * 98);
                buf // freed outside the timing, for every contender alike
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("memchr_loop", |b| {
        b.iter(|| {
            let hay = black_box(&input[..]);
            let (mut pos, mut n) = (0, 0);
            while let Some(i) = memchr::memchr(b'\n', &hay[pos..]) {
                pos += i + 1;
                n += 1;
            }
            assert_eq!(n, LINES);
        })
    });
    g.finish();
}

const BLOCKS: usize = 1000;

/// A 1 KiB header block: 50-byte CRLF lines, then the blank line.
fn header_block(i: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(1024);
    v.extend_from_slice(format!("GET /{i:08} HTTP/1.1\r\n").as_bytes());
    while v.len() < 1020 - 50 {
        v.extend_from_slice(format!("X-Header-{:04}: {}\r\n", v.len(), "v".repeat(31)).as_bytes());
    }
    v.resize(1020, b'z');
    v.extend_from_slice(b"\r\n\r\n");
    assert_eq!(v.len(), 1024);
    v
}

fn blank_line_1k(c: &mut Criterion) {
    let input: Vec<u8> = (0..BLOCKS).flat_map(header_block).collect();
    let mut g = c.benchmark_group("blank_line_1k");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("framer", |b| {
        b.iter_batched(
            || BytesMut::from(&input[..]),
            |mut buf| {
                let mut framer = Framer::new(Framing::whole("\r\n\r\n").max(16 << 10));
                let mut n = 0;
                while let Some(f) = framer.decode(&mut buf).unwrap() {
                    black_box(f);
                    n += 1;
                }
                assert_eq!(n, BLOCKS);
                buf
            },
            BatchSize::LargeInput,
        )
    });
    let finder = memmem::Finder::new(b"\r\n\r\n");
    g.bench_function("memmem_loop", |b| {
        b.iter(|| {
            let hay = black_box(&input[..]);
            let (mut pos, mut n) = (0, 0);
            while let Some(i) = finder.find(&hay[pos..]) {
                pos += i + 4;
                n += 1;
            }
            assert_eq!(n, BLOCKS);
        })
    });
    g.finish();
}

const REQUESTS: usize = 1000;
const BODY: usize = 1024;

/// Header → body → the next header, as in an HTTP/1.1 server.
struct Header;

impl Consumer for Header {
    fn framing(&self) -> Framing {
        Framing::whole("\r\n\r\n").max(16 << 10)
    }
    fn on_frame(&mut self, frame: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        let head = frame.into_bytes();
        let len = content_length(&head);
        black_box(head);
        ctl.then(Count::new(len, |body: Bytes, ctl: &mut Control| {
            black_box(body);
            ctl.then(Header);
            Ok(())
        }));
        ctl.done();
        Ok(())
    }
}

fn content_length(head: &[u8]) -> u64 {
    let at = memmem::find(head, b"Content-Length: ").expect("a length") + 16;
    head[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0, |n, &d| n * 10 + u64::from(d - b'0'))
}

fn pipelined() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..REQUESTS {
        v.extend_from_slice(
            format!("POST /{i} HTTP/1.1\r\nHost: x\r\nContent-Length: {BODY}\r\n\r\n").as_bytes(),
        );
        v.extend(std::iter::repeat_n(b'b', BODY));
    }
    v
}

fn loaded_fifo(input: &[u8]) -> ConsumerFifo {
    let mut fifo = ConsumerFifo::with_budget(4 << 20);
    fifo.push(Header);
    fifo.read_buf().extend_from_slice(input);
    fifo
}

fn fifo_pipelined(c: &mut Criterion) {
    let input = pipelined();
    // The copy counter: bytes allocated while framing, per request.
    let mut fifo = loaded_fifo(&input);
    let before = counting::allocated();
    fifo.process().unwrap();
    let per_request = (counting::allocated() - before) / REQUESTS as u64;
    assert_eq!(fifo.buffered(), 0);
    println!(
        "fifo_pipelined: {per_request} bytes allocated per request \
         ({} header + {BODY} body bytes framed): frames are not copied",
        input.len() / REQUESTS - BODY
    );
    assert!(
        per_request < 256,
        "frames were copied: {per_request} bytes per request"
    );

    let mut g = c.benchmark_group("fifo_pipelined");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("fifo", |b| {
        b.iter_batched(
            || loaded_fifo(&input),
            |mut fifo| {
                fifo.process().unwrap();
                assert_eq!(fifo.buffered(), 0);
                fifo
            },
            BatchSize::LargeInput,
        )
    });
    let finder = memmem::Finder::new(b"\r\n\r\n");
    g.bench_function("memmem_and_skip", |b| {
        b.iter(|| {
            let hay = black_box(&input[..]);
            let (mut pos, mut n) = (0, 0);
            while let Some(i) = finder.find(&hay[pos..]) {
                let len = content_length(&hay[pos..pos + i]) as usize;
                pos += i + 4 + len;
                n += 1;
            }
            assert_eq!(n, REQUESTS);
        })
    });
    g.finish();
}

/// Short runs (10 samples, 1 s warm-up, 2 s measurement) so that the whole
/// `cargo bench` fits in 15 minutes on 2 cores.
fn short() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = short();
    targets = lines_crlf_100, blank_line_1k, fifo_pipelined
}
criterion_main!(benches);
