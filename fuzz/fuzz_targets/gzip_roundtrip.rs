//! Arbitrary data, level, format, chunking and flush policy: encoding then
//! decoding gives the data back.
//!
//! Input layout: byte 0 picks the format and level, byte 1 the policy,
//! bytes 2-3 the piece size; the rest is the data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use producers::codec::gzip::{FlushPolicy, Format};
use producers::{ProducerExt, produce::BytesProducer};

fuzz_target!(|input: &[u8]| {
    if input.len() < 4 {
        return;
    }
    let format = [Format::Gzip, Format::Zlib, Format::Deflate][usize::from(input[0] % 3)];
    let level = u32::from(input[0] / 3 % 10);
    let policy = match input[1] % 3 {
        0 => FlushPolicy::AtEnd,
        1 => FlushPolicy::OnPending,
        _ => FlushPolicy::every(usize::from(input[1] / 3) + 1),
    };
    let piece = usize::from(u16::from_le_bytes([input[2], input[3]])).max(1);
    let data = input[4..].to_vec();
    let src = BytesProducer::with_piece_size(data.clone(), piece).unwrap();
    let enc = match format {
        Format::Gzip => src.gzip(level),
        Format::Zlib => src.zlib(level),
        _ => src.deflate(level),
    };
    let packed = enc.flush_policy(policy).collect_bytes().unwrap();
    let src = BytesProducer::with_piece_size(packed, piece).unwrap();
    let dec = match format {
        Format::Gzip => src.gunzip(),
        Format::Zlib => src.unzlib(),
        _ => src.inflate(),
    };
    let out = dec.max_output(data.len() as u64).collect_bytes().unwrap();
    assert_eq!(out, data);
});
