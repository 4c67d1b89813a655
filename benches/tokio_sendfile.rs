//! A 256 MiB file sent over loopback TCP on a current-thread tokio runtime:
//! the `Driver` (file regions with `sendfile`, zero-copy) against
//! `tokio::io::copy` from a `tokio::fs::File` (the obvious tokio code, its
//! 8 KiB buffer), `tokio::io::copy_buf` through a 256 KiB `BufReader` (a
//! tuned copy), and the driver's own copying path (`Copying`: 256 KiB
//! `spawn_blocking` preads), all in one group, so each figure is a ratio
//! from one run. A receiver thread drains each connection and counts.
//!
//! ```text
//! cargo bench --features tokio --bench tokio_sendfile -- --quick
//! ```
//!
//! One quick run on 2 shared cores (load average 5.0 to 4.8):
//!
//! ```text
//! Sendfile        117 ms   2.1 GiB/s
//! DriverCopying   118 ms   2.1 GiB/s
//! TokioCopy      1100 ms   0.23 GiB/s   sendfile 9.4x faster
//! TokioCopyBuf    100 ms   2.5 GiB/s    sendfile 0.85x
//! ```
//!
//! Over loopback the receiver's copy out of the socket costs as much as
//! the sender's copies, so `sendfile` only matches a tuned copy here; what
//! it saves is the sender's CPU and memory bandwidth, which a real NIC
//! shows and loopback does not. Against plain `tokio::io::copy` (8 KiB
//! reads, each a trip to the blocking pool) it is 9–11x.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::thread;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use producers::tokio::{Copying, Driver};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

const LEN: u64 = 256 << 20;

/// A 256 MiB file in the temporary directory, written once.
fn file() -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "producers-bench-tokio-sendfile-{}",
        std::process::id()
    ));
    let mut f = std::fs::File::create(&path).unwrap();
    let block: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
    for _ in 0..LEN >> 20 {
        f.write_all(&block).unwrap();
    }
    path
}

/// Connects a draining receiver to `addr`; its handle returns the count.
fn receiver(addr: SocketAddr) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let mut buf = vec![0u8; 256 << 10];
        let mut n = 0;
        loop {
            match s.read(&mut buf).unwrap() {
                0 => return n,
                k => n += k as u64,
            }
        }
    })
}

#[derive(Clone, Copy, Debug)]
enum How {
    Sendfile,
    DriverCopying,
    TokioCopy,
    TokioCopyBuf,
}

async fn send(how: How, path: &Path, mut conn: TcpStream) -> u64 {
    let n = match how {
        How::Sendfile => {
            let mut d = Driver::new(producers::file(path).unwrap().regions());
            let n = d.drive(&mut conn).await.unwrap();
            #[cfg(target_os = "linux")]
            assert_eq!(d.sent().sendfile_bytes, LEN);
            n
        }
        How::DriverCopying => {
            let p = producers::file(path).unwrap().regions();
            producers::tokio::copy(p, &mut Copying::new(&mut conn))
                .await
                .unwrap()
        }
        How::TokioCopy => {
            let mut f = tokio::fs::File::open(path).await.unwrap();
            tokio::io::copy(&mut f, &mut conn).await.unwrap()
        }
        How::TokioCopyBuf => {
            let f = tokio::fs::File::open(path).await.unwrap();
            let mut r = tokio::io::BufReader::with_capacity(256 << 10, f);
            tokio::io::copy_buf(&mut r, &mut conn).await.unwrap()
        }
    };
    conn.shutdown().await.unwrap();
    n
}

fn bench(c: &mut Criterion) {
    let path = file();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut g = c.benchmark_group("tokio_sendfile_256MiB");
    g.throughput(Throughput::Bytes(LEN));
    g.sample_size(10);
    for how in [
        How::Sendfile,
        How::DriverCopying,
        How::TokioCopy,
        How::TokioCopyBuf,
    ] {
        g.bench_function(BenchmarkId::from_parameter(format!("{how:?}")), |b| {
            b.iter(|| {
                let rx = receiver(addr);
                let sent = rt.block_on(async {
                    let (conn, _) = listener.accept().await.unwrap();
                    send(how, &path, conn).await
                });
                assert_eq!(sent, LEN);
                assert_eq!(rx.join().unwrap(), LEN);
            })
        });
    }
    g.finish();
    std::fs::remove_file(&path).unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
