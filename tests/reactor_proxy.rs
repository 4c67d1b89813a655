//! Backpressure between channels: the reactor's pause/resume and drained
//! notifications, and the proxy example in-process.
#![cfg(feature = "reactor")]

mod util;

#[path = "../examples/proxy.rs"]
#[allow(dead_code)]
mod proxy;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use producers::reactor::{ChannelCtx, Config, Handle, Handler, Reactor, Stats};
use util::reactor::{Echo, client, pattern};

const HIGH: usize = 64 << 10;
const LOW: usize = 16 << 10;

/// The proxy example's `serve` on a reactor thread with small watermarks.
fn start_proxy(upstream: SocketAddr) -> (SocketAddr, Handle, thread::JoinHandle<Stats>) {
    let mut config = Config::default();
    config.high_watermark = HIGH;
    config.low_watermark = LOW;
    start_proxy_with(upstream, config)
}

/// The proxy example's `serve` on a reactor thread with `config`.
fn start_proxy_with(
    upstream: SocketAddr,
    config: Config,
) -> (SocketAddr, Handle, thread::JoinHandle<Stats>) {
    let (tx, rx) = mpsc::channel();
    let t = thread::spawn(move || {
        let mut r = Reactor::with_config(config).unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        tx.send((l.local_addr().unwrap(), r.handle())).unwrap();
        proxy::serve(&mut r, l, upstream, false).unwrap();
        r.run().unwrap();
        r.stats()
    });
    let (addr, h) = rx.recv().unwrap();
    (addr, h, t)
}

fn stats(h: &Handle) -> Stats {
    let (tx, rx) = mpsc::channel();
    h.post(move |r| {
        let _ = tx.send(r.stats());
    });
    rx.recv_timeout(Duration::from_secs(5)).expect("stats")
}

#[test]
fn a_client_that_never_reads_cannot_make_the_proxy_buffer_a_fast_upstream() {
    let total = 32 << 20;
    let data = Arc::new(pattern(total));
    let up = TcpListener::bind("127.0.0.1:0").unwrap();
    let up_addr = up.local_addr().unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let blocked = Arc::new(AtomicBool::new(false));
    // The upstream: sends everything as fast as the proxy takes it; a write
    // that makes no progress for 300 ms means the proxy stopped reading.
    let writer = {
        let (data, sent, blocked) = (data.clone(), sent.clone(), blocked.clone());
        thread::spawn(move || {
            let (mut s, _) = up.accept().unwrap();
            s.set_write_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let mut off = 0;
            while off < data.len() {
                let end = (off + (64 << 10)).min(data.len());
                match s.write(&data[off..end]) {
                    Ok(n) => {
                        off += n;
                        sent.store(off, Ordering::SeqCst);
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        blocked.store(true, Ordering::SeqCst);
                    }
                    Err(e) => panic!("upstream write: {e}"),
                }
            }
            // Everything sent: the proxy delivers it, then closes the client.
        })
    };
    let (addr, h, proxy) = start_proxy(up_addr);
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    // Not a tiny receive buffer: phase 2 would crawl through the kernel's
    // zero-window probes.
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();

    // Phase 1: the client reads nothing until the upstream is held up.
    let start = Instant::now();
    while !blocked.load(Ordering::SeqCst) {
        assert!(
            sent.load(Ordering::SeqCst) < total,
            "the upstream sent everything into a client that never reads: no backpressure \
             ({:?})",
            stats(&h)
        );
        assert!(start.elapsed() < Duration::from_secs(30), "no progress");
        thread::sleep(Duration::from_millis(10));
    }
    let held = stats(&h);
    let bound = HIGH + Config::default().read_size;
    assert!(
        held.max_queued <= bound,
        "the proxy queued {} bytes for a client that never reads (bound {bound})",
        held.max_queued
    );
    // The hold-up came from the proxy's own queue reaching its high
    // watermark (not from the kernel's buffers alone): it read more than
    // it may queue, and queued at least up to the watermark.
    assert!(
        held.bytes_read > bound as u64 && held.max_queued >= HIGH,
        "the proxy read too little to show anything: {held:?}"
    );

    // Phase 2: the client reads; the upstream resumes, every byte arrives
    // in order, and the proxy's queue stays bounded all along.
    let mut got = Vec::with_capacity(total);
    c.read_to_end(&mut got).unwrap();
    writer.join().unwrap();
    assert_eq!(got.len(), total);
    assert!(got == *data, "bytes differ");
    h.shutdown(Duration::from_secs(1));
    let end = proxy.join().unwrap();
    assert!(end.max_queued <= bound, "queued {}", end.max_queued);
    assert_eq!(end.bytes_read, total as u64);
    assert_eq!(end.failed, 0, "{end:?}");
}

/// A connected pair: the reactor's side adopted with `handler`, the peer a
/// blocking stream.
fn pair(
    r: &mut Reactor,
    handler: impl Handler,
) -> (producers::reactor::ChannelId, std::net::TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = client(l.local_addr().unwrap());
    let (s, _) = l.accept().unwrap();
    (r.adopt(s, handler).unwrap(), peer)
}

fn small_watermarks() -> Reactor {
    let mut config = Config::default();
    config.high_watermark = HIGH;
    config.low_watermark = LOW;
    Reactor::with_config(config).unwrap()
}

#[test]
fn on_drained_fires_at_the_low_watermark_on_close_and_at_once_after_close() {
    /// Pushes nothing itself, with a small send buffer so the queue, not
    /// the kernel, holds what the peer does not read.
    struct Quiet;
    impl Handler for Quiet {
        fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
            socket2::SockRef::from(ctx.stream()).set_send_buffer_size(8192)
        }
    }
    let mut r = small_watermarks();
    let (id, mut peer) = pair(&mut r, Quiet);
    let out = r.outbox(id).unwrap();
    let big = pattern(1 << 20);
    out.push(big.clone()).unwrap();
    // Counted before the loop applies it.
    assert_eq!(out.queued(), 1 << 20);
    assert!(out.is_full());
    let drained = Arc::new(AtomicUsize::new(0));
    let d = drained.clone();
    out.on_drained(move || {
        d.fetch_add(1, Ordering::SeqCst);
    });
    // The peer reads nothing yet: the socket fills, the queue stays full.
    for _ in 0..5 {
        r.turn(Some(Duration::from_millis(5))).unwrap();
    }
    assert!(out.queued() > LOW, "queued {}", out.queued());
    assert_eq!(drained.load(Ordering::SeqCst), 0);
    let reader = thread::spawn(move || {
        let mut got = vec![0; 1 << 20];
        peer.read_exact(&mut got).unwrap();
        (got, peer)
    });
    let start = Instant::now();
    r.run_until(|_| {
        drained.load(Ordering::SeqCst) == 1 || start.elapsed() > Duration::from_secs(10)
    })
    .unwrap();
    assert_eq!(drained.load(Ordering::SeqCst), 1);
    assert!(out.queued() <= LOW);
    // The rest goes out too.
    while !reader.is_finished() {
        r.turn(Some(Duration::from_millis(10))).unwrap();
    }
    let (got, peer) = reader.join().unwrap();
    assert!(got == big);
    // Already drained: runs on the channel's next turn, once.
    let d = drained.clone();
    out.on_drained(move || {
        d.fetch_add(1, Ordering::SeqCst);
    });
    r.run_until(|_| drained.load(Ordering::SeqCst) == 2)
        .unwrap();
    r.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(drained.load(Ordering::SeqCst), 2);
    // Full at the close: the close runs it.
    out.push(pattern(4 << 20)).unwrap();
    let d = drained.clone();
    out.on_drained(move || {
        d.fetch_add(1, Ordering::SeqCst);
    });
    r.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(
        drained.load(Ordering::SeqCst),
        2,
        "the peer still reads nothing"
    );
    assert!(r.close(id));
    assert_eq!(drained.load(Ordering::SeqCst), 3);
    // After the close: at once, on this thread.
    let d = drained.clone();
    out.on_drained(move || {
        d.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(drained.load(Ordering::SeqCst), 4);
    assert!(out.is_closed());
    assert_eq!(
        out.pause_reading().unwrap_err().kind(),
        io::ErrorKind::NotConnected
    );
    drop(peer);
}

#[test]
fn a_channel_paused_on_request_reads_nothing_until_resumed() {
    struct PausedEcho;
    impl Handler for PausedEcho {
        fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
            Echo.on_open(ctx)?;
            ctx.pause_reading();
            assert!(ctx.is_reading_paused());
            Ok(())
        }
    }
    let mut r = Reactor::new().unwrap();
    let (id, mut peer) = pair(&mut r, PausedEcho);
    let out = r.outbox(id).unwrap();
    assert!(out.is_reading_paused());
    peer.write_all(b"hello\n").unwrap();
    for _ in 0..5 {
        r.turn(Some(Duration::from_millis(10))).unwrap();
    }
    assert_eq!(r.stats().bytes_read, 0, "a paused channel read");
    // A second pause changes nothing; the resume does.
    assert!(!out.pause_reading().unwrap());
    assert!(out.resume_reading().unwrap());
    assert!(!out.resume_reading().unwrap());
    let t = thread::spawn(move || {
        peer.write_all(b"again\n").unwrap();
        let mut got = [0; 12];
        peer.read_exact(&mut got).unwrap();
        got
    });
    let start = Instant::now();
    while !t.is_finished() {
        assert!(start.elapsed() < Duration::from_secs(10), "no echo");
        r.turn(Some(Duration::from_millis(10))).unwrap();
    }
    assert_eq!(&t.join().unwrap(), b"hello\nagain\n");
    assert_eq!(r.stats().bytes_read, 12);
}

/// Closes `s` with a reset (SO_LINGER 0) instead of a FIN.
fn reset(s: std::net::TcpStream) {
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(s);
}

/// Waits until the proxy has closed `n` channels.
#[track_caller]
fn wait_closed(h: &Handle, n: u64) -> Stats {
    let start = Instant::now();
    loop {
        let s = stats(h);
        if s.closed >= n {
            return s;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{s:?}");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn an_upstream_reset_reaches_the_client_as_a_reset_not_an_end() {
    // Issue 11: a client must be able to tell a stream cut off upstream
    // from a complete one.
    let up = TcpListener::bind("127.0.0.1:0").unwrap();
    let up_addr = up.local_addr().unwrap();
    let (got_tx, got_rx) = mpsc::channel::<()>();
    let upstream = thread::spawn(move || {
        let (mut s, _) = up.accept().unwrap();
        s.write_all(b"partial").unwrap();
        // Reset only once the client has the bytes, so what it reads next
        // is the reset and nothing else.
        got_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        reset(s);
    });
    let (addr, h, proxy) = start_proxy(up_addr);
    let mut c = client(addr);
    let mut got = [0; 7];
    c.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"partial");
    got_tx.send(()).unwrap();
    upstream.join().unwrap();
    let mut more = [0; 16];
    match c.read(&mut more) {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
        Ok(n) => panic!("the client saw a clean end ({n} bytes) after an upstream reset"),
    }
    h.shutdown(Duration::from_secs(1));
    let end = proxy.join().unwrap();
    // The upstream's reset failed its channel; the client's was aborted.
    assert_eq!(end.failed, 1, "{end:?}");
}

#[test]
fn a_client_reset_reaches_the_upstream_as_a_reset_not_an_end() {
    let up = TcpListener::bind("127.0.0.1:0").unwrap();
    let up_addr = up.local_addr().unwrap();
    let (got_tx, got_rx) = mpsc::channel::<()>();
    let upstream = thread::spawn(move || {
        let (mut s, _) = up.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = [0; 5];
        s.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");
        got_tx.send(()).unwrap();
        let mut more = [0; 16];
        s.read(&mut more)
    });
    let (addr, h, proxy) = start_proxy(up_addr);
    let mut c = client(addr);
    c.write_all(b"hello").unwrap();
    got_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    reset(c);
    match upstream.join().unwrap() {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
        Ok(n) => panic!("the upstream saw a clean end ({n} bytes) after a client reset"),
    }
    h.shutdown(Duration::from_secs(1));
    proxy.join().unwrap();
}

#[test]
fn an_upstream_clean_close_delivers_every_queued_byte_then_a_clean_end() {
    let total = 192 << 10;
    let data = Arc::new(pattern(total));
    let up = TcpListener::bind("127.0.0.1:0").unwrap();
    let up_addr = up.local_addr().unwrap();
    let upstream = {
        let data = data.clone();
        thread::spawn(move || {
            let (mut s, _) = up.accept().unwrap();
            s.write_all(&data).unwrap();
            // A clean close: FIN after the last byte.
        })
    };
    // Default watermarks: the proxy takes the whole response and the
    // upstream's end while the client is not reading.
    let (addr, h, proxy) = start_proxy_with(up_addr, Config::default());
    // A small receive buffer, set before connecting so the window is
    // small: most of the response has to wait in the proxy's queue.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&addr.into()).unwrap();
    let mut c: std::net::TcpStream = sock.into();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    upstream.join().unwrap();
    // The upstream channel closed (cleanly) with the client's output still
    // queued behind a client that has read nothing.
    let at_close = wait_closed(&h, 1);
    assert_eq!(at_close.failed, 0, "{at_close:?}");
    assert!(
        at_close.max_queued >= total / 2,
        "too little was queued to show anything: {at_close:?}"
    );
    let mut got = Vec::with_capacity(total);
    c.read_to_end(&mut got)
        .expect("every byte, then a clean end");
    assert_eq!(got.len(), total);
    assert!(got == *data, "bytes differ");
    let end = wait_closed(&h, 2);
    assert_eq!(end.failed, 0, "{end:?}");
    h.shutdown(Duration::from_secs(1));
    proxy.join().unwrap();
}
