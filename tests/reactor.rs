//! The reactor over real loopback sockets.
#![cfg(feature = "reactor")]

mod util;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use producers::reactor::{ChannelCtx, CloseReason, Config, Handler, Reactor, Timeout};
use producers::{ProducerExt, from_bytes, produce::output};
use util::reactor::*;

#[test]
fn echoes_lines_byte_for_byte() {
    let server = serve(Config::default(), |_| Some(Echo));
    let mut c = client(server.addr);
    for i in 0..100 {
        assert_eq!(
            echo_line(&mut c, &format!("line {i}")),
            format!("line {i}\n")
        );
    }
    // Pipelined: many lines in one write, all echoed in order.
    let batch: String = (0..500).map(|i| format!("p{i}\n")).collect();
    c.write_all(batch.as_bytes()).unwrap();
    let mut got = vec![0; batch.len()];
    c.read_exact(&mut got).unwrap();
    assert_eq!(got, batch.as_bytes());
    drop(c);
    let stats = server.stop(Duration::from_secs(1));
    assert_eq!(stats.accepted, 1);
    assert_eq!(stats.closed, 1);
}

#[test]
fn a_thousand_concurrent_connections() {
    let server = serve(Config::default(), |_| Some(Echo));
    let n = 1000;
    let mut clients: Vec<TcpStream> = (0..n).map(|_| client(server.addr)).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.write_all(format!("hello {i}\n").as_bytes()).unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let mut r = BufReader::new(&*c);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!(line, format!("hello {i}\n"));
    }
    assert_eq!(server.stats().channels, n);
    drop(clients);
    server.wait_closes(n);
    let stats = server.stop(Duration::from_secs(1));
    assert_eq!(stats.accepted, n as u64);
    assert_eq!(stats.failed, 0, "{stats:?}");
}

/// Pushes `data` (as a producer of 1000-byte pieces, then as bytes) and
/// closes when done, with a tiny send buffer.
struct Blast {
    data: Bytes,
    sndbuf: Option<usize>,
}

impl Handler for Blast {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        if let Some(n) = self.sndbuf {
            socket2::SockRef::from(ctx.stream()).set_send_buffer_size(n)?;
        }
        let half = self.data.len() / 2;
        ctx.push_producer(from_bytes(self.data.slice(..half)).pieces(1000));
        ctx.push(self.data.slice(half..));
        ctx.close_when_done();
        Ok(())
    }
}

#[test]
fn partial_writes_to_a_slow_reader_with_a_tiny_send_buffer_resume_exactly() {
    let data = Bytes::from(pattern(2 << 20));
    let d2 = data.clone();
    let server = serve(Config::default(), move |_| {
        Some(Blast {
            data: d2.clone(),
            sndbuf: Some(4096),
        })
    });
    let mut c = client(server.addr);
    c.set_nonblocking(false).unwrap();
    // A slow start: let the server hit a full socket many times.
    let mut first = vec![0; 10_000];
    for chunk in first.chunks_mut(1000) {
        thread::sleep(Duration::from_millis(2));
        c.read_exact(chunk).unwrap();
    }
    let mut got = first;
    got.extend(read_to_end(&mut c));
    assert_eq!(got.len(), data.len());
    assert!(got == data[..], "bytes differ");
    server.wait_closes(1);
    let stats = server.stop(Duration::from_secs(1));
    assert!(stats.writes > 20, "expected many partial writes: {stats:?}");
    assert_eq!(stats.bytes_written, data.len() as u64);
}

#[test]
fn a_file_region_goes_out_with_sendfile_byte_for_byte() {
    struct SendFile(std::path::PathBuf);
    impl Handler for SendFile {
        fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
            socket2::SockRef::from(ctx.stream()).set_send_buffer_size(8192)?;
            ctx.push("head:");
            // Regions, not read blocks: the writer `sendfile`s them.
            ctx.push_producer(producers::file(&self.0)?.regions());
            ctx.push(":tail");
            ctx.close_when_done();
            Ok(())
        }
    }
    let data = pattern(3 << 20);
    let path = std::env::temp_dir().join(format!("reactor-sendfile-{}", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    let p2 = path.clone();
    let server = serve(Config::default(), move |_| Some(SendFile(p2.clone())));
    let mut c = client(server.addr);
    let got = read_to_end(&mut c);
    let mut want = b"head:".to_vec();
    want.extend(&data);
    want.extend(b":tail");
    assert_eq!(got.len(), want.len());
    assert!(got == want, "bytes differ");
    drop(c); // ends the server's lingering close at once
    server.wait_closes(1);
    let stats = server.stop(Duration::from_secs(1));
    assert_eq!(stats.bytes_written, want.len() as u64);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_peer_reset_mid_transfer_closes_only_its_channel() {
    let big = Bytes::from(pattern(32 << 20));
    let server = serve(Config::default(), move |_| {
        Some(Resettable { big: big.clone() })
    });
    struct Resettable {
        big: Bytes,
    }
    impl Handler for Resettable {
        fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
            // The first line decides: "big" gets a large transfer, anything
            // else is echoed.
            let out = ctx.outbox();
            let big = self.big.clone();
            ctx.push_consumer(producers::consume::Lines::new("\n", move |line, _| {
                if &line[..] == b"big" {
                    out.push_producer(from_bytes(big.clone()).pieces(64 << 10))?;
                } else {
                    out.push(line)?;
                    out.push("\n")?;
                }
                Ok(())
            }));
            Ok(())
        }
    }
    let mut victim = client(server.addr);
    let mut bystander = client(server.addr);
    victim.write_all(b"big\n").unwrap();
    let mut some = vec![0; 100_000];
    victim.read_exact(&mut some).unwrap();
    // SO_LINGER 0: the close sends a reset.
    socket2::SockRef::from(&victim)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(victim);
    let closes = server.wait_closes(1);
    assert!(
        closes[0].1.starts_with("socket error"),
        "expected a socket error, got {closes:?}"
    );
    assert_eq!(echo_line(&mut bystander, "still here"), "still here\n");
    drop(bystander);
    let stats = server.stop(Duration::from_secs(1));
    assert_eq!(stats.failed, 1);
}

#[test]
fn close_when_done_delivers_everything_behind_a_producer_woken_from_another_thread() {
    let body = Bytes::from(pattern(1 << 20));
    let b2 = body.clone();
    struct Deferred {
        body: Bytes,
    }
    impl Handler for Deferred {
        fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
            let (mut w, p) = output();
            ctx.push("head\n");
            ctx.push_producer(p);
            ctx.push("tail\n");
            ctx.close_when_done();
            let body = self.body.clone();
            thread::spawn(move || {
                // The loop must sleep while this worker "computes".
                thread::sleep(Duration::from_millis(300));
                for piece in body.chunks(10_000) {
                    w.write_all(piece).unwrap();
                }
            });
            Ok(())
        }
    }
    let server = serve(Config::default(), move |_| {
        Some(Deferred { body: b2.clone() })
    });
    let mut c = client(server.addr);
    let got = read_to_end(&mut c);
    let mut want = b"head\n".to_vec();
    want.extend(&body);
    want.extend(b"tail\n");
    assert_eq!(got.len(), want.len());
    assert!(got == want, "bytes differ");
    let closes = server.wait_closes(1);
    assert_eq!(closes[0].1, CloseReason::Done.to_string());
    server.stop(Duration::from_secs(1));
}

#[test]
fn a_pending_producer_does_not_spin_the_loop() {
    // Everything on this thread: count the loop's turns while one channel
    // waits 300 ms on a producer.
    let mut r = Reactor::new().unwrap();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    struct Waiting;
    impl Handler for Waiting {
        fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
            let (mut w, p) = output();
            ctx.push_producer(p);
            ctx.close_when_done();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(300));
                w.write_all(b"done\n").unwrap();
            });
            Ok(())
        }
    }
    let lid = r.listen(l, |_| Some(Waiting)).unwrap();
    let c = thread::spawn(move || {
        let mut c = client(addr);
        c.shutdown(Shutdown::Write).unwrap();
        read_to_end(&mut c)
    });
    r.run_until(|r| r.stats().closed == 1).unwrap();
    assert_eq!(c.join().unwrap(), b"done\n");
    let stats = r.stats();
    // accept, open, the peer's half-close, the wake-up, the write and the
    // close: a handful, not thousands.
    assert!(stats.iterations < 30, "the loop spun: {stats:?}");
    assert!(stats.wakeups >= 1);
    r.unlisten(lid);
}

#[test]
fn backpressure_a_client_that_never_reads_cannot_grow_server_memory() {
    let mut config = Config::default();
    config.high_watermark = 64 << 10;
    config.low_watermark = 16 << 10;
    let server = serve(config, |_| Some(Echo));
    let mut hog = client(server.addr);
    socket2::SockRef::from(&hog)
        .set_recv_buffer_size(4096)
        .unwrap();
    hog.set_write_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let line = [b'x'; 1023]
        .iter()
        .copied()
        .chain([b'\n'])
        .collect::<Vec<u8>>();
    let mut sent = 0usize;
    // Send until the server stops reading and every buffer is full.
    loop {
        match hog.write(&line) {
            Ok(n) => sent += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                break;
            }
            Err(e) => panic!("{e}"),
        }
        assert!(sent < 512 << 20, "the server never stopped reading");
    }
    // Others are still served.
    let mut other = client(server.addr);
    for i in 0..20 {
        assert_eq!(
            echo_line(&mut other, &format!("ok {i}")),
            format!("ok {i}\n")
        );
    }
    let stats = server.stats();
    assert!(stats.read_pauses >= 1, "{stats:?}");
    // The high watermark plus at most one read's worth of echoed output.
    assert!(
        stats.max_queued <= (64 << 10) + (64 << 10) + 1024,
        "queued {} bytes",
        stats.max_queued
    );
    assert!(sent > stats.max_queued, "the test sent too little: {sent}");
    drop(hog);
    drop(other);
    server.wait_closes(2);
    server.stop(Duration::from_secs(1));
}

#[test]
fn peer_half_close_still_gets_the_queued_output() {
    let server = serve(Config::default(), |_| Some(Echo));
    let mut c = client(server.addr);
    let lines: String = (0..20_000).map(|i| format!("line number {i}\n")).collect();
    let writer = {
        let mut c = c.try_clone().unwrap();
        let lines = lines.clone();
        thread::spawn(move || {
            c.write_all(lines.as_bytes()).unwrap();
            c.shutdown(Shutdown::Write).unwrap();
        })
    };
    let got = read_to_end(&mut c);
    writer.join().unwrap();
    assert_eq!(got.len(), lines.len());
    assert!(got == lines.as_bytes());
    let closes = server.wait_closes(1);
    assert_eq!(closes[0].1, "closed when done");
    server.stop(Duration::from_secs(1));
}

/// Reads until the end or an error: the bytes read, and `Ok` for a clean
/// end or the error.
fn read_until_end(s: &mut TcpStream) -> (usize, io::Result<()>) {
    let mut buf = vec![0; 64 << 10];
    let mut n = 0;
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (n, Ok(())),
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (n, Err(e)),
        }
    }
}

#[test]
fn the_lingering_close_waits_for_the_peer_and_drops_what_it_sends() {
    // Contract rule 7: after close-when-done the server shuts its write half
    // and reads and drops input until the peer's FIN or the linger time, so
    // input the peer sends late cannot meet a closed socket (a reset, which
    // destroys output still in flight). It closed at the first read that
    // found nothing yet.
    let data = Bytes::from(pattern(256 << 10));
    let d2 = data.clone();
    let server = serve(Config::default(), move |_| {
        Some(Blast {
            data: d2.clone(),
            sndbuf: None,
        })
    });
    let mut c = client(server.addr);
    c.set_nonblocking(false).unwrap();
    let mut got = vec![0; data.len()];
    c.read_exact(&mut got).unwrap();
    assert!(got == data[..]);
    // The server's end came (its write half is shut) ...
    assert_eq!(c.read(&mut [0u8; 16]).unwrap(), 0);
    // ... but it still lingers, reading and dropping.
    thread::sleep(Duration::from_millis(300));
    assert_eq!(server.stats().closed, 0, "closed before the peer's end");
    c.write_all(b"input the server drops").unwrap();
    thread::sleep(Duration::from_millis(100));
    assert_eq!(server.stats().closed, 0);
    // The peer's FIN ends it at once.
    c.shutdown(Shutdown::Write).unwrap();
    let closes = server.wait_closes(1);
    assert_eq!(closes[0].1, "closed when done");
    server.stop(Duration::from_secs(1));
}

#[test]
fn abort_resets_the_connection_and_drops_queued_output() {
    const QUEUED: usize = 4 << 20;
    /// Queues far more than the socket takes, then aborts when the peer
    /// half-closes.
    struct AbortAtEnd;
    impl Handler for AbortAtEnd {
        fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
            socket2::SockRef::from(ctx.stream()).set_send_buffer_size(4096)?;
            ctx.push(pattern(QUEUED));
            Ok(())
        }
        fn on_peer_closed(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
            ctx.abort();
            Ok(())
        }
    }
    let server = serve(Config::default(), |_| Some(AbortAtEnd));
    let mut c = client(server.addr);
    c.shutdown(Shutdown::Write).unwrap();
    let closes = server.wait_closes(1);
    assert_eq!(closes[0].1, "aborted by the handler");
    // Whatever reached the peer before the reset, the end is a reset, not
    // the clean end a close now gives.
    let (n, end) = read_until_end(&mut c);
    let e = end.expect_err("a clean end after an abort");
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
    assert!(
        n < QUEUED,
        "all {n} queued bytes went out: nothing was dropped"
    );
    let stats = server.stop(Duration::from_secs(1));
    // An abort is the handler's choice, not a fault.
    assert_eq!(stats.failed, 0, "{stats:?}");
}

#[test]
fn an_outbox_aborts_its_channel_from_another_thread() {
    let mut r = Reactor::new().unwrap();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut peer = client(l.local_addr().unwrap());
    let (s, _) = l.accept().unwrap();
    let id = r.adopt(s, Echo).unwrap();
    let out = r.outbox(id).unwrap();
    let closes = Arc::new(Mutex::new(Vec::new()));
    let c2 = closes.clone();
    r.on_close(move |_, why| c2.lock().unwrap().push(why.to_string()));
    let (echoed_tx, echoed_rx) = mpsc::channel();
    let peer = thread::spawn(move || {
        assert_eq!(echo_line(&mut peer, "hi"), "hi\n");
        echoed_tx.send(()).unwrap();
        read_until_end(&mut peer)
    });
    let start = Instant::now();
    while echoed_rx.try_recv().is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "no echo");
        r.turn(Some(Duration::from_millis(10))).unwrap();
    }
    let o2 = out.clone();
    thread::spawn(move || o2.abort()).join().unwrap().unwrap();
    let start = Instant::now();
    r.run_until(|r| r.channels() == 0 || start.elapsed() > Duration::from_secs(10))
        .unwrap();
    assert_eq!(*closes.lock().unwrap(), ["aborted by the handler"]);
    let (n, end) = peer.join().unwrap();
    assert_eq!(n, 0);
    let e = end.expect_err("a clean end after an abort");
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
    assert_eq!(out.abort().unwrap_err().kind(), io::ErrorKind::NotConnected);
}

#[test]
fn handler_errors_and_panics_close_only_their_channel() {
    let server = serve(Config::default(), |_| Some(Echo));
    let mut a = client(server.addr);
    let mut b = client(server.addr);
    let mut c = client(server.addr);
    a.write_all(b"panic\n").unwrap();
    b.write_all(b"error\n").unwrap();
    assert!(read_to_end(&mut a).is_empty());
    assert!(read_to_end(&mut b).is_empty());
    assert_eq!(echo_line(&mut c, "fine"), "fine\n");
    let mut closes: Vec<String> = server.wait_closes(2).into_iter().map(|c| c.1).collect();
    closes.sort();
    assert_eq!(closes[0], "handler error: asked to fail");
    assert_eq!(closes[1], "handler panicked: asked to panic");
    drop(c);
    let stats = server.stop(Duration::from_secs(1));
    assert_eq!(stats.panics, 1);
    assert_eq!(stats.failed, 2);
}

#[test]
fn sigpipe_never_kills_the_process_epipe_closes_the_channel() {
    // Write to a peer that has gone: EPIPE or ECONNRESET, never SIGPIPE
    // (the test process would die).
    let server = serve(Config::default(), |_| {
        Some(Blast {
            data: Bytes::from(pattern(8 << 20)),
            sndbuf: None,
        })
    });
    for _ in 0..5 {
        let c = client(server.addr);
        socket2::SockRef::from(&c)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(c);
    }
    server.wait_closes(5);
    server.stop(Duration::from_secs(1));
}

#[test]
fn idle_and_read_timeouts_close_channels() {
    let mut config = Config::default();
    config.idle_timeout = Some(Duration::from_millis(150));
    config.read_timeout = Some(Duration::from_millis(150));
    let server = serve(config, |_| Some(Echo));
    // Idle: never sends.
    let mut idle = client(server.addr);
    // Slow: one byte every 40 ms, never completing a line in time.
    let mut slow = client(server.addr);
    let t = Instant::now();
    let slow_writer = {
        let mut s = slow.try_clone().unwrap();
        thread::spawn(move || {
            for _ in 0..100 {
                if s.write_all(b"x").is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(40));
            }
        })
    };
    // An active client is kept beyond the timeouts.
    let mut active = client(server.addr);
    for i in 0..10 {
        assert_eq!(echo_line(&mut active, &format!("{i}")), format!("{i}\n"));
        thread::sleep(Duration::from_millis(40));
    }
    assert!(read_to_end(&mut idle).is_empty());
    let _ = slow.set_read_timeout(Some(Duration::from_secs(5)));
    let mut sink = Vec::new();
    let _ = slow.read_to_end(&mut sink);
    slow_writer.join().unwrap();
    assert!(t.elapsed() < Duration::from_secs(4));
    let closes: Vec<String> = server.wait_closes(2).into_iter().map(|c| c.1).collect();
    assert!(closes.contains(&Timeout::Idle.to_string()), "{closes:?}");
    assert!(closes.contains(&Timeout::Read.to_string()), "{closes:?}");
    assert_eq!(echo_line(&mut active, "alive"), "alive\n");
    drop(active);
    server.stop(Duration::from_secs(1));
}

#[test]
fn one_shot_and_periodic_timers() {
    let mut r = Reactor::new().unwrap();
    let fired = Arc::new(AtomicUsize::new(0));
    let ticks = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    r.after(Duration::from_millis(20), move |_| {
        f.fetch_add(1, Ordering::SeqCst);
    });
    let cancelled = r.after(Duration::from_millis(10), |_| panic!("cancelled"));
    assert!(r.cancel(cancelled));
    let t = ticks.clone();
    let id = Arc::new(Mutex::new(None));
    let id2 = id.clone();
    let periodic = r.every(Duration::from_millis(5), move |r| {
        if t.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
            assert!(r.cancel(id2.lock().unwrap().unwrap()));
        }
    });
    *id.lock().unwrap() = Some(periodic);
    // With no channel or listener, `run` returns when no timer is left.
    r.run().unwrap();
    assert_eq!(fired.load(Ordering::SeqCst), 1);
    assert_eq!(ticks.load(Ordering::SeqCst), 3);
    assert!(r.stats().iterations < 50, "{:?}", r.stats());
}

#[test]
fn handles_post_and_wake_from_other_threads() {
    let mut r = Reactor::new().unwrap();
    let h = r.handle();
    let count = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let h = h.clone();
            let count = count.clone();
            thread::spawn(move || {
                for _ in 0..25 {
                    let count = count.clone();
                    h.post(move |_| {
                        count.fetch_add(1, Ordering::SeqCst);
                    });
                    h.wake();
                }
            })
        })
        .collect();
    let c = count.clone();
    r.run_until(move |_| c.load(Ordering::SeqCst) == 100)
        .unwrap();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(r.stats().posts, 100);
}

#[test]
fn client_channels_report_connect_completed_and_failed() {
    let server = serve(Config::default(), |_| Some(Echo));
    let mut r = Reactor::new().unwrap();
    type Log = Arc<Mutex<Vec<String>>>;
    struct Client(Log);
    impl Handler for Client {
        fn on_connect(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
            self.0.lock().unwrap().push("connected".into());
            let log = self.0.clone();
            let out = ctx.outbox();
            ctx.push("ping\n");
            ctx.push_consumer(producers::consume::Lines::new("\n", move |line, _| {
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&line).into_owned());
                out.close_now()?;
                Ok(())
            }));
            Ok(())
        }
        fn on_connect_failed(&mut self, err: &io::Error) {
            self.0
                .lock()
                .unwrap()
                .push(format!("failed: {:?}", err.kind()));
        }
        fn on_close(&mut self, reason: &CloseReason) {
            self.0.lock().unwrap().push(format!("closed: {reason}"));
        }
    }
    let ok = Log::default();
    r.connect(server.addr, Client(ok.clone())).unwrap();
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let failed = Log::default();
    r.connect(dead_addr, Client(failed.clone())).unwrap();
    r.run().unwrap();
    assert_eq!(
        *ok.lock().unwrap(),
        ["connected", "ping", "closed: aborted by the handler"]
    );
    let failed = failed.lock().unwrap();
    assert_eq!(failed[0], "failed: ConnectionRefused");
    assert!(
        failed[1].starts_with("closed: connect failed"),
        "{failed:?}"
    );
    assert_eq!(r.stats().connected, 1);
    server.stop(Duration::from_secs(1));
}

#[test]
fn graceful_shutdown_finishes_senders_and_closes_the_rest_at_the_deadline() {
    // One channel is sending a slow deferred answer that completes within
    // the grace period; one is stuck on a producer that never finishes.
    struct Slow {
        finishes: bool,
    }
    impl Handler for Slow {
        fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
            let (mut w, p) = output();
            ctx.push_producer(p);
            let finishes = self.finishes;
            thread::spawn(move || {
                if finishes {
                    thread::sleep(Duration::from_millis(100));
                    w.write_all(b"finished\n").unwrap();
                } else {
                    thread::sleep(Duration::from_secs(3));
                    drop(w);
                }
            });
            Ok(())
        }
    }
    let n = Arc::new(AtomicUsize::new(0));
    let server = serve(Config::default(), move |_| {
        Some(Slow {
            finishes: n.fetch_add(1, Ordering::SeqCst) == 0,
        })
    });
    let mut finishing = client(server.addr);
    // Make sure the first connection is accepted first.
    while server.stats().accepted < 1 {
        thread::sleep(Duration::from_millis(5));
    }
    let mut stuck = client(server.addr);
    while server.stats().accepted < 2 {
        thread::sleep(Duration::from_millis(5));
    }
    let addr = server.addr;
    let t = Instant::now();
    let closes = server.closes.clone();
    let stats = server.stop(Duration::from_millis(500));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(read_to_end(&mut finishing), b"finished\n");
    assert!(read_to_end(&mut stuck).is_empty());
    let mut closes: Vec<String> = closes.lock().unwrap().iter().map(|c| c.1.clone()).collect();
    closes.sort();
    assert_eq!(closes, ["closed when done", "reactor shut down"]);
    assert_eq!(stats.channels, 0);
    // The listener is gone.
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn loops_on_several_cores_share_a_port_with_reuseport() {
    let first = producers::reactor::bind_reuseport("127.0.0.1:0".parse().unwrap(), 1024).unwrap();
    let addr = first.local_addr().unwrap();
    let mut handles = Vec::new();
    let mut threads = Vec::new();
    let mut first = Some(first);
    for _ in 0..2 {
        let l = match first.take() {
            Some(l) => l,
            None => producers::reactor::bind_reuseport(addr, 1024).unwrap(),
        };
        let (tx, rx) = mpsc::channel();
        threads.push(thread::spawn(move || {
            let mut r = Reactor::new().unwrap();
            r.listen(l, |_| Some(Echo)).unwrap();
            tx.send(r.handle()).unwrap();
            r.run().unwrap();
            r.stats()
        }));
        handles.push(rx.recv().unwrap());
    }
    let mut clients: Vec<TcpStream> = (0..64).map(|_| client(addr)).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        assert_eq!(echo_line(c, &format!("{i}")), format!("{i}\n"));
    }
    drop(clients);
    for h in &handles {
        h.shutdown(Duration::from_secs(1));
    }
    let accepted: Vec<u64> = threads
        .into_iter()
        .map(|t| t.join().unwrap().accepted)
        .collect();
    assert_eq!(accepted.iter().sum::<u64>(), 64);
    assert!(
        accepted.iter().all(|&a| a > 0),
        "one loop took all: {accepted:?}"
    );
}

/// In a child process with a low descriptor limit: a server that runs out
/// of descriptors keeps serving, pauses accepting, and recovers.
#[test]
fn emfile_child() {
    if std::env::var_os("REACTOR_EMFILE_CHILD").is_none() {
        return;
    }
    use rustix::process::{Resource, Rlimit, setrlimit};
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(48),
            maximum: None,
        },
    )
    .or_else(|_| {
        let max = rustix::process::getrlimit(Resource::Nofile).maximum;
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(48),
                maximum: max,
            },
        )
    })
    .unwrap();
    let mut config = Config::default();
    config.accept_backoff = Duration::from_millis(50);
    let mut r = Reactor::with_config(config).unwrap();
    let l = producers::reactor::bind_reuseport("127.0.0.1:0".parse().unwrap(), 1024).unwrap();
    println!("listening on {}", l.local_addr().unwrap());
    r.listen(l, |_| Some(Echo)).unwrap();
    let h = r.handle();
    thread::spawn(move || {
        let mut s = String::new();
        let _ = io::stdin().read_line(&mut s);
        h.shutdown(Duration::from_millis(200));
    });
    r.run().unwrap();
    let s = r.stats();
    println!(
        "stats accepted={} pauses={} iterations={}",
        s.accepted, s.accept_pauses, s.iterations
    );
}

#[test]
fn emfile_pauses_accepting_and_recovers() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "emfile_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("REACTOR_EMFILE_CHILD", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "child ended early");
        // libtest may print "test emfile_child ... " before it on the line.
        if let Some((_, a)) = line.trim().split_once("listening on ") {
            break a.parse::<std::net::SocketAddr>().unwrap();
        }
    };
    // More connections than the child has descriptors: the kernel completes
    // them all (the backlog), the child accepts until EMFILE.
    let mut clients: Vec<TcpStream> = (0..80).map(|_| client(addr)).collect();
    thread::sleep(Duration::from_millis(200));
    // The first ones are served.
    for (i, c) in clients.iter_mut().take(10).enumerate() {
        assert_eq!(echo_line(c, &format!("early {i}")), format!("early {i}\n"));
    }
    // Close the served ones in batches; the rest get served as descriptors
    // free up.
    let mut served = 0;
    while !clients.is_empty() {
        let batch: Vec<TcpStream> = clients.drain(..clients.len().min(20)).collect();
        for mut c in batch {
            assert_eq!(echo_line(&mut c, "late"), "late\n");
            served += 1;
        }
    }
    assert_eq!(served, 80);
    drop(child.stdin.take());
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    let stats = rest
        .lines()
        .find_map(|l| l.split_once("stats ").map(|(_, s)| s))
        .unwrap_or_else(|| panic!("no stats in {rest}"));
    let field = |name: &str| -> u64 {
        stats
            .split(' ')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(field("accepted"), 80, "{stats}");
    assert!(field("pauses") >= 1, "{stats}");
    // Paused, not spinning: far fewer turns than a spinning accept loop.
    assert!(field("iterations") < 5000, "{stats}");
}

/// The literal port of an asynchat handler that sets the terminator to
/// None (until close) in `found_terminator`: it re-arms `UntilClose` on
/// every last frame, echoing what it gets. With `requeue`, its end queues
/// another one like it (a `handle_close` that registers a new handler).
fn asynchat_port(
    out: producers::reactor::Outbox,
    requeue: bool,
) -> impl producers::consume::Consumer + Send + 'static {
    use producers::consume::{Framing, Terminator, from_fn};
    let again = out.clone();
    from_fn(
        Framing::pieces(Terminator::UntilClose),
        move |frame, ctl| {
            out.push(frame.bytes().clone())?;
            if frame.is_last() {
                ctl.set_terminator(Terminator::UntilClose);
            }
            Ok(())
        },
    )
    .on_eof(move |_, ctl| {
        if requeue {
            ctl.then(asynchat_port(again.clone(), true));
        }
        Ok(())
    })
}

/// Connection 0 gets the plain asynchat port, connection 1 the one that
/// re-queues itself at the end, the others the echo handler. Records
/// whether each close was for a consumer making no progress.
struct Rearming {
    nth: usize,
    no_progress: Arc<Mutex<Vec<(usize, bool)>>>,
}

impl Handler for Rearming {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        match self.nth {
            0 | 1 => {
                let out = ctx.outbox();
                ctx.push_consumer(asynchat_port(out, self.nth == 1));
                Ok(())
            }
            _ => Echo.on_open(ctx),
        }
    }

    fn on_close(&mut self, reason: &CloseReason) {
        let no_progress = match reason {
            CloseReason::Handler(e) => matches!(
                e.get_ref()
                    .and_then(|e| e.downcast_ref::<producers::consume::FrameError>()),
                Some(producers::consume::FrameError::NoProgress { .. })
            ),
            _ => false,
        };
        self.no_progress
            .lock()
            .unwrap()
            .push((self.nth, no_progress));
    }
}

#[test]
fn a_consumer_rearming_at_the_end_cannot_stall_the_loop() {
    let no_progress = Arc::new(Mutex::new(Vec::new()));
    let seen = no_progress.clone();
    let mut n = 0;
    let server = serve(Config::default(), move |_| {
        n += 1;
        Some(Rearming {
            nth: n - 1,
            no_progress: seen.clone(),
        })
    });
    // Each half-closes after some input: the loop must hand it one last
    // frame and go on, not spin.
    for nth in 0..2 {
        let mut a = client(server.addr);
        a.write_all(b"abc").unwrap();
        a.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        // The no-progress close may come as a reset; what came before
        // it is the echo.
        let _ = a.read_to_end(&mut got);
        assert_eq!(got, b"abc", "connection {nth}");
        server.wait_closes(nth + 1);
    }
    // Another client is served at once.
    let mut c = client(server.addr);
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let t = Instant::now();
    assert_eq!(echo_line(&mut c, "still served"), "still served\n");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let closes = server.wait_closes(2);
    assert_eq!(closes[0].1, "closed when done");
    assert!(
        closes[1]
            .1
            .starts_with("handler error: consumer made no progress at offset 3"),
        "{}",
        closes[1].1
    );
    assert_eq!(*no_progress.lock().unwrap(), [(0, false), (1, true)]);
    drop(c);
    server.stop(Duration::from_secs(1));
}

#[test]
fn inside_a_callback_the_reactor_reaches_the_callbacks_own_channel() {
    // Issue 12: the channel is out of the reactor's table while its
    // callback runs; `ctx.reactor().outbox(ctx.id())` used to be `None`
    // and `ctx.reactor().close(ctx.id())` false.
    struct Own {
        seen: Arc<Mutex<Vec<String>>>,
        close: bool,
    }
    impl Handler for Own {
        fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
            let id = ctx.id();
            ctx.push("queued\n");
            let r = ctx.reactor();
            assert_eq!(r.queued(id), Some(7));
            let out = r.outbox(id).expect("the current channel has an outbox");
            out.push("via the reactor\n")?;
            if self.close {
                assert!(r.close(id), "the current channel is open");
            } else {
                out.close_when_done()?;
            }
            Ok(())
        }
        fn on_close(&mut self, reason: &CloseReason) {
            self.seen.lock().unwrap().push(format!("{reason:?}"));
        }
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut reactor = Reactor::new().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (s, close) = (seen.clone(), Arc::new(AtomicUsize::new(0)));
    reactor
        .listen(listener, move |_| {
            Some(Own {
                seen: s.clone(),
                close: close.fetch_add(1, Ordering::SeqCst) == 0,
            })
        })
        .unwrap();
    let mut closed_now = TcpStream::connect(addr).unwrap();
    reactor
        .run_until(|r| r.stats().closed == 1)
        .expect("the loop runs");
    let mut done = TcpStream::connect(addr).unwrap();
    reactor
        .run_until(|r| r.stats().closed == 2)
        .expect("the loop runs");
    assert_eq!(*seen.lock().unwrap(), ["Aborted", "Done"]);
    let mut got = String::new();
    closed_now.read_to_string(&mut got).unwrap();
    assert_eq!(got, "", "closed now: queued output dropped");
    done.read_to_string(&mut got).unwrap();
    assert_eq!(got, "queued\nvia the reactor\n");
}
