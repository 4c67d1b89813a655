//! The `pipe` example as a process: stages from the shell, errors on
//! standard error with the stage and offset, `--stats`.
//!
//! Needs the examples built first (`cargo build --examples`), as `.ci/run`
//! does; the test says so if the binary is missing.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn example(name: &str) -> PathBuf {
    // …/target/<profile>/deps/pipe-HASH → …/target/<profile>/examples/NAME
    let exe = std::env::current_exe().unwrap();
    let dir = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        dir.exists(),
        "{} is missing: build the examples first (cargo build --examples --all-features)",
        dir.display()
    );
    dir
}

fn pipe(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(example("pipe"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

/// CRLF lines, some starting with a dot; ends with CRLF (dot-stuffing adds
/// one to a body that does not).
fn text(lines: usize) -> Vec<u8> {
    b"We are building the idea in Rust, done right.\r\n.leading dot\r\n".repeat(lines / 2)
}

#[test]
fn stages_round_trip() {
    let data = text(6000);
    let mut chains = vec![
        "chunk:100 chunked chunk:7 dechunk",
        "dotstuff chunk:1K undotstuff glob:4K",
    ];
    if cfg!(feature = "gzip") {
        chains.extend([
            "gzip:1 chunk:3 gunzip",
            "zlib:9 chunked dechunk unzlib",
            "deflate inflate",
        ]);
    }
    if cfg!(feature = "brotli") {
        chains.extend(["br:1 chunk:3 unbr", "br chunked dechunk unbr"]);
    }
    if cfg!(feature = "zstd") {
        chains.extend(["zstd:1 chunk:3 unzstd", "zstd:19 chunked dechunk unzstd"]);
    }
    for chain in chains {
        let out = pipe(&chain.split(' ').collect::<Vec<_>>(), &data);
        assert!(
            out.status.success(),
            "{chain}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout == data, "{chain}: output differs");
    }
}

#[test]
fn chunked_output_is_exactly_the_coding() {
    let out = pipe(&["chunk:5", "chunked"], b"hello world");
    assert!(out.status.success());
    assert_eq!(
        out.stdout,
        b"5\r\nhello\r\n5\r\n worl\r\n1\r\nd\r\n0\r\n\r\n"
    );
}

#[test]
fn malformed_input_exits_1_with_one_line_naming_the_stage_and_offset() {
    let out = pipe(&["dechunk"], b"5\r\nhello\r\n5\r\nworld\r\nzz\r\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        out.stdout, b"helloworld",
        "what came before the error stays written"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("dechunk"), "{err}");
    assert!(err.contains("byte 20"), "{err}");
}

#[test]
fn truncated_input_is_an_error_too() {
    let out = pipe(&["dechunk"], b"5\r\nhel");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"hel");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("dechunk") && err.contains("end"), "{err}");
}

#[test]
fn bad_stage_names_are_a_usage_error() {
    let out = pipe(&["zip"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown stage `zip`"));
}

#[test]
fn stats_show_each_stage() {
    let out = pipe(&["--stats", "chunk:10", "glob:25"], &[b'x'; 100]);
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let chunk = err
        .lines()
        .find(|l| l.trim_start().starts_with("chunk:10"))
        .expect(&err);
    let glob = err
        .lines()
        .find(|l| l.trim_start().starts_with("glob:25"))
        .expect(&err);
    let fields = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(fields(chunk)[2..4], ["10", "100"], "{chunk}");
    assert_eq!(fields(glob)[2..4], ["4", "100"], "{glob}");
}

/// Runs `pipe STAGE` on `input` and checks it failed with exit status 1 and
/// one line on standard error naming the stage and `at` (issue 11).
#[track_caller]
fn assert_trailing_data_refused(stage: &str, input: &[u8], at: &str) -> Vec<u8> {
    let out = pipe(&[stage], input);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stage}: {err}");
    assert_eq!(err.lines().count(), 1, "{stage}: {err}");
    assert!(err.contains(&format!("stage `{stage}`")), "{stage}: {err}");
    assert!(err.contains("trailing data"), "{stage}: {err}");
    assert!(err.contains(at), "{stage} names the offset ({at}): {err}");
    out.stdout
}

#[test]
fn dechunk_refuses_trailing_data() {
    let out = assert_trailing_data_refused("dechunk", b"0\r\n\r\nEXTRA", "byte 5");
    assert!(out.is_empty());
    let out = assert_trailing_data_refused("dechunk", b"2\r\nhi\r\n0\r\n\r\n\r\n", "byte 12");
    assert_eq!(out, b"hi");
}

#[test]
fn undotstuff_refuses_trailing_data() {
    let out = assert_trailing_data_refused("undotstuff", b"a\r\n.\r\nEXTRA", "byte 6");
    assert_eq!(out, b"a\r\n");
}

#[test]
fn gzip_decoders_refuse_trailing_data() {
    if !cfg!(feature = "gzip") {
        return;
    }
    let mut pairs = vec![
        ("gzip", "gunzip"),
        ("zlib", "unzlib"),
        ("deflate", "inflate"),
    ];
    if cfg!(feature = "brotli") {
        pairs.push(("br", "unbr"));
    }
    if cfg!(feature = "zstd") {
        pairs.push(("zstd", "unzstd"));
    }
    for (encode, decode) in pairs {
        let mut wire = pipe(&[encode], b"hello").stdout;
        let at = format!("offset {}", wire.len());
        wire.extend_from_slice(b"EXTRA");
        let out = assert_trailing_data_refused(decode, &wire, &at);
        assert_eq!(out, b"hello", "{decode}");
    }
}

#[test]
fn sizes_beyond_their_maximum_are_usage_errors_not_aborts() {
    // Issue 11: `pipe glob:64G` died of SIGABRT on a failed allocation.
    let mut cases = vec![
        ("glob:64G", "glob:64G: size too large (max 64M)"),
        ("chunk:1T", "chunk:1T: size too large (max 64M)"),
        ("chunk:64G", "chunk:64G: size too large (max 64M)"),
        ("glob:67108865", "glob:67108865: size too large (max 64M)"),
        (
            "glob:99999999999999999999",
            "glob:99999999999999999999: size too large (max 64M)",
        ),
    ];
    if cfg!(feature = "gzip") {
        cases.push(("gzip:10", "gzip:10: level must be a number from 0 to 9"));
    }
    if cfg!(feature = "brotli") {
        cases.push(("br:12", "br:12: level must be a number from 0 to 11"));
    }
    if cfg!(feature = "zstd") {
        cases.push(("zstd:23", "zstd:23: level must be a number from 1 to 22"));
    }
    for (stage, message) in cases {
        let out = pipe(&[stage], &[b'x'; 1000]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stage}: {err}");
        assert!(out.stdout.is_empty(), "{stage}");
        assert!(
            err.starts_with(&format!("pipe: {message}\n")),
            "{stage}: {err}"
        );
        assert!(err.contains("usage:"), "{stage}: {err}");
    }
    // The maximum itself is accepted.
    let out = pipe(&["glob:64M", "chunk:64M"], &[b'x'; 1000]);
    assert!(out.status.success());
    assert_eq!(out.stdout, [b'x'; 1000]);
}
