//! Interoperability with the reference implementations, both ways: Debian's
//! `brotli` (Google's C library) and `zstd` (Facebook's) command-line tools.
//! Both are required (`.ci/run` installs them); a missing one fails the
//! test with a message saying so.
#![cfg(all(feature = "brotli", feature = "zstd"))]

#[path = "util/run_tool.rs"]
mod run_tool;
use run_tool::run;

use producers::codec::brotli::{BrotliError, Compressor as BrCompressor};
use producers::codec::compression::{Compressed, FlushPolicy};
use producers::codec::zstd::{Compressor as ZstdCompressor, ZstdError};
use producers::produce::BytesProducer;
use producers::{ProducerExt, from_bytes};

fn text(n: usize) -> Vec<u8> {
    let words = [
        "event", "data", "id", "retry", "producer", "brotli", "zstd", "the", "of",
    ];
    let mut out = Vec::new();
    let mut x: u32 = 7;
    while out.len() < n {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        out.extend_from_slice(words[(x >> 16) as usize % words.len()].as_bytes());
        out.extend_from_slice(if x.is_multiple_of(7) { b"\n" } else { b" " });
    }
    out.truncate(n);
    out
}

fn random(n: usize) -> Vec<u8> {
    let mut x = 99u64;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            (x >> 56) as u8
        })
        .collect()
}

fn inputs() -> Vec<Vec<u8>> {
    vec![Vec::new(), b"x".to_vec(), text(200_000), random(70_000)]
}

#[test]
fn brotli_tool_decodes_ours_at_every_quality_and_policy() {
    for data in inputs() {
        for quality in [0, 1, 4, 5, 9, 11] {
            for policy in [FlushPolicy::AtEnd, FlushPolicy::every(1000)] {
                let src = BytesProducer::with_piece_size(data.clone(), 7000).unwrap();
                let packed = src
                    .brotli(quality)
                    .flush_policy(policy)
                    .collect_bytes()
                    .unwrap();
                let out = run("brotli", &["-d", "-c"], &packed);
                assert!(
                    out == data,
                    "quality {quality} {policy:?}, {} bytes",
                    data.len()
                );
            }
        }
        // A smaller window too.
        let src = from_bytes(data.clone());
        let packed = Compressed::with_compressor(src, BrCompressor::with_window_bits(5, 10))
            .collect_bytes()
            .unwrap();
        assert!(run("brotli", &["-d", "-c"], &packed) == data);
    }
}

#[test]
fn we_decode_the_brotli_tools_output() {
    for data in inputs() {
        for args in [["-c", "-q", "0"], ["-c", "-q", "5"], ["-c", "-q", "11"]] {
            let packed = run("brotli", &args, &data);
            let out = BytesProducer::with_piece_size(packed.clone(), 333)
                .unwrap()
                .unbrotli()
                .collect_bytes()
                .unwrap();
            assert!(out == data, "{args:?}");
        }
        let packed = run("brotli", &["-c", "-q", "9", "-w", "24"], &data);
        assert!(from_bytes(packed).unbrotli().collect_bytes().unwrap() == data);
    }
}

#[test]
fn the_brotli_tools_output_cut_short_or_extended_is_refused() {
    let packed = run("brotli", &["-c", "-q", "6"], &text(50_000));
    let n = packed.len() as u64;
    let cut = from_bytes(packed[..packed.len() - 1].to_vec())
        .unbrotli()
        .collect_bytes();
    let e = cut.unwrap_err();
    let e = e.get_ref().unwrap().downcast_ref::<BrotliError>().unwrap();
    assert_eq!(e, &BrotliError::Truncated { offset: n - 1 });
    let long = [&packed[..], b"!"].concat();
    let e = from_bytes(long).unbrotli().collect_bytes().unwrap_err();
    let e = e.get_ref().unwrap().downcast_ref::<BrotliError>().unwrap();
    assert_eq!(e, &BrotliError::TrailingData { offset: n });
}

#[test]
fn zstd_tool_decodes_ours_at_every_level_and_policy() {
    for data in inputs() {
        for level in [-5, 1, 3, 9, 19, 22] {
            for policy in [FlushPolicy::AtEnd, FlushPolicy::every(1000)] {
                let src = BytesProducer::with_piece_size(data.clone(), 7000).unwrap();
                let packed = src
                    .zstd(level)
                    .flush_policy(policy)
                    .collect_bytes()
                    .unwrap();
                // The reference decoder checks the content checksum, and
                // with its own window limit set to 8 MiB.
                let out = run("zstd", &["-d", "-c", "--memory=8MB"], &packed);
                assert!(
                    out == data,
                    "level {level} {policy:?}, {} bytes",
                    data.len()
                );
            }
        }
    }
}

#[test]
fn we_decode_the_zstd_tools_output_and_refuse_its_long_windows() {
    for data in inputs() {
        for args in [
            &["-c", "-1"][..],
            &["-c", "-19"],
            &["-c", "--fast=3"],
            &["-c", "-3", "--no-check"],
        ] {
            let packed = run("zstd", args, &data);
            let out = BytesProducer::with_piece_size(packed, 333)
                .unwrap()
                .unzstd()
                .collect_bytes()
                .unwrap();
            assert!(out == data, "{args:?}");
        }
    }
    // `cat a.zst b.zst`: both frames.
    let two = [run("zstd", &["-c"], b"one "), run("zstd", &["-c"], b"two")].concat();
    assert_eq!(
        from_bytes(two).unzstd().collect_bytes().unwrap(),
        &b"one two"[..]
    );
    // --long=27 asks for a 128 MiB window: refused, with its own error.
    let big = text(9 << 20);
    let long = run("zstd", &["-c", "-3", "--long=27"], &big);
    let e = from_bytes(long.clone())
        .unzstd()
        .max_output(u64::MAX)
        .collect_bytes()
        .unwrap_err();
    let inner = e.get_ref().unwrap().downcast_ref::<ZstdError>().unwrap();
    assert!(
        matches!(inner, ZstdError::WindowTooLarge { limit, .. } if *limit == 8 << 20),
        "{e}"
    );
    let raised = from_bytes(long)
        .unzstd()
        .window_log_max(27)
        .max_output(u64::MAX)
        .collect_bytes()
        .unwrap();
    assert!(raised == big);
}

#[test]
fn the_zstd_tools_output_cut_short_or_extended_is_refused() {
    let packed = run("zstd", &["-c", "-3"], &text(50_000));
    let n = packed.len() as u64;
    let e = from_bytes(packed[..packed.len() - 1].to_vec())
        .unzstd()
        .collect_bytes()
        .unwrap_err();
    let e = e.get_ref().unwrap().downcast_ref::<ZstdError>().unwrap();
    assert_eq!(e, &ZstdError::Truncated { offset: n - 1 });
    let long = [&packed[..], b"!"].concat();
    let e = from_bytes(long).unzstd().collect_bytes().unwrap_err();
    let e = e.get_ref().unwrap().downcast_ref::<ZstdError>().unwrap();
    assert_eq!(e, &ZstdError::TrailingData { offset: n });
    // Our encoder at a 16 MiB window: the tool at its default limit reads
    // it, we refuse it by default. Driven by hand, with no size hint (told
    // the input's length, libzstd would shrink the window to fit it).
    let mut enc = ZstdCompressor::with_window_log(3, 24);
    let plain = text(100_000);
    let mut wide = Vec::with_capacity(1 << 20);
    assert_eq!(enc.compress(&plain, &mut wide), plain.len());
    assert!(enc.finish(&mut wide));
    assert!(run("zstd", &["-d", "-c"], &wide) == text(100_000));
    assert!(from_bytes(wide).unzstd().collect_bytes().is_err());
}
