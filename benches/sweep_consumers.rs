//! The ready-made consumers in a `ConsumerFifo`, fed their input in reads of
//! 64 B to 1 MiB (as a socket would hand it over), each group with its
//! baseline measured in the same run: tokio-util's codecs for the framings
//! they share (`LinesCodec` for lines, `LengthDelimitedCodec` for
//! length-prefixed records, decoding from a `BytesMut` extended by reads of
//! the same size), a memcpy of the payload for the others (`Count`, `Sink`,
//! `Collect`, `ChunkedBody`).
//!
//! `cargo bench --bench sweep_consumers` then `python3 scripts/ratios.py`.

mod sweep_util;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{BufMut, Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use producers::consume::{
    ChunkedBody, Collect, Consumer, ConsumerFifo, Count, Lines, Netstrings, Sink, Terminator,
};
use producers::{ProducerExt, produce::BytesProducer};
use sweep_util::{CHUNKS, TOTAL, baseline_memcpy, config, text};
use tokio_util::codec::{Decoder, LengthDelimitedCodec, LinesCodec};

/// Feeds `input` to a FIFO holding `consumers` in `chunk`-byte reads, then
/// the end.
fn feed(input: &[u8], chunk: usize, consumers: Vec<Box<dyn Consumer + Send>>) {
    let mut fifo = ConsumerFifo::with_budget(2 * TOTAL);
    for c in consumers {
        fifo.push_boxed(c);
    }
    for piece in input.chunks(chunk) {
        fifo.feed(piece).unwrap();
    }
    fifo.eof().unwrap();
}

/// A tokio-util decoder fed `input` in `chunk`-byte reads into a
/// `BytesMut`, decoding after each; returns the payload bytes framed.
fn tokio_decode<D: Decoder>(
    input: &[u8],
    chunk: usize,
    mut codec: D,
    len: impl Fn(&D::Item) -> usize,
) -> usize
where
    D::Error: std::fmt::Debug,
{
    let mut buf = BytesMut::with_capacity(64 << 10);
    let mut n = 0;
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(item) = codec.decode(&mut buf).unwrap() {
            n += len(&black_box(item));
        }
    }
    while let Some(item) = codec.decode_eof(&mut buf).unwrap() {
        n += len(&black_box(item));
    }
    n
}

fn lines(c: &mut Criterion) {
    let input = text(TOTAL);
    let lines = input.iter().filter(|&&b| b == b'\n').count();
    let payload = input.len() - lines;
    let mut g = c.benchmark_group("sweep_consume_lines");
    g.throughput(Throughput::Bytes(input.len() as u64));
    for chunk in CHUNKS {
        g.bench_with_input(
            BenchmarkId::new("baseline tokio LinesCodec", chunk),
            &chunk,
            |b, &chunk| {
                b.iter(|| {
                    let codec = LinesCodec::new_with_max_length(8192);
                    assert_eq!(tokio_decode(&input, chunk, codec, String::len), payload)
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("lines", chunk), &chunk, |b, &chunk| {
            b.iter(|| {
                let n = Arc::new(AtomicUsize::new(0));
                let m = n.clone();
                let c = Lines::new("\n", move |line, _| {
                    m.fetch_add(black_box(line).len(), Ordering::Relaxed);
                    Ok(())
                })
                .max_len(8192)
                .accept_unterminated();
                feed(&input, chunk, vec![Box::new(c)]);
                assert_eq!(n.load(Ordering::Relaxed), payload);
            })
        });
    }
    g.finish();
}

fn netstrings(c: &mut Criterion) {
    // Records of 100 to 1000 bytes, as netstrings and as 4-byte
    // big-endian length prefixes (tokio's default framing).
    let text = text(TOTAL);
    let (mut ns, mut ld) = (Vec::new(), Vec::new());
    let (mut at, mut k, mut payload) = (0, 0, 0);
    while at < text.len() {
        let len = (100 + (k * 97) % 900).min(text.len() - at);
        let rec = &text[at..at + len];
        ns.extend_from_slice(format!("{len}:").as_bytes());
        ns.extend_from_slice(rec);
        ns.push(b',');
        ld.put_u32(len as u32);
        ld.extend_from_slice(rec);
        at += len;
        k += 1;
        payload += len;
    }
    let mut g = c.benchmark_group("sweep_consume_netstrings");
    g.throughput(Throughput::Bytes(payload as u64));
    for chunk in CHUNKS {
        g.bench_with_input(
            BenchmarkId::new("baseline tokio LengthDelimitedCodec", chunk),
            &chunk,
            |b, &chunk| {
                b.iter(|| {
                    let codec = LengthDelimitedCodec::new();
                    assert_eq!(tokio_decode(&ld, chunk, codec, BytesMut::len), payload)
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("netstrings", chunk),
            &chunk,
            |b, &chunk| {
                b.iter(|| {
                    let n = Arc::new(AtomicUsize::new(0));
                    let m = n.clone();
                    let c = Netstrings::new(move |rec, _| {
                        m.fetch_add(black_box(rec).len(), Ordering::Relaxed);
                        Ok(())
                    });
                    feed(&ns, chunk, vec![Box::new(c)]);
                    assert_eq!(n.load(Ordering::Relaxed), payload);
                })
            },
        );
    }
    g.finish();
}

/// A memcpy-baseline group: `consumers()` fed `input` at every chunk size.
fn simple(
    c: &mut Criterion,
    name: &str,
    id: &str,
    payload: &[u8],
    input: &[u8],
    consumers: impl Fn(Arc<AtomicUsize>) -> Vec<Box<dyn Consumer + Send>>,
) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(payload.len() as u64));
    baseline_memcpy(&mut g, payload);
    for chunk in CHUNKS {
        g.bench_with_input(BenchmarkId::new(id, chunk), &chunk, |b, &chunk| {
            b.iter(|| {
                let n = Arc::new(AtomicUsize::new(0));
                feed(input, chunk, consumers(n.clone()));
                assert_eq!(n.load(Ordering::Relaxed), payload.len());
            })
        });
    }
    g.finish();
}

fn count(c: &mut Criterion) {
    // Bodies of 16 KiB, one `Count` each, queued up front.
    let data = text(TOTAL);
    simple(c, "sweep_consume_count", "count 16K", &data, &data, |n| {
        (0..TOTAL / (16 << 10))
            .map(|_| {
                let n = n.clone();
                Box::new(Count::new(16 << 10, move |body, _| {
                    n.fetch_add(black_box(body).len(), Ordering::Relaxed);
                    Ok(())
                })) as Box<dyn Consumer + Send>
            })
            .collect()
    });
}

/// A writer that copies into its buffer and counts into `n` when flushed.
struct Into(Vec<u8>, Arc<AtomicUsize>);

impl std::io::Write for Into {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.1.store(black_box(&self.0).len(), Ordering::Relaxed);
        Ok(())
    }
}

fn sink(c: &mut Criterion) {
    let data = text(TOTAL);
    simple(c, "sweep_consume_sink", "sink", &data, &data, |n| {
        let w = Into(Vec::with_capacity(TOTAL), n);
        vec![Box::new(Sink::new(w, Terminator::Count(TOTAL as u64)))]
    });
}

fn collect(c: &mut Criterion) {
    let data = text(TOTAL);
    simple(c, "sweep_consume_collect", "collect", &data, &data, |n| {
        vec![Box::new(
            Collect::new(move |all, _| {
                n.store(black_box(all).len(), Ordering::Relaxed);
                Ok(())
            })
            .max(2 * TOTAL),
        )]
    });
}

fn chunked_body(c: &mut Criterion) {
    // A chunked body of 16 KiB chunks, read in pieces of every size.
    let data = Bytes::from(text(TOTAL));
    let wire = BytesProducer::with_piece_size(data.clone(), 16 << 10)
        .unwrap()
        .chunked()
        .collect_bytes()
        .unwrap();
    simple(
        c,
        "sweep_consume_chunked_body",
        "chunked_body",
        &data,
        &wire,
        |n| {
            vec![Box::new(ChunkedBody::new(move |piece, _| {
                n.fetch_add(black_box(piece).len(), Ordering::Relaxed);
                Ok(())
            }))]
        },
    );
}

criterion_group! {
    name = benches;
    config = config();
    targets = lines, netstrings, count, sink, collect, chunked_body
}
criterion_main!(benches);
