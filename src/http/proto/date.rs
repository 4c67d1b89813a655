//! HTTP dates (RFC 9110 section 5.6.7): formatting IMF-fixdate, parsing
//! the three formats, and a per-thread cache of the current `Date`.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::digits::{push_ascii, two_digits};

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31); Howard
/// Hinnant's `civil_from_days`.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month 1..=12, day) to days since 1970-01-01; `days_from_civil`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats `secs` since the epoch as an IMF-fixdate:
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn format_http_date(secs: u64) -> String {
    let mut s = String::with_capacity(HTTP_DATE_LEN);
    push_ascii(&mut s, &http_date(secs));
    s
}

/// Bytes in an IMF-fixdate.
pub(crate) const HTTP_DATE_LEN: usize = 29;

/// `secs` since the epoch as the bytes of an IMF-fixdate, without
/// `core::fmt` or an allocation (a `Last-Modified` per response). Years past
/// 9999 keep their last four digits: no file time comes near.
pub(crate) fn http_date(secs: u64) -> [u8; HTTP_DATE_LEN] {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(DAYS[(days % 7) as usize].as_bytes());
    out[5..7].copy_from_slice(&two_digits(d as u64));
    out[8..11].copy_from_slice(MONTHS[m as usize - 1].as_bytes());
    let y = y as u64;
    out[12..14].copy_from_slice(&two_digits(y / 100));
    out[14..16].copy_from_slice(&two_digits(y % 100));
    out[17..19].copy_from_slice(&two_digits(rem / 3600));
    out[20..22].copy_from_slice(&two_digits(rem / 60 % 60));
    out[23..25].copy_from_slice(&two_digits(rem % 60));
    out
}

/// Seconds since the epoch of `t` (0 before it).
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Parses an HTTP date in any of the three formats a recipient must accept
/// (IMF-fixdate, RFC 850, asctime) into seconds since the epoch. `None`
/// for anything else, which a conditional request then ignores.
pub fn parse_http_date(s: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(s).ok()?.trim();
    let month = |m: &str| MONTHS.iter().position(|x| *x == m).map(|i| i as u32 + 1);
    let num = |t: &str| -> Option<u32> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok())?
    };
    let time = |t: &str| -> Option<(u32, u32, u32)> {
        let mut it = t.split(':');
        let (h, m, s) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || h.len() != 2 || m.len() != 2 || s.len() != 2 {
            return None;
        }
        Some((num(h)?, num(m)?, num(s)?))
    };
    let (y, mo, d, (h, mi, se)) = if let Some((_, rest)) = s.split_once(", ") {
        let parts: Vec<&str> = rest.split(' ').collect();
        match parts.as_slice() {
            // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            [d, m, y, t, "GMT"] if d.len() == 2 && y.len() == 4 => {
                (num(y)? as i64, month(m)?, num(d)?, time(t)?)
            }
            // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
            [date, t, "GMT"] => {
                let mut it = date.split('-');
                let (d, m, y) = (it.next()?, it.next()?, it.next()?);
                if d.len() != 2 || y.len() != 2 || it.next().is_some() {
                    return None;
                }
                // Two-digit years: RFC 9110 section 5.6.7 says a year more
                // than 50 years ahead is in the past; 70..99 is 19xx here.
                let y = num(y)? as i64;
                (
                    if y < 70 { 2000 + y } else { 1900 + y },
                    month(m)?,
                    num(d)?,
                    time(t)?,
                )
            }
            _ => return None,
        }
    } else {
        // asctime: Sun Nov  6 08:49:37 1994
        let parts: Vec<&str> = s.split(' ').filter(|p| !p.is_empty()).collect();
        match parts.as_slice() {
            [_, m, d, t, y] if y.len() == 4 => (num(y)? as i64, month(m)?, num(d)?, time(t)?),
            _ => return None,
        }
    };
    if !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 || y < 1970 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(days as u64 * 86_400 + h as u64 * 3600 + mi as u64 * 60 + se as u64)
}

/// The current time as an IMF-fixdate, formatted at most once a second per
/// thread (every response carries one).
pub fn now_http_date() -> Bytes {
    with_now_http_date(Bytes::copy_from_slice)
}

/// Calls `f` with the current time as an IMF-fixdate, from a per-thread
/// cache formatted at most once a second: the response head copies it
/// without touching a reference count or the allocator.
pub(crate) fn with_now_http_date<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    thread_local! {
        static CACHE: Cell<(u64, [u8; HTTP_DATE_LEN])> =
            const { Cell::new((u64::MAX, [0; HTTP_DATE_LEN])) };
    }
    let now = unix_secs(SystemTime::now());
    let (secs, mut date) = CACHE.get();
    if secs != now {
        date = http_date(now);
        CACHE.set((now, date));
    }
    f(&date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_rfc_example() {
        assert_eq!(
            format_http_date(784_111_777),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            format_http_date(951_782_400),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
    }

    /// The naive reference: `core::fmt`, as the server formatted dates
    /// before issue 14.
    fn http_date_by_fmt(secs: u64) -> String {
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        format!(
            "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
            DAYS[(days % 7) as usize],
            d,
            MONTHS[m as usize - 1],
            y,
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }

    #[test]
    fn the_current_date_is_cached_and_well_formed() {
        let a = with_now_http_date(<[u8]>::to_vec);
        assert_eq!(a.len(), HTTP_DATE_LEN);
        let secs = parse_http_date(&a).expect("an IMF-fixdate");
        let now = unix_secs(SystemTime::now());
        assert!(secs <= now && now - secs <= 2, "{secs} {now}");
        assert_eq!(&now_http_date()[..].len(), &HTTP_DATE_LEN);
    }

    #[test]
    fn parses_the_three_formats() {
        for s in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(s.as_bytes()), Some(784_111_777), "{s}");
        }
    }

    #[test]
    fn refuses_malformed_dates() {
        for s in [
            "",
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(s.as_bytes()), None, "{s}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn format_parse_round_trip(secs in 0u64..8_000_000_000) {
            let s = format_http_date(secs);
            proptest::prop_assert_eq!(parse_http_date(s.as_bytes()), Some(secs));
        }

        #[test]
        fn formats_as_fmt_did(secs in 0u64..253_402_300_800) {
            // Up to the end of year 9999.
            proptest::prop_assert_eq!(format_http_date(secs), http_date_by_fmt(secs));
        }
    }
}
