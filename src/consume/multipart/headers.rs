//! [`PartHeaders`]: a part's header block, parsed strictly (RFC 7578
//! section 4 over RFC 2046 and RFC 5322 field syntax).

use super::MultipartError;
use super::boundary::{is_tchar, param_value, trim, trim_start};

/// A part's header fields, with what RFC 7578 defines taken out:
/// `Content-Disposition`'s `name` and `filename`, and `Content-Type`.
///
/// Parsing is strict: fields are `name: value` lines ended by CRLF
/// (a bare CR or LF, obsolete line folding, a control character or a
/// value that is not UTF-8 is an error), `Content-Disposition` must be
/// there once, of type `form-data`, with a `name` (section 4.2), and
/// `Content-Type` at most once. `filename*` and `name*` (the RFC 8187
/// ext-value, UTF-8 or ISO-8859-1) take precedence over `filename` and
/// `name`. A quoted string unescapes `\"` and `\\` only, as Go does:
/// browsers send backslashes raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartHeaders {
    /// Every field as sent (names keep their case; values trimmed).
    fields: Vec<(String, String)>,
    /// The form field name.
    name: String,
    /// The file name the client gave, as given (not sanitised).
    filename: Option<String>,
    /// `Content-Type`, if sent.
    content_type: Option<String>,
}

impl PartHeaders {
    /// Every header field as sent, names with their case, values trimmed.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// The value of the first field named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The form field's name (`Content-Disposition`'s `name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file name the client gave, exactly as given: it may hold a
    /// path, `..` or anything else. A receiver storing files must
    /// sanitise it (RFC 7578 section 4.2).
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// The part's `Content-Type`, if sent (RFC 7578 section 4.4: absent
    /// means `text/plain`).
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// Parses a header block: the fields with their CRLFs, without the
    /// blank line that ends the block. `offset` is where the block begins
    /// in the stream; `max_headers` caps the number of fields.
    pub(super) fn parse(
        block: &[u8],
        offset: u64,
        max_headers: usize,
    ) -> Result<PartHeaders, MultipartError> {
        let mut fields = Vec::new();
        let mut disposition = None;
        let mut content_type = None;
        let mut pos = 0;
        while pos < block.len() {
            let at = |i: usize| offset + (pos + i) as u64;
            let end = find_crlf(&block[pos..]).unwrap_or(block.len() - pos);
            let line = &block[pos..pos + end];
            let bad = |i: usize, reason| MultipartError::BadHeader {
                offset: at(i),
                reason,
            };
            if let Some(i) = line.iter().position(|&c| c == b'\r') {
                return Err(bad(i, "cr without lf"));
            }
            if let Some(i) = line.iter().position(|&c| c == b'\n') {
                return Err(bad(i, "lf without cr"));
            }
            if line.starts_with(b" ") || line.starts_with(b"\t") {
                return Err(bad(0, "obsolete line folding"));
            }
            if fields.len() == max_headers {
                return Err(MultipartError::TooManyHeaders {
                    limit: max_headers,
                    offset: at(0),
                });
            }
            let colon = line
                .iter()
                .position(|&c| c == b':')
                .ok_or(bad(0, "no colon"))?;
            let name = &line[..colon];
            if name.is_empty() || !name.iter().all(|&c| is_tchar(c)) {
                return Err(bad(0, "malformed field name"));
            }
            let after = &line[colon + 1..];
            if let Some(i) = after
                .iter()
                .position(|&c| c < 0x20 && c != b'\t' || c == 0x7f)
            {
                return Err(bad(colon + 1 + i, "control character in a value"));
            }
            let raw = trim(after);
            let value = std::str::from_utf8(raw).map_err(|_| bad(colon + 1, "value not utf-8"))?;
            // Field names are tchars: ASCII.
            let name = String::from_utf8_lossy(name).into_owned();
            if name.eq_ignore_ascii_case("content-disposition") {
                if disposition.is_some() {
                    return Err(bad(0, "content-disposition repeated"));
                }
                disposition = Some(Disposition::parse(raw, at(0))?);
            } else if name.eq_ignore_ascii_case("content-type") {
                if content_type.is_some() {
                    return Err(bad(0, "content-type repeated"));
                }
                content_type = Some(value.to_owned());
            }
            fields.push((name, value.to_owned()));
            pos += end + 2;
        }
        let d = disposition.ok_or(MultipartError::MissingContentDisposition { offset })?;
        Ok(PartHeaders {
            fields,
            name: d.name,
            filename: d.filename,
            content_type,
        })
    }
}

fn find_crlf(s: &[u8]) -> Option<usize> {
    s.windows(2).position(|w| w == b"\r\n")
}

/// `Content-Disposition: form-data; name=...; filename=...`.
struct Disposition {
    name: String,
    filename: Option<String>,
}

impl Disposition {
    /// RFC 6266 section 4.1's grammar, as RFC 7578 section 4.2 uses it.
    fn parse(v: &[u8], offset: u64) -> Result<Disposition, MultipartError> {
        let bad = |reason| MultipartError::BadContentDisposition { offset, reason };
        let end = v.iter().position(|&c| c == b';').unwrap_or(v.len());
        if !trim(&v[..end]).eq_ignore_ascii_case(b"form-data") {
            return Err(bad("not form-data"));
        }
        let (mut name, mut name_ext, mut filename, mut filename_ext) = (None, None, None, None);
        let mut rest = &v[end..];
        while let Some(r) = rest.strip_prefix(b";") {
            let r = trim_start(r);
            let eq = r
                .iter()
                .position(|&c| c == b'=')
                .ok_or(bad("parameter without ="))?;
            let key = trim(&r[..eq]);
            if key.is_empty() || !key.iter().all(|&c| is_tchar(c)) {
                return Err(bad("malformed parameter name"));
            }
            let after = trim_start(&r[eq + 1..]);
            let (value, after) = if key.ends_with(b"*") {
                let n = after
                    .iter()
                    .position(|&c| c == b';' || c == b' ' || c == b'\t')
                    .unwrap_or(after.len());
                let s = ext_value(&after[..n]).ok_or(bad("malformed ext-value"))?;
                (s, &after[n..])
            } else {
                let (raw, after) = param_value(after).ok_or(bad("malformed parameter value"))?;
                let s = String::from_utf8(raw).map_err(|_| bad("parameter not utf-8"))?;
                (s, after)
            };
            let slot = match key.to_ascii_lowercase().as_slice() {
                b"name" => &mut name,
                b"name*" => &mut name_ext,
                b"filename" => &mut filename,
                b"filename*" => &mut filename_ext,
                _ => &mut None, // other parameters are ignored
            };
            if slot.is_some() {
                return Err(bad("parameter repeated"));
            }
            *slot = Some(value);
            rest = trim_start(after);
            if !rest.is_empty() && !rest.starts_with(b";") {
                return Err(bad("junk after a parameter"));
            }
        }
        // RFC 6266 section 4.3: the ext-value wins where both are sent.
        let name = name_ext.or(name).ok_or(bad("no name parameter"))?;
        Ok(Disposition {
            name,
            filename: filename_ext.or(filename),
        })
    }
}

/// RFC 8187 section 3.2.1 `ext-value`: `charset "'" [ language ] "'"
/// value-chars`, for UTF-8 and ISO-8859-1.
fn ext_value(s: &[u8]) -> Option<String> {
    let q1 = s.iter().position(|&c| c == b'\'')?;
    let q2 = q1 + 1 + s[q1 + 1..].iter().position(|&c| c == b'\'')?;
    let (charset, chars) = (&s[..q1], &s[q2 + 1..]);
    let mut bytes = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            b'%' => {
                let hex = std::str::from_utf8(chars.get(i + 1..i + 3)?).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            // attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"
            c if c.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&c) => {
                bytes.push(c);
                i += 1;
            }
            _ => return None,
        }
    }
    if charset.eq_ignore_ascii_case(b"utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case(b"iso-8859-1") {
        Some(bytes.into_iter().map(char::from).collect())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(block: &str) -> Result<PartHeaders, MultipartError> {
        PartHeaders::parse(block.as_bytes(), 100, 4)
    }

    #[test]
    fn form_data_fields() {
        let h = parse(
            "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".txt\"\r\n\
             Content-Type: text/plain\r\nX-Other:  v \r\n",
        )
        .unwrap();
        assert_eq!(h.name(), "file");
        assert_eq!(h.filename(), Some("a \"b\".txt"));
        assert_eq!(h.content_type(), Some("text/plain"));
        assert_eq!(h.get("x-other"), Some("v"));
        assert_eq!(h.fields().len(), 3);
        let h = parse("content-disposition: FORM-DATA;name=x").unwrap();
        assert_eq!(
            (h.name(), h.filename(), h.content_type()),
            ("x", None, None)
        );
        // A Windows path's backslashes stay.
        let h =
            parse("Content-Disposition: form-data; name=f; filename=\"C:\\dir\\a.txt\"").unwrap();
        assert_eq!(h.filename(), Some("C:\\dir\\a.txt"));
    }

    #[test]
    fn ext_values_win() {
        let h = parse(
            "Content-Disposition: form-data; name=f; filename=\"euro.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt",
        )
        .unwrap();
        assert_eq!(h.filename(), Some("\u{20ac} rates.txt"));
        let h = parse("Content-Disposition: form-data; name*=iso-8859-1'en'%E9t%E9").unwrap();
        assert_eq!(h.name(), "\u{e9}t\u{e9}");
        for bad in [
            "Content-Disposition: form-data; name=f; filename*=koi8-r''%E9",
            "Content-Disposition: form-data; name=f; filename*=utf-8''%E9",
            "Content-Disposition: form-data; name=f; filename*=utf-8''%G0",
            "Content-Disposition: form-data; name=f; filename*=utf-8'%41",
        ] {
            assert!(
                matches!(
                    parse(bad),
                    Err(MultipartError::BadContentDisposition {
                        reason: "malformed ext-value",
                        offset: 100
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn malformed_blocks() {
        let table: &[(&str, MultipartError)] = &[
            (
                "X: y\r\n",
                MultipartError::MissingContentDisposition { offset: 100 },
            ),
            (
                "",
                MultipartError::MissingContentDisposition { offset: 100 },
            ),
            (
                "Content-Disposition: attachment; name=a",
                MultipartError::BadContentDisposition {
                    offset: 100,
                    reason: "not form-data",
                },
            ),
            (
                "Content-Disposition: form-data; filename=a",
                MultipartError::BadContentDisposition {
                    offset: 100,
                    reason: "no name parameter",
                },
            ),
            (
                "X: y\r\nContent-Disposition: form-data; name=a; name=b",
                MultipartError::BadContentDisposition {
                    offset: 106,
                    reason: "parameter repeated",
                },
            ),
            (
                "Content-Disposition: form-data; name=\"a",
                MultipartError::BadContentDisposition {
                    offset: 100,
                    reason: "malformed parameter value",
                },
            ),
            (
                "Content-Disposition: form-data; name=a b",
                MultipartError::BadContentDisposition {
                    offset: 100,
                    reason: "junk after a parameter",
                },
            ),
            (
                "X: a\rb",
                MultipartError::BadHeader {
                    offset: 104,
                    reason: "cr without lf",
                },
            ),
            (
                "X: a\nb",
                MultipartError::BadHeader {
                    offset: 104,
                    reason: "lf without cr",
                },
            ),
            (
                "X: a\r\n b",
                MultipartError::BadHeader {
                    offset: 106,
                    reason: "obsolete line folding",
                },
            ),
            (
                "X y",
                MultipartError::BadHeader {
                    offset: 100,
                    reason: "no colon",
                },
            ),
            (
                "X y: z",
                MultipartError::BadHeader {
                    offset: 100,
                    reason: "malformed field name",
                },
            ),
            (
                "X: a\x01",
                MultipartError::BadHeader {
                    offset: 104,
                    reason: "control character in a value",
                },
            ),
            (
                "X: \u{ff}",
                MultipartError::BadHeader {
                    offset: 102,
                    reason: "value not utf-8",
                },
            ),
            (
                "Content-Type: a\r\nContent-Type: b",
                MultipartError::BadHeader {
                    offset: 117,
                    reason: "content-type repeated",
                },
            ),
            (
                "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5",
                MultipartError::TooManyHeaders {
                    limit: 4,
                    offset: 124,
                },
            ),
        ];
        for (block, want) in table {
            let got = if block.contains('\u{ff}') {
                // Raw Latin-1 byte, not UTF-8.
                PartHeaders::parse(b"X: \xff", 100, 4)
            } else {
                parse(block)
            };
            assert_eq!(got.as_ref(), Err(want), "{block:?}");
        }
    }
}
