//! Reactor benchmarks, each group with its baseline measured in the same run:
//!
//! - `bulk`: a channel sending `REACTOR_BENCH_BYTES` (256 MiB by default; set
//!   `REACTOR_BENCH_BYTES=1073741824` for 1 GiB) over loopback in 64 KiB
//!   chunks, against a blocking `TcpStream::write_all` loop with the same
//!   buffer; and a file region through `sendfile` against `std::io::copy`
//!   from the file.
//! - `echo`: pipelined 64-byte lines through the reactor's echo server and
//!   through a minimal tokio echo server, same client.
//!
//! Run one group at a time with short times, e.g.
//! `cargo bench --bench reactor -- --warm-up-time 1 --measurement-time 3 bulk`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use producers::consume::{ConsumeError, Consumer, Control, Frame, Framing};
use producers::reactor::{ChannelCtx, Handle, Handler, Outbox, Reactor};
use producers::{Chunk, Counters, More, Producer};

const BUF: usize = 64 << 10;

fn total_bytes() -> u64 {
    std::env::var("REACTOR_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256 << 20)
}

/// The same shared 64 KiB buffer, `left` times: no copy, no allocation.
struct Repeat {
    chunk: Chunk,
    left: u64,
}

impl Producer for Repeat {
    fn poll_more(&mut self, _: &mut Context<'_>) -> More {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(Ok(self.chunk.clone())))
    }
    fn counters(&self) -> Option<Counters> {
        None
    }
}

/// A reader that drains a connection to EOF with a `BUF` buffer, returning
/// the count.
fn drain(addr: SocketAddr) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut buf = vec![0; BUF];
        let mut n = 0u64;
        loop {
            match s.read(&mut buf) {
                Ok(0) => return n,
                Ok(k) => n += k as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => panic!("{e}"),
            }
        }
    })
}

struct Send(Option<Box<dyn Producer + std::marker::Send>>);

impl Handler for Send {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        ctx.push_boxed(self.0.take().expect("once"));
        ctx.close_when_done();
        Ok(())
    }
}

/// Accepts one connection from a draining reader and sends `p` through a
/// reactor channel.
fn channel_send(p: Box<dyn Producer + std::marker::Send>, expect: u64) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let reader = drain(l.local_addr().unwrap());
    let (s, _) = l.accept().unwrap();
    // The baselines' sockets keep Nagle on (the std default); so does this
    // one, for the same socket options on both sides.
    let mut config = producers::reactor::Config::default();
    config.nodelay = false;
    let mut r = Reactor::with_config(config).unwrap();
    r.adopt(s, Send(Some(p))).unwrap();
    r.run().unwrap();
    assert_eq!(reader.join().unwrap(), expect);
}

fn bulk(c: &mut Criterion) {
    let total = total_bytes();
    let chunks = total / BUF as u64;
    let total = chunks * BUF as u64;
    let buf = Bytes::from(vec![7u8; BUF]);
    let path = std::env::temp_dir().join(format!("reactor-bench-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&path).unwrap();
        for _ in 0..chunks {
            f.write_all(&buf).unwrap();
        }
    }
    let mut g = c.benchmark_group("bulk");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(total));
    g.bench_function("std_write_all", |b| {
        b.iter(|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let reader = drain(l.local_addr().unwrap());
            let (mut s, _) = l.accept().unwrap();
            for _ in 0..chunks {
                s.write_all(&buf).unwrap();
            }
            drop(s);
            assert_eq!(reader.join().unwrap(), total);
        })
    });
    g.bench_function("channel_writev", |b| {
        b.iter(|| {
            channel_send(
                Box::new(Repeat {
                    chunk: Chunk::from_bytes(buf.clone()).unwrap(),
                    left: chunks,
                }),
                total,
            )
        })
    });
    g.bench_function("std_io_copy_file", |b| {
        b.iter(|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let reader = drain(l.local_addr().unwrap());
            let (mut s, _) = l.accept().unwrap();
            let mut f = std::fs::File::open(&path).unwrap();
            assert_eq!(io::copy(&mut f, &mut s).unwrap(), total);
            drop(s);
            assert_eq!(reader.join().unwrap(), total);
        })
    });
    g.bench_function("channel_sendfile", |b| {
        b.iter(|| {
            let p = producers::file(&path).unwrap().regions();
            channel_send(Box::new(p), total)
        })
    });
    g.finish();
    std::fs::remove_file(&path).unwrap();
}

/// Echoes the complete lines of each read in one chunk.
struct EchoLines(Outbox);

impl Consumer for EchoLines {
    fn framing(&self) -> Framing {
        Framing::Raw
    }
    fn on_frame(&mut self, _: Frame, _: &mut Control) -> Result<(), ConsumeError> {
        unreachable!()
    }
    fn on_raw(&mut self, buf: &mut BytesMut, _: &mut Control) -> Result<(), ConsumeError> {
        if let Some(end) = memchr::memrchr(b'\n', buf) {
            self.0.push(buf.split_to(end + 1).freeze())?;
        }
        Ok(())
    }
}

struct Echo;

impl Handler for Echo {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        let out = ctx.outbox();
        ctx.push_consumer(EchoLines(out));
        Ok(())
    }
}

fn reactor_echo_server() -> (SocketAddr, Handle, thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let t = thread::spawn(move || {
        let mut r = Reactor::new().unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        r.listen(l, |_| Some(Echo)).unwrap();
        tx.send((addr, r.handle())).unwrap();
        r.run().unwrap();
    });
    let (a, h) = rx.recv().unwrap();
    (a, h, t)
}

/// The minimal tokio echo server (tokio's README), single-threaded like the
/// reactor, with a 64 KiB buffer.
/// Its thread ends with the process.
fn tokio_echo_server() -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            loop {
                let (mut s, _) = l.accept().await.unwrap();
                s.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let mut buf = vec![0; 64 << 10];
                    loop {
                        let n = match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
    });
    rx.recv().unwrap()
}

const CONNS: usize = 4;
const LINES: usize = 50_000;

/// `CONNS` connections, each writing `LINES` 64-byte lines from a writer
/// thread while the main side reads the echoes.
fn pipelined(addr: SocketAddr) {
    let mut line = [b'x'; 64];
    line[63] = b'\n';
    let payload: Vec<u8> = line.repeat(LINES);
    let payload = std::sync::Arc::new(payload);
    let readers: Vec<_> = (0..CONNS)
        .map(|_| {
            let s = TcpStream::connect(addr).unwrap();
            s.set_nodelay(true).unwrap();
            let mut w = s.try_clone().unwrap();
            let p = payload.clone();
            let writer = thread::spawn(move || {
                for piece in p.chunks(16 << 10) {
                    w.write_all(piece).unwrap();
                }
            });
            thread::spawn(move || {
                let mut s = s;
                let mut buf = vec![0; BUF];
                let mut n = 0;
                while n < LINES * 64 {
                    n += s.read(&mut buf).unwrap();
                }
                writer.join().unwrap();
                n
            })
        })
        .collect();
    for r in readers {
        assert_eq!(r.join().unwrap(), LINES * 64);
    }
}

fn echo(c: &mut Criterion) {
    let (raddr, rhandle, rthread) = reactor_echo_server();
    let taddr = tokio_echo_server();
    let mut g = c.benchmark_group("echo");
    g.sample_size(10);
    g.throughput(Throughput::Elements((CONNS * LINES) as u64));
    g.bench_function("tokio_64B_lines", |b| b.iter(|| pipelined(taddr)));
    g.bench_function("reactor_64B_lines", |b| b.iter(|| pipelined(raddr)));
    g.finish();
    rhandle.shutdown(Duration::from_millis(100));
    rthread.join().unwrap();
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
    targets = bulk, echo
}
criterion_main!(benches);
