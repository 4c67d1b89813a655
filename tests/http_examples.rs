//! The two file servers inside other frameworks, run as processes:
//! `examples/axum_files.rs` (axum 0.8) and `examples/hyper_body.rs` (hyper
//! 1.x alone), both serving every body through `ProducerBody`. Each test runs
//! against both, with raw requests on a TCP socket (to see the framing:
//! `Content-Length` or chunked, trailers), with curl, and with Python's
//! multipart parser, checking RFC 9110 behaviour: validators, 304/412, one
//! range (206), several (`multipart/byteranges`), 416, gzip when accepted,
//! paths under the root; and RFC 9530's `Content-Digest` trailer, checked
//! against a SHA-256 the test computes over the bytes received.
//!
//! The examples are found beside this test's binary (`cargo test` builds
//! them first), as in `tests/examples.rs`.

mod util;
use util::example;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const EXAMPLES: [&str; 2] = ["axum_files", "hyper_body"];

/// A directory with a served root in it (and a file beside the root, which
/// must never be served).
struct Site {
    base: PathBuf,
}

impl Site {
    fn new(tag: &str) -> Site {
        let base = std::env::temp_dir().join(format!(
            "producers-http-examples-{tag}-{}",
            std::process::id()
        ));
        let www = base.join("www");
        std::fs::create_dir_all(www.join("sub")).unwrap();
        std::fs::write(base.join("secret.txt"), "the secret\n").unwrap();
        std::fs::write(www.join("small.txt"), "0123456789abcdef".repeat(64)).unwrap();
        std::fs::write(www.join("big.txt"), big_text()).unwrap();
        let bin: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(www.join("bin.dat"), bin).unwrap();
        std::fs::write(www.join("100%.txt"), "a hundred percent\n").unwrap();
        std::fs::write(www.join("sub/inner.txt"), "inner\n").unwrap();
        Site { base }
    }

    fn root(&self) -> PathBuf {
        self.base.join("www")
    }

    fn file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.root().join(name)).unwrap()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// About 600 KiB of text: several 256 KiB reads, compressible.
fn big_text() -> Vec<u8> {
    (0..12_000)
        .flat_map(|i| {
            format!("line {i:06}: the quick brown fox jumps over the lazy dog\n").into_bytes()
        })
        .collect()
}

/// A running example, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(name: &str, root: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(example(name))
            .args(["--root", root.to_str().unwrap(), "--addr", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim_end()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("{name}: expected `listening on http://ADDR`, got {line:?}"))
            .parse()
            .unwrap();
        Server { child, addr }
    }

    fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response read off the wire: status, lowercased header fields, the
/// payload (de-chunked if chunked), the trailer fields, and whether it was
/// chunked.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
    chunked: bool,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        field(&self.headers, name)
    }

    fn trailer(&self, name: &str) -> Option<&str> {
        field(&self.trailers, name)
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_fields(text: &str) -> Vec<(String, String)> {
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').expect("a field line");
            (n.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect()
}

/// Sends `method target` with `extra` header lines on a new connection
/// (`Connection: close`) and reads the whole response.
#[track_caller]
fn ask(s: &Server, method: &str, target: &str, extra: &[&str]) -> Reply {
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for h in extra {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    c.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).unwrap();
    let end = find(&raw, b"\r\n\r\n").expect("a response head") + 4;
    let head = std::str::from_utf8(&raw[..end - 4]).unwrap();
    let (status_line, fields) = head.split_once("\r\n").unwrap_or((head, ""));
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = parse_fields(fields);
    let chunked = field(&headers, "transfer-encoding") == Some("chunked");
    let (body, trailers) = if chunked {
        dechunk(&raw[end..])
    } else {
        (raw[end..].to_vec(), Vec::new())
    };
    if let (Some(n), false) = (field(&headers, "content-length"), method == "HEAD") {
        assert_eq!(n.parse::<usize>().unwrap(), body.len(), "Content-Length");
    }
    Reply {
        status,
        headers,
        body,
        trailers,
        chunked,
    }
}

/// The payload and trailer fields of a chunked body (RFC 9112 section 7.1),
/// its framing checked.
#[track_caller]
fn dechunk(mut b: &[u8]) -> (Vec<u8>, Vec<(String, String)>) {
    let mut out = Vec::new();
    loop {
        let nl = find(b, b"\r\n").expect("a size line");
        let line = std::str::from_utf8(&b[..nl]).unwrap();
        let size = usize::from_str_radix(line.split(';').next().unwrap(), 16).unwrap();
        b = &b[nl + 2..];
        if size == 0 {
            let end = find(b, b"\r\n\r\n").map(|i| i + 4).unwrap_or(2);
            assert_eq!(end, b.len(), "nothing after the trailer section");
            let trailers = parse_fields(std::str::from_utf8(&b[..end]).unwrap());
            return (out, trailers);
        }
        out.extend_from_slice(&b[..size]);
        assert_eq!(&b[size..size + 2], b"\r\n");
        b = &b[size + 2..];
    }
}

#[track_caller]
fn need(tool: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "this test needs `{tool}` on PATH (.ci/run installs it)");
}

#[track_caller]
fn curl(args: &[&str]) -> Output {
    need("curl");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn gunzip(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut out)
        .expect("a valid gzip stream");
    out
}

/// Standard base64 (RFC 4648 section 4), decoded here rather than by the
/// crate's encoder.
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c:?}"),
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for &c in s.trim_end_matches('=').as_bytes() {
        acc = acc << 6 | u32::from(val(c));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Runs `check` against each example, on one site.
fn each(tag: &str, check: impl Fn(&str, &Site, &Server)) {
    let site = Site::new(tag);
    for name in EXAMPLES {
        let server = Server::start(name, &site.root(), &[]);
        check(name, &site, &server);
    }
}

#[test]
fn identity_has_content_length_validators_and_the_exact_bytes() {
    each("identity", |name, site, s| {
        for file in ["small.txt", "big.txt", "bin.dat"] {
            let r = ask(s, "GET", &format!("/{file}"), &[]);
            assert_eq!(r.status, 200, "{name} {file}");
            assert!(!r.chunked, "{name} {file}");
            assert_eq!(r.body, site.file(file), "{name} {file}");
            assert_eq!(
                r.header("content-length"),
                Some(site.file(file).len().to_string().as_str())
            );
            assert!(r.header("etag").is_some_and(|t| t.starts_with('"')));
            assert!(
                r.header("last-modified")
                    .is_some_and(|d| d.ends_with(" GMT"))
            );
            assert_eq!(r.header("accept-ranges"), Some("bytes"), "{name} {file}");
            assert!(r.header("content-encoding").is_none());
        }
        let r = ask(s, "GET", "/big.txt", &[]);
        assert!(r.header("content-type").unwrap().starts_with("text/plain"));
        assert_eq!(r.header("vary"), Some("accept-encoding"), "{name}");
        let r = ask(s, "GET", "/bin.dat", &[]);
        assert_eq!(r.header("content-type"), Some("application/octet-stream"));
        assert_eq!(r.header("vary"), None, "{name}: not compressible");

        // HEAD: the same head, no body.
        let r = ask(s, "HEAD", "/big.txt", &[]);
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-length"),
            Some(site.file("big.txt").len().to_string().as_str()),
            "{name}"
        );
        assert!(r.body.is_empty(), "{name}");

        // curl agrees.
        let out = curl(&[&s.url("/big.txt")]);
        assert_eq!(out.stdout, site.file("big.txt"), "{name}");
    });
}

#[test]
fn gzip_when_accepted_is_chunked_and_gunzips_to_the_file() {
    each("gzip", |name, site, s| {
        let plain = ask(s, "GET", "/big.txt", &[]);
        let r = ask(s, "GET", "/big.txt", &["Accept-Encoding: gzip, deflate"]);
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(r.header("content-encoding"), Some("gzip"), "{name}");
        assert!(r.chunked, "{name}: the compressed length is unknown");
        assert_eq!(r.header("content-length"), None, "{name}");
        assert_eq!(r.header("vary"), Some("accept-encoding"), "{name}");
        assert_ne!(
            r.header("etag"),
            plain.header("etag"),
            "{name}: another representation"
        );
        assert!(r.body.len() < site.file("big.txt").len() / 3, "{name}");
        assert_eq!(gunzip(&r.body), site.file("big.txt"), "{name}");

        // Not for a tiny file, nor a binary one, nor when refused.
        for (file, ae) in [
            ("small.txt", "gzip"),
            ("bin.dat", "gzip"),
            ("big.txt", "gzip;q=0"),
            ("big.txt", "br"),
        ] {
            let r = ask(
                s,
                "GET",
                &format!("/{file}"),
                &[&format!("Accept-Encoding: {ae}")],
            );
            assert_eq!(r.header("content-encoding"), None, "{name} {file} {ae}");
            assert_eq!(r.body, site.file(file), "{name} {file} {ae}");
        }

        // curl decodes it.
        let out = curl(&["--compressed", "-D", "-", &s.url("/big.txt")]);
        let text = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
        assert!(text.contains("content-encoding: gzip"), "{name}");
        let body_at = find(&out.stdout, b"\r\n\r\n").unwrap() + 4;
        assert_eq!(&out.stdout[body_at..], &site.file("big.txt")[..], "{name}");
    });
}

#[test]
fn a_single_range_is_206_with_content_range() {
    each("range", |name, site, s| {
        let bin = site.file("bin.dat");
        let r = ask(s, "GET", "/bin.dat", &["Range: bytes=10-19"]);
        assert_eq!(r.status, 206, "{name}");
        assert_eq!(
            r.header("content-range"),
            Some("bytes 10-19/100000"),
            "{name}"
        );
        assert_eq!(r.header("content-length"), Some("10"));
        assert_eq!(r.body, &bin[10..20], "{name}");

        // A suffix range of a text file, gzip accepted: the file's bytes.
        let big = site.file("big.txt");
        let r = ask(
            s,
            "GET",
            "/big.txt",
            &["Range: bytes=-100", "Accept-Encoding: gzip"],
        );
        assert_eq!(r.status, 206, "{name}");
        assert_eq!(r.header("content-encoding"), None, "{name}");
        assert_eq!(r.body, &big[big.len() - 100..], "{name}");

        // Over 256 KiB from an offset: several reads, all in place.
        let r = ask(s, "GET", "/big.txt", &["Range: bytes=1000-"]);
        assert_eq!(r.body, &big[1000..], "{name}");

        let out = curl(&["-r", "100-199", &s.url("/bin.dat")]);
        assert_eq!(out.stdout, &bin[100..200], "{name}");
    });
}

#[test]
fn several_ranges_are_multipart_byteranges() {
    need("python3");
    let script = r#"
import http.client, sys, email, email.policy
host, port = sys.argv[1].split(':')
c = http.client.HTTPConnection(host, int(port), timeout=10)
c.request('GET', '/bin.dat', headers={'Range': 'bytes=10-19,-5,50000-50009'})
r = c.getresponse(); body = r.read()
msg = email.message_from_bytes(b'Content-Type: ' + r.getheader('Content-Type').encode() + b'\r\n\r\n' + body, policy=email.policy.HTTP)
print(r.status, msg.get_content_type(), len(body) == int(r.getheader('Content-Length')))
for part in msg.iter_parts():
    print(part['Content-Type'], '|', part['Content-Range'], part.get_payload(decode=True).hex())
"#;
    each("multipart", |name, site, s| {
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(s.addr.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = site.file("bin.dat");
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let want = format!(
            "206 multipart/byteranges True\n\
             application/octet-stream | bytes 10-19/100000 {}\n\
             application/octet-stream | bytes 99995-99999/100000 {}\n\
             application/octet-stream | bytes 50000-50009/100000 {}\n",
            hex(&bin[10..20]),
            hex(&bin[99_995..]),
            hex(&bin[50_000..50_010])
        );
        assert_eq!(String::from_utf8(out.stdout).unwrap(), want, "{name}");

        // By hand: the boundary in the head delimits the body.
        let r = ask(s, "GET", "/small.txt", &["Range: bytes=0-1,4-5"]);
        let ty = r.header("content-type").unwrap();
        let boundary = ty.strip_prefix("multipart/byteranges; boundary=").unwrap();
        let body = String::from_utf8(r.body.clone()).unwrap();
        assert!(body.starts_with(&format!("--{boundary}\r\n")), "{name}");
        assert!(body.ends_with(&format!("\r\n--{boundary}--\r\n")), "{name}");
        assert!(body.contains("\r\n\r\n01\r\n"), "{name}");
        assert!(
            body.contains("Content-Range: bytes 4-5/1024\r\n\r\n45\r\n"),
            "{name}"
        );
    });
}

#[test]
fn conditionals_answer_304_and_412_and_ranges_416() {
    each("conditional", |name, site, s| {
        let r = ask(s, "GET", "/big.txt", &[]);
        let etag = r.header("etag").unwrap().to_owned();
        let date = r.header("last-modified").unwrap().to_owned();

        let r = ask(s, "GET", "/big.txt", &[&format!("If-None-Match: {etag}")]);
        assert_eq!(r.status, 304, "{name}");
        assert!(r.body.is_empty());
        assert_eq!(r.header("etag"), Some(etag.as_str()), "{name}");
        let r = ask(
            s,
            "GET",
            "/big.txt",
            &[&format!("If-Modified-Since: {date}")],
        );
        assert_eq!(r.status, 304, "{name}");
        let r = ask(s, "GET", "/big.txt", &["If-None-Match: \"other\""]);
        assert_eq!(r.status, 200, "{name}");

        let r = ask(s, "GET", "/big.txt", &["If-Match: \"other\""]);
        assert_eq!(r.status, 412, "{name}");
        assert!(r.body.is_empty());
        let r = ask(s, "GET", "/big.txt", &[&format!("If-Match: {etag}")]);
        assert_eq!(r.status, 200, "{name}");

        let r = ask(s, "GET", "/small.txt", &["Range: bytes=5000-"]);
        assert_eq!(r.status, 416, "{name}");
        assert_eq!(r.header("content-range"), Some("bytes */1024"), "{name}");

        // If-Range with another tag: the whole file.
        let r = ask(
            s,
            "GET",
            "/small.txt",
            &["Range: bytes=0-1", "If-Range: \"old\""],
        );
        assert_eq!((r.status, r.body.len()), (200, 1024), "{name}");
        let _ = site;
    });
}

#[test]
fn the_digest_trailer_is_sent_only_when_asked() {
    use sha2::Digest as _;
    let ask_for = ["TE: trailers", "Want-Content-Digest: sha-256=1"];
    each("digest", |name, site, s| {
        for (file, extra) in [
            ("big.txt", &[][..]),
            ("big.txt", &["Accept-Encoding: gzip"][..]),
            ("bin.dat", &["Range: bytes=100-"][..]),
        ] {
            let headers: Vec<&str> = ask_for.iter().chain(extra).copied().collect();
            let r = ask(s, "GET", &format!("/{file}"), &headers);
            assert!(r.chunked, "{name} {file} {extra:?}: trailers need chunked");
            assert_eq!(r.header("trailer"), Some("content-digest"), "{name}");
            let value = r.trailer("content-digest").expect("the trailer");
            let b64 = value
                .strip_prefix("sha-256=:")
                .and_then(|v| v.strip_suffix(':'))
                .unwrap_or_else(|| panic!("{name}: {value}"));
            assert_eq!(
                base64_decode(b64),
                sha2::Sha256::digest(&r.body).to_vec(),
                "{name} {file} {extra:?}: over the bytes as sent"
            );
            let content = match r.header("content-encoding") {
                Some("gzip") => gunzip(&r.body),
                _ => r.body.clone(),
            };
            let whole = site.file(file);
            let want = if r.status == 206 {
                &whole[100..]
            } else {
                &whole[..]
            };
            assert_eq!(content, want, "{name} {file}");
        }

        // Not asked (or only half asked): Content-Length, no trailer.
        for headers in [
            &[][..],
            &["TE: trailers"][..],
            &["Want-Content-Digest: sha-256=1"][..],
        ] {
            let r = ask(s, "GET", "/big.txt", headers);
            assert!(!r.chunked, "{name} {headers:?}");
            assert_eq!(r.header("trailer"), None, "{name} {headers:?}");
            assert!(r.trailers.is_empty());
        }
        let r = ask(
            s,
            "GET",
            "/big.txt",
            &["TE: trailers", "Want-Content-Digest: sha-256=0"],
        );
        assert_eq!(
            r.header("trailer"),
            None,
            "{name}: a preference of 0 is a refusal"
        );
    });
}

#[test]
fn paths_stay_under_the_root() {
    each("paths", |name, site, s| {
        // `%25` is a percent sign in the name.
        let r = ask(s, "GET", "/100%25.txt", &[]);
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(r.body, site.file("100%.txt"));
        let out = curl(&[&s.url("/100%25.txt")]);
        assert_eq!(out.stdout, site.file("100%.txt"), "{name}");
        let r = ask(s, "GET", "/sub/inner.txt", &[]);
        assert_eq!(r.body, b"inner\n", "{name}");

        for target in [
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/sub/../../secret.txt",
            "/sub/%2e%2e/%2e%2e/secret.txt",
        ] {
            let r = ask(s, "GET", target, &[]);
            assert!(
                (400..500).contains(&r.status),
                "{name} {target}: {}",
                r.status
            );
            assert!(find(&r.body, b"secret").is_none(), "{name} {target}");
        }
        for target in ["/nope.txt", "/sub", "/sub/", "/"] {
            let r = ask(s, "GET", target, &[]);
            assert_eq!(r.status, 404, "{name} {target}");
        }
        let r = ask(s, "POST", "/small.txt", &["Content-Length: 0"]);
        assert_eq!(r.status, 405, "{name}");
        let allow = r.header("allow").unwrap().replace(' ', "");
        assert_eq!(allow, "GET,HEAD", "{name}");
    });
}

#[test]
fn exit_after_stops_the_server() {
    let site = Site::new("exit");
    for name in EXAMPLES {
        let mut s = Server::start(name, &site.root(), &["--exit-after", "0.5"]);
        // It serves until then.
        assert_eq!(ask(&s, "GET", "/small.txt", &[]).status, 200, "{name}");
        let start = Instant::now();
        let status = loop {
            if let Some(status) = s.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{name} did not exit"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{name}: {status}");
    }
}

/// Both examples send a precompressed `FILE.gz` as it is, with its length,
/// when it is no older than the file and lies under the root; otherwise
/// they compress on the fly.
#[test]
fn a_fresh_gzip_sidecar_is_sent_as_it_is() {
    for name in EXAMPLES {
        fresh_gzip_sidecar(name);
    }
}

fn fresh_gzip_sidecar(name: &str) {
    let site = Site::new(&format!("sidecar-{name}"));
    let root = site.root();
    // Told apart from the file by its content: what the sidecar holds is
    // what the client gets.
    let marked = b"from the sidecar\n".repeat(100);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(&marked).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(root.join("big.txt.gz"), &gz).unwrap();
    let s = Server::start(name, &root, &[]);
    let r = ask(&s, "GET", "/big.txt", &["Accept-Encoding: gzip"]);
    assert_eq!(r.status, 200, "{name}");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(!r.chunked, "the sidecar's length is known");
    assert_eq!(r.header("content-length"), Some(&*gz.len().to_string()));
    assert_eq!(r.body, gz, "the sidecar's bytes as they are");
    assert_eq!(r.header("vary"), Some("accept-encoding"));
    // Not for a client that does not accept gzip.
    let r = ask(&s, "GET", "/big.txt", &[]);
    assert_eq!(r.body, site.file("big.txt"));

    // A sidecar older than its file may be of an earlier version: the
    // file is compressed on the fly.
    let file_time = std::fs::metadata(root.join("big.txt"))
        .unwrap()
        .modified()
        .unwrap();
    std::fs::File::options()
        .write(true)
        .open(root.join("big.txt.gz"))
        .unwrap()
        .set_modified(file_time - Duration::from_secs(10))
        .unwrap();
    let r = ask(&s, "GET", "/big.txt", &["Accept-Encoding: gzip"]);
    assert!(r.chunked, "compressed on the fly");
    assert_eq!(gunzip(&r.body), site.file("big.txt"));

    // A sidecar that is a symbolic link out of the root is never followed.
    std::fs::remove_file(root.join("big.txt.gz")).unwrap();
    std::fs::write(site.base.join("outside.gz"), &gz).unwrap();
    std::os::unix::fs::symlink(site.base.join("outside.gz"), root.join("big.txt.gz")).unwrap();
    let r = ask(&s, "GET", "/big.txt", &["Accept-Encoding: gzip"]);
    assert_eq!(gunzip(&r.body), site.file("big.txt"));
}
