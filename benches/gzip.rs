//! gzip encode and decode throughput against flate2's own `GzEncoder` and
//! `GzDecoder`, the baseline in the same group so each figure is a ratio
//! from one run.
//!
//! ```text
//! cargo bench --bench gzip -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;
use std::io::{Read, Write};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flate2::Compression;
use producers::codec::gzip::FlushPolicy;
use producers::{Producer, ProducerExt, from_bytes};

/// About 6 MiB of access-log-like text, made deterministically.
fn corpus() -> Vec<u8> {
    const PATHS: [&str; 8] = [
        "/",
        "/index.html",
        "/api/v1/items",
        "/static/app.js",
        "/static/style.css",
        "/images/logo.png",
        "/login",
        "/api/v1/items/42/comments",
    ];
    const AGENTS: [&str; 4] = [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
        "curl/8.5.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) Safari/605.1.15",
        "python-requests/2.31.0",
    ];
    let mut out = Vec::with_capacity(6 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    while out.len() < 6 << 20 {
        let r = next();
        let line = format!(
            "10.{}.{}.{} - - [12/Mar/2024:{:02}:{:02}:{:02} +0000] \"GET {} HTTP/1.1\" {} {} \"-\" \"{}\"\n",
            r & 0xff,
            (r >> 8) & 0xff,
            (r >> 16) & 0xff,
            (r >> 24) % 24,
            (r >> 29) % 60,
            (r >> 35) % 60,
            PATHS[(r >> 41) as usize % PATHS.len()],
            [200, 200, 200, 304, 404][(r >> 44) as usize % 5],
            (r >> 47) % 50_000,
            AGENTS[(r >> 60) as usize % AGENTS.len()],
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

/// Drains a producer the way a socket writer would: chunk by chunk, with no
/// copy. (The baselines hand their output over in one `Vec`.)
fn drain(mut p: impl Producer) -> u64 {
    let mut n = 0;
    while let Some(c) = p.more().unwrap() {
        n += c.len();
        black_box(&c);
    }
    n
}

fn encode(c: &mut Criterion) {
    let data = bytes::Bytes::from(corpus());
    let mut g = c.benchmark_group("gzip_encode");
    g.sample_size(10)
        .throughput(Throughput::Bytes(data.len() as u64));
    for level in [1u32, 6] {
        g.bench_with_input(
            BenchmarkId::new("flate2_GzEncoder", level),
            &level,
            |b, &level| {
                b.iter(|| {
                    let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::new(level));
                    e.write_all(&data).unwrap();
                    black_box(e.finish().unwrap())
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("producers_gzip", level),
            &level,
            |b, &level| {
                b.iter(|| {
                    black_box(drain(
                        from_bytes(data.clone())
                            .gzip(level)
                            .flush_policy(FlushPolicy::AtEnd),
                    ))
                })
            },
        );
    }
    g.finish();
}

fn decode(c: &mut Criterion) {
    let data = corpus();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
    e.write_all(&data).unwrap();
    let packed = bytes::Bytes::from(e.finish().unwrap());
    let mut g = c.benchmark_group("gunzip");
    g.sample_size(10)
        .throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("flate2_GzDecoder", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&packed[..])
                .read_to_end(&mut out)
                .unwrap();
            black_box(out)
        })
    });
    g.bench_function("producers_gunzip_capped", |b| {
        b.iter(|| {
            black_box(drain(
                from_bytes(packed.clone())
                    .gunzip()
                    .max_output(data.len() as u64),
            ))
        })
    });
    g.finish();
}

/// The whole static-file path of a server: `file → gzip → chunked → glob`,
/// against reading the same file and compressing it with flate2's
/// `GzEncoder` (no chunked coding, no globbing) in the same run.
fn pipeline(c: &mut Criterion) {
    let data = corpus();
    let path = std::env::temp_dir().join(format!("producers-bench-gzip-{}", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    let mut g = c.benchmark_group("gzip_pipeline");
    g.sample_size(10)
        .throughput(Throughput::Bytes(data.len() as u64));
    for level in [1u32, 6] {
        g.bench_with_input(
            BenchmarkId::new("flate2_GzEncoder_file", level),
            &level,
            |b, &level| {
                b.iter(|| {
                    let bytes = std::fs::read(&path).unwrap();
                    let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::new(level));
                    e.write_all(&bytes).unwrap();
                    black_box(e.finish().unwrap())
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("file_gzip_chunked_glob", level),
            &level,
            |b, &level| {
                b.iter(|| {
                    black_box(drain(
                        producers::file(&path)
                            .unwrap()
                            .gzip(level)
                            .flush_policy(FlushPolicy::AtEnd)
                            .chunked()
                            .glob(64 << 10),
                    ))
                })
            },
        );
    }
    g.finish();
    let _ = std::fs::remove_file(&path);
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
    targets = encode, decode, pipeline
}
criterion_main!(benches);
