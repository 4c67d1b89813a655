//! Memory per idle connection: opens N connections (10,000 by default,
//! `REACTOR_IDLE_CONNS` to change) to a reactor echo server, waits until
//! every one is open, and reports the heap the loop holds per connection
//! (a counting global allocator: the loop's own memory, beyond the
//! kernel's socket buffers) and the change in resident memory.
//!
//! `cargo bench --bench reactor_idle`
//!
//! Raises the soft descriptor limit to the hard one first; scales N down
//! (and says so) if that is still too low for 2 descriptors a connection.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use producers::consume::Lines;
use producers::reactor::{ChannelCtx, Handler, Reactor};

#[path = "util/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// A line echo handler, as a real server would hold per connection.
struct Echo;

impl Handler for Echo {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        let out = ctx.outbox();
        ctx.push_consumer(Lines::new("\n", move |line, _| {
            out.push(line)?;
            Ok(out.push("\n")?)
        }));
        Ok(())
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> io::Result<()> {
    // `cargo bench` passes `--bench`; nothing to filter here.
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    let hard = lim.maximum.unwrap_or(1 << 20);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(hard),
            maximum: lim.maximum,
        },
    );
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(hard);
    let wanted: usize = std::env::var("REACTOR_IDLE_CONNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let n = wanted.min((soft as usize).saturating_sub(64) / 2);
    println!("fd limit {soft} (raised to the hard limit {hard})");
    if n < wanted {
        println!("scaled down from {wanted} to {n} connections: the fd limit is too low");
    }

    let (tx, rx) = mpsc::channel();
    let server = std::thread::spawn(move || -> io::Result<()> {
        let mut r = Reactor::new()?;
        let l = TcpListener::bind("127.0.0.1:0")?;
        let addr = l.local_addr()?;
        r.listen(l, |_| Some(Echo))?;
        let h = r.handle();
        tx.send((addr, h)).unwrap();
        r.run()
    });
    let (addr, handle) = rx.recv().unwrap();
    let open = |h: &producers::reactor::Handle| {
        let (tx, rx) = mpsc::channel();
        h.post(move |r| tx.send(r.channels()).unwrap());
        rx.recv().unwrap()
    };
    // Warm up: one connection, so lazily made loop buffers are counted
    // before the baseline.
    let warm = TcpStream::connect(addr)?;
    while open(&handle) < 1 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut clients = Vec::with_capacity(n);
    let (heap0, rss0) = (counting::live(), rss_kib());
    for _ in 0..n {
        clients.push(TcpStream::connect(addr)?);
    }
    while open(&handle) < n + 1 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let (heap1, rss1) = (counting::live(), rss_kib());
    let per_heap = (heap1 - heap0) as f64 / n as f64;
    let per_rss = (rss1.saturating_sub(rss0) * 1024) as f64 / n as f64;
    println!(
        "{n} idle connections: loop heap {per_heap:.0} B/connection, resident memory {per_rss:.0} B/connection (process-wide, both ends' user space)"
    );
    drop(clients);
    drop(warm);
    handle.shutdown(Duration::from_secs(1));
    server.join().unwrap()?;
    Ok(())
}
