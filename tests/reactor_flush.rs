//! Every path that may queue output ends with it written (or write
//! interest armed); a lifted pause hands buffered input on at once; a loop
//! turn costs no system calls beyond the I/O it does.
#![cfg(feature = "reactor")]

mod util;

use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use producers::consume::{ConsumeError, Consumer, Control, Frame, Framing, Lines};
use producers::from_bytes;
use producers::reactor::{ChannelCtx, Config, Handler, Outbox, Stats};
use util::reactor::*;

/// Polls `cond` on the server's stats (on its thread) until it holds.
#[track_caller]
fn wait_stats(server: &Server, cond: impl Fn(&Stats) -> bool) -> Stats {
    for _ in 0..1000 {
        let s = server.stats();
        if cond(&s) {
            return s;
        }
        thread::sleep(Duration::from_millis(5));
    }
    panic!("never reached: {:?}", server.stats());
}

/// Queues no consumer; hands its outbox to the test.
struct Late(mpsc::Sender<Outbox>);

impl Handler for Late {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        let _ = self.0.send(ctx.outbox());
        Ok(())
    }
}

#[test]
fn output_a_consumer_queues_on_a_wake_up_goes_out() {
    let (tx, rx) = mpsc::channel();
    let server = serve(Config::default(), move |_| Some(Late(tx.clone())));
    let mut c = client(server.addr);
    c.write_all(b"hello\nworld\n").unwrap();
    let out = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    // The input sits in the consumer FIFO, which has no consumer yet.
    wait_stats(&server, |s| s.bytes_read == 12);
    let wakeups = server.stats().wakeups;
    // Pushed from this thread: the wake-up hands the buffered lines to the
    // new consumer, which queues their echoes as producers (not ready
    // chunks, so nothing arms write interest by itself); nothing else will
    // happen on this channel, so they must go out in that same wake-up.
    let o = out.clone();
    out.push_consumer(Lines::new("\n", move |line, _ctl| {
        let mut echo = line.to_vec();
        echo.push(b'\n');
        Ok(o.push_producer(from_bytes(echo))?)
    }))
    .unwrap();
    let mut got = [0; 12];
    c.read_exact(&mut got)
        .expect("output queued on a wake-up was not written");
    assert_eq!(&got, b"hello\nworld\n");
    let stats = server.stats();
    // The push's wake-up, and the stats posts (which wake the loop, not
    // the channel).
    assert_eq!(stats.wakeups, wakeups + 1, "{stats:?}");
    assert_eq!(stats.bytes_written, 12);
    drop(c);
    server.wait_closes(1);
    server.stop(Duration::from_secs(1));
}

/// Answers each line with `size` copies of its first byte, but takes no
/// line while its channel's output is full: a consumer that stalls on
/// backpressure and relies on the reactor to hand it the rest later.
struct Throttled {
    out: Outbox,
    size: usize,
}

impl Consumer for Throttled {
    fn framing(&self) -> Framing {
        Framing::Raw
    }

    fn on_frame(&mut self, _: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        Err(ConsumeError::Invalid {
            offset: ctl.offset(),
            reason: "raw only",
        })
    }

    fn on_raw(&mut self, buf: &mut BytesMut, _ctl: &mut Control) -> Result<(), ConsumeError> {
        while let Some(i) = buf.iter().position(|&b| b == b'\n') {
            if self.out.is_full() {
                return Ok(());
            }
            let line = buf.split_to(i + 1);
            self.out.push(Bytes::from(vec![line[0]; self.size]))?;
        }
        Ok(())
    }
}

struct ThrottledHandler;

impl Handler for ThrottledHandler {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        // A small send buffer: the pause lifts in a later turn, when the
        // socket becomes writable again.
        socket2::SockRef::from(ctx.stream()).set_send_buffer_size(4096)?;
        let out = ctx.outbox();
        ctx.push_consumer(Throttled {
            out,
            size: 16 << 10,
        });
        Ok(())
    }
}

#[test]
fn buffered_input_is_handed_on_when_the_watermark_pause_lifts() {
    let mut config = Config::default();
    config.high_watermark = 32 << 10;
    config.low_watermark = 8 << 10;
    let server = serve(config, |_| Some(ThrottledHandler));
    let mut c = client(server.addr);
    // Forty pipelined requests in one write: the consumer takes three (48
    // KiB of answers, over the high watermark) and leaves the rest
    // buffered; no more input comes.
    let lines: Vec<u8> = (0..40u8).flat_map(|i| [b'A' + i, b'\n']).collect();
    c.write_all(&lines).unwrap();
    let mut got = vec![0; 40 * (16 << 10)];
    c.read_exact(&mut got)
        .expect("buffered requests were not handed on after the pause lifted");
    for (i, answer) in got.chunks(16 << 10).enumerate() {
        assert!(answer.iter().all(|&b| b == b'A' + i as u8), "answer {i}");
    }
    let stats = server.stats();
    assert!(stats.read_pauses >= 1, "{stats:?}");
    assert_eq!(stats.bytes_read, 80);
    drop(c);
    server.wait_closes(1);
    server.stop(Duration::from_secs(1));
}

/// Read-type system calls (`read`, `pread`...) this thread has made.
fn thread_syscr() -> u64 {
    let io = std::fs::read_to_string("/proc/thread-self/io").expect("/proc/thread-self/io");
    io.lines()
        .find_map(|l| l.strip_prefix("syscr:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("syscr")
}

#[cfg(target_os = "linux")]
#[test]
fn a_request_costs_one_read_on_the_loop_thread() {
    let server = serve(Config::default(), |_| Some(Echo));
    let syscr = || {
        let (tx, rx) = mpsc::channel();
        server.handle.post(move |_| {
            let _ = tx.send(thread_syscr());
        });
        rx.recv_timeout(Duration::from_secs(5)).unwrap()
    };
    let mut c = client(server.addr);
    let n = 2000u64;
    let before = syscr();
    let mut buf = [0; 6];
    for i in 0..n {
        // One request at a time: one loop turn each.
        let line = format!("{:05}\n", i % 100_000);
        c.write_all(line.as_bytes()).unwrap();
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, line.as_bytes());
    }
    let reads = syscr() - before;
    // One socket read per request; no per-turn read of the poller's
    // notification descriptor (the stats post reads it at most once, and
    // reading the counter itself is a read).
    assert!(reads <= n + 4, "{reads} reads for {n} requests");
    drop(c);
    server.wait_closes(1);
    server.stop(Duration::from_secs(1));
}
