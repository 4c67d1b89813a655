//! gzip, brotli and zstd side by side on the same text, and each of our
//! brotli and zstd engines against its raw crate (issue 15).
//!
//! Run: `cargo bench --bench codings --features brotli,zstd` (about a
//! minute; `CODINGS_ROUNDS` sets the rounds, default 5). Prints three
//! Markdown tables:
//!
//! 1. size ratio (compressed ÷ original) and compression and decompression
//!    speed in MiB/s of input, through this crate's producers
//!    (`.gzip(l)`, `.brotli(q)`, `.zstd(l)` with `FlushPolicy::AtEnd`, and
//!    `.gunzip()` …), for gzip 1/6, br 4/11, zstd 3/19;
//! 2. each engine against its raw crate on the same input, timed
//!    alternately round after round: the median of raw time ÷ our time
//!    (1.0 = as fast; the target is ≥ 0.97);
//! 3. the median time of one `poll_more` at each coding's default per-poll
//!    budget: what sizes `DEFAULT_POLL_BUDGET`.

use std::hint::black_box;
use std::io::{Read, Write};
use std::task::Poll;
use std::time::{Duration, Instant};

use producers::codec::compression::FlushPolicy;
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

fn encode(c: Coding, data: &[u8]) -> Vec<u8> {
    let src = from_bytes(data.to_vec());
    match c {
        Coding::Gzip(l) => drain(src.gzip(l).flush_policy(FlushPolicy::AtEnd)),
        Coding::Br(q) => drain(src.brotli(q).flush_policy(FlushPolicy::AtEnd)),
        Coding::Zstd(l) => drain(src.zstd(l).flush_policy(FlushPolicy::AtEnd)),
    }
}

fn decode(c: Coding, packed: &[u8]) -> Vec<u8> {
    let src = from_bytes(packed.to_vec());
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
    let data = text();
    let n = data.len() as f64;
    let codings = [
        Coding::Gzip(1),
        Coding::Gzip(6),
        Coding::Br(4),
        Coding::Br(11),
        Coding::Zstd(3),
        Coding::Zstd(19),
    ];

    println!(
        "input: {} bytes of this crate's sources; {rounds} rounds\n",
        data.len()
    );
    println!("| coding | size ratio | compress MiB/s | decompress MiB/s |");
    println!("|---|---|---|---|");
    for c in codings {
        let (mut enc, mut dec) = (Vec::new(), Vec::new());
        let mut packed = Vec::new();
        for _ in 0..rounds.min(3) {
            let (t, p) = timed(|| encode(c, &data));
            enc.push(n / MIB / t.as_secs_f64());
            let (t, d) = timed(|| decode(c, &p));
            assert!(d == data);
            dec.push(n / MIB / t.as_secs_f64());
            packed = p;
        }
        println!(
            "| {c:?} | {:.3} | {:.1} | {:.0} |",
            packed.len() as f64 / n,
            median(&mut enc),
            median(&mut dec)
        );
    }

    println!("\n| engine | raw crate | encode: raw ÷ ours | decode: raw ÷ ours |");
    println!("|---|---|---|---|");
    for c in codings {
        let crate_name = match c {
            Coding::Gzip(_) => "flate2 (zlib-rs)",
            Coding::Br(_) => "brotli 9 CompressorWriter / Decompressor",
            Coding::Zstd(_) => "zstd 0.14 write::Encoder / decode_all",
        };
        let packed = raw_encode(c, &data);
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
            "| {c:?} | {crate_name} | {:.3} | {:.3} |",
            median(&mut e),
            median(&mut d)
        );
    }

    println!("\n| coding | budget KiB | median µs per poll | max µs |");
    println!("|---|---|---|---|");
    let polls = [
        (Coding::Gzip(6), producers::codec::gzip::DEFAULT_POLL_BUDGET),
        (Coding::Br(4), producers::codec::brotli::DEFAULT_POLL_BUDGET),
        (Coding::Br(5), producers::codec::brotli::DEFAULT_POLL_BUDGET),
        (
            Coding::Br(11),
            producers::codec::brotli::DEFAULT_POLL_BUDGET,
        ),
        (Coding::Zstd(3), producers::codec::zstd::DEFAULT_POLL_BUDGET),
        (
            Coding::Zstd(19),
            producers::codec::zstd::DEFAULT_POLL_BUDGET,
        ),
    ];
    for (c, budget) in polls {
        let input = data[..if matches!(c, Coding::Br(11) | Coding::Zstd(19)) {
            256 << 10
        } else {
            data.len()
        }]
            .to_vec();
        let src = from_bytes(input);
        let mut p: Box<dyn Producer> = match c {
            Coding::Gzip(l) => Box::new(src.gzip(l).flush_policy(FlushPolicy::AtEnd)),
            Coding::Br(q) => Box::new(src.brotli(q).flush_policy(FlushPolicy::AtEnd)),
            Coding::Zstd(l) => Box::new(src.zstd(l).flush_policy(FlushPolicy::AtEnd)),
        };
        let (mut cx, _wakes) = testing::counting_context();
        let mut times = Vec::new();
        loop {
            let t = Instant::now();
            let more = p.poll_more(&mut cx);
            times.push(t.elapsed().as_secs_f64() * 1e6);
            match more {
                Poll::Ready(None) => break,
                Poll::Ready(Some(r)) => drop(black_box(r.unwrap())),
                Poll::Pending => {}
            }
        }
        let max = times.iter().copied().fold(0.0, f64::max);
        println!(
            "| {c:?} | {} | {:.0} | {:.0} |",
            budget >> 10,
            median(&mut times),
            max
        );
    }
}
