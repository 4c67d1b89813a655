//! [`Coding`]: a content coding the file server sends — its token, its
//! sidecar's suffix, its entity-tag suffix and how its encoder is built —
//! so negotiation, sidecars, the variant cache and the response's fields
//! are written once for gzip, brotli and zstd (issue 15 part 4).
//!
//! gzip is always there (the feature `http` needs `gzip`); `br` and `zstd`
//! exist only when the crate is built with the features `brotli` and
//! `zstd`, so a server cannot be configured with a coding it cannot make.

use crate::codec::compression::ContentEncoder;
use crate::codec::gzip;

/// The brotli quality of a response compressed on the fly: 4. Brotli
/// compresses a whole meta-block in one poll when its input block fills:
/// 64 KiB at qualities 4-8, about 3 ms at quality 4, 250 ms at 11 (see
/// [the brotli module's measurements](crate::codec::brotli)). 4 keeps the
/// event loop's longest poll to a few milliseconds; quality 11 belongs in
/// a precompressed `FILE.br` sidecar.
#[cfg(feature = "brotli")]
pub const BROTLI_QUALITY: u32 = 4;

/// The zstd level of a response compressed on the fly: 3, zstd's own
/// default (window 2 MiB at most for large files, under the 8 MiB RFC
/// 8878 asks decoders to accept).
#[cfg(feature = "zstd")]
pub const ZSTD_LEVEL: i32 = 3;

/// The brotli window of a response compressed on the fly, in bits: 18
/// (256 KiB), not the crate's default 22 (4 MiB), for the memory a
/// connection holds while its client does not read (issue 11). Measured
/// (`tests/http_hostile.rs`, 20 connections pipelining GETs never read):
/// 4.4 MiB per connection at 22 bits, 2.1 MiB at 18, 1.8 MiB at 16; size
/// ratio at quality 4 on 363 KB of this crate's sources: 0.2562 at 22
/// bits, 0.2564 at 18, 0.2699 at 16. (zstd's window barely matters
/// there: 1.5 MiB per connection at level 3 with its default window,
/// 1.4 MiB at 128 KiB, for a 4% worse ratio; it is left as is.)
#[cfg(feature = "brotli")]
pub(crate) const BROTLI_WINDOW_BITS: u32 = 18;

/// A content coding the file server can send a compressible file in.
///
/// The server offers the codings of
/// [`ServerConfig::codings`](crate::http::ServerConfig::codings) (by
/// default zstd, br, gzip: those compiled in) and picks one through
/// [`negotiate_encoding`](crate::http::negotiate_encoding); among codings
/// the client accepts with the same q-value, the first in that list wins.
///
/// ```
/// use producers::http::Coding;
///
/// assert_eq!(Coding::Gzip.token(), "gzip");
/// assert_eq!(Coding::Gzip.suffix(), ".gz");
/// assert_eq!(Coding::from_token("x-gzip"), Some(Coding::Gzip));
/// assert_eq!(Coding::from_token("identity"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Coding {
    /// gzip (RFC 1952), at the server's gzip level and window.
    Gzip,
    /// brotli (RFC 7932), at quality [`BROTLI_QUALITY`] with a 256 KiB
    /// window (feature `brotli`).
    #[cfg(feature = "brotli")]
    Br,
    /// zstd (RFC 8878), at level [`ZSTD_LEVEL`] (feature `zstd`).
    #[cfg(feature = "zstd")]
    Zstd,
}

impl Coding {
    /// Every coding compiled in, in the server's default order of
    /// preference: zstd (fastest to compress and decode at a ratio near
    /// brotli's), br, gzip.
    pub const ALL: &'static [Coding] = &[
        #[cfg(feature = "zstd")]
        Coding::Zstd,
        #[cfg(feature = "brotli")]
        Coding::Br,
        Coding::Gzip,
    ];

    /// The coding's token in `Accept-Encoding` and `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            #[cfg(feature = "brotli")]
            Coding::Br => "br",
            #[cfg(feature = "zstd")]
            Coding::Zstd => "zstd",
        }
    }

    /// The coding named `token` (ASCII case-insensitive; `x-gzip` is gzip,
    /// RFC 9110 section 8.4.1.3), if it is one compiled in.
    pub fn from_token(token: &str) -> Option<Coding> {
        if token.eq_ignore_ascii_case("x-gzip") {
            return Some(Coding::Gzip);
        }
        Coding::ALL
            .iter()
            .copied()
            .find(|c| c.token().eq_ignore_ascii_case(token))
    }

    /// The suffix of a precompressed sidecar: `FILE.gz`, `FILE.br`,
    /// `FILE.zst` (the names nginx's `gzip_static` and `brotli_static`
    /// and the `zstd` tool use).
    pub fn suffix(self) -> &'static str {
        match self {
            Coding::Gzip => ".gz",
            #[cfg(feature = "brotli")]
            Coding::Br => ".br",
            #[cfg(feature = "zstd")]
            Coding::Zstd => ".zst",
        }
    }

    /// What the entity tag of this coding of a file adds to the file's
    /// own tag: `-gz`, `-br`, `-zst` (each coding is another
    /// representation, with a strong tag of its own).
    pub fn etag_suffix(self) -> &'static str {
        match self {
            Coding::Gzip => "-gz",
            #[cfg(feature = "brotli")]
            Coding::Br => "-br",
            #[cfg(feature = "zstd")]
            Coding::Zstd => "-zst",
        }
    }

    /// A fresh encoder for one response: gzip at `gzip_level` with a
    /// window of `gzip_window_bits`, brotli and zstd at the quality and
    /// level above.
    pub(crate) fn encoder(self, gzip_level: u32, gzip_window_bits: u8) -> Encoder {
        match self {
            Coding::Gzip => Encoder::Gzip(gzip::Compressor::with_window_bits(
                gzip::Format::Gzip,
                gzip_level,
                gzip_window_bits,
            )),
            #[cfg(feature = "brotli")]
            Coding::Br => Encoder::Br(Box::new(
                crate::codec::brotli::Compressor::with_window_bits(
                    BROTLI_QUALITY,
                    BROTLI_WINDOW_BITS,
                ),
            )),
            #[cfg(feature = "zstd")]
            Coding::Zstd => Encoder::Zstd(crate::codec::zstd::Compressor::new(ZSTD_LEVEL)),
        }
    }

    /// The most input bytes one poll of this coding's encoder takes: each
    /// module's measured default.
    pub(crate) fn poll_budget(self) -> usize {
        match self {
            Coding::Gzip => gzip::DEFAULT_POLL_BUDGET,
            #[cfg(feature = "brotli")]
            Coding::Br => crate::codec::brotli::DEFAULT_POLL_BUDGET,
            #[cfg(feature = "zstd")]
            Coding::Zstd => crate::codec::zstd::DEFAULT_POLL_BUDGET,
        }
    }
}

/// The engine of one of the server's codings, so every coding's response
/// is one type: `Compressed<FileProducer, Encoder>`.
#[derive(Debug)]
pub(crate) enum Encoder {
    Gzip(gzip::Compressor),
    /// Boxed: the engine keeps some 5.6 KB inline, where gzip and zstd
    /// keep their state behind a pointer.
    #[cfg(feature = "brotli")]
    Br(Box<crate::codec::brotli::Compressor>),
    #[cfg(feature = "zstd")]
    Zstd(crate::codec::zstd::Compressor),
}

impl ContentEncoder for Encoder {
    /// Unused: the server sets each coding's own budget
    /// ([`Coding::poll_budget`]).
    const DEFAULT_POLL_BUDGET: usize = gzip::DEFAULT_POLL_BUDGET;

    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        match self {
            Encoder::Gzip(e) => e.compress(input, out),
            #[cfg(feature = "brotli")]
            Encoder::Br(e) => e.compress(input, out),
            #[cfg(feature = "zstd")]
            Encoder::Zstd(e) => e.compress(input, out),
        }
    }

    fn flush(&mut self, out: &mut Vec<u8>) -> bool {
        match self {
            Encoder::Gzip(e) => e.flush(out),
            #[cfg(feature = "brotli")]
            Encoder::Br(e) => e.flush(out),
            #[cfg(feature = "zstd")]
            Encoder::Zstd(e) => e.flush(out),
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        match self {
            Encoder::Gzip(e) => e.finish(out),
            #[cfg(feature = "brotli")]
            Encoder::Br(e) => e.finish(out),
            #[cfg(feature = "zstd")]
            Encoder::Zstd(e) => e.finish(out),
        }
    }

    fn total_in(&self) -> u64 {
        match self {
            Encoder::Gzip(e) => e.total_in(),
            #[cfg(feature = "brotli")]
            Encoder::Br(e) => e.total_in(),
            #[cfg(feature = "zstd")]
            Encoder::Zstd(e) => e.total_in(),
        }
    }

    // `set_size_hint` is left ignored: told a file of 1 MiB or more, brotli
    // at quality 4 would take a 4 MiB hash table instead of 512 KiB, and
    // the server keeps one encoder's memory per connection small.
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::compression::Compressed;
    use crate::{ProducerExt, from_bytes};

    #[test]
    fn tokens_suffixes_and_tags_are_distinct_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &c in Coding::ALL {
            assert_eq!(Coding::from_token(c.token()), Some(c));
            assert_eq!(Coding::from_token(&c.token().to_ascii_uppercase()), Some(c));
            assert!(seen.insert(c.token()));
            assert!(seen.insert(c.suffix()));
            assert!(seen.insert(c.etag_suffix()));
        }
        assert_eq!(Coding::ALL.last(), Some(&Coding::Gzip));
        assert_eq!(Coding::from_token("identity"), None);
        assert_eq!(Coding::from_token("compress"), None);
        assert_eq!(Coding::from_token("gzip "), None);
    }

    #[test]
    fn each_encoder_makes_its_own_format() {
        let text = "a line of text for every coding\n".repeat(3000);
        for &c in Coding::ALL {
            let p = from_bytes(text.clone());
            let packed = Compressed::with_compressor(p, c.encoder(6, 14))
                .poll_budget(c.poll_budget())
                .collect_bytes()
                .unwrap();
            assert!(packed.len() < text.len() / 10, "{c:?}");
            let src = from_bytes(packed);
            let plain = match c {
                Coding::Gzip => src.gunzip().collect_bytes(),
                #[cfg(feature = "brotli")]
                Coding::Br => src.unbrotli().collect_bytes(),
                #[cfg(feature = "zstd")]
                Coding::Zstd => src.unzstd().collect_bytes(),
            };
            assert_eq!(plain.unwrap(), text.as_bytes(), "{c:?}");
        }
    }
}
