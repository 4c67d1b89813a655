//! Paired measurements of every in-memory performance target: each figure is
//! a ratio to its baseline, the two timed alternately in the same process,
//! round after round, so that load from other jobs on a shared machine hits
//! both sides alike.
//!
//! Run: `cargo bench --bench paired` (about a minute). Prints a Markdown
//! table: for each target, the median over rounds of the per-round ratio
//! (baseline time ÷ our time: above 1.0 is faster than the baseline), the
//! ratio of the fastest rounds, and the target. `PAIRED_ROUNDS` sets the
//! number of rounds (default 21).
//!
//! The criterion benches (`benches/*.rs`) hold the same comparisons as
//! curves over chunk sizes; this one is what BENCHMARKS.md's target tables
//! are taken from.

use std::hint::black_box;
use std::io::{Read, Write};
use std::task::Context;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use flate2::Compression;
use memchr::memmem;
use producers::codec::chunked::Decoded;
use producers::consume::{ConsumerFifo, Framer, Framing, Lines};
use producers::io::{DriveStatus, Driver};
use producers::{
    Producer, ProducerExt, codec::chunked::ChunkedDecoder, codec::gzip::FlushPolicy, from_bytes,
    produce::BytesProducer,
};
use tokio_util::codec::{Decoder, LinesCodec};

/// One target: a contender and its baseline, each run once per call.
struct Pair {
    name: &'static str,
    baseline: &'static str,
    target: f64,
    contender: Box<dyn FnMut() -> Duration>,
    base: Box<dyn FnMut() -> Duration>,
}

fn timed(mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn drain(mut p: impl Producer) -> u64 {
    let mut n = 0;
    while let Some(c) = p.more().unwrap() {
        n += black_box(c).len();
    }
    n
}

fn text(n: usize) -> Vec<u8> {
    let line = b"10.0.0.1 - - [12/Mar/2024:10:00:00 +0000] \"GET /static/app.js HTTP/1.1\" 200 5120 \"-\" \"curl/8.5.0\"\n";
    let mut v = Vec::with_capacity(n);
    let mut i = 0u64;
    while v.len() < n {
        v.extend_from_slice(line);
        // Vary digits so the compressor has real work.
        let at = v.len() - 12;
        v[at] = b'0' + (i % 10) as u8;
        v[at + 1] = b'0' + (i / 10 % 10) as u8;
        i += 1;
    }
    v.truncate(n);
    v
}

fn gzip_bytes(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// One timed run over an input.
type Run = fn(&[u8]) -> Duration;

fn framer_lines(input: &[u8]) -> Duration {
    let mut buf = BytesMut::from(input);
    timed(move || {
        let mut f = Framer::new(Framing::whole("\r\n").max(8192));
        while let Some(frame) = f.decode(&mut buf).unwrap() {
            black_box(frame);
        }
    })
}

fn fifo_lines(input: &[u8]) -> Duration {
    let mut fifo = ConsumerFifo::with_budget(input.len() + 1);
    fifo.push(Lines::new("\r\n", |line, _| {
        black_box(line);
        Ok(())
    }));
    fifo.read_buf().extend_from_slice(input);
    timed(move || fifo.process().unwrap())
}

fn lines_codec(input: &[u8]) -> Duration {
    let mut buf = BytesMut::from(input);
    timed(move || {
        let mut c = LinesCodec::new_with_max_length(8192);
        while let Some(l) = c.decode(&mut buf).unwrap() {
            black_box(l);
        }
    })
}

fn memchr_lines(input: &[u8]) -> Duration {
    timed(|| {
        let hay = black_box(input);
        let mut pos = 0;
        while let Some(i) = memchr::memchr(b'\n', &hay[pos..]) {
            pos += i + 1;
        }
        black_box(pos);
    })
}

fn pairs() -> Vec<Pair> {
    let mut v = Vec::new();
    const MIB: usize = 1 << 20;

    // Issue 2: glob of 64-byte chunks into 64 KiB buffers.
    {
        let data: &'static [u8] = text(16 * MIB).leak();
        let mut buf = vec![0u8; 64 << 10];
        v.push(Pair {
            name: "glob 64 B chunks into 64 KiB",
            baseline: "copy_from_slice of the 64 B pieces into a 64 KiB buffer",
            target: 0.5,
            contender: Box::new(move || {
                timed(|| {
                    let p = BytesProducer::with_piece_size(Bytes::from_static(data), 64).unwrap();
                    black_box(drain(p.glob(64 << 10)));
                })
            }),
            base: Box::new(move || {
                timed(|| {
                    let len = buf.len();
                    for (i, piece) in data.chunks(64).enumerate() {
                        let at = (i * 64) % len;
                        buf[at..at + piece.len()].copy_from_slice(piece);
                    }
                    black_box(&buf);
                })
            }),
        });
    }

    // Issue 2: the vectored driver into a Vec.
    {
        let data = Bytes::from(text(16 * MIB));
        let d2 = data.clone();
        let mut v1 = Vec::with_capacity(data.len());
        let mut v2 = Vec::with_capacity(data.len());
        v.push(Pair {
            name: "vectored driver, 16 KiB chunks into a Vec",
            baseline: "one write_all of the contiguous buffer",
            target: 0.9,
            contender: Box::new(move || {
                v1.clear();
                timed(|| {
                    let mut cx = Context::from_waker(std::task::Waker::noop());
                    let mut d = Driver::new(
                        BytesProducer::with_piece_size(data.clone(), 16 << 10).unwrap(),
                    );
                    assert_eq!(d.write_to(&mut v1, &mut cx).unwrap(), DriveStatus::Done);
                })
            }),
            base: Box::new(move || {
                v2.clear();
                timed(|| v2.write_all(black_box(&d2)).unwrap())
            }),
        });
    }

    // Issue 3: chunked encoding of 16 KiB chunks (no payload copied).
    {
        let data = Bytes::from(text(4 * MIB));
        let d2 = data.clone();
        let mut dst = vec![0u8; data.len()];
        v.push(Pair {
            name: "chunked encode, 16 KiB chunks",
            baseline: "memcpy of the same bytes",
            target: 5.0,
            contender: Box::new(move || {
                timed(|| {
                    black_box(drain(
                        BytesProducer::with_piece_size(data.clone(), 16 << 10)
                            .unwrap()
                            .chunked(),
                    ));
                })
            }),
            base: Box::new(move || timed(|| dst.copy_from_slice(black_box(&d2)))),
        });
    }

    // Issue 3: chunked decoding of 16 KiB chunks.
    {
        let encoded = BytesProducer::with_piece_size(text(4 * MIB), 16 << 10)
            .unwrap()
            .chunked()
            .collect_bytes()
            .unwrap();
        let e2 = encoded.clone();
        let mut dst = vec![0u8; encoded.len()];
        v.push(Pair {
            name: "chunked decode, 16 KiB chunks",
            baseline: "memcpy of the same bytes",
            target: 0.3,
            contender: Box::new(move || {
                let mut buf = BytesMut::from(&encoded[..]);
                timed(|| {
                    let mut d = ChunkedDecoder::new();
                    loop {
                        match d.decode(&mut buf).unwrap() {
                            Decoded::Data(b) => {
                                black_box(b);
                            }
                            Decoded::End => break,
                            Decoded::NeedMore => panic!("truncated"),
                        }
                    }
                })
            }),
            base: Box::new(move || timed(|| dst.copy_from_slice(black_box(&e2)))),
        });
    }

    // Issue 3: gzip at levels 1 and 6 against flate2's GzEncoder.
    for level in [1u32, 6] {
        let data = Bytes::from(text(4 * MIB));
        let d2 = data.clone();
        v.push(Pair {
            name: if level == 1 {
                "gzip producer, level 1"
            } else {
                "gzip producer, level 6"
            },
            baseline: "flate2 write::GzEncoder into a Vec",
            target: 0.97,
            contender: Box::new(move || {
                timed(|| {
                    black_box(drain(
                        from_bytes(data.clone())
                            .gzip(level)
                            .flush_policy(FlushPolicy::AtEnd),
                    ));
                })
            }),
            base: Box::new(move || timed(|| drop(black_box(gzip_bytes(&d2, level))))),
        });
    }

    // Issue 3: file → gzip → chunked → glob against reading and compressing.
    for level in [1u32, 6] {
        let data = text(4 * MIB);
        let path =
            std::env::temp_dir().join(format!("producers-paired-{}-{level}", std::process::id()));
        std::fs::write(&path, &data).unwrap();
        let p2 = path.clone();
        v.push(Pair {
            name: if level == 1 {
                "file → gzip:1 → chunked → glob"
            } else {
                "file → gzip:6 → chunked → glob"
            },
            baseline: "fs::read + flate2 GzEncoder",
            target: 0.95,
            contender: Box::new(move || {
                timed(|| {
                    let p = producers::file(&path)
                        .unwrap()
                        .gzip(level)
                        .flush_policy(FlushPolicy::AtEnd);
                    black_box(drain(p.chunked().glob(64 << 10)));
                })
            }),
            base: Box::new(move || {
                timed(|| {
                    let bytes = std::fs::read(&p2).unwrap();
                    drop(black_box(gzip_bytes(&bytes, level)));
                })
            }),
        });
    }

    // Issue 3: gunzip with the cap on against flate2's GzDecoder.
    {
        let data = text(4 * MIB);
        let packed = Bytes::from(gzip_bytes(&data, 6));
        let p2 = packed.clone();
        let n = data.len() as u64;
        v.push(Pair {
            name: "gunzip with the cap on",
            baseline: "flate2 read::GzDecoder, read_to_end",
            target: 0.95,
            contender: Box::new(move || {
                timed(|| {
                    black_box(drain(from_bytes(packed.clone()).gunzip().max_output(n)));
                })
            }),
            base: Box::new(move || {
                timed(|| {
                    let mut out = Vec::new();
                    flate2::read::GzDecoder::new(&p2[..])
                        .read_to_end(&mut out)
                        .unwrap();
                    black_box(out);
                })
            }),
        });
    }

    // Issue 4: line framing of 100-byte CRLF lines, whole frames: the bare
    // framer, and the framer behind a consumer FIFO with the Lines consumer,
    // each against LinesCodec and against a bare memchr loop.
    let lines: Vec<u8> = (0..20_000)
        .flat_map(|i| {
            let mut l = format!("{i:08} {}", "x".repeat(89)).into_bytes();
            l.truncate(98);
            l.extend_from_slice(b"\r\n");
            l
        })
        .collect();
    let contenders: [(&'static str, Run); 2] = [
        ("line framing, 100 B CRLF lines", framer_lines),
        ("line framing through a ConsumerFifo + Lines", fifo_lines),
    ];
    for (name, contender) in contenders {
        let baselines: [(&'static str, f64, Run); 2] = [
            ("tokio-util LinesCodec", 2.0, lines_codec),
            (
                "a bare memchr loop finding each line end",
                0.3,
                memchr_lines,
            ),
        ];
        for (baseline, target, base) in baselines {
            let (a, b) = (lines.clone(), lines.clone());
            v.push(Pair {
                name,
                baseline,
                target,
                contender: Box::new(move || contender(&a)),
                base: Box::new(move || base(&b)),
            });
        }
    }

    // Issue 4: \r\n\r\n framing of 1 KiB frames.
    {
        let block = |i: usize| {
            let mut v = format!("GET /{i:08} HTTP/1.1\r\n").into_bytes();
            while v.len() < 970 {
                v.extend_from_slice(
                    format!("X-Header-{:04}: {}\r\n", v.len(), "v".repeat(31)).as_bytes(),
                );
            }
            v.resize(1020, b'z');
            v.extend_from_slice(b"\r\n\r\n");
            v
        };
        let input: Vec<u8> = (0..4000).flat_map(block).collect();
        let b = input.clone();
        let finder = memmem::Finder::new(b"\r\n\r\n").into_owned();
        v.push(Pair {
            name: "\\r\\n\\r\\n framing, 1 KiB frames",
            baseline: "a bare memmem loop",
            target: 0.5,
            contender: Box::new(move || {
                let mut buf = BytesMut::from(&input[..]);
                timed(move || {
                    let mut f = Framer::new(Framing::whole("\r\n\r\n").max(16 << 10));
                    while let Some(frame) = f.decode(&mut buf).unwrap() {
                        black_box(frame);
                    }
                })
            }),
            base: Box::new(move || {
                timed(|| {
                    let hay = black_box(&b[..]);
                    let mut pos = 0;
                    while let Some(i) = finder.find(&hay[pos..]) {
                        pos += i + 4;
                    }
                    black_box(pos);
                })
            }),
        });
    }
    v
}

fn main() {
    // `cargo bench` passes `--bench`; a filter may follow.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let rounds: usize = std::env::var("PAIRED_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(21);
    println!("| target | baseline | median ratio | ratio of best rounds | target | met |");
    println!("|---|---|---|---|---|---|");
    for mut p in pairs() {
        if filter.as_deref().is_some_and(|f| !p.name.contains(f)) {
            continue;
        }
        // Warm up both sides.
        for _ in 0..2 {
            (p.contender)();
            (p.base)();
        }
        let mut ratios = Vec::with_capacity(rounds);
        let (mut best_c, mut best_b) = (Duration::MAX, Duration::MAX);
        for r in 0..rounds {
            // Alternate which side goes first.
            let (c, b) = if r % 2 == 0 {
                let c = (p.contender)();
                (c, (p.base)())
            } else {
                let b = (p.base)();
                ((p.contender)(), b)
            };
            best_c = best_c.min(c);
            best_b = best_b.min(b);
            ratios.push(b.as_secs_f64() / c.as_secs_f64());
        }
        let med = median(&mut ratios);
        let best = best_b.as_secs_f64() / best_c.as_secs_f64();
        let met = if med >= p.target { "yes" } else { "**no**" };
        println!(
            "| {} | {} | {med:.2}x | {best:.2}x | ≥ {}x | {met} |",
            p.name, p.baseline, p.target
        );
    }
}
