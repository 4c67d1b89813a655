//! An in-process file server on 127.0.0.1:0 with a temporary root, and a
//! small HTTP/1.1 client: what `http_cache.rs` and `http_codings.rs`
//! share, and `serve`, which `http_server.rs` and `http_listing.rs` use
//! too (included with `#[path]`).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use producers::http::{CacheStats, Server, ServerConfig};
use producers::reactor::{Handle, Reactor};
use producers::{ProducerExt, from_bytes};

/// The test period.
pub const PERIOD: Duration = Duration::from_millis(50);
/// A little longer than the period.
pub const AFTER_PERIOD: Duration = Duration::from_millis(80);
/// Long enough for a file just written to count as settled (the caches
/// hold bytes only of files unchanged for a second).
pub const SETTLE: Duration = Duration::from_millis(1150);

pub struct TestServer {
    pub addr: SocketAddr,
    pub server: Server,
    pub handle: Handle,
    pub thread: Option<JoinHandle<()>>,
    pub base: PathBuf,
    pub root: PathBuf,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown(Duration::from_millis(200));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// Runs `server` on its own reactor thread, listening on 127.0.0.1:0:
/// its address, the reactor's handle and the thread.
pub fn serve(server: Server) -> (SocketAddr, Handle, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = thread::spawn(move || {
        let mut reactor = Reactor::new().unwrap();
        server.listen(&mut reactor, listener).unwrap();
        tx.send(reactor.handle()).unwrap();
        reactor.run().unwrap();
    });
    (addr, rx.recv().unwrap(), thread)
}

pub fn start(configure: impl FnOnce(ServerConfig) -> ServerConfig) -> TestServer {
    static N: AtomicUsize = AtomicUsize::new(0);
    let base = std::env::temp_dir().join(format!(
        "producers-http-files-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let root = base.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let server = Server::new(configure(ServerConfig::new(&root))).unwrap();
    let (addr, handle, thread) = serve(server.clone());
    TestServer {
        addr,
        server,
        handle,
        thread: Some(thread),
        root: root.canonicalize().unwrap(),
        base,
    }
}

pub fn with_period(period: Duration) -> impl FnOnce(ServerConfig) -> ServerConfig {
    move |c| c.revalidate(period)
}

/// Text of `n` bytes made of `tag`'s lines.
pub fn text(tag: &str, n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 80);
    let mut i = 0;
    while v.len() < n {
        v.extend_from_slice(format!("{tag} line {i}: the quick brown fox\n").as_bytes());
        i += 1;
    }
    v.truncate(n);
    v
}

#[derive(Debug)]
pub struct Resp {
    pub head: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn status(&self) -> u16 {
        self.head[9..12].parse().unwrap()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The body with its content coding undone.
    pub fn content(&self) -> Vec<u8> {
        match self.header("content-encoding") {
            Some("gzip") => from_bytes(self.body.clone())
                .gunzip()
                .collect_bytes()
                .unwrap()
                .to_vec(),
            #[cfg(feature = "brotli")]
            Some("br") => from_bytes(self.body.clone())
                .unbrotli()
                .collect_bytes()
                .unwrap()
                .to_vec(),
            #[cfg(feature = "zstd")]
            Some("zstd") => from_bytes(self.body.clone())
                .unzstd()
                .collect_bytes()
                .unwrap()
                .to_vec(),
            None => self.body.clone(),
            Some(other) => panic!("coding {other}"),
        }
    }
}

/// Asserts two bodies are equal, saying how they differ in a line.
#[track_caller]
pub fn same(got: &[u8], want: &[u8]) {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "bodies differ: {} bytes, {} wanted, first difference at {at:?}: {:?}",
            got.len(),
            want.len(),
            String::from_utf8_lossy(&got[..got.len().min(60)])
        );
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One response off `c`: `Content-Length`, chunked, or none (304, HEAD).
pub fn read_response(c: &mut TcpStream, buf: &mut Vec<u8>) -> Resp {
    let mut tmp = [0u8; 65536];
    let mut fill = |c: &mut TcpStream, buf: &mut Vec<u8>| {
        let n = c.read(&mut tmp).unwrap();
        assert!(n > 0, "closed early");
        buf.extend_from_slice(&tmp[..n]);
    };
    let end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        fill(c, buf);
    };
    let head = String::from_utf8(buf.drain(..end).collect()).unwrap();
    let mut r = Resp { head, body: vec![] };
    if r.status() == 304 {
        return r;
    }
    if let Some(n) = r.header("content-length") {
        let n: usize = n.parse().unwrap();
        while buf.len() < n {
            fill(c, buf);
        }
        r.body = buf.drain(..n).collect();
        return r;
    }
    assert_eq!(r.header("transfer-encoding"), Some("chunked"), "{}", r.head);
    loop {
        let nl = loop {
            if let Some(i) = find(buf, b"\r\n") {
                break i;
            }
            fill(c, buf);
        };
        let size = usize::from_str_radix(std::str::from_utf8(&buf[..nl]).unwrap(), 16).unwrap();
        while buf.len() < nl + 2 + size + 2 {
            fill(c, buf);
        }
        r.body.extend_from_slice(&buf[nl + 2..nl + 2 + size]);
        buf.drain(..nl + 2 + size + 2);
        if size == 0 {
            return r;
        }
    }
}

/// A keep-alive client.
pub struct Client {
    pub c: TcpStream,
    pub buf: Vec<u8>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        let c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Client { c, buf: Vec::new() }
    }

    pub fn get(&mut self, path: &str, fields: &str) -> Resp {
        write!(self.c, "GET {path} HTTP/1.1\r\nHost: x\r\n{fields}\r\n").unwrap();
        read_response(&mut self.c, &mut self.buf)
    }
}

/// Rewrites `path` in place with `data` (the same length) and sets its
/// `mtime` back to what it was: only `ctime` (and the content) tells the
/// versions apart, as for a rewrite within one clock tick.
pub fn rewrite_in_place(path: &Path, data: &[u8]) {
    let before = std::fs::metadata(path).unwrap();
    assert_eq!(before.len(), data.len() as u64);
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, data, 0).unwrap();
    f.set_modified(before.modified().unwrap()).unwrap();
    let after = std::fs::metadata(path).unwrap();
    assert_eq!(after.modified().unwrap(), before.modified().unwrap());
    assert_eq!(after.len(), before.len());
}

pub fn stats(s: &TestServer) -> CacheStats {
    s.server.cache_stats()
}
