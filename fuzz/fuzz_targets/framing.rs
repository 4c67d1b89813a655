//! The framer never panics, keeps its buffer bounded, and frames the same
//! whatever the split into reads; streamed pieces join into the same frames.
//!
//! Input: `[delimiter length 1..=4][delimiter][max][flags][cut count][cuts...][data...]`.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use producers::consume::{AtEof, Frame, Framer, Framing, Overflow, Terminator};

#[derive(Debug, PartialEq, Eq)]
enum Ev {
    Frame(Vec<u8>),
    Error,
    End(Vec<u8>),
}

fn run(framing: &Framing, data: &[u8], cuts: &[usize], bound: usize) -> Vec<Ev> {
    let mut framer = Framer::new(framing.clone());
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut piece = Vec::new();
    let mut push = |f: Frame, out: &mut Vec<Ev>| {
        let last = f.is_last();
        piece.extend_from_slice(f.bytes());
        if last {
            out.push(Ev::Frame(std::mem::take(&mut piece)));
        }
    };
    let mut at = 0;
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        let cut = cut.clamp(at, data.len());
        buf.extend_from_slice(&data[at..cut]);
        at = cut;
        loop {
            match framer.decode(&mut buf) {
                Ok(Some(f)) => push(f, &mut out),
                Ok(None) => break,
                Err(_) => out.push(Ev::Error),
            }
        }
        // After an error under Overflow::Close the framer takes nothing more
        // (the FIFO fails and stops reading); until then the bound holds.
        let closed = out.contains(&Ev::Error) && framer.is_spent();
        assert!(
            closed || buf.len() < bound,
            "{} bytes buffered, bound {bound}",
            buf.len()
        );
    }
    loop {
        match framer.decode_eof(&mut buf) {
            Ok(AtEof::Frame(f)) => push(f, &mut out),
            Ok(AtEof::End(eof)) => {
                let mut rest = std::mem::take(&mut piece);
                rest.extend_from_slice(&eof.tail);
                out.push(Ev::End(rest));
                break;
            }
            Err(_) => out.push(Ev::Error),
        }
    }
    out
}

fuzz_target!(|input: &[u8]| {
    let Some((&dlen, rest)) = input.split_first() else {
        return;
    };
    let dlen = 1 + usize::from(dlen % 4);
    if rest.len() < dlen + 3 {
        return;
    }
    let (delim, rest) = rest.split_at(dlen);
    let max = usize::from(rest[0] % 64);
    let discard = rest[1] & 1 == 1;
    let ncuts = usize::from(rest[2] % 8);
    let rest = &rest[3..];
    if rest.len() < ncuts {
        return;
    }
    let (cut_bytes, data) = rest.split_at(ncuts);
    let mut cuts: Vec<usize> = cut_bytes
        .iter()
        .map(|&c| usize::from(c) * data.len() / 256)
        .collect();
    cuts.sort_unstable();

    let term = Terminator::delimiter(delim.to_vec());
    let policy = if discard {
        Overflow::Discard
    } else {
        Overflow::Close
    };
    let bounded = Framing::whole(term.clone()).max(max).overflow(policy);
    // Whole frames: fewer than max + d bytes stay buffered between reads.
    let whole = run(&bounded, data, &cuts, max + dlen);
    assert_eq!(
        whole,
        run(&bounded, data, &[], max + dlen),
        "split-dependent"
    );
    // Unbounded whole frames and streamed pieces agree with each other.
    let big = Framing::whole(term.clone()).max(usize::MAX / 2);
    let unbounded = run(&big, data, &[], usize::MAX);
    // Pieces: at most d - 1 bytes held back between reads.
    assert_eq!(
        run(&Framing::pieces(term), data, &cuts, dlen),
        unbounded,
        "pieces differ"
    );
    // Without errors, the bounded run equals the unbounded one.
    if !whole.contains(&Ev::Error) {
        assert_eq!(whole, unbounded);
    }
});
