//! How long one `poll_more` of a [`Compressed`] producer takes, for each
//! per-poll input budget: the measurement behind `DEFAULT_POLL_BUDGET`
//! (the table in `src/codec/gzip/compressed.rs`).
//!
//! Run: `cargo bench --bench poll_budget`
//!
//! For three inputs of 4 MiB — text (this crate's own sources, concatenated
//! and repeated), incompressible (pseudo-random bytes) and zeros — at
//! levels 1, 6 and 9, and budgets of 16 to 256 KiB, it compresses the input
//! through `from_bytes(…).gzip(level).poll_budget(budget)`, timing every
//! poll, and prints the median and the maximum per poll, and the input
//! consumed per poll. Not a criterion bench: what matters is the
//! distribution of single polls, not a mean.
//!
//! [`Compressed`]: producers::codec::gzip::Compressed

use std::path::Path;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use producers::{Producer, ProducerExt, from_bytes};

const SIZE: usize = 4 << 20;

/// Every `.rs` file under `dir`, appended to `out`.
fn sources(dir: &Path, out: &mut Vec<u8>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.extend_from_slice(&std::fs::read(&p).unwrap());
        }
    }
}

fn text() -> Vec<u8> {
    let mut one = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut one);
    one.iter().copied().cycle().take(SIZE).collect()
}

fn random() -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..SIZE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// Per-poll times and the compressed size.
fn run(data: &[u8], level: u32, budget: usize) -> (Vec<Duration>, usize) {
    let mut p = from_bytes(data.to_vec()).gzip(level).poll_budget(budget);
    let mut cx = Context::from_waker(Waker::noop());
    let mut times = Vec::new();
    let mut out = 0;
    loop {
        let t = Instant::now();
        let more = p.poll_more(&mut cx);
        times.push(t.elapsed());
        match more {
            Poll::Ready(Some(Ok(c))) => out += c.len() as usize,
            Poll::Ready(Some(Err(e))) => panic!("{e}"),
            Poll::Ready(None) => return (times, out),
            Poll::Pending => {}
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter on the
    // input's name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let inputs = [
        ("text", text()),
        ("incompressible", random()),
        ("zeros", vec![0u8; SIZE]),
    ];
    println!("| input | level | budget KiB | polls | median µs | max µs | input KiB/poll |");
    println!("|---|---|---|---|---|---|---|");
    for (name, data) in &inputs {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        for level in [1, 6, 9] {
            for kib in [16, 32, 64, 128, 256] {
                let (mut times, _) = run(data, level, kib << 10);
                let polls = times.len();
                times.sort();
                let median = times[polls / 2];
                let max = times[polls - 1];
                println!(
                    "| {name} | {level} | {kib} | {polls} | {:.0} | {:.0} | {:.0} |",
                    median.as_secs_f64() * 1e6,
                    max.as_secs_f64() * 1e6,
                    (data.len() as f64 / 1024.0) / polls as f64,
                );
            }
        }
    }
}
