// A pipelining line client on the reactor: keeps `--depth` lines in flight
// without waiting, counts the echoes, prints the total and the rate.
//
//     cargo run --release --example echo -- --addr 127.0.0.1:7000 &
//     cargo run --release --example pipelined_client -- --addr 127.0.0.1:7000 --lines 1000000 --depth 64
//
// Options: `--size BYTES` (line length with its `\n`, default 64),
// `--conns N` (connections, each sending `--lines`, default 1). Exits on its
// own when every line has come back (exit status 1 if a connection failed
// first), or gives up after `--exit-after SECONDS` if given (exit status 1).
// Prints `listening on ADDR` too, for symmetry with the servers: the
// address it talks to.

use std::cell::Cell;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use producers::consume::{ConsumeError, Consumer, Control, Frame, Framing};
use producers::reactor::{ChannelCtx, CloseReason, Handler, Outbox, Reactor};

struct Args {
    addr: SocketAddr,
    lines: u64,
    depth: u64,
    size: usize,
    conns: usize,
    exit_after: Option<std::time::Duration>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:7000".parse().unwrap(),
        lines: 100_000,
        depth: 16,
        size: 64,
        conns: 1,
        exit_after: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().ok_or(format!("{a} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{a}: {e}");
        match a.as_str() {
            "--addr" => args.addr = v.parse().map_err(|e| bad(&e))?,
            "--lines" => args.lines = v.parse().map_err(|e| bad(&e))?,
            "--depth" => args.depth = v.parse().map_err(|e| bad(&e))?,
            "--size" => args.size = v.parse().map_err(|e| bad(&e))?,
            "--conns" => args.conns = v.parse().map_err(|e| bad(&e))?,
            "--exit-after" => {
                let s: f64 = v.parse().map_err(|e| bad(&e))?;
                args.exit_after = Some(std::time::Duration::from_secs_f64(s));
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.size < 1 || args.depth < 1 {
        return Err("--size and --depth must be at least 1".into());
    }
    Ok(args)
}

/// Counts echoed lines; for each one back, sends one more until all are
/// sent. Everything happens in whole lines, a batch per read.
struct Counter {
    out: Outbox,
    /// `depth` lines back to back; a batch of `k` lines is a slice of it.
    lines: Bytes,
    size: usize,
    sent: u64,
    received: u64,
    total: u64,
    /// Lines echoed, summed over connections.
    done: Arc<AtomicU64>,
}

impl Consumer for Counter {
    fn framing(&self) -> Framing {
        Framing::Raw
    }

    fn on_frame(&mut self, _: Frame, _: &mut Control) -> Result<(), ConsumeError> {
        unreachable!("a raw consumer gets on_raw")
    }

    fn on_raw(&mut self, buf: &mut BytesMut, _: &mut Control) -> Result<(), ConsumeError> {
        let Some(end) = memchr::memrchr(b'\n', buf) else {
            return Ok(());
        };
        let back = memchr::memchr_iter(b'\n', &buf[..=end]).count() as u64;
        let _ = buf.split_to(end + 1);
        self.received += back;
        let mut more = back.min(self.total - self.sent);
        self.sent += more;
        while more > 0 {
            let k = more.min((self.lines.len() / self.size) as u64);
            self.out.push(self.lines.slice(..k as usize * self.size))?;
            more -= k;
        }
        if self.received == self.total {
            self.done.fetch_add(self.received, Ordering::Relaxed);
            self.out.close_now()?;
        }
        Ok(())
    }
}

struct Client {
    args: (u64, u64, usize),
    done: Arc<AtomicU64>,
    failed: Rc<Cell<bool>>,
}

impl Handler for Client {
    fn on_connect(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        let (total, depth, size) = self.args;
        let mut line = vec![b'x'; size];
        line[size - 1] = b'\n';
        let lines = Bytes::from(line.repeat(depth as usize));
        let first = depth.min(total);
        ctx.push(lines.slice(..first as usize * size));
        let out = ctx.outbox();
        ctx.push_consumer(Counter {
            out,
            lines,
            size,
            sent: first,
            received: 0,
            total,
            done: self.done.clone(),
        });
        Ok(())
    }

    fn on_close(&mut self, reason: &CloseReason) {
        if !reason.is_clean() {
            eprintln!("pipelined_client: connection closed: {reason}");
            self.failed.set(true);
        }
    }
}

fn main() -> io::Result<()> {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!(
            "pipelined_client: {e}\nusage: pipelined_client --addr HOST:PORT --lines N --depth D [--size BYTES] [--conns N] [--exit-after SECONDS]"
        );
        std::process::exit(2)
    });
    println!("listening on {}", args.addr);
    io::stdout().flush()?;
    let mut reactor = Reactor::new()?;
    let failed = Rc::new(Cell::new(false));
    let done = Arc::new(AtomicU64::new(0));
    for _ in 0..args.conns {
        reactor.connect(
            args.addr,
            Client {
                args: (args.lines, args.depth, args.size),
                done: done.clone(),
                failed: failed.clone(),
            },
        )?;
    }
    if let Some(d) = args.exit_after {
        // Giving up: a graceful shutdown, then the count is short.
        let h = reactor.handle();
        std::thread::spawn(move || {
            std::thread::sleep(d);
            h.shutdown(std::time::Duration::ZERO);
        });
    }
    let t = Instant::now();
    reactor.run()?;
    let secs = t.elapsed().as_secs_f64();
    let total = done.load(Ordering::Relaxed);
    println!(
        "{total} lines of {} bytes echoed in {secs:.3} s: {:.0} lines/s, {:.1} MB/s",
        args.size,
        total as f64 / secs,
        (total * args.size as u64) as f64 / secs / 1e6
    );
    if failed.get() || total != args.lines * args.conns as u64 {
        std::process::exit(1);
    }
    Ok(())
}
