//! Compression and decompression (gzip, zlib, raw deflate) at chunk sizes
//! from 64 B to 1 MiB, each against flate2 fed the same way in the same
//! group: encoders take the payload in writes of the chunk size, decoders
//! read the compressed stream through a reader that hands out at most the
//! chunk size per read. Level 1 (the level `sweep` recommends for dynamic
//! output); throughput counts uncompressed bytes. 1 MiB of text per
//! iteration keeps the 64-byte points short.
//!
//! `cargo bench --bench sweep_gzip` then `python3 scripts/ratios.py`.

mod sweep_util;

use std::hint::black_box;
use std::io::{self, Read, Write};

use bytes::Bytes;
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use flate2::Compression;
use producers::codec::gzip::FlushPolicy;
use producers::{ProducerExt, produce::BytesProducer};
use sweep_util::{CHUNKS, config, copy_out, text};

const PAYLOAD: usize = 1 << 20;
const LEVEL: u32 = 1;

#[derive(Clone, Copy)]
enum Format {
    Gzip,
    Zlib,
    Deflate,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Zlib => "zlib",
            Format::Deflate => "deflate",
        }
    }

    /// flate2's encoder into `out`, fed in `chunk`-byte writes.
    fn flate2_encode(self, data: &[u8], chunk: usize, out: Vec<u8>) -> Vec<u8> {
        let level = Compression::new(LEVEL);
        fn feed<W: Write>(mut w: W, data: &[u8], chunk: usize) -> W {
            for piece in data.chunks(chunk) {
                w.write_all(piece).unwrap();
            }
            w
        }
        match self {
            Format::Gzip => feed(flate2::write::GzEncoder::new(out, level), data, chunk)
                .finish()
                .unwrap(),
            Format::Zlib => feed(flate2::write::ZlibEncoder::new(out, level), data, chunk)
                .finish()
                .unwrap(),
            Format::Deflate => feed(flate2::write::DeflateEncoder::new(out, level), data, chunk)
                .finish()
                .unwrap(),
        }
    }

    /// flate2's decoder reading `packed` at most `chunk` bytes at a time,
    /// into `out`.
    fn flate2_decode(self, packed: &[u8], chunk: usize, out: &mut Vec<u8>) {
        let src = Limited(packed, chunk);
        out.clear();
        match self {
            Format::Gzip => flate2::read::GzDecoder::new(src).read_to_end(out),
            Format::Zlib => flate2::read::ZlibDecoder::new(src).read_to_end(out),
            Format::Deflate => flate2::read::DeflateDecoder::new(src).read_to_end(out),
        }
        .unwrap();
    }

    fn encode(self, data: &Bytes, chunk: usize) -> impl producers::Producer + use<> {
        let p = BytesProducer::with_piece_size(data.clone(), chunk).unwrap();
        match self {
            Format::Gzip => p.gzip(LEVEL),
            Format::Zlib => p.zlib(LEVEL),
            Format::Deflate => p.deflate(LEVEL),
        }
        .flush_policy(FlushPolicy::AtEnd)
    }

    fn decode(self, packed: &Bytes, chunk: usize) -> impl producers::Producer + use<> {
        let p = BytesProducer::with_piece_size(packed.clone(), chunk).unwrap();
        match self {
            Format::Gzip => p.gunzip(),
            Format::Zlib => p.unzlib(),
            Format::Deflate => p.inflate(),
        }
        .max_output(u64::MAX)
    }
}

/// A reader handing out at most `.1` bytes per read.
struct Limited<'a>(&'a [u8], usize);

impl Read for Limited<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.1).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fn encode(c: &mut Criterion) {
    let data = Bytes::from(text(PAYLOAD));
    let mut dst = Vec::with_capacity(2 * PAYLOAD);
    for f in [Format::Gzip, Format::Zlib, Format::Deflate] {
        let mut g = c.benchmark_group(format!("sweep_{}_encode", f.name()));
        g.throughput(Throughput::Bytes(PAYLOAD as u64));
        // Slow at 64 B: equal samples, so 10 of them fit the time.
        g.sampling_mode(SamplingMode::Flat);
        for chunk in CHUNKS {
            g.bench_with_input(
                BenchmarkId::new("baseline flate2", chunk),
                &chunk,
                |b, &chunk| {
                    b.iter(|| black_box(f.flate2_encode(&data, chunk, Vec::with_capacity(PAYLOAD))))
                },
            );
            g.bench_with_input(BenchmarkId::new(f.name(), chunk), &chunk, |b, &chunk| {
                b.iter(|| copy_out(f.encode(&data, chunk), &mut dst))
            });
        }
        g.finish();
    }
}

fn decode(c: &mut Criterion) {
    let data = Bytes::from(text(PAYLOAD));
    let mut dst = Vec::with_capacity(2 * PAYLOAD);
    for f in [Format::Gzip, Format::Zlib, Format::Deflate] {
        let packed = Bytes::from(f.flate2_encode(&data, PAYLOAD, Vec::new()));
        let mut g = c.benchmark_group(format!("sweep_{}_decode", f.name()));
        g.throughput(Throughput::Bytes(PAYLOAD as u64));
        // Slow at 64 B: equal samples, so 10 of them fit the time.
        g.sampling_mode(SamplingMode::Flat);
        for chunk in CHUNKS {
            f.flate2_decode(&packed, chunk, &mut dst);
            assert_eq!(dst, data);
            assert_eq!(copy_out(f.decode(&packed, chunk), &mut dst), PAYLOAD);
            assert_eq!(dst, data);
            g.bench_with_input(
                BenchmarkId::new("baseline flate2", chunk),
                &chunk,
                |b, &chunk| b.iter(|| f.flate2_decode(&packed, chunk, &mut dst)),
            );
            g.bench_with_input(BenchmarkId::new(f.name(), chunk), &chunk, |b, &chunk| {
                b.iter(|| assert_eq!(copy_out(f.decode(&packed, chunk), &mut dst), PAYLOAD))
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = encode, decode
}
criterion_main!(benches);
