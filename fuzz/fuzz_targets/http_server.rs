//! The HTTP request path end to end: arbitrary bytes, split into writes
//! at points chosen by the input, from a real client socket to the file
//! server on a reactor (request reader, head parser, Host validation,
//! bodies by count and chunked, pipelining, in-flight cap, responses),
//! then the client's half-close.
//!
//! Invariants: nothing panics (a caught panic in the loop or a handler
//! aborts); the server always closes the connection after the half-close
//! (no stall, no spin); whatever it sends is HTTP/1.x responses; a file
//! outside the root (reached through a symbolic link) never leaks.
//!
//! Input layout: `[flags, cut count, cuts..., bytes...]`; `flags` bit 0
//! caps responses in flight at 1 (the reader pauses and resumes), bit 1
//! reads the responses only after the whole request was written.
//! Timeouts are off: the half-close ends every connection. Set
//! `FUZZ_HTTP_SHOW=1` to print the responses.
#![no_main]

use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use producers::http::{Server, ServerConfig};
use producers::reactor::{CloseReason, Reactor};

const SECRET: &[u8] = b"top secret, outside the root";

struct Harness {
    reactor: Reactor,
    /// One server per in-flight cap: 1, and the default.
    addrs: [SocketAddr; 2],
}

fn root() -> PathBuf {
    // The same directory for every run: the tree is the same each time.
    let base = std::env::temp_dir().join("producers-fuzz-http");
    let root = base.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(root.join("dir")).unwrap();
    let text: Vec<u8> = (0..40)
        .flat_map(|i| format!("line {i}: the quick brown fox\n").into_bytes())
        .collect();
    std::fs::write(root.join("small.txt"), &text).unwrap();
    std::fs::write(root.join("a.html"), b"<p>a</p>\n").unwrap();
    std::fs::write(root.join("sub/index.html"), b"<h1>sub</h1>\n").unwrap();
    std::fs::write(root.join("dir/a b.txt"), b"a b\n").unwrap();
    std::fs::write(base.join("secret.txt"), SECRET).unwrap();
    let _ = std::os::unix::fs::symlink(base.join("secret.txt"), root.join("leak"));
    root
}

fn harness() -> Harness {
    let root = root();
    let mut reactor = Reactor::new().unwrap();
    reactor.on_panic(|site, msg| {
        eprintln!("panic in the reactor at {site:?}: {msg}");
        std::process::abort();
    });
    reactor.on_close(|_, reason| {
        if let CloseReason::Panicked(msg) = reason {
            eprintln!("a handler panicked: {msg}");
            std::process::abort();
        }
    });
    let addrs = [1, 32].map(|in_flight| {
        let config = ServerConfig::new(&root)
            .max_in_flight(in_flight)
            .header_timeout(None)
            .min_body_rate(None)
            .idle_timeout(None);
        let server = Server::new(config).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        server.listen(&mut reactor, listener).unwrap();
        addr
    });
    Harness { reactor, addrs }
}

thread_local! {
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

/// Reads what the server sent so far; true once it closed.
fn drain(client: &mut TcpStream, out: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 16 << 10];
    loop {
        match client.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // A reset after the server closed with unread input.
            Err(_) => return true,
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let [flags, ncuts, rest @ ..] = input else {
        return;
    };
    let ncuts = usize::from(*ncuts % 8);
    if rest.len() < ncuts {
        return;
    }
    let (cuts, data) = rest.split_at(ncuts);
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) * data.len() / 256)
        .collect();
    at.sort_unstable();
    at.push(data.len());
    let read_late = flags & 2 != 0;

    HARNESS.with(|h| {
        let mut h = h.borrow_mut();
        let h = h.get_or_insert_with(harness);
        let base = h.reactor.channels();
        let mut client = TcpStream::connect(h.addrs[usize::from(flags & 1 == 0)]).unwrap();
        client.set_nodelay(true).unwrap();
        client.set_nonblocking(true).unwrap();
        let mut out = Vec::new();
        let mut closed = false;
        let mut start = 0;
        for end in at {
            let mut piece = &data[start..end];
            start = end;
            // Each write is its own read on the server side.
            while !piece.is_empty() && !closed {
                match client.write(piece) {
                    Ok(n) => piece = &piece[n..],
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    // The server closed (an error answered): the rest is
                    // not read.
                    Err(_) => closed = true,
                }
                h.reactor.turn(Some(Duration::ZERO)).unwrap();
                if !read_late || !piece.is_empty() {
                    closed |= drain(&mut client, &mut out);
                }
            }
            h.reactor.turn(Some(Duration::ZERO)).unwrap();
        }
        let _ = client.shutdown(Shutdown::Write);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !closed {
            h.reactor.turn(Some(Duration::from_millis(1))).unwrap();
            closed = drain(&mut client, &mut out);
            assert!(
                Instant::now() < deadline,
                "the server did not close after the half-close"
            );
        }
        drop(client);
        // The server's side of the connection goes too.
        while h.reactor.channels() > base {
            h.reactor.turn(Some(Duration::from_millis(1))).unwrap();
            assert!(
                Instant::now() < deadline,
                "the connection's channel stays open"
            );
        }
        if std::env::var_os("FUZZ_HTTP_SHOW").is_some() {
            eprintln!("{}", String::from_utf8_lossy(&out));
        }
        if !out.is_empty() {
            assert!(
                out.starts_with(b"HTTP/1."),
                "not a response: {:?}",
                String::from_utf8_lossy(&out)
            );
        }
        assert!(
            !out.windows(SECRET.len()).any(|w| w == SECRET),
            "a file outside the root leaked"
        );
    });
});
