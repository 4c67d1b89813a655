//! [`Compressed`]: the encoding producer combinator.
//!
//! # The per-poll budget
//!
//! One poll compresses at most [`DEFAULT_POLL_BUDGET`] (32 KiB) input
//! bytes, so that a poll at level 6 stays under about 0.5 ms and a loop or
//! an executor serving other connections is not held. Output also ends a
//! poll: the output buffer is [`ENCODE_CHUNK`] (32 KiB), so incompressible
//! input is bounded by it whatever the budget, and only compressible input
//! is bounded by the budget alone (without it a poll of a megabyte of zeros
//! compressed all of it).
//!
//! Measured with `cargo bench --bench poll_budget` (4 MiB inputs: this
//! crate's sources repeated, pseudo-random bytes, zeros; median and
//! maximum time of one `poll_more`, µs; input consumed per poll, KiB) on a
//! shared 2-core AMD EPYC VM, `uptime` load average 5.88, 2.98, 1.77 during
//! the run — the maxima are mostly preemption by other jobs, the medians are
//! the figure to read:
//!
//! | input | level | budget KiB | median µs | max µs | KiB/poll |
//! |---|---|---|---|---|---|
//! | text | 1 | 16 | 54 | 4193 | 16 |
//! | text | 1 | 32 | 108 | 4183 | 32 |
//! | text | 1 | 64 | 217 | 8317 | 62 |
//! | text | 1 | 128 | 228 | 8364 | 79 |
//! | text | 1 | 256 | 228 | 8480 | 84 |
//! | text | 6 | 16 | 177 | 4405 | 16 |
//! | text | 6 | **32** | **358** | 510 | 32 |
//! | text | 6 | 64 | 772 | 3975 | 63 |
//! | text | 6 | 128 | 1493 | 5702 | 117 |
//! | text | 6 | 256 | 1465 | 10900 | 124 |
//! | text | 9 | 16 | 332 | 4417 | 16 |
//! | text | 9 | 32 | 685 | 4903 | 32 |
//! | text | 9 | 64 | 1402 | 9544 | 62 |
//! | text | 9 | 128 | 2866 | 18878 | 120 |
//! | text | 9 | 256 | 2817 | 10794 | 128 |
//! | incompressible | 1 | 16 | 124 | 6753 | 16 |
//! | incompressible | 1 | 32..256 | 4..262 | 5177..24542 | 16..30 |
//! | incompressible | 6 | 16 | 249 | 35115 | 16 |
//! | incompressible | 6 | **32** | **483** | 4586 | 32 |
//! | incompressible | 6 | 64..256 | 486..488 | 543..4660 | 32 |
//! | incompressible | 9 | 16 | 270 | 311 | 16 |
//! | incompressible | 9 | 32..256 | 539..545 | 580..742 | 32 |
//! | zeros | 1 | 16 / 32 / 64 / 128 / 256 | 7 / 14 / 28 / 56 / 112 | 29..134 | = budget |
//! | zeros | 6 | 16 / 32 / 64 / 128 / 256 | 7 / 15 / 29 / 58 / 116 | 43..150 | = budget |
//! | zeros | 9 | 16 / 32 / 64 / 128 / 256 | 20 / 38 / 76 / 153 / 308 | 54..369 | = budget |
//!
//! At level 6, 32 KiB is the largest budget under 0.5 ms for text (358 µs;
//! 64 KiB took 772 µs, the old default of 256 KiB about 1.5 ms, bounded by
//! the output buffer, not by the budget). Incompressible input is bounded
//! by the output buffer at 32 KiB per poll (483 µs). Level 9 on text takes
//! about twice as long per byte: set a 16 KiB budget for it where latency
//! matters. Zeros are cheap per byte at every level.
//!
//! Other compressing paths: the tokio
//! [`CompressedEncoder`](crate::tokio::codec::CompressedEncoder) compresses
//! each item whole in one `encode` call, so its granularity is the caller's
//! item size (items of at most 32 KiB keep to the same bound).

use super::{Compressor, Format};
use crate::codec::compression::{self, ContentEncoder};
use crate::produce::Producer;

/// The most input bytes a [`Compressed`] compresses in one poll by default:
/// 32 KiB, under 0.5 ms of work at level 6 (measured by `cargo bench
/// --bench poll_budget`; the table is in `src/codec/gzip/compressed.rs`).
pub const DEFAULT_POLL_BUDGET: usize = 32 << 10;

/// Compresses another producer's output as gzip, zlib or raw deflate: the
/// shared [`compression::Compressed`] wrapper with gzip's [`Compressor`].
///
/// Made by [`ProducerExt::gzip`](crate::ProducerExt::gzip),
/// [`zlib`](crate::ProducerExt::zlib) and
/// [`deflate`](crate::ProducerExt::deflate), or
/// `Compressed::with_compressor(p, Compressor::with_window_bits(…))`. See
/// [`compression::Compressed`] for its behaviour.
pub type Compressed<P> = compression::Compressed<P, Compressor>;

impl ContentEncoder for Compressor {
    const DEFAULT_POLL_BUDGET: usize = DEFAULT_POLL_BUDGET;

    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        Compressor::compress(self, input, out)
    }

    fn flush(&mut self, out: &mut Vec<u8>) -> bool {
        Compressor::flush(self, out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        Compressor::finish(self, out)
    }

    fn total_in(&self) -> u64 {
        Compressor::total_in(self)
    }
}

impl<P: Producer> compression::Compressed<P, Compressor> {
    pub(crate) fn new(inner: P, format: Format, level: u32) -> Self {
        Self::with_compressor(inner, Compressor::new(format, level))
    }

    /// The format written.
    pub fn format(&self) -> Format {
        self.compressor().format()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::gzip::FlushPolicy;
    use crate::codec::gzip::test_util::{FORMATS, decode_all, encode_all, text};
    use crate::codec::gzip::{Decompressor, ENCODE_CHUNK};
    use crate::testing::{self, Script, Step};
    use crate::{ProducerExt, from_bytes, produce::BytesProducer};
    use proptest::prelude::*;
    use std::io;
    use std::task::Poll;

    fn policies() -> [FlushPolicy; 5] {
        [
            FlushPolicy::AtEnd,
            FlushPolicy::OnPending,
            FlushPolicy::every(1),
            FlushPolicy::every(100),
            FlushPolicy::every(5000),
        ]
    }

    fn compress<P: Producer>(p: P, format: Format, level: u32) -> Compressed<P> {
        Compressed::new(p, format, level)
    }

    #[test]
    fn conformance() {
        let data = text(100_000);
        for format in FORMATS {
            for policy in policies() {
                for piece in [1000, 70_000] {
                    let make = || {
                        compress(
                            BytesProducer::with_piece_size(data.clone(), piece).unwrap(),
                            format,
                            6,
                        )
                        .flush_policy(policy)
                    };
                    let expected = make().collect_bytes().unwrap();
                    testing::check(make, &expected);
                    assert_eq!(decode_all(format, &expected), data, "{format:?} {policy:?}");
                }
            }
        }
    }

    #[test]
    fn the_output_is_deterministic_for_each_chunking_and_policy() {
        let data = text(50_000);
        for format in FORMATS {
            for piece in [1, 333, 50_000] {
                for policy in policies() {
                    let run = || {
                        let p = BytesProducer::with_piece_size(data.clone(), piece).unwrap();
                        compress(p, format, 6)
                            .flush_policy(policy)
                            .collect_bytes()
                            .unwrap()
                    };
                    let first = run();
                    assert!(first == run(), "{format:?} piece {piece} {policy:?}");
                    assert!(
                        decode_all(format, &first) == data,
                        "{format:?} piece {piece} {policy:?}"
                    );
                }
            }
            // One piece, no pending and no budget: exactly the sans-I/O
            // encoder's stream. (With a budget the engine is fed in
            // budget-sized pieces, and the engine's bytes depend on how its
            // input is split — what they decode to does not.)
            let whole = compress(from_bytes(data.clone()), format, 6)
                .poll_budget(usize::MAX)
                .collect_bytes()
                .unwrap();
            assert!(whole == encode_all(format, 6, &data), "{format:?}");
        }
    }

    #[test]
    fn output_chunks_are_bounded_and_never_empty() {
        // Incompressible input at level 0: output about as large as input.
        let mut x = 1u64;
        let data: Vec<u8> = (0..300_000)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                (x >> 56) as u8
            })
            .collect();
        let sizes = testing::chunk_sizes(from_bytes(data.clone()).gzip(0));
        assert!(
            sizes.iter().all(|&s| s > 0 && s <= ENCODE_CHUNK as u64),
            "{sizes:?}"
        );
        assert!(sizes.len() > 5);
    }

    #[test]
    fn on_pending_flushes_so_the_bytes_before_the_pending_decode_in_full() {
        for format in FORMATS {
            let script = Script::new([
                Step::chunk("data: one\n\n"),
                Step::Pending,
                Step::chunk("data: two\n\n"),
                Step::Pending,
                Step::Pending,
            ]);
            let mut p = compress(script, format, 6);
            let (mut cx, _wakes) = testing::counting_context();
            let mut dec = Decompressor::new(format);
            let mut plain = Vec::with_capacity(100);
            // Chunk one, then the source is pending: flushed and handed out.
            let Poll::Ready(Some(Ok(c))) = p.poll_more(&mut cx) else {
                panic!("expected output")
            };
            assert_eq!(
                p.get_ref().counters().unwrap().calls,
                2,
                "no more input was asked for"
            );
            dec.decode(&c.into_bytes().unwrap(), &mut plain).unwrap();
            assert_eq!(
                plain, b"data: one\n\n",
                "{format:?}: decoded before more input"
            );
            let Poll::Ready(Some(Ok(c))) = p.poll_more(&mut cx) else {
                panic!("expected output")
            };
            dec.decode(&c.into_bytes().unwrap(), &mut plain).unwrap();
            assert_eq!(plain, b"data: one\n\ndata: two\n\n");
            // Nothing fed since the flush: a pending passes through, no new flush.
            assert!(p.poll_more(&mut cx).is_pending());
            let Poll::Ready(Some(Ok(c))) = p.poll_more(&mut cx) else {
                panic!("expected the end of the stream")
            };
            dec.decode(&c.into_bytes().unwrap(), &mut plain).unwrap();
            dec.finish().unwrap();
            assert!(matches!(p.poll_more(&mut cx), Poll::Ready(None)));
        }
    }

    #[test]
    fn at_end_does_not_flush_on_pending() {
        let script = Script::new([
            Step::chunk("data: one\n\n"),
            Step::Pending,
            Step::chunk("x"),
        ]);
        let mut p = compress(script, Format::Deflate, 6).flush_policy(FlushPolicy::AtEnd);
        let (mut cx, _wakes) = testing::counting_context();
        assert!(
            p.poll_more(&mut cx).is_pending(),
            "level 6 keeps small input inside the engine"
        );
        let out = p.collect_bytes().unwrap();
        assert_eq!(decode_all(Format::Deflate, &out), b"data: one\n\nx");
    }

    #[test]
    fn file_regions_are_read_transparently() {
        let data = text(200_000);
        let f = testing::file_with(&data);
        let regions = crate::FileProducer::from_file(f).unwrap().regions();
        // Without a budget (see above) the bytes are the one-shot stream's.
        let out = regions.gzip(6).poll_budget(usize::MAX).collect_bytes();
        assert_eq!(out.unwrap(), encode_all(Format::Gzip, 6, &data));
        let regions = crate::FileProducer::from_file(testing::file_with(&data))
            .unwrap()
            .regions();
        let out = regions.gzip(6).collect_bytes().unwrap();
        assert_eq!(decode_all(Format::Gzip, &out), data);
    }

    #[test]
    fn a_source_error_passes_through_and_is_final() {
        let script = Script::new([
            Step::chunk("abc"),
            Step::error(io::ErrorKind::ConnectionReset),
        ]);
        let mut p = script.zlib(6);
        assert_eq!(p.more().unwrap_err().kind(), io::ErrorKind::ConnectionReset);
        assert!(p.more().unwrap().is_none());
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn accessors() {
        let mut p = from_bytes("x").deflate(1);
        assert_eq!(p.format(), Format::Deflate);
        assert_eq!(p.get_ref().exact_len(), Some(1));
        assert_eq!(p.get_mut().exact_len(), Some(1));
        assert_eq!(p.into_inner().exact_len(), Some(1));
    }

    fn policy_strategy() -> impl Strategy<Value = FlushPolicy> {
        prop_oneof![
            Just(FlushPolicy::AtEnd),
            Just(FlushPolicy::OnPending),
            (1usize..3000).prop_map(FlushPolicy::every),
        ]
    }

    fn data_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..3000),
            (0usize..20_000).prop_map(text),
            proptest::collection::vec(0u8..3, 0..5000),
        ]
    }

    /// A script of the data in pieces of the given sizes, with a pending
    /// after each piece whose size is odd.
    fn scripted(data: &[u8], sizes: &[usize]) -> Script {
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn round_trip_every_format_chunking_and_policy(
            data in data_strategy(),
            sizes in proptest::collection::vec(1usize..5000, 1..8),
            out_pieces in 1usize..5000,
            level in 0u32..=9,
            policy in policy_strategy(),
            f in 0usize..3,
        ) {
            let format = FORMATS[f];
            let make = || compress(scripted(&data, &sizes), format, level).flush_policy(policy);
            let packed = make().collect_bytes().unwrap();
            // Deterministic: the same input, chunking and policy give the same bytes.
            prop_assert_eq!(&packed, &make().collect_bytes().unwrap());
            let unpacked = BytesProducer::with_piece_size(packed.clone(), out_pieces)
                .unwrap()
                .pipe_decode(format)
                .collect_bytes()
                .unwrap();
            prop_assert_eq!(&unpacked[..], &data[..]);
        }
    }

    #[test]
    fn one_poll_compresses_at_most_its_budget() {
        // Found by the hostile-client tests (issue 11): 4 MiB of zeros made
        // about 4 KiB of output, so one poll, filling a 32 KiB output
        // buffer, compressed all of it and held the loop.
        let zeros = vec![0u8; 4 << 20];
        let mut p = from_bytes(zeros.clone()).gzip(6).poll_budget(64 << 10);
        let (mut cx, wakes) = testing::counting_context();
        let mut out = Vec::new();
        let mut pendings = 0;
        loop {
            match p.poll_more(&mut cx) {
                Poll::Ready(Some(Ok(c))) => out.extend_from_slice(&c.into_bytes().unwrap()),
                Poll::Ready(Some(Err(e))) => panic!("{e}"),
                Poll::Ready(None) => break,
                Poll::Pending => pendings += 1,
            }
        }
        assert!(pendings >= (4 << 20) / (64 << 10) - 2, "{pendings}");
        assert_eq!(wakes.count(), pendings, "every budget pending wakes itself");
        assert_eq!(decode_all(Format::Gzip, &out), zeros);
        // The conformance rules hold at any budget.
        for budget in [1, 7, 4096] {
            testing::check(
                || {
                    BytesProducer::with_piece_size(text(20_000), 3000)
                        .unwrap()
                        .gzip(6)
                        .poll_budget(budget)
                        .pipe_decode(Format::Gzip)
                },
                &text(20_000),
            );
        }
    }

    #[test]
    fn no_poll_consumes_more_input_than_its_budget() {
        // Counted at the engine: its input total before and after each poll.
        let mut x = 7u64;
        let random: Vec<u8> = (0..300_000)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                (x >> 56) as u8
            })
            .collect();
        for data in [vec![0u8; 1 << 20], text(400_000), random] {
            for (budget, level) in [(DEFAULT_POLL_BUDGET, 6), (1000, 1), (20_000, 9)] {
                for policy in [FlushPolicy::AtEnd, FlushPolicy::every(3000)] {
                    let mut p = BytesProducer::with_piece_size(data.clone(), 70_000)
                        .unwrap()
                        .gzip(level)
                        .flush_policy(policy)
                        .poll_budget(budget);
                    let (mut cx, _wakes) = testing::counting_context();
                    let mut out = Vec::new();
                    let mut most = 0;
                    loop {
                        let before = p.compressor().total_in();
                        let more = p.poll_more(&mut cx);
                        let used = (p.compressor().total_in() - before) as usize;
                        assert!(used <= budget, "{used} > {budget} at level {level}");
                        most = most.max(used);
                        match more {
                            Poll::Ready(Some(Ok(c))) => {
                                out.extend_from_slice(&c.into_bytes().unwrap())
                            }
                            Poll::Ready(Some(Err(e))) => panic!("{e}"),
                            Poll::Ready(None) => break,
                            Poll::Pending => {}
                        }
                    }
                    assert!(most > 0);
                    assert_eq!(decode_all(Format::Gzip, &out), data);
                }
            }
        }
        assert_eq!(DEFAULT_POLL_BUDGET, 32 << 10, "the measured default");
    }

    /// Test-only: the decoding combinator for a format.
    trait PipeDecode: Producer + Sized {
        fn pipe_decode(self, format: Format) -> crate::codec::gzip::Decompressed<Self> {
            match format {
                Format::Gzip => self.gunzip(),
                Format::Zlib => self.unzlib(),
                Format::Deflate => self.inflate(),
            }
        }
    }
    impl<P: Producer> PipeDecode for P {}
}
