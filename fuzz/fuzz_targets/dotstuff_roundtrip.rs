//! Dot-stuffing round trip: arbitrary bytes, arbitrary chunkings on both
//! sides. Stuff → un-stuff gives the body back (plus the CRLF the terminator
//! adds to a body that does not end with one); the un-stuffer never holds
//! bytes and never panics, on stuffed input or on raw bytes.
//!
//! Input layout: byte 0 and 1 give how many cut points the stuffing and the
//! un-stuffing side use (0..=7 each); that many bytes follow as cut
//! positions (taken modulo the length); the rest is the body.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run dotstuff_roundtrip`.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use producers::codec::dotstuff::{DotError, DotUnstuffer, Unstuffed};
use producers::testing::{Script, Step};
use producers::ProducerExt;

/// `data` cut at `cuts` (each modulo `data.len() + 1`).
fn pieces<'a>(data: &'a [u8], cuts: &[u8]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|&c| c as usize % (data.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for c in at.into_iter().chain([data.len()]) {
        if c > last {
            out.push(&data[last..c]);
            last = c;
        }
    }
    out
}

/// Un-stuffs `pieces`: the data, and the bytes left after the end (or the
/// `finish` error).
fn unstuff(pieces: &[&[u8]]) -> (Vec<u8>, Result<Vec<u8>, DotError>) {
    let mut dec = DotUnstuffer::new();
    let mut data = Vec::new();
    let mut buf = BytesMut::new();
    for p in pieces {
        buf.extend_from_slice(p);
        loop {
            match dec.decode(&mut buf).expect("decode never fails") {
                Unstuffed::Data(b) => {
                    assert!(!b.is_empty());
                    data.extend_from_slice(&b);
                }
                Unstuffed::NeedMore => {
                    assert!(buf.is_empty(), "the decoder held bytes back");
                    break;
                }
                Unstuffed::End => break,
            }
        }
    }
    let end = dec.finish().map(|()| buf.to_vec());
    (data, end)
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 2 {
        return;
    }
    let (k1, k2) = ((input[0] % 8) as usize, (input[1] % 8) as usize);
    let rest = &input[2..];
    if rest.len() < k1 + k2 {
        return;
    }
    let (cuts1, rest) = rest.split_at(k1);
    let (cuts2, body) = rest.split_at(k2);

    for terminated in [false, true] {
        let steps = pieces(body, cuts1).into_iter().map(|p| Step::chunk(p.to_vec()));
        let wire = Script::new(steps)
            .dot_stuffed()
            .terminated(terminated)
            .collect_bytes()
            .expect("stuffing never fails");
        let (data, end) = unstuff(&pieces(&wire, cuts2));
        if terminated {
            let mut want = body.to_vec();
            if !want.is_empty() && !want.ends_with(b"\r\n") {
                want.extend_from_slice(b"\r\n");
            }
            assert_eq!(data, want);
            assert_eq!(end, Ok(Vec::new()));
        } else {
            assert_eq!(data, body);
            assert_eq!(end, Err(DotError::UnexpectedEnd { offset: wire.len() as u64 }));
        }
    }

    // Raw bytes straight into the un-stuffer: no panic, and the same result
    // however they are cut.
    assert_eq!(unstuff(&pieces(body, cuts1)), unstuff(&[body]));
});
