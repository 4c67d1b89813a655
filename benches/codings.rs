//! gzip, brotli and zstd side by side on the same text, and each of our
//! brotli and zstd engines against its raw crate (issue 15).
//!
//! Run: `cargo bench --bench codings --all-features` (about a minute;
//! `CODINGS_ROUNDS` sets the rounds, default 5; arguments after `--` keep
//! only the codings whose name contains one of them: `-- br` is br 4, 5
//! and 11, `-- "br 4"` br 4 alone). Prints three Markdown tables:
//!
//! 1. size ratio (compressed ÷ original) and compression and decompression
//!    speed in MiB/s of input, through this crate's producers
//!    (`.gzip(l)`, `.brotli(q)`, `.zstd(l)` with `FlushPolicy::AtEnd`, and
//!    `.gunzip()` …), for gzip 1/6, br 4/11, zstd 3/19;
//! 2. each engine against its raw crate on the same input, timed
//!    alternately round after round: the median of raw time ÷ our time
//!    (1.0 = as fast; the target is ≥ 0.97), and both compressed sizes: if
//!    they differ, the two engines did not run with the same settings;
//! 3. the median time of one `poll_more` at each coding's default per-poll
//!    budget, the longest and which poll it was: what sizes
//!    `DEFAULT_POLL_BUDGET`.

use std::hint::black_box;
use std::io::{Read, Write};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use producers::codec::brotli::Compressor as BrotliCompressor;
use producers::codec::compression::{Compressed, FlushPolicy};
use producers::{Producer, ProducerExt, from_bytes, testing};

/// About 1 MiB of this crate's sources: real text, as a server would send.
fn text() -> Vec<u8> {
    let mut out = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    let mut files = Vec::new();
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    for f in files.iter().cycle() {
        out.extend_from_slice(&std::fs::read(f).unwrap());
        if out.len() >= 1 << 20 {
            break;
        }
    }
    out.truncate(1 << 20);
    out
}

fn drain(mut p: impl Producer) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(c) = p.more().unwrap() {
        out.extend_from_slice(&c.into_bytes().unwrap());
    }
    out
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let r = f();
    (t.elapsed(), r)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[derive(Clone, Copy, Debug)]
enum Coding {
    Gzip(u32),
    Br(u32),
    Zstd(i32),
}

impl std::fmt::Display for Coding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Coding::Gzip(l) => write!(f, "gzip {l}"),
            Coding::Br(q) => write!(f, "br {q}"),
            Coding::Zstd(l) => write!(f, "zstd {l}"),
        }
    }
}

/// Ours on `data`, not copied (the raw crates read it in place too).
fn encode(c: Coding, data: &Bytes) -> Vec<u8> {
    let src = from_bytes(data.clone());
    match c {
        Coding::Gzip(l) => drain(src.gzip(l).flush_policy(FlushPolicy::AtEnd)),
        Coding::Br(q) => drain(src.brotli(q).flush_policy(FlushPolicy::AtEnd)),
        Coding::Zstd(l) => drain(src.zstd(l).flush_policy(FlushPolicy::AtEnd)),
    }
}

fn decode(c: Coding, packed: &Bytes) -> Vec<u8> {
    let src = from_bytes(packed.clone());
    match c {
        Coding::Gzip(_) => drain(src.gunzip().max_output(u64::MAX)),
        Coding::Br(_) => drain(src.unbrotli().max_output(u64::MAX)),
        Coding::Zstd(_) => drain(src.unzstd().max_output(u64::MAX)),
    }
}

fn raw_encode(c: Coding, data: &[u8]) -> Vec<u8> {
    match c {
        Coding::Gzip(l) => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(l));
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Coding::Br(q) => {
            // One write of the whole input: the engine takes its length as
            // the size hint, as ours takes the source's `exact_len`.
            let mut w = brotli::CompressorWriter::new(Vec::new(), 32 << 10, q, 22);
            w.write_all(data).unwrap();
            w.into_inner()
        }
        Coding::Zstd(l) => {
            // The same settings as ours: a checksum, the window capped at 8 MiB.
            let mut e = zstd::stream::write::Encoder::new(Vec::new(), l).unwrap();
            e.include_checksum(true).unwrap();
            if l >= 20 {
                e.window_log(23).unwrap();
            }
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
    }
}

fn raw_decode(c: Coding, packed: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match c {
        Coding::Gzip(_) => {
            flate2::read::GzDecoder::new(packed)
                .read_to_end(&mut out)
                .unwrap();
        }
        Coding::Br(_) => {
            brotli::Decompressor::new(packed, 64 << 10)
                .read_to_end(&mut out)
                .unwrap();
        }
        Coding::Zstd(_) => out = zstd::stream::decode_all(packed).unwrap(),
    }
    out
}

const MIB: f64 = (1 << 20) as f64;

fn main() {
    let rounds: usize = std::env::var("CODINGS_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    // `cargo bench` passes `--bench`; other arguments filter by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let chosen = |c: &Coding| {
        let name = c.to_string();
        filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()))
    };
    let data = Bytes::from(text());
    let n = data.len() as f64;
    let codings: Vec<Coding> = [
        Coding::Gzip(1),
        Coding::Gzip(6),
        Coding::Br(4),
        Coding::Br(11),
        Coding::Zstd(3),
        Coding::Zstd(19),
    ]
    .into_iter()
    .filter(chosen)
    .collect();

    println!(
        "input: {} bytes of this crate's sources; {rounds} rounds\n",
        data.len()
    );
    println!("| coding | size ratio | compress MiB/s | decompress MiB/s |");
    println!("|---|---|---|---|");
    for &c in &codings {
        let (mut enc, mut dec) = (Vec::new(), Vec::new());
        let mut packed = Bytes::new();
        for _ in 0..rounds.min(3) {
            let (t, p) = timed(|| Bytes::from(encode(c, &data)));
            enc.push(n / MIB / t.as_secs_f64());
            let (t, d) = timed(|| decode(c, &p));
            assert!(d == data);
            dec.push(n / MIB / t.as_secs_f64());
            packed = p;
        }
        println!(
            "| {c} | {:.3} | {:.1} | {:.0} |",
            packed.len() as f64 / n,
            median(&mut enc),
            median(&mut dec)
        );
    }

    println!(
        "\n| engine | raw crate | encode: raw ÷ ours | decode: raw ÷ ours | bytes: ours / raw |"
    );
    println!("|---|---|---|---|---|");
    for &c in &codings {
        let crate_name = match c {
            Coding::Gzip(_) => "flate2 (zlib-rs)",
            Coding::Br(_) => "brotli 9 CompressorWriter / Decompressor",
            Coding::Zstd(_) => "zstd 0.14 write::Encoder / decode_all",
        };
        let packed = Bytes::from(raw_encode(c, &data));
        let ours_len = encode(c, &data).len();
        assert!(
            decode(c, &packed) == data,
            "{c:?}: ours reads the raw crate's"
        );
        let (mut e, mut d) = (Vec::new(), Vec::new());
        let enc_rounds = if matches!(c, Coding::Br(11) | Coding::Zstd(19)) {
            rounds.min(3)
        } else {
            rounds * 2
        };
        for _ in 0..enc_rounds {
            let (raw, _) = timed(|| black_box(raw_encode(c, &data)));
            let (ours, _) = timed(|| black_box(encode(c, &data)));
            e.push(raw.as_secs_f64() / ours.as_secs_f64());
        }
        for _ in 0..rounds * 4 {
            let (raw, _) = timed(|| black_box(raw_decode(c, &packed)));
            let (ours, _) = timed(|| black_box(decode(c, &packed)));
            d.push(raw.as_secs_f64() / ours.as_secs_f64());
        }
        println!(
            "| {c} | {crate_name} | {:.3} | {:.3} | {ours_len} / {} |",
            median(&mut e),
            median(&mut d),
            packed.len()
        );
    }

    println!(
        "\n| coding | budget KiB | median µs per poll | max µs | longest: poll i of n | size ratio |"
    );
    println!("|---|---|---|---|---|---|");
    let polls = [
        Coding::Gzip(6),
        Coding::Br(4),
        Coding::Br(5),
        Coding::Br(11),
        Coding::Zstd(3),
        Coding::Zstd(19),
    ];
    // Then br 4 at the server's 18-bit window (here with the size hint,
    // which the server's engine does not take), alone and with a flush
    // every 256 KiB: at quality 4 and up the engine merges its 64 KiB
    // blocks into one meta-block of up to 2^(window bits + 1) bytes, encoded
    // in one call at the end or at a flush.
    let server = [None, Some(256 << 10)].map(|every| (Coding::Br(4), Some(18), every));
    let polls = polls.into_iter().map(|c| (c, None, None)).chain(server);
    for (c, window, every) in polls {
        if !chosen(&c) {
            continue;
        }
        let budget = match c {
            Coding::Gzip(_) => producers::codec::gzip::DEFAULT_POLL_BUDGET,
            Coding::Br(_) => producers::codec::brotli::DEFAULT_POLL_BUDGET,
            Coding::Zstd(_) => producers::codec::zstd::DEFAULT_POLL_BUDGET,
        };
        let policy = every.map_or(FlushPolicy::AtEnd, FlushPolicy::every);
        let input = data[..if matches!(c, Coding::Br(11) | Coding::Zstd(19)) {
            256 << 10
        } else {
            data.len()
        }]
            .to_vec();
        let input_len = input.len() as f64;
        let src = from_bytes(input);
        let mut p: Box<dyn Producer> = match (c, window) {
            (Coding::Br(q), Some(bits)) => Box::new(
                Compressed::with_compressor(src, BrotliCompressor::with_window_bits(q, bits))
                    .flush_policy(policy),
            ),
            (Coding::Gzip(l), _) => Box::new(src.gzip(l).flush_policy(policy)),
            (Coding::Br(q), _) => Box::new(src.brotli(q).flush_policy(policy)),
            (Coding::Zstd(l), _) => Box::new(src.zstd(l).flush_policy(policy)),
        };
        let (mut cx, _wakes) = testing::counting_context();
        let mut times = Vec::new();
        let mut out = 0;
        loop {
            let t = Instant::now();
            let more = p.poll_more(&mut cx);
            times.push(t.elapsed().as_secs_f64() * 1e6);
            match more {
                Poll::Ready(None) => break,
                Poll::Ready(Some(r)) => out += black_box(r.unwrap()).len(),
                Poll::Pending => {}
            }
        }
        let (at, max) = times
            .iter()
            .copied()
            .enumerate()
            .fold((0, 0.0), |m, (i, t)| if t > m.1 { (i, t) } else { m });
        let polls = times.len();
        let mut name = c.to_string();
        if let Some(bits) = window {
            name += &format!(", {bits}-bit window");
        }
        if let Some(n) = every {
            name += &format!(", flush every {} KiB", n >> 10);
        }
        println!(
            "| {name} | {} | {:.0} | {:.0} | {} of {polls} | {:.4} |",
            budget >> 10,
            median(&mut times),
            max,
            at + 1,
            out as f64 / input_len
        );
    }
}
