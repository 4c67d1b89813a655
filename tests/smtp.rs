//! SMTP both ways against real peers, the examples run as processes on
//! 127.0.0.1: `smtp_sink` with Python's `smtplib` (a real client) and raw
//! pipelined commands; `smtp_send` against Python's `aiosmtpd` (a real
//! server, installed by `scripts/python-deps.sh`) and against `smtp_sink`.
#![cfg(feature = "reactor")]

mod util;
use util::example;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A server process, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` and reads its `listening on ADDR` line.
#[track_caller]
fn start(mut cmd: Command) -> Server {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("expected `listening on ADDR`, got {line:?}"))
        .parse()
        .unwrap();
    Server { child, addr }
}

fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "producers-smtp-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `smtp_sink` on 127.0.0.1:0 storing into `maildir`, with extra args.
fn sink(maildir: &Path, extra: &[&str]) -> Server {
    let mut cmd = Command::new(example("smtp_sink"));
    cmd.arg("--maildir")
        .arg(maildir)
        .args(["--exit-after", "60"])
        .args(extra);
    start(cmd)
}

/// The messages in `maildir/new`, sorted by name (the names count up).
fn delivered(maildir: &Path) -> Vec<Vec<u8>> {
    let mut names: Vec<_> = std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort_by_key(|p| {
        // …Q<counter>.host: order by the counter.
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        let q = n.rsplit_once('Q').unwrap().1;
        q.split('.').next().unwrap().parse::<u64>().unwrap()
    });
    assert_eq!(
        std::fs::read_dir(maildir.join("tmp")).unwrap().count(),
        0,
        "nothing is left in tmp/"
    );
    names.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[track_caller]
fn python(script: &str, args: &[&str]) -> Output {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Messages with lines that start with dots (one is only a dot), a
/// message without a final CRLF, an 8-bit one: smtplib stuffs them, the
/// sink stores them un-stuffed, byte for byte.
const SMTPLIB_SEND: &str = r#"
import smtplib, sys
host, port = sys.argv[1].rsplit(":", 1)
msgs = [
    b"Subject: dots\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\nlast\r\n",
    b"Subject: plain\r\n\r\nhello\r\n",
    "Subject: 8bit\r\n\r\nd\u00e9j\u00e0 vu\r\n".encode(),
]
with smtplib.SMTP(host, int(port)) as s:
    code, ehlo = s.ehlo()
    assert code == 250, (code, ehlo)
    for ext in (b"PIPELINING", b"SIZE", b"8BITMIME"):
        assert ext in ehlo, ehlo
    for m in msgs:
        refused = s.sendmail("from@example.org", ["a@example.org", "b@example.org"], m)
        assert refused == {}, refused
    assert s.noop()[0] == 250
    assert s.rset()[0] == 250
print("ok")
"#;

#[test]
fn smtplib_delivers_to_the_sink_unstuffed() {
    let md = temp_dir("smtplib");
    let server = sink(&md, &[]);
    python(SMTPLIB_SEND, &[&server.addr.to_string()]);
    let got = delivered(&md);
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[0],
        b"Subject: dots\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\nlast\r\n"
    );
    assert_eq!(got[1], b"Subject: plain\r\n\r\nhello\r\n");
    assert_eq!(
        got[2],
        "Subject: 8bit\r\n\r\nd\u{e9}j\u{e0} vu\r\n".as_bytes()
    );
    std::fs::remove_dir_all(&md).unwrap();
}

/// Each cap and sequencing rule with its reply code, through smtplib.
const SMTPLIB_REFUSALS: &str = r#"
import smtplib, sys
host, port = sys.argv[1].rsplit(":", 1)
s = smtplib.SMTP(host, int(port))
def cmd(line):
    code, _ = s.docmd(line)
    return code
# Before EHLO: MAIL is out of sequence.
s.putcmd("MAIL FROM:<a@x>"); assert s.getreply()[0] == 503
assert cmd("EHLO") == 501              # no domain
s.ehlo()
assert cmd("RCPT TO:<b@x>") == 503     # no MAIL
assert cmd("DATA") == 503              # no MAIL
assert cmd("MAIL FROM:a@x") == 501     # no brackets
assert cmd("MAIL FROM:<a@x> SIZE=6000") == 552   # over --max-size 5000
assert cmd("MAIL FROM:<a@x> SIZE=ten") == 501
assert cmd("MAIL FROM:<a@x> FOO=1") == 555
assert cmd("MAIL FROM:<a@x> SIZE=10 BODY=8BITMIME") == 250
assert cmd("MAIL FROM:<a@x>") == 503   # nested
assert cmd("DATA") == 503              # no RCPT
for i in range(3):
    assert cmd("RCPT TO:<r%d@x>" % i) == 250
assert cmd("RCPT TO:<r3@x>") == 452    # over --max-recipients 3
assert cmd("RCPT TO:<>") == 501
assert cmd("RSET") == 250
assert cmd("X" * 1200) == 500          # a command line over 1000 bytes
assert cmd("NOOP") == 250              # and the session goes on
assert cmd("BOGUS") == 500
# Too big, announced: smtplib sends SIZE=, refused at MAIL.
try:
    s.sendmail("a@x", ["b@x"], b"x" * 6000)
    raise SystemExit("a message over the size cap was accepted")
except smtplib.SMTPSenderRefused as e:
    assert e.smtp_code == 552, e
# Too big, not announced: refused at the end of the data.
assert cmd("MAIL FROM:<a@x>") == 250
assert cmd("RCPT TO:<b@x>") == 250
assert cmd("DATA") == 354
s.send(b"".join(b"x" * 98 + b"\r\n" for _ in range(60)) + b".\r\n")
assert s.getreply()[0] == 552
# A text line over 1000 bytes: 500 at the end of the data.
try:
    s.sendmail("a@x", ["b@x"], b"y" * 999 + b"\r\n")
    raise SystemExit("an over-long line was accepted")
except smtplib.SMTPDataError as e:
    assert e.smtp_code == 500, e
# A line of 998 bytes and its CRLF is the longest allowed; stored.
assert s.sendmail("a@x", ["b@x"], b"z" * 998 + b"\r\n") == {}
assert s.quit()[0] == 221
print("ok")
"#;

#[test]
fn smtplib_gets_the_right_refusals() {
    let md = temp_dir("refusals");
    let server = sink(&md, &["--max-size", "5000", "--max-recipients", "3"]);
    python(SMTPLIB_REFUSALS, &[&server.addr.to_string()]);
    // Only the last message was stored.
    let got = delivered(&md);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0], [&[b'z'; 998][..], b"\r\n"].concat());
    std::fs::remove_dir_all(&md).unwrap();
}

/// Reads until `n` complete replies (their last lines) have arrived.
fn read_replies(s: &mut TcpStream, n: usize) -> Vec<String> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&raw).into_owned();
        let last: Vec<String> = text
            .split_terminator("\r\n")
            .filter(|l| l.as_bytes().get(3) != Some(&b'-'))
            .map(str::to_owned)
            .collect();
        if last.len() >= n && text.ends_with("\r\n") {
            return last;
        }
        let k = s.read(&mut buf).expect("read replies");
        assert!(k > 0, "closed early after {text:?}");
        raw.extend_from_slice(&buf[..k]);
    }
}

#[test]
fn raw_pipelined_commands_are_answered_in_order() {
    let md = temp_dir("pipelined");
    let server = sink(&md, &["--max-recipients", "2"]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert!(read_replies(&mut s, 1)[0].starts_with("220 "));
    // Everything in one write (RFC 2920): two transactions, a refused
    // recipient and a bad command between them, then QUIT.
    s.write_all(
        b"EHLO client.example\r\n\
          MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@x>\r\nRCPT TO:<d@x>\r\nDATA\r\n\
          ..stuffed\r\nbody one\r\n.\r\n\
          NOPE\r\n\
          MAIL FROM:<>\r\nRCPT TO:<e@x>\r\nDATA\r\nbody two\r\n.\r\n\
          QUIT\r\n",
    )
    .unwrap();
    let replies = read_replies(&mut s, 13);
    let codes: Vec<&str> = replies.iter().map(|r| &r[..3]).collect();
    assert_eq!(
        codes,
        [
            "250", "250", "250", "250", "452", "354", "250", "500", "250", "250", "354", "250",
            "221"
        ],
        "{replies:?}"
    );
    let mut end = Vec::new();
    s.read_to_end(&mut end).unwrap();
    assert!(end.is_empty(), "the sink closes after QUIT");
    assert_eq!(
        delivered(&md),
        [
            b".stuffed\r\nbody one\r\n".to_vec(),
            b"body two\r\n".to_vec()
        ]
    );
    std::fs::remove_dir_all(&md).unwrap();
}

#[test]
fn sink_splits_nothing_when_bytes_come_one_at_a_time() {
    let md = temp_dir("bytewise");
    let server = sink(&md, &[]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    read_replies(&mut s, 1);
    let script =
        b"HELO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n.a\r\n..\r\n\r\n.\r\nQUIT\r\n";
    for b in script {
        s.write_all(&[*b]).unwrap();
    }
    let codes: Vec<String> = read_replies(&mut s, 6)
        .iter()
        .map(|r| r[..3].to_owned())
        .collect();
    assert_eq!(codes, ["250", "250", "250", "354", "250", "221"]);
    assert_eq!(delivered(&md), [b"a\r\n.\r\n\r\n".to_vec()]);
    std::fs::remove_dir_all(&md).unwrap();
}

/// Runs `smtp_send` to `server`.
fn smtp_send(server: SocketAddr, to: &str, file: &Path) -> Output {
    Command::new(example("smtp_send"))
        .args(["--server", &server.to_string(), "--from", "me@example.org"])
        .args(["--to", to, "--timeout", "20"])
        .arg(file)
        .output()
        .expect("run smtp_send")
}

/// A message that needs stuffing: lines that start with dots, one of
/// them a lone dot, and one the end-of-data line would look like.
const DOTTY: &[u8] =
    b"Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\nmiddle . dot\r\n\r\n.\r\nend\r\n";

#[test]
fn smtp_send_to_the_sink_pipelined_byte_exact() {
    let md = temp_dir("send-sink");
    let server = sink(&md, &["--max-recipients", "2"]);
    let dir = temp_dir("send-sink-msg");
    let msg = dir.join("msg.eml");
    std::fs::write(&msg, DOTTY).unwrap();
    let out = smtp_send(server.addr, "a@x,b@x", &msg);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sent: 250"));
    // A third recipient is refused (452); the message still goes.
    let out = smtp_send(server.addr, "a@x,b@x,c@x", &msg);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("452"),
        "{out:?}"
    );
    // A large message, past the socket buffers.
    let big: Vec<u8> = (0..20_000)
        .flat_map(|i| format!(".line {i} of a large message\r\n").into_bytes())
        .collect();
    std::fs::write(dir.join("big.eml"), &big).unwrap();
    let out = smtp_send(server.addr, "a@x", &dir.join("big.eml"));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(delivered(&md), [DOTTY.to_vec(), DOTTY.to_vec(), big]);
    std::fs::remove_dir_all(&md).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn smtp_send_fails_with_the_servers_reply() {
    let md = temp_dir("send-fail");
    let server = sink(&md, &["--max-size", "100"]);
    let dir = temp_dir("send-fail-msg");
    std::fs::write(
        dir.join("big.eml"),
        vec![vec![b'x'; 50]; 4].join(&b"\r\n"[..]),
    )
    .unwrap();
    let out = smtp_send(server.addr, "a@x", &dir.join("big.eml"));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("552"), "{err}");
    // No recipient at all: a usage error, nothing sent.
    let out = smtp_send(server.addr, ",", &dir.join("big.eml"));
    assert_eq!(out.status.code(), Some(2), "usage error: {out:?}");
    assert!(delivered(&md).is_empty());
    std::fs::remove_dir_all(&md).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An aiosmtpd server on 127.0.0.1:0 that refuses recipients starting
/// with `bad` (550) and writes each message it accepts, as aiosmtpd
/// un-stuffed it, to OUT/N.eml with the envelope in OUT/N.env.
const AIOSMTPD: &str = r#"
import asyncio, os, sys
from aiosmtpd.smtp import SMTP
out = sys.argv[1]
count = 0
class Handler:
    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.startswith("bad"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"
    async def handle_DATA(self, server, session, envelope):
        global count
        count += 1
        with open(os.path.join(out, "%d.eml" % count), "wb") as f:
            f.write(envelope.original_content)
        with open(os.path.join(out, "%d.env" % count), "w") as f:
            f.write(envelope.mail_from + " " + ",".join(envelope.rcpt_tos))
        return "250 Message accepted for delivery"
async def main():
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(lambda: SMTP(Handler()), "127.0.0.1", 0)
    print("listening on %s:%d" % srv.sockets[0].getsockname()[:2], flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"#;

#[track_caller]
fn aiosmtpd(out: &Path) -> Server {
    let have = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .expect("python3");
    assert!(
        have.success(),
        "Python's aiosmtpd is missing: run scripts/python-deps.sh (pip install aiosmtpd)"
    );
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(AIOSMTPD).arg(out);
    start(cmd)
}

#[test]
fn smtp_send_to_aiosmtpd() {
    let out = temp_dir("aiosmtpd-out");
    let server = aiosmtpd(&out);
    let dir = temp_dir("aiosmtpd-msg");
    let msg = dir.join("msg.eml");
    std::fs::write(&msg, DOTTY).unwrap();

    // aiosmtpd does not advertise PIPELINING: one command at a time.
    let r = smtp_send(
        server.addr,
        "a@example.org,bad@example.org,b@example.org",
        &msg,
    );
    assert!(r.status.success(), "{r:?}");
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("bad@example.org refused: 550"), "{err}");
    assert_eq!(std::fs::read(out.join("1.eml")).unwrap(), DOTTY);
    assert_eq!(
        std::fs::read_to_string(out.join("1.env")).unwrap(),
        "me@example.org a@example.org,b@example.org"
    );

    // Every recipient refused: exit 1 with the server's reply.
    let r = smtp_send(server.addr, "bad1@x,bad2@x", &msg);
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("RCPT refused:\n550 5.1.1 no such user here"),
        "{err}"
    );
    assert!(!out.join("2.eml").exists());

    // A message without a final CRLF gets one before the end-of-data line.
    std::fs::write(&msg, b"Subject: x\r\n\r\nno newline").unwrap();
    let r = smtp_send(server.addr, "a@x", &msg);
    assert!(r.status.success(), "{r:?}");
    assert_eq!(
        std::fs::read(out.join("2.eml")).unwrap(),
        b"Subject: x\r\n\r\nno newline\r\n"
    );
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
