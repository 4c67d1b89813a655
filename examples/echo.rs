// A line echo server on the reactor: every `\n`-terminated line comes back.
//
//     cargo run --release --example echo -- --addr 127.0.0.1:7000
//     cargo run --example echo -- --exit-after 5          # binds 127.0.0.1:0
//     cargo run --release --example echo -- --threads 2   # one loop per core, SO_REUSEPORT
//
// Prints `listening on ADDR` once ready. Exits after `--exit-after SECONDS`
// (a graceful shutdown) or when standard input ends, if `--stdin` is given.
// Try it with `nc 127.0.0.1 PORT` or `examples/pipelined_client.rs`.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use producers::consume::{ConsumeError, Consumer, Control, Frame, Framing};
use producers::reactor::{ChannelCtx, Handler, Outbox, Reactor, bind_reuseport};

/// Echoes every complete line, all the complete lines of one read in one
/// chunk (no copy: the chunk is split off the input buffer).
struct EchoLines {
    out: Outbox,
}

impl Consumer for EchoLines {
    fn framing(&self) -> Framing {
        Framing::Raw
    }

    fn on_frame(&mut self, _frame: Frame, _ctl: &mut Control) -> Result<(), ConsumeError> {
        unreachable!("a raw consumer gets on_raw")
    }

    fn on_raw(&mut self, buf: &mut BytesMut, _ctl: &mut Control) -> Result<(), ConsumeError> {
        // A line longer than the input budget fails the FIFO, closing the
        // connection: the line length cap.
        if let Some(end) = memchr::memrchr(b'\n', buf) {
            self.out.push(buf.split_to(end + 1).freeze())?;
        }
        Ok(())
    }
}

struct Echo;

impl Handler for Echo {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        let out = ctx.outbox();
        ctx.push_consumer(EchoLines { out });
        Ok(())
    }
}

struct Args {
    addr: SocketAddr,
    exit_after: Option<Duration>,
    stdin: bool,
    threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:0".parse().unwrap(),
        exit_after: None,
        stdin: false,
        threads: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--addr" => {
                args.addr = value("--addr")?
                    .parse()
                    .map_err(|e| format!("--addr: {e}"))?
            }
            "--exit-after" => {
                let s: f64 = value("--exit-after")?
                    .parse()
                    .map_err(|e| format!("--exit-after: {e}"))?;
                args.exit_after = Some(Duration::from_secs_f64(s));
            }
            "--threads" => {
                args.threads = value("--threads")?
                    .parse()
                    .map_err(|e| format!("--threads: {e}"))?
            }
            "--stdin" => args.stdin = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn main() -> io::Result<()> {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("echo: {e}\nusage: echo [--addr HOST:PORT] [--threads N] [--exit-after SECONDS] [--stdin]");
        std::process::exit(2)
    });
    // The first listener picks the port; the others share it.
    let first = bind_reuseport(args.addr, 1024)?;
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..args.threads.max(1) {
        listeners.push(bind_reuseport(addr, 1024)?);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let n = listeners.len();
    let threads: Vec<_> = listeners
        .into_iter()
        .map(|l| {
            let tx = tx.clone();
            std::thread::spawn(move || -> io::Result<()> {
                let mut reactor = Reactor::new()?;
                reactor.listen(l, |_peer| Some(Echo))?;
                tx.send(reactor.handle()).expect("main waits");
                reactor.run()
            })
        })
        .collect();
    drop(tx);
    let handles: Vec<_> = rx.iter().take(n).collect();
    println!("listening on {addr}");
    io::stdout().flush()?;

    let stop = move || {
        for h in &handles {
            h.shutdown(Duration::from_secs(1));
        }
    };
    if args.stdin {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let _ = io::copy(&mut io::stdin(), &mut io::sink());
            stop();
        });
    }
    if let Some(d) = args.exit_after {
        std::thread::spawn(move || {
            std::thread::sleep(d);
            stop();
        });
    }
    for t in threads {
        t.join().expect("reactor thread")?;
    }
    Ok(())
}
