//! [`Coding`]: a content coding the file server sends — its token, its
//! sidecar's suffix, its entity-tag suffix and how its encoder is built —
//! so negotiation, sidecars, the variant cache and the response's fields
//! are written once for gzip, brotli and zstd (issue 15 part 4).
//!
//! gzip is always there (the feature `http` needs `gzip`); `br` and `zstd`
//! exist only when the crate is built with the features `brotli` and
//! `zstd`, so a server cannot be configured with a coding it cannot make.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use crate::codec::compression::{ContentEncoder, FlushPolicy};
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
/// default.
#[cfg(feature = "zstd")]
pub const ZSTD_LEVEL: i32 = 3;

/// The zstd window of a response compressed on the fly, in bits: 20
/// (1 MiB), not level 3's 2 MiB, and the file's length is given to
/// libzstd as a hint, so a small file gets a window and match tables
/// sized to it (issue 11). Size on text, against level 3's defaults
/// (`tests/encoder_settings.rs`, this crate's sources): x0.995 at 4 and
/// 16 KiB, x1.0007 at 64 KiB, x1.0045 at 256 KiB and at 1.6 MB (a window
/// of 19 bits cost 1.1% there).
#[cfg(feature = "zstd")]
pub(crate) const ZSTD_WINDOW_LOG: u32 = 20;

/// The brotli window of a response compressed on the fly, in bits: 18
/// (256 KiB), not the crate's default 22 (4 MiB), for the memory a
/// connection holds while its client does not read (issue 11). Measured
/// (`tests/http_hostile.rs`, 20 connections pipelining GETs never read):
/// 4.4 MiB per connection at 22 bits, 2.1 MiB at 18, 1.8 MiB at 16; size
/// ratio at quality 4 on 363 KB of this crate's sources: 0.2562 at 22
/// bits, 0.2564 at 18, 0.2699 at 16. brotli sizes its ring buffer to
/// the input as it comes, so a smaller window for a small file saves
/// nothing. What bounds the memory of br and zstd across connections is
/// [`HeavyEncoders`]' cap.
#[cfg(feature = "brotli")]
pub(crate) const BROTLI_WINDOW_BITS: u32 = 18;

/// How often the server's br encoder flushes, in input bytes
/// ([`Coding::flush_policy`]).
#[cfg(feature = "brotli")]
const BROTLI_FLUSH_EVERY: usize = 256 << 10;

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

    /// When this coding's encoder flushes: br every 256 KiB of input, which
    /// bounds brotli's meta-block and so its longest poll (quality 4, 18
    /// bits: 1.3-1.4 ms instead of 2.8-3.0 ms, for 0.08% more bytes;
    /// `src/codec/brotli/mod.rs`), gzip and zstd when the source is
    /// pending (a file never is: at the end).
    pub(crate) fn flush_policy(self) -> FlushPolicy {
        #[cfg(feature = "brotli")]
        if matches!(self, Coding::Br) {
            return FlushPolicy::every(BROTLI_FLUSH_EVERY);
        }
        FlushPolicy::OnPending
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

/// How many permits for heavy encoders (br, zstd) a server has out, and
/// the most it may: shared by every connection (and every event loop) of
/// a [`Server`](crate::http::Server), so a connection's encoder stays
/// within its budget however many connections pipeline compressed GETs
/// and never read (issue 11). Past the cap, negotiation passes br and
/// zstd over for the next coding the client accepts.
///
/// A permit is a connection's ([`PermitSlot`]): its queued br and zstd
/// responses share one, since a connection makes the encoder of one
/// response at a time (at the front of its queue, the one before it
/// dropped). So the heavy encoders alive are never more than the permits
/// out, and a client pipelining compressed GETs takes one permit, not one
/// per response in flight.
// Without br and zstd there is nothing to count.
#[cfg_attr(not(any(feature = "brotli", feature = "zstd")), allow(dead_code))]
#[derive(Debug)]
pub(crate) struct HeavyEncoders {
    /// Permits out; never above `max` (taken by compare-and-swap).
    live: AtomicUsize,
    max: usize,
}

// Without br and zstd there is nothing to count.
#[cfg_attr(not(any(feature = "brotli", feature = "zstd")), allow(dead_code))]
impl HeavyEncoders {
    /// A count at zero, capped at `max`.
    pub(crate) fn new(max: usize) -> Arc<HeavyEncoders> {
        Arc::new(HeavyEncoders {
            live: AtomicUsize::new(0),
            max,
        })
    }

    /// Permits out now.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// A permit for one heavy encoder, or `None` at the cap.
    fn permit(self: &Arc<HeavyEncoders>) -> Option<HeavyPermit> {
        self.live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()?;
        Some(HeavyPermit(self.clone()))
    }
}

/// One of [`HeavyEncoders`]' permits: given back when dropped, with the
/// last encoder (or, before it is made, response) of its connection that
/// shares it.
#[derive(Debug)]
pub(crate) struct HeavyPermit(Arc<HeavyEncoders>);

impl Drop for HeavyPermit {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A connection's hold on its [`HeavyPermit`]: the permit its queued br
/// and zstd responses share while any of them is alive (they hold it;
/// this only finds it again).
// Without br and zstd there is nothing to count.
#[cfg_attr(not(any(feature = "brotli", feature = "zstd")), allow(dead_code))]
#[derive(Debug, Default)]
pub(crate) struct PermitSlot(Weak<HeavyPermit>);

// Without br and zstd there is nothing to count.
#[cfg_attr(not(any(feature = "brotli", feature = "zstd")), allow(dead_code))]
impl PermitSlot {
    /// The connection's permit: the one its responses hold, or a new one
    /// (`None` at the cap).
    fn permit(&mut self, heavy: &Arc<HeavyEncoders>) -> Option<Arc<HeavyPermit>> {
        if let Some(p) = self.0.upgrade() {
            return Some(p);
        }
        let p = Arc::new(heavy.permit()?);
        self.0 = Arc::downgrade(&p);
        Some(p)
    }
}

/// A coding to compress a response in as it is sent, with what that
/// takes: br and zstd hold a [`HeavyPermit`] from negotiation until their
/// encoder is dropped, so a heavy encoder cannot be made without one.
#[derive(Debug)]
pub(crate) enum OnTheFly {
    /// gzip: light, never counted.
    Gzip,
    #[cfg(feature = "brotli")]
    Br(Arc<HeavyPermit>),
    #[cfg(feature = "zstd")]
    Zstd(Arc<HeavyPermit>),
}

impl OnTheFly {
    /// `coding`, made on the fly for a response of the connection whose
    /// slot is `slot`: `None` when it is heavy, the connection holds no
    /// permit and `heavy` is at its cap.
    pub(crate) fn new(
        coding: Coding,
        heavy: &Arc<HeavyEncoders>,
        slot: &mut PermitSlot,
    ) -> Option<OnTheFly> {
        let _ = (heavy, &slot);
        Some(match coding {
            Coding::Gzip => OnTheFly::Gzip,
            #[cfg(feature = "brotli")]
            Coding::Br => OnTheFly::Br(slot.permit(heavy)?),
            #[cfg(feature = "zstd")]
            Coding::Zstd => OnTheFly::Zstd(slot.permit(heavy)?),
        })
    }

    /// The coding.
    pub(crate) fn coding(&self) -> Coding {
        match self {
            OnTheFly::Gzip => Coding::Gzip,
            #[cfg(feature = "brotli")]
            OnTheFly::Br(_) => Coding::Br,
            #[cfg(feature = "zstd")]
            OnTheFly::Zstd(_) => Coding::Zstd,
        }
    }

    /// A fresh encoder for one response of `len` input bytes (when
    /// known), keeping the permit: gzip at `gzip_level` with a window of
    /// `gzip_window_bits`; brotli at [`BROTLI_QUALITY`] and
    /// [`BROTLI_WINDOW_BITS`]; zstd at [`ZSTD_LEVEL`] and
    /// [`ZSTD_WINDOW_LOG`], `len` as its size hint.
    pub(crate) fn encoder(
        self,
        gzip_level: u32,
        gzip_window_bits: u8,
        len: Option<u64>,
    ) -> Encoder {
        let _ = len;
        match self {
            OnTheFly::Gzip => Encoder::Gzip(gzip::Compressor::with_window_bits(
                gzip::Format::Gzip,
                gzip_level,
                gzip_window_bits,
            )),
            #[cfg(feature = "brotli")]
            OnTheFly::Br(permit) => Encoder::Br {
                engine: Box::new(crate::codec::brotli::Compressor::with_window_bits(
                    BROTLI_QUALITY,
                    BROTLI_WINDOW_BITS,
                )),
                _permit: permit,
            },
            #[cfg(feature = "zstd")]
            OnTheFly::Zstd(permit) => {
                let mut engine =
                    crate::codec::zstd::Compressor::with_window_log(ZSTD_LEVEL, ZSTD_WINDOW_LOG);
                if let Some(n) = len {
                    engine.set_size_hint(n);
                }
                Encoder::Zstd {
                    engine,
                    _permit: permit,
                }
            }
        }
    }
}

/// The engine of one of the server's codings, so every coding's response
/// is one type: `Compressed<FileProducer, Encoder>`. br and zstd hold
/// their [`HeavyPermit`] for as long as they live.
#[derive(Debug)]
pub(crate) enum Encoder {
    Gzip(gzip::Compressor),
    #[cfg(feature = "brotli")]
    Br {
        /// Boxed: the engine keeps some 5.6 KB inline, where gzip and
        /// zstd keep their state behind a pointer.
        engine: Box<crate::codec::brotli::Compressor>,
        _permit: Arc<HeavyPermit>,
    },
    #[cfg(feature = "zstd")]
    Zstd {
        engine: crate::codec::zstd::Compressor,
        _permit: Arc<HeavyPermit>,
    },
}

/// Compresses `input` whole with `enc` (a listing, made in memory).
pub(crate) fn encode_all(mut enc: Encoder, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 + 64);
    let mut rest = input;
    // Engines write only into spare capacity: grow it as needed.
    while !rest.is_empty() {
        if out.capacity() - out.len() < 1024 {
            out.reserve(16 << 10);
        }
        rest = &rest[enc.compress(rest, &mut out)..];
    }
    while !enc.finish(&mut out) {
        out.reserve(16 << 10);
    }
    out
}

impl ContentEncoder for Encoder {
    /// Unused: the server sets each coding's own budget
    /// ([`Coding::poll_budget`]).
    const DEFAULT_POLL_BUDGET: usize = gzip::DEFAULT_POLL_BUDGET;

    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        match self {
            Encoder::Gzip(e) => e.compress(input, out),
            #[cfg(feature = "brotli")]
            Encoder::Br { engine, .. } => engine.compress(input, out),
            #[cfg(feature = "zstd")]
            Encoder::Zstd { engine, .. } => engine.compress(input, out),
        }
    }

    fn flush(&mut self, out: &mut Vec<u8>) -> bool {
        match self {
            Encoder::Gzip(e) => e.flush(out),
            #[cfg(feature = "brotli")]
            Encoder::Br { engine, .. } => engine.flush(out),
            #[cfg(feature = "zstd")]
            Encoder::Zstd { engine, .. } => engine.flush(out),
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        match self {
            Encoder::Gzip(e) => e.finish(out),
            #[cfg(feature = "brotli")]
            Encoder::Br { engine, .. } => engine.finish(out),
            #[cfg(feature = "zstd")]
            Encoder::Zstd { engine, .. } => engine.finish(out),
        }
    }

    fn total_in(&self) -> u64 {
        match self {
            Encoder::Gzip(e) => e.total_in(),
            #[cfg(feature = "brotli")]
            Encoder::Br { engine, .. } => engine.total_in(),
            #[cfg(feature = "zstd")]
            Encoder::Zstd { engine, .. } => engine.total_in(),
        }
    }

    // `set_size_hint` is left ignored: zstd is told the file's length when
    // it is made (above); told a file of 1 MiB or more, brotli at quality 4
    // would take a 4 MiB hash table instead of 512 KiB, and the server
    // keeps one encoder's memory per connection small.
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
            let heavy = HeavyEncoders::new(1);
            let enc = OnTheFly::new(c, &heavy, &mut PermitSlot::default())
                .unwrap()
                .encoder(6, 14, Some(text.len() as u64));
            let packed = Compressed::with_compressor(p, enc)
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

    /// The cap holds; a connection's responses share its permit, given
    /// back when the last encoder (or response, before its encoder is
    /// made) holding it is dropped; gzip is never counted.
    #[cfg(any(feature = "brotli", feature = "zstd"))]
    #[test]
    fn heavy_encoders_are_capped_per_connection_and_given_back_when_dropped() {
        let heavy_coding = *Coding::ALL.first().unwrap();
        assert_ne!(heavy_coding, Coding::Gzip);
        let heavy = HeavyEncoders::new(2);
        let (mut one, mut two, mut three) = Default::default();
        let a1 = OnTheFly::new(heavy_coding, &heavy, &mut one).unwrap();
        let a2 = OnTheFly::new(heavy_coding, &heavy, &mut one).unwrap();
        assert_eq!(heavy.live(), 1, "one connection, one permit");
        let b = OnTheFly::new(heavy_coding, &heavy, &mut two).unwrap();
        assert_eq!(heavy.live(), 2);
        assert!(
            OnTheFly::new(heavy_coding, &heavy, &mut three).is_none(),
            "at the cap"
        );
        let g = OnTheFly::new(Coding::Gzip, &heavy, &mut three).unwrap();
        assert_eq!(g.coding(), Coding::Gzip);
        assert_eq!(heavy.live(), 2, "gzip is not counted");
        let enc = a1.encoder(6, 14, Some(100));
        drop(a2);
        assert_eq!(heavy.live(), 2, "the encoder holds the permit");
        drop(enc);
        assert_eq!(heavy.live(), 1, "the connection's last holder dropped");
        let c = OnTheFly::new(heavy_coding, &heavy, &mut three).unwrap();
        assert_eq!(c.coding(), heavy_coding);
        drop((b, c));
        assert_eq!(heavy.live(), 0);
        let again = OnTheFly::new(heavy_coding, &heavy, &mut one).unwrap();
        assert_eq!(
            heavy.live(),
            1,
            "a new permit for a connection whose old one went"
        );
        drop(again);
        assert!(HeavyEncoders::new(0).permit().is_none());
    }
}
