//! The zstd codec's tests: the decoder's guarantees on streams of every
//! shape, frames, windows, malformed input, and the producer wrappers.

use super::*;
use crate::codec::compression::test_util::{
    check_decoder, check_wrappers, decode_pieces_with, encode_with, text,
};
use crate::{ProducerExt, from_bytes};

fn enc(level: i32, data: &[u8]) -> Vec<u8> {
    encode_with(Compressor::new(level), data)
}

fn dec(stream: &[u8]) -> Result<Vec<u8>, ZstdError> {
    decode_pieces_with(Decompressor::new().max_output(u64::MAX), &[stream], 1 << 16)
}

/// A skippable frame (RFC 8878 3.1.2) with `n` bytes of user data.
fn skippable(n: u32) -> Vec<u8> {
    let mut f = vec![0x5a, 0x2a, 0x4d, 0x18];
    f.extend_from_slice(&n.to_le_bytes());
    f.extend(std::iter::repeat_n(0xee, n as usize));
    f
}

fn samples() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v = Vec::new();
    for (level, data) in [
        (3, b"".to_vec()),
        (1, b"hello, hello".to_vec()),
        (19, b"hello, hello".to_vec()),
        (3, text(3000)),
        (-5, text(20_000)),
    ] {
        v.push((data.clone(), enc(level, &data)));
    }
    // A stream with flushes: several blocks in one frame.
    let mut c = Compressor::new(3);
    let mut s = Vec::with_capacity(1000);
    c.compress(b"one ", &mut s);
    assert!(c.flush(&mut s));
    c.compress(b"two", &mut s);
    assert!(c.flush(&mut s));
    assert!(c.finish(&mut s));
    v.push((b"one two".to_vec(), s));
    v
}

#[test]
fn decoder_guarantees_split_everywhere_prefixes_trailing_and_cap() {
    check_decoder(
        Decompressor::new,
        &samples(),
        |offset| ZstdError::Truncated { offset },
        |offset| ZstdError::TrailingData { offset },
        |e| match e {
            ZstdError::OutputTooLarge { limit, .. } => Some(*limit),
            _ => None,
        },
    );
}

#[test]
fn frames_follow_each_other_and_skippable_frames_are_skipped() {
    let a = enc(3, b"first ");
    let b = enc(19, b"second");
    let all = [&a[..], &skippable(5), &b, &skippable(0)].concat();
    let mut d = Decompressor::new();
    let mut out = Vec::with_capacity(100);
    d.decode(&all, &mut out).unwrap();
    d.finish().unwrap();
    assert_eq!(out, b"first second");
    assert_eq!(d.frames(), 4);
    for i in 0..=all.len() {
        let (x, y) = all.split_at(i);
        assert_eq!(
            decode_pieces_with(Decompressor::new(), &[x, y], 5).unwrap(),
            b"first second"
        );
    }
    // A skippable frame alone is a complete (empty) stream.
    assert_eq!(dec(&skippable(3)).unwrap(), b"");
    // Garbage after the first frame is trailing data at its start, even
    // when it begins like a magic number.
    let bad = [&a[..], &[0x28, 0xb5, 0x00]].concat();
    assert_eq!(
        dec(&bad),
        Err(ZstdError::TrailingData {
            offset: a.len() as u64
        })
    );
}

#[test]
fn a_window_above_the_cap_is_refused_with_its_own_error() {
    let data = text(100_000);
    // 2^24: above the default cap of 2^23.
    let big = encode_with(Compressor::with_window_log(3, 24), &data);
    let err = dec(&big).unwrap_err();
    assert!(
        matches!(err, ZstdError::WindowTooLarge { limit, offset } if limit == 8 << 20 && offset <= 6),
        "{err:?}"
    );
    // Exactly at the cap, and above it once the cap is raised.
    assert_eq!(
        dec(&encode_with(Compressor::with_window_log(3, 23), &data)).unwrap(),
        data
    );
    let raised = Decompressor::new().window_log_max(24).max_output(u64::MAX);
    assert_eq!(decode_pieces_with(raised, &[&big], 4096).unwrap(), data);
    // A smaller cap refuses the default level-3 window (2 MiB, 2^21).
    let small = Decompressor::new().window_log_max(20);
    assert!(matches!(
        decode_pieces_with(small, &[&enc(3, &text(5_000_000))], 4096),
        Err(ZstdError::WindowTooLarge {
            limit: 1_048_576,
            ..
        })
    ));
    // Levels 20-22 are capped at 8 MiB by the encoder, so they decode.
    let ultra = enc(22, &text(300_000));
    assert_eq!(dec(&ultra).unwrap(), text(300_000));
    let p = from_bytes(big)
        .unzstd()
        .window_log_max(24)
        .collect_bytes()
        .unwrap();
    assert_eq!(p, data);
}

#[test]
fn malformed_inputs_give_their_own_errors() {
    let hello = enc(3, b"hello world, hello world");
    let n = hello.len();
    let mut bad_checksum = hello.clone();
    bad_checksum[n - 1] ^= 1;
    let mut bad_block = hello.clone();
    bad_block[6] = 0xff;
    let cases: Vec<(&str, Vec<u8>, ZstdError)> = vec![
        (
            "bad magic",
            b"\x28\xb5\x2f\xfe".to_vec(),
            ZstdError::BadMagic { offset: 3 },
        ),
        (
            "gzip",
            b"\x1f\x8b\x08\x00".to_vec(),
            ZstdError::BadMagic { offset: 0 },
        ),
        ("empty", vec![], ZstdError::Truncated { offset: 0 }),
    ];
    for (name, input, expected) in cases {
        assert_eq!(dec(&input), Err(expected.clone()), "{name}");
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(
            decode_pieces_with(Decompressor::new(), &bytes, 1),
            Err(expected),
            "{name}"
        );
    }
    for (name, input) in [("checksum", bad_checksum), ("block", bad_block)] {
        let err = dec(&input).unwrap_err();
        assert!(matches!(err, ZstdError::Corrupt { .. }), "{name}: {err:?}");
        assert!(err.offset() <= n as u64);
        assert!(
            err.to_string().starts_with("corrupt zstd data at offset"),
            "{err}"
        );
    }
}

#[test]
fn a_bomb_stops_at_the_cap() {
    let bomb = enc(19, &vec![0u8; 8 << 20]);
    assert!(bomb.len() < 1000, "{}", bomb.len());
    let err = from_bytes(bomb)
        .unzstd()
        .max_output(1 << 20)
        .collect_bytes()
        .unwrap_err();
    let inner = err.get_ref().unwrap().downcast_ref::<ZstdError>().unwrap();
    assert!(matches!(inner, ZstdError::OutputTooLarge { limit, .. } if *limit == 1 << 20));
}

#[test]
fn producer_wrappers() {
    check_wrappers(|| Compressor::new(3), Decompressor::new);
    check_wrappers(|| Compressor::new(-3), Decompressor::new);
    assert_eq!(from_bytes("x").zstd(7).level(), 7);
}

#[test]
#[should_panic(expected = "zstd level 23")]
fn level_above_22_panics() {
    Compressor::new(23);
}
