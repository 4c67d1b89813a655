//! Benchmarks of the producer set and the write driver, each group with its
//! baseline, so every figure is a ratio measured in one run.
//!
//! Run: `cargo bench --bench producers` and then `python3 scripts/ratios.py`.
//!
//! A counting global allocator proves the zero-copy claims: before the timed
//! runs, each zero-copy pipeline is driven once and the bytes it allocated are
//! printed next to the payload size (and checked to be a tiny fraction).

use std::hint::black_box;
use std::io::Write;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use producers::io::{DriveStatus, Driver};
use producers::{
    Chain, FileProducer, Producer, ProducerExt,
    produce::{BytesProducer, ListProducer},
    testing,
};

#[path = "util/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// Drains a producer without touching payload bytes (regions stay unread).
fn drain<P: Producer>(mut p: P) -> u64 {
    let mut n = 0;
    while let Some(c) = p.more().unwrap() {
        n += black_box(c).len();
    }
    n
}

const MIB: usize = 1 << 20;

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 131 % 251) as u8).collect()
}

fn zero_copy(c: &mut Criterion) {
    let data = Bytes::from(payload(16 * MIB));
    let parts: Vec<Bytes> = (0..256)
        .map(|i| data.slice((i << 16)..((i + 1) << 16)))
        .collect();
    let file = std::sync::Arc::new(testing::file_with(&data));

    let chain = || {
        Chain::of(
            parts
                .iter()
                .map(|b| producers::from_bytes(b.clone()).boxed()),
        )
    };
    let regions = || {
        FileProducer::from_shared(file.clone())
            .unwrap()
            .regions()
            .glob(64 << 10)
    };
    let glob_big = || ListProducer::new(parts.iter().cloned()).glob(64 << 10);

    for (name, (alloc, n)) in [
        (
            "chain of 256 x 64 KiB",
            counting::allocated_by(|| drain(chain())),
        ),
        (
            "file region through glob",
            counting::allocated_by(|| drain(regions())),
        ),
        (
            "glob of 64 KiB chunks at a 64 KiB target",
            counting::allocated_by(|| drain(glob_big())),
        ),
    ] {
        println!("zero-copy check: {name}: {alloc} bytes allocated for {n} payload bytes");
        assert!(
            alloc * 100 < n,
            "{name} copied payload: {alloc} bytes allocated"
        );
    }

    let mut g = c.benchmark_group("zero_copy");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    g.bench_function("baseline memcpy", |b| {
        let mut dst = vec![0u8; data.len()];
        b.iter(|| dst.copy_from_slice(black_box(&data)))
    });
    g.bench_function("chain", |b| b.iter(|| drain(chain())));
    g.bench_function("glob pass-through", |b| b.iter(|| drain(glob_big())));
    g.bench_function("file regions through glob", |b| b.iter(|| drain(regions())));
    g.finish();
}

fn glob_small(c: &mut Criterion) {
    let total = 16 * MIB;
    let data: &'static [u8] = payload(total).leak();
    let target = 64 << 10;
    let mut g = c.benchmark_group("glob_64B_into_64KiB");
    g.throughput(Throughput::Bytes(total as u64));
    g.sample_size(20);
    g.bench_function("baseline copy_from_slice of 64 B pieces", |b| {
        let mut buf = vec![0u8; target];
        b.iter(|| {
            for (i, piece) in data.chunks(64).enumerate() {
                let at = (i * 64) % target;
                buf[at..at + piece.len()].copy_from_slice(piece);
                if at + 64 == target {
                    black_box(&buf);
                }
            }
        })
    });
    g.bench_function("baseline one copy_from_slice", |b| {
        let mut buf = vec![0u8; total];
        b.iter(|| buf.copy_from_slice(black_box(data)))
    });
    g.bench_function("glob (static source)", |b| {
        b.iter(|| {
            drain(
                BytesProducer::with_piece_size(Bytes::from_static(data), 64)
                    .unwrap()
                    .glob(target),
            )
        })
    });
    let shared = Bytes::from(data.to_vec());
    g.bench_function("glob (shared source)", |b| {
        b.iter(|| {
            drain(
                BytesProducer::with_piece_size(shared.clone(), 64)
                    .unwrap()
                    .glob(target),
            )
        })
    });
    g.finish();
}

fn drive_to<W: Write>(p: impl Producer, w: &mut W) -> u64 {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut d = Driver::new(p);
    assert_eq!(d.write_to(w, &mut cx).unwrap(), DriveStatus::Done);
    d.written()
}

/// Into a `Vec` with room reserved, so both sides do the same memcpy; the
/// driver's overhead (chunking, gathering, iovecs) is what the ratio shows.
/// (`io::sink` is not used: one `write_all` into it is a no-op, so the ratio
/// would only count the driver's per-chunk calls against nothing.)
fn driver(c: &mut Criterion) {
    let total = 16 * MIB;
    let data = Bytes::from(payload(total));
    let mut g = c.benchmark_group("vectored_driver");
    g.throughput(Throughput::Bytes(total as u64));
    g.sample_size(20);
    for chunk in [4 << 10, 16 << 10, 64 << 10] {
        g.bench_with_input(
            BenchmarkId::new("baseline write_all into Vec", chunk),
            &chunk,
            |b, _| {
                let mut v = Vec::with_capacity(total);
                b.iter(|| {
                    v.clear();
                    v.write_all(black_box(&data)).unwrap();
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("driver into Vec", chunk),
            &chunk,
            |b, &chunk| {
                let mut v = Vec::with_capacity(total);
                b.iter(|| {
                    v.clear();
                    drive_to(
                        BytesProducer::with_piece_size(data.clone(), chunk).unwrap(),
                        &mut v,
                    )
                })
            },
        );
    }
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
    targets = zero_copy, glob_small, driver
}
criterion_main!(benches);
