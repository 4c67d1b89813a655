//! The server's content codings beyond gzip (issue 15 part 4): `br` and
//! `zstd` chosen by `Accept-Encoding` (RFC 9110 section 12.5.3: q-values,
//! the server's preference among equal ones, `identity;q=0`, 406),
//! precompressed `FILE.br` and `FILE.zst` sidecars, and each coding held
//! in the variant cache under its own key, never for an older version.
//! Bodies are decoded with the crate's own bounded decoders (the
//! `brotli_zstd_interop` test checks those against the reference tools).
//! The server runs in-process on 127.0.0.1:0; nothing here is timed (the
//! sleeps only let the revalidation period or the one-second "settled"
//! window pass).

#[path = "util/noisy.rs"]
mod noisy;
use noisy::noisy;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::thread;
use std::time::{Duration, SystemTime};

use producers::http::{Coding, ServerConfig};
use producers::{ProducerExt, from_bytes};

#[path = "util/file_server.rs"]
mod file_server;
use file_server::*;

/// A GET of `path` with `Accept-Encoding: accept`, on a new connection.
fn get_with(addr: SocketAddr, path: &str, accept: &str) -> Resp {
    Client::new(addr).get(path, &format!("Accept-Encoding: {accept}\r\n"))
}

/// A root with `doc.txt`, compressible text of 60 000 bytes.
fn with_doc(configure: impl FnOnce(ServerConfig) -> ServerConfig) -> (TestServer, Vec<u8>) {
    let s = start(configure);
    let doc = text("doc", 60_000);
    std::fs::write(s.root.join("doc.txt"), &doc).unwrap();
    (s, doc)
}

#[test]
fn br_is_sent_when_asked_and_decodes_to_the_file() {
    let (s, doc) = with_doc(|c| c);
    let r = get_with(s.addr, "/doc.txt", "br");
    assert_eq!(r.status(), 200, "{}", r.head);
    assert_eq!(r.header("content-encoding"), Some("br"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(r.header("etag").unwrap().ends_with("-br\""), "{}", r.head);
    assert!(r.body.len() < doc.len() / 4, "{} bytes", r.body.len());
    same(&r.content(), &doc);
    // A HEAD gets the same fields and no body.
    let mut c = Client::new(s.addr);
    write!(
        c.c,
        "HEAD /doc.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut tmp = [0u8; 4096];
    while find(&head, b"\r\n\r\n").is_none() {
        let n = c.c.read(&mut tmp).unwrap();
        assert!(n > 0);
        head.extend_from_slice(&tmp[..n]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "no body: {head}");
    assert!(head.contains("\r\nContent-Encoding: br\r\n"), "{head}");
}

#[test]
fn zstd_is_sent_when_asked_and_decodes_to_the_file() {
    let (s, doc) = with_doc(|c| c);
    let r = get_with(s.addr, "/doc.txt", "zstd");
    assert_eq!(r.status(), 200, "{}", r.head);
    assert_eq!(r.header("content-encoding"), Some("zstd"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert!(r.header("etag").unwrap().ends_with("-zst\""), "{}", r.head);
    // A zstd frame (RFC 8878 section 3.1.1: magic 0xFD2FB528, little-endian).
    assert!(r.body.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]));
    assert!(r.body.len() < doc.len() / 4, "{} bytes", r.body.len());
    same(&r.content(), &doc);
}

#[test]
fn equal_q_values_take_the_servers_preference() {
    let (s, doc) = with_doc(|c| c);
    // The default order: zstd, br, gzip, whatever the client's order.
    for accept in [
        "gzip, br, zstd",
        "br, gzip, zstd",
        "*",
        "gzip;q=0.5, br;q=0.5, zstd;q=0.5",
    ] {
        let r = get_with(s.addr, "/doc.txt", accept);
        assert_eq!(r.header("content-encoding"), Some("zstd"), "{accept}");
        same(&r.content(), &doc);
    }
    // Higher q-values win over the preference.
    let table = [
        ("br;q=1, zstd;q=0.5", "br"),
        ("br;q=0.9, zstd;q=0.8, gzip", "gzip"),
        ("zstd;q=0, *", "br"),
        ("zstd;q=0, br;q=0, *;q=0.3", "gzip"),
        ("br, identity;q=0", "br"),
    ];
    for (accept, want) in table {
        let r = get_with(s.addr, "/doc.txt", accept);
        assert_eq!(r.header("content-encoding"), Some(want), "{accept}");
        same(&r.content(), &doc);
    }
    // The preference is configurable, and only what is offered is sent.
    let (s, doc) = with_doc(|c| c.codings([Coding::Gzip, Coding::Br]));
    for (accept, want) in [
        ("gzip, br, zstd", Some("gzip")),
        ("br, zstd", Some("br")),
        ("zstd", None),
    ] {
        let r = get_with(s.addr, "/doc.txt", accept);
        assert_eq!(r.status(), 200, "{accept}");
        assert_eq!(r.header("content-encoding"), want, "{accept}");
        same(&r.content(), &doc);
    }
    // No codings: every file as is, and nothing varies.
    let (s, doc) = with_doc(|c| c.codings(std::iter::empty()));
    let r = get_with(s.addr, "/doc.txt", "gzip, br, zstd");
    assert_eq!(
        (r.header("content-encoding"), r.header("vary")),
        (None, None)
    );
    same(&r.body, &doc);
}

#[test]
fn only_unknown_codings_with_identity_refused_is_406() {
    let (s, doc) = with_doc(|c| c);
    for accept in [
        "identity;q=0, compress, deflate",
        "identity;q=0",
        "*;q=0",
        "compress, *;q=0",
        "gzip;q=0, br;q=0, zstd;q=0, identity;q=0",
    ] {
        let r = get_with(s.addr, "/doc.txt", accept);
        assert_eq!(r.status(), 406, "{accept}: {}", r.head);
        assert_eq!(r.header("content-encoding"), None, "{accept}");
        // Another Accept-Encoding could get another answer (RFC 9110
        // section 12.5.5).
        assert_eq!(r.header("vary"), Some("Accept-Encoding"), "{accept}");
        // The connection goes on.
        assert_eq!(r.header("connection"), None, "{accept}");
    }
    // Identity refused, but a coding accepted: that coding.
    let r = get_with(s.addr, "/doc.txt", "identity;q=0, compress, br;q=0.1");
    assert_eq!(r.header("content-encoding"), Some("br"));
    same(&r.content(), &doc);
    // Without the field, or with identity acceptable, the file as is.
    for fields in ["", "Accept-Encoding: compress\r\n", "Accept-Encoding: \r\n"] {
        let r = Client::new(s.addr).get("/doc.txt", fields);
        assert_eq!(r.status(), 200, "{fields:?}");
        same(&r.body, &doc);
    }
}

/// Sets `path`'s modification time `secs` seconds from now.
fn set_mtime(path: &Path, secs: i64) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let now = SystemTime::now();
    let t = if secs >= 0 {
        now + Duration::from_secs(secs as u64)
    } else {
        now - Duration::from_secs(secs.unsigned_abs())
    };
    f.set_modified(t).unwrap();
}

#[test]
fn a_br_or_zst_sidecar_is_served_only_when_not_older_than_the_file() {
    let s = start(with_period(PERIOD));
    let plain = text("plain", 50_000);
    // The sidecars' content differs, so which one was sent is plain.
    let precompressed = text("sidecar", 50_000);
    let br = from_bytes(precompressed.clone())
        .brotli(5)
        .collect_bytes()
        .unwrap();
    let zst = from_bytes(precompressed.clone())
        .zstd(9)
        .collect_bytes()
        .unwrap();
    std::fs::write(s.root.join("a.txt"), &plain).unwrap();
    std::fs::write(s.root.join("a.txt.br"), &br).unwrap();
    std::fs::write(s.root.join("a.txt.zst"), &zst).unwrap();
    set_mtime(&s.root.join("a.txt"), -10);
    let mut tags = Vec::new();
    for (accept, sidecar) in [("br", &br), ("zstd", &zst)] {
        let r = get_with(s.addr, "/a.txt", accept);
        assert_eq!(r.status(), 200);
        assert_eq!(r.header("content-encoding"), Some(accept));
        same(&r.body, &sidecar[..]);
        assert_eq!(
            r.header("content-length"),
            Some(&*sidecar.len().to_string())
        );
        assert_eq!(r.header("vary"), Some("Accept-Encoding"));
        same(&r.content(), &precompressed);
        let etag = r.header("etag").unwrap().to_owned();
        // Its own validator: a 304 for it.
        let r = Client::new(s.addr).get(
            "/a.txt",
            &format!("Accept-Encoding: {accept}\r\nIf-None-Match: {etag}\r\n"),
        );
        assert_eq!(r.status(), 304, "{accept}");
        tags.push(etag);
    }
    assert_ne!(tags[0], tags[1]);
    assert_eq!(stats(&s).sidecar_hits, 2);

    // The file is newer than its sidecars: compressed from the file.
    set_mtime(&s.root.join("a.txt.br"), -3600);
    set_mtime(&s.root.join("a.txt.zst"), -3600);
    thread::sleep(AFTER_PERIOD);
    for accept in ["br", "zstd"] {
        let r = get_with(s.addr, "/a.txt", accept);
        assert_eq!(r.header("content-encoding"), Some(accept));
        same(&r.content(), &plain);
        assert!(!tags.contains(&r.header("etag").unwrap().to_owned()));
    }
    assert_eq!(stats(&s).sidecar_hits, 2);

    // A gzip sidecar is not sent for br: each coding has its own.
    let s = start(with_period(PERIOD));
    let gz = from_bytes(precompressed.clone())
        .gzip(9)
        .collect_bytes()
        .unwrap();
    std::fs::write(s.root.join("b.txt"), &plain).unwrap();
    std::fs::write(s.root.join("b.txt.gz"), &gz).unwrap();
    let r = get_with(s.addr, "/b.txt", "br");
    same(&r.content(), &plain);
    let r = get_with(s.addr, "/b.txt", "gzip");
    same(&r.content(), &precompressed);
}

#[test]
fn a_cached_br_variant_is_never_of_an_older_version() {
    let s = start(|c| c.revalidate(PERIOD).gzip_static(false));
    let p = s.root.join("doc.txt");
    std::fs::write(&p, text("first", 60_000)).unwrap();
    thread::sleep(SETTLE);
    // The first br response fills the variant, the second is served from
    // it with its exact length.
    let r = get_with(s.addr, "/doc.txt", "br");
    same(&r.content(), &text("first", 60_000));
    assert_eq!(stats(&s).variant_fills, 1, "{:?}", stats(&s));
    let r = get_with(s.addr, "/doc.txt", "br");
    assert_eq!(r.header("content-encoding"), Some("br"));
    assert_eq!(r.header("content-length"), Some(&*r.body.len().to_string()));
    same(&r.content(), &text("first", 60_000));
    assert_eq!(stats(&s).variant_hits, 1);
    // Each coding is an entry of its own.
    for accept in ["zstd", "gzip"] {
        let r = get_with(s.addr, "/doc.txt", accept);
        assert_eq!(r.header("content-encoding"), Some(accept));
        same(&r.content(), &text("first", 60_000));
    }
    assert_eq!(stats(&s).variant_fills, 3, "{:?}", stats(&s));
    assert_eq!(stats(&s).variant_entries, 3, "{:?}", stats(&s));
    let r = get_with(s.addr, "/doc.txt", "zstd");
    assert_eq!(r.header("content-length"), Some(&*r.body.len().to_string()));
    same(&r.content(), &text("first", 60_000));
    assert_eq!(stats(&s).variant_hits, 2);
    // Rewritten with the same size and mtime: the old variants are never
    // sent for the new version.
    rewrite_in_place(&p, &text("later", 60_000));
    thread::sleep(AFTER_PERIOD);
    for _ in 0..3 {
        for accept in ["br", "zstd", "gzip"] {
            same(
                &get_with(s.addr, "/doc.txt", accept).content(),
                &text("later", 60_000),
            );
        }
    }
    // Settled, cached again (a fill while the loop above ran is fine
    // too): the newest version.
    thread::sleep(SETTLE);
    let before = stats(&s);
    for _ in 0..3 {
        same(
            &get_with(s.addr, "/doc.txt", "br").content(),
            &text("later", 60_000),
        );
    }
    let after = stats(&s);
    assert!(after.variant_fills >= 4, "{after:?}");
    assert!(after.variant_hits >= before.variant_hits + 2, "{after:?}");
}

#[test]
fn etags_differ_per_coding() {
    let (s, _) = with_doc(|c| c);
    let mut tags = Vec::new();
    for accept in ["identity", "gzip", "br", "zstd"] {
        let r = get_with(s.addr, "/doc.txt", accept);
        let want = (accept != "identity").then_some(accept);
        assert_eq!(r.header("content-encoding"), want);
        tags.push((accept, r.header("etag").unwrap().to_owned()));
    }
    for (i, (a, t)) in tags.iter().enumerate() {
        for (b, u) in &tags[i + 1..] {
            assert_ne!(t, u, "{a} and {b}");
        }
    }
    // A tag matches its own coding only: 304 there, 200 in the others.
    for (accept, tag) in &tags {
        for (other, _) in &tags {
            let r = Client::new(s.addr).get(
                "/doc.txt",
                &format!("Accept-Encoding: {other}\r\nIf-None-Match: {tag}\r\n"),
            );
            let want = if accept == other { 304 } else { 200 };
            assert_eq!(r.status(), want, "the tag of {accept}, asking for {other}");
        }
    }
}

/// Waits (up to 20 s) until the server has `n` br and zstd encoders out.
#[track_caller]
fn wait_heavy(s: &TestServer, n: usize) {
    let t0 = std::time::Instant::now();
    while stats(s).heavy_encoders != n {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{} heavy encoders, {n} awaited",
            stats(s).heavy_encoders
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// Past `max_heavy_encoders`, negotiation passes br and zstd over for the
/// next coding the client accepts, by its q-values (issue 11's budget):
/// with a cap of 2 and connections that pipeline zstd and br GETs and
/// never read, a client that reads gets gzip (or identity, or 406, as it
/// asks), and once those connections are gone, zstd again.
#[test]
fn past_the_heavy_encoder_cap_the_next_acceptable_coding_is_sent() {
    use std::net::TcpStream;
    // No variant cache: every zstd and br response is made on the fly.
    let s = start(|c| c.max_heavy_encoders(2).gzip_cache(0, 0));
    std::fs::write(s.root.join("big.txt"), noisy(2_000_000)).unwrap();
    let doc = text("doc", 60_000);
    std::fs::write(s.root.join("doc.txt"), &doc).unwrap();
    let pipelined =
        "GET /big.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: zstd, br\r\n\r\n".repeat(4);
    let hogs: Vec<TcpStream> = (0..4)
        .map(|_| {
            let sock =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            sock.set_recv_buffer_size(4096).unwrap();
            sock.connect(&s.addr.into()).unwrap();
            let mut c: TcpStream = sock.into();
            c.write_all(pipelined.as_bytes()).unwrap();
            c
        })
        .collect();
    wait_heavy(&s, 2);

    let all = get_with(s.addr, "/doc.txt", "zstd, br, gzip");
    assert_eq!(all.status(), 200, "{}", all.head);
    assert_eq!(all.header("content-encoding"), Some("gzip"), "{}", all.head);
    assert_eq!(all.header("vary"), Some("Accept-Encoding"));
    assert!(
        all.header("etag").unwrap().ends_with("-gz\""),
        "{}",
        all.head
    );
    same(&all.content(), &doc);
    // The next by q-value: identity before gzip.
    let q = get_with(
        s.addr,
        "/doc.txt",
        "zstd, br;q=0.9, identity;q=0.5, gzip;q=0.1",
    );
    assert_eq!(q.status(), 200, "{}", q.head);
    assert_eq!(q.header("content-encoding"), None, "{}", q.head);
    same(&q.body, &doc);
    // Nothing acceptable left.
    let none = get_with(s.addr, "/doc.txt", "zstd, br, identity;q=0");
    assert_eq!(none.status(), 406, "{}", none.head);
    // None of those took a permit.
    assert_eq!(stats(&s).heavy_encoders, 2);

    drop(hogs);
    wait_heavy(&s, 0);
    let again = get_with(s.addr, "/doc.txt", "zstd, br, gzip");
    assert_eq!(
        again.header("content-encoding"),
        Some("zstd"),
        "{}",
        again.head
    );
    same(&again.content(), &doc);
    let br = get_with(s.addr, "/doc.txt", "br");
    assert_eq!(br.header("content-encoding"), Some("br"), "{}", br.head);
    same(&br.content(), &doc);
    assert_eq!(stats(&s).heavy_encoders, 0, "given back when sent");
}

/// A sidecar or a variant held in memory needs no encoder: served in br
/// or zstd even when the cap allows none on the fly.
#[test]
fn sidecars_and_held_variants_are_not_counted_against_the_cap() {
    let (s, doc) = with_doc(|c| c.max_heavy_encoders(0));
    let zst = from_bytes(doc.clone()).zstd(19).collect_bytes().unwrap();
    std::fs::write(s.root.join("doc.txt.zst"), &zst).unwrap();
    let r = get_with(s.addr, "/doc.txt", "zstd, br, gzip");
    assert_eq!(r.header("content-encoding"), Some("zstd"), "{}", r.head);
    assert_eq!(r.body, zst, "the sidecar");
    let r = get_with(s.addr, "/doc.txt", "br, gzip;q=0.5");
    assert_eq!(r.header("content-encoding"), Some("gzip"), "{}", r.head);
    same(&r.content(), &doc);

    // A br variant filled while the cap allowed one, then held.
    let (s, doc) = with_doc(|c| c.max_heavy_encoders(1));
    thread::sleep(SETTLE);
    let first = get_with(s.addr, "/doc.txt", "br");
    assert_eq!(first.header("content-encoding"), Some("br"));
    assert_eq!(stats(&s).variant_fills, 1, "{:?}", stats(&s));
    // Hold the one permit with a response that never ends.
    std::fs::write(s.root.join("big.txt"), noisy(2_000_000)).unwrap();
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&s.addr.into()).unwrap();
    let mut hog: std::net::TcpStream = sock.into();
    write!(
        hog,
        "GET /big.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: zstd\r\n\r\n"
    )
    .unwrap();
    wait_heavy(&s, 1);
    let held = get_with(s.addr, "/doc.txt", "br");
    assert_eq!(held.header("content-encoding"), Some("br"), "{}", held.head);
    assert_eq!(held.body, first.body, "from memory");
    same(&held.content(), &doc);
    let fresh = get_with(s.addr, "/doc.txt", "zstd, gzip;q=0.5");
    assert_eq!(
        fresh.header("content-encoding"),
        Some("gzip"),
        "no zstd held"
    );
    drop(hog);
}
