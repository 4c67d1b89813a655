//! Uploads (`ServerConfig::upload`, `http_server --upload`): `POST` of
//! `multipart/form-data` to a directory, by real clients — curl's `-F` and
//! Python's `requests` (or `urllib` with a body written by `email` where
//! `requests` is missing) — and by hand-written requests for what clients
//! will not send: traversal names, bodies over the cap by `Content-Length`
//! and while streaming (chunked), cut-off uploads.
//!
//! curl and python3 must be installed (CI installs them).

#[path = "util/file_server.rs"]
mod file_server;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use producers::http::{Server, ServerConfig};
use producers::reactor::Handle;

struct TestServer {
    addr: SocketAddr,
    handle: Handle,
    thread: Option<JoinHandle<()>>,
    base: PathBuf,
    root: PathBuf,
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

/// A server over an empty root with a directory `up/` in it.
fn start(configure: impl FnOnce(ServerConfig) -> ServerConfig) -> TestServer {
    static N: AtomicUsize = AtomicUsize::new(0);
    let base = std::env::temp_dir().join(format!(
        "producers-http-upload-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let root = base.join("root");
    std::fs::create_dir_all(root.join("up")).unwrap();
    std::fs::write(root.join("file.txt"), b"a file").unwrap();
    let server = Server::new(configure(ServerConfig::new(&root))).unwrap();
    let (addr, handle, thread) = file_server::serve(server);
    TestServer {
        addr,
        handle,
        thread: Some(thread),
        root: root.canonicalize().unwrap(),
        base,
    }
}

fn uploads() -> impl FnOnce(ServerConfig) -> ServerConfig {
    |c| c.upload(true)
}

/// Sends `request` whole, then reads the response until the server closes
/// (requests here say `Connection: close`, or are refused with a close):
/// the status and the body.
#[track_caller]
fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The server may answer and close before taking all of a refused body.
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    parse(&out)
}

#[track_caller]
fn parse(response: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(response);
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no response: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

const BOUNDARY: &str = "----producers-test-boundary";

/// A `multipart/form-data` body with one file part per `(name, data)`.
fn form(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, data) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// A request posting `body` to `target` with `Content-Length`.
fn post(target: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// Every entry of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn no_temp_files(dir: &Path) -> bool {
    entries(dir).iter().all(|n| !n.starts_with(".upload-"))
}

#[track_caller]
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("this test needs curl (CI installs it): {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap_or(0), body.to_string())
}

#[test]
fn curl_uploads_one_file_and_several_with_a_text_field_ignored() {
    let t = start(uploads());
    let src = t.base.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let one: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(src.join("one.bin"), &one).unwrap();
    std::fs::write(src.join("two.txt"), b"two\r\n--not a boundary\r\n").unwrap();
    std::fs::write(src.join("empty"), b"").unwrap();
    let url = format!("http://{}/up/", t.addr);
    let (code, body) = curl(&[
        "-F",
        &format!("file=@{}", src.join("one.bin").display()),
        &url,
    ]);
    assert_eq!((code, body.as_str()), (201, "one.bin\n"));
    assert_eq!(std::fs::read(t.root.join("up/one.bin")).unwrap(), one);

    // Several files and a text field, to the directory without its slash.
    let url = format!("http://{}/up", t.addr);
    let (code, body) = curl(&[
        "-F",
        &format!("a=@{}", src.join("two.txt").display()),
        "-F",
        "note=just text",
        "-F",
        &format!("b=@{};filename=renamed.dat", src.join("empty").display()),
        &url,
    ]);
    assert_eq!((code, body.as_str()), (201, "two.txt\nrenamed.dat\n"));
    assert_eq!(
        std::fs::read(t.root.join("up/two.txt")).unwrap(),
        b"two\r\n--not a boundary\r\n"
    );
    assert_eq!(std::fs::read(t.root.join("up/renamed.dat")).unwrap(), b"");
    assert_eq!(
        entries(&t.root.join("up")),
        ["one.bin", "renamed.dat", "two.txt"]
    );

    // To the root directory too.
    let (code, _) = curl(&[
        "-F",
        &format!("a=@{}", src.join("two.txt").display()),
        &format!("http://{}/", t.addr),
    ]);
    assert_eq!(code, 201);
    assert!(t.root.join("two.txt").is_file());
}

/// Python's `requests` when installed, else `urllib` with a body written
/// by `email`.
const PY: &str = r#"
import sys
url = sys.argv[1]
# No CR or LF in the binary file: email's generator would rewrite them.
data = bytes(b for b in range(256) if b not in b'\r\n') * 40
files = [('f', ('py one.txt', b'from python', 'text/plain')), ('g', ('caf\u00e9.bin', data, 'application/octet-stream'))]
try:
    import requests
    r = requests.post(url, files=files, data={'field': 'value'})
    print(r.status_code)
    sys.stdout.write(r.text)
except ImportError:
    import urllib.request, urllib.error, email.policy
    from email.message import Message
    from email.mime.multipart import MIMEMultipart
    outer = MIMEMultipart('form-data')
    for name, (filename, data, ctype) in files:
        part = Message()
        part.add_header('Content-Disposition', 'form-data', name=name, filename=filename)
        part['Content-Type'] = ctype
        part['Content-Transfer-Encoding'] = 'binary'
        part.set_payload(data.decode('latin-1'), 'latin-1')
        outer.attach(part)
    whole = outer.as_bytes(policy=email.policy.HTTP)
    head, body = whole.split(b'\r\n\r\n', 1)
    req = urllib.request.Request(url, data=body, method='POST', headers={'Content-Type': outer['Content-Type']})
    try:
        with urllib.request.urlopen(req) as r:
            print(r.status)
            sys.stdout.write(r.read().decode())
    except urllib.error.HTTPError as e:
        print(e.code)
        sys.stdout.write(e.read().decode())
"#;

#[test]
fn python_uploads() {
    let t = start(uploads());
    let out = Command::new("python3")
        .args(["-c", PY, &format!("http://{}/up/", t.addr)])
        .output()
        .unwrap_or_else(|e| panic!("this test needs python3 (CI installs it): {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text, "201\npy one.txt\ncaf\u{e9}.bin\n");
    assert_eq!(
        std::fs::read(t.root.join("up/py one.txt")).unwrap(),
        b"from python"
    );
    let want: Vec<u8> = (0..40)
        .flat_map(|_| (0..=255u8).filter(|b| !b"\r\n".contains(b)))
        .collect();
    assert_eq!(
        std::fs::read(t.root.join("up/caf\u{e9}.bin")).unwrap(),
        want
    );
}

#[test]
fn traversal_and_strange_names_are_refused_with_a_reason() {
    let t = start(uploads());
    for (name, reason) in [
        ("../escape.txt", "a path separator in the name"),
        ("..", "a dot name"),
        ("sub/x.txt", "a path separator in the name"),
        ("..\\\\escape.txt", "a path separator in the name"),
        (".hidden", "a dotfile"),
        ("", "no file in the form"),
    ] {
        let (code, body) = exchange(t.addr, &post("/up/", &form(&[(name, b"evil")])));
        assert_eq!(code, 400, "{name}: {body}");
        assert!(body.contains(reason), "{name}: {body}");
    }
    // NUL and other control characters cannot even be sent in a quoted
    // string: the part's header is malformed.
    for name in ["a\0b", "a\x01b", "a\x7fb"] {
        let (code, body) = exchange(t.addr, &post("/up/", &form(&[(name, b"evil")])));
        assert_eq!(code, 400, "{name:?}");
        assert!(body.contains("control character"), "{body}");
    }
    // Percent-encoded in the RFC 8187 form: decoded, then refused.
    let body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=f; filename*=utf-8''..%2Fescape.txt\r\n\r\nx\r\n--{BOUNDARY}--\r\n"
    );
    let (code, text) = exchange(t.addr, &post("/up/", body.as_bytes()));
    assert_eq!(code, 400);
    assert!(text.contains("a path separator"), "{text}");
    let body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=f; filename*=utf-8''a%0Ab\r\n\r\nx\r\n--{BOUNDARY}--\r\n"
    );
    let (code, text) = exchange(t.addr, &post("/up/", body.as_bytes()));
    assert_eq!(code, 400);
    assert!(text.contains("a control character in the name"), "{text}");
    assert_eq!(entries(&t.root.join("up")), Vec::<String>::new());
    assert_eq!(entries(&t.root), ["file.txt", "up"]);
    assert_eq!(entries(&t.base), ["root"]);
}

#[test]
fn existing_files_are_kept_unless_overwrite() {
    let t = start(uploads());
    let (code, _) = exchange(t.addr, &post("/up/", &form(&[("a.txt", b"first")])));
    assert_eq!(code, 201);
    let (code, body) = exchange(t.addr, &post("/up/", &form(&[("a.txt", b"second")])));
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("exists"), "{body}");
    // The same name twice in one form: the second is a conflict.
    let (code, _) = exchange(
        t.addr,
        &post("/up/", &form(&[("b.txt", b"1"), ("b.txt", b"2")])),
    );
    assert_eq!(code, 409);
    // A directory's name.
    let (code, _) = exchange(t.addr, &post("/", &form(&[("up", b"x")])));
    assert_eq!(code, 409);
    assert_eq!(std::fs::read(t.root.join("up/a.txt")).unwrap(), b"first");
    assert_eq!(std::fs::read(t.root.join("up/b.txt")).unwrap(), b"1");
    assert!(no_temp_files(&t.root.join("up")) && no_temp_files(&t.root));

    let t = start(|c| c.upload(true).overwrite(true));
    for data in [&b"first"[..], b"second"] {
        let (code, _) = exchange(t.addr, &post("/up/", &form(&[("a.txt", data)])));
        assert_eq!(code, 201);
    }
    assert_eq!(std::fs::read(t.root.join("up/a.txt")).unwrap(), b"second");
}

#[test]
fn the_cap_is_413_by_content_length_and_while_streaming() {
    let t = start(|c| c.upload(true).max_upload(10_000));
    // By Content-Length: refused before any byte of the body.
    let head = format!(
        "POST /up/ HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Content-Length: 10001\r\n\r\n"
    );
    let (code, _) = exchange(t.addr, head.as_bytes());
    assert_eq!(code, 413);
    // curl with a file over the cap.
    let big = t.base.join("big");
    std::fs::write(&big, vec![b'x'; 20_000]).unwrap();
    let (code, _) = curl(&[
        "-F",
        &format!("f=@{}", big.display()),
        &format!("http://{}/up/", t.addr),
    ]);
    assert_eq!(code, 413);
    // Chunked: no length up front, refused as the body crosses the cap.
    let body = form(&[("big.bin", &[b'y'; 12_000])]);
    let mut req = format!(
        "POST /up/ HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(1000) {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let (code, text) = exchange(t.addr, &req);
    assert_eq!(code, 413, "{text}");
    assert_eq!(entries(&t.root.join("up")), Vec::<String>::new());
    // Under the cap, chunked works.
    let body = form(&[("small.bin", &[b'z'; 5_000])]);
    let mut req = format!(
        "POST /up/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    req.extend_from_slice(b"\r\n0\r\n\r\n");
    let (code, _) = exchange(t.addr, &req);
    assert_eq!(code, 201);
    assert_eq!(
        std::fs::read(t.root.join("up/small.bin")).unwrap().len(),
        5_000
    );
}

#[test]
fn a_cut_off_upload_leaves_no_file() {
    let t = start(uploads());
    let body = form(&[("done.txt", b"complete"), ("cut.bin", &[b'c'; 100_000])]);
    let req = post("/up/", &body);
    let mut s = TcpStream::connect(t.addr).unwrap();
    // The first part whole, the second half sent: its temporary file exists.
    s.write_all(&req[..req.len() - 50_000]).unwrap();
    let up = t.root.join("up");
    let deadline = Instant::now() + Duration::from_secs(10);
    while no_temp_files(&up) {
        assert!(Instant::now() < deadline, "no temporary file appeared");
        thread::sleep(Duration::from_millis(10));
    }
    s.shutdown(Shutdown::Write).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    // No answer to a request cut short; the temporary file goes.
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    while !no_temp_files(&up) {
        assert!(
            Instant::now() < deadline,
            "the temporary file stayed: {:?}",
            entries(&up)
        );
        thread::sleep(Duration::from_millis(10));
    }
    // The part that was complete stays; the cut one never appears.
    assert_eq!(entries(&up), ["done.txt"]);
    // A malformed body (a truncated multipart with a complete HTTP body)
    // leaves nothing either.
    let body = form(&[("x.bin", b"data")]);
    let (code, text) = exchange(t.addr, &post("/up/", &body[..body.len() - 5]));
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("ended"), "{text}");
    assert_eq!(entries(&up), ["done.txt"]);
}

#[test]
fn without_upload_post_stays_405_and_other_refusals() {
    let t = start(|c| c);
    let (code, _) = exchange(t.addr, &post("/up/", &form(&[("a.txt", b"x")])));
    assert_eq!(code, 405);
    let t = start(uploads());
    // A file, not a directory.
    let (code, _) = exchange(t.addr, &post("/file.txt", &form(&[("a.txt", b"x")])));
    assert_eq!(code, 405);
    let (code, _) = exchange(t.addr, &post("/nowhere/", &form(&[("a.txt", b"x")])));
    assert_eq!(code, 404);
    // Not multipart/form-data.
    let req =
        b"POST /up/ HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nx";
    let (code, text) = exchange(t.addr, req);
    assert_eq!(code, 415, "{text}");
    let req = b"POST /up/ HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data\r\nContent-Length: 1\r\n\r\nx";
    let (code, text) = exchange(t.addr, req);
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("no boundary parameter"), "{text}");
    assert_eq!(entries(&t.root.join("up")), Vec::<String>::new());
}
