//! A 64 MiB file (in the page cache) read without blocking a tokio worker:
//! `OffloadedFile` (`spawn_blocking` preads, one in flight) at three block
//! sizes against `tokio::fs::File` reads into a 256 KiB buffer, and the
//! floor, blocking preads on the worker itself (what must not be done), in
//! the same group, so each figure is a ratio from one run. The figures are
//! quoted in `src/tokio/file.rs`.
//!
//! ```text
//! cargo bench --features tokio --bench tokio_file -- --quick
//! ```

use std::hint::black_box;
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use producers::Producer;
use producers::tokio::OffloadedFile;
use tokio::io::AsyncReadExt;

const LEN: usize = 64 << 20;

fn file() -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("producers-bench-tokio-file-{}", std::process::id()));
    let mut f = std::fs::File::create(&path).unwrap();
    let block: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
    for _ in 0..LEN >> 20 {
        f.write_all(&block).unwrap();
    }
    path
}

fn bench(c: &mut Criterion) {
    let path = file();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("tokio_file_64MiB");
    g.throughput(Throughput::Bytes(LEN as u64));
    g.sample_size(10);

    for block in [64 << 10, 256 << 10, 1 << 20] {
        g.bench_function(BenchmarkId::new("offloaded_pread", block >> 10), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut p = OffloadedFile::open(&path).await.unwrap().block_size(block);
                    let mut n = 0;
                    while let Some(c) = std::future::poll_fn(|cx| p.poll_more(cx)).await {
                        n += c.unwrap().len();
                    }
                    assert_eq!(n, LEN as u64);
                })
            })
        });
    }
    g.bench_function(BenchmarkId::new("tokio_fs_read", 256), |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut f = tokio::fs::File::open(&path).await.unwrap();
                let mut buf = vec![0u8; 256 << 10];
                let mut n = 0;
                loop {
                    let got = f.read(&mut buf).await.unwrap();
                    if got == 0 {
                        break;
                    }
                    n += got;
                    black_box(&buf[..got]);
                }
                assert_eq!(n, LEN);
            })
        })
    });
    g.bench_function(BenchmarkId::new("blocking_pread_on_the_worker", 256), |b| {
        b.iter(|| {
            let f = std::fs::File::open(&path).unwrap();
            let mut buf = vec![0u8; 256 << 10];
            let mut at = 0;
            while at < LEN {
                let got = f.read_at(&mut buf, at as u64).unwrap();
                assert!(got > 0);
                black_box(&buf[..got]);
                at += got;
            }
        })
    });
    g.finish();
    std::fs::remove_file(&path).unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
