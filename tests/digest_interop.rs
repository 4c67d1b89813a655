//! Interoperability of computed trailers: curl and Python's `http.client`
//! read the crate's chunked encoder (`Chunked::trailer_hook`) with a
//! `Content-Digest` trailer (RFC 9530) computed over the payload as sent.
//!
//! A std `TcpListener` on 127.0.0.1:0 serves one response written with
//! `producers::io::copy`. curl writes the trailer section into its header
//! dump (`-D`), after the head; the digest there must be the SHA-256 (by the
//! `sha2` crate, here) of the body curl received. A body cut by an error
//! must never look complete: curl exits with an error, Python raises
//! `IncompleteRead`.
//!
//! curl and python3 must be installed (CI installs them).

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::task::{Context, Poll};
use std::thread;

use producers::digest::ContentDigest;
use producers::{Chunk, FileProducer, More, Producer, ProducerExt, from_bytes};
use sha2::Digest as _;

/// Serves `body` (chunked-coded) once, to the client `run` starts with the
/// URL; returns what the client did.
#[track_caller]
fn serve_once<P: Producer + Send + 'static>(body: P, run: impl FnOnce(&str) -> Output) -> Output {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accepting the client");
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).expect("reading the request");
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let mut stream = stream;
        stream
            .write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Digest\r\n\
                  Connection: close\r\n\r\n",
            )
            .unwrap();
        // An error ends the body without a last-chunk; the socket closes.
        let _ = producers::io::copy(body, &mut stream);
    });
    let out = run(&url);
    server.join().expect("the server thread");
    out
}

#[track_caller]
fn curl(url: &str, dir: &std::path::Path) -> Output {
    Command::new("curl")
        .arg("-s")
        .arg("-D")
        .arg(dir.join("head"))
        .arg("-o")
        .arg(dir.join("body"))
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("this test needs curl on the PATH: {e}"))
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("producers-digest-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn payload(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Standard base64 decoding (RFC 4648), independent of the crate's encoder.
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

#[test]
fn curl_reads_the_content_digest_trailer_of_file_regions() {
    let data = payload(700_001);
    let dir = tmpdir("curl");
    let path = dir.join("data");
    std::fs::write(&path, &data).unwrap();
    let body = from_bytes("<")
        .then(FileProducer::open(&path).unwrap().regions())
        .then(from_bytes(">"))
        .chunked()
        .max_chunk_size(100_000)
        .trailer("X-Fixed", "1")
        .unwrap()
        .trailer_hook(ContentDigest::new());
    let out = serve_once(body, |url| curl(url, &dir));
    assert!(out.status.success(), "curl: {out:?}");
    let got = std::fs::read(dir.join("body")).unwrap();
    assert_eq!(got, [&b"<"[..], &data, b">"].concat());
    let head = std::fs::read_to_string(dir.join("head")).unwrap();
    // The trailer section follows the head's blank line.
    let (_, trailers) = head.split_once("\r\n\r\n").expect("a head");
    let lines: Vec<&str> = trailers.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{trailers:?}");
    assert_eq!(lines[0], "X-Fixed: 1");
    let value = lines[1].strip_prefix("Content-Digest: ").expect(lines[1]);
    let b64 = value
        .strip_prefix("sha-256=:")
        .and_then(|v| v.strip_suffix(':'))
        .expect(value);
    assert_eq!(base64_decode(b64), sha2::Sha256::digest(&got).to_vec());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Some bytes, then an error.
struct Broken(Option<Vec<u8>>);

impl Producer for Broken {
    fn poll_more(&mut self, _cx: &mut Context<'_>) -> More {
        match self.0.take() {
            Some(b) => Poll::Ready(Some(Ok(Chunk::from_bytes(b).unwrap()))),
            None => Poll::Ready(Some(Err(io::Error::other("the source broke")))),
        }
    }
}

#[test]
fn a_body_cut_by_an_error_never_ends_cleanly_for_curl_or_python() {
    let dir = tmpdir("cut");
    let body = Broken(Some(payload(5000)))
        .chunked()
        .trailer_hook(ContentDigest::new());
    let out = serve_once(body, |url| curl(url, &dir));
    // 18: "partial file", 56: "failure in receiving network data".
    assert!(
        matches!(out.status.code(), Some(18 | 56)),
        "curl must fail on a cut body: {out:?}"
    );
    let head = std::fs::read_to_string(dir.join("head")).unwrap();
    assert!(
        !head.contains("Content-Digest:"),
        "no trailer after an error"
    );

    const CLIENT: &str = r#"
import http.client, sys
conn = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=30)
conn.request("GET", "/")
resp = conn.getresponse()
try:
    body = resp.read()
    print("complete", len(body))
except http.client.IncompleteRead as e:
    print("incomplete", len(e.partial))
"#;
    let body = Broken(Some(payload(5000)))
        .chunked()
        .trailer_hook(ContentDigest::new());
    let out = serve_once(body, |url| {
        let hostport = url.trim_start_matches("http://").trim_end_matches('/');
        let (host, port) = hostport.split_once(':').unwrap();
        Command::new("python3")
            .args(["-c", CLIENT, host, port])
            .output()
            .unwrap_or_else(|e| panic!("this test needs python3 on the PATH: {e}"))
    });
    assert!(out.status.success(), "python: {out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "incomplete 5000"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn python_reads_a_body_with_a_computed_trailer() {
    const CLIENT: &str = r#"
import hashlib, http.client, sys
conn = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=30)
conn.request("GET", "/")
resp = conn.getresponse()
body = resp.read()
print(len(body), hashlib.sha256(body).hexdigest())
"#;
    let data = payload(300_000);
    let body = producers::produce::BytesProducer::with_piece_size(data.clone(), 30_000)
        .unwrap()
        .chunked()
        .trailer_hook(ContentDigest::new());
    let out = serve_once(body, |url| {
        let hostport = url.trim_start_matches("http://").trim_end_matches('/');
        let (host, port) = hostport.split_once(':').unwrap();
        Command::new("python3")
            .args(["-c", CLIENT, host, port])
            .output()
            .unwrap_or_else(|e| panic!("this test needs python3 on the PATH: {e}"))
    });
    assert!(out.status.success(), "python: {out:?}");
    let hex: String = sha2::Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{} {hex}", data.len())
    );
}
