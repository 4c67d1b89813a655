//! Dot-stuffing round trip: arbitrary bytes, arbitrary chunkings on both
//! sides. Stuff → un-stuff gives the body back (plus the CRLF the terminator
//! adds to a body that does not end with one); the un-stuffer never holds
//! bytes and never panics, on stuffed input or on raw bytes.
//!
//! Input layout: byte 0 and 1 give how many cut points the stuffing and the
//! un-stuffing side use (0..=7 each); that many bytes follow as cut
//! positions (taken modulo the length); the rest is the body.
//!
//! The `DotUnstuff` producer on the terminated stuffing, cut the same way,
//! followed by the next command when the body's first byte is odd: the
//! body when nothing follows; `DotError::TrailingData` at the end's offset
//! when something does; with `stop_at_end(true)` the body, and what
//! followed is left whole for the caller (`into_parts`).
//!
//! Run: `cd fuzz && cargo +nightly fuzz run dotstuff_roundtrip`.

#![no_main]

use std::io;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use producers::ProducerExt;
use producers::codec::dotstuff::{DotError, DotUnstuffer, Unstuffed};
use producers::testing::{self, Script, Step};

/// `data` cut at `cuts` (each modulo `data.len() + 1`).
fn pieces<'a>(data: &'a [u8], cuts: &[u8]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|&c| c as usize % (data.len() + 1))
        .collect();
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
        let steps = pieces(body, cuts1)
            .into_iter()
            .map(|p| Step::chunk(p.to_vec()));
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

            // The producer, with the next command after the end (or not).
            let extra: &[u8] = if body.first().is_some_and(|b| b & 1 == 1) {
                b"QUIT\r\n"
            } else {
                b""
            };
            let mut full = wire.to_vec();
            full.extend_from_slice(extra);
            let script = || {
                Script::new(
                    pieces(&full, cuts2)
                        .into_iter()
                        .map(|p| Step::chunk(p.to_vec())),
                )
            };
            let mut p = script().dot_unstuffed();
            let (out, r) = testing::drain(&mut p);
            assert_eq!(out, want);
            if extra.is_empty() {
                r.expect("our own stuffing un-stuffs");
            } else {
                let e = r.expect_err("trailing data must fail");
                assert_eq!(e.kind(), io::ErrorKind::InvalidData);
                let got = e.get_ref().and_then(|e| e.downcast_ref::<DotError>());
                assert_eq!(
                    got,
                    Some(&DotError::TrailingData {
                        offset: wire.len() as u64
                    })
                );
            }
            let mut p = script().dot_unstuffed().stop_at_end(true);
            let (out, r) = testing::drain(&mut p);
            r.expect("our own stuffing un-stuffs");
            assert_eq!(out, want);
            let (left, inner) = p.into_parts();
            let mut rest = Vec::new();
            for c in left {
                rest.extend_from_slice(&c.into_bytes().unwrap());
            }
            rest.extend_from_slice(&inner.collect_bytes().unwrap());
            assert_eq!(rest, extra, "what follows the end is kept whole");
        } else {
            assert_eq!(data, body);
            assert_eq!(
                end,
                Err(DotError::UnexpectedEnd {
                    offset: wire.len() as u64
                })
            );
        }
    }

    // Raw bytes straight into the un-stuffer: no panic, and the same result
    // however they are cut.
    assert_eq!(unstuff(&pieces(body, cuts1)), unstuff(&[body]));
});
