//! The bounded-decoder check shared by `brotli_bounded` and `zstd_bounded`
//! (included with `#[path]`): arbitrary bytes into the decoder under a
//! small cap never panic, the output never exceeds the cap, memory stays
//! bounded (a fixed output buffer, reused), and the producer wrapper gives
//! the same verdict.

/// The cap on what one input may decode to.
pub const CAP: u64 = 64 << 10;

/// `bounded!(Decompressor, Error, unwrap_method)` expands to the check of one
/// input (`data`), for a decoder type, its error type and the
/// `ProducerExt` method that unwraps the coding.
#[macro_export]
macro_rules! bounded {
    ($input:expr, $dec:ty, $err:ident, $unwrap:ident) => {{
        let input: &[u8] = $input;
        const CAP: u64 = $crate::common::CAP;
        let Some((&piece, data)) = input.split_first() else {
            return;
        };
        let piece = usize::from(piece).max(1);
        let mut dec = <$dec>::new().max_output(CAP);
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
        if let Err($err::OutputTooLarge { limit, .. }) = result {
            assert_eq!(total, limit);
        }
        if let Err(e) = &result {
            assert!(e.offset() <= data.len() as u64, "{e}");
        }
        let src = BytesProducer::with_piece_size(data.to_vec(), piece).unwrap();
        let got = src.$unwrap().max_output(CAP).collect_bytes();
        assert_eq!(got.is_ok(), result.is_ok(), "{result:?}");
        if let Ok(b) = got {
            assert_eq!(b.len() as u64, total);
        }
    }};
}
