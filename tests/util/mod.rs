//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

/// What a [`ScriptedWriter`] does on one call.
#[derive(Debug, Clone)]
pub enum Act {
    /// Accept at most this many bytes (0 means return `Ok(0)`).
    Accept(usize),
    /// Return `WouldBlock`.
    WouldBlock,
    /// Return `Interrupted`.
    Interrupted,
    /// Fail with this kind.
    Fail(io::ErrorKind),
}

/// A writer that follows a script call by call, then accepts everything.
/// Every call is recorded so tests can check how the driver behaved.
#[derive(Debug, Default)]
pub struct ScriptedWriter {
    pub script: VecDeque<Act>,
    pub out: Vec<u8>,
    /// The number of slices handed to each `write_vectored` call.
    pub slices: Vec<usize>,
    pub calls: usize,
}

impl ScriptedWriter {
    pub fn new(script: impl IntoIterator<Item = Act>) -> Self {
        ScriptedWriter {
            script: script.into_iter().collect(),
            ..Default::default()
        }
    }

    fn act(&mut self, avail: usize) -> io::Result<usize> {
        self.calls += 1;
        match self.script.pop_front() {
            None => Ok(avail),
            Some(Act::Accept(n)) => Ok(n.min(avail)),
            Some(Act::WouldBlock) => Err(io::ErrorKind::WouldBlock.into()),
            Some(Act::Interrupted) => Err(io::ErrorKind::Interrupted.into()),
            Some(Act::Fail(k)) => Err(io::Error::new(k, "scripted failure")),
        }
    }
}

impl Write for ScriptedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.slices.push(bufs.len());
        let avail = bufs.iter().map(|b| b.len()).sum();
        let n = self.act(avail)?;
        let mut left = n;
        for b in bufs {
            let take = left.min(b.len());
            self.out.extend_from_slice(&b[..take]);
            left -= take;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Deterministic test data.
pub fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[cfg(feature = "reactor")]
pub mod reactor {
    use std::io::{self, BufRead, BufReader, Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex};
    use std::thread::{self, JoinHandle};
    use std::time::Duration;

    use producers::consume::Lines;
    use producers::reactor::{
        ChannelCtx, ChannelId, CloseReason, Config, Handle, Handler, Reactor, Stats, bind_reuseport,
    };

    /// Close reasons recorded by a server's close hook, as `Display` text
    /// with the channel id.
    pub type Closes = Arc<Mutex<Vec<(ChannelId, String)>>>;

    /// A reactor running on its own thread with one listener.
    pub struct Server {
        pub addr: SocketAddr,
        pub handle: Handle,
        pub closes: Closes,
        pub thread: Option<JoinHandle<Stats>>,
    }

    impl Server {
        /// Shuts the reactor down (grace `grace`) and returns its stats.
        #[track_caller]
        pub fn stop(mut self, grace: Duration) -> Stats {
            self.handle.shutdown(grace);
            self.thread.take().unwrap().join().expect("reactor thread")
        }

        /// The reactor's stats now, read on its thread.
        #[track_caller]
        pub fn stats(&self) -> Stats {
            let (tx, rx) = mpsc::channel();
            self.handle.post(move |r| {
                let _ = tx.send(r.stats());
            });
            rx.recv_timeout(Duration::from_secs(5)).expect("stats")
        }

        /// Waits until `n` closes have been recorded.
        #[track_caller]
        pub fn wait_closes(&self, n: usize) -> Vec<(ChannelId, String)> {
            for _ in 0..1000 {
                let c = self.closes.lock().unwrap().clone();
                if c.len() >= n {
                    return c;
                }
                thread::sleep(Duration::from_millis(5));
            }
            panic!("fewer than {n} closes: {:?}", self.closes.lock().unwrap());
        }
    }

    /// Starts a reactor thread listening on 127.0.0.1:0 with `config`,
    /// making a handler per connection with `make`.
    #[track_caller]
    pub fn serve<H, F>(config: Config, make: F) -> Server
    where
        H: Handler,
        F: FnMut(SocketAddr) -> Option<H> + Send + 'static,
    {
        serve_with(config, make, |_| {})
    }

    /// Like [`serve`], with `setup` run on the reactor before it runs.
    #[track_caller]
    pub fn serve_with<H, F, S>(config: Config, make: F, setup: S) -> Server
    where
        H: Handler,
        F: FnMut(SocketAddr) -> Option<H> + Send + 'static,
        S: FnOnce(&mut Reactor) + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let closes = Closes::default();
        let c2 = closes.clone();
        let thread = thread::spawn(move || {
            let mut r = Reactor::with_config(config).unwrap();
            let l = bind_reuseport("127.0.0.1:0".parse().unwrap(), 2048).unwrap();
            let addr = l.local_addr().unwrap();
            r.listen(l, make).unwrap();
            r.on_close(move |id, why| c2.lock().unwrap().push((id, why.to_string())));
            setup(&mut r);
            tx.send((addr, r.handle())).unwrap();
            r.run().unwrap();
            r.stats()
        });
        let (addr, handle) = rx.recv().expect("server started");
        Server {
            addr,
            handle,
            closes,
            thread: Some(thread),
        }
    }

    /// An echo handler: every `\n`-terminated line back. A line `panic`
    /// panics, a line `error` returns an error, a line `close` closes when
    /// done after echoing.
    pub struct Echo;

    impl Handler for Echo {
        fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
            let out = ctx.outbox();
            ctx.push_consumer(Lines::new("\n", move |line, _ctl| {
                match &line[..] {
                    b"panic" => panic!("asked to panic"),
                    b"error" => return Err(io::Error::other("asked to fail").into()),
                    _ => {}
                }
                let close = &line[..] == b"close";
                out.push(line)?;
                out.push(&b"\n"[..])?;
                if close {
                    out.close_when_done()?;
                }
                Ok(())
            }));
            Ok(())
        }
    }

    /// A blocking client with a read timeout.
    #[track_caller]
    pub fn client(addr: SocketAddr) -> TcpStream {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    /// Sends `line` and reads the echoed line back.
    #[track_caller]
    pub fn echo_line(s: &mut TcpStream, line: &str) -> String {
        s.write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut got = String::new();
        r.read_line(&mut got).expect("echo");
        got
    }

    /// Reads until EOF (or the read timeout, which fails).
    #[track_caller]
    pub fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
        let mut v = Vec::new();
        s.read_to_end(&mut v).expect("read to end");
        v
    }

    /// A deterministic byte pattern of `n` bytes.
    pub fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// Whether a recorded close reason is `reason`'s kind (by its text).
    pub fn is_reason(text: &str, reason: &CloseReason) -> bool {
        text == reason.to_string()
    }
}

/// The path of example `name`, built for the profile of the running test:
/// beside its binary (`target/<profile>/deps/TEST-HASH` →
/// `target/<profile>/examples/NAME`). `cargo test` builds the examples
/// before running tests; CI runs `cargo build --examples --all-features`
/// first as well.
pub fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --examples --all-features` first",
        path.display()
    );
    path
}
