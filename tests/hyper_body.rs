//! A producer pipeline (file → gzip → glob) served by hyper as a response
//! body (`producers::body::ProducerBody`): the example's `serve` runs
//! in-process on 127.0.0.1:0, a raw socket fetches it, and the decoded bytes
//! must equal the file. A known length is sent with `Content-Length`, an
//! unknown one chunked.
#![cfg(all(feature = "http-body", feature = "gzip"))]

#[path = "../examples/hyper_body.rs"]
#[allow(unreachable_pub)]
mod hyper_body;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked body, checking its framing.
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = find(b, b"\r\n").expect("size line");
        let size = usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap(), 16).unwrap();
        b = &b[nl + 2..];
        if size == 0 {
            assert_eq!(b, b"\r\n", "last-chunk then the end");
            return out;
        }
        out.extend_from_slice(&b[..size]);
        assert_eq!(&b[size..size + 2], b"\r\n");
        b = &b[size + 2..];
    }
}

/// Runs the example's server over `path` and fetches each of `targets`
/// (one connection each): the lowercased head and the raw body of each.
fn fetch(path: &std::path::Path, targets: &[&str]) -> Vec<(String, Vec<u8>)> {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (stop2, path2) = (stop.clone(), path.to_path_buf());
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            hyper_body::serve(listener, path2, stop2).await
        })
    });
    let mut out = Vec::new();
    for target in targets {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(
            format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let mut resp = Vec::new();
        c.read_to_end(&mut resp).unwrap();
        let end = find(&resp, b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&resp[..end]).to_lowercase();
        assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
        out.push((head, resp[end..].to_vec()));
    }
    stop.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect(addr);
    server.join().unwrap().unwrap();
    out
}

#[test]
fn a_gzip_pipeline_chunked_and_a_known_length_with_content_length() {
    let dir = std::env::temp_dir().join(format!("producers-hyper-body-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data.txt");
    // Over 256 KiB, so the file is read in several pieces.
    let data: Vec<u8> = (0..40_000)
        .flat_map(|i| format!("line {i} of the file served through hyper\n").into_bytes())
        .collect();
    assert!(data.len() > 3 * producers::body::REGION_FRAME);
    std::fs::write(&path, &data).unwrap();

    let got = fetch(&path, &["/", "/raw"]);

    let (head, body) = &got[0];
    assert!(head.contains("content-encoding: gzip\r\n"), "{head}");
    assert!(head.contains("transfer-encoding: chunked\r\n"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    let gz = dechunk(body);
    assert!(
        gz.len() < data.len() / 4,
        "compressed: {} of {}",
        gz.len(),
        data.len()
    );
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, data);

    let (head, body) = &got[1];
    assert!(
        head.contains(&format!("content-length: {}\r\n", data.len())),
        "{head}"
    );
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert_eq!(body, &data);

    std::fs::remove_dir_all(&dir).unwrap();
}
