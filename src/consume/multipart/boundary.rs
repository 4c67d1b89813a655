//! [`Boundary`]: a multipart boundary, checked against RFC 2046, and read
//! from a `Content-Type` value.

use bytes::{BufMut, Bytes, BytesMut};

use super::MultipartError;

/// The longest boundary RFC 2046 section 5.1.1 allows.
pub const MAX_BOUNDARY: usize = 70;

/// A multipart boundary: 1 to 70 of RFC 2046's `bchars` (letters, digits
/// and `'()+_,-./:=? `), not ending in a space.
///
/// ```
/// use producers::consume::Boundary;
///
/// let b = Boundary::from_form_data(b"multipart/form-data; boundary=\"a b\"")?;
/// assert_eq!(b.as_bytes(), b"a b");
/// assert_eq!(&b.delimiter()[..], b"\r\n--a b");
/// assert!(Boundary::new("ends in space ").is_err());
/// assert!(Boundary::from_form_data(b"text/plain; boundary=x").is_err());
/// # Ok::<(), producers::consume::MultipartError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Boundary {
    /// Valid: 1..=70 bchars, the last not a space.
    bytes: Bytes,
}

/// RFC 2046 section 5.1.1: `bcharsnospace` plus the space.
fn is_bchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b)
}

/// RFC 9110 section 5.6.2 `tchar`.
pub(super) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl Boundary {
    /// `bytes` as a boundary, if RFC 2046 allows it.
    pub fn new(bytes: impl AsRef<[u8]>) -> Result<Boundary, MultipartError> {
        let b = bytes.as_ref();
        let reason = if b.is_empty() {
            "empty"
        } else if b.len() > MAX_BOUNDARY {
            "longer than 70 bytes"
        } else if !b.iter().all(|&c| is_bchar(c)) {
            "a byte outside rfc 2046 bchars"
        } else if b.ends_with(b" ") {
            "ends in a space"
        } else {
            return Ok(Boundary {
                bytes: Bytes::copy_from_slice(b),
            });
        };
        Err(MultipartError::BadBoundary { reason })
    }

    /// The boundary of a `multipart/*` `Content-Type` value: its
    /// `boundary` parameter, a token or a quoted string, exactly once.
    pub fn from_content_type(value: &[u8]) -> Result<Boundary, MultipartError> {
        let (ty, _sub, params) = media_type(value)?;
        if !ty.eq_ignore_ascii_case(b"multipart") {
            return Err(MultipartError::BadBoundary {
                reason: "not a multipart media type",
            });
        }
        let mut found = None;
        for (name, v) in params {
            if name.eq_ignore_ascii_case(b"boundary") {
                if found.is_some() {
                    return Err(MultipartError::BadBoundary {
                        reason: "boundary parameter repeated",
                    });
                }
                found = Some(v);
            }
        }
        let Some(v) = found else {
            return Err(MultipartError::BadBoundary {
                reason: "no boundary parameter",
            });
        };
        Boundary::new(v)
    }

    /// As [`from_content_type`](Self::from_content_type), and the media
    /// type must be `multipart/form-data` (RFC 7578).
    pub fn from_form_data(value: &[u8]) -> Result<Boundary, MultipartError> {
        let (ty, sub, _) = media_type(value)?;
        if !(ty.eq_ignore_ascii_case(b"multipart") && sub.eq_ignore_ascii_case(b"form-data")) {
            return Err(MultipartError::BadBoundary {
                reason: "not multipart/form-data",
            });
        }
        Boundary::from_content_type(value)
    }

    /// The boundary.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The delimiter that ends a part: `CRLF--BOUNDARY`.
    pub fn delimiter(&self) -> Bytes {
        let mut d = BytesMut::with_capacity(4 + self.bytes.len());
        d.put_slice(b"\r\n--");
        d.put_slice(&self.bytes);
        d.freeze()
    }
}

/// A media type's type, subtype and parameters (values unquoted), RFC 9110
/// section 8.3.1: `type "/" subtype *( OWS ";" OWS parameter )`.
#[allow(clippy::type_complexity)]
fn media_type(value: &[u8]) -> Result<(&[u8], &[u8], Vec<(&[u8], Vec<u8>)>), MultipartError> {
    let bad = |reason| MultipartError::BadBoundary { reason };
    let v = trim(value);
    let end = v.iter().position(|&c| c == b';').unwrap_or(v.len());
    let full = trim(&v[..end]);
    let slash = full
        .iter()
        .position(|&c| c == b'/')
        .ok_or(bad("no media type"))?;
    let (ty, sub) = (&full[..slash], &full[slash + 1..]);
    if ty.is_empty() || sub.is_empty() || !ty.iter().chain(sub).all(|&c| is_tchar(c)) {
        return Err(bad("malformed media type"));
    }
    let mut params = Vec::new();
    let mut rest = &v[end..];
    while let Some(r) = rest.strip_prefix(b";") {
        let r = trim_start(r);
        if r.is_empty() {
            break; // a trailing `;`, as some clients send
        }
        let eq = r
            .iter()
            .position(|&c| c == b'=')
            .ok_or(bad("parameter without ="))?;
        let name = &r[..eq];
        if name.is_empty() || !name.iter().all(|&c| is_tchar(c)) {
            return Err(bad("malformed parameter name"));
        }
        let (val, after) = param_value(&r[eq + 1..]).ok_or(bad("malformed parameter value"))?;
        params.push((name, val));
        rest = trim_start(after);
        if !rest.is_empty() && !rest.starts_with(b";") {
            return Err(bad("junk after a parameter"));
        }
    }
    Ok((ty, sub, params))
}

/// A token or a quoted string at the start of `s`, unquoted, and what
/// follows it.
pub(super) fn param_value(s: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    if let Some(q) = s.strip_prefix(b"\"") {
        let mut out = Vec::new();
        let mut i = 0;
        while i < q.len() {
            match q[i] {
                b'"' => return Some((out, &q[i + 1..])),
                // A quoted pair only before `"` or `\`, as Go's
                // mime.ParseMediaType does: browsers send a Windows path's
                // backslashes raw (the HTML form encoding escapes only `"`
                // and line breaks, as %22 %0A %0D), Python escapes exactly
                // these two.
                b'\\' if matches!(q.get(i + 1), Some(b'"' | b'\\')) => {
                    out.push(q[i + 1]);
                    i += 2;
                }
                c if c == b'\t' || c >= 0x20 && c != 0x7f => {
                    out.push(c);
                    i += 1;
                }
                _ => return None,
            }
        }
        None
    } else {
        let n = s.iter().position(|&c| !is_tchar(c)).unwrap_or(s.len());
        (n > 0).then(|| (s[..n].to_vec(), &s[n..]))
    }
}

pub(super) fn trim_start(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .position(|&c| c != b' ' && c != b'\t')
        .unwrap_or(s.len());
    &s[n..]
}

pub(super) fn trim(s: &[u8]) -> &[u8] {
    let s = trim_start(s);
    let n = s
        .iter()
        .rposition(|&c| c != b' ' && c != b'\t')
        .map_or(0, |i| i + 1);
    &s[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_by_rfc_2046() {
        assert!(Boundary::new("a").is_ok());
        assert!(Boundary::new("x".repeat(70)).is_ok());
        assert!(Boundary::new("----WebKitFormBoundary7MA4YWxkTrZu0gW").is_ok());
        assert!(Boundary::new("'()+_,-./:=? x").is_ok());
        let bad = |b: &[u8]| match Boundary::new(b) {
            Err(MultipartError::BadBoundary { reason }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(bad(b""), "empty");
        assert_eq!(bad("x".repeat(71).as_bytes()), "longer than 70 bytes");
        assert_eq!(bad(b"a;b"), "a byte outside rfc 2046 bchars");
        assert_eq!(bad(b"a\"b"), "a byte outside rfc 2046 bchars");
        assert_eq!(bad(b"a\r"), "a byte outside rfc 2046 bchars");
        assert_eq!(bad(b"ab "), "ends in a space");
    }

    #[test]
    fn from_content_type_values() {
        let ok = |v: &str| {
            Boundary::from_content_type(v.as_bytes())
                .map(|b| String::from_utf8(b.as_bytes().to_vec()).unwrap())
        };
        assert_eq!(ok("multipart/form-data; boundary=abc").unwrap(), "abc");
        assert_eq!(ok("Multipart/Mixed;BOUNDARY=\"a:b c\"").unwrap(), "a:b c");
        assert_eq!(
            ok("multipart/form-data; charset=utf-8; boundary=\"x\\\"y\"").unwrap_err(),
            MultipartError::BadBoundary {
                reason: "a byte outside rfc 2046 bchars"
            }
        );
        assert_eq!(ok("multipart/form-data ; boundary=z ;").unwrap(), "z");
        for (v, reason) in [
            ("multipart/form-data", "no boundary parameter"),
            ("text/plain; boundary=a", "not a multipart media type"),
            (
                "multipart/form-data; boundary=a; boundary=b",
                "boundary parameter repeated",
            ),
            (
                "multipart/form-data; boundary=\"abc",
                "malformed parameter value",
            ),
            ("multipart/form-data; boundary", "parameter without ="),
            ("multipart", "no media type"),
            (
                "multipart/form-data; boundary=a b",
                "junk after a parameter",
            ),
            (
                "multipart/form-data; boundary=",
                "malformed parameter value",
            ),
        ] {
            assert_eq!(ok(v), Err(MultipartError::BadBoundary { reason }), "{v}");
        }
        assert!(Boundary::from_form_data(b"multipart/mixed; boundary=a").is_err());
        assert!(Boundary::from_form_data(b"multipart/form-data; boundary=a").is_ok());
    }
}
