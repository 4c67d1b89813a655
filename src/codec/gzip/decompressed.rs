//! [`Decompressed`]: gzip's name for the shared decoding producer
//! combinator.

use super::{Decompressor, Format};
use crate::codec::compression;
use crate::produce::Producer;

/// Decodes another producer's output, which is gzip, zlib or raw deflate:
/// the shared [`compression::Decompressed`] wrapper with gzip's
/// [`Decompressor`].
///
/// Made by [`ProducerExt::gunzip`](crate::ProducerExt::gunzip),
/// [`unzlib`](crate::ProducerExt::unzlib) and
/// [`inflate`](crate::ProducerExt::inflate). Everything said of the
/// [`Decompressor`] holds: multi-member gzip is read in full, the
/// decompressed size is capped, trailing data is an error; errors are
/// [`GzipError`](super::GzipError)s inside `io::Error`s.
pub type Decompressed<P> = compression::Decompressed<P, Decompressor>;

impl<P: Producer> compression::Decompressed<P, Decompressor> {
    pub(crate) fn new(inner: P, format: Format) -> Self {
        Self::with_decompressor(inner, Decompressor::new(format))
    }

    /// Caps gzip header fields. See [`Decompressor::max_header_field`].
    pub fn max_header_field(self, limit: usize) -> Self {
        self.map_decoder(|d| d.max_header_field(limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::gzip::test_util::{FORMATS, encode_all, text};
    use crate::codec::gzip::{DECODE_CHUNK, GzipError};
    use crate::testing::{self, Script, Step};
    use crate::{ProducerExt, from_bytes, produce::BytesProducer};
    use std::io;
    use std::task::Poll;

    fn decompress<P: Producer>(p: P, format: Format) -> Decompressed<P> {
        Decompressed::new(p, format)
    }

    fn gzip_error(e: &io::Error) -> &GzipError {
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        e.get_ref()
            .and_then(|e| e.downcast_ref::<GzipError>())
            .expect("a GzipError inside")
    }

    #[test]
    fn conformance() {
        let data = text(300_000);
        for format in FORMATS {
            let stream = encode_all(format, 6, &data);
            for piece in [1, 1000, 1 << 20] {
                testing::check(
                    || {
                        decompress(
                            BytesProducer::with_piece_size(stream.clone(), piece).unwrap(),
                            format,
                        )
                    },
                    &data,
                );
            }
        }
        testing::check(
            || from_bytes(encode_all(Format::Gzip, 6, b"")).gunzip(),
            b"",
        );
    }

    #[test]
    fn output_chunks_are_bounded() {
        let data = vec![b'a'; 1 << 20];
        let sizes = testing::chunk_sizes(from_bytes(encode_all(Format::Gzip, 9, &data)).gunzip());
        assert_eq!(sizes, vec![DECODE_CHUNK as u64; 16]);
    }

    #[test]
    fn a_compressed_file_region_is_read_transparently() {
        let data = text(200_000);
        let f = testing::file_with(&encode_all(Format::Gzip, 6, &data));
        let region = crate::FileProducer::from_file(f).unwrap().regions();
        assert_eq!(region.gunzip().collect_bytes().unwrap(), data);
    }

    #[test]
    fn the_cap_ends_the_output_with_its_error_after_exactly_the_cap() {
        let data = text(100_000);
        let mut p = from_bytes(encode_all(Format::Zlib, 6, &data))
            .unzlib()
            .max_output(70_000);
        let mut out = Vec::new();
        let err = loop {
            match p.more() {
                Ok(Some(c)) => out.extend_from_slice(&c.into_bytes().unwrap()),
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        assert!(matches!(
            gzip_error(&err),
            GzipError::OutputTooLarge { limit: 70_000, .. }
        ));
        assert_eq!(out, data[..70_000]);
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn a_stream_cut_short_is_truncated() {
        let stream = encode_all(Format::Gzip, 6, b"hello");
        let mut p = from_bytes(stream[..stream.len() - 3].to_vec()).gunzip();
        assert_eq!(
            p.more().unwrap().unwrap().into_bytes().unwrap(),
            &b"hello"[..]
        );
        let err = p.more().unwrap_err();
        assert_eq!(
            gzip_error(&err),
            &GzipError::Truncated {
                offset: stream.len() as u64 - 3
            }
        );
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn header_caps_reach_the_decoder() {
        let mut m = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3];
        m.extend_from_slice(b"long-name\0");
        let err = from_bytes(m)
            .gunzip()
            .max_header_field(4)
            .collect_bytes()
            .unwrap_err();
        assert!(matches!(
            gzip_error(&err),
            GzipError::HeaderFieldTooLong {
                limit: 4,
                offset: 10,
                ..
            }
        ));
    }

    #[test]
    fn pending_passes_through_with_what_was_decoded() {
        let stream = encode_all(Format::Deflate, 6, b"hello world");
        let (a, b) = stream.split_at(5);
        let script = Script::new([
            Step::chunk(a.to_vec()),
            Step::Pending,
            Step::chunk(b.to_vec()),
        ]);
        let mut p = script.inflate();
        let (mut cx, _wakes) = testing::counting_context();
        // The first poll decodes the first piece and, at the pending, hands
        // out what it decoded without asking for more.
        let first = match p.poll_more(&mut cx) {
            Poll::Ready(Some(Ok(c))) => c.into_bytes().unwrap().to_vec(),
            Poll::Pending => Vec::new(),
            other => panic!("{other:?}"),
        };
        assert_eq!(p.get_ref().counters().unwrap().calls, 2);
        assert!(b"hello world".starts_with(&first));
        let rest = p.collect_bytes().unwrap();
        assert_eq!([&first[..], &rest[..]].concat(), b"hello world");
    }

    #[test]
    fn source_errors_pass_through_unchanged_after_the_output() {
        let stream = encode_all(Format::Gzip, 6, b"hello world");
        let script = Script::new([
            Step::chunk(stream[..20].to_vec()),
            Step::error(io::ErrorKind::TimedOut),
        ]);
        let mut p = script.gunzip();
        let mut got = Vec::new();
        let err = loop {
            match p.more() {
                Ok(Some(c)) => got.extend_from_slice(&c.into_bytes().unwrap()),
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(b"hello world".starts_with(&got));
        assert!(p.more().unwrap().is_none());
        let _ = p.get_mut();
        let _ = p.into_inner();
    }

    #[test]
    fn trailing_garbage_is_an_error_naming_its_offset() {
        let stream = [encode_all(Format::Gzip, 6, b"ok"), b"garbage".to_vec()].concat();
        let err = from_bytes(stream).gunzip().collect_bytes().unwrap_err();
        assert_eq!(gzip_error(&err), &GzipError::TrailingData { offset: 22 });
    }
}
