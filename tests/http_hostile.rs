//! Hostile clients against the HTTP file server (issue 11): slowloris,
//! pipelined requests never read, thousands of idle connections, running
//! out of descriptors, and resets mid-response.
//!
//! The server runs in a child process (this test binary, re-run with
//! `HOSTILE_CHILD` set) so that its resident memory, descriptors and CPU
//! time can be read from `/proc/<pid>` without the noise of the other tests
//! and of the clients. Figures are printed (`--nocapture`); the assertions
//! are behaviours and generous bounds, never tight timings.
#![cfg(all(feature = "http", target_os = "linux"))]

#[path = "util/noisy.rs"]
mod noisy;
use noisy::noisy;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use producers::http::{Server, ServerConfig};
use producers::reactor::{Reactor, bind_reuseport};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

const MIB: u64 = 1 << 20;
/// The 1 MiB file, not compressible: a `sendfile` region.
const BIG_BIN: &str = "/big.bin";
/// A 1.2 MB text file, gzip when accepted. It compresses to about half,
/// like prose, so its gzip output fills a write after ~128 KiB of input;
/// repetitive text compressing 20:1 would compress all 1.2 MB for one
/// write, 0.6 s of a debug build's loop per response.
const NOISY_TXT: &str = "/noisy.txt";

fn text(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 80);
    let mut i = 0;
    while v.len() < n {
        v.extend_from_slice(
            format!("line {i}: the quick brown fox jumps over the lazy dog\n").as_bytes(),
        );
        i += 1;
    }
    v.truncate(n);
    v
}

/// Sets the soft descriptor limit to `soft` (`None`: the hard limit);
/// returns the soft limit now in force.
fn set_nofile(soft: Option<u64>) -> u64 {
    let hard = getrlimit(Resource::Nofile).maximum;
    let want = soft.or(hard).unwrap_or(1 << 20);
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(want),
            maximum: hard,
        },
    )
    .expect("setrlimit(RLIMIT_NOFILE)");
    getrlimit(Resource::Nofile).current.unwrap_or(want)
}

/// The server child: serves a fresh root until its standard input closes.
/// `HOSTILE_NOFILE` sets its descriptor limit (`max`: the hard limit),
/// `HOSTILE_HEADER_TIMEOUT_MS` its header timeout, `HOSTILE_GZIP_LEVEL`
/// its gzip level, `HOSTILE_MAX_HEAVY` its cap on br and zstd encoders.
#[test]
fn server_child() {
    if std::env::var_os("HOSTILE_CHILD").is_none() {
        return;
    }
    match std::env::var("HOSTILE_NOFILE").as_deref() {
        Ok("max") => drop(set_nofile(None)),
        Ok(n) => drop(set_nofile(Some(n.parse().unwrap()))),
        Err(_) => {}
    }
    let base = std::env::temp_dir().join(format!("producers-hostile-{}", std::process::id()));
    let root = base.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("small.txt"), text(1200)).unwrap();
    std::fs::write(root.join("noisy.txt"), noisy(1_200_000)).unwrap();
    std::fs::write(
        root.join("big.bin"),
        (0..MIB as u32)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let mut config = ServerConfig::new(&root);
    if let Ok(ms) = std::env::var("HOSTILE_HEADER_TIMEOUT_MS") {
        config = config.header_timeout(Some(Duration::from_millis(ms.parse().unwrap())));
    }
    if let Ok(level) = std::env::var("HOSTILE_GZIP_LEVEL") {
        config = config.gzip_level(level.parse().unwrap());
    }
    if let Ok(n) = std::env::var("HOSTILE_MAX_HEAVY") {
        config = config.max_heavy_encoders(n.parse().unwrap());
    }
    let server = Server::new(config).unwrap();
    let listener = bind_reuseport("127.0.0.1:0".parse().unwrap(), 4096).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut reactor = Reactor::new().unwrap();
    server.listen(&mut reactor, listener).unwrap();
    let handle = reactor.handle();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        handle.shutdown(Duration::from_millis(200));
    });
    println!("listening on {addr}");
    reactor.run().unwrap();
    let _ = std::fs::remove_dir_all(&base);
}

/// A server child; shut down (standard input closed) on drop.
struct Child {
    child: std::process::Child,
    pid: u32,
    addr: SocketAddr,
    stdin: Option<ChildStdin>,
    _stdout: BufReader<ChildStdout>,
}

impl Child {
    #[track_caller]
    fn spawn(env: &[(&str, &str)]) -> Child {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "server_child",
                "--exact",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("HOSTILE_CHILD", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let addr = loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "the server child ended early"
            );
            // libtest may print "test server_child ... " before it.
            if let Some((_, a)) = line.trim().split_once("listening on ") {
                break a.parse().unwrap();
            }
        };
        Child {
            pid: child.id(),
            stdin: child.stdin.take(),
            child,
            addr,
            _stdout: stdout,
        }
    }

    fn proc(&self, what: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{what}", self.pid)).unwrap()
    }

    /// Resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        self.proc("status")
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// Open descriptors.
    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .unwrap()
            .count()
    }

    /// User and system CPU time, in milliseconds.
    fn cpu_ms(&self) -> u64 {
        let stat = self.proc("stat");
        // Fields after the command name: utime and stime are the 14th and
        // 15th of the line, counted in USER_HZ (100 on Linux).
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
        ticks * 10
    }

    /// Waits until `cond` holds, up to `limit`.
    #[track_caller]
    fn wait(&self, limit: Duration, what: &str, mut cond: impl FnMut(&Child) -> bool) {
        let t0 = Instant::now();
        while !cond(self) {
            assert!(t0.elapsed() < limit, "timed out waiting: {what}");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response read to the connection's end.
struct Resp {
    status: u16,
    head: String,
    body: Vec<u8>,
}

/// One request with `Connection: close`, read to the end.
#[track_caller]
fn get(addr: SocketAddr, path: &str, extra: &str) -> Resp {
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut all = Vec::new();
    c.read_to_end(&mut all).expect("read the response");
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let status = head[9..12].parse().unwrap();
    Resp {
        status,
        head,
        body: all[split..].to_vec(),
    }
}

/// The 1 MiB file is served whole and the gzip file compressed.
#[track_caller]
fn serves(addr: SocketAddr) {
    let r = get(addr, BIG_BIN, "");
    assert_eq!((r.status, r.body.len() as u64), (200, MIB), "{}", r.head);
    let r = get(addr, NOISY_TXT, "Accept-Encoding: gzip\r\n");
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(r.head.contains("Content-Encoding: gzip"), "{}", r.head);
}

/// Runs the tests of this file one at a time: they load the two cores of
/// a shared machine, and the bounds on latency and CPU time should see
/// the server's own work, not the other tests'.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// 200 slowloris connections, a byte every 250 ms, all get 408 at the
/// header timeout (2 s) while a normal GET is answered promptly.
#[test]
fn slowloris_connections_get_408_at_the_header_timeout_while_others_are_served() {
    const N: usize = 200;
    const TIMEOUT: Duration = Duration::from_secs(2);
    const TICK: Duration = Duration::from_millis(250);
    let _serial = serial();
    set_nofile(None);
    let s = Child::spawn(&[("HOSTILE_HEADER_TIMEOUT_MS", "2000")]);
    let addr = s.addr;
    let attack = thread::spawn(move || {
        // Longer than the timeout lets it send at one byte a tick.
        let req = b"GET /small.txt HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
        struct Slow {
            c: TcpStream,
            sent: usize,
            first: Option<Instant>,
            next: Instant,
            got: Vec<u8>,
            answered: Option<Duration>,
            closed: bool,
        }
        let mut conns: Vec<Slow> = (0..N)
            .map(|_| {
                let c = TcpStream::connect(addr).unwrap();
                c.set_nonblocking(true).unwrap();
                Slow {
                    c,
                    sent: 0,
                    first: None,
                    next: Instant::now(),
                    got: Vec::new(),
                    answered: None,
                    closed: false,
                }
            })
            .collect();
        let t0 = Instant::now();
        while conns.iter().any(|c| !c.closed) && t0.elapsed() < Duration::from_secs(15) {
            let now = Instant::now();
            for s in conns.iter_mut().filter(|s| !s.closed) {
                if s.got.is_empty() && now >= s.next && s.sent < req.len() {
                    match s.c.write(&req[s.sent..s.sent + 1]) {
                        Ok(_) => {
                            s.sent += 1;
                            s.first.get_or_insert(now);
                            s.next = now + TICK;
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(_) => s.closed = true,
                    }
                }
                let mut buf = [0u8; 1024];
                match s.c.read(&mut buf) {
                    Ok(0) => s.closed = true,
                    Ok(n) => {
                        if s.got.is_empty() {
                            s.answered = s.first.map(|f| f.elapsed());
                        }
                        s.got.extend_from_slice(&buf[..n]);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => s.closed = true,
                }
            }
            thread::sleep(Duration::from_millis(10));
        }
        conns
            .into_iter()
            .map(|s| (s.answered, s.sent, s.got))
            .collect::<Vec<_>>()
    });
    // Meanwhile, normal clients.
    let mut worst = Duration::ZERO;
    let mut served = 0;
    while !attack.is_finished() {
        let t = Instant::now();
        let r = get(addr, "/small.txt", "");
        assert_eq!((r.status, r.body.len()), (200, 1200), "{}", r.head);
        worst = worst.max(t.elapsed());
        served += 1;
        thread::sleep(Duration::from_millis(100));
    }
    let results = attack.join().unwrap();
    let mut times = Vec::new();
    for (i, (answered, sent, got)) in results.into_iter().enumerate() {
        assert!(
            got.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"),
            "slow client {i} (sent {sent} bytes): {:?}",
            String::from_utf8_lossy(&got)
        );
        let t = answered.unwrap();
        assert!(
            t >= TIMEOUT - Duration::from_millis(100) && t < TIMEOUT + Duration::from_secs(3),
            "slow client {i}: 408 after {t:?}"
        );
        times.push(t);
    }
    let med = median(&mut times);
    eprintln!(
        "slowloris: {N} connections at 1 byte/{TICK:?}, header timeout {TIMEOUT:?}: \
         408 after {:?} (first) / {med:?} (median) / {:?} (last) from the first byte; \
         {served} normal GETs meanwhile, slowest {worst:?}",
        times[0],
        times[N - 1]
    );
    assert!(served >= 5, "{served} normal GETs during the attack");
    // Catches a server that stops serving during the attack (it lasts the
    // header timeout), not a timing figure.
    assert!(
        worst < Duration::from_secs(1),
        "a normal GET took {worst:?}"
    );
}

/// A connection with a small receive buffer: a client that does not read
/// stalls the server's output after a few KiB.
fn small_window(addr: SocketAddr) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&addr.into()).unwrap();
    sock.into()
}

/// Opens `conns` connections, each sending `n` pipelined requests for
/// `path` in one write, none ever reading.
fn pipeline_never_read(
    addr: SocketAddr,
    conns: usize,
    n: usize,
    path: &str,
    extra: &str,
) -> Vec<TcpStream> {
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").repeat(n);
    (0..conns)
        .map(|_| {
            let mut c = small_window(addr);
            c.write_all(req.as_bytes()).unwrap();
            c
        })
        .collect()
}

/// Pipelined requests never read: resident memory growth of the server
/// while `conns` such clients sit there, in KiB, and the descriptors it
/// holds for them (sockets included); the server serves others meanwhile.
fn pipelining_growth(conns: usize, n: usize, path: &str, extra: &str) -> (u64, usize) {
    pipelining_growth_with(&[], conns, n, path, extra, |_| {})
}

/// [`pipelining_growth`] with the server child's environment `env`, and
/// `meanwhile` called while the clients sit there.
fn pipelining_growth_with(
    env: &[(&str, &str)],
    conns: usize,
    n: usize,
    path: &str,
    extra: &str,
    meanwhile: impl FnOnce(SocketAddr),
) -> (u64, usize) {
    let _serial = serial();
    let s = Child::spawn(env);
    // Warm up what is made once and kept (the loop's read buffer, the
    // allocator's arenas, a compressor's worth of memory).
    serves(s.addr);
    thread::sleep(Duration::from_millis(200));
    let (rss0, fds0) = (s.rss_kib(), s.fds());
    let clients = pipeline_never_read(s.addr, conns, n, path, extra);
    // Every connection accepted, with responses in flight.
    s.wait(Duration::from_secs(10), "the connections accepted", |s| {
        s.fds() >= fds0 + conns
    });
    thread::sleep(Duration::from_secs(1));
    let rss1 = s.rss_kib();
    serves(s.addr);
    let rss2 = s.rss_kib();
    let fds = s.fds() - fds0;
    meanwhile(s.addr);
    drop(clients);
    let growth = rss1.max(rss2).saturating_sub(rss0);
    eprintln!(
        "pipelined, never read: {conns} connection(s) x {n} GET {path} {extra:?}: \
         RSS {rss0} KiB -> {rss1} KiB, {rss2} KiB while serving others \
         (+{growth} KiB, {} KiB per connection), {fds} descriptors held",
        growth / conns as u64
    );
    (growth, fds)
}

/// Each pipelining connection holds its socket and at most
/// `DEFAULT_MAX_OPEN_FILES` files (it held one per request in flight, 32).
#[track_caller]
fn assert_descriptors(fds: usize, conns: usize) {
    // (+2: the connection that checked the server still serves may still
    // be closing.)
    let most = conns * (1 + producers::http::DEFAULT_MAX_OPEN_FILES) + 2;
    assert!(fds <= most, "{fds} descriptors for {conns} connections");
}

/// 500 pipelined 1 MiB GETs on each of 10 connections that never read:
/// the server's memory stays flat (< 8 MiB for all of them) and it serves
/// others.
#[test]
fn pipelined_gets_never_read_leave_memory_flat() {
    let (growth, fds) = pipelining_growth(10, 500, BIG_BIN, "");
    assert!(growth < 8 * 1024, "+{growth} KiB");
    assert_descriptors(fds, 10);
}

/// The same with gzip: 20 connections of 100 pipelined gzip GETs of a
/// 1.2 MB text file, at most ~512 KiB per connection (< 20 MiB growth).
/// Before the lazy compressor, each of the 32 responses in flight held its
/// compressor: ~11.5 MB per connection.
#[test]
fn pipelined_gzip_gets_never_read_cost_at_most_512_kib_per_connection() {
    let (growth, fds) = pipelining_growth(20, 100, NOISY_TXT, "Accept-Encoding: gzip\r\n");
    assert!(growth < 20 * 1024, "+{growth} KiB");
    assert_descriptors(fds, 20);
}

/// The same with br and zstd (issue 15): their encoders keep more state
/// than gzip's, one per connection, within the server's cap
/// (`max_heavy_encoders`, 64 by default, above these 20 connections).
/// Measured (20 connections): br 2047 KiB per connection, zstd 1475 KiB,
/// gzip 417 KiB (zstd's 1 MiB window and size hint leave this 1.2 MB
/// file's encoder as it was: its match tables, not its window, are what
/// a stalled response touches). Bounds: 2.5 MiB per connection for br,
/// 1.75 for zstd — one encoder per connection; two would not fit.
#[cfg(all(feature = "brotli", feature = "zstd"))]
#[test]
fn pipelined_br_and_zstd_gets_never_read_hold_one_encoder_per_connection() {
    for (accept, most_kib_each) in [("br", 2560), ("zstd", 1792)] {
        let (growth, fds) = pipelining_growth(
            20,
            100,
            NOISY_TXT,
            &format!("Accept-Encoding: {accept}\r\n"),
        );
        assert!(growth < 20 * most_kib_each, "{accept}: +{growth} KiB");
        assert_descriptors(fds, 20);
    }
}

/// Past the cap on br and zstd encoders (2 here), connections that
/// pipeline GETs accepting br, zstd and gzip and never read get gzip, so
/// they cost what gzip's do (< 20 MiB for 20, as above; with the cap at
/// 64 they would cost some 40 MiB in br); a client that reads meanwhile
/// gets gzip. (`tests/http_codings.rs` checks that br and zstd come back
/// once such connections are gone.)
#[cfg(all(feature = "brotli", feature = "zstd"))]
#[test]
fn past_the_heavy_encoder_cap_pipelined_gets_cost_what_gzip_costs() {
    let (growth, fds) = pipelining_growth_with(
        &[("HOSTILE_MAX_HEAVY", "2")],
        20,
        100,
        NOISY_TXT,
        "Accept-Encoding: br, zstd, gzip;q=0.5\r\n",
        |addr| {
            let r = get(addr, NOISY_TXT, "Accept-Encoding: br, zstd, gzip;q=0.5\r\n");
            assert_eq!(r.status, 200, "{}", r.head);
            assert!(r.head.contains("Content-Encoding: gzip"), "{}", r.head);
        },
    );
    assert!(growth < 20 * 1024, "+{growth} KiB");
    assert_descriptors(fds, 20);
}

/// 5000 idle connections cost at most 2.2 KiB each in the server.
#[test]
fn idle_connections_cost_at_most_2_2_kib_each() {
    const N: usize = 5000;
    let _serial = serial();
    let hard = getrlimit(Resource::Nofile).maximum.unwrap_or(u64::MAX);
    if hard < N as u64 + 200 {
        eprintln!("skipped: the hard descriptor limit ({hard}) is below {N} + 200");
        return;
    }
    set_nofile(None);
    let s = Child::spawn(&[("HOSTILE_NOFILE", "max")]);
    serves(s.addr);
    // One idle connection first, so that what the first one makes is not
    // counted.
    let warm = TcpStream::connect(s.addr).unwrap();
    thread::sleep(Duration::from_millis(200));
    let (rss0, fds0) = (s.rss_kib(), s.fds());
    let mut clients = Vec::with_capacity(N);
    for _ in 0..N {
        clients.push(TcpStream::connect(s.addr).unwrap());
    }
    s.wait(Duration::from_secs(15), "every connection accepted", |s| {
        s.fds() >= fds0 + N
    });
    thread::sleep(Duration::from_millis(200));
    let rss1 = s.rss_kib();
    let per = (rss1.saturating_sub(rss0) * 1024) as f64 / N as f64;
    eprintln!("{N} idle connections: RSS {rss0} KiB -> {rss1} KiB, {per:.0} B per connection");
    // Still serving.
    let r = get(s.addr, "/small.txt", "");
    assert_eq!(r.status, 200);
    drop((clients, warm));
    assert!(per <= 2.2 * 1024.0, "{per:.0} B per idle connection");
}

/// Out of descriptors: accepting fails with `EMFILE`, which costs the
/// server no CPU, existing connections are served, and once clients go new
/// connections are served. (tests/reactor.rs holds the reactor's side:
/// accepting pauses and resumes.)
#[test]
fn descriptor_exhaustion_costs_no_cpu_and_recovers() {
    const LIMIT: usize = 64;
    let _serial = serial();
    set_nofile(None);
    let s = Child::spawn(&[("HOSTILE_NOFILE", "64")]);
    let mut survivor = TcpStream::connect(s.addr).unwrap();
    survivor
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let options = |c: &mut TcpStream| {
        c.write_all(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = c.read(&mut buf).unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200 OK\r\n"),
            "{:?}",
            String::from_utf8_lossy(&buf[..n])
        );
    };
    options(&mut survivor);
    // More connections than descriptors: the kernel completes them (the
    // backlog); the server accepts until EMFILE.
    let clients: Vec<TcpStream> = (0..2 * LIMIT)
        .map(|_| TcpStream::connect(s.addr).unwrap())
        .collect();
    s.wait(Duration::from_secs(10), "every descriptor taken", |s| {
        s.fds() >= LIMIT
    });
    let cpu0 = s.cpu_ms();
    let t0 = Instant::now();
    thread::sleep(Duration::from_secs(1));
    let cpu = s.cpu_ms() - cpu0;
    let wall = t0.elapsed();
    // Existing connections are still served (no descriptor needed).
    options(&mut survivor);
    eprintln!(
        "descriptor exhaustion: {} fds open (limit {LIMIT}), server CPU {cpu} ms over {wall:?}",
        s.fds()
    );
    assert!(cpu < 200, "the server spent {cpu} ms of CPU in {wall:?}");
    drop(clients);
    drop(survivor);
    // The backlog drains (each closed client accepted, then closed), and
    // new connections are served.
    let t0 = Instant::now();
    let r = get(s.addr, "/small.txt", "");
    assert_eq!((r.status, r.body.len()), (200, 1200), "{}", r.head);
    eprintln!(
        "descriptor exhaustion: served again {:?} after the clients left",
        t0.elapsed()
    );
    serves(s.addr);
}

/// A client that asks for `path`, reads the start of the response through
/// a small receive buffer (so the response is still being sent), then
/// resets the connection.
fn reset_mid_response(addr: SocketAddr, n: usize) {
    let clients: Vec<TcpStream> = (0..n)
        .map(|i| {
            let mut c = small_window(addr);
            // Every tenth one asks for gzip: a compressor dropped
            // mid-stream. (Not more: compressing is slow in debug builds.)
            let (path, extra) = if i % 10 == 9 {
                (NOISY_TXT, "Accept-Encoding: gzip\r\n")
            } else {
                (BIG_BIN, "")
            };
            write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").unwrap();
            c
        })
        .collect();
    for mut c in clients {
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 2048];
        let mut got = 0;
        while got < buf.len() {
            let n = c.read(&mut buf[got..]).expect("the start of the response");
            assert!(n > 0, "closed before the response");
            got += n;
        }
        assert!(buf.starts_with(b"HTTP/1.1 200 OK\r\n"));
        socket2::SockRef::from(&c)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        // Dropped: a reset.
    }
}

/// 1000 clients reset mid-response: afterwards the server's descriptors
/// are back to their baseline, its memory near it, and it serves.
#[test]
fn resets_mid_response_leak_nothing() {
    const BATCH: usize = 100;
    let _serial = serial();
    set_nofile(None);
    let s = Child::spawn(&[("HOSTILE_GZIP_LEVEL", "1")]);
    serves(s.addr);
    thread::sleep(Duration::from_millis(200));
    let fds0 = s.fds();
    // One batch first: the allocator's arenas reach their working size.
    reset_mid_response(s.addr, BATCH);
    s.wait(Duration::from_secs(10), "the warm-up resets closed", |s| {
        s.fds() <= fds0
    });
    let rss0 = s.rss_kib();
    let t0 = Instant::now();
    let mut peak = 0;
    for _ in 0..1000 / BATCH {
        reset_mid_response(s.addr, BATCH);
        peak = peak.max(s.fds());
    }
    let took = t0.elapsed();
    s.wait(
        Duration::from_secs(10),
        "descriptors back to the baseline",
        |s| s.fds() <= fds0,
    );
    let rss1 = s.rss_kib();
    let growth = rss1.saturating_sub(rss0);
    eprintln!(
        "1000 resets mid-response in {took:?}: descriptors {fds0} -> peak {peak} -> {}, \
         RSS {rss0} KiB -> {rss1} KiB (+{growth} KiB)",
        s.fds()
    );
    assert!(growth < 8 * 1024, "+{growth} KiB after 1000 resets");
    serves(s.addr);
}
