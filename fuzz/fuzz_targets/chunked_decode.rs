//! `ChunkedDecoder` on arbitrary bytes: never panics, holds no more than its
//! caps allow, and gives the same result however the input is split.
//!
//! Input layout: `[flags, cut1, cut2, message...]`. `flags` bits 0-2 switch
//! on the three leniency options, bit 3 selects small caps (so they are hit
//! often); `cut1` and `cut2` pick two split points in the message.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use producers::codec::chunked::{
    ChunkedDecoder, ChunkedError, Decoded, Extension, Leniency, Limits, Trailer,
};

#[derive(Debug, PartialEq)]
struct Outcome {
    payload: Vec<u8>,
    result: Result<(Vec<Trailer>, Vec<Extension>), ChunkedError>,
    rest: Vec<u8>,
}

fn run(make: &dyn Fn() -> ChunkedDecoder, input: &[u8], cuts: &[usize]) -> Outcome {
    let mut d = make();
    let limits = d.limits();
    let mut buf = BytesMut::new();
    let mut payload = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain([input.len()]) {
        buf.extend_from_slice(&input[start..end]);
        start = end;
        loop {
            let step = d.decode(&mut buf);
            // Memory bounded by the caps: what the decoder holds as values.
            let ext: usize = d
                .chunk_extensions()
                .iter()
                .map(|e| e.name.len() + e.value.as_ref().map_or(0, |v| v.len()))
                .sum();
            assert!(ext <= limits.extension_bytes(), "extensions beyond the cap");
            assert!(
                d.trailers().len() <= limits.trailers(),
                "trailers beyond the cap"
            );
            let held: usize = d
                .trailers()
                .iter()
                .map(|t| t.name.len() + t.value.len())
                .sum();
            assert!(
                held <= limits.trailer_bytes(),
                "trailer bytes beyond the cap"
            );
            match step {
                Ok(Decoded::Data(data)) => {
                    assert!(!data.is_empty());
                    payload.extend_from_slice(&data);
                }
                Ok(Decoded::NeedMore) => {
                    assert!(buf.is_empty());
                    break;
                }
                Ok(Decoded::End) => {
                    let mut rest = buf.to_vec();
                    rest.extend_from_slice(&input[start..]);
                    let values = (d.trailers().to_vec(), d.chunk_extensions().to_vec());
                    return Outcome {
                        payload,
                        result: Ok(values),
                        rest,
                    };
                }
                Err(e) => {
                    assert_eq!(d.decode(&mut buf), Err(e.clone()), "errors are final");
                    assert!(e.offset().unwrap() <= input.len() as u64);
                    return Outcome {
                        payload,
                        result: Err(e),
                        rest: Vec::new(),
                    };
                }
            }
        }
    }
    let e = d.finish().expect_err("finish before the end");
    assert_eq!(
        e,
        ChunkedError::UnexpectedEnd {
            offset: input.len() as u64
        }
    );
    Outcome {
        payload,
        result: Err(e),
        rest: Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, c1, c2, input @ ..] = data else {
        return;
    };
    let leniency = Leniency::strict()
        .empty_extension(flags & 1 != 0)
        .bare_lf(flags & 2 != 0)
        .long_size(flags & 4 != 0);
    let limits = if flags & 8 != 0 {
        Limits::default()
            .max_size_line(24)
            .max_extension_bytes(40)
            .max_trailer_bytes(32)
            .max_trailers(2)
    } else {
        Limits::default()
    };
    let make = || ChunkedDecoder::with_limits(limits).leniency(leniency);
    let whole = run(&make, input, &[]);
    let n = input.len() + 1;
    let (a, b) = (*c1 as usize % n, *c2 as usize % n);
    let cuts = [a.min(b), a.max(b)];
    assert_eq!(run(&make, input, &cuts), whole, "split at {cuts:?}");
    if input.len() <= 256 {
        let bytewise: Vec<usize> = (1..input.len()).collect();
        assert_eq!(run(&make, input, &bytewise), whole, "byte by byte");
    }
});
