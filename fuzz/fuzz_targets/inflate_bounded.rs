//! Arbitrary bytes into every decoder under a small cap: never panics, the
//! output never exceeds the cap, and memory stays bounded (a fixed output
//! buffer, reused).
#![no_main]

use libfuzzer_sys::fuzz_target;
use producers::codec::gzip::{Decompressor, Format, GzipError};
use producers::{ProducerExt, produce::BytesProducer};

const CAP: u64 = 64 << 10;

fuzz_target!(|input: &[u8]| {
    let Some((&piece, data)) = input.split_first() else {
        return;
    };
    let piece = usize::from(piece).max(1);
    for format in [Format::Gzip, Format::Zlib, Format::Deflate] {
        // Sans-I/O, with a small fixed output buffer.
        let mut dec = Decompressor::new(format)
            .max_output(CAP)
            .max_header_field(256);
        let mut out = Vec::with_capacity(1000);
        let mut total = 0u64;
        let mut result = Ok(());
        'feed: for mut chunk in data.chunks(piece).chain([&[][..]]) {
            loop {
                out.clear();
                match dec.decode(chunk, &mut out) {
                    Ok(p) => {
                        assert!(out.capacity() == 1000, "the decoder grew the buffer");
                        total += p.produced as u64;
                        chunk = &chunk[p.consumed..];
                        if chunk.is_empty() && p.produced == 0 {
                            break;
                        }
                    }
                    Err(e) => {
                        total += out.len() as u64;
                        result = Err(e);
                        break 'feed;
                    }
                }
            }
        }
        if result.is_ok() {
            result = dec.finish();
        }
        assert!(total <= CAP);
        assert_eq!(total, dec.total_out());
        if let Err(GzipError::OutputTooLarge { limit, .. }) = result {
            assert_eq!(total, limit);
        }
        // The producer: same verdict, same bound.
        let src = BytesProducer::with_piece_size(data.to_vec(), piece).unwrap();
        let p = match format {
            Format::Gzip => src.gunzip(),
            Format::Zlib => src.unzlib(),
            _ => src.inflate(),
        };
        let got = p.max_output(CAP).max_header_field(256).collect_bytes();
        assert_eq!(got.is_ok(), result.is_ok(), "{format:?}: {result:?}");
        if let Ok(b) = got {
            assert_eq!(b.len() as u64, total);
        }
    }
});
