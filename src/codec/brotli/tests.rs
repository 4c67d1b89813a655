//! The brotli codec's tests: the decoder's guarantees on streams of every
//! shape, malformed input, and the producer wrappers.

use super::test_util::{decode_all, encode_all};
use super::*;
use crate::codec::compression::test_util::{
    check_decoder, check_wrappers, decode_pieces_with, text,
};
use crate::{ProducerExt, from_bytes};

fn samples() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v = Vec::new();
    for (q, data) in [
        (5, b"".to_vec()),
        (0, b"hello, hello".to_vec()),
        (11, b"hello, hello".to_vec()),
        (4, text(3000)),
        (1, text(20_000)),
    ] {
        let stream = encode_all(q, &data);
        v.push((data, stream));
    }
    // A stream with flushes (empty-metadata and byte-padded meta-blocks).
    let mut enc = Compressor::new(5);
    let mut s = Vec::with_capacity(1000);
    enc.compress(b"one ", &mut s);
    assert!(enc.flush(&mut s));
    enc.compress(b"two", &mut s);
    assert!(enc.flush(&mut s));
    assert!(enc.finish(&mut s));
    v.push((b"one two".to_vec(), s));
    v
}

#[test]
fn decoder_guarantees_split_everywhere_prefixes_trailing_and_cap() {
    check_decoder(
        Decompressor::new,
        &samples(),
        |offset| BrotliError::Truncated { offset },
        |offset| BrotliError::TrailingData { offset },
        |e| match e {
            BrotliError::OutputTooLarge { limit, .. } => Some(*limit),
            _ => None,
        },
    );
}

#[test]
fn malformed_inputs_give_their_own_errors() {
    let hello = encode_all(5, b"hello world, hello world");
    // RFC 7932 section 9.1: WBITS 0010001 is reserved (large-window marker).
    let large_window = vec![0x11, 0x01];
    // The padding bits after the last empty meta-block must be zero (9.2).
    let bad_padding = vec![0x3b | 0x80];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("large window", large_window),
        ("nonzero padding", bad_padding),
        ("garbage", b"\xff\xff\xff\xff\xff\xff\xff\xff".to_vec()),
        ("flipped", {
            let mut h = hello.clone();
            h[3] ^= 0x55;
            h
        }),
    ];
    for (name, input) in cases {
        let whole = decode_pieces_with(Decompressor::new(), &[&input], 1 << 16).unwrap_err();
        assert!(
            matches!(whole, BrotliError::Corrupt { .. }),
            "{name}: {whole:?}"
        );
        assert!(whole.offset() <= input.len() as u64, "{name}");
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let bytewise = decode_pieces_with(Decompressor::new(), &bytes, 1).unwrap_err();
        assert!(
            matches!(bytewise, BrotliError::Corrupt { .. }),
            "{name}: {bytewise:?}"
        );
    }
    assert_eq!(
        decode_pieces_with(Decompressor::new(), &[b""], 10),
        Err(BrotliError::Truncated { offset: 0 })
    );
}

#[test]
fn a_bomb_stops_at_the_cap() {
    let zeros = vec![0u8; 4 << 20];
    let bomb = encode_all(5, &zeros);
    assert!(bomb.len() < 1000, "{}", bomb.len());
    let err = from_bytes(bomb)
        .unbrotli()
        .max_output(1 << 20)
        .collect_bytes()
        .unwrap_err();
    let inner = err
        .get_ref()
        .unwrap()
        .downcast_ref::<BrotliError>()
        .unwrap();
    assert!(matches!(inner, BrotliError::OutputTooLarge { limit, .. } if *limit == 1 << 20));
    assert_eq!(decode_all(&encode_all(0, &zeros)), zeros);
}

#[test]
fn producer_wrappers() {
    check_wrappers(|| Compressor::new(4), Decompressor::new);
    check_wrappers(|| Compressor::with_window_bits(1, 16), Decompressor::new);
    assert_eq!(from_bytes("x").brotli(7).quality(), 7);
}

/// The per-poll budget feeds the engine 32 KiB at a time, and the engine
/// chooses some settings by the size it sees (RFC 7932 leaves the encoder
/// free; the `brotli` crate picks another hash table from 1 MiB on). Told
/// the source's length, the producer makes the stream the engine makes
/// from the whole input at once — what a writer given it in one write
/// makes — not the one from 32 KiB pieces.
#[test]
fn the_poll_budget_does_not_set_the_engines_size_hint() {
    use crate::codec::compression::FlushPolicy;

    let data = text(1 << 20);
    let whole = encode_all(4, &data);
    let mut pieces = Vec::new();
    let mut enc = Compressor::new(4);
    for piece in data.chunks(32 << 10) {
        let mut fed = 0;
        while fed < piece.len() {
            pieces.reserve(4096);
            fed += enc.compress(&piece[fed..], &mut pieces);
        }
    }
    while !enc.finish(&mut pieces) {
        pieces.reserve(4096);
    }
    assert_ne!(whole, pieces, "the engine's settings depend on the size");
    assert_eq!(decode_all(&pieces), data);

    let produced = from_bytes(data.clone())
        .brotli(4)
        .flush_policy(FlushPolicy::AtEnd)
        .collect_bytes()
        .unwrap();
    assert!(produced == whole, "{} != {}", produced.len(), whole.len());

    let mut told = Compressor::new(4);
    told.set_size_hint(data.len() as u64);
    let mut stream = Vec::new();
    for piece in data.chunks(32 << 10) {
        let mut fed = 0;
        while fed < piece.len() {
            stream.reserve(4096);
            fed += told.compress(&piece[fed..], &mut stream);
        }
    }
    while !told.finish(&mut stream) {
        stream.reserve(4096);
    }
    assert!(stream == whole, "set_size_hint: as if fed at once");
    // A late hint changes nothing (the engine's settings are fixed once it
    // started).
    let mut late = Compressor::new(4);
    let mut late_out = Vec::with_capacity(1 << 20);
    late.compress(&data[..32 << 10], &mut late_out);
    late.set_size_hint(data.len() as u64);
    late.compress(&data[32 << 10..], &mut late_out);
    assert!(late.finish(&mut late_out));
    assert_eq!(decode_all(&late_out), data);
}
