// Sends one message over SMTP: blocking std I/O, replies parsed by a
// consumer on the crate's consumer FIFO and matched to commands in order,
// the message dot-stuffed by the crate's `DotStuffed` producer.
//
//     cargo run --example smtp_send -- --server 127.0.0.1:2525 \
//         --from me@example.org --to you@example.org,them@example.org message.eml
//
// FILE is sent as it is (its lines should end in CRLF: RFC 5321 section
// 2.3.8), dot-stuffed, then closed with the end-of-data line. When the
// server advertises PIPELINING (RFC 2920), MAIL, every RCPT and DATA go in
// one write and their replies are read after; otherwise one command at a
// time. Exits 0 once the server answers 250 to the end of the data
// (recipients it refused are named on standard error); otherwise exits 1
// and prints the server's reply that failed (a refused sender, every
// recipient refused, the data refused, a malformed reply). Gives up after
// `--timeout SECONDS` (default 30) without a reply.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use producers::consume::{ConsumeError, Consumer, Control, Framing};
use producers::produce::FileProducer;
use producers::{ConsumerFifo, ProducerExt};

/// The longest reply line taken, CRLF excluded (RFC 5321 section
/// 4.5.3.1.5 says 512 with it; some servers say more).
const MAX_REPLY_LINE: usize = 2048;
/// The most lines of one multi-line reply taken.
const MAX_REPLY_LINES: usize = 100;

/// One server reply: its code and its text lines.
#[derive(Debug, Clone)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn is(&self, class: u16) -> bool {
        self.code / 100 == class
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, l) in self.lines.iter().enumerate() {
            let sep = if i + 1 == self.lines.len() { ' ' } else { '-' };
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}{sep}{l}", self.code)?;
        }
        Ok(())
    }
}

type Replies = Arc<Mutex<VecDeque<Reply>>>;

/// Reply lines (RFC 5321 section 4.2): `CODE-text` continues a reply,
/// `CODE text` or `CODE` ends it; every line of a reply has the same code,
/// whose digits are in range. Anything else fails the FIFO.
struct ReplyParser {
    replies: Replies,
    /// The lines of a multi-line reply so far.
    partial: Option<Reply>,
}

fn malformed(ctl: &Control, reason: &'static str) -> ConsumeError {
    ConsumeError::Invalid {
        offset: ctl.offset(),
        reason,
    }
}

impl Consumer for ReplyParser {
    fn framing(&self) -> Framing {
        Framing::whole(&b"\r\n"[..]).max(MAX_REPLY_LINE)
    }

    fn on_whole(&mut self, line: Bytes, ctl: &mut Control) -> Result<(), ConsumeError> {
        let d = |i: usize| line.get(i).copied().filter(u8::is_ascii_digit);
        let (Some(a), Some(b), Some(c)) = (d(0), d(1), d(2)) else {
            return Err(malformed(ctl, "a reply line must start with three digits"));
        };
        if !(b'2'..=b'5').contains(&a) || b > b'5' {
            return Err(malformed(ctl, "reply code out of range"));
        }
        let code = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
        let (last, text) = match line.get(3) {
            None => (true, &b""[..]),
            Some(b' ') => (true, &line[4..]),
            Some(b'-') => (false, &line[4..]),
            Some(_) => {
                return Err(malformed(
                    ctl,
                    "a reply code must be followed by ' ' or '-'",
                ));
            }
        };
        let text = String::from_utf8_lossy(text).into_owned();
        let mut reply = match self.partial.take() {
            Some(r) if r.code != code => {
                return Err(malformed(ctl, "a multi-line reply changed its code"));
            }
            Some(r) if r.lines.len() >= MAX_REPLY_LINES => {
                return Err(malformed(ctl, "too many lines in one reply"));
            }
            Some(r) => r,
            None => Reply {
                code,
                lines: Vec::new(),
            },
        };
        reply.lines.push(text);
        if last {
            self.replies.lock().unwrap().push_back(reply);
        } else {
            self.partial = Some(reply);
        }
        Ok(())
    }
}

/// The connection: the socket, and the consumer FIFO its input goes
/// through.
struct Client {
    sock: TcpStream,
    input: ConsumerFifo,
    replies: Replies,
}

impl Client {
    fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Client> {
        let sock = TcpStream::connect_timeout(&addr, timeout)?;
        sock.set_read_timeout(Some(timeout))?;
        sock.set_write_timeout(Some(timeout))?;
        sock.set_nodelay(true)?;
        let replies = Replies::default();
        let mut input = ConsumerFifo::new();
        input.push(ReplyParser {
            replies: replies.clone(),
            partial: None,
        });
        Ok(Client {
            sock,
            input,
            replies,
        })
    }

    /// The next reply, reading as needed.
    fn reply(&mut self) -> io::Result<Reply> {
        loop {
            if let Some(r) = self.replies.lock().unwrap().pop_front() {
                return Ok(r);
            }
            let n = self.input.read_from(&mut self.sock)?;
            if n == 0 {
                self.input.eof().map_err(io::Error::from)?;
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
            self.input.process().map_err(io::Error::from)?;
        }
    }

    fn send(&mut self, text: &str) -> io::Result<()> {
        self.sock.write_all(text.as_bytes())
    }
}

/// What went wrong: the server's reply, or an I/O failure.
enum Failure {
    Refused(&'static str, Reply),
    Io(io::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Io(e)
    }
}

fn expect(what: &'static str, r: Reply, class: u16) -> Result<Reply, Failure> {
    if r.is(class) {
        Ok(r)
    } else {
        Err(Failure::Refused(what, r))
    }
}

struct Args {
    server: SocketAddr,
    from: String,
    to: Vec<String>,
    file: PathBuf,
    timeout: Duration,
}

fn send(args: &Args) -> Result<Reply, Failure> {
    let mut c = Client::connect(args.server, args.timeout)?;
    expect("greeting", c.reply()?, 2)?;
    c.send("EHLO smtp-send.localhost\r\n")?;
    let ehlo = c.reply()?;
    let pipelining = if ehlo.is(2) {
        // The first line is the greeting; the others are extensions.
        ehlo.lines.iter().skip(1).any(|l| {
            l.split(' ')
                .next()
                .unwrap_or("")
                .eq_ignore_ascii_case("PIPELINING")
        })
    } else {
        // An old server: HELO, no extensions.
        c.send("HELO smtp-send.localhost\r\n")?;
        expect("HELO", c.reply()?, 2)?;
        false
    };
    let commands: Vec<String> = std::iter::once(format!("MAIL FROM:<{}>\r\n", args.from))
        .chain(args.to.iter().map(|t| format!("RCPT TO:<{t}>\r\n")))
        .chain(std::iter::once("DATA\r\n".to_owned()))
        .collect();
    // The replies, in the order of the commands (RFC 2920 section 3.1).
    let replies: Vec<Reply> = if pipelining {
        c.send(&commands.concat())?;
        (0..commands.len())
            .map(|_| c.reply())
            .collect::<io::Result<_>>()?
    } else {
        let mut replies = Vec::new();
        for cmd in &commands {
            c.send(cmd)?;
            let r = c.reply()?;
            let stop = replies.is_empty() && !r.is(2);
            replies.push(r);
            if stop {
                // MAIL refused: no transaction to go on with.
                break;
            }
        }
        replies
    };
    let mut replies = replies.into_iter();
    let mail = replies.next().expect("a reply to MAIL");
    let mut accepted = 0;
    let mut last_refusal = None;
    for (to, r) in args.to.iter().zip(replies.by_ref()) {
        if r.is(2) {
            accepted += 1;
        } else {
            eprintln!("smtp_send: recipient {to} refused: {r}");
            last_refusal = Some(r);
        }
    }
    let data = replies.next();
    if !mail.is(2) {
        let _ = c.send("QUIT\r\n");
        return Err(Failure::Refused("MAIL", mail));
    }
    match data {
        Some(r) if r.code == 354 && accepted == 0 => {
            // Pipelined DATA accepted with no recipient: end it empty
            // (RFC 2920 section 3.1), then report the refusals.
            c.send(".\r\n")?;
            let _ = c.reply();
            let _ = c.send("QUIT\r\n");
            Err(Failure::Refused("RCPT", last_refusal.unwrap_or(r)))
        }
        _ if accepted == 0 => {
            let _ = c.send("QUIT\r\n");
            let r = last_refusal.expect("a refusal per recipient");
            Err(Failure::Refused("RCPT", r))
        }
        None => Err(Failure::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "no reply to DATA",
        ))),
        Some(r) if r.code != 354 => {
            let _ = c.send("QUIT\r\n");
            Err(Failure::Refused("DATA", r))
        }
        Some(_) => {
            // The message, stuffed and terminated, pulled straight into
            // the socket.
            let body = FileProducer::open(&args.file)?
                .until_eof()
                .dot_stuffed()
                .terminated(true);
            producers::io::copy(body, &mut c.sock)?;
            let done = expect("the message", c.reply()?, 2)?;
            c.send("QUIT\r\n")?;
            let _ = c.reply();
            Ok(done)
        }
    }
}

fn parse_args() -> Result<Args, String> {
    let mut server = None;
    let mut from = None;
    let mut to = Vec::new();
    let mut file = None;
    let mut timeout = Duration::from_secs(30);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--server" => server = Some(value()?.parse().map_err(|e| format!("--server: {e}"))?),
            "--from" => from = Some(value()?),
            "--to" => to.extend(
                value()?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            ),
            "--timeout" => {
                let s: f64 = value()?.parse().map_err(|e| format!("--timeout: {e}"))?;
                timeout = Duration::from_secs_f64(s);
            }
            f if !f.starts_with("--") && file.is_none() => file = Some(PathBuf::from(f)),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let bad = |s: &str| s.contains(['<', '>', '\r', '\n', ' ']);
    let from = from.ok_or("--from is required")?;
    if bad(&from) || to.iter().any(|t| bad(t)) {
        return Err("addresses must not contain <, >, spaces or line breaks".into());
    }
    if to.is_empty() {
        return Err("--to is required".into());
    }
    Ok(Args {
        server: server.ok_or("--server is required")?,
        from,
        to,
        file: file.ok_or("FILE is required")?,
        timeout,
    })
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!(
            "smtp_send: {e}\nusage: smtp_send --server HOST:PORT --from ADDR --to ADDR[,ADDR...] [--timeout SECONDS] FILE"
        );
        std::process::exit(2)
    });
    match send(&args) {
        Ok(r) => println!("sent: {r}"),
        Err(Failure::Refused(what, r)) => {
            eprintln!("smtp_send: {what} refused:\n{r}");
            std::process::exit(1);
        }
        Err(Failure::Io(e)) => {
            eprintln!("smtp_send: {e}");
            std::process::exit(1);
        }
    }
}
