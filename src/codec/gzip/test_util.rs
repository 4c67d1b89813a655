//! Helpers shared by this module's unit tests.

use super::{Compressor, Decompressor, Format, GzipError};

pub(crate) const FORMATS: [Format; 3] = [Format::Gzip, Format::Zlib, Format::Deflate];

/// `n` bytes of deterministic, compressible, text-like data.
pub(crate) fn text(n: usize) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "producer", "chunk", "the", "of", "gzip", "stream", "a", "consumer", "medusa", "data",
        "flush", "pending",
    ];
    let mut out = Vec::with_capacity(n + 16);
    let mut x: u32 = 12345;
    while out.len() < n {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        out.extend_from_slice(WORDS[(x >> 16) as usize % WORDS.len()].as_bytes());
        out.push(if (x >> 8).is_multiple_of(9) {
            b'\n'
        } else {
            b' '
        });
    }
    out.truncate(n);
    out
}

/// One-shot encoding with the sans-I/O encoder.
pub(crate) fn encode_all(format: Format, level: u32, data: &[u8]) -> Vec<u8> {
    let mut enc = Compressor::new(format, level);
    let mut out = Vec::new();
    let mut fed = 0;
    loop {
        out.reserve(4096);
        if fed < data.len() {
            fed += enc.compress(&data[fed..], &mut out);
        } else if enc.finish(&mut out) {
            return out;
        }
    }
}

/// Decodes `input` fed in the given pieces, with room for `room` bytes
/// per call; the output, or the first error.
pub(crate) fn decode_pieces(
    mut dec: Decompressor,
    pieces: &[&[u8]],
    room: usize,
) -> Result<Vec<u8>, GzipError> {
    let mut out = Vec::new();
    for piece in pieces {
        let mut piece = *piece;
        loop {
            let mut buf = Vec::with_capacity(room);
            let p = dec.decode(piece, &mut buf)?;
            out.extend_from_slice(&buf);
            piece = &piece[p.consumed..];
            if piece.is_empty() && p.produced < room {
                break;
            }
        }
    }
    loop {
        let mut buf = Vec::with_capacity(room);
        let p = dec.decode(&[], &mut buf)?;
        out.extend_from_slice(&buf);
        if p.produced == 0 {
            break;
        }
    }
    dec.finish()?;
    Ok(out)
}

/// Decodes `input` in one piece with a generous cap.
#[track_caller]
pub(crate) fn decode_all(format: Format, input: &[u8]) -> Vec<u8> {
    decode_pieces(
        Decompressor::new(format).max_output(u64::MAX),
        &[input],
        1 << 16,
    )
    .unwrap()
}
