//! Chunked transfer coding: encoding and decoding 16 KiB chunks, each
//! group with a memcpy of the same bytes as its baseline.
//!
//! Run: `cargo bench --bench chunked -- --warm-up-time 1 --measurement-time 3`
//!
//! - `chunked_encode/memcpy` copies the payload once; `chunked_encode/encode`
//!   drives `.chunked()` over the same payload in 16 KiB slices and gathers
//!   the pieces as a vectored writer would (`encode_16000`: 16 000-byte
//!   slices, whose size lines are not static). Before measuring, the bench
//!   checks that every payload piece points into the source buffer (no
//!   payload byte copied) and prints the bytes allocated per run, counted by
//!   a global allocator.
//! - `chunked_decode/memcpy` copies the encoded bytes once;
//!   `chunked_decode/decode` decodes a buffer already in memory;
//!   `chunked_decode/read_and_decode` appends 64 KiB "reads" into a buffer
//!   and decodes as it goes, as a socket reader would (so it includes one
//!   copy of the input).

use std::hint::black_box;
use std::io::IoSlice;
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use producers::codec::chunked::{ChunkedDecoder, Decoded};
use producers::{Chunk, Producer, ProducerExt, produce::BytesProducer};

#[path = "util/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

const CHUNK: usize = 16 * 1024;
const TOTAL: usize = 4 << 20;

/// Drives `p` to its end, gathering its pieces as a vectored writer would.
fn drain<P: Producer>(mut p: P, pieces: &mut Vec<Chunk>) -> u64 {
    let mut cx = Context::from_waker(Waker::noop());
    pieces.clear();
    let mut n = 0;
    while let Poll::Ready(Some(Ok(c))) = p.poll_more(&mut cx) {
        n += c.len();
        pieces.push(c);
    }
    n
}

fn encode(c: &mut Criterion) {
    let data = Bytes::from((0..TOTAL).map(|i| (i * 31) as u8).collect::<Vec<u8>>());
    let mut pieces = Vec::with_capacity(4 * TOTAL / CHUNK);

    // Proof that no payload byte is copied.
    let make = || {
        BytesProducer::with_piece_size(data.clone(), CHUNK)
            .unwrap()
            .chunked()
    };
    let before = counting::allocated();
    let n = drain(make(), &mut pieces);
    let allocated = counting::allocated() - before;
    let range = data.as_ptr() as usize..data.as_ptr() as usize + data.len();
    let payload: Vec<&Bytes> = pieces
        .iter()
        .skip(1)
        .step_by(3)
        .filter_map(Chunk::as_bytes)
        .collect();
    assert_eq!(payload.len(), TOTAL / CHUNK);
    assert!(
        payload
            .iter()
            .all(|b| b.len() == CHUNK && range.contains(&(b.as_ptr() as usize)))
    );
    let slices: Vec<IoSlice<'_>> = pieces
        .iter()
        .filter_map(Chunk::as_bytes)
        .map(|b| IoSlice::new(b))
        .collect();
    println!(
        "chunked_encode: {} pieces, {} bytes out for {} payload bytes; every payload piece \
         points into the source buffer (0 payload bytes copied); {} bytes allocated per run",
        slices.len(),
        n,
        TOTAL,
        allocated
    );

    let mut g = c.benchmark_group("chunked_encode");
    g.throughput(Throughput::Bytes(TOTAL as u64));
    let mut dst = vec![0u8; TOTAL];
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&data));
            black_box(&dst);
        })
    });
    g.bench_function("encode", |b| {
        b.iter(|| black_box(drain(make(), &mut pieces)))
    });
    // Sizes that are not powers of two take the size-line arena path.
    let odd = || {
        BytesProducer::with_piece_size(data.clone(), 16_000)
            .unwrap()
            .chunked()
    };
    g.bench_function("encode_16000", |b| {
        b.iter(|| black_box(drain(odd(), &mut pieces)))
    });
    g.finish();
}

fn decode(c: &mut Criterion) {
    let data: Vec<u8> = (0..TOTAL).map(|i| (i * 31) as u8).collect();
    let encoded = BytesProducer::with_piece_size(data, CHUNK)
        .unwrap()
        .chunked()
        .collect_bytes()
        .unwrap();

    let decode_all = |buf: &mut BytesMut| {
        let mut d = ChunkedDecoder::new();
        let mut n = 0;
        loop {
            match d.decode(buf).unwrap() {
                Decoded::Data(b) => n += b.len(),
                Decoded::End => return n,
                Decoded::NeedMore => panic!("truncated"),
            }
        }
    };
    assert_eq!(decode_all(&mut BytesMut::from(&encoded[..])), TOTAL);

    let mut g = c.benchmark_group("chunked_decode");
    g.throughput(Throughput::Bytes(encoded.len() as u64));
    let mut dst = vec![0u8; encoded.len()];
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&encoded));
            black_box(&dst);
        })
    });
    g.bench_function("decode", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&encoded[..]),
            |buf| black_box(decode_all(buf)),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("read_and_decode", |b| {
        let mut buf = BytesMut::with_capacity(128 << 10);
        b.iter(|| {
            let mut d = ChunkedDecoder::new();
            let mut n = 0;
            for read in encoded.chunks(64 << 10) {
                buf.reserve(read.len());
                buf.extend_from_slice(read);
                while let Decoded::Data(b) = d.decode(&mut buf).unwrap() {
                    n += b.len();
                }
            }
            assert!(d.is_done());
            black_box(n)
        })
    });
    g.finish();
}

/// Short runs (10 samples, 1 s warm-up, 2 s measurement) so that the whole
/// `cargo bench` fits in 15 minutes on 2 cores.
fn short() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = short();
    targets = encode, decode
}
criterion_main!(benches);
