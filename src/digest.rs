//! `Content-Digest` (RFC 9530) with `sha-256`, computed over a body as it is
//! sent (feature `digest`).
//!
//! [`ContentDigest`] is fed every byte of the content as sent — after any
//! content coding, so over the gzip stream of a compressed response (RFC
//! 9530 section 2) — and gives the field value `sha-256=:<base64>:` (a
//! dictionary of one byte sequence, RFC 8941 section 3.3.5) when the body
//! ends. It serves both ways a body goes out:
//!
//! - the crate's chunked encoder, as a
//!   [`TrailerHook`]: `.chunked().trailer_hook(ContentDigest::new())` sends
//!   `Content-Digest` as a trailer field after the last-chunk;
//! - with the `http-body` feature, a hyper or axum body, as
//!   [`body::Trailers`](crate::body::Trailers):
//!   `ProducerBody::new(p).with_trailers(ContentDigest::new())` ends the
//!   body with a `content-digest` trailers frame.
//!
//! ```
//! use producers::{ProducerExt, from_bytes};
//! use producers::codec::chunked::{ChunkedDecoder, Decoded};
//! use producers::digest::ContentDigest;
//!
//! // RFC 9530, appendix B: the content `{"hello": "world"}`.
//! let out = from_bytes("{\"hello\": \"world\"}")
//!     .chunked()
//!     .trailer_hook(ContentDigest::new())
//!     .collect_bytes()?;
//! let mut buf = bytes::BytesMut::from(&out[..]);
//! let mut decoder = ChunkedDecoder::new();
//! while !matches!(decoder.decode(&mut buf)?, Decoded::End) {}
//! let field = &decoder.trailers()[0];
//! assert_eq!(field.name, "Content-Digest");
//! assert_eq!(&field.value[..], b"sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use crate::codec::chunked::{Trailer, TrailerHook};

/// The field's name as the chunked encoder sends it (RFC 9530 section 2);
/// field names are case-insensitive, and `http::HeaderMap` lowercases it.
pub const CONTENT_DIGEST: &str = "Content-Digest";

/// A `Content-Digest` (RFC 9530) with the `sha-256` algorithm, computed
/// over every byte it is fed.
///
/// ```
/// use producers::digest::ContentDigest;
///
/// let mut d = ContentDigest::new();
/// d.update(b"{\"hello\": ");
/// d.update(b"\"world\"}");
/// assert_eq!(d.field_value(), "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
/// assert_eq!(
///     ContentDigest::new().field_value(),
///     "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:",
///     "the empty body",
/// );
/// ```
#[derive(Clone, Default)]
pub struct ContentDigest {
    sha256: Sha256,
    /// Bytes fed so far (for `Debug`).
    len: u64,
}

impl ContentDigest {
    /// A digest over nothing yet.
    pub fn new() -> Self {
        ContentDigest::default()
    }

    /// Takes in the next bytes of the content.
    pub fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        self.len += data.len() as u64;
    }

    /// The number of bytes taken in so far.
    pub fn bytes_seen(&self) -> u64 {
        self.len
    }

    /// The SHA-256 of the bytes taken in.
    pub fn sha256(self) -> [u8; 32] {
        self.sha256.finalize().into()
    }

    /// The field value: `sha-256=:<base64 of the SHA-256>:`.
    pub fn field_value(self) -> String {
        ContentDigest::format(&self.sha256())
    }

    /// The field value of a SHA-256 computed elsewhere (a file's, known
    /// before it is sent as a header): `sha-256=:<base64>:`.
    pub fn format(sha256: &[u8; 32]) -> String {
        let mut out = String::with_capacity(9 + 44 + 1);
        out.push_str("sha-256=:");
        base64(sha256, &mut out);
        out.push(':');
        out
    }
}

impl fmt::Debug for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentDigest")
            .field("algorithm", &"sha-256")
            .field("bytes_seen", &self.len)
            .finish()
    }
}

/// The `Content-Digest` trailer of a chunked body.
impl TrailerHook for ContentDigest {
    fn update(&mut self, data: &[u8]) {
        ContentDigest::update(self, data);
    }

    fn finish(self) -> Vec<Trailer> {
        vec![Trailer {
            name: CONTENT_DIGEST.to_owned(),
            value: Bytes::from(self.field_value()),
        }]
    }
}

/// The `content-digest` trailer of a hyper or axum body.
#[cfg(feature = "http-body")]
impl crate::body::Trailers for ContentDigest {
    fn update(&mut self, data: &[u8]) {
        ContentDigest::update(self, data);
    }

    fn finish(self) -> ::http::HeaderMap {
        let mut map = ::http::HeaderMap::with_capacity(1);
        let value = ::http::HeaderValue::try_from(self.field_value())
            .expect("base64 and `sha-256=::` are visible ASCII");
        map.insert(
            ::http::header::HeaderName::from_static("content-digest"),
            value,
        );
        map
    }

    fn names(&self) -> Vec<::http::HeaderName> {
        vec![::http::header::HeaderName::from_static("content-digest")]
    }
}

/// Appends standard base64 (RFC 4648 section 4: `+`, `/`, `=` padding),
/// the alphabet of an RFC 8941 byte sequence.
fn base64(data: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextet = |n: u32, shift: u32| ALPHABET[(n >> shift & 0x3f) as usize] as char;
    let mut groups = data.chunks_exact(3);
    for g in &mut groups {
        let n = u32::from(g[0]) << 16 | u32::from(g[1]) << 8 | u32::from(g[2]);
        out.extend([sextet(n, 18), sextet(n, 12), sextet(n, 6), sextet(n, 0)]);
    }
    match *groups.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend([sextet(n, 18), sextet(n, 12), '=', '=']);
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend([sextet(n, 18), sextet(n, 12), sextet(n, 6), '=']);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::chunked::{ChunkedDecoder, Decoded};
    use crate::testing::{self, Script, Step};
    use crate::{FileProducer, Producer, ProducerExt, from_bytes};
    use std::io;

    fn b64(data: &[u8]) -> String {
        let mut s = String::new();
        base64(data, &mut s);
        s
    }

    #[test]
    fn base64_rfc4648_test_vectors() {
        // RFC 4648 section 10.
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64(plain.as_bytes()), coded, "{plain:?}");
        }
        assert_eq!(b64(&[0xfb, 0xff, 0xbf]), "+/+/", "the last two letters");
        assert_eq!(b64(&[0, 0, 0]), "AAAA");
    }

    #[test]
    fn rfc9530_examples() {
        // Appendix B: the content `{"hello": "world"}`, fed in two pieces.
        let mut d = ContentDigest::new();
        d.update(b"{\"hello\": ");
        d.update(b"\"world\"}");
        assert_eq!(d.bytes_seen(), 18);
        assert_eq!(
            d.field_value(),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        // The empty content.
        assert_eq!(
            ContentDigest::new().field_value(),
            "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
        );
        // With a newline: Python's `hashlib` and `base64` give the same.
        let mut d = ContentDigest::new();
        d.update(b"{\"hello\": \"world\"}\n");
        assert_eq!(
            d.field_value(),
            "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:"
        );
    }

    /// Trailer fields as (name, value) pairs.
    type Fields = Vec<(String, Vec<u8>)>;

    /// Decodes a chunked message: the payload and its trailers, or `Err`
    /// if it is cut short.
    fn decode(out: &[u8]) -> (Vec<u8>, Result<Fields, ()>) {
        let mut buf = bytes::BytesMut::from(out);
        let mut decoder = ChunkedDecoder::new();
        let mut payload = Vec::new();
        loop {
            match decoder.decode(&mut buf).unwrap() {
                Decoded::Data(d) => payload.extend_from_slice(&d),
                Decoded::NeedMore => return (payload, Err(())),
                Decoded::End => break,
            }
        }
        let t = decoder.trailers().iter();
        let t = t.map(|t| (t.name.clone(), t.value.to_vec())).collect();
        (payload, Ok(t))
    }

    fn sha_field(data: &[u8]) -> Vec<u8> {
        ContentDigest::format(&Sha256::digest(data).into()).into_bytes()
    }

    #[test]
    fn the_chunked_encoder_sends_the_digest_after_the_fixed_trailers() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        let out = crate::produce::BytesProducer::with_piece_size(data.clone(), 7_000)
            .unwrap()
            .chunked()
            .max_chunk_size(4096)
            .trailer("X-Fixed", "1")
            .unwrap()
            .trailer_hook(ContentDigest::new())
            .collect_bytes()
            .unwrap();
        let (payload, trailers) = decode(&out);
        assert_eq!(payload, data);
        assert_eq!(
            trailers.unwrap(),
            [
                ("X-Fixed".to_string(), b"1".to_vec()),
                ("Content-Digest".to_string(), sha_field(&data))
            ]
        );
    }

    #[test]
    fn file_regions_are_read_in_pieces_for_the_hook_and_pass_through_without_it() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 256) as u8).collect();
        let regions = || {
            from_bytes("<")
                .then(
                    FileProducer::from_file(testing::file_with(&data))
                        .unwrap()
                        .regions(),
                )
                .then(from_bytes(">"))
        };
        let expected = [&b"<"[..], &data, b">"].concat();

        let mut p = regions().chunked().trailer_hook(ContentDigest::new());
        assert_eq!(p.exact_len(), None, "the trailers are not known yet");
        let mut out = Vec::new();
        while let Some(c) = p.more().unwrap() {
            assert!(matches!(c, crate::Chunk::Bytes(_)), "a hook reads regions");
            assert!(c.len() <= crate::chunk::REGION_PIECE as u64);
            out.extend_from_slice(&c.into_bytes().unwrap());
        }
        assert_eq!(p.exact_len(), Some(0));
        let (payload, trailers) = decode(&out);
        assert_eq!(payload, expected);
        assert_eq!(trailers.unwrap()[0].1, sha_field(&expected));

        // Without a hook (or with a `None` one) regions stay regions.
        let mut p = regions().chunked().trailer_hook(None::<ContentDigest>);
        let mut regions_seen = 0;
        while let Some(c) = p.more().unwrap() {
            regions_seen += matches!(c, crate::Chunk::File(_)) as usize;
        }
        assert_eq!(regions_seen, 1);
    }

    #[test]
    fn an_error_mid_body_sends_no_last_chunk_and_no_digest() {
        let p = Script::new([
            Step::chunk("abc"),
            Step::Pending,
            Step::error(io::ErrorKind::ConnectionReset),
        ]);
        let mut p = p.chunked().trailer_hook(ContentDigest::new());
        let mut out = Vec::new();
        let err = loop {
            match p.more() {
                Ok(Some(c)) => out.extend_from_slice(&c.into_bytes().unwrap()),
                Ok(None) => panic!("a clean end after an error"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        assert!(p.more().unwrap().is_none(), "errors are final");
        assert_eq!(out, b"3\r\nabc\r\n");
        assert_eq!(decode(&out), (b"abc".to_vec(), Err(())));
    }

    #[test]
    fn conformance_with_a_digest() {
        let data = b"hello, chunked world".to_vec();
        let mut expected = b"14\r\nhello, chunked world\r\n0\r\nContent-Digest: ".to_vec();
        expected.extend_from_slice(&sha_field(&data));
        expected.extend_from_slice(b"\r\n\r\n");
        testing::check(
            || {
                from_bytes(data.clone())
                    .chunked()
                    .trailer_hook(ContentDigest::new())
            },
            &expected,
        );
    }
}
