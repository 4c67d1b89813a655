//! A reactor channel sending 4 MiB over loopback in chunks of 64 B to
//! 1 MiB, against a blocking `std::net::TcpStream::write_all` of the same
//! chunks in the same group (a write per chunk, which is what a naive
//! server does); and the same channel with the chunks globbed to 64 KiB
//! first (Medusa's claim: gathering small chunks before the socket pays).
//! Both ends keep Nagle on (the std default), for the same socket options.
//!
//! `cargo bench --bench sweep_reactor` then `python3 scripts/ratios.py`.

mod sweep_util;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

use bytes::Bytes;
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use producers::reactor::{ChannelCtx, Config, Handler, Reactor};
use producers::stage::BoxProducer;
use producers::{ProducerExt, produce::BytesProducer};
use sweep_util::{CHUNKS, TOTAL, config, text};

/// A reader that drains a connection to its end and returns the count.
fn drain(addr: SocketAddr) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut buf = vec![0; 256 << 10];
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

struct SendAll(Option<BoxProducer>);

impl Handler for SendAll {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        ctx.push_boxed(self.0.take().expect("once"));
        ctx.close_when_done();
        Ok(())
    }
}

fn channel_send(p: BoxProducer) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let reader = drain(l.local_addr().unwrap());
    let (s, _) = l.accept().unwrap();
    let mut config = Config::default();
    config.nodelay = false;
    let mut r = Reactor::with_config(config).unwrap();
    r.adopt(s, SendAll(Some(p))).unwrap();
    r.run().unwrap();
    assert_eq!(reader.join().unwrap(), TOTAL as u64);
}

fn socket(c: &mut Criterion) {
    let data = Bytes::from(text(TOTAL));
    let mut g = c.benchmark_group("sweep_socket");
    g.throughput(Throughput::Bytes(TOTAL as u64));
    // Slow at 64 B: equal samples, so 10 of them fit the time.
    g.sampling_mode(SamplingMode::Flat);
    for chunk in CHUNKS {
        g.bench_with_input(
            BenchmarkId::new("baseline std write_all", chunk),
            &chunk,
            |b, &chunk| {
                b.iter(|| {
                    let l = TcpListener::bind("127.0.0.1:0").unwrap();
                    let reader = drain(l.local_addr().unwrap());
                    let (mut s, _) = l.accept().unwrap();
                    for piece in data.chunks(chunk) {
                        s.write_all(piece).unwrap();
                    }
                    drop(s);
                    assert_eq!(reader.join().unwrap(), TOTAL as u64);
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("channel", chunk), &chunk, |b, &chunk| {
            b.iter(|| {
                channel_send(
                    BytesProducer::with_piece_size(data.clone(), chunk)
                        .unwrap()
                        .boxed(),
                )
            })
        });
        g.bench_with_input(
            BenchmarkId::new("channel glob 64K", chunk),
            &chunk,
            |b, &chunk| {
                b.iter(|| {
                    channel_send(
                        BytesProducer::with_piece_size(data.clone(), chunk)
                            .unwrap()
                            .glob(64 << 10)
                            .boxed(),
                    )
                })
            },
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = socket
}
criterion_main!(benches);
