//! What the `sweep_*` benches share: the chunk sizes swept, the short
//! criterion configuration that keeps `cargo bench` within its time, the
//! payload, and the ways to drain a producer.

#![allow(dead_code)] // each bench uses part of it

use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use producers::Producer;

/// The chunk sizes every `sweep_*` group is measured at: 64 B to 1 MiB.
pub const CHUNKS: [usize; 4] = [64, 4 << 10, 64 << 10, 1 << 20];

/// Payload per iteration for the cheap groups.
pub const TOTAL: usize = 4 << 20;

/// 10 samples, 0.5 s warm-up, 1.5 s measurement: about 2.5 s per
/// benchmark id with criterion's own work. The `sweep_*` benches have about
/// 180 ids; at the 1 s + 2 s of the other benches the whole `cargo bench`
/// took 944 s on 2 cores, over its 15 minutes.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
}

/// `n` bytes of log-like text lines (about 60 bytes each, `\n`-ended),
/// deterministic, about as compressible as a web server's output.
pub fn text(n: usize) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "GET",
        "/index.html",
        "HTTP/1.1",
        "200",
        "producer",
        "chunk",
        "glob",
        "medusa",
        "reactor",
        "consumer",
        "gzip",
        "deflate",
        "text/html",
        "keep-alive",
        "Mozilla/5.0",
        "curl/8.5.0",
    ];
    let mut out = Vec::with_capacity(n + 128);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while out.len() < n {
        for _ in 0..6 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(WORDS[(x & 15) as usize].as_bytes());
            out.push(b' ');
            out.extend_from_slice(((x >> 40) % 10_000).to_string().as_bytes());
            out.push(b' ');
        }
        out.push(b'\n');
    }
    out.truncate(n);
    out
}

/// Drains `p`, copying every chunk into `dst` (cleared first) as a sink
/// would: the figure is the pipeline's cost plus one copy of its output.
pub fn copy_out(mut p: impl Producer, dst: &mut Vec<u8>) -> usize {
    let mut cx = Context::from_waker(Waker::noop());
    dst.clear();
    loop {
        match p.poll_more(&mut cx) {
            Poll::Ready(Some(Ok(c))) => match c.as_bytes() {
                Some(b) => dst.extend_from_slice(b),
                None => dst.extend_from_slice(&c.into_bytes().unwrap()),
            },
            Poll::Ready(None) => break,
            Poll::Ready(Some(Err(e))) => panic!("{e}"),
            Poll::Pending => panic!("pending in a bench"),
        }
    }
    black_box(&dst);
    dst.len()
}

/// The structural baseline: one `copy_from_slice` of the whole payload into
/// a buffer of its size, the least any sink of it costs.
pub fn baseline_memcpy(g: &mut BenchmarkGroup<'_, WallTime>, data: &[u8]) {
    let mut dst = vec![0u8; data.len()];
    g.bench_function("baseline memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(data));
            black_box(&dst);
        })
    });
}
