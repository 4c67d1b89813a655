//! Interoperability with real peers: the system `gzip` and Python's `zlib`
//! and `gzip` modules, both ways. Both tools are required (CI installs
//! them); a missing one fails the test with a message saying so.
#![cfg(feature = "gzip")]

#[path = "util/run_tool.rs"]
mod run_tool;
use run_tool::run;

use producers::codec::gzip::{FlushPolicy, Format};
use producers::{ProducerExt, from_bytes};

/// Python reading stdin and writing stdout, binary.
#[track_caller]
fn python(code: &str, input: &[u8]) -> Vec<u8> {
    let script = format!(
        "import sys, zlib, gzip\ndata = sys.stdin.buffer.read()\nsys.stdout.buffer.write({code})\n"
    );
    run("python3", &["-c", &script], input)
}

fn text(n: usize) -> Vec<u8> {
    let words = [
        "event", "data", "id", "retry", "producer", "gzip", "chunk", "the", "of",
    ];
    let mut out = Vec::new();
    let mut x: u32 = 7;
    while out.len() < n {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        out.extend_from_slice(words[(x >> 16) as usize % words.len()].as_bytes());
        out.extend_from_slice(if x.is_multiple_of(7) { b"\n" } else { b" " });
    }
    out.truncate(n);
    out
}

fn encode(format: Format, level: u32, policy: FlushPolicy, data: &[u8]) -> Vec<u8> {
    let src = from_bytes(data.to_vec()).pieces(1000);
    let p = match format {
        Format::Gzip => src.gzip(level),
        Format::Zlib => src.zlib(level),
        Format::Deflate => src.deflate(level),
    };
    p.flush_policy(policy).collect_bytes().unwrap().to_vec()
}

fn decode(format: Format, stream: &[u8]) -> Vec<u8> {
    let src = from_bytes(stream.to_vec()).pieces(777);
    let p = match format {
        Format::Gzip => src.gunzip(),
        Format::Zlib => src.unzlib(),
        Format::Deflate => src.inflate(),
    };
    p.collect_bytes().unwrap().to_vec()
}

fn policies() -> [FlushPolicy; 3] {
    [
        FlushPolicy::AtEnd,
        FlushPolicy::OnPending,
        FlushPolicy::every(4096),
    ]
}

#[test]
fn system_gzip_decodes_our_gzip() {
    let data = text(100_000);
    for level in [0, 1, 6, 9] {
        for policy in policies() {
            let ours = encode(Format::Gzip, level, policy, &data);
            assert_eq!(
                run("gzip", &["-d", "-c"], &ours),
                data,
                "level {level} {policy:?}"
            );
        }
    }
    assert_eq!(
        run(
            "gzip",
            &["-d", "-c"],
            &encode(Format::Gzip, 6, FlushPolicy::AtEnd, b"")
        ),
        b""
    );
}

#[test]
fn python_decodes_our_zlib_deflate_and_gzip() {
    let data = text(60_000);
    for policy in policies() {
        let z = encode(Format::Zlib, 6, policy, &data);
        assert_eq!(
            python("zlib.decompress(data, 15)", &z),
            data,
            "zlib {policy:?}"
        );
        let d = encode(Format::Deflate, 6, policy, &data);
        assert_eq!(
            python("zlib.decompress(data, -15)", &d),
            data,
            "deflate {policy:?}"
        );
        let g = encode(Format::Gzip, 6, policy, &data);
        assert_eq!(
            python("zlib.decompress(data, 31)", &g),
            data,
            "gzip via zlib {policy:?}"
        );
        assert_eq!(
            python("gzip.decompress(data)", &g),
            data,
            "gzip module {policy:?}"
        );
    }
}

#[test]
fn we_decode_system_gzip_output_including_multi_member() {
    let a = text(50_000);
    let b = b"second member\n".repeat(100);
    for level in ["-1", "-6", "-9"] {
        let ga = run("gzip", &["-c", "-n", level], &a);
        assert_eq!(decode(Format::Gzip, &ga), a, "gzip {level}");
    }
    // gzip with a file name in the header (FNAME): compress a named file.
    let dir = std::env::temp_dir().join(format!("producers-gzip-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("named.txt");
    std::fs::write(&path, &a).unwrap();
    let named = run("gzip", &["-c", path.to_str().unwrap()], b"");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_ne!(named[3] & 0x08, 0, "gzip stored the name");
    assert_eq!(decode(Format::Gzip, &named), a);
    // `cat a.gz b.gz`
    let ga = run("gzip", &["-c"], &a);
    let gb = run("gzip", &["-c"], &b);
    let cat = [ga, gb].concat();
    assert_eq!(decode(Format::Gzip, &cat), [&a[..], &b[..]].concat());
    // And gzip agrees that our reading of the concatenation is right.
    assert_eq!(run("gzip", &["-d", "-c"], &cat), [&a[..], &b[..]].concat());
}

#[test]
fn we_decode_python_output_in_all_three_formats() {
    let data = text(70_000);
    for level in [1, 6, 9] {
        let z = python(&format!("zlib.compress(data, {level})"), &data);
        assert_eq!(decode(Format::Zlib, &z), data, "zlib {level}");
        let d = python(
            &format!(
                "(lambda c: c.compress(data) + c.flush())(zlib.compressobj({level}, zlib.DEFLATED, -15))"
            ),
            &data,
        );
        assert_eq!(decode(Format::Deflate, &d), data, "deflate {level}");
        let g = python(&format!("gzip.compress(data, {level})"), &data);
        assert_eq!(decode(Format::Gzip, &g), data, "gzip {level}");
    }
    // Python's streamed output with sync flushes in it.
    let z = python(
        "(lambda c: c.compress(data[:1000]) + c.flush(zlib.Z_SYNC_FLUSH) + c.compress(data[1000:]) + c.flush())(zlib.compressobj())",
        &data,
    );
    assert_eq!(decode(Format::Zlib, &z), data);
    let multi = python("gzip.compress(data[:5]) + gzip.compress(data[5:])", &data);
    assert_eq!(decode(Format::Gzip, &multi), data);
}
