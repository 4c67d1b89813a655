//! The server's file caches (issue 14): the open-file cache revalidated
//! every period, precompressed sidecars, and compressed variants held in
//! memory. Each change to a file — rewritten with the same size and
//! `mtime`, replaced by a rename, truncated, deleted, a directory replaced
//! by a file, a file replaced by a symbolic link out of the root — is
//! served as it is now once the period has passed; no response mixes two
//! versions; no compressed variant of an older version is sent; both
//! caches stay within their bounds. The server runs in-process on
//! 127.0.0.1:0; nothing here is timed (the sleeps only let the period or
//! the one-second "settled" window pass).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, SystemTime};

use producers::http::ServerConfig;
use producers::{ProducerExt, from_bytes};

#[path = "util/file_server.rs"]
mod file_server;
use file_server::*;

fn get(addr: SocketAddr, path: &str) -> Resp {
    Client::new(addr).get(path, "")
}

fn get_gzip(addr: SocketAddr, path: &str) -> Resp {
    Client::new(addr).get(path, "Accept-Encoding: gzip\r\n")
}

fn replace_by_rename(path: &Path, data: &[u8]) {
    let tmp = path.with_extension("tmp-rename");
    std::fs::write(&tmp, data).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn a_hot_small_file_costs_no_file_system_call() {
    let s = start(with_period(Duration::from_secs(3600)));
    let data = text("hot", 1024);
    std::fs::write(s.root.join("hot.txt"), &data).unwrap();
    thread::sleep(SETTLE);
    let mut c = Client::new(s.addr);
    let r = c.get("/hot.txt", "");
    assert_eq!((r.status(), &r.body[..]), (200, &data[..]));
    let before = stats(&s);
    assert_eq!(before.file_opens, 1);
    for _ in 0..50 {
        let r = c.get("/hot.txt", "");
        assert_eq!((r.status(), &r.body[..]), (200, &data[..]));
    }
    let after = stats(&s);
    assert_eq!(
        (after.file_opens, after.file_stats, after.file_reads),
        (before.file_opens, before.file_stats, before.file_reads),
        "{after:?}"
    );
    assert_eq!(after.open_hits, before.open_hits + 50);
    assert_eq!(after.open_bytes, 1024);
}

#[test]
fn a_zero_period_checks_at_every_request_with_one_stat() {
    let s = start(with_period(Duration::ZERO));
    let p = s.root.join("a.txt");
    std::fs::write(&p, text("one", 2000)).unwrap();
    thread::sleep(SETTLE);
    same(&get(s.addr, "/a.txt").body, &text("one", 2000));
    let before = stats(&s);
    for _ in 0..10 {
        get(s.addr, "/a.txt");
    }
    let after = stats(&s);
    assert_eq!(after.file_stats, before.file_stats + 10);
    assert_eq!(
        (after.file_opens, after.file_reads),
        (before.file_opens, before.file_reads)
    );
    // And each change is seen at once.
    rewrite_in_place(&p, &text("two", 2000));
    same(&get(s.addr, "/a.txt").body, &text("two", 2000));
    replace_by_rename(&p, &text("three", 3000));
    same(&get(s.addr, "/a.txt").body, &text("three", 3000));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(10)
        .unwrap();
    same(&get(s.addr, "/a.txt").body, &text("three", 3000)[..10]);
    std::fs::remove_file(&p).unwrap();
    assert_eq!(get(s.addr, "/a.txt").status(), 404);
}

/// Rewritten in place with the same size and the same `mtime`, before and
/// after the file settled (its bytes held in memory, then not yet).
#[test]
fn rewritten_with_the_same_size_in_the_same_second_is_served_after_the_period() {
    let s = start(with_period(PERIOD));
    let p = s.root.join("same.txt");
    std::fs::write(&p, text("AAAA", 5000)).unwrap();
    same(&get(s.addr, "/same.txt").body, &text("AAAA", 5000));
    rewrite_in_place(&p, &text("BBBB", 5000));
    thread::sleep(AFTER_PERIOD);
    same(&get(s.addr, "/same.txt").body, &text("BBBB", 5000));
    // Settled: now the bytes are held.
    thread::sleep(SETTLE);
    same(&get(s.addr, "/same.txt").body, &text("BBBB", 5000));
    same(&get(s.addr, "/same.txt").body, &text("BBBB", 5000));
    assert!(stats(&s).open_bytes >= 5000, "{:?}", stats(&s));
    rewrite_in_place(&p, &text("CCCC", 5000));
    thread::sleep(AFTER_PERIOD);
    same(&get(s.addr, "/same.txt").body, &text("CCCC", 5000));
}

#[test]
fn replaced_by_a_rename_is_served_after_the_period() {
    let s = start(with_period(PERIOD));
    // A small file (held in memory once settled) and a large one (sent
    // with sendfile from the held descriptor).
    for (name, n) in [("small.txt", 3000), ("large.txt", 200_000)] {
        let p = s.root.join(name);
        std::fs::write(&p, text("old", n)).unwrap();
        same(&get(s.addr, &format!("/{name}")).body, &text("old", n));
        replace_by_rename(&p, &text("new", n));
        thread::sleep(AFTER_PERIOD);
        same(&get(s.addr, &format!("/{name}")).body, &text("new", n));
    }
}

#[test]
fn truncated_is_served_after_the_period() {
    let s = start(with_period(PERIOD));
    let p = s.root.join("t.txt");
    std::fs::write(&p, text("x", 100_000)).unwrap();
    thread::sleep(SETTLE);
    assert_eq!(get(s.addr, "/t.txt").body.len(), 100_000);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(1000)
        .unwrap();
    thread::sleep(AFTER_PERIOD);
    let r = get(s.addr, "/t.txt");
    assert_eq!(
        (r.status(), &r.body[..]),
        (200, &text("x", 100_000)[..1000])
    );
    assert_eq!(r.header("content-length"), Some("1000"));
}

#[test]
fn deleted_is_404_after_the_period() {
    let s = start(with_period(PERIOD));
    let p = s.root.join("gone.txt");
    std::fs::write(&p, b"here").unwrap();
    assert_eq!(get(s.addr, "/gone.txt").status(), 200);
    std::fs::remove_file(&p).unwrap();
    thread::sleep(AFTER_PERIOD);
    assert_eq!(get(s.addr, "/gone.txt").status(), 404);
    assert_eq!(get(s.addr, "/gone.txt").status(), 404);
}

#[test]
fn a_directory_replaced_by_a_file_is_served_after_the_period() {
    let s = start(with_period(PERIOD));
    std::fs::create_dir(s.root.join("d")).unwrap();
    std::fs::write(s.root.join("d/x.txt"), b"inside d").unwrap();
    same(&get(s.addr, "/d/x.txt").body, b"inside d");
    assert_eq!(get(s.addr, "/d/").status(), 200, "a listing");
    std::fs::remove_dir_all(s.root.join("d")).unwrap();
    std::fs::write(s.root.join("d"), b"d is a file now").unwrap();
    thread::sleep(AFTER_PERIOD);
    assert_eq!(get(s.addr, "/d/x.txt").status(), 404);
    same(&get(s.addr, "/d").body, b"d is a file now");
    // And back: the file replaced by a directory.
    assert_eq!(get(s.addr, "/d").status(), 200);
    std::fs::remove_file(s.root.join("d")).unwrap();
    std::fs::create_dir(s.root.join("d")).unwrap();
    thread::sleep(AFTER_PERIOD);
    let r = get(s.addr, "/d");
    assert_eq!(r.status(), 301, "a directory again: {}", r.head);
}

#[test]
fn a_file_replaced_by_a_symlink_out_of_the_root_is_refused_after_the_period() {
    let s = start(with_period(PERIOD));
    let secret = s.base.join("secret.txt");
    std::fs::write(&secret, b"top secret, outside the root").unwrap();
    let p = s.root.join("f.txt");
    std::fs::write(&p, b"public").unwrap();
    thread::sleep(SETTLE);
    same(&get(s.addr, "/f.txt").body, b"public");
    same(&get(s.addr, "/f.txt").body, b"public");
    std::fs::remove_file(&p).unwrap();
    std::os::unix::fs::symlink(&secret, &p).unwrap();
    thread::sleep(AFTER_PERIOD);
    for _ in 0..3 {
        let r = get(s.addr, "/f.txt");
        assert!(
            matches!(r.status(), 403 | 404),
            "{} {:?}",
            r.head,
            String::from_utf8_lossy(&r.body)
        );
        assert!(find(&r.body, b"secret").is_none());
    }
}

/// A writer swaps two versions in by rename as fast as it can while
/// clients ask for the file, plain and gzip: every body is one version
/// whole.
fn no_response_mixes_two_versions(period: Duration) {
    let s = start(with_period(period));
    let versions: Vec<Vec<u8>> = vec![text("AAAAAAAA", 80_000), text("BBBBBBBB", 80_000)];
    let small: Vec<Vec<u8>> = vec![text("aaaa", 4000), text("bbbb", 4000)];
    std::fs::write(s.root.join("v.txt"), &versions[0]).unwrap();
    std::fs::write(s.root.join("s.txt"), &small[0]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, root) = (stop.clone(), s.root.clone());
        let (versions, small) = (versions.clone(), small.clone());
        thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                replace_by_rename(&root.join("v.txt"), &versions[i % 2]);
                replace_by_rename(&root.join("s.txt"), &small[i % 2]);
                thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let mut c = Client::new(s.addr);
    let mut seen = [0usize; 2];
    for i in 0..300 {
        let gzip = if i % 3 == 0 {
            "Accept-Encoding: gzip\r\n"
        } else {
            ""
        };
        for (path, versions) in [("/v.txt", &versions), ("/s.txt", &small)] {
            let r = c.get(path, gzip);
            assert_eq!(r.status(), 200, "{}", r.head);
            let body = r.content();
            let which = versions.iter().position(|v| *v == body);
            let Some(which) = which else {
                panic!(
                    "request {i} {path}: a body of {} bytes that is neither version",
                    body.len()
                );
            };
            seen[which] += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(seen[0] + seen[1] == 600);
}

#[test]
fn no_response_mixes_two_versions_with_a_short_period() {
    no_response_mixes_two_versions(PERIOD);
}

#[test]
fn no_response_mixes_two_versions_with_a_zero_period() {
    no_response_mixes_two_versions(Duration::ZERO);
}

#[test]
fn never_a_compressed_variant_of_an_older_version() {
    let s = start(with_period(PERIOD).and_then_gzip_static_off());
    let p = s.root.join("doc.txt");
    std::fs::write(&p, text("first", 60_000)).unwrap();
    thread::sleep(SETTLE);
    // The first gzip response fills the variant, the second is served
    // from it, with its exact length.
    let r = get_gzip(s.addr, "/doc.txt");
    same(&r.content(), &text("first", 60_000));
    assert_eq!(stats(&s).variant_fills, 1, "{:?}", stats(&s));
    let r = get_gzip(s.addr, "/doc.txt");
    same(&r.content(), &text("first", 60_000));
    assert_eq!(r.header("content-length"), Some(&*r.body.len().to_string()));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert!(r.header("etag").unwrap().ends_with("-gz\""));
    assert_eq!(stats(&s).variant_hits, 1);
    // Rewritten with the same size and mtime: the old variant is never
    // sent for the new version.
    rewrite_in_place(&p, &text("later", 60_000));
    thread::sleep(AFTER_PERIOD);
    for _ in 0..3 {
        same(
            &get_gzip(s.addr, "/doc.txt").content(),
            &text("later", 60_000),
        );
    }
    // Replaced by a rename, settled, cached again: the newest version.
    replace_by_rename(&p, &text("third", 60_000));
    thread::sleep(SETTLE);
    for _ in 0..3 {
        same(
            &get_gzip(s.addr, "/doc.txt").content(),
            &text("third", 60_000),
        );
    }
    assert_eq!(stats(&s).variant_fills, 2, "{:?}", stats(&s));
}

trait ConfigExt {
    fn and_then_gzip_static_off(self) -> impl FnOnce(ServerConfig) -> ServerConfig;
}

impl<F: FnOnce(ServerConfig) -> ServerConfig> ConfigExt for F {
    fn and_then_gzip_static_off(self) -> impl FnOnce(ServerConfig) -> ServerConfig {
        move |c| self(c).gzip_static(false)
    }
}

#[test]
fn both_caches_stay_within_their_bounds_over_more_files_than_fit() {
    const ENTRIES: usize = 8;
    const OPEN_BYTES: usize = 40_000;
    const VARIANT_BYTES: usize = 30_000;
    let s = start(|c| {
        c.revalidate(Duration::from_secs(3600))
            .open_file_cache(ENTRIES, OPEN_BYTES, 16 << 10)
            .gzip_cache(VARIANT_BYTES, 1 << 20)
    });
    let files: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| {
            (
                format!("f{i}.txt"),
                text(&format!("file {i}"), 10_000 + i * 100),
            )
        })
        .collect();
    for (name, data) in &files {
        std::fs::write(s.root.join(name), data).unwrap();
    }
    thread::sleep(SETTLE);
    for _round in 0..2 {
        for (name, data) in &files {
            let path = format!("/{name}");
            same(&get(s.addr, &path).body, data);
            same(&get_gzip(s.addr, &path).content(), data);
            let st = stats(&s);
            assert!(st.open_entries <= ENTRIES, "{st:?}");
            assert!(st.open_bytes <= OPEN_BYTES, "{st:?}");
            assert!(st.variant_bytes <= VARIANT_BYTES, "{st:?}");
        }
    }
    let st = stats(&s);
    assert!(st.open_evictions > 0, "{st:?}");
    assert!(st.open_bytes > 0 && st.variant_bytes > 0, "{st:?}");
    assert!(st.variant_fills >= 40, "{st:?}");
}

#[test]
fn a_sidecar_is_served_only_when_not_older_than_the_file() {
    let s = start(with_period(PERIOD));
    let plain = text("plain", 50_000);
    // The sidecar's content differs, so which one was sent is plain.
    let precompressed = text("sidecar", 50_000);
    let gz = from_bytes(precompressed.clone())
        .gzip(9)
        .collect_bytes()
        .unwrap();
    std::fs::write(s.root.join("a.txt"), &plain).unwrap();
    std::fs::write(s.root.join("a.txt.gz"), &gz).unwrap();
    let r = get_gzip(s.addr, "/a.txt");
    assert_eq!(r.status(), 200);
    same(&r.body, &gz[..]);
    assert_eq!(r.header("content-length"), Some(&*gz.len().to_string()));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let etag = r.header("etag").unwrap().to_owned();
    assert_eq!(stats(&s).sidecar_hits, 1);
    // Its own validator: a 304 for it, and it is not the file's.
    let r = Client::new(s.addr).get(
        "/a.txt",
        &format!("Accept-Encoding: gzip\r\nIf-None-Match: {etag}\r\n"),
    );
    assert_eq!(r.status(), 304);
    let identity = get(s.addr, "/a.txt");
    same(&identity.body, &plain);
    assert_ne!(identity.header("etag").unwrap(), etag);
    let r = Client::new(s.addr).get("/a.txt", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!(r.status(), 200, "the sidecar's tag is not the file's");

    // The file is newer than its sidecar: compressed from the file.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(s.root.join("a.txt.gz"))
        .unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    thread::sleep(AFTER_PERIOD);
    let r = get_gzip(s.addr, "/a.txt");
    same(&r.content(), &plain);
    assert_ne!(r.header("etag").unwrap(), etag);
    assert_eq!(stats(&s).sidecar_hits, 1);

    // Off: never sent.
    let s = start(|c| c.revalidate(PERIOD).gzip_static(false));
    std::fs::write(s.root.join("b.txt"), &plain).unwrap();
    std::fs::write(s.root.join("b.txt.gz"), &gz).unwrap();
    same(&get_gzip(s.addr, "/b.txt").content(), &plain);
    // A file with no sidecar: its absence is remembered, not looked up at
    // every request.
    let s = start(|c| c.revalidate(Duration::from_secs(3600)));
    std::fs::write(s.root.join("c.txt"), &plain).unwrap();
    thread::sleep(SETTLE);
    same(&get_gzip(s.addr, "/c.txt").content(), &plain);
    same(&get_gzip(s.addr, "/c.txt").content(), &plain);
    let before = stats(&s);
    same(&get_gzip(s.addr, "/c.txt").content(), &plain);
    let after = stats(&s);
    assert_eq!(
        (after.file_opens, after.file_stats, after.file_reads),
        (before.file_opens, before.file_stats, before.file_reads),
        "{after:?}"
    );
    assert_eq!(after.variant_hits, before.variant_hits + 1);
}
