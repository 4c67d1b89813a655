//! `.chunked()` then `ChunkedDecoder`: the payload, extensions and trailers
//! come back unchanged, whatever the chunking, maximum chunk size and split
//! of the encoded bytes.
//!
//! Input layout: `[piece, max, cut, ext_len, trailer_len, bytes...]`: the
//! payload is split into pieces of `piece + 1` bytes, `max` (if non-zero)
//! is the maximum chunk size, `cut` picks a split point in the encoded
//! bytes; the next `ext_len % 16` bytes are an extension value and the next
//! `trailer_len % 16` a trailer value (both sanitised), the rest is the
//! payload.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use producers::codec::chunked::{ChunkedDecoder, Decoded, Limits};
use producers::{ProducerExt, produce::BytesProducer};

fn clean(v: &[u8]) -> Vec<u8> {
    let v: Vec<u8> = v
        .iter()
        .map(|&b| if b < 0x20 || b == 0x7f { b'.' } else { b })
        .collect();
    v.trim_ascii().to_vec()
}

fuzz_target!(|data: &[u8]| {
    let [piece, max, cut, ext_len, trailer_len, rest @ ..] = data else {
        return;
    };
    let (ext, rest) = rest.split_at((*ext_len as usize % 16).min(rest.len()));
    let (trailer, payload) = rest.split_at((*trailer_len as usize % 16).min(rest.len()));
    let (ext, trailer) = (clean(ext), clean(trailer));

    let mut p = BytesProducer::with_piece_size(payload.to_vec(), *piece as usize + 1)
        .unwrap()
        .chunked()
        .extension("e", &ext)
        .unwrap()
        .trailer("T", &trailer)
        .unwrap();
    if *max != 0 {
        p = p.max_chunk_size(*max as usize);
    }
    let encoded = p.collect_bytes().unwrap();

    let limits = Limits::default().max_extension_bytes(usize::MAX);
    let mut d = ChunkedDecoder::with_limits(limits);
    let at = *cut as usize % (encoded.len() + 1);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut ended = false;
    for part in [&encoded[..at], &encoded[at..]] {
        buf.extend_from_slice(part);
        loop {
            match d.decode(&mut buf).expect("our own encoding decodes") {
                Decoded::Data(b) => {
                    out.extend_from_slice(&b);
                    assert_eq!(
                        d.chunk_extensions()[0].value,
                        Some(Bytes::from(ext.clone()))
                    );
                }
                Decoded::NeedMore => break,
                Decoded::End => {
                    ended = true;
                    break;
                }
            }
        }
    }
    assert!(ended && buf.is_empty());
    assert_eq!(out, payload);
    assert_eq!(d.trailers().len(), 1);
    assert_eq!(d.trailers()[0].value, Bytes::from(trailer));
});
