//! Every path that may queue output ends with it written (or write
//! interest armed); a lifted pause hands buffered input on at once; a loop
//! turn costs no system calls beyond the I/O it does.
#![cfg(feature = "reactor")]

mod util;

use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use producers::consume::Lines;
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
