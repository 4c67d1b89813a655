//! Arbitrary bytes into the brotli decoder under a small cap: never panics,
//! the output never exceeds the cap, memory stays bounded, and the producer
//! wrapper gives the same verdict (the check: `common/bounded.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use producers::codec::brotli::{BrotliError, Decompressor};
use producers::{ProducerExt, produce::BytesProducer};

#[path = "common/bounded.rs"]
mod common;

fuzz_target!(|input: &[u8]| bounded!(input, Decompressor, BrotliError, unbrotli));
