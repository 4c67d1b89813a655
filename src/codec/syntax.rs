//! The field syntax of RFC 9110 section 5.6 that the HTTP codecs share:
//! the chunked coding's extensions and trailers and the request-head
//! parser use the same predicates, so they cannot drift apart.

/// `tchar` (RFC 9110 section 5.6.2): the bytes of a token — a method, a
/// field name, a chunk-extension name.
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// A control byte that may not appear in a field value or quoted-string
/// (RFC 9110 section 5.5: everything below SP except HTAB, and DEL); every
/// other byte — visible ASCII, obs-text, SP, HTAB — may.
pub(crate) fn is_forbidden_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// `s` without the optional whitespace (`OWS`, SP and HTAB, RFC 9110
/// section 5.6.3) at either end.
#[cfg_attr(not(any(feature = "http", feature = "http-body")), allow(dead_code))]
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tchar_is_the_rfc_9110_set() {
        // The naive reference: alphanumerics and the 15 listed marks.
        let marks = b"!#$%&'*+-.^_`|~";
        for b in 0..=255u8 {
            let want = b.is_ascii_alphanumeric() || marks.contains(&b);
            assert_eq!(is_tchar(b), want, "{b:#04x}");
        }
    }

    #[test]
    fn forbidden_controls() {
        for b in 0..=255u8 {
            let field_byte = b == b'\t' || (b >= 0x20 && b != 0x7f);
            assert_eq!(is_forbidden_ctl(b), !field_byte, "{b:#04x}");
        }
    }

    #[test]
    fn trims_only_spaces_and_tabs() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"\r\na\r\n"), b"\r\na\r\n");
        assert_eq!(trim_ows(b" \t "), b"");
        assert_eq!(trim_ows(b""), b"");
    }
}
