// The line-logging proxy from the Medusa tutorial, on the reactor: forwards
// bytes both ways between each client and the upstream server, and prints
// every line with its direction and connection number to standard error.
//
//     cargo run --example echo -- --addr 127.0.0.1:7000 &
//     cargo run --example proxy -- --listen 127.0.0.1:8000 --upstream 127.0.0.1:7000
//     printf 'hello\nworld\n' | nc 127.0.0.1 8000
//
// stderr then shows `#1 -> hello`, `#1 <- hello`, ... Prints `listening on
// ADDR` once ready (binds 127.0.0.1:0 without `--listen`). Exits after
// `--exit-after SECONDS` (a graceful shutdown) if given, or when standard
// input ends if `--stdin` is given; `--quiet` turns the line log off.
//
// Backpressure between the two sides: each side forwards what it reads with
// `Outbox::forward`, which pauses its reading while the other side's queued
// output is above its high watermark and resumes it once that drains to the
// low one. A fast upstream and a client that never reads cost the proxy
// about one high watermark plus one read, not the whole stream.
//
// Ends are passed on as they came: a side that closes cleanly has the other
// side closed when done (every byte still queued for it goes out, then a
// FIN); a side that is reset or fails in any other way has the other side
// aborted (`Outbox::abort`: a reset, queued output dropped), so that a
// client never takes a stream cut off upstream for a complete one (issue
// 11).
//
// `tests/reactor_proxy.rs` includes this file as a module and drives
// `serve` in-process.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use producers::consume::{ConsumeError, Consumer, Control, Eof, Frame, Framing};
use producers::reactor::{ChannelCtx, CloseReason, Handler, ListenerId, Outbox, Reactor};

/// The longest line the log shows whole; longer ones are logged in pieces.
const MAX_LOGGED_LINE: usize = 4096;

/// Forwards every byte to the other side at once (pausing this side while
/// the other is full) and logs complete lines.
struct Forward {
    to: Outbox,
    /// This side, paused by `Outbox::forward`.
    me: Outbox,
    log: bool,
    conn: u64,
    arrow: &'static str,
    /// The start of a line not yet complete, for the log only.
    partial: Vec<u8>,
}

impl Forward {
    fn log(&mut self, data: &[u8]) {
        if !self.log {
            return;
        }
        let mut rest = data;
        let stderr = io::stderr();
        let mut err = stderr.lock();
        while let Some(i) = memchr::memchr(b'\n', rest) {
            self.partial.extend_from_slice(&rest[..i]);
            let line = String::from_utf8_lossy(&self.partial);
            let _ = writeln!(
                err,
                "#{} {} {}",
                self.conn,
                self.arrow,
                line.trim_end_matches('\r')
            );
            self.partial.clear();
            rest = &rest[i + 1..];
        }
        self.partial.extend_from_slice(rest);
        if self.partial.len() > MAX_LOGGED_LINE {
            let line = String::from_utf8_lossy(&self.partial);
            let _ = writeln!(err, "#{} {} {}...", self.conn, self.arrow, line);
            self.partial.clear();
        }
    }
}

impl Consumer for Forward {
    fn framing(&self) -> Framing {
        Framing::Raw
    }

    fn on_frame(&mut self, _: Frame, _: &mut Control) -> Result<(), ConsumeError> {
        unreachable!("a raw consumer gets on_raw")
    }

    fn on_raw(&mut self, buf: &mut BytesMut, _: &mut Control) -> Result<(), ConsumeError> {
        let data: Bytes = buf.split().freeze();
        self.log(&data);
        self.to.forward(data, &self.me)?;
        Ok(())
    }

    fn on_eof(&mut self, _: Eof, _: &mut Control) -> Result<(), ConsumeError> {
        if !self.partial.is_empty() {
            self.log(b"\n");
        }
        Ok(())
    }
}

/// The upstream side of one proxied connection.
struct Upstream {
    client: Outbox,
    conn: u64,
    log: bool,
}

impl Handler for Upstream {
    fn on_connect(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        let me = ctx.outbox();
        ctx.push_consumer(Forward {
            to: self.client.clone(),
            me,
            log: self.log,
            conn: self.conn,
            arrow: "<-",
            partial: Vec::new(),
        });
        Ok(())
    }

    fn on_close(&mut self, reason: &CloseReason) {
        if self.log && !reason.is_clean() {
            eprintln!("#{} upstream: {reason}", self.conn);
        }
        // The client may already be gone (NotConnected): nothing to pass on.
        let _ = pass_on(reason, &self.client);
    }
}

/// Passes one side's close on to the other side: a clean end (everything
/// sent, then FIN) closes it when done, so what was sent still reaches it;
/// anything else — a reset, an error, a timeout, a failed connect, an abort
/// — resets it, so its peer sees a failure and not an end.
fn pass_on(reason: &CloseReason, other: &Outbox) -> io::Result<()> {
    match reason {
        CloseReason::Done => other.close_when_done(),
        _ => other.abort(),
    }
}

/// The client side: connects upstream when it opens.
struct Client {
    upstream: SocketAddr,
    conn: u64,
    log: bool,
    up: Option<Outbox>,
}

impl Handler for Client {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        if self.log {
            eprintln!("#{} open from {}", self.conn, ctx.peer_addr()?);
        }
        let me = ctx.outbox();
        let (conn, log) = (self.conn, self.log);
        let up_id = ctx.reactor().connect(
            self.upstream,
            Upstream {
                client: me.clone(),
                conn,
                log,
            },
        )?;
        let up = ctx.reactor().outbox(up_id).expect("just made");
        ctx.push_consumer(Forward {
            to: up.clone(),
            me,
            log,
            conn,
            arrow: "->",
            partial: Vec::new(),
        });
        self.up = Some(up);
        Ok(())
    }

    fn on_close(&mut self, reason: &CloseReason) {
        if self.log {
            eprintln!("#{} closed: {reason}", self.conn);
        }
        if let Some(up) = &self.up {
            let _ = pass_on(reason, up);
        }
    }
}

/// Proxies every connection accepted on `listener` to `upstream`, logging
/// lines on stderr if `log`.
pub fn serve(
    reactor: &mut Reactor,
    listener: TcpListener,
    upstream: SocketAddr,
    log: bool,
) -> io::Result<ListenerId> {
    let mut conns = 0;
    reactor.listen(listener, move |_peer| {
        conns += 1;
        Some(Client {
            upstream,
            conn: conns,
            log,
            up: None,
        })
    })
}

fn main() -> io::Result<()> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut upstream: Option<SocketAddr> = None;
    let mut exit_after = None;
    let mut stdin = false;
    let mut log = true;
    let mut it = std::env::args().skip(1);
    let usage = |e: String| -> ! {
        eprintln!(
            "proxy: {e}\nusage: proxy [--listen HOST:PORT] --upstream HOST:PORT [--exit-after SECONDS] [--stdin] [--quiet]"
        );
        std::process::exit(2)
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--stdin" => {
                stdin = true;
                continue;
            }
            "--quiet" => {
                log = false;
                continue;
            }
            _ => {}
        }
        let v = it
            .next()
            .unwrap_or_else(|| usage(format!("{a} needs a value")));
        match a.as_str() {
            "--listen" => {
                listen = v
                    .parse()
                    .unwrap_or_else(|e| usage(format!("--listen: {e}")))
            }
            "--upstream" => {
                use std::net::ToSocketAddrs;
                upstream = v
                    .to_socket_addrs()
                    .unwrap_or_else(|e| usage(format!("--upstream: {e}")))
                    .next();
            }
            "--exit-after" => {
                let s: f64 = v
                    .parse()
                    .unwrap_or_else(|e| usage(format!("--exit-after: {e}")));
                exit_after = Some(Duration::from_secs_f64(s));
            }
            other => usage(format!("unknown argument {other}")),
        }
    }
    let upstream = upstream.unwrap_or_else(|| usage("--upstream is required".into()));

    let mut reactor = Reactor::new()?;
    let listener = TcpListener::bind(listen)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    serve(&mut reactor, listener, upstream, log)?;
    if let Some(d) = exit_after {
        let h = reactor.handle();
        std::thread::spawn(move || {
            std::thread::sleep(d);
            h.shutdown(Duration::from_secs(1));
        });
    }
    if stdin {
        let h = reactor.handle();
        std::thread::spawn(move || {
            let _ = io::copy(&mut io::stdin(), &mut io::sink());
            h.shutdown(Duration::from_secs(1));
        });
    }
    reactor.run()
}
