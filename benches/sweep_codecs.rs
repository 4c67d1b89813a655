//! The sans-I/O codecs as producers (chunked coding and its decoder,
//! dot-stuffing and its undoing, escaping) at source chunk sizes from 64 B
//! to 1 MiB, each group against a memcpy of the same payload, so every
//! figure is a ratio measured in one run. Each subject copies its output
//! into a buffer, as a sink would. Throughput counts payload bytes (the
//! decoded side). Decoders get their input encoded at the same chunk size
//! they are fed in (a chunked body of 64-byte chunks, fed 64 bytes at a
//! time).
//!
//! `cargo bench --bench sweep_codecs` then `python3 scripts/ratios.py`.

mod sweep_util;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use producers::{Producer, ProducerExt, produce::BytesProducer};
use sweep_util::{CHUNKS, TOTAL, baseline_memcpy, config, copy_out, text};

/// The memcpy baseline of `payload`, and `make(chunk)` drained into a
/// buffer at every chunk size (its output length checked against the first
/// run's; against `payload` for decoders).
fn group<P: Producer>(
    c: &mut Criterion,
    name: &str,
    id: &str,
    payload: &[u8],
    decoder: bool,
    mut make: impl FnMut(usize) -> P,
) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(payload.len() as u64));
    baseline_memcpy(&mut g, payload);
    let mut dst = Vec::with_capacity(2 * payload.len() + (1 << 20));
    for chunk in CHUNKS {
        let out = copy_out(make(chunk), &mut dst);
        if decoder {
            assert_eq!(&dst[..], payload, "{name} at {chunk}");
        }
        g.bench_with_input(BenchmarkId::new(id, chunk), &chunk, |b, &chunk| {
            b.iter(|| assert_eq!(copy_out(make(chunk), &mut dst), out))
        });
    }
    g.finish();
}

fn pieces(data: &Bytes, chunk: usize) -> BytesProducer {
    BytesProducer::with_piece_size(data.clone(), chunk).unwrap()
}

/// `encode(chunk)` for every chunk size, collected.
fn encoded<P: Producer>(mut encode: impl FnMut(usize) -> P) -> Vec<Bytes> {
    CHUNKS
        .iter()
        .map(|&k| encode(k).collect_bytes().unwrap())
        .collect()
}

fn at(chunk: usize) -> usize {
    CHUNKS.iter().position(|&k| k == chunk).unwrap()
}

fn chunked(c: &mut Criterion) {
    let data = Bytes::from(text(TOTAL));
    group(c, "sweep_chunked", "chunked", &data, false, |chunk| {
        pieces(&data, chunk).chunked()
    });
    let wire = encoded(|chunk| pieces(&data, chunk).chunked());
    group(c, "sweep_dechunk", "dechunk", &data, true, |chunk| {
        pieces(&wire[at(chunk)], chunk).dechunked()
    });
}

/// CRLF lines of 72 bytes, one in ten starting with a dot.
fn mail(n: usize) -> Bytes {
    let mut out = Vec::with_capacity(n + 80);
    let mut i = 0u32;
    while out.len() < n {
        if i.is_multiple_of(10) {
            out.push(b'.');
        }
        out.extend((0..70).map(|k| b'a' + ((i + k) % 26) as u8));
        out.extend_from_slice(b"\r\n");
        i += 1;
    }
    Bytes::from(out)
}

fn dotstuff(c: &mut Criterion) {
    let body = mail(TOTAL);
    group(c, "sweep_dotstuff", "dotstuff", &body, false, |chunk| {
        pieces(&body, chunk).dot_stuffed().terminated(true)
    });
    let wire = encoded(|chunk| pieces(&body, chunk).dot_stuffed().terminated(true));
    group(c, "sweep_undotstuff", "undotstuff", &body, true, |chunk| {
        pieces(&wire[at(chunk)], chunk).dot_unstuffed()
    });
}

fn escape(c: &mut Criterion) {
    // Text with a `<` about every 60 bytes, escaped as `&lt;`.
    let data: Bytes = text(TOTAL)
        .into_iter()
        .map(|b| if b == b'\n' { b'<' } else { b })
        .collect::<Vec<u8>>()
        .into();
    group(c, "sweep_escape", "escape", &data, false, |chunk| {
        pieces(&data, chunk).escaped("<", "&lt;")
    });
}

criterion_group! {
    name = benches;
    config = config();
    targets = chunked, dotstuff, escape
}
criterion_main!(benches);
