//! Directory listings through the server (issue 16): compressed through
//! the same negotiation as files — zstd, br or gzip by `Accept-Encoding`
//! and the configured codings, 406 when nothing offered is acceptable —
//! (gzip decoded by Python's `gzip`, a real peer, every coding by the
//! crate's decoders, to the very page sent uncompressed) with
//! `Vary: Accept-Encoding`; links to names
//! that are not UTF-8 serve those files; hidden names, the upload form and
//! the entry cap as configured. The server runs in-process on
//! 127.0.0.1:0; nothing here is timed.
#![cfg(feature = "http")]

#[path = "util/file_server.rs"]
mod file_server;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use producers::http::{Coding, Server, ServerConfig};
use producers::reactor::Handle;
use producers::{ProducerExt, from_bytes};

struct TestServer {
    addr: SocketAddr,
    handle: Handle,
    thread: Option<JoinHandle<()>>,
    base: PathBuf,
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

/// A server over a fresh root, filled by `fill` before it starts.
fn start(
    fill: impl FnOnce(&std::path::Path),
    configure: impl FnOnce(ServerConfig) -> ServerConfig,
) -> TestServer {
    static N: AtomicUsize = AtomicUsize::new(0);
    let base = std::env::temp_dir().join(format!(
        "producers-http-listing-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let root = base.join("root");
    std::fs::create_dir_all(&root).unwrap();
    fill(&root);
    let server = Server::new(configure(ServerConfig::new(&root))).unwrap();
    let (addr, handle, thread) = file_server::serve(server);
    TestServer {
        addr,
        handle,
        thread: Some(thread),
        base,
    }
}

#[derive(Debug)]
struct Resp {
    head: String,
    body: Vec<u8>,
}

impl Resp {
    fn status(&self) -> u16 {
        self.head[9..12].parse().unwrap()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// One request on its own connection (closed after it), `extra` header
/// lines included; the whole response read to the close.
#[track_caller]
fn request(addr: SocketAddr, method: &str, target: &str, extra: &str) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n"
    )
    .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let end = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(all[..end].to_vec()).unwrap();
    let body = all[end + 4..].to_vec();
    let resp = Resp { head, body };
    if method == "GET" {
        let len: usize = resp.header("content-length").unwrap().parse().unwrap();
        assert_eq!(len, resp.body.len(), "exact Content-Length: {}", resp.head);
    }
    resp
}

/// `data` gunzipped by Python's `gzip` module.
#[track_caller]
fn python_gunzip(data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("this test needs python3 on PATH (CI installs it)");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python's gzip refused the body");
    out.stdout
}

/// The hrefs of the page's entries, in order.
fn hrefs(html: &str) -> Vec<&str> {
    html.split("<td><a href=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect()
}

fn many_files(root: &std::path::Path) {
    for i in 0..200 {
        std::fs::write(root.join(format!("file-{i:03}.txt")), b"x").unwrap();
    }
}

#[test]
fn gzip_when_accepted_decodes_to_the_same_page() {
    let s = start(many_files, |c| c);
    let plain = request(s.addr, "GET", "/", "");
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    assert_eq!(
        plain.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(hrefs(plain.text()).len(), 200);

    let gz = request(
        s.addr,
        "GET",
        "/",
        "Accept-Encoding: compress;q=1, gzip;q=0.8\r\n",
    );
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.header("content-encoding"), Some("gzip"), "{}", gz.head);
    assert_eq!(gz.header("vary"), Some("Accept-Encoding"));
    assert!(gz.body.len() * 4 < plain.body.len(), "compressed");
    assert_eq!(python_gunzip(&gz.body), plain.body);

    // HEAD: the same fields, the same length, no body.
    let head = request(s.addr, "HEAD", "/", "Accept-Encoding: gzip\r\n");
    assert_eq!(head.header("content-encoding"), Some("gzip"));
    assert_eq!(
        head.header("content-length").unwrap(),
        gz.body.len().to_string()
    );
    assert!(head.body.is_empty());

    // gzip refused: identity.
    let no = request(
        s.addr,
        "GET",
        "/",
        "Accept-Encoding: gzip;q=0, identity\r\n",
    );
    assert_eq!(no.header("content-encoding"), None);
    assert_eq!(no.body, plain.body);
}

/// `body` decoded from `coding` by the crate's own decoders.
#[track_caller]
fn decode(coding: &str, body: &[u8]) -> Vec<u8> {
    let src = from_bytes(body.to_vec());
    let plain = match coding {
        "gzip" => src.gunzip().collect_bytes(),
        #[cfg(feature = "brotli")]
        "br" => src.unbrotli().collect_bytes(),
        #[cfg(feature = "zstd")]
        "zstd" => src.unzstd().collect_bytes(),
        other => panic!("coding {other}"),
    };
    plain.unwrap().to_vec()
}

/// Each coding compiled in, asked for alone or first by q-value, is the
/// one sent, and decodes to the page sent as is.
#[test]
fn each_coding_when_accepted_decodes_to_the_same_page() {
    let s = start(many_files, |c| c);
    let plain = request(s.addr, "GET", "/", "Accept-Encoding: identity\r\n");
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(hrefs(plain.text()).len(), 200);
    for &coding in Coding::ALL {
        let token = coding.token();
        for accept in [
            token.to_owned(),
            format!("gzip;q=0.5, {token}, identity;q=0.1"),
        ] {
            let r = request(
                s.addr,
                "GET",
                "/",
                &format!("Accept-Encoding: {accept}\r\n"),
            );
            assert_eq!(r.status(), 200, "{accept}: {}", r.head);
            assert_eq!(r.header("content-encoding"), Some(token), "{accept}");
            assert_eq!(r.header("vary"), Some("Accept-Encoding"), "{accept}");
            assert!(r.body.len() * 4 < plain.body.len(), "{accept}: compressed");
            assert_eq!(decode(token, &r.body), plain.body, "{accept}");
        }
    }
}

/// Only the configured codings are offered for a listing, as for a file,
/// and a client that accepts none of them nor `identity` gets 406.
#[test]
fn a_listing_offers_the_configured_codings_or_406() {
    let s = start(many_files, |c| c.codings([Coding::Gzip]));
    let r = request(s.addr, "GET", "/", "Accept-Encoding: zstd, br\r\n");
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-encoding"), None, "neither is offered");
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    let r = request(
        s.addr,
        "GET",
        "/",
        "Accept-Encoding: zstd, br, gzip;q=0.1\r\n",
    );
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(python_gunzip(&r.body), decode("gzip", &r.body));
    let r = request(
        s.addr,
        "GET",
        "/",
        "Accept-Encoding: zstd, identity;q=0\r\n",
    );
    assert_eq!(r.status(), 406, "{}", r.head);
    let none = start(many_files, |c| c.codings([]));
    let r = request(none.addr, "GET", "/", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-encoding"), None, "no codings");
    assert_eq!(r.header("vary"), None);
}

#[test]
fn a_listing_within_the_gzip_threshold_is_sent_as_is() {
    let s = start(
        |r| std::fs::write(r.join("a"), b"").unwrap(),
        |c| c.gzip_threshold(4096),
    );
    let r = request(s.addr, "GET", "/", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.status(), 200);
    assert!(r.body.len() <= 4096);
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.header("vary"), None);
    let off = start(many_files, |c| c.gzip_threshold(u64::MAX));
    let r = request(off.addr, "GET", "/", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.header("content-encoding"), None, "gzip off");
    assert_eq!(r.header("vary"), None);
}

/// A Unix file name is bytes: the listing shows it escaped, and its link
/// — the bytes percent-encoded — serves that very file, through the
/// `openat2` path (a file) and the portable one (a directory).
#[cfg(unix)]
#[test]
fn links_to_names_that_are_not_utf8_serve_those_files() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let s = start(
        |r| {
            std::fs::write(r.join(OsStr::from_bytes(b"caf\xe9.txt")), b"latin-1 name\n").unwrap();
            std::fs::write(
                r.join(OsStr::from_bytes(b"caf\xc3\xa9.txt")),
                b"utf-8 name\n",
            )
            .unwrap();
            let d = r.join(OsStr::from_bytes(b"dir \xff"));
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("inner"), b"inside\n").unwrap();
        },
        |c| c,
    );
    let page = request(s.addr, "GET", "/", "");
    let html = page.text();
    assert!(html.contains(">caf\\xE9.txt</a>"), "{html}");
    assert!(html.contains(">café.txt</a>"), "{html}");
    assert!(html.contains(">dir \\xFF/</a>"), "{html}");
    let links = hrefs(html);
    // Sorted as shown: `\` comes before `é`.
    assert_eq!(
        links,
        ["dir%20%FF/", "caf%E9.txt", "caf%C3%A9.txt"],
        "{html}"
    );
    assert_eq!(
        request(s.addr, "GET", "/caf%E9.txt", "").body,
        b"latin-1 name\n"
    );
    assert_eq!(
        request(s.addr, "GET", "/caf%C3%A9.txt", "").body,
        b"utf-8 name\n"
    );
    let sub = request(s.addr, "GET", "/dir%20%FF/", "");
    assert_eq!(sub.status(), 200);
    assert!(
        sub.text().contains("<title>Index of /dir \\xFF/</title>"),
        "{}",
        sub.text()
    );
    assert_eq!(hrefs(sub.text()), ["../", "inner"]);
    assert_eq!(
        request(s.addr, "GET", "/dir%20%FF/inner", "").body,
        b"inside\n"
    );
    // Without its slash: redirected to the same bytes.
    let r = request(s.addr, "GET", "/dir%20%FF", "");
    assert_eq!(r.status(), 301);
    assert_eq!(r.header("location"), Some("/dir%20%FF/"));
}

#[test]
fn hidden_names_the_upload_form_and_the_cap_as_configured() {
    let fill = |r: &std::path::Path| {
        std::fs::write(r.join(".env"), b"SECRET=1\n").unwrap();
        for i in 0..5 {
            std::fs::write(r.join(format!("f{i}")), b"").unwrap();
        }
    };
    let s = start(fill, |c| c);
    let html = request(s.addr, "GET", "/", "").text().to_owned();
    assert!(!html.contains(".env") && !html.contains("<form"), "{html}");
    // Hidden from the page, not from the server.
    assert_eq!(request(s.addr, "GET", "/.env", "").body, b"SECRET=1\n");

    let s = start(fill, |c| {
        let mut c = c.show_hidden(true).upload(true);
        c.max_listing = 3;
        c
    });
    let html = request(s.addr, "GET", "/", "").text().to_owned();
    assert_eq!(hrefs(&html), [".env", "f0", "f1"], "{html}");
    assert!(html.contains("3 more entries left out"), "{html}");
    assert!(
        html.contains("<form method=\"post\" action=\"/\" enctype=\"multipart/form-data\">"),
        "{html}"
    );
}
