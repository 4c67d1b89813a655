//! [`Digits`]: an integer written out in decimal or lowercase hex without
//! `core::fmt` and without allocating — the response head's lengths, the
//! entity tag's parts and the date's fields are written on every request
//! (issue 14).

/// The digits of one integer, right-aligned in a fixed buffer: at most 39
/// decimal digits (`u128::MAX`) or 32 hex digits.
#[derive(Clone, Copy)]
pub(crate) struct Digits {
    buf: [u8; 40],
    /// Where the digits start in `buf`; they run to its end.
    start: u8,
}

impl Digits {
    /// `n` in decimal, no leading zeros (`0` for zero).
    pub(crate) fn decimal(n: u64) -> Digits {
        Digits::decimal_u128(n as u128)
    }

    /// `n` in decimal, no leading zeros (`0` for zero).
    pub(crate) fn decimal_u128(mut n: u128) -> Digits {
        let mut d = Digits {
            buf: [0; 40],
            start: 40,
        };
        // Two digits a step while the number has more than two: half the
        // divisions.
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
                                    2021222324252627282930313233343536373839\
                                    4041424344454647484950515253545556575859\
                                    6061626364656667686970717273747576777879\
                                    8081828384858687888990919293949596979899";
        let mut i = 40;
        // u64 arithmetic once the number fits: u128 division is a call.
        while n > u64::MAX as u128 {
            i -= 1;
            d.buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let mut n = n as u64;
        while n >= 100 {
            let pair = (n % 100) as usize * 2;
            n /= 100;
            i -= 2;
            d.buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        }
        if n >= 10 {
            let pair = n as usize * 2;
            i -= 2;
            d.buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        } else {
            i -= 1;
            d.buf[i] = b'0' + n as u8;
        }
        d.start = i as u8;
        d
    }

    /// `n` in lowercase hex, no leading zeros (`0` for zero).
    pub(crate) fn hex(mut n: u128) -> Digits {
        let mut d = Digits {
            buf: [0; 40],
            start: 40,
        };
        let mut i = 40;
        loop {
            i -= 1;
            d.buf[i] = b"0123456789abcdef"[(n & 0xf) as usize];
            n >>= 4;
            if n == 0 {
                break;
            }
        }
        d.start = i as u8;
        d
    }

    /// The digits, ASCII.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start as usize..]
    }

    /// The digits as text.
    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// Appends the digits to `s` (ASCII: no UTF-8 check needed).
    pub(crate) fn push_to(&self, s: &mut String) {
        push_ascii(s, self.as_bytes());
    }
}

/// Appends ASCII `bytes` to `s` (anything else is dropped: never written).
pub(crate) fn push_ascii(s: &mut String, bytes: &[u8]) {
    s.push_str(std::str::from_utf8(bytes).unwrap_or_default());
}

/// `n` (below 100) as two decimal digits, a leading zero included.
pub(crate) fn two_digits(n: u64) -> [u8; 2] {
    [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_edge_cases() {
        let table: &[(u64, &str)] = &[
            (0, "0"),
            (9, "9"),
            (10, "10"),
            (99, "99"),
            (100, "100"),
            (101, "101"),
            (999, "999"),
            (1000, "1000"),
            (1024, "1024"),
            (u32::MAX as u64, "4294967295"),
            (u64::MAX, "18446744073709551615"),
        ];
        for &(n, want) in table {
            assert_eq!(Digits::decimal(n).as_str(), want, "{n}");
        }
        assert_eq!(
            Digits::decimal_u128(u128::MAX).as_str(),
            u128::MAX.to_string()
        );
        assert_eq!(
            Digits::decimal_u128(u64::MAX as u128 + 1).as_str(),
            "18446744073709551616"
        );
    }

    #[test]
    fn hex_edge_cases() {
        for n in [0u128, 9, 10, 15, 16, 255, 256, u64::MAX as u128, u128::MAX] {
            assert_eq!(Digits::hex(n).as_str(), format!("{n:x}"), "{n}");
        }
    }

    #[test]
    fn two_digits_pad() {
        assert_eq!(&two_digits(0), b"00");
        assert_eq!(&two_digits(7), b"07");
        assert_eq!(&two_digits(59), b"59");
    }

    proptest::proptest! {
        #[test]
        fn decimal_matches_fmt(n: u64) {
            let d = Digits::decimal(n);
            proptest::prop_assert_eq!(d.as_str(), n.to_string());
        }

        #[test]
        fn decimal_u128_and_hex_match_fmt(n: u128) {
            let (d, h) = (Digits::decimal_u128(n), Digits::hex(n));
            proptest::prop_assert_eq!(d.as_str(), n.to_string());
            proptest::prop_assert_eq!(h.as_str(), format!("{n:x}"));
        }
    }
}
