//! Every producer and structural combinator at chunk sizes from 64 B to
//! 1 MiB, each group against a memcpy of the same payload (the file
//! producer against `std` reads of the same size too), so every figure is
//! a ratio measured in one run. Each subject copies its output into a
//! buffer, as a sink would: a ratio near 1.0 means the producer costs
//! nothing beyond that copy.
//!
//! `cargo bench --bench sweep_producers` then `python3 scripts/ratios.py`.

mod sweep_util;

use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use producers::io::{DriveStatus, Driver};
use producers::{
    Chain, FileProducer, Producer, ProducerExt, from_bytes,
    produce::{BytesProducer, LinesProducer, ListProducer, output_with_capacity},
    testing,
};
use sweep_util::{CHUNKS, TOTAL, baseline_memcpy, config, copy_out, text};

fn data() -> Bytes {
    Bytes::from(text(TOTAL))
}

/// `data` cut into slices of `chunk` bytes (no copy).
fn slices(data: &Bytes, chunk: usize) -> Vec<Bytes> {
    (0..data.len())
        .step_by(chunk)
        .map(|i| data.slice(i..(i + chunk).min(data.len())))
        .collect()
}

/// One group: the memcpy baseline and `make(chunk)` drained into a buffer
/// at every chunk size.
fn structural<P: Producer>(
    c: &mut Criterion,
    name: &str,
    id: &str,
    data: &Bytes,
    mut make: impl FnMut(usize) -> P,
) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(data.len() as u64));
    baseline_memcpy(&mut g, data);
    let mut dst = Vec::with_capacity(2 * data.len());
    for chunk in CHUNKS {
        g.bench_with_input(BenchmarkId::new(id, chunk), &chunk, |b, &chunk| {
            b.iter(|| assert_eq!(copy_out(make(chunk), &mut dst), data.len()))
        });
    }
    g.finish();
}

fn bytes_producer(c: &mut Criterion) {
    let data = data();
    structural(c, "sweep_bytes", "with_piece_size", &data, |chunk| {
        BytesProducer::with_piece_size(data.clone(), chunk).unwrap()
    });
}

fn list(c: &mut Criterion) {
    let data = data();
    let parts: Vec<Vec<Bytes>> = CHUNKS.iter().map(|&k| slices(&data, k)).collect();
    structural(c, "sweep_list", "list", &data, |chunk| {
        let i = CHUNKS.iter().position(|&k| k == chunk).unwrap();
        ListProducer::new(parts[i].iter().cloned())
    });
}

fn lines(c: &mut Criterion) {
    // 62-byte lines plus CRLF: `chunk / 64` lines a batch.
    let line = Bytes::from(vec![b'x'; 62]);
    let n = TOTAL / 64;
    let payload = Bytes::from(vec![b'x'; n * 64]);
    structural(c, "sweep_lines", "lines", &payload, |chunk| {
        LinesProducer::new(std::iter::repeat_n(line.clone(), n)).batch(chunk / 64)
    });
}

fn file(c: &mut Criterion) {
    let data = data();
    let file = Arc::new(testing::file_with(&data));
    let mut g = c.benchmark_group("sweep_file");
    g.throughput(Throughput::Bytes(data.len() as u64));
    let mut dst = Vec::with_capacity(2 * data.len());
    for chunk in CHUNKS {
        g.bench_with_input(
            BenchmarkId::new("baseline std read", chunk),
            &chunk,
            |b, &chunk| {
                let mut buf = vec![0u8; chunk];
                b.iter(|| {
                    use std::os::unix::fs::FileExt;
                    dst.clear();
                    let mut at = 0u64;
                    loop {
                        let n = file.read_at(&mut buf, at).unwrap();
                        if n == 0 {
                            break;
                        }
                        dst.extend_from_slice(&buf[..n]);
                        at += n as u64;
                    }
                    black_box(&dst);
                    assert_eq!(dst.len(), data.len());
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("blocks", chunk), &chunk, |b, &chunk| {
            b.iter(|| {
                let p = FileProducer::from_shared(file.clone())
                    .unwrap()
                    .block_size(chunk);
                assert_eq!(copy_out(p, &mut dst), data.len())
            })
        });
    }
    g.finish();
}

fn chain(c: &mut Criterion) {
    let data = data();
    let parts: Vec<Vec<Bytes>> = CHUNKS.iter().map(|&k| slices(&data, k)).collect();
    structural(c, "sweep_chain", "chain", &data, |chunk| {
        let i = CHUNKS.iter().position(|&k| k == chunk).unwrap();
        Chain::of(parts[i].iter().map(|b| from_bytes(b.clone()).boxed()))
    });
    let half = data.len() / 2;
    structural(c, "sweep_then", "then", &data, |chunk| {
        BytesProducer::with_piece_size(data.slice(..half), chunk)
            .unwrap()
            .then(BytesProducer::with_piece_size(data.slice(half..), chunk).unwrap())
    });
}

fn hooked(c: &mut Criterion) {
    let data = data();
    structural(c, "sweep_hooked", "hooked", &data, |chunk| {
        BytesProducer::with_piece_size(data.clone(), chunk)
            .unwrap()
            .hooked(|n, _| {
                black_box(n);
            })
    });
}

fn pieces(c: &mut Criterion) {
    let data = data();
    structural(c, "sweep_pieces", "pieces", &data, |chunk| {
        from_bytes(data.clone()).pieces(chunk)
    });
}

fn glob(c: &mut Criterion) {
    let data = data();
    structural(
        c,
        "sweep_glob",
        "source chunk into glob 64K",
        &data,
        |chunk| {
            BytesProducer::with_piece_size(data.clone(), chunk)
                .unwrap()
                .glob(64 << 10)
        },
    );
}

/// The writer side of `output()` and its producer, alternated on one
/// thread: send a chunk, take it.
fn output(c: &mut Criterion) {
    let data = data();
    let mut g = c.benchmark_group("sweep_output");
    g.throughput(Throughput::Bytes(data.len() as u64));
    baseline_memcpy(&mut g, &data);
    let mut dst = Vec::with_capacity(2 * data.len());
    let mut cx = Context::from_waker(Waker::noop());
    for chunk in CHUNKS {
        let parts = slices(&data, chunk);
        g.bench_with_input(BenchmarkId::new("output", chunk), &chunk, |b, &chunk| {
            b.iter(|| {
                let (mut w, mut p) = output_with_capacity(chunk);
                dst.clear();
                for part in &parts {
                    w.send(part.clone()).unwrap();
                    while let Poll::Ready(Some(c)) = p.poll_more(&mut cx) {
                        dst.extend_from_slice(c.unwrap().as_bytes().unwrap());
                    }
                }
                w.close();
                assert!(matches!(p.poll_more(&mut cx), Poll::Ready(None)));
                assert_eq!(black_box(&dst).len(), data.len());
            })
        });
    }
    g.finish();
}

/// The vectored driver into a `Vec`, at every source chunk size.
fn drive(c: &mut Criterion) {
    let data = data();
    let mut g = c.benchmark_group("sweep_drive");
    g.throughput(Throughput::Bytes(data.len() as u64));
    baseline_memcpy(&mut g, &data);
    let mut dst: Vec<u8> = Vec::with_capacity(2 * data.len());
    let mut cx = Context::from_waker(Waker::noop());
    for chunk in CHUNKS {
        g.bench_with_input(BenchmarkId::new("drive", chunk), &chunk, |b, &chunk| {
            b.iter(|| {
                dst.clear();
                let mut d =
                    Driver::new(BytesProducer::with_piece_size(data.clone(), chunk).unwrap());
                assert_eq!(d.write_to(&mut dst, &mut cx).unwrap(), DriveStatus::Done);
                assert_eq!(black_box(&dst).len(), data.len());
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = bytes_producer, list, lines, file, chain, hooked, pieces, glob, output, drive
}
criterion_main!(benches);
