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
//!
//! The `Dechunked` producer, fed the encoded bytes cut at `cut` and
//! followed by `trailer_len >> 4` bytes of a next message: the same payload
//! when nothing follows; `ChunkedError::TrailingData` at the end's offset
//! when something does; with `stop_at_end(true)` the payload, and what
//! followed is left whole for the caller (`remainder` then the inner
//! producer).
#![no_main]

use std::io;

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use producers::ProducerExt;
use producers::codec::chunked::{ChunkedDecoder, ChunkedError, Dechunked, Decoded, Limits};
use producers::produce::BytesProducer;
use producers::testing::{self, Script, Step};

const NEXT: &[u8] = b"GET / HTTP/1.1\r\n";

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
    assert_eq!(d.trailers()[0].value, Bytes::from(trailer.clone()));

    // The producer, with what follows the message (if anything).
    let extra = &NEXT[..usize::from(*trailer_len >> 4)];
    let mut wire = encoded.to_vec();
    wire.extend_from_slice(extra);
    let script = || {
        let (a, b) = wire.split_at(at);
        Script::new(
            [a, b]
                .into_iter()
                .filter(|p| !p.is_empty())
                .map(|p| Step::chunk(p.to_vec())),
        )
    };
    let mut p = Dechunked::new(script(), ChunkedDecoder::with_limits(limits));
    let (out, r) = testing::drain(&mut p);
    if extra.is_empty() {
        r.expect("our own encoding decodes");
    } else {
        let e = r.expect_err("trailing data must fail");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let got = e.get_ref().and_then(|e| e.downcast_ref::<ChunkedError>());
        let want = ChunkedError::TrailingData {
            offset: encoded.len() as u64,
        };
        assert_eq!(got, Some(&want));
    }
    assert_eq!(out, payload);
    assert_eq!(
        p.decoder().trailers()[0].value,
        Bytes::from(trailer.clone())
    );

    let mut p = Dechunked::new(script(), ChunkedDecoder::with_limits(limits)).stop_at_end(true);
    let (out, r) = testing::drain(&mut p);
    r.expect("our own encoding decodes");
    assert_eq!(out, payload);
    let mut left = p.remainder().to_vec();
    left.extend_from_slice(&p.into_inner().collect_bytes().unwrap());
    assert_eq!(left, extra, "what follows the message is kept whole");
});
