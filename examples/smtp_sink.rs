// An SMTP server that stores every message it accepts in a Maildir: the
// crate's reactor, one raw consumer per connection on its consumer FIFO,
// DATA un-stuffed by the crate's `DotUnstuffer`.
//
//     cargo run --example smtp_sink -- --addr 127.0.0.1:2525 --maildir /tmp/mail
//     cargo run --example smtp_sink -- --maildir /tmp/mail --exit-after 5   # 127.0.0.1:0
//
// Options: `--max-size BYTES` (message size, default 10 MiB: `SIZE=` over
// it is 552 at MAIL, a longer message 552 at the end of DATA),
// `--max-recipients N` (default 100: 452 beyond). Prints `listening on
// ADDR` once ready; exits after `--exit-after SECONDS` if given.
//
// What it speaks (RFC 5321): EHLO (advertising PIPELINING, SIZE, 8BITMIME),
// HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; 503 for commands out of
// sequence, 500 for unknown commands and lines over 1000 bytes with their
// CRLF (section 4.5.3.1.4), 501 for bad arguments, 555 for unknown MAIL
// or RCPT parameters. Pipelined commands (RFC 2920) are answered in
// order. A message with a text line over 1000 bytes is refused with 500
// at its end (section 4.5.3.1.6); one over the size cap with 552. Each
// message accepted is written to DIR/tmp/NAME, synced, then renamed into
// DIR/new/NAME (a unique NAME): exactly the data received, un-stuffed,
// with no header added.

use std::fs::{self, File};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use producers::codec::dotstuff::{DotUnstuffer, Unstuffed};
use producers::consume::{ConsumeError, Consumer, Control, Eof, Framing};
use producers::reactor::{ChannelCtx, Handler, Outbox, Reactor, bind_reuseport};

/// The longest command line, CRLF included (RFC 5321 section 4.5.3.1.4);
/// also the longest text line of a message (section 4.5.3.1.6).
const MAX_LINE: usize = 1000;
const HOST: &str = "smtp-sink.localhost";

#[derive(Debug, Clone)]
struct Limits {
    max_size: u64,
    max_recipients: usize,
}

/// The Maildir messages go to, and a counter for unique names.
#[derive(Debug)]
struct Maildir {
    dir: PathBuf,
    next: AtomicU64,
}

impl Maildir {
    fn create(dir: &Path) -> io::Result<Maildir> {
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        Ok(Maildir {
            dir: dir.to_owned(),
            next: AtomicU64::new(0),
        })
    }

    /// A new file in `tmp/` with a name unique to this process: time,
    /// pid and a counter (the Maildir convention `time.unique.host`).
    fn begin(&self) -> io::Result<(File, String)> {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let name = format!(
            "{}.M{}P{}Q{}.{HOST}",
            t.as_secs(),
            t.subsec_micros(),
            std::process::id(),
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let f = File::options()
            .write(true)
            .create_new(true)
            .open(self.dir.join("tmp").join(&name))?;
        Ok((f, name))
    }

    fn deliver(&self, name: &str) -> io::Result<()> {
        fs::rename(
            self.dir.join("tmp").join(name),
            self.dir.join("new").join(name),
        )
    }

    fn discard(&self, name: &str) {
        let _ = fs::remove_file(self.dir.join("tmp").join(name));
    }
}

/// Where the session is: named after what it expects next.
enum State {
    /// A command line.
    Command,
    /// The rest of a command line over [`MAX_LINE`], dropped up to its LF;
    /// then 500.
    LongLine,
    /// Message data, up to the end-of-data line.
    Data(Box<Message>),
    /// QUIT was answered: the rest is ignored.
    Quit,
}

/// A message being received.
struct Message {
    unstuffer: DotUnstuffer,
    /// The file in `tmp/` and its name; `None` once the message is
    /// refused (too big, a long line) or could not be written.
    file: Option<(File, String)>,
    size: u64,
    /// Bytes of the current text line so far (un-stuffed).
    line: usize,
    /// Why it will be refused at its end, if it will.
    refusal: Option<&'static str>,
}

/// The mail transaction (RFC 5321 section 3.3).
#[derive(Default)]
struct Transaction {
    /// HELO or EHLO was answered.
    greeted: bool,
    /// The reverse path of MAIL, once accepted.
    from: Option<String>,
    to: Vec<String>,
}

struct Session {
    out: Outbox,
    maildir: Arc<Maildir>,
    limits: Limits,
    state: State,
    tx: Transaction,
}

impl Session {
    fn reply(&self, text: &str) -> Result<(), ConsumeError> {
        self.out.push(Bytes::from(format!("{text}\r\n")))?;
        Ok(())
    }

    /// One command line, without its CRLF.
    fn command(&mut self, line: &[u8]) -> Result<(), ConsumeError> {
        let Ok(line) = std::str::from_utf8(line) else {
            return self.reply("500 5.5.2 command line is not utf-8");
        };
        let (verb, arg) = match line.find(' ') {
            Some(i) => (&line[..i], line[i + 1..].trim_end()),
            None => (line, ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" | "HELO" if arg.is_empty() || arg.contains(' ') => {
                self.reply("501 5.5.4 a domain or address literal is needed")
            }
            "EHLO" => {
                self.tx = Transaction {
                    greeted: true,
                    ..Transaction::default()
                };
                self.reply(&format!(
                    "250-{HOST} greets {arg}\r\n250-PIPELINING\r\n250-SIZE {}\r\n250 8BITMIME",
                    self.limits.max_size
                ))
            }
            "HELO" => {
                self.tx = Transaction {
                    greeted: true,
                    ..Transaction::default()
                };
                self.reply(&format!("250 {HOST}"))
            }
            "MAIL" => self.mail(arg),
            "RCPT" => self.rcpt(arg),
            "DATA" if !arg.is_empty() => self.reply("501 5.5.4 DATA takes no argument"),
            "DATA" if self.tx.from.is_none() => self.reply("503 5.5.1 MAIL first"),
            "DATA" if self.tx.to.is_empty() => self.reply("503 5.5.1 RCPT first"),
            "DATA" => {
                let file = match self.maildir.begin() {
                    Ok(f) => Some(f),
                    Err(e) => {
                        eprintln!("smtp_sink: {e}");
                        return self.reply("451 4.3.0 cannot store the message");
                    }
                };
                self.state = State::Data(Box::new(Message {
                    unstuffer: DotUnstuffer::new(),
                    file,
                    size: 0,
                    line: 0,
                    refusal: None,
                }));
                self.reply("354 end data with <CR><LF>.<CR><LF>")
            }
            "RSET" if !arg.is_empty() => self.reply("501 5.5.4 RSET takes no argument"),
            "RSET" => {
                self.tx.from = None;
                self.tx.to.clear();
                self.reply("250 2.0.0 reset")
            }
            "NOOP" => self.reply("250 2.0.0 ok"),
            "QUIT" => {
                self.state = State::Quit;
                self.reply(&format!("221 2.0.0 {HOST} closing"))?;
                self.out.close_when_done()?;
                Ok(())
            }
            "" => self.reply("500 5.5.2 empty command"),
            _ => self.reply("500 5.5.1 command unrecognized"),
        }
    }

    fn mail(&mut self, arg: &str) -> Result<(), ConsumeError> {
        if !self.tx.greeted {
            return self.reply("503 5.5.1 HELO or EHLO first");
        }
        if self.tx.from.is_some() {
            return self.reply("503 5.5.1 a transaction is under way (RSET first)");
        }
        let Some((path, params)) = parse_path(arg, "FROM:") else {
            return self.reply("501 5.5.4 syntax: MAIL FROM:<address> [parameters]");
        };
        for p in params.split(' ').filter(|p| !p.is_empty()) {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            match k.to_ascii_uppercase().as_str() {
                "SIZE" => match v.parse::<u64>() {
                    Ok(n) if n > self.limits.max_size => {
                        return self.reply("552 5.3.4 message size exceeds fixed maximum");
                    }
                    Ok(_) => {}
                    Err(_) => return self.reply("501 5.5.4 bad SIZE value"),
                },
                "BODY" if v.eq_ignore_ascii_case("8BITMIME") || v.eq_ignore_ascii_case("7BIT") => {}
                _ => return self.reply("555 5.5.4 unrecognized MAIL parameter"),
            }
        }
        self.tx.from = Some(path.to_owned());
        self.reply("250 2.1.0 sender ok")
    }

    fn rcpt(&mut self, arg: &str) -> Result<(), ConsumeError> {
        if self.tx.from.is_none() {
            return self.reply("503 5.5.1 MAIL first");
        }
        let Some((path, params)) = parse_path(arg, "TO:") else {
            return self.reply("501 5.5.4 syntax: RCPT TO:<address>");
        };
        if path.is_empty() {
            return self.reply("501 5.1.3 a recipient is needed");
        }
        if !params.trim().is_empty() {
            return self.reply("555 5.5.4 unrecognized RCPT parameter");
        }
        if self.tx.to.len() >= self.limits.max_recipients {
            return self.reply("452 4.5.3 too many recipients");
        }
        self.tx.to.push(path.to_owned());
        self.reply("250 2.1.5 recipient ok")
    }

    /// Message data from the front of `buf`; `true` at its end.
    fn data(&mut self, buf: &mut BytesMut) -> Result<bool, ConsumeError> {
        let State::Data(m) = &mut self.state else {
            unreachable!("data outside DATA")
        };
        loop {
            let piece = match m.unstuffer.decode(buf) {
                Ok(Unstuffed::Data(d)) => d,
                Ok(Unstuffed::NeedMore) => return Ok(false),
                Ok(Unstuffed::End) => break,
                Err(e) => return Err(io::Error::from(e).into()),
            };
            m.size += piece.len() as u64;
            // The longest text line, measured on the un-stuffed data.
            let mut rest = &piece[..];
            while !rest.is_empty() {
                match memchr::memchr(b'\n', rest) {
                    Some(i) => {
                        m.line += i + 1;
                        if m.line > MAX_LINE {
                            m.refusal.get_or_insert("500 5.5.6 line too long");
                        }
                        m.line = 0;
                        rest = &rest[i + 1..];
                    }
                    None => {
                        m.line += rest.len();
                        rest = &[];
                    }
                }
            }
            if m.line > MAX_LINE {
                m.refusal.get_or_insert("500 5.5.6 line too long");
            }
            if m.size > self.limits.max_size {
                m.refusal
                    .get_or_insert("552 5.3.4 message size exceeds fixed maximum");
            }
            if m.refusal.is_some() {
                // Keep reading to the end, storing nothing more.
                if let Some((_, name)) = m.file.take() {
                    self.maildir.discard(&name);
                }
                continue;
            }
            if let Some((f, name)) = &mut m.file
                && let Err(e) = f.write_all(&piece)
            {
                eprintln!("smtp_sink: {e}");
                self.maildir.discard(name);
                m.file = None;
                m.refusal = Some("451 4.3.0 cannot store the message");
            }
        }
        let State::Data(m) = std::mem::replace(&mut self.state, State::Command) else {
            unreachable!()
        };
        let reply = match (m.refusal, m.file) {
            (Some(r), _) => r.to_owned(),
            (None, Some((f, name))) => {
                match f.sync_all().and_then(|()| self.maildir.deliver(&name)) {
                    Ok(()) => format!("250 2.0.0 ok: queued as {name}"),
                    Err(e) => {
                        eprintln!("smtp_sink: {e}");
                        self.maildir.discard(&name);
                        "451 4.3.0 cannot store the message".to_owned()
                    }
                }
            }
            (None, None) => "451 4.3.0 cannot store the message".to_owned(),
        };
        self.tx.from = None;
        self.tx.to.clear();
        self.reply(&reply)?;
        Ok(true)
    }
}

/// `FROM:<path> params` (or `TO:`), the keyword case-insensitive, a space
/// after the colon tolerated: the path inside the brackets and the rest.
fn parse_path<'a>(arg: &'a str, keyword: &str) -> Option<(&'a str, &'a str)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start_matches(' ');
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    let path = &rest[..end];
    if path.contains(['<', ' ']) {
        return None;
    }
    let params = &rest[end + 1..];
    if !params.is_empty() && !params.starts_with(' ') {
        return None;
    }
    Some((path, params))
}

impl Consumer for Session {
    fn framing(&self) -> Framing {
        Framing::Raw
    }

    fn on_raw(&mut self, buf: &mut BytesMut, _ctl: &mut Control) -> Result<(), ConsumeError> {
        loop {
            match self.state {
                State::Quit => {
                    buf.clear();
                    return Ok(());
                }
                State::Data(_) => {
                    if !self.data(buf)? {
                        return Ok(());
                    }
                }
                State::LongLine => match memchr::memchr(b'\n', buf) {
                    Some(i) => {
                        let _ = buf.split_to(i + 1);
                        self.state = State::Command;
                        self.reply("500 5.5.2 line too long")?;
                    }
                    None => {
                        buf.clear();
                        return Ok(());
                    }
                },
                State::Command => {
                    let Some(i) = memchr::memchr(b'\n', buf) else {
                        if buf.len() >= MAX_LINE {
                            self.state = State::LongLine;
                            buf.clear();
                        }
                        return Ok(());
                    };
                    let line = buf.split_to(i + 1);
                    if line.len() > MAX_LINE {
                        self.reply("500 5.5.2 line too long")?;
                        continue;
                    }
                    // CRLF ends a command; a bare LF is taken as one too.
                    let line = line.strip_suffix(b"\n").unwrap_or(&line);
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    self.command(line)?;
                }
            }
        }
    }

    fn on_eof(&mut self, _eof: Eof, _ctl: &mut Control) -> Result<(), ConsumeError> {
        // A message cut short by the close is not delivered.
        if let State::Data(m) = &mut self.state
            && let Some((_, name)) = m.file.take()
        {
            self.maildir.discard(&name);
        }
        Ok(())
    }
}

struct Connection {
    maildir: Arc<Maildir>,
    limits: Limits,
}

impl Handler for Connection {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        ctx.set_idle_timeout(Some(Duration::from_secs(300)));
        ctx.push(Bytes::from(format!("220 {HOST} ESMTP smtp_sink\r\n")));
        let out = ctx.outbox();
        ctx.push_consumer(Session {
            out,
            maildir: self.maildir.clone(),
            limits: self.limits.clone(),
            state: State::Command,
            tx: Transaction::default(),
        });
        Ok(())
    }
}

struct Args {
    addr: SocketAddr,
    maildir: PathBuf,
    exit_after: Option<Duration>,
    limits: Limits,
}

fn parse_args() -> Result<Args, String> {
    let mut addr = "127.0.0.1:0".parse().unwrap();
    let mut maildir = None;
    let mut exit_after = None;
    let mut limits = Limits {
        max_size: 10 << 20,
        max_recipients: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().ok_or(format!("{a} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{a}: {e}");
        match a.as_str() {
            "--addr" => addr = v.parse().map_err(|e| bad(&e))?,
            "--maildir" => maildir = Some(PathBuf::from(v)),
            "--exit-after" => {
                let s: f64 = v.parse().map_err(|e| bad(&e))?;
                exit_after = Some(Duration::from_secs_f64(s));
            }
            "--max-size" => limits.max_size = v.parse().map_err(|e| bad(&e))?,
            "--max-recipients" => limits.max_recipients = v.parse().map_err(|e| bad(&e))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let maildir = maildir.ok_or("--maildir is required")?;
    Ok(Args {
        addr,
        maildir,
        exit_after,
        limits,
    })
}

fn main() -> io::Result<()> {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!(
            "smtp_sink: {e}\nusage: smtp_sink --maildir DIR [--addr HOST:PORT] [--exit-after SECONDS] [--max-size BYTES] [--max-recipients N]"
        );
        std::process::exit(2)
    });
    let maildir = Arc::new(Maildir::create(&args.maildir)?);
    let listener = bind_reuseport(args.addr, 1024)?;
    let addr = listener.local_addr()?;
    let mut reactor = Reactor::new()?;
    let limits = args.limits;
    reactor.listen(listener, move |_peer| {
        Some(Connection {
            maildir: maildir.clone(),
            limits: limits.clone(),
        })
    })?;
    if let Some(d) = args.exit_after {
        let h = reactor.handle();
        std::thread::spawn(move || {
            std::thread::sleep(d);
            h.shutdown(Duration::from_secs(1));
        });
    }
    println!("listening on {addr}");
    io::stdout().flush()?;
    reactor.run()
}
