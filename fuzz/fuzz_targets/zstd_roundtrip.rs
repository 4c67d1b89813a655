//! Arbitrary data, level, chunking and flush policy: encoding with
//! `.zstd(…)` then decoding with `.unzstd()` gives the data back.
//!
//! Input layout: byte 0 picks the level, byte 1 the policy, bytes 2-3 the
//! piece size; the rest is the data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use producers::codec::compression::FlushPolicy;
use producers::{ProducerExt, produce::BytesProducer};

fuzz_target!(|input: &[u8]| {
    if input.len() < 4 {
        return;
    }
    let level = i32::from(input[0] % 23).max(1) - i32::from(input[0] >= 230) * 8;
    let policy = match input[1] % 3 {
        0 => FlushPolicy::AtEnd,
        1 => FlushPolicy::OnPending,
        _ => FlushPolicy::every(usize::from(input[1] / 3) + 1),
    };
    let piece = usize::from(u16::from_le_bytes([input[2], input[3]])).max(1);
    let data = input[4..].to_vec();
    let src = BytesProducer::with_piece_size(data.clone(), piece).unwrap();
    let packed = src
        .zstd(level)
        .flush_policy(policy)
        .collect_bytes()
        .unwrap();
    let src = BytesProducer::with_piece_size(packed, piece).unwrap();
    let out = src
        .unzstd()
        .max_output(data.len() as u64)
        .collect_bytes()
        .unwrap();
    assert_eq!(out, data);
});
