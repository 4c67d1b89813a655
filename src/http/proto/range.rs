//! Byte ranges (RFC 9110 section 14): a `Range` field value evaluated
//! against a representation's length, as [`ByteRanges`] to serve (206) or
//! a [`RangeError`] saying why not (416, or the field ignored and the
//! whole representation sent).
//!
//! The rules are in [`ByteRanges`]'s documentation.

use std::error::Error;
use std::fmt;
use std::io;

use crate::codec::syntax::trim_ows;

/// The default cap on the ranges in one `Range` field: 16.
pub const DEFAULT_MAX_RANGES: usize = 16;

/// How many range specs a field may list, as a multiple of
/// [`RangeLimits::max_ranges`], before parsing stops with
/// [`RangeError::TooMany`]: specs that coalesce are allowed, but parsing
/// work stays bounded whatever the head size.
const PARSE_FACTOR: usize = 8;

/// Caps on what a `Range` field may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeLimits {
    /// Most ranges in one field once overlapping and adjacent ones are
    /// coalesced (default [`DEFAULT_MAX_RANGES`]); more is
    /// [`RangeError::TooMany`] and the field is ignored. Parsing itself
    /// stops at 8 times the cap.
    pub max_ranges: usize,
}

impl Default for RangeLimits {
    fn default() -> Self {
        RangeLimits {
            max_ranges: DEFAULT_MAX_RANGES,
        }
    }
}

/// One satisfiable byte range: `len` bytes (at least 1) from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// The first byte.
    pub start: u64,
    /// How many bytes; never 0.
    pub len: u64,
}

impl ByteRange {
    /// The last byte, inclusive (`last-pos` in RFC 9110's grammar).
    pub fn last(&self) -> u64 {
        self.start + self.len - 1
    }

    /// The `Content-Range` value of this range of a representation of
    /// `total` bytes (RFC 9110 section 14.4): `bytes 500-999/8000`.
    pub fn content_range(&self, total: u64) -> String {
        format!("bytes {}-{}/{total}", self.start, self.last())
    }
}

/// The `Content-Range` value of a 416 answer for a representation of
/// `total` bytes (RFC 9110 section 14.4): `bytes */8000`.
pub fn unsatisfied_range(total: u64) -> String {
    format!("bytes */{total}")
}

/// The satisfiable ranges of a `Range` field, never empty, each within a
/// representation of [`total`](Self::total) bytes, none overlapping.
///
/// The rules, in the order they are applied:
///
/// | case | result | the answer |
/// |---|---|---|
/// | a unit other than `bytes` | [`RangeError::OtherUnit`] | ignored: 200 (section 14.2) |
/// | bad syntax (`bytes=a-b`, `bytes=5-2`, `bytes=`) | [`RangeError::Malformed`] | ignored: 200 (section 14.1.1: an invalid ranges-specifier) |
/// | more than [`RangeLimits::max_ranges`] ranges after coalescing | [`RangeError::TooMany`] | ignored: 200 (nginx's `max_ranges`, a defence against range amplification) |
/// | no range starts inside the representation | [`RangeError::Unsatisfiable`] | 416 with `Content-Range: bytes */len` |
/// | the ranges add up to more than the representation | [`RangeError::TooLarge`] | ignored: 200 (Go's `net/http` rule against overlapping-range floods, section 14.3's denial-of-service note) |
/// | overlapping or adjacent ranges | coalesced, in ascending order | section 14.3 allows it |
/// | otherwise | the satisfiable ranges, in the order asked | one range: a plain 206; several: `multipart/byteranges` |
///
/// Ranges that start past the end are dropped when others are satisfiable
/// (section 14.1.3: the set is satisfiable if one of them is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteRanges {
    /// Non-empty; each range inside `0..total`; no two overlap or touch.
    ranges: Vec<ByteRange>,
    total: u64,
}

/// Why a `Range` field is not served as ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RangeError {
    /// The range unit is not `bytes`: the field is ignored.
    OtherUnit,
    /// The field is not a valid `bytes` ranges-specifier: ignored.
    Malformed {
        /// Where in the field value the problem is.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// More than `limit` ranges: ignored.
    TooMany {
        /// The cap in force ([`RangeLimits::max_ranges`]).
        limit: usize,
    },
    /// The satisfiable ranges add up to more bytes than the whole
    /// representation (overlaps asked for again and again): ignored.
    TooLarge {
        /// The bytes the ranges add up to.
        requested: u64,
        /// The representation's length.
        total: u64,
    },
    /// No range starts inside a representation of `total` bytes: 416.
    Unsatisfiable {
        /// The representation's length.
        total: u64,
    },
}

impl RangeError {
    /// Whether the answer is 416 (only [`Unsatisfiable`](Self::Unsatisfiable));
    /// every other error means "ignore the field and send everything".
    pub fn is_unsatisfiable(&self) -> bool {
        matches!(self, RangeError::Unsatisfiable { .. })
    }
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeError::OtherUnit => f.write_str("range unit is not bytes"),
            RangeError::Malformed { offset, reason } => {
                write!(f, "malformed range at byte {offset}: {reason}")
            }
            RangeError::TooMany { limit } => write!(f, "more than {limit} ranges"),
            RangeError::TooLarge { requested, total } => write!(
                f,
                "ranges add up to {requested} bytes of a {total}-byte representation"
            ),
            RangeError::Unsatisfiable { total } => {
                write!(f, "no range starts within {total} bytes")
            }
        }
    }
}

impl Error for RangeError {}

impl From<RangeError> for io::Error {
    fn from(e: RangeError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// One range-spec as written, before the length is known.
#[derive(Debug, Clone, Copy)]
enum Spec {
    /// `first-` or `first-last` (`last` saturated at `u64::MAX`).
    From { first: u64, last: Option<u64> },
    /// `-suffix`: the last `suffix` bytes.
    Suffix(u64),
}

/// Digits as a number, saturating: a position past any length is still a
/// valid position (just not a satisfiable one).
fn number(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

impl ByteRanges {
    /// Evaluates a `Range` field value against a representation of
    /// `total` bytes; see [`ByteRanges`] for every outcome.
    ///
    /// ```
    /// use producers::http::{ByteRange, ByteRanges, RangeError, RangeLimits};
    ///
    /// let limits = RangeLimits::default();
    /// let r = ByteRanges::parse(b"bytes=0-1,5-9,-3", 100, &limits)?;
    /// assert_eq!(r.as_slice(), [
    ///     ByteRange { start: 0, len: 2 },
    ///     ByteRange { start: 5, len: 5 },
    ///     ByteRange { start: 97, len: 3 },
    /// ]);
    /// assert_eq!(
    ///     ByteRanges::parse(b"bytes=200-", 100, &limits),
    ///     Err(RangeError::Unsatisfiable { total: 100 })
    /// );
    /// # Ok::<(), RangeError>(())
    /// ```
    pub fn parse(value: &[u8], total: u64, limits: &RangeLimits) -> Result<ByteRanges, RangeError> {
        let value = trim_ows(value);
        let Some(eq) = memchr::memchr(b'=', value) else {
            return Err(RangeError::Malformed {
                offset: value.len(),
                reason: "no '='",
            });
        };
        // The unit is case-insensitive (RFC 9110 section 14.1).
        if !value[..eq].eq_ignore_ascii_case(b"bytes") {
            return Err(RangeError::OtherUnit);
        }
        let mut specs = Vec::new();
        let mut offset = eq + 1;
        for item in value[eq + 1..].split(|&b| b == b',') {
            let at = offset;
            offset += item.len() + 1;
            let spec = trim_ows(item);
            // Empty list elements are allowed (RFC 9110 section 5.6.1.2).
            if spec.is_empty() {
                continue;
            }
            if specs.len() == limits.max_ranges.saturating_mul(PARSE_FACTOR) {
                return Err(RangeError::TooMany {
                    limit: limits.max_ranges,
                });
            }
            let malformed = |reason| RangeError::Malformed { offset: at, reason };
            let Some(dash) = memchr::memchr(b'-', spec) else {
                return Err(malformed("no '-'"));
            };
            let (first, last) = (&spec[..dash], &spec[dash + 1..]);
            specs.push(if first.is_empty() {
                Spec::Suffix(number(last).ok_or(malformed("bad suffix length"))?)
            } else {
                let first = number(first).ok_or(malformed("bad first position"))?;
                let last = if last.is_empty() {
                    None
                } else {
                    let last = number(last).ok_or(malformed("bad last position"))?;
                    if last < first {
                        return Err(malformed("last position before first"));
                    }
                    Some(last)
                };
                Spec::From { first, last }
            });
        }
        if specs.is_empty() {
            return Err(RangeError::Malformed {
                offset: value.len(),
                reason: "no range",
            });
        }
        // Section 14.1.3: a first position past the end, or a zero suffix,
        // is not satisfiable; nothing of an empty representation is.
        let mut ranges: Vec<ByteRange> = specs
            .into_iter()
            .filter_map(|s| match s {
                _ if total == 0 => None,
                Spec::Suffix(0) => None,
                Spec::Suffix(n) => {
                    let len = n.min(total);
                    Some(ByteRange {
                        start: total - len,
                        len,
                    })
                }
                Spec::From { first, .. } if first >= total => None,
                Spec::From { first, last } => {
                    let last = last.unwrap_or(u64::MAX).min(total - 1);
                    Some(ByteRange {
                        start: first,
                        len: last - first + 1,
                    })
                }
            })
            .collect();
        if ranges.is_empty() {
            return Err(RangeError::Unsatisfiable { total });
        }
        let requested = ranges.iter().fold(0u64, |sum, r| sum.saturating_add(r.len));
        if requested > total {
            return Err(RangeError::TooLarge { requested, total });
        }
        let mut sorted = ranges.clone();
        sorted.sort_by_key(|r| r.start);
        let touching = sorted
            .windows(2)
            .any(|w| w[1].start <= w[0].start + w[0].len);
        if touching {
            // Overlapping or adjacent ranges are one range on the wire;
            // coalesced, they go out in ascending order (section 14.3).
            ranges.clear();
            for r in sorted {
                match ranges.last_mut() {
                    Some(prev) if r.start <= prev.start + prev.len => {
                        let end = (prev.start + prev.len).max(r.start + r.len);
                        prev.len = end - prev.start;
                    }
                    _ => ranges.push(r),
                }
            }
        }
        // The cap counts ranges as they go out: after coalescing.
        if ranges.len() > limits.max_ranges {
            return Err(RangeError::TooMany {
                limit: limits.max_ranges,
            });
        }
        Ok(ByteRanges { ranges, total })
    }

    /// The ranges, in the order they are sent; never empty.
    pub fn as_slice(&self) -> &[ByteRange] {
        &self.ranges
    }

    /// The one range when there is exactly one (a plain 206), `None` when
    /// there are several (`multipart/byteranges`).
    pub fn single(&self) -> Option<ByteRange> {
        match self.ranges[..] {
            [r] => Some(r),
            _ => None,
        }
    }

    /// The length of the whole representation.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The bytes of payload the ranges hold together.
    pub fn payload_len(&self) -> u64 {
        self.ranges.iter().map(|r| r.len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str, total: u64) -> Result<Vec<(u64, u64)>, RangeError> {
        ByteRanges::parse(v.as_bytes(), total, &RangeLimits::default()).map(|r| {
            assert_eq!(r.total(), total);
            r.as_slice().iter().map(|r| (r.start, r.len)).collect()
        })
    }

    #[test]
    fn rfc_9110_section_14_1_2_examples() {
        // The examples of section 14.1.2, for a 10000-byte representation.
        let table: &[(&str, &[(u64, u64)])] = &[
            ("bytes=0-499", &[(0, 500)]),
            ("bytes=500-999", &[(500, 500)]),
            ("bytes=-500", &[(9500, 500)]),
            ("bytes=9500-", &[(9500, 500)]),
            ("bytes=0-0,-1", &[(0, 1), (9999, 1)]),
            // "bytes= 0-999, 4500-5499, -1000": OWS around list members.
            (
                "bytes= 0-999, 4500-5499, -1000",
                &[(0, 1000), (4500, 1000), (9000, 1000)],
            ),
            // "bytes=500-600,601-999": adjacent, coalesced.
            ("bytes=500-600,601-999", &[(500, 500)]),
            // "bytes=500-700,601-999": overlapping, coalesced.
            ("bytes=500-700,601-999", &[(500, 500)]),
        ];
        for (v, want) in table {
            assert_eq!(parse(v, 10000).as_deref(), Ok(*want), "{v}");
        }
    }

    #[test]
    fn single_ranges() {
        let table: &[(&str, u64, (u64, u64))] = &[
            ("bytes=0-0", 10, (0, 1)),
            ("bytes=2-5", 10, (2, 4)),
            ("bytes=2-", 10, (2, 8)),
            ("bytes=5-100", 10, (5, 5)),
            ("bytes=-3", 10, (7, 3)),
            ("bytes=-30", 10, (0, 10)),
            ("BYTES=1-1", 10, (1, 1)),
            ("bytes=0-99999999999999999999", 10, (0, 10)),
        ];
        for (v, total, want) in table {
            assert_eq!(parse(v, *total), Ok(vec![*want]), "{v}");
        }
    }

    #[test]
    fn unsatisfiable_and_ignored() {
        use RangeError::*;
        let table: &[(&str, u64, RangeError)] = &[
            ("bytes=10-", 10, Unsatisfiable { total: 10 }),
            ("bytes=10-20", 10, Unsatisfiable { total: 10 }),
            ("bytes=-0", 10, Unsatisfiable { total: 10 }),
            ("bytes=0-", 0, Unsatisfiable { total: 0 }),
            ("bytes=-5", 0, Unsatisfiable { total: 0 }),
            ("bytes=20-30,40-", 10, Unsatisfiable { total: 10 }),
            // A huge first position is valid syntax, just past the end.
            (
                "bytes=99999999999999999999-",
                10,
                Unsatisfiable { total: 10 },
            ),
            ("items=0-1", 10, OtherUnit),
            (
                "bytes 0-1",
                10,
                Malformed {
                    offset: 9,
                    reason: "no '='",
                },
            ),
            (
                "bytes=5-2",
                10,
                Malformed {
                    offset: 6,
                    reason: "last position before first",
                },
            ),
            (
                "bytes=a-b",
                10,
                Malformed {
                    offset: 6,
                    reason: "bad first position",
                },
            ),
            (
                "bytes=-",
                10,
                Malformed {
                    offset: 6,
                    reason: "bad suffix length",
                },
            ),
            (
                "bytes=+1-2",
                10,
                Malformed {
                    offset: 6,
                    reason: "bad first position",
                },
            ),
            (
                "bytes=1",
                10,
                Malformed {
                    offset: 6,
                    reason: "no '-'",
                },
            ),
            (
                "bytes=0-1,x",
                10,
                Malformed {
                    offset: 10,
                    reason: "no '-'",
                },
            ),
            (
                "bytes=",
                10,
                Malformed {
                    offset: 6,
                    reason: "no range",
                },
            ),
            (
                "bytes=1 -2",
                10,
                Malformed {
                    offset: 6,
                    reason: "bad first position",
                },
            ),
            // Overlaps asked for again and again: more than the whole.
            (
                "bytes=0-,0-",
                10,
                TooLarge {
                    requested: 20,
                    total: 10,
                },
            ),
            (
                "bytes=0-5,1-6",
                10,
                TooLarge {
                    requested: 12,
                    total: 10,
                },
            ),
        ];
        for (v, total, want) in table {
            let got = parse(v, *total);
            assert_eq!(got.as_ref(), Err(want), "{v}");
            assert_eq!(
                want.is_unsatisfiable(),
                matches!(want, Unsatisfiable { .. })
            );
        }
    }

    #[test]
    fn multiple_ranges_keep_their_order_unless_coalesced() {
        assert_eq!(
            parse("bytes=5-9,0-1", 100),
            Ok(vec![(5, 5), (0, 2)]),
            "disjoint: as asked"
        );
        assert_eq!(
            parse("bytes=0-1,5-9,-3", 100),
            Ok(vec![(0, 2), (5, 5), (97, 3)])
        );
        // Unsatisfiable members are dropped when others are satisfiable.
        assert_eq!(parse("bytes=0-1,200-300", 100), Ok(vec![(0, 2)]));
        // Empty list elements are allowed.
        assert_eq!(parse("bytes=,0-1,,3-4,", 100), Ok(vec![(0, 2), (3, 2)]));
        // Overlapping: coalesced and sorted.
        assert_eq!(
            parse("bytes=50-59,0-9,5-14", 100),
            Ok(vec![(0, 15), (50, 10)])
        );
        let r = ByteRanges::parse(b"bytes=0-1,3-4", 10, &RangeLimits::default()).unwrap();
        assert_eq!((r.single(), r.payload_len()), (None, 4));
        let r = ByteRanges::parse(b"bytes=0-1,2-4", 10, &RangeLimits::default()).unwrap();
        assert_eq!(r.single(), Some(ByteRange { start: 0, len: 5 }));
    }

    #[test]
    fn the_cap_on_ranges() {
        let limits = RangeLimits { max_ranges: 3 };
        let v = |n: usize| {
            let specs: Vec<String> = (0..n)
                .map(|i| format!("{}-{}", i * 10, i * 10 + 1))
                .collect();
            format!("bytes={}", specs.join(","))
        };
        assert_eq!(
            ByteRanges::parse(v(3).as_bytes(), 1000, &limits).map(|r| r.as_slice().len()),
            Ok(3)
        );
        assert_eq!(
            ByteRanges::parse(v(4).as_bytes(), 1000, &limits),
            Err(RangeError::TooMany { limit: 3 })
        );
        // The default: 16.
        assert!(parse(&v(16), 1000).is_ok());
        assert_eq!(parse(&v(17), 1000), Err(RangeError::TooMany { limit: 16 }));
        // Counted after coalescing: 17 adjacent ranges are one.
        let adjacent: Vec<String> = (0..17)
            .map(|i| format!("{}-{}", i * 2, i * 2 + 1))
            .collect();
        let r = parse(&format!("bytes={}", adjacent.join(",")), 1000).unwrap();
        assert_eq!(r, vec![(0, 34)]);
        // Parsing stops at PARSE_FACTOR times the cap, coalescing or not.
        let many: Vec<String> = (0..16 * PARSE_FACTOR + 1)
            .map(|i| format!("{i}-{i}"))
            .collect();
        assert_eq!(
            parse(&format!("bytes={}", many.join(",")), 1000),
            Err(RangeError::TooMany { limit: 16 })
        );
    }

    #[test]
    fn header_values() {
        let r = ByteRange {
            start: 500,
            len: 500,
        };
        assert_eq!(r.content_range(8000), "bytes 500-999/8000");
        assert_eq!(r.last(), 999);
        assert_eq!(unsatisfied_range(8000), "bytes */8000");
        let e: io::Error = RangeError::TooMany { limit: 16 }.into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(e.to_string(), "more than 16 ranges");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn ranges_stay_inside_and_apart(v in "bytes=[0-9,-]{0,24}", total in 0u64..64) {
            if let Ok(r) = ByteRanges::parse(v.as_bytes(), total, &RangeLimits::default()) {
                let mut seen = vec![false; total as usize];
                for b in r.as_slice() {
                    proptest::prop_assert!(b.len > 0 && b.start + b.len <= total);
                    for i in b.start..b.start + b.len {
                        proptest::prop_assert!(!seen[i as usize], "overlap in {v}");
                        seen[i as usize] = true;
                    }
                }
                proptest::prop_assert!(r.payload_len() <= total);
            }
        }
    }
}
