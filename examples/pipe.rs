//! `pipe`: the codecs from the shell.
//!
//! Run: `cargo run --release --features stage --example pipe -- [--stats] STAGE...`
//!
//! Reads standard input, applies the stages left to right, writes standard
//! output, and exits when the input ends. Stages: `chunk:N` (hand the input on
//! in N-byte pieces), `glob:N`, `chunked`, `dechunk`, `gzip[:LEVEL]`,
//! `gunzip`, `zlib[:LEVEL]`, `unzlib`, `deflate[:LEVEL]`, `inflate`,
//! `br[:QUALITY]`, `unbr` (feature `brotli`), `zstd[:LEVEL]`, `unzstd`
//! (feature `zstd`), `dotstuff`, `undotstuff`. Sizes take `K`, `M`, `G`, `T`
//! suffixes; `chunk` and `glob` take at most 64M, levels run from 0 to 9
//! (brotli 0 to 11, zstd 1 to 22). A bad stage or argument is a usage
//! error: exit status 2.
//!
//! On malformed input: exit status 1 and one line on standard error naming
//! the stage and the error (with the byte offset where there is one); what
//! was written before the error stays written. Bytes after the end of an
//! encoded stream (`dechunk`, `undotstuff`, `gunzip`, `unzlib`, `inflate`,
//! `unbr`, `unzstd`)
//! are malformed input too, never dropped silently. `--stats` prints each stage's
//! counters to standard error.
//!
//! ```sh
//! printf 'hello' | cargo run -q --example pipe -- gzip:9 chunked dechunk gunzip
//! ```

use std::io::{self, Write};
use std::process::ExitCode;

use producers::io::ReadProducer;
use producers::stage::{Probe, build, parse_stages};
use producers::{Counters, ProducerExt};

const USAGE: &str = "usage: pipe [--stats] STAGE...
stages: chunk:N glob:N chunked dechunk gzip[:LEVEL] gunzip zlib[:LEVEL] unzlib
        deflate[:LEVEL] inflate br[:QUALITY] unbr zstd[:LEVEL] unzstd
        dotstuff undotstuff
sizes take K, M, G, T suffixes (at most 64M); levels are 0 to 9
(br 0 to 11, zstd 1 to 22; br and zstd need the features of the same name)";

fn main() -> ExitCode {
    let mut stats = false;
    let mut spec = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--stats" => stats = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => spec.push(arg),
        }
    }
    let stages = match parse_stages(&spec.join(" ")) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pipe: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let source = ReadProducer::new(io::stdin()).boxed();
    let (pipeline, probes) = build(source, &stages);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = producers::io::copy(pipeline, &mut out);
    let flushed = out.flush();
    if stats {
        print_stats(&probes);
    }
    match result.and(flushed) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pipe: {e}");
            ExitCode::from(1)
        }
    }
}

fn print_stats(probes: &[Probe]) {
    eprintln!(
        "{:>12} {:>10} {:>10} {:>14} {:>9} {:>11}",
        "stage", "calls", "chunks", "bytes", "pendings", "bytes/chunk"
    );
    for p in probes {
        let c: Counters = p.counters();
        eprintln!(
            "{:>12} {:>10} {:>10} {:>14} {:>9} {:>11}",
            p.stage(),
            c.calls,
            c.chunks,
            c.bytes,
            c.pendings,
            c.mean_chunk()
        );
    }
}
