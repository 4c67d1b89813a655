//! `sweep`: chunk and glob sizes, measured.
//!
//! Run:
//!
//! ```sh
//! cargo run --release --features stage --example sweep -- --stages "gzip:1 chunked" \
//!     --chunk 64,512,4K,64K,1M --glob 0,4K,64K --size 256M \
//!     [--input FILE] [--socket] [--repeat 5] [--svg out.svg] [--csv out.csv]
//! ```
//!
//! For every combination of source chunk size and glob size, runs the
//! pipeline `source → STAGES → glob:G` (no glob for `G = 0`; stages as the
//! `pipe` example takes them) `--repeat` times and reports the median with
//! its spread. The source is deterministic generated text of `--size` bytes
//! handed out by `BytesProducer::with_piece_size(data, chunk)`, or `--input
//! FILE` read by `FileProducer::block_size(chunk)`.
//!
//! The sink is, in memory (the default), the library's vectored driver
//! (`producers::io::Driver`) into a writer that counts, copies into a scratch
//! buffer (as a kernel copies into a socket buffer) and discards; with
//! `--socket`, a reactor channel writing to a loopback TCP reader thread that
//! counts and discards, the writes being the reactor's own count of write
//! system calls (`Stats::writes`).
//!
//! A progress bar runs on standard error (when it is a terminal); then a
//! table goes to standard output, and the chart (throughput against chunk
//! size, one line per glob size) to `--svg`, one row per point to `--csv`.

mod chart;
mod measure;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use producers::stage::{MAX_CHUNK, MAX_GLOB, Stage, format_size, parse_size, parse_stages};

use measure::{Input, Point, Run, Sink};

const USAGE: &str = "usage: sweep [--stages \"STAGE...\"] [--chunk SIZES] [--glob SIZES]
             [--size SIZE | --input FILE] [--socket] [--repeat N]
             [--svg FILE] [--csv FILE]
  --stages   the pipeline after the source, as `pipe` takes it (default: none)
  --chunk    source chunk sizes, comma-separated (default: 64,512,4K,64K,1M;
             at most 64M)
  --glob     glob sizes after the stages, 0 for none (default: 0,4K,64K;
             at most 64M)
  --size     generated input size (default: 64M, at most 1G: it is held in
             memory); --input reads FILE instead
  --socket   send through a reactor channel to a loopback reader, not in memory
  --repeat   runs per point; the median is reported (default: 5, at most 1000)
  --svg      write the chart (throughput against chunk size) to FILE
  --csv      write one row per point to FILE
sizes take K, M, G, T suffixes (powers of 1024)";

/// The largest generated input (`--size`): it is held in memory.
const MAX_INPUT: usize = 1 << 30;
/// The most runs per point (`--repeat`); their timings are kept.
const MAX_REPEAT: usize = 1000;

/// A spread (max − min over the median) above this makes a point untrusted.
const TRUSTED_SPREAD: f64 = 0.20;

struct Args {
    stages: Vec<Stage>,
    spec: String,
    chunks: Vec<usize>,
    globs: Vec<usize>,
    size: usize,
    input: Option<PathBuf>,
    socket: bool,
    repeat: usize,
    svg: Option<PathBuf>,
    csv: Option<PathBuf>,
}

/// Parses comma-separated sizes from `min` to `max` bytes. Every size has a
/// maximum so that no argument can abort the process on a failed allocation
/// (issue 11).
fn sizes(flag: &str, s: &str, min: u64, max: usize) -> Result<Vec<usize>, String> {
    s.split(',')
        .map(|v| match parse_size(v) {
            Some(n) if n > max as u64 => Err(too_large(flag, v, max)),
            Some(n) if n >= min => Ok(n as usize),
            _ => Err(format!("{flag} {v}: bad size")),
        })
        .collect()
}

fn too_large(flag: &str, v: &str, max: usize) -> String {
    format!(
        "{flag} {v}: size too large (max {})",
        format_size(max as u64)
    )
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut a = Args {
        stages: Vec::new(),
        spec: String::new(),
        chunks: sizes("--chunk", "64,512,4K,64K,1M", 1, MAX_CHUNK)?,
        globs: sizes("--glob", "0,4K,64K", 0, MAX_GLOB)?,
        size: 64 << 20,
        input: None,
        socket: false,
        repeat: 5,
        svg: None,
        csv: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--stages" => {
                a.spec = value()?;
                a.stages = parse_stages(&a.spec).map_err(|e| e.to_string())?;
            }
            "--chunk" => a.chunks = sizes(&flag, &value()?, 1, MAX_CHUNK)?,
            "--glob" => a.globs = sizes(&flag, &value()?, 0, MAX_GLOB)?,
            "--size" => {
                let v = value()?;
                a.size = sizes(&flag, &v, 1, MAX_INPUT)?[0];
            }
            "--input" => a.input = Some(value()?.into()),
            "--socket" => a.socket = true,
            "--repeat" => {
                let v = value()?;
                a.repeat = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_REPEAT).contains(n))
                    .ok_or_else(|| format!("bad repeat count `{v}` (1 to {MAX_REPEAT})"))?;
            }
            "--svg" => a.svg = Some(value()?.into()),
            "--csv" => a.csv = Some(value()?.into()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Some(a))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sweep: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match sweep(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sweep: {e}");
            ExitCode::from(1)
        }
    }
}

fn sweep(args: &Args) -> std::io::Result<()> {
    let input = match &args.input {
        Some(path) => Input::file(path)?,
        None => Input::generated(args.size),
    };
    let sink = if args.socket {
        Sink::Socket
    } else {
        Sink::Memory
    };
    let total = (args.chunks.len() * args.globs.len() * args.repeat) as u64;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));

    let mut points = Vec::new();
    for &glob in &args.globs {
        for &chunk in &args.chunks {
            let mut runs: Vec<Run> = Vec::with_capacity(args.repeat);
            for i in 0..args.repeat {
                bar.set_message(format!(
                    "chunk {} glob {} run {}/{}",
                    human(chunk),
                    human(glob),
                    i + 1,
                    args.repeat
                ));
                runs.push(measure::run(&input, &args.stages, chunk, glob, sink)?);
                bar.inc(1);
            }
            points.push(Point::new(chunk, glob, runs));
        }
    }
    bar.finish_and_clear();

    let mode = if args.socket { "socket" } else { "memory" };
    let stages = if args.spec.trim().is_empty() {
        "(none)"
    } else {
        args.spec.trim()
    };
    println!(
        "sweep: {} of {} through `{stages}`, {mode}, median of {} runs per point",
        human(input.len() as usize),
        input.describe(),
        args.repeat
    );
    print!("{}", table(&points));
    if let Some(path) = &args.csv {
        std::fs::write(path, csv(&points, stages, mode))?;
        println!("csv written to {}", path.display());
    }
    if let Some(path) = &args.svg {
        let title = format!("{stages}, {mode}, {}", human(input.len() as usize));
        chart::draw(path, &title, &points).map_err(|e| std::io::Error::other(e.to_string()))?;
        println!("chart written to {}", path.display());
    }
    Ok(())
}

/// `65536` → `64K`, `1048576` → `1M`; others as they are.
fn human(n: usize) -> String {
    for (shift, suffix) in [(30, "G"), (20, "M"), (10, "K")] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{}{suffix}", n >> shift);
        }
    }
    n.to_string()
}

fn table(points: &[Point]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>6} {:>6} {:>10} {:>8} {:>12} {:>10} {:>11} {:>9} {:>9}  note",
        "chunk",
        "glob",
        "MiB/s",
        "spread",
        "more() calls",
        "writes/MiB",
        "alloc/byte*",
        "p50",
        "p99"
    );
    let mut untrusted = 0;
    let mut sampled = false;
    for p in points {
        let mut note = String::new();
        if !p.trusted(TRUSTED_SPREAD) {
            untrusted += 1;
            note.push_str("spread too wide ");
        }
        if p.stride > 1 {
            sampled = true;
            let _ = write!(note, "(timed 1 call in {})", p.stride);
        }
        let _ = writeln!(
            out,
            "{:>6} {:>6} {:>10.1} {:>7.1}% {:>12} {:>10.1} {:>11.3} {:>9} {:>9}  {}",
            human(p.chunk),
            human(p.glob),
            p.median_mib_s(),
            p.spread() * 100.0,
            p.more_calls(),
            p.writes_per_mib(),
            p.alloc_per_byte(),
            nanos(p.p50_ns),
            nanos(p.p99_ns),
            note.trim_end()
        );
    }
    let _ = writeln!(
        out,
        "MiB/s: payload in per second; spread: (max - min) / median over the runs;\n\
         more() calls: poll_more calls in all stages, source included; writes/MiB: \
         write calls per MiB written\n(in memory: write_vectored calls of the driver; \
         over a socket: the reactor's write syscalls);\n\
         * alloc/byte: bytes allocated per payload byte, the proxy for bytes copied \
         (a counting global allocator);\n\
         p50/p99: time per poll_more at the end of the pipeline{}",
        if sampled {
            " (sampled where noted)"
        } else {
            ""
        }
    );
    if untrusted > 0 {
        let _ = writeln!(
            out,
            "{untrusted} point(s) spread over {:.0}%: too wide to trust; \
             rerun with more --repeat or on a quieter machine",
            TRUSTED_SPREAD * 100.0
        );
    }
    out
}

fn nanos(ns: u64) -> String {
    match ns {
        n if n < 10_000 => format!("{n} ns"),
        n if n < 10_000_000 => format!("{} us", n / 1000),
        n => format!("{} ms", n / 1_000_000),
    }
}

fn csv(points: &[Point], stages: &str, mode: &str) -> String {
    let mut out = String::from(
        "stages,mode,chunk,glob,runs,bytes_in,bytes_out,median_mib_s,min_mib_s,max_mib_s,\
         spread,trusted,more_calls,writes,writes_per_mib,alloc_per_byte,p50_ns,p99_ns\n",
    );
    for p in points {
        let _ = writeln!(
            out,
            "\"{stages}\",{mode},{},{},{},{},{},{:.2},{:.2},{:.2},{:.4},{},{},{},{:.2},{:.4},{},{}",
            p.chunk,
            p.glob,
            p.runs.len(),
            p.bytes_in(),
            p.bytes_out(),
            p.median_mib_s(),
            p.min_mib_s(),
            p.max_mib_s(),
            p.spread(),
            p.trusted(TRUSTED_SPREAD),
            p.more_calls(),
            p.writes(),
            p.writes_per_mib(),
            p.alloc_per_byte(),
            p.p50_ns,
            p.p99_ns
        );
    }
    out
}
