//! `produce::follow` (tail -f) with many followers and threads, and the
//! server's `GET /FILE?follow` over a socket.
//!
//! The tests share one lock: `Followed::live()` counts the followers of
//! the whole process, and the server test waits for it to reach 0.
#![cfg(feature = "http")]

#[path = "util/file_server.rs"]
mod file_server;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use producers::http::{Server, ServerConfig};
use producers::produce::{Followed, follow};
use producers::reactor::Handle;
use producers::{Chunk, Producer};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A generous bound on any wait: only a failure takes it.
const PATIENCE: Duration = Duration::from_secs(10);

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("producers-follow-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn append(path: &Path, data: &[u8]) {
    fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(data)
        .unwrap();
}

#[track_caller]
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < PATIENCE, "gave up waiting: {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

struct Flag(std::sync::atomic::AtomicBool);
impl Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Everything a follower has now, until it is pending.
fn drain(f: &mut Followed, cx: &mut Context<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        match f.poll_more(cx) {
            Poll::Ready(Some(Ok(c))) => out.extend_from_slice(&c.into_bytes().unwrap()),
            Poll::Pending => return out,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn fifty_followers_of_one_file_all_see_each_append() {
    let _serial = serial();
    let d = temp_dir("fifty");
    let p = d.join("log");
    fs::write(&p, b"start\n").unwrap();
    let mut followers: Vec<(Followed, std::sync::Arc<Flag>)> = (0..50)
        .map(|_| (follow(&p).unwrap(), std::sync::Arc::new(Flag(false.into()))))
        .collect();
    for round in 0..3 {
        for (f, flag) in &mut followers {
            let waker = Waker::from(flag.clone());
            flag.0.store(false, std::sync::atomic::Ordering::SeqCst);
            let got = drain(f, &mut Context::from_waker(&waker));
            let want: &[u8] = if round == 0 { b"start\n" } else { b"more\n" };
            assert_eq!(got, want);
        }
        append(&p, b"more\n");
        // Every follower's waker is woken by the one append.
        wait_until("every follower woken", || {
            followers
                .iter()
                .all(|(_, f)| f.0.load(std::sync::atomic::Ordering::SeqCst))
        });
    }
    let polled = followers.iter().filter(|(f, _)| f.is_polled()).count();
    println!("50 followers of one file: {polled} polled, the others woken by inotify");
    drop(followers);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn followers_on_threads_block_until_appends() {
    let _serial = serial();
    let d = temp_dir("threads");
    let p = d.join("log");
    fs::write(&p, b"").unwrap();
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let mut f = follow(&p).unwrap();
            thread::spawn(move || {
                let mut got = Vec::new();
                while got.len() < 300 {
                    match f.more().unwrap() {
                        Some(c) => got.extend_from_slice(&Chunk::into_bytes(c).unwrap()),
                        None => panic!("a follower ended"),
                    }
                }
                got
            })
        })
        .collect();
    let mut want = Vec::new();
    for i in 0..100u8 {
        let line = [b'a' + i % 26, b'b', b'\n'];
        append(&p, &line);
        want.extend_from_slice(&line);
        thread::sleep(Duration::from_millis(1));
    }
    for r in readers {
        assert_eq!(r.join().unwrap(), want);
    }
    fs::remove_dir_all(&d).unwrap();
}

/// The server on its own thread, serving `root`.
struct TestServer {
    addr: SocketAddr,
    handle: Handle,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown(Duration::from_millis(200));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(root: &Path) -> TestServer {
    let server = Server::new(ServerConfig::new(root)).unwrap();
    let (addr, handle, thread) = file_server::serve(server);
    TestServer {
        addr,
        handle,
        thread: Some(thread),
    }
}

/// A client of a chunked response: the head, then the payload as the
/// chunks arrive.
struct ChunkedClient {
    sock: TcpStream,
    raw: Vec<u8>,
    head: Option<String>,
    body: Vec<u8>,
}

impl ChunkedClient {
    fn get(addr: SocketAddr, target: &str) -> ChunkedClient {
        let mut sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(sock, "GET {target} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
        ChunkedClient {
            sock,
            raw: Vec::new(),
            head: None,
            body: Vec::new(),
        }
    }

    /// Parses what has arrived: the head once, then whole chunks.
    fn parse(&mut self) {
        if self.head.is_none() {
            let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            self.head = Some(String::from_utf8(self.raw[..end].to_vec()).unwrap());
            self.raw.drain(..end + 4);
        }
        loop {
            let Some(eol) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size = usize::from_str_radix(std::str::from_utf8(&self.raw[..eol]).unwrap(), 16)
                .expect("chunk size");
            assert!(size > 0, "the follow response ended");
            if self.raw.len() < eol + 2 + size + 2 {
                return;
            }
            self.body
                .extend_from_slice(&self.raw[eol + 2..eol + 2 + size]);
            assert_eq!(&self.raw[eol + 2 + size..eol + 4 + size], b"\r\n");
            self.raw.drain(..eol + 4 + size);
        }
    }

    /// Reads until the payload has `n` bytes.
    #[track_caller]
    fn read_body(&mut self, n: usize) -> &[u8] {
        let mut buf = [0u8; 16 << 10];
        self.parse();
        while self.body.len() < n {
            let k = self.sock.read(&mut buf).expect("read the follow response");
            assert!(k > 0, "the server closed: {:?}", self.head);
            self.raw.extend_from_slice(&buf[..k]);
            self.parse();
        }
        &self.body
    }
}

#[test]
fn server_follow_streams_appends_and_drops_the_follower_when_the_client_goes() {
    let _serial = serial();
    let d = temp_dir("server");
    let log = d.join("app.log");
    fs::write(&log, b"first line\n").unwrap();
    let server = serve(&d);
    assert_eq!(Followed::live(), 0);

    let mut c = ChunkedClient::get(server.addr, "/app.log?follow");
    assert_eq!(c.read_body(11), b"first line\n");
    let head = c.head.clone().unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
    assert!(head.contains("Content-Type: text/plain"), "{head}");
    assert_eq!(Followed::live(), 1);

    // Appends arrive; each one's latency is measured (not asserted).
    let mut lat = Vec::new();
    let mut want = b"first line\n".to_vec();
    for i in 0..20 {
        let line = format!("appended {i}\n");
        want.extend_from_slice(line.as_bytes());
        let t = Instant::now();
        append(&log, line.as_bytes());
        assert_eq!(c.read_body(want.len()), &want[..]);
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "follow latency (append → client) over {} appends: median {:?}, max {:?}",
        lat.len(),
        lat[lat.len() / 2],
        lat[lat.len() - 1]
    );

    // A truncation restarts the stream from the file's first byte.
    fs::write(&log, b"after truncation\n").unwrap();
    want.extend_from_slice(b"after truncation\n");
    assert_eq!(c.read_body(want.len()), &want[..]);

    // The client goes: the server drops its follower, and its watch.
    c.sock.shutdown(Shutdown::Both).unwrap();
    drop(c);
    wait_until("the server's follower to go", || Followed::live() == 0);

    // HTTP/1.0 and HEAD get the file as it is, with its length.
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(b"GET /app.log?follow HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let all = String::from_utf8(all).unwrap();
    assert!(all.contains("Content-Length: 17\r\n"), "{all}");
    assert!(all.ends_with("\r\n\r\nafter truncation\n"), "{all}");
    assert_eq!(Followed::live(), 0);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(b"HEAD /app.log?follow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let all = String::from_utf8(all).unwrap();
    assert!(all.contains("Content-Length: 17\r\n"), "{all}");
    assert_eq!(Followed::live(), 0);

    // A missing file, a directory: no follower.
    for (target, status) in [("/missing?follow", "404"), ("/?follow", "403")] {
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(
            s,
            "GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        let all = String::from_utf8_lossy(&all);
        assert!(
            all.starts_with(&format!("HTTP/1.1 {status}")),
            "{target}: {all}"
        );
    }
    assert_eq!(Followed::live(), 0);
    drop(server);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn server_followers_of_one_file_each_get_the_appends() {
    let _serial = serial();
    let d = temp_dir("server-many");
    let log = d.join("app.log");
    fs::write(&log, b"").unwrap();
    let server = serve(&d);
    let mut clients: Vec<_> = (0..20)
        .map(|_| ChunkedClient::get(server.addr, "/app.log?follow"))
        .collect();
    wait_until("20 followers", || Followed::live() == 20);
    append(&log, b"to everyone\n");
    for c in &mut clients {
        assert_eq!(c.read_body(12), b"to everyone\n");
    }
    drop(clients);
    wait_until("the followers to go", || Followed::live() == 0);
    drop(server);
    fs::remove_dir_all(&d).unwrap();
}
