//! Faults outside channels (timer callbacks, posted closures, hooks) and
//! peers that vanish under a `sendfile`: the loop survives them all.
#![cfg(feature = "reactor")]

mod util;

use std::cell::{Cell, RefCell};
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use producers::reactor::{Config, PanicSite, Reactor};
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
