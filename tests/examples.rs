//! The reactor examples run as processes: echo, pipelined_client, proxy;
//! and the `http_server` binary.
//!
//! The examples are found beside this test's own binary
//! (`target/<profile>/deps/examples-HASH` → `target/<profile>/examples/NAME`);
//! `cargo test` builds the examples before running tests, and CI runs
//! `cargo build --examples --all-features` first as well. The binary is
//! where Cargo says (`CARGO_BIN_EXE_http_server`, set for integration tests
//! of a package whose binary is built, i.e. with the `http` feature).
#![cfg(feature = "reactor")]

mod util;
use util::example;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A running example: killed if the test fails before it exits.
struct Proc {
    name: &'static str,
    child: Child,
    stdout: BufReader<ChildStdout>,
    /// Everything it writes on stderr, collected as it runs.
    stderr: Option<JoinHandle<String>>,
}

impl Proc {
    fn start(name: &'static str, args: &[&str]) -> Proc {
        Proc::spawn(name, example(name), args)
    }

    /// Runs the executable at `path`, called `name` in messages.
    fn spawn(name: &'static str, path: PathBuf, args: &[&str]) -> Proc {
        let mut child = Command::new(path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut err: ChildStderr = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Proc {
            name,
            child,
            stdout,
            stderr: Some(stderr),
        }
    }

    /// The next line of standard output, without its newline.
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.stdout.read_line(&mut l).expect("stdout");
        assert!(l.ends_with('\n'), "{}: stdout ended: {l:?}", self.name);
        l.trim_end().to_owned()
    }

    /// Reads `listening on ADDR` (or `listening on http://ADDR`) and
    /// returns ADDR.
    fn listening(&mut self) -> SocketAddr {
        let l = self.line();
        let addr = l
            .strip_prefix("listening on ")
            .map(|a| a.strip_prefix("http://").unwrap_or(a))
            .unwrap_or_else(|| panic!("{}: expected `listening on ADDR`, got {l:?}", self.name));
        addr.parse()
            .unwrap_or_else(|e| panic!("{}: bad address {addr:?}: {e}", self.name))
    }

    /// Closes its standard input (the `--stdin` exit signal).
    fn close_stdin(&mut self) {
        drop(self.child.stdin.take());
    }

    /// Waits for it to exit on its own; returns its status, the rest of its
    /// standard output and its standard error.
    fn wait(mut self) -> (ExitStatus, String, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{} did not exit on its own",
                self.name
            );
            thread::sleep(Duration::from_millis(10));
        };
        let mut out = String::new();
        self.stdout.read_to_string(&mut out).expect("stdout");
        let err = self.stderr.take().unwrap().join().expect("stderr reader");
        (status, out, err)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

#[test]
fn echo_prints_its_address_echoes_and_exits_when_stdin_ends() {
    let mut echo = Proc::start("echo", &["--addr", "127.0.0.1:0", "--stdin"]);
    let addr = echo.listening();
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    assert_ne!(addr.port(), 0);
    let mut c = connect(addr);
    c.write_all(b"hello\nworld\n").unwrap();
    let mut got = [0; 12];
    c.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello\nworld\n");
    echo.close_stdin();
    let (status, out, err) = echo.wait();
    assert!(status.success(), "echo: {status}, stderr {err:?}");
    assert_eq!(out, "");
    // The shutdown closed the idle connection.
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

#[test]
fn echo_exits_after_its_deadline() {
    let mut echo = Proc::start("echo", &["--exit-after", "0.2"]);
    echo.listening();
    let (status, _, err) = echo.wait();
    assert!(status.success(), "echo: {status}, stderr {err:?}");
}

#[test]
fn pipelined_client_gets_every_echo() {
    let mut echo = Proc::start("echo", &["--addr", "127.0.0.1:0", "--stdin"]);
    let addr = echo.listening().to_string();
    let mut client = Proc::start(
        "pipelined_client",
        &[
            "--addr",
            &addr,
            "--lines",
            "10000",
            "--depth",
            "64",
            "--exit-after",
            "60",
        ],
    );
    assert_eq!(client.listening().to_string(), addr);
    let report = client.line();
    assert!(
        report.starts_with("10000 lines of 64 bytes echoed in "),
        "pipelined_client reported {report:?}"
    );
    let (status, _, err) = client.wait();
    assert!(
        status.success(),
        "pipelined_client: {status}, stderr {err:?}"
    );
    echo.close_stdin();
    let (status, _, err) = echo.wait();
    assert!(status.success(), "echo: {status}, stderr {err:?}");
}

#[test]
fn pipelined_client_gives_up_after_its_deadline_with_status_1() {
    // A server that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let mut client = Proc::start(
        "pipelined_client",
        &["--addr", &addr, "--lines", "10", "--exit-after", "0.3"],
    );
    client.listening();
    let (status, out, _) = client.wait();
    assert_eq!(status.code(), Some(1), "stdout {out:?}");
    assert!(out.starts_with("0 lines of 64 bytes"), "stdout {out:?}");
    drop(silent);
}

#[test]
fn proxy_forwards_and_logs_lines_with_direction_and_connection() {
    let mut echo = Proc::start("echo", &["--addr", "127.0.0.1:0", "--stdin"]);
    let upstream = echo.listening().to_string();
    let mut proxy = Proc::start("proxy", &["--upstream", &upstream, "--stdin"]);
    let addr = proxy.listening();
    for (conn, word) in [(1, "first"), (2, "second")] {
        let mut c = connect(addr);
        let sent = format!("hello {word}\nbye {word}\n");
        c.write_all(sent.as_bytes()).unwrap();
        let mut got = vec![0; sent.len()];
        c.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), sent, "connection {conn}");
        // Our end: the proxy closes both sides when done.
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }
    proxy.close_stdin();
    let (status, _, log) = proxy.wait();
    assert!(status.success(), "proxy: {status}, stderr {log:?}");
    for want in [
        "#1 -> hello first",
        "#1 <- hello first",
        "#1 -> bye first",
        "#1 <- bye first",
        "#2 -> hello second",
        "#2 <- bye second",
        "#1 closed: closed when done",
        "#2 closed: closed when done",
    ] {
        assert!(
            log.lines().any(|l| l == want),
            "no line {want:?} in the proxy's log:\n{log}"
        );
    }
    // Each direction in order within a connection.
    let pos = |l: &str| log.lines().position(|x| x == l).unwrap();
    assert!(pos("#1 -> hello first") < pos("#1 -> bye first"));
    assert!(pos("#1 <- hello first") < pos("#1 <- bye first"));
    echo.close_stdin();
    let (status, _, err) = echo.wait();
    assert!(status.success(), "echo: {status}, stderr {err:?}");
}

/// The README's first command, briefly: the server binary serves a file,
/// logs the request on standard error and exits on its own.
#[cfg(feature = "http")]
#[test]
fn http_server_binary_serves_a_file_logs_it_and_exits_after_its_deadline() {
    let root = std::env::temp_dir().join(format!("http-server-bin-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("hello.txt"), "hello, binary\n").unwrap();
    let mut server = Proc::spawn(
        "http_server",
        PathBuf::from(env!("CARGO_BIN_EXE_http_server")),
        &[
            "--root",
            root.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
            "--exit-after",
            "1",
        ],
    );
    let addr = server.listening();
    assert_ne!(addr.port(), 0);
    let mut c = connect(addr);
    c.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    c.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200 OK\r\n"),
        "response {response:?}"
    );
    assert!(
        response.ends_with("\r\n\r\nhello, binary\n"),
        "response {response:?}"
    );
    let (status, _, log) = server.wait();
    assert!(status.success(), "http_server: {status}, stderr {log:?}");
    assert!(
        log.contains("GET /hello.txt"),
        "no request in the log: {log:?}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

/// The tokio line echo server (`FrameDecoder` in `Framed`).
#[cfg(feature = "tokio")]
mod tokio_echo {
    use super::*;

    fn start() -> (Proc, SocketAddr) {
        let mut p = Proc::start(
            "tokio_echo",
            &[
                "--addr",
                "127.0.0.1:0",
                "--root",
                "/nonexistent",
                "--max-line",
                "100",
                "--exit-after",
                "60",
            ],
        );
        let addr = p.listening();
        (p, addr)
    }

    /// Reads `n` lines, each without its `\n`.
    fn read_lines(r: &mut BufReader<TcpStream>, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                let mut l = String::new();
                r.read_line(&mut l).expect("read");
                assert!(l.ends_with('\n'), "line {i}: {l:?}");
                l.pop();
                l
            })
            .collect()
    }

    fn lines(n: usize) -> (Vec<u8>, Vec<String>) {
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for i in 0..n {
            let l = format!("line {i} {}", "x".repeat(i % 90));
            wire.extend_from_slice(l.as_bytes());
            wire.extend_from_slice(if i % 3 == 0 { b"\r\n" } else { b"\n" });
            expected.push(l);
        }
        (wire, expected)
    }

    #[test]
    fn echoes_many_lines_pipelined_in_one_write() {
        let (_p, addr) = start();
        let mut s = connect(addr);
        let (wire, expected) = lines(2000);
        // Written from another thread: the echoes come back while we write.
        let mut w = s.try_clone().unwrap();
        let writer = thread::spawn(move || w.write_all(&wire).unwrap());
        let mut r = BufReader::new(s.try_clone().unwrap());
        assert_eq!(read_lines(&mut r, expected.len()), expected);
        writer.join().unwrap();
        s.write_all(b"last\n").unwrap();
        assert_eq!(read_lines(&mut r, 1), ["last"]);
    }

    #[test]
    fn echoes_lines_split_at_random_points() {
        let (_p, addr) = start();
        let mut s = connect(addr);
        s.set_nodelay(true).unwrap();
        let (wire, expected) = lines(300);
        let mut r = BufReader::new(s.try_clone().unwrap());
        let writer = thread::spawn(move || {
            let mut x = 0x2545_f491_4f6c_dd1du64;
            let mut rest = &wire[..];
            while !rest.is_empty() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let n = (x % 150) as usize + 1;
                let (piece, tail) = rest.split_at(n.min(rest.len()));
                s.write_all(piece).unwrap();
                rest = tail;
                if x.is_multiple_of(4) {
                    thread::sleep(Duration::from_millis(1));
                }
            }
        });
        assert_eq!(read_lines(&mut r, expected.len()), expected);
        writer.join().unwrap();
    }

    #[test]
    fn a_line_over_the_cap_gets_an_error_and_the_connection_closes() {
        let (_p, addr) = start();
        let mut s = connect(addr);
        let mut r = BufReader::new(s.try_clone().unwrap());
        // 100 bytes is the cap: echoed.
        let ok = "y".repeat(100);
        s.write_all(format!("{ok}\n").as_bytes()).unwrap();
        assert_eq!(read_lines(&mut r, 1), [ok]);
        // 101 bytes, then more that is never answered.
        s.write_all(format!("{}\nafter\n", "z".repeat(101)).as_bytes())
            .unwrap();
        let l = read_lines(&mut r, 1).remove(0);
        assert!(
            l.starts_with("error: ") && l.contains("longer than 100 bytes"),
            "{l:?}"
        );
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = String::new();
        r.read_to_string(&mut rest).expect("a clean close");
        assert_eq!(rest, "", "nothing after the error");
    }

    #[test]
    fn exits_after_its_deadline() {
        let mut p = Proc::start("tokio_echo", &["--exit-after", "0.3"]);
        p.listening();
        let (status, _, err) = p.wait();
        assert!(status.success(), "{status:?} {err}");
    }
}
