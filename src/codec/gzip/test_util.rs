//! Helpers shared by this module's unit tests.

use super::{Compressor, Decompressor, Format, GzipError};

pub(crate) const FORMATS: [Format; 3] = [Format::Gzip, Format::Zlib, Format::Deflate];

pub(crate) use crate::codec::compression::test_util::text;

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
