//! `MultipartParser` on arbitrary bytes: never panics, hands on no empty
//! piece, keeps events in order, respects its caps (parts, part size,
//! total), holds back no more than a header block or a partial delimiter,
//! and gives the same parts and the same error however the input is split.
//!
//! Input layout: `[flags, cut1, cut2, body...]`. `flags` bit 0 selects
//! small caps (so they are hit often); `cut1` and `cut2` pick two split
//! points in the body. The boundary is `b`, short so that random input
//! finds it.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use producers::consume::{Boundary, MultipartError, MultipartLimits, MultipartParser, PartEvent};

type Part = (String, Option<String>, Vec<u8>);

fn run(
    limits: MultipartLimits,
    input: &[u8],
    cuts: &[usize],
) -> (Vec<Part>, Result<(), MultipartError>) {
    let boundary = Boundary::new("b").unwrap();
    let mut p = MultipartParser::new(&boundary, limits);
    let mut parts: Vec<Part> = Vec::new();
    let mut open = false;
    let mut buf = BytesMut::new();
    let mut start = 0;
    let mut on = |e: PartEvent, parts: &mut Vec<Part>| match e {
        PartEvent::Start(h) => {
            assert!(!open, "a part begins inside a part");
            open = true;
            parts.push((h.name().into(), h.filename().map(Into::into), Vec::new()));
            assert!(parts.len() <= limits.max_parts, "parts beyond the cap");
        }
        PartEvent::Data(d) => {
            assert!(open, "data outside a part");
            assert!(!d.is_empty(), "an empty piece");
            let body = &mut parts.last_mut().unwrap().2;
            body.extend_from_slice(&d);
            assert!(
                body.len() as u64 <= limits.max_part_bytes,
                "part beyond the cap"
            );
        }
        PartEvent::End => {
            assert!(open, "end outside a part");
            open = false;
        }
    };
    for end in cuts.iter().copied().chain([input.len()]) {
        buf.extend_from_slice(&input[start..end]);
        start = end;
        loop {
            match p.decode(&mut buf) {
                Ok(Some(e)) => on(e, &mut parts),
                Ok(None) => break,
                Err(e) => return (parts, Err(e)),
            }
            assert!(p.offset() <= limits.max_total, "total beyond the cap");
        }
        // What stays buffered: at most a header block with its CRLF and a
        // partial `CRLF CRLF`, or a partial delimiter.
        assert!(
            buf.len() <= limits.max_header_bytes + 5,
            "{} buffered",
            buf.len()
        );
    }
    loop {
        match p.decode_eof(&mut buf) {
            Ok(Some(e)) => on(e, &mut parts),
            Ok(None) => return (parts, Ok(())),
            Err(e) => return (parts, Err(e)),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, c1, c2, body @ ..] = data else {
        return;
    };
    let limits = if flags & 1 == 1 {
        MultipartLimits::default()
            .max_header_bytes(64)
            .max_headers(3)
            .max_parts(3)
            .max_part_bytes(16)
            .max_total(256)
    } else {
        MultipartLimits::default()
    };
    let whole = run(limits, body, &[]);
    let (mut a, mut b) = (
        *c1 as usize % (body.len() + 1),
        *c2 as usize % (body.len() + 1),
    );
    if a > b {
        std::mem::swap(&mut a, &mut b);
    }
    let split = run(limits, body, &[a, b]);
    match &whole.1 {
        Ok(()) => assert_eq!(split, whole),
        // Pieces before an error depend on the split; the error does not.
        Err(_) => assert_eq!(split.1, whole.1),
    }
});
