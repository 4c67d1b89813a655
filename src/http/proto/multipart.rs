//! [`MultipartRanges`]: the framing of a `multipart/byteranges` response
//! (RFC 9110 section 14.6), computed up front so its exact length is known
//! before a byte is sent.
//!
//! Sans-I/O: it hands out the small framing pieces (each part's boundary
//! and header fields, and the closing boundary) and the ranges between
//! them; whoever sends the body puts the representation's bytes of each
//! range between the pieces — the crate's server as file regions chained
//! with the pieces, so the file bytes are never copied.
//!
//! The layout is Go's `net/http` one (and the RFC's example):
//!
//! ```text
//! --BOUNDARY\r\n
//! Content-Type: text/plain\r\n
//! Content-Range: bytes 0-1/100\r\n
//! \r\n
//! <bytes 0-1>\r\n
//! --BOUNDARY\r\n
//! …
//! <bytes of the last range>\r\n
//! --BOUNDARY--\r\n
//! ```

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use bytes::Bytes;

use super::range::{ByteRange, ByteRanges};

/// The framing of a `multipart/byteranges` body for a set of ranges.
#[derive(Debug, Clone)]
pub struct MultipartRanges {
    boundary: String,
    /// One head per range (`[CRLF] --boundary CRLF fields CRLF CRLF`),
    /// with its range.
    parts: Vec<(Bytes, ByteRange)>,
    /// `CRLF --boundary-- CRLF`.
    closing: Bytes,
    /// Every framing byte plus every range's length.
    content_length: u64,
}

/// A fresh random boundary: 32 hex digits from two randomly keyed hashes
/// (std's `RandomState` is seeded from the OS), so a client cannot guess it
/// and make it appear inside a part.
fn random_boundary() -> String {
    let a = RandomState::new().build_hasher().finish();
    let mut h = RandomState::new().build_hasher();
    h.write_u64(a);
    format!("{a:016x}{:016x}", h.finish())
}

/// Whether `b` is a valid boundary (RFC 2046 section 5.1.1): 1 to 70
/// `bchars`, not ending with a space.
fn valid_boundary(b: &str) -> bool {
    (1..=70).contains(&b.len())
        && !b.ends_with(' ')
        && b.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&c))
}

impl MultipartRanges {
    /// The framing of `ranges` of a representation of type `content_type`,
    /// with a random boundary.
    pub fn new(ranges: &ByteRanges, content_type: &str) -> MultipartRanges {
        Self::build(ranges, content_type, random_boundary())
    }

    /// The same with a chosen boundary; `None` if it is not 1 to 70 of
    /// RFC 2046's boundary characters. The boundary must not occur in the
    /// representation: a random one ([`new`](Self::new)) is the safe
    /// choice.
    pub fn with_boundary(
        ranges: &ByteRanges,
        content_type: &str,
        boundary: &str,
    ) -> Option<MultipartRanges> {
        valid_boundary(boundary).then(|| Self::build(ranges, content_type, boundary.to_owned()))
    }

    fn build(ranges: &ByteRanges, content_type: &str, boundary: String) -> MultipartRanges {
        let total = ranges.total();
        let parts: Vec<(Bytes, ByteRange)> = ranges
            .as_slice()
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let head = format!(
                    "{}--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: {}\r\n\r\n",
                    if i == 0 { "" } else { "\r\n" },
                    r.content_range(total)
                );
                (Bytes::from(head), *r)
            })
            .collect();
        let closing = Bytes::from(format!("\r\n--{boundary}--\r\n"));
        let content_length = parts
            .iter()
            .map(|(h, r)| h.len() as u64 + r.len)
            .sum::<u64>()
            + closing.len() as u64;
        MultipartRanges {
            boundary,
            parts,
            closing,
            content_length,
        }
    }

    /// The boundary.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The response's `Content-Type`: `multipart/byteranges; boundary=…`.
    pub fn content_type(&self) -> String {
        format!("multipart/byteranges; boundary={}", self.boundary)
    }

    /// The exact length of the whole body: the response's
    /// `Content-Length`.
    pub fn content_length(&self) -> u64 {
        self.content_length
    }

    /// Each part: the framing bytes that go before it, and the range of
    /// the representation that follows them.
    pub fn parts(&self) -> impl ExactSizeIterator<Item = (&Bytes, ByteRange)> + '_ {
        self.parts.iter().map(|(h, r)| (h, *r))
    }

    /// The closing boundary, after the last part.
    pub fn closing(&self) -> &Bytes {
        &self.closing
    }

    /// The whole body in memory, cut from `representation` (which must be
    /// the whole representation the ranges were parsed against): for small
    /// bodies, and tests.
    ///
    /// # Panics
    ///
    /// If a range lies outside `representation`.
    ///
    /// ```
    /// use producers::http::{ByteRanges, MultipartRanges, RangeLimits};
    ///
    /// let ranges = ByteRanges::parse(b"bytes=0-1,-2", 10, &RangeLimits::default())?;
    /// let m = MultipartRanges::with_boundary(&ranges, "text/plain", "SEP").unwrap();
    /// let body = m.to_bytes(b"0123456789");
    /// assert_eq!(body.len() as u64, m.content_length());
    /// assert_eq!(
    ///     &body[..],
    ///     b"--SEP\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n01\
    ///       \r\n--SEP\r\nContent-Type: text/plain\r\nContent-Range: bytes 8-9/10\r\n\r\n89\
    ///       \r\n--SEP--\r\n"
    /// );
    /// # Ok::<(), producers::http::RangeError>(())
    /// ```
    pub fn to_bytes(&self, representation: &[u8]) -> Bytes {
        let mut out = Vec::with_capacity(self.content_length as usize);
        for (head, r) in self.parts() {
            out.extend_from_slice(head);
            out.extend_from_slice(&representation[r.start as usize..][..r.len as usize]);
        }
        out.extend_from_slice(&self.closing);
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::proto::range::RangeLimits;

    #[test]
    fn rfc_9110_section_14_6_layout() {
        // The example of section 14.6: two ranges of an 8000-byte PDF.
        let ranges =
            ByteRanges::parse(b"bytes=500-999,7000-7999", 8000, &RangeLimits::default()).unwrap();
        let m = MultipartRanges::with_boundary(&ranges, "application/pdf", "THIS_STRING_SEPARATES")
            .unwrap();
        assert_eq!(
            m.content_type(),
            "multipart/byteranges; boundary=THIS_STRING_SEPARATES"
        );
        let parts: Vec<_> = m.parts().collect();
        assert_eq!(
            &parts[0].0[..],
            b"--THIS_STRING_SEPARATES\r\nContent-Type: application/pdf\r\nContent-Range: bytes 500-999/8000\r\n\r\n"
        );
        assert_eq!(
            &parts[1].0[..],
            b"\r\n--THIS_STRING_SEPARATES\r\nContent-Type: application/pdf\r\nContent-Range: bytes 7000-7999/8000\r\n\r\n"
        );
        assert_eq!(&m.closing()[..], b"\r\n--THIS_STRING_SEPARATES--\r\n");
        let body = m.to_bytes(&[b'x'; 8000]);
        assert_eq!(body.len() as u64, m.content_length());
        assert_eq!(
            m.content_length(),
            (parts[0].0.len() + 500 + parts[1].0.len() + 1000 + m.closing().len()) as u64
        );
    }

    #[test]
    fn boundaries() {
        let ranges = ByteRanges::parse(b"bytes=0-0,2-2", 3, &RangeLimits::default()).unwrap();
        let (a, b) = (
            MultipartRanges::new(&ranges, "t/t"),
            MultipartRanges::new(&ranges, "t/t"),
        );
        assert_ne!(a.boundary(), b.boundary(), "random per response");
        assert!(valid_boundary(a.boundary()) && a.boundary().len() == 32);
        for bad in ["", "a b ", "a\r\nb", &"x".repeat(71), "é"] {
            assert!(
                MultipartRanges::with_boundary(&ranges, "t/t", bad).is_none(),
                "{bad:?}"
            );
        }
        assert!(MultipartRanges::with_boundary(&ranges, "t/t", &"x".repeat(70)).is_some());
    }
}
