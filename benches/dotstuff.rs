//! Dot-stuffing and un-stuffing throughput, against a memcpy of the same
//! bytes in the same group (so each figure reads as a ratio).
//!
//! Run: `cargo bench --bench dotstuff -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use producers::codec::dotstuff::{DotUnstuffer, Unstuffed};
use producers::{Producer, ProducerExt, produce::BytesProducer};

/// About 1 MiB of mail text: 72-byte CRLF lines, one in ten starting with `.`.
fn mail_body() -> Bytes {
    let mut out = Vec::with_capacity(1 << 20);
    let mut i = 0u32;
    while out.len() < 1 << 20 {
        if i.is_multiple_of(10) {
            out.push(b'.');
        }
        out.extend((0..70).map(|k| b'a' + ((i + k) % 26) as u8));
        out.extend_from_slice(b"\r\n");
        i += 1;
    }
    Bytes::from(out)
}

/// Drains a producer, touching only lengths (its pieces are zero-copy).
/// Polls with a no-op waker: these producers are never pending, and
/// `Producer::more` would make a thread waker per call.
fn drain(mut p: impl Producer) -> u64 {
    let mut cx = Context::from_waker(Waker::noop());
    let mut n = 0;
    while let Poll::Ready(Some(c)) = p.poll_more(&mut cx) {
        n += black_box(c.unwrap()).len();
    }
    n
}

/// Drains a producer into `out`, copying its pieces.
fn copy_into(mut p: impl Producer, out: &mut Vec<u8>) {
    let mut cx = Context::from_waker(Waker::noop());
    while let Poll::Ready(Some(c)) = p.poll_more(&mut cx) {
        out.extend_from_slice(c.unwrap().as_bytes().unwrap());
    }
}

fn bench(c: &mut Criterion) {
    let body = mail_body();
    let wire = BytesProducer::with_piece_size(body.clone(), 16 << 10)
        .unwrap()
        .dot_stuffed()
        .terminated(true)
        .collect_bytes()
        .unwrap();
    let mut g = c.benchmark_group("dotstuff");
    g.throughput(Throughput::Bytes(body.len() as u64));

    g.bench_function("memcpy", |b| {
        let mut dst = vec![0u8; body.len()];
        b.iter(|| {
            dst.copy_from_slice(black_box(&body));
            black_box(&dst);
        })
    });
    for piece in [4 << 10, 64 << 10] {
        g.bench_with_input(BenchmarkId::new("stuff", piece), &piece, |b, &piece| {
            b.iter(|| {
                let p = BytesProducer::with_piece_size(body.clone(), piece).unwrap();
                drain(p.dot_stuffed().terminated(true))
            })
        });
        g.bench_with_input(
            BenchmarkId::new("stuff_collect", piece),
            &piece,
            |b, &piece| {
                let mut out = Vec::with_capacity(wire.len());
                b.iter(|| {
                    out.clear();
                    let p = BytesProducer::with_piece_size(body.clone(), piece)
                        .unwrap()
                        .dot_stuffed()
                        .terminated(true);
                    copy_into(p, &mut out);
                    black_box(&out);
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("unstuff", piece), &piece, |b, &piece| {
            b.iter(|| {
                let mut dec = DotUnstuffer::new();
                let mut n = 0;
                let mut rest = wire.clone();
                while !rest.is_empty() {
                    let mut buf = rest.split_to(piece.min(rest.len()));
                    while let Unstuffed::Data(d) = dec.decode_bytes(&mut buf).unwrap() {
                        n += black_box(d).len();
                    }
                }
                assert!(dec.is_ended());
                n
            })
        });
    }
    g.bench_function("escape_q", |b| {
        b.iter(|| {
            drain(
                BytesProducer::with_piece_size(body.clone(), 64 << 10)
                    .unwrap()
                    .escaped("q", "&q;"),
            )
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
    targets = bench
}
criterion_main!(benches);
