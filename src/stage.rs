//! Pipeline stages named by strings (`gzip:6`, `chunk:4K`, `dechunk` …), as
//! the `pipe` and `sweep` tools take them, with per-stage counters and errors
//! that say which stage failed.
//!
//! ```
//! use producers::stage::{Stage, build};
//! use producers::{ProducerExt, from_bytes};
//!
//! let stages: Vec<Stage> = "chunk:3 chunked dechunk".split(' ').map(|s| s.parse().unwrap()).collect();
//! let (out, probes) = build(from_bytes("hello world").boxed(), &stages);
//! assert_eq!(&out.collect_bytes()?[..], b"hello world");
//! assert_eq!(probes[0].counters().chunks, 4);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use crate::ProducerExt;
use crate::produce::{Counters, More, Producer};

/// A boxed producer, as stages take and give them.
pub type BoxProducer = Box<dyn Producer + Send>;

/// The largest `chunk:N`: 64 MiB. Pieces are slices of the input and cost
/// nothing, but no source hands out more at once, so a larger size can
/// only be a typo; it is a [`StageParseError::TooLarge`] (issue 11).
pub const MAX_CHUNK: usize = 64 << 20;

/// The largest `glob:N`: 64 MiB, the most a glob stage's buffer may hold
/// (a [`Globbed`](crate::produce::Globbed) reserves at most 1 MiB up front and grows as
/// bytes arrive). A larger size is a [`StageParseError::TooLarge`].
pub const MAX_GLOB: usize = 64 << 20;

/// The highest compression level of `gzip:L`, `zlib:L` and `deflate:L`
/// (levels run from 0, stored, to 9); a higher one is a
/// [`StageParseError::BadLevel`].
pub const MAX_LEVEL: u32 = 9;

/// One pipeline stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// `chunk:N`: re-cut the input into pieces of at most N bytes (1 to
    /// [`MAX_CHUNK`] when parsed).
    Chunk(usize),
    /// `glob:N`: coalesce into buffers of N bytes (`glob:0` passes through;
    /// at most [`MAX_GLOB`] when parsed).
    Glob(usize),
    /// `chunked`: HTTP/1.1 chunked transfer coding.
    Chunked,
    /// `dechunk`: decode chunked transfer coding (strict). The input must
    /// end at the final CRLF: bytes after it are an error naming their
    /// offset, as for every decoding stage.
    Dechunk,
    /// `gzip[:LEVEL]`: gzip (RFC 1952), default level 6.
    #[cfg(feature = "gzip")]
    Gzip(u32),
    /// `gunzip`: decode gzip (all members). Stages decode the caller's own
    /// data, like `gzip -d`, so the decompressed-size cap is off; a server
    /// decoding a peer's data keeps the library's default cap.
    #[cfg(feature = "gzip")]
    Gunzip,
    /// `zlib[:LEVEL]`: zlib (RFC 1950), default level 6.
    #[cfg(feature = "gzip")]
    Zlib(u32),
    /// `unzlib`: decode zlib (no size cap, as `gunzip`).
    #[cfg(feature = "gzip")]
    Unzlib,
    /// `deflate[:LEVEL]`: raw deflate (RFC 1951), default level 6.
    #[cfg(feature = "gzip")]
    Deflate(u32),
    /// `inflate`: decode raw deflate (no size cap, as `gunzip`).
    #[cfg(feature = "gzip")]
    Inflate,
    /// `br[:QUALITY]`: brotli (RFC 7932), default quality 5 (0-11).
    #[cfg(feature = "brotli")]
    Br(u32),
    /// `unbr`: decode brotli (no size cap, as `gunzip`).
    #[cfg(feature = "brotli")]
    Unbr,
    /// `zstd[:LEVEL]`: zstd (RFC 8878), default level 3 (1-22).
    #[cfg(feature = "zstd")]
    Zstd(i32),
    /// `unzstd`: decode zstd (no size cap, as `gunzip`; the window cap of
    /// 8 MiB stays, as `zstd -d`'s default of 128 MiB would for a peer).
    #[cfg(feature = "zstd")]
    Unzstd,
    /// `dotstuff`: SMTP dot-stuffing, terminated with `CRLF.CRLF`.
    DotStuff,
    /// `undotstuff`: undo dot-stuffing up to `CRLF.CRLF`, where the input
    /// must end (bytes after it are an error naming their offset).
    UndotStuff,
}

/// A stage string that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StageParseError {
    /// No stage has this name.
    UnknownStage(String),
    /// The stage needs a size (`chunk:N`) and none was given.
    MissingArgument(String),
    /// The size or level is not valid for the stage.
    BadArgument {
        /// The stage.
        stage: String,
        /// The argument as given.
        argument: String,
    },
    /// The size is larger than the stage's maximum ([`MAX_CHUNK`],
    /// [`MAX_GLOB`]), or than any size can be.
    TooLarge {
        /// The stage.
        stage: String,
        /// The argument as given.
        argument: String,
        /// The largest size the stage takes, in bytes.
        max: u64,
    },
    /// The compression level is not a number in the stage's range: 0 to
    /// [`MAX_LEVEL`] for gzip, zlib and deflate, 0 to 11 for `br`, 1 to 22
    /// for `zstd`.
    BadLevel {
        /// The stage.
        stage: String,
        /// The argument as given.
        argument: String,
    },
}

impl fmt::Display for StageParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StageParseError::UnknownStage(s) => write!(f, "unknown stage `{s}`"),
            StageParseError::MissingArgument(s) => {
                write!(f, "stage `{s}` needs an argument, as in `{s}:N`")
            }
            StageParseError::BadArgument { stage, argument } => {
                write!(f, "bad argument `{argument}` for stage `{stage}`")
            }
            StageParseError::TooLarge {
                stage,
                argument,
                max,
            } => {
                let max = format_size(*max);
                write!(f, "{stage}:{argument}: size too large (max {max})")
            }
            StageParseError::BadLevel { stage, argument } => {
                let (min, max) = level_range(stage);
                write!(
                    f,
                    "{stage}:{argument}: level must be a number from {min} to {max}"
                )
            }
        }
    }
}

impl std::error::Error for StageParseError {}

impl From<StageParseError> for io::Error {
    fn from(e: StageParseError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}

/// The levels a compressing stage takes, and its default.
fn level_range(stage: &str) -> (u32, u32) {
    match stage {
        "br" => (0, 11),
        "zstd" => (1, 22),
        _ => (0, MAX_LEVEL),
    }
}

/// Parses a size: a number with an optional `K`, `M`, `G` or `T` suffix
/// (powers of 1024; `KiB`, `MiB`, `GiB`, `TiB` and lowercase are accepted
/// too). `None` if it is not a size or does not fit in a `u64`.
pub fn parse_size(s: &str) -> Option<u64> {
    size_value(s).ok()
}

/// Why a string is not a size.
enum BadSize {
    /// Not a number with a known suffix.
    Invalid,
    /// A size, but more than a `u64` holds.
    Overflow,
}

fn size_value(s: &str) -> Result<u64, BadSize> {
    let lower = s.trim().to_ascii_lowercase();
    let (digits, shift) = [
        ("kib", 10),
        ("mib", 20),
        ("gib", 30),
        ("tib", 40),
        ("k", 10),
        ("m", 20),
        ("g", 30),
        ("t", 40),
    ]
    .iter()
    .find_map(|(suf, sh)| lower.strip_suffix(suf).map(|d| (d, *sh)))
    .unwrap_or((&lower, 0));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadSize::Invalid);
    }
    // All digits, so a parse error is an overflow.
    let n: u64 = digits.parse().map_err(|_| BadSize::Overflow)?;
    n.checked_mul(1u64 << shift).ok_or(BadSize::Overflow)
}

/// Formats a size with the largest suffix that divides it exactly
/// (`64M`, `4K`, `1000`), as [`parse_size`] reads it back.
pub fn format_size(n: u64) -> String {
    for (suffix, shift) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)] {
        if n > 0 && n.is_multiple_of(1u64 << shift) {
            return format!("{}{suffix}", n >> shift);
        }
    }
    n.to_string()
}

impl FromStr for Stage {
    type Err = StageParseError;

    fn from_str(s: &str) -> Result<Stage, StageParseError> {
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        let bad = || StageParseError::BadArgument {
            stage: name.to_string(),
            argument: arg.unwrap_or("").to_string(),
        };
        // Every size has a maximum, checked here, so no stage string can
        // ask for an allocation that aborts the process (issue 11).
        let size = |min: u64, max: usize| -> Result<usize, StageParseError> {
            let a = arg.ok_or_else(|| StageParseError::MissingArgument(name.to_string()))?;
            let too_large = || StageParseError::TooLarge {
                stage: name.to_string(),
                argument: a.to_string(),
                max: max as u64,
            };
            let n = size_value(a).map_err(|e| match e {
                BadSize::Invalid => bad(),
                BadSize::Overflow => too_large(),
            })?;
            if n < min {
                return Err(bad());
            }
            if n > max as u64 {
                return Err(too_large());
            }
            Ok(n as usize)
        };
        #[cfg(any(feature = "gzip", feature = "brotli", feature = "zstd"))]
        let level = |default: u32| -> Result<u32, StageParseError> {
            let (min, max) = level_range(name);
            match arg {
                None => Ok(default),
                Some(a) => a
                    .parse()
                    .ok()
                    .filter(|l| (min..=max).contains(l))
                    .ok_or_else(|| StageParseError::BadLevel {
                        stage: name.to_string(),
                        argument: a.to_string(),
                    }),
            }
        };
        let no_arg = |stage: Stage| if arg.is_some() { Err(bad()) } else { Ok(stage) };
        match name {
            "chunk" => Ok(Stage::Chunk(size(1, MAX_CHUNK)?)),
            "glob" => Ok(Stage::Glob(size(0, MAX_GLOB)?)),
            "chunked" => no_arg(Stage::Chunked),
            "dechunk" => no_arg(Stage::Dechunk),
            #[cfg(feature = "gzip")]
            "gzip" => Ok(Stage::Gzip(level(6)?)),
            #[cfg(feature = "gzip")]
            "gunzip" => no_arg(Stage::Gunzip),
            #[cfg(feature = "gzip")]
            "zlib" => Ok(Stage::Zlib(level(6)?)),
            #[cfg(feature = "gzip")]
            "unzlib" => no_arg(Stage::Unzlib),
            #[cfg(feature = "gzip")]
            "deflate" => Ok(Stage::Deflate(level(6)?)),
            #[cfg(feature = "gzip")]
            "inflate" => no_arg(Stage::Inflate),
            #[cfg(feature = "brotli")]
            "br" => Ok(Stage::Br(level(5)?)),
            #[cfg(feature = "brotli")]
            "unbr" => no_arg(Stage::Unbr),
            #[cfg(feature = "zstd")]
            "zstd" => Ok(Stage::Zstd(level(3)? as i32)),
            #[cfg(feature = "zstd")]
            "unzstd" => no_arg(Stage::Unzstd),
            "dotstuff" => no_arg(Stage::DotStuff),
            "undotstuff" => no_arg(Stage::UndotStuff),
            _ => Err(StageParseError::UnknownStage(s.to_string())),
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Chunk(n) => write!(f, "chunk:{n}"),
            Stage::Glob(n) => write!(f, "glob:{n}"),
            Stage::Chunked => f.write_str("chunked"),
            Stage::Dechunk => f.write_str("dechunk"),
            #[cfg(feature = "gzip")]
            Stage::Gzip(l) => write!(f, "gzip:{l}"),
            #[cfg(feature = "gzip")]
            Stage::Gunzip => f.write_str("gunzip"),
            #[cfg(feature = "gzip")]
            Stage::Zlib(l) => write!(f, "zlib:{l}"),
            #[cfg(feature = "gzip")]
            Stage::Unzlib => f.write_str("unzlib"),
            #[cfg(feature = "gzip")]
            Stage::Deflate(l) => write!(f, "deflate:{l}"),
            #[cfg(feature = "gzip")]
            Stage::Inflate => f.write_str("inflate"),
            #[cfg(feature = "brotli")]
            Stage::Br(q) => write!(f, "br:{q}"),
            #[cfg(feature = "brotli")]
            Stage::Unbr => f.write_str("unbr"),
            #[cfg(feature = "zstd")]
            Stage::Zstd(l) => write!(f, "zstd:{l}"),
            #[cfg(feature = "zstd")]
            Stage::Unzstd => f.write_str("unzstd"),
            Stage::DotStuff => f.write_str("dotstuff"),
            Stage::UndotStuff => f.write_str("undotstuff"),
        }
    }
}

impl Stage {
    /// Wraps `input` in this stage.
    pub fn apply(&self, input: BoxProducer) -> BoxProducer {
        match *self {
            Stage::Chunk(n) => input.pieces(n).boxed(),
            Stage::Glob(n) => input.glob(n).boxed(),
            Stage::Chunked => input.chunked().boxed(),
            Stage::Dechunk => input.dechunked().boxed(),
            #[cfg(feature = "gzip")]
            Stage::Gzip(l) => input.gzip(l).boxed(),
            #[cfg(feature = "gzip")]
            Stage::Gunzip => input.gunzip().max_output(u64::MAX).boxed(),
            #[cfg(feature = "gzip")]
            Stage::Zlib(l) => input.zlib(l).boxed(),
            #[cfg(feature = "gzip")]
            Stage::Unzlib => input.unzlib().max_output(u64::MAX).boxed(),
            #[cfg(feature = "gzip")]
            Stage::Deflate(l) => input.deflate(l).boxed(),
            #[cfg(feature = "gzip")]
            Stage::Inflate => input.inflate().max_output(u64::MAX).boxed(),
            #[cfg(feature = "brotli")]
            Stage::Br(q) => input.brotli(q).boxed(),
            #[cfg(feature = "brotli")]
            Stage::Unbr => input.unbrotli().max_output(u64::MAX).boxed(),
            #[cfg(feature = "zstd")]
            Stage::Zstd(l) => input.zstd(l).boxed(),
            #[cfg(feature = "zstd")]
            Stage::Unzstd => input.unzstd().max_output(u64::MAX).boxed(),
            Stage::DotStuff => input.dot_stuffed().terminated(true).boxed(),
            Stage::UndotStuff => input.dot_unstuffed().boxed(),
        }
    }
}

/// Parses a whitespace-separated list of stages.
pub fn parse_stages(s: &str) -> Result<Vec<Stage>, StageParseError> {
    s.split_whitespace().map(str::parse).collect()
}

/// Wraps `source` in each stage, left to right, each followed by a probe
/// that counts its output and names it in its errors. Returns the pipeline
/// and the probes, in stage order.
pub fn build(source: BoxProducer, stages: &[Stage]) -> (BoxProducer, Vec<Probe>) {
    let mut p = source;
    let mut probes = Vec::with_capacity(stages.len());
    for stage in stages {
        let probe = Probe {
            stage: stage.to_string(),
            counts: Arc::default(),
        };
        p = Probed {
            inner: stage.apply(p),
            probe: probe.clone(),
        }
        .boxed();
        probes.push(probe);
    }
    (p, probes)
}

/// The counters of one stage of a [`build`] pipeline, readable while and
/// after it runs (from any thread).
#[derive(Debug, Clone)]
pub struct Probe {
    stage: String,
    counts: Arc<[AtomicU64; 4]>,
}

impl Probe {
    /// The stage's name, as it would be parsed (`gzip:6`).
    pub fn stage(&self) -> &str {
        &self.stage
    }

    /// What the stage has handed out so far.
    pub fn counters(&self) -> Counters {
        let [calls, chunks, bytes, pendings] = &*self.counts;
        Counters {
            calls: calls.load(Ordering::Relaxed),
            chunks: chunks.load(Ordering::Relaxed),
            bytes: bytes.load(Ordering::Relaxed),
            pendings: pendings.load(Ordering::Relaxed),
        }
    }
}

/// The error of a stage in a [`build`] pipeline: which stage, and why. Its
/// `io::Error` keeps the original kind.
#[derive(Debug)]
pub struct StageError {
    stage: String,
    source: io::Error,
}

impl StageError {
    /// The stage that failed (`dechunk`).
    pub fn stage(&self) -> &str {
        &self.stage
    }

    /// The stage's own error.
    pub fn error(&self) -> &io::Error {
        &self.source
    }
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stage `{}`: {}", self.stage, self.source)
    }
}

impl std::error::Error for StageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A stage's output with a probe on it.
struct Probed {
    inner: BoxProducer,
    probe: Probe,
}

impl fmt::Debug for Probed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probed")
            .field("probe", &self.probe)
            .finish_non_exhaustive()
    }
}

impl Producer for Probed {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let [calls, chunks, bytes, pendings] = &*self.probe.counts;
        calls.fetch_add(1, Ordering::Relaxed);
        match self.inner.poll_more(cx) {
            Poll::Ready(Some(Ok(c))) => {
                chunks.fetch_add(1, Ordering::Relaxed);
                bytes.fetch_add(c.len(), Ordering::Relaxed);
                Poll::Ready(Some(Ok(c)))
            }
            Poll::Pending => {
                pendings.fetch_add(1, Ordering::Relaxed);
                Poll::Pending
            }
            Poll::Ready(Some(Err(e))) => {
                // An error from an earlier stage is already named.
                let named = e.get_ref().is_some_and(|r| r.is::<StageError>());
                if named {
                    return Poll::Ready(Some(Err(e)));
                }
                let kind = e.kind();
                let err = StageError {
                    stage: self.probe.stage.clone(),
                    source: e,
                };
                Poll::Ready(Some(Err(io::Error::new(kind, err))))
            }
            Poll::Ready(None) => Poll::Ready(None),
        }
    }

    fn exact_len(&self) -> Option<u64> {
        self.inner.exact_len()
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.probe.counters())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{from_bytes, testing};

    #[test]
    fn parses_every_stage_and_prints_it_back() {
        for s in [
            "chunk:4096",
            "glob:0",
            "chunked",
            "dechunk",
            "dotstuff",
            "undotstuff",
        ] {
            assert_eq!(s.parse::<Stage>().unwrap().to_string(), s);
        }
        #[cfg(feature = "gzip")]
        for s in [
            "gzip:1",
            "gunzip",
            "zlib:9",
            "unzlib",
            "deflate:0",
            "inflate",
        ] {
            assert_eq!(s.parse::<Stage>().unwrap().to_string(), s);
        }
        #[cfg(feature = "brotli")]
        for s in ["br:0", "br:11", "unbr"] {
            assert_eq!(s.parse::<Stage>().unwrap().to_string(), s);
        }
        #[cfg(feature = "brotli")]
        assert_eq!("br".parse::<Stage>().unwrap(), Stage::Br(5));
        #[cfg(feature = "zstd")]
        for s in ["zstd:1", "zstd:22", "unzstd"] {
            assert_eq!(s.parse::<Stage>().unwrap().to_string(), s);
        }
        #[cfg(feature = "zstd")]
        assert_eq!("zstd".parse::<Stage>().unwrap(), Stage::Zstd(3));
        assert_eq!("chunk:4K".parse::<Stage>().unwrap(), Stage::Chunk(4096));
        assert_eq!("glob:1MiB".parse::<Stage>().unwrap(), Stage::Glob(1 << 20));
        #[cfg(feature = "gzip")]
        assert_eq!("gzip".parse::<Stage>().unwrap(), Stage::Gzip(6));
    }

    #[test]
    fn rejects_what_is_not_a_stage() {
        assert!(matches!(
            "zip".parse::<Stage>(),
            Err(StageParseError::UnknownStage(_))
        ));
        assert!(matches!(
            "chunk".parse::<Stage>(),
            Err(StageParseError::MissingArgument(_))
        ));
        assert!(matches!(
            "chunk:0".parse::<Stage>(),
            Err(StageParseError::BadArgument { .. })
        ));
        assert!(matches!(
            "chunk:x".parse::<Stage>(),
            Err(StageParseError::BadArgument { .. })
        ));
        assert!(matches!(
            "chunked:1".parse::<Stage>(),
            Err(StageParseError::BadArgument { .. })
        ));
        #[cfg(feature = "gzip")]
        assert!(matches!(
            "gzip:10".parse::<Stage>(),
            Err(StageParseError::BadLevel { .. })
        ));
        #[cfg(feature = "brotli")]
        assert_eq!(
            "br:12".parse::<Stage>().unwrap_err().to_string(),
            "br:12: level must be a number from 0 to 11"
        );
        #[cfg(feature = "zstd")]
        for bad in ["zstd:0", "zstd:23", "zstd:-1"] {
            assert_eq!(
                bad.parse::<Stage>().unwrap_err().to_string(),
                format!("{bad}: level must be a number from 1 to 22")
            );
        }
        #[cfg(feature = "brotli")]
        assert!(matches!(
            "unbr:1".parse::<Stage>(),
            Err(StageParseError::BadArgument { .. })
        ));
    }

    #[test]
    fn every_size_has_a_maximum() {
        // Issue 11: `glob:64G` aborted the process on a failed allocation.
        let too_large = |s: &str| match s.parse::<Stage>() {
            Err(e @ StageParseError::TooLarge { .. }) => e.to_string(),
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(too_large("glob:64G"), "glob:64G: size too large (max 64M)");
        assert_eq!(too_large("chunk:1T"), "chunk:1T: size too large (max 64M)");
        assert_eq!(
            too_large("glob:99999999999999999999"),
            "glob:99999999999999999999: size too large (max 64M)"
        );
        too_large("chunk:16777216T");
        too_large("glob:67108865");
        assert_eq!("glob:64M".parse::<Stage>().unwrap(), Stage::Glob(MAX_GLOB));
        assert_eq!(
            "chunk:64MiB".parse::<Stage>().unwrap(),
            Stage::Chunk(MAX_CHUNK)
        );
        #[cfg(feature = "gzip")]
        assert_eq!(
            "gzip:99999999999".parse::<Stage>().unwrap_err().to_string(),
            "gzip:99999999999: level must be a number from 0 to 9"
        );
        assert!(matches!(
            "glob:1X".parse::<Stage>(),
            Err(StageParseError::BadArgument { .. })
        ));
        assert!(matches!(
            "glob:K".parse::<Stage>(),
            Err(StageParseError::BadArgument { .. })
        ));
        assert_eq!(parse_size("2T"), Some(2 << 40));
        assert_eq!(parse_size("-1"), None);
        for n in [0, 1, 1000, 4096, 64 << 20, 3 << 30, 5 << 40] {
            assert_eq!(parse_size(&format_size(n)), Some(n));
        }
        assert_eq!(format_size(64 << 20), "64M");
        assert_eq!(format_size(1536), "1536");
        assert_eq!(format_size(3072), "3K");
    }

    #[test]
    fn round_trips_through_every_codec_pair() {
        let data: Vec<u8> = b"line one\r\n.dot line\r\n"
            .iter()
            .copied()
            .cycle()
            .take(21 * 2400)
            .collect();
        #[cfg_attr(
            not(any(feature = "gzip", feature = "brotli", feature = "zstd")),
            allow(unused_mut)
        )]
        let mut pairs = vec![
            "chunk:100 chunked chunk:7 dechunk",
            "dotstuff chunk:3 undotstuff",
        ];
        #[cfg(feature = "gzip")]
        pairs.extend([
            "gzip:1 chunk:5 gunzip",
            "zlib:9 unzlib",
            "deflate inflate glob:4K",
        ]);
        #[cfg(feature = "brotli")]
        pairs.extend(["br:1 chunk:5 unbr", "br:11 unbr glob:4K"]);
        #[cfg(feature = "zstd")]
        pairs.extend(["zstd:1 chunk:5 unzstd", "zstd:19 unzstd"]);
        for pair in pairs {
            let stages = parse_stages(pair).unwrap();
            testing::check(|| build(from_bytes(data.clone()).boxed(), &stages).0, &data);
        }
    }

    #[test]
    fn errors_name_their_stage_once_and_keep_their_kind() {
        let stages = parse_stages("chunk:2 dechunk glob:10").unwrap();
        let (mut p, probes) = build(from_bytes("5\r\nhello\r\nZ\r\n").boxed(), &stages);
        let mut out = Vec::new();
        let err = loop {
            match p.more() {
                Ok(Some(c)) => out.extend_from_slice(&c.into_bytes().unwrap()),
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        assert_eq!(out, b"hello", "what came before the error is handed out");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let se = err.get_ref().unwrap().downcast_ref::<StageError>().unwrap();
        assert_eq!(se.stage(), "dechunk");
        assert!(err.to_string().starts_with("stage `dechunk`: "), "{err}");
        assert!(
            err.to_string().contains("byte 10"),
            "names the offset: {err}"
        );
        assert_eq!(probes[1].counters().bytes, 5);
    }
}
