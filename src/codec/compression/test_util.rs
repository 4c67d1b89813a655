//! Helpers shared by the codings' unit tests.
// The generic helpers serve brotli and zstd; gzip has its own.
#![cfg_attr(not(any(feature = "brotli", feature = "zstd")), allow(dead_code))]

/// `n` bytes of deterministic, compressible, text-like data.
pub(crate) fn text(n: usize) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "producer", "chunk", "the", "of", "gzip", "stream", "a", "consumer", "medusa", "data",
        "flush", "pending",
    ];
    let mut out = Vec::with_capacity(n + 16);
    let mut x: u32 = 12345;
    while out.len() < n {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        out.extend_from_slice(WORDS[(x >> 16) as usize % WORDS.len()].as_bytes());
        out.push(if (x >> 8).is_multiple_of(9) {
            b'\n'
        } else {
            b' '
        });
    }
    out.truncate(n);
    out
}

use super::{ContentDecoder, ContentEncoder};

/// One-shot encoding with a sans-I/O encoder.
pub(crate) fn encode_with<E: ContentEncoder>(mut enc: E, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut fed = 0;
    loop {
        out.reserve(4096);
        if fed < data.len() {
            fed += enc.compress(&data[fed..], &mut out);
        } else if enc.finish(&mut out) {
            return out;
        }
    }
}

/// Decodes the input fed in the given pieces, with room for `room` bytes
/// per call; the output, or the first error.
pub(crate) fn decode_pieces_with<D: ContentDecoder>(
    mut dec: D,
    pieces: &[&[u8]],
    room: usize,
) -> Result<Vec<u8>, D::Error> {
    let mut out = Vec::new();
    for piece in pieces {
        let mut piece = *piece;
        loop {
            let mut buf = Vec::with_capacity(room);
            let p = dec.decode(piece, &mut buf)?;
            assert_eq!(buf.capacity(), room, "the decoder grew the buffer");
            out.extend_from_slice(&buf);
            piece = &piece[p.consumed..];
            if piece.is_empty() && p.produced < room {
                break;
            }
        }
    }
    loop {
        let mut buf = Vec::with_capacity(room);
        let p = dec.decode(&[], &mut buf)?;
        out.extend_from_slice(&buf);
        if p.produced == 0 {
            break;
        }
    }
    dec.finish()?;
    Ok(out)
}

/// The decoder guarantees every coding shares, checked on `samples`
/// (data, stream): the input split at every offset (and every pair of
/// offsets for short streams) and with little output room decodes the
/// same; every strict prefix is the coding's truncation error at its
/// length (`truncated(n)`); a byte after the end is trailing data at the
/// stream's length; the output cap is exact.
pub(crate) fn check_decoder<D>(
    new: impl Fn() -> D,
    samples: &[(Vec<u8>, Vec<u8>)],
    truncated: impl Fn(u64) -> D::Error,
    trailing: impl Fn(u64) -> D::Error,
    too_large: impl Fn(&D::Error) -> Option<u64>,
) where
    D: ContentDecoder,
    D::Error: PartialEq + std::fmt::Debug,
{
    for (data, stream) in samples {
        // Little output room on short streams only (a call per byte).
        let rooms: &[usize] = if data.len() <= 4000 {
            &[1, 7, 1 << 16]
        } else {
            &[1 << 16]
        };
        for &room in rooms {
            assert_eq!(&decode_pieces_with(new(), &[stream], room).unwrap(), data);
            for i in 0..=stream.len() {
                let (a, b) = stream.split_at(i);
                let got = decode_pieces_with(new(), &[a, b], room).unwrap();
                assert!(&got == data, "split at {i}, room {room}");
                if stream.len() < 40 && room == 7 {
                    for j in 0..=b.len() {
                        let (b1, b2) = b.split_at(j);
                        let got = decode_pieces_with(new(), &[a, b1, b2], room).unwrap();
                        assert!(&got == data, "split at {i} and {}", i + j);
                    }
                }
            }
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(&decode_pieces_with(new(), &bytes, 3).unwrap(), data);
        for n in 0..stream.len() {
            let got = decode_pieces_with(new(), &[&stream[..n]], 1 << 16);
            assert_eq!(
                got,
                Err(truncated(n as u64)),
                "prefix {n} of {}",
                stream.len()
            );
        }
        for extra in [&b"x"[..], &[0]] {
            let got = decode_pieces_with(new(), &[stream, extra], 1 << 16);
            assert_eq!(
                got,
                Err(trailing(stream.len() as u64)),
                "{extra:?} after the end"
            );
        }
        // The cap: exactly the data is fine, one byte less is its error
        // after exactly the cap was produced.
        let n = data.len() as u64;
        let mut exact = new();
        exact.set_max_output(n);
        assert_eq!(&decode_pieces_with(exact, &[stream], 1000).unwrap(), data);
        if n > 0 {
            for room in [1000, 1 << 16] {
                let mut d = new();
                d.set_max_output(n - 1);
                let mut out = Vec::new();
                let mut input = &stream[..];
                let err = loop {
                    let mut buf = Vec::with_capacity(room);
                    let r = d.decode(input, &mut buf);
                    out.extend_from_slice(&buf);
                    match r {
                        Ok(p) if p.consumed == 0 && p.produced == 0 => match d.finish() {
                            Err(e) => break e,
                            Ok(()) => panic!("no error under a cap of {}", n - 1),
                        },
                        Ok(p) => input = &input[p.consumed..],
                        Err(e) => break e,
                    }
                };
                assert_eq!(too_large(&err), Some(n - 1), "{err:?}");
                assert_eq!(out, data[..data.len() - 1], "exactly the cap was produced");
                assert_eq!(d.total_out(), n - 1);
                assert_eq!(d.decode(&[], &mut Vec::with_capacity(10)), Err(err.clone()));
                assert_eq!(d.finish(), Err(err));
            }
        }
    }
}

use super::{Compressed, Decompressed, FlushPolicy};
use crate::ProducerExt;
use crate::produce::{BytesProducer, Producer};
use crate::testing::{self, Script, Step};
use proptest::prelude::*;
use std::task::Poll;

/// A script of the data in pieces of the given sizes, with a pending
/// after each piece whose size is odd.
pub(crate) fn scripted(data: &[u8], sizes: &[usize]) -> Script {
    let mut steps = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        steps.push(Step::chunk(rest[..n].to_vec()));
        if n % 2 == 1 {
            steps.push(Step::Pending);
        }
        rest = &rest[n..];
        i += 1;
    }
    Script::new(steps)
}

/// The producer wrappers over one coding's engines: conformance under
/// every flush policy and chunking, a flush on pending makes the bytes so
/// far decodable, no poll consumes more than its budget, and a proptest
/// round trip under arbitrary chunkings, pendings and policies.
pub(crate) fn check_wrappers<E, D>(enc: impl Fn() -> E + Clone, dec: impl Fn() -> D + Clone)
where
    E: ContentEncoder + std::fmt::Debug,
    D: ContentDecoder + std::fmt::Debug,
{
    let data = text(30_000);
    let policies = [
        FlushPolicy::AtEnd,
        FlushPolicy::OnPending,
        FlushPolicy::every(7),
        FlushPolicy::every(5000),
    ];
    for policy in policies {
        for piece in [1000, 20_000] {
            let make = || {
                let src = BytesProducer::with_piece_size(data.clone(), piece).unwrap();
                Compressed::with_compressor(src, enc()).flush_policy(policy)
            };
            let packed = make().collect_bytes().unwrap();
            testing::check(make, &packed);
            for out_piece in [3, 4096] {
                testing::check(
                    || {
                        let src = BytesProducer::with_piece_size(packed.clone(), out_piece);
                        Decompressed::with_decompressor(src.unwrap(), dec())
                    },
                    &data,
                );
            }
        }
    }

    // A pending source: everything fed so far is flushed and decodes.
    let script = Script::new([
        Step::chunk("data: one\n\n"),
        Step::Pending,
        Step::chunk("data: two\n\n"),
    ]);
    let mut p = Compressed::with_compressor(script, enc());
    let (mut cx, _wakes) = testing::counting_context();
    let Poll::Ready(Some(Ok(c))) = p.poll_more(&mut cx) else {
        panic!("expected output at the pending")
    };
    let mut d = dec();
    let mut plain = Vec::with_capacity(100);
    d.decode(&c.into_bytes().unwrap(), &mut plain).unwrap();
    assert_eq!(plain, b"data: one\n\n");

    // The budget, counted at the engine.
    for input in [vec![0u8; 300_000], text(100_000)] {
        for budget in [E::DEFAULT_POLL_BUDGET, 1000] {
            let src = BytesProducer::with_piece_size(input.clone(), 70_000).unwrap();
            let mut p = Compressed::with_compressor(src, enc()).poll_budget(budget);
            let mut out = Vec::new();
            loop {
                let before = p.compressor().total_in();
                let more = p.poll_more(&mut cx);
                assert!(p.compressor().total_in() - before <= budget as u64);
                match more {
                    Poll::Ready(Some(Ok(c))) => out.extend_from_slice(&c.into_bytes().unwrap()),
                    Poll::Ready(Some(Err(e))) => panic!("{e}"),
                    Poll::Ready(None) => break,
                    Poll::Pending => {}
                }
            }
            let got = decode_pieces_with(dec(), &[&out], 1 << 16).unwrap();
            assert!(got == input);
        }
    }

    // Round trips under arbitrary chunkings, pendings and policies.
    let policy = prop_oneof![
        Just(FlushPolicy::AtEnd),
        Just(FlushPolicy::OnPending),
        (1usize..3000).prop_map(FlushPolicy::every),
    ];
    let data = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..3000),
        (0usize..10_000).prop_map(text),
        proptest::collection::vec(0u8..3, 0..5000),
    ];
    let sizes = proptest::collection::vec(1usize..5000, 1..8);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(24));
    runner
        .run(
            &(data, sizes, 1usize..5000, policy),
            |(data, sizes, out_piece, policy)| {
                let make = || {
                    Compressed::with_compressor(scripted(&data, &sizes), enc()).flush_policy(policy)
                };
                let packed = make().collect_bytes().unwrap();
                prop_assert_eq!(&packed, &make().collect_bytes().unwrap());
                let src = BytesProducer::with_piece_size(packed, out_piece).unwrap();
                let mut d = dec();
                d.set_max_output(data.len() as u64);
                let unpacked = Decompressed::with_decompressor(src, d)
                    .collect_bytes()
                    .unwrap();
                prop_assert_eq!(&unpacked[..], &data[..]);
                Ok(())
            },
        )
        .unwrap();
}
