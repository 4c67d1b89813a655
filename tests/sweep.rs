//! The `sweep` example as a process, on a small size: its CSV has one row
//! per (chunk, glob) point with the expected columns, and every byte that
//! went in came out, in memory and over a socket.
//!
//! Needs the examples built first (`cargo build --examples`), as `.ci/run`
//! does; the test says so if the binary is missing.
//!
//! The example needs the `reactor` feature (its `required-features`), so
//! without it there is no binary and nothing to run.
#![cfg(feature = "reactor")]

use std::path::PathBuf;
use std::process::{Command, Output};

fn example(name: &str) -> PathBuf {
    // …/target/<profile>/deps/sweep-HASH → …/target/<profile>/examples/NAME
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: build the examples first (cargo build --examples --all-features)",
        path.display()
    );
    path
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sweep-test-{}-{name}", std::process::id()))
}

fn sweep(args: &[&str]) -> Output {
    let out = Command::new(example("sweep")).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "sweep {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const COLUMNS: [&str; 18] = [
    "stages",
    "mode",
    "chunk",
    "glob",
    "runs",
    "bytes_in",
    "bytes_out",
    "median_mib_s",
    "min_mib_s",
    "max_mib_s",
    "spread",
    "trusted",
    "more_calls",
    "writes",
    "writes_per_mib",
    "alloc_per_byte",
    "p50_ns",
    "p99_ns",
];

/// The rows of a CSV as column → value maps, after checking the header.
fn rows(csv: &str) -> Vec<Vec<(String, String)>> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header, COLUMNS);
    lines
        .map(|l| {
            // The stages field is quoted and may hold no comma; split the
            // rest.
            let (stages, rest) = l.strip_prefix('"').unwrap().split_once("\",").unwrap();
            let mut fields = vec![stages.to_string()];
            fields.extend(rest.split(',').map(str::to_string));
            assert_eq!(fields.len(), COLUMNS.len(), "row {l}");
            COLUMNS.iter().map(|c| c.to_string()).zip(fields).collect()
        })
        .collect()
}

fn get<'a>(row: &'a [(String, String)], col: &str) -> &'a str {
    &row.iter().find(|(c, _)| c == col).unwrap().1
}

fn num(row: &[(String, String)], col: &str) -> f64 {
    get(row, col)
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {} is not a number", get(row, col)))
}

/// Runs a sweep into a CSV and checks its shape; returns the rows.
fn check(mode_args: &[&str], stages: &str, mode: &str) -> Vec<Vec<(String, String)>> {
    let csv = scratch(&format!("{mode}.csv"));
    let svg = scratch(&format!("{mode}.svg"));
    let mut args = vec![
        "--stages",
        stages,
        "--chunk",
        "512,64K",
        "--glob",
        "0,4K",
        "--size",
        "3M",
        "--repeat",
        "3",
        "--csv",
        csv.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ];
    args.extend_from_slice(mode_args);
    let out = sweep(&args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(&format!("csv written to {}", csv.display())));
    assert!(stdout.contains(&format!("chart written to {}", svg.display())));
    assert!(stdout.contains("MiB/s"), "a table: {stdout}");
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg") && chart.contains("glob 4K"));
    let text = std::fs::read_to_string(&csv).unwrap();
    let _ = std::fs::remove_file(&csv);
    let _ = std::fs::remove_file(&svg);
    let rows = rows(&text);
    let points: Vec<(u64, u64)> = rows
        .iter()
        .map(|r| (num(r, "chunk") as u64, num(r, "glob") as u64))
        .collect();
    assert_eq!(points, [(512, 0), (65536, 0), (512, 4096), (65536, 4096)]);
    for r in &rows {
        assert_eq!(get(r, "stages"), stages);
        assert_eq!(get(r, "mode"), mode);
        assert_eq!(num(r, "runs"), 3.0);
        assert_eq!(num(r, "bytes_in"), (3 << 20) as f64);
        assert!(num(r, "min_mib_s") <= num(r, "median_mib_s"));
        assert!(num(r, "median_mib_s") <= num(r, "max_mib_s"));
        assert!(num(r, "median_mib_s") > 0.0);
        assert!(num(r, "writes") >= 1.0);
        assert!(num(r, "p50_ns") <= num(r, "p99_ns"));
        assert!(matches!(get(r, "trusted"), "true" | "false"));
    }
    rows
}

#[test]
fn in_memory_every_byte_comes_out_and_globbing_cuts_writes() {
    let rows = check(&[], "chunk:1K", "memory");
    for r in &rows {
        assert_eq!(num(r, "bytes_out"), num(r, "bytes_in"), "row {r:?}");
    }
    // 512-byte chunks: the driver gathers at most `MAX_SLICES` (128) per
    // write (64 KiB); a 4 KiB glob hands out 4 KiB chunks, 128 of them per
    // write too.
    let writes = |chunk: f64, glob: f64| {
        let r = rows
            .iter()
            .find(|r| num(r, "chunk") == chunk && num(r, "glob") == glob)
            .unwrap();
        num(r, "writes")
    };
    let slices = producers::io::MAX_SLICES as f64;
    assert_eq!(writes(512.0, 0.0), (3 << 20) as f64 / (512.0 * slices));
    assert_eq!(writes(512.0, 4096.0), (3 << 20) as f64 / (4096.0 * slices));
    // Source calls (3 MiB / 512 + the end) plus the chunk:1K stage's.
    let first = &rows[0];
    assert_eq!(num(first, "more_calls"), (6144 + 1 + 6144 + 1) as f64);
}

#[test]
fn through_a_codec_pair_every_byte_comes_out() {
    let rows = check(&[], "chunked dechunk", "memory");
    for r in &rows {
        assert_eq!(num(r, "bytes_out"), num(r, "bytes_in"), "row {r:?}");
    }
}

#[test]
fn over_a_socket_every_byte_comes_out() {
    let rows = check(&["--socket"], "chunk:1K", "socket");
    for r in &rows {
        assert_eq!(num(r, "bytes_out"), num(r, "bytes_in"), "row {r:?}");
    }
}

#[test]
fn sizes_beyond_their_maximum_are_usage_errors_not_aborts() {
    // Issue 11: no size argument may abort the process.
    for (args, message) in [
        (
            &["--glob", "64G"][..],
            "--glob 64G: size too large (max 64M)",
        ),
        (
            &["--chunk", "4K,1T"],
            "--chunk 1T: size too large (max 64M)",
        ),
        (&["--size", "64G"], "--size 64G: size too large (max 1G)"),
        (
            &["--stages", "glob:64G"],
            "glob:64G: size too large (max 64M)",
        ),
        (&["--repeat", "99999999999"], "bad repeat count"),
    ] {
        let out = Command::new(example("sweep")).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("sweep: ") && err.contains(message), "{err}");
    }
}

#[test]
fn bad_arguments_are_refused_with_usage() {
    for args in [
        &["--chunk", "0"][..],
        &["--stages", "zip"],
        &["--repeat", "0"],
        &["--frobnicate"],
    ] {
        let out = Command::new(example("sweep")).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("sweep: ") && err.contains("usage:"),
            "{err}"
        );
    }
}
