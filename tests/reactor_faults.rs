//! Faults outside channels (timer callbacks, posted closures, hooks) and
//! peers that vanish under a `sendfile`: the loop survives them all.
#![cfg(feature = "reactor")]

mod util;

use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use producers::reactor::{ChannelCtx, Config, Handler, PanicSite, Reactor};
use util::reactor::*;

type Reports = Rc<RefCell<Vec<(PanicSite, String)>>>;

fn recording(r: &mut Reactor) -> Reports {
    let reports = Reports::default();
    let r2 = reports.clone();
    r.on_panic(move |site, msg| r2.borrow_mut().push((site, msg.to_owned())));
    reports
}

#[test]
fn panics_in_timers_and_posts_are_reported_and_the_loop_goes_on() {
    let mut r = Reactor::new().unwrap();
    let reports = recording(&mut r);
    let once = r.after(Duration::from_millis(1), |_| panic!("timer once"));
    let ticks = Rc::new(Cell::new(0));
    let t2 = ticks.clone();
    let periodic = r.every(Duration::from_millis(1), move |_| {
        t2.set(t2.get() + 1);
        if t2.get() == 2 {
            panic!("tick {}", t2.get());
        }
    });
    let h = r.handle();
    h.post(|_| panic!("posted"));
    let after_post = Arc::new(AtomicBool::new(false));
    let a2 = after_post.clone();
    h.post(move |_| a2.store(true, Ordering::SeqCst));
    let later = Rc::new(Cell::new(false));
    let l2 = later.clone();
    r.after(Duration::from_millis(30), move |_| l2.set(true));
    // `run` returns once no timer is left: the periodic timer that
    // panicked must have been cancelled. The cap only keeps a regression
    // from hanging the suite.
    let start = Instant::now();
    r.run_until(|_| later.get() || start.elapsed() > Duration::from_secs(10))
        .unwrap();
    assert!(later.get(), "the loop stopped early");
    assert!(after_post.load(Ordering::SeqCst));
    assert_eq!(ticks.get(), 2, "a timer that panicked must not run again");
    assert!(
        !r.cancel(periodic),
        "the panicking timer is still scheduled"
    );
    assert_eq!(
        *reports.borrow(),
        [
            (PanicSite::Post, "posted".to_owned()),
            (PanicSite::Timer(once), "timer once".to_owned()),
            (PanicSite::Timer(periodic), "tick 2".to_owned()),
        ]
    );
    let stats = r.stats();
    assert_eq!(stats.loop_panics, 3);
    assert_eq!(stats.panics, 0, "no channel was involved");
    assert_eq!(stats.posts, 2);
}

#[test]
fn panics_in_the_accept_callback_and_the_close_hook_are_reported() {
    let mut r = Reactor::new().unwrap();
    let reports = recording(&mut r);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let mut accepted = 0;
    let lid = r
        .listen(l, move |_| {
            accepted += 1;
            if accepted == 1 {
                panic!("no handler for you");
            }
            Some(Echo)
        })
        .unwrap();
    let closes = Rc::new(Cell::new(0));
    let c2 = closes.clone();
    r.on_close(move |_, _| {
        c2.set(c2.get() + 1);
        if c2.get() == 1 {
            panic!("hook failed");
        }
    });
    let peer = std::thread::spawn(move || {
        // The first connection is dropped by the panicking factory.
        let mut first = client(addr);
        assert!(read_to_end(&mut first).is_empty());
        // The second is served, then closes (the hook panics).
        let mut second = client(addr);
        assert_eq!(echo_line(&mut second, "two"), "two\n");
        drop(second);
        // The third is served too, and closes after its echo.
        let mut third = client(addr);
        assert_eq!(echo_line(&mut third, "close"), "close\n");
        assert!(read_to_end(&mut third).is_empty());
    });
    let start = Instant::now();
    r.run_until(|_| closes.get() == 2 || start.elapsed() > Duration::from_secs(10))
        .unwrap();
    peer.join().unwrap();
    assert_eq!(closes.get(), 2);
    assert_eq!(
        *reports.borrow(),
        [
            (PanicSite::Accept(lid), "no handler for you".to_owned()),
            (PanicSite::CloseHook, "hook failed".to_owned()),
        ]
    );
    assert_eq!(r.stats().loop_panics, 2);
    assert_eq!(r.stats().accepted, 3);
}

#[test]
fn a_served_reactor_survives_panicking_posts_and_timers() {
    let server = serve(Config::default(), |_| Some(Echo));
    let mut c = client(server.addr);
    assert_eq!(echo_line(&mut c, "before"), "before\n");
    server.handle.post(|_| panic!("posted"));
    server.handle.post(|r| {
        r.after(Duration::ZERO, |_| panic!("timer"));
    });
    // Count, don't sleep: the stats arrive through a post that runs after
    // both panicking ones and the timer is due within a turn or two.
    let start = Instant::now();
    while server.stats().loop_panics < 2 {
        assert!(start.elapsed() < Duration::from_secs(10), "panics not seen");
    }
    assert_eq!(echo_line(&mut c, "after"), "after\n");
    drop(c);
    server.wait_closes(1);
    let stats = server.stop(Duration::from_secs(1));
    assert_eq!(stats.loop_panics, 2);
    assert_eq!(stats.failed, 0);
}

/// Sends a file as regions (`sendfile`) through a small send buffer.
struct SendFile(std::path::PathBuf);

impl Handler for SendFile {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        socket2::SockRef::from(ctx.stream()).set_send_buffer_size(8192)?;
        // A line "file" gets the file; any other line is echoed.
        let out = ctx.outbox();
        let path = self.0.clone();
        ctx.push_consumer(producers::consume::Lines::new("\n", move |line, _| {
            if &line[..] == b"file" {
                out.push_producer(producers::file(&path)?.regions())?;
            } else {
                out.push(line)?;
                out.push("\n")?;
            }
            Ok(())
        }));
        Ok(())
    }
}

/// Peers reset while the server writes a file region to them; the others
/// are served, the loop goes on (and the process lives: with `sendfile`,
/// only because SIGPIPE is ignored, which the reactor checks).
fn resets_during_file_writes(sendfile: bool) {
    let data = pattern(8 << 20);
    let path =
        std::env::temp_dir().join(format!("reactor-reset-{}-{sendfile}", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    let mut config = Config::default();
    config.sendfile = sendfile;
    let p2 = path.clone();
    let server = serve(config, move |_| Some(SendFile(p2.clone())));
    let uses = {
        let (tx, rx) = std::sync::mpsc::channel();
        server
            .handle
            .post(move |r| tx.send(r.uses_sendfile()).unwrap());
        rx.recv().unwrap()
    };
    assert_eq!(uses, sendfile && cfg!(target_os = "linux"));
    let mut bystander = client(server.addr);
    for i in 0..5 {
        let mut victim = client(server.addr);
        std::io::Write::write_all(&mut victim, b"file\n").unwrap();
        let mut some = vec![0; 100_000];
        victim.read_exact(&mut some).unwrap();
        assert!(some == data[..100_000], "bytes differ");
        // SO_LINGER 0: the close sends a reset under the transfer.
        socket2::SockRef::from(&victim)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(victim);
        let closes = server.wait_closes(i + 1);
        assert!(
            closes[i].1.starts_with("socket error"),
            "expected a socket error, got {closes:?}"
        );
        assert_eq!(
            echo_line(&mut bystander, &format!("still {i}")),
            format!("still {i}\n")
        );
    }
    drop(bystander);
    server.wait_closes(6);
    let stats = server.stop(Duration::from_secs(1));
    assert_eq!(stats.failed, 5);
    if uses {
        assert!(stats.sendfiles > 0, "{stats:?}");
    } else {
        assert_eq!(stats.sendfiles, 0, "{stats:?}");
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_peer_reset_during_sendfile_closes_only_its_channel() {
    resets_during_file_writes(true);
}

#[test]
fn a_peer_reset_during_a_copied_file_write_closes_only_its_channel() {
    resets_during_file_writes(false);
}
