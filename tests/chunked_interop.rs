//! Interoperability: Python's `http.client` reads our chunked output.
//!
//! A std `TcpListener` on 127.0.0.1:0 serves one response whose body is a
//! producer encoded by `.chunked()` (with extensions and trailers), written
//! with `producers::io::copy` (vectored writes). A `python3 -c` script
//! fetches it with `http.client` and prints the body's length and SHA-256;
//! both must match what was encoded.
//!
//! python3 must be installed (CI installs it); without it the test fails
//! with a message saying so.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread;

use producers::{FileProducer, Producer, ProducerExt, produce::BytesProducer, testing};

const CLIENT: &str = r#"
import hashlib, http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
conn.request("GET", "/")
resp = conn.getresponse()
assert resp.status == 200, resp.status
assert resp.getheader("Transfer-Encoding") == "chunked"
body = resp.read()
print(len(body), hashlib.sha256(body).hexdigest())
"#;

/// Serves `body` (already chunked-coded) once and returns what the Python
/// client printed.
#[track_caller]
fn fetch_with_python<P: Producer + Send + 'static>(body: P) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let port = listener.local_addr().unwrap().port();
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
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
        producers::io::copy(body, &mut stream).expect("writing the body");
    });
    let out = Command::new("python3")
        .arg("-c")
        .arg(CLIENT)
        .arg(port.to_string())
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => panic!("this test needs python3 on the PATH (CI installs it): {e}"),
    };
    server.join().expect("the server thread");
    assert!(
        out.status.success(),
        "the python client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn payload(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn expected(data: &[u8]) -> String {
    format!("{} {}", data.len(), hex(&sha256(data)))
}

#[test]
fn python_reads_chunked_output_with_extensions_and_trailers() {
    let data = payload(1_000_003);
    let body = BytesProducer::with_piece_size(data.clone(), 40_000)
        .unwrap()
        .chunked()
        .max_chunk_size(16_384)
        .extension("sig", "a b")
        .unwrap()
        .extension_name("x")
        .unwrap()
        .last_extension("done", "1")
        .unwrap()
        .trailer("X-Checksum", hex(&sha256(&data)))
        .unwrap()
        .trailer("X-Count", "1000003")
        .unwrap();
    assert_eq!(fetch_with_python(body), expected(&data));
}

#[test]
fn python_reads_chunked_file_regions() {
    let data = payload(300_000);
    let file = testing::file_with(&data);
    let body = FileProducer::from_file(file)
        .unwrap()
        .regions()
        .chunked()
        .max_chunk_size(65_536);
    assert_eq!(fetch_with_python(body), expected(&data));
}

#[test]
fn python_reads_an_empty_chunked_body() {
    let body = producers::from_bytes("")
        .chunked()
        .trailer("X-Empty", "yes")
        .unwrap();
    assert_eq!(fetch_with_python(body), expected(b""));
}

#[test]
fn sha256_known_answers() {
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_eq!(
        hex(&sha256(long)),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (FIPS 180-4), to check the body without another dependency.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes(word.try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (o, word) in out.chunks_mut(4).zip(h) {
        o.copy_from_slice(&word.to_be_bytes());
    }
    out
}
