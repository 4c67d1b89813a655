//! [`UrlPath`]: a request target made into a safe relative path — percent
//! decoded exactly once, normalised, never above the root.

#[cfg(unix)]
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::error::HttpError;

/// A request path, decoded and normalised: its segments never hold `/`,
/// NUL, `.` or `..`, so joined to a root it names something under it
/// (symbolic links aside: see [`resolve`](UrlPath::resolve), which the
/// file-serving side defines, as it asks the file system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPath {
    /// The segments joined by `/`, without a leading or trailing `/` (empty
    /// for the root): one string rather than one per segment, so a request
    /// path costs one allocation (issue 14).
    rel: String,
    /// The bytes of `rel` when a segment is not UTF-8 (`rel` then holds
    /// their lossy text, U+FFFD for each invalid sequence): only on Unix,
    /// where a file name is bytes (elsewhere such a path is refused), so a
    /// listing's link to a file whose name is not UTF-8 serves that file.
    /// `None` for almost every path.
    raw: Option<Box<[u8]>>,
    /// Whether the decoded path ended with `/` (a directory was asked for).
    trailing_slash: bool,
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes once. A `%` not followed by two hex digits is an
/// error, so the result never depends on a second decoding.
pub fn percent_decode(s: &[u8]) -> Result<Vec<u8>, HttpError> {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s;
    // The runs between escapes are copied whole: most paths have none.
    while let Some(i) = memchr::memchr(b'%', rest) {
        out.extend_from_slice(&rest[..i]);
        let (Some(h), Some(l)) = (
            rest.get(i + 1).copied().and_then(hex),
            rest.get(i + 2).copied().and_then(hex),
        ) else {
            return Err(HttpError::BadPath {
                reason: "bad percent escape",
            });
        };
        out.push(h << 4 | l);
        rest = &rest[i + 3..];
    }
    out.extend_from_slice(rest);
    Ok(out)
}

/// Percent-encodes a path segment for a URL (RFC 3986 `pchar` minus `:`
/// and `@`, which are kept out for clarity).
pub fn percent_encode_segment(s: &str) -> String {
    percent_encode_bytes(s.as_bytes())
}

/// [`percent_encode_segment`] of a segment's bytes, UTF-8 or not.
pub(crate) fn percent_encode_bytes(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl UrlPath {
    /// Maps a request target to a path: the query is dropped, an absolute
    /// form's scheme and authority too; the rest is percent-decoded once
    /// and normalised (`.` and empty segments dropped, `..` removing the
    /// segment before it). Fails on a bad escape, a NUL byte, a backslash,
    /// invalid UTF-8, or a `..` that would leave the root. For a path a
    /// router has already decoded, use [`from_decoded`](Self::from_decoded).
    pub fn from_target(target: &[u8]) -> Result<UrlPath, HttpError> {
        let mut path = target;
        for scheme in [&b"http://"[..], b"https://"] {
            if path.len() >= scheme.len() && path[..scheme.len()].eq_ignore_ascii_case(scheme) {
                let rest = &path[scheme.len()..];
                path = match memchr::memchr(b'/', rest) {
                    Some(i) => &rest[i..],
                    None => b"/",
                };
            }
        }
        if let Some(q) = memchr::memchr2(b'?', b'#', path) {
            path = &path[..q];
        }
        if path.first() != Some(&b'/') {
            return Err(HttpError::BadPath {
                reason: "not an absolute path",
            });
        }
        if memchr::memchr(b'%', path).is_none() {
            // Nothing to decode (most paths): no copy.
            return match std::str::from_utf8(path) {
                Ok(path) => UrlPath::normalise(path),
                Err(_) => UrlPath::normalise_bytes(path),
            };
        }
        match String::from_utf8(percent_decode(path)?) {
            Ok(decoded) => UrlPath::normalise(&decoded),
            Err(e) => UrlPath::normalise_bytes(e.as_bytes()),
        }
    }

    /// [`normalise`](Self::normalise) of a decoded path that is not UTF-8:
    /// on Unix its segments keep their bytes (a file name is bytes there);
    /// elsewhere it is refused.
    fn normalise_bytes(decoded: &[u8]) -> Result<UrlPath, HttpError> {
        if !cfg!(unix) {
            return Err(HttpError::BadPath {
                reason: "not utf-8",
            });
        }
        if decoded.contains(&0) {
            return Err(HttpError::BadPath { reason: "nul byte" });
        }
        if decoded.contains(&b'\\') {
            return Err(HttpError::BadPath {
                reason: "backslash",
            });
        }
        let mut rel: Vec<u8> = Vec::with_capacity(decoded.len());
        for seg in decoded.split(|&b| b == b'/') {
            match seg {
                b"" | b"." => {}
                b".." => {
                    if rel.is_empty() {
                        return Err(HttpError::BadPath {
                            reason: "path leaves the root",
                        });
                    }
                    rel.truncate(rel.iter().rposition(|&b| b == b'/').unwrap_or(0));
                }
                s => {
                    if !rel.is_empty() {
                        rel.push(b'/');
                    }
                    rel.extend_from_slice(s);
                }
            }
        }
        let trailing_slash = decoded.ends_with(b"/")
            || decoded.ends_with(b"/.")
            || decoded.ends_with(b"/..")
            || decoded.is_empty()
            || decoded == b"."
            || decoded == b"..";
        // A `..` may have removed the segment that was not UTF-8.
        let (rel, raw) = match String::from_utf8(rel) {
            Ok(rel) => (rel, None),
            Err(e) => {
                let bytes = e.into_bytes();
                (
                    String::from_utf8_lossy(&bytes).into_owned(),
                    Some(bytes.into_boxed_slice()),
                )
            }
        };
        Ok(UrlPath {
            rel,
            raw,
            trailing_slash,
        })
    }

    /// Maps a path that is already percent-decoded — axum's `Path<String>`
    /// or a router's wildcard capture — without decoding it again (so a
    /// file named `100%25.txt` is that name, not `100%.txt`, and `%2e%2e`
    /// is a literal name, never `..`). The leading `/` is optional; a `?`
    /// or `#` is part of a name. The same normalisation and refusals as
    /// [`from_target`](Self::from_target): `.` and empty segments dropped,
    /// `..` removing the segment before it, and an error for a NUL byte, a
    /// backslash or a `..` that would leave the root.
    ///
    /// ```
    /// use producers::http::UrlPath;
    ///
    /// let p = UrlPath::from_decoded("docs/100%25.txt")?;
    /// assert_eq!(p.segments(), ["docs", "100%25.txt"]);
    /// assert_eq!(p.to_url(false), "/docs/100%2525.txt");
    /// assert!(UrlPath::from_decoded("/a/../../etc/passwd").is_err());
    /// # Ok::<(), producers::http::HttpError>(())
    /// ```
    pub fn from_decoded(path: &str) -> Result<UrlPath, HttpError> {
        UrlPath::normalise(path)
    }

    /// The shared half of [`from_target`](Self::from_target) and
    /// [`from_decoded`](Self::from_decoded): a decoded path into segments.
    fn normalise(decoded: &str) -> Result<UrlPath, HttpError> {
        if let Some(p) = UrlPath::simple(decoded) {
            return Ok(p);
        }
        if decoded.contains('\0') {
            return Err(HttpError::BadPath { reason: "nul byte" });
        }
        // A backslash is a separator on Windows: `..\..` would climb there,
        // and nothing on a Unix root needs one in a URL.
        if decoded.contains('\\') {
            return Err(HttpError::BadPath {
                reason: "backslash",
            });
        }
        let mut rel = String::with_capacity(decoded.len());
        for seg in decoded.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    if rel.is_empty() {
                        return Err(HttpError::BadPath {
                            reason: "path leaves the root",
                        });
                    }
                    // Drops the last segment (no segment holds a `/`).
                    rel.truncate(rel.rfind('/').unwrap_or(0));
                }
                s => {
                    if !rel.is_empty() {
                        rel.push('/');
                    }
                    rel.push_str(s);
                }
            }
        }
        let trailing_slash = decoded.ends_with('/')
            || decoded.ends_with("/.")
            || decoded.ends_with("/..")
            || decoded.is_empty()
            || decoded == "."
            || decoded == "..";
        Ok(UrlPath {
            rel,
            raw: None,
            trailing_slash,
        })
    }

    /// The common case in one pass: a path already normal — `/` and a
    /// name, each segment neither empty (but for a final `/`), `.` nor
    /// `..`, no NUL and no backslash — is its own relative form. `None`
    /// for anything else (the general loop decides, errors included).
    fn simple(decoded: &str) -> Option<UrlPath> {
        let body = decoded.strip_prefix('/').unwrap_or(decoded);
        let (body, trailing_slash) = match body.strip_suffix('/') {
            Some(b) => (b, true),
            None => (body, false),
        };
        if body.is_empty() {
            return None;
        }
        // The current segment's length and how many of its bytes are dots:
        // all dots and at most two is an empty, `.` or `..` segment.
        let (mut len, mut dots) = (0usize, 0usize);
        for &b in body.as_bytes() {
            match b {
                b'/' if len == dots && dots <= 2 => return None,
                b'/' => (len, dots) = (0, 0),
                0 | b'\\' => return None,
                b'.' => (len, dots) = (len + 1, dots + 1),
                _ => len += 1,
            }
        }
        if len == dots && dots <= 2 {
            return None;
        }
        Some(UrlPath {
            rel: body.to_owned(),
            raw: None,
            trailing_slash,
        })
    }

    /// The normalised segments (none for the root).
    pub fn segments(&self) -> Vec<&str> {
        self.segments_iter().collect()
    }

    fn segments_iter(&self) -> impl Iterator<Item = &str> {
        self.rel.split('/').filter(|s| !s.is_empty())
    }

    /// The path relative to a root as one string: the segments joined by
    /// `/`, without a leading or trailing `/`, empty for the root
    /// (`/a/./b/` is `a/b`). What [`relative`](Self::relative) holds,
    /// without the copy.
    ///
    /// ```
    /// use producers::http::UrlPath;
    ///
    /// assert_eq!(UrlPath::from_target(b"/a/./b/../c.txt?q")?.relative_str(), "a/c.txt");
    /// assert_eq!(UrlPath::from_target(b"/")?.relative_str(), "");
    /// # Ok::<(), producers::http::HttpError>(())
    /// ```
    ///
    /// For a path with a segment that is not UTF-8 this is its lossy text
    /// (see [`is_utf8`](Self::is_utf8)): two such paths can share it, so
    /// it must not key anything then; [`relative`](Self::relative) has the
    /// bytes.
    pub fn relative_str(&self) -> &str {
        &self.rel
    }

    /// Whether every segment is UTF-8 (always, but on Unix, where a
    /// target may name a file by any bytes).
    pub fn is_utf8(&self) -> bool {
        self.raw.is_none()
    }

    /// The bytes of the relative path: `rel`'s, or the raw ones.
    fn rel_bytes(&self) -> &[u8] {
        self.raw.as_deref().unwrap_or(self.rel.as_bytes())
    }

    /// Whether the path ended with `/`.
    pub fn trailing_slash(&self) -> bool {
        self.trailing_slash
    }

    /// The path relative to a root, with the bytes of every segment.
    pub fn relative(&self) -> PathBuf {
        match &self.raw {
            #[cfg(unix)]
            Some(raw) => PathBuf::from(std::ffi::OsStr::from_bytes(raw)),
            _ => PathBuf::from(&self.rel),
        }
    }

    /// The normalised path as a URL path, percent-encoded, with a leading
    /// `/` and the trailing slash if it had one (or `dir` is true).
    pub fn to_url(&self, dir: bool) -> String {
        let mut s = String::from("/");
        let segments = self.rel_bytes().split(|&b| b == b'/');
        for (i, seg) in segments.filter(|s| !s.is_empty()).enumerate() {
            if i > 0 {
                s.push('/');
            }
            s.push_str(&percent_encode_bytes(seg));
        }
        if (dir || self.trailing_slash) && !self.rel.is_empty() {
            s.push('/');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(t: &str) -> Result<(Vec<String>, bool), HttpError> {
        UrlPath::from_target(t.as_bytes()).map(|p| (owned(&p), p.trailing_slash))
    }

    fn owned(p: &UrlPath) -> Vec<String> {
        p.segments().iter().map(|s| s.to_string()).collect()
    }

    fn ok(v: &[&str], slash: bool) -> Result<(Vec<String>, bool), HttpError> {
        Ok((v.iter().map(|s| s.to_string()).collect(), slash))
    }

    #[test]
    fn normalises() {
        assert_eq!(segs("/"), ok(&[], true));
        assert_eq!(segs("/a/b.txt?x=/../.."), ok(&["a", "b.txt"], false));
        assert_eq!(segs("//a/./b//"), ok(&["a", "b"], true));
        assert_eq!(segs("/a/../b"), ok(&["b"], false));
        assert_eq!(segs("/a/.."), ok(&[], true));
        assert_eq!(segs("/a%20b/%C3%A9"), ok(&["a b", "é"], false));
        assert_eq!(
            segs("/%2e%2E/x").unwrap_err(),
            HttpError::BadPath {
                reason: "path leaves the root"
            }
        );
        assert_eq!(segs("http://host:80/a?b"), ok(&["a"], false));
        assert_eq!(segs("HTTP://host"), ok(&[], true));
    }

    #[test]
    fn decodes_exactly_once() {
        // %252e%252e decodes to the literal name "%2e%2e", not to "..".
        assert_eq!(segs("/%252e%252e/x"), ok(&["%2e%2e", "x"], false));
        // An encoded slash separates segments once decoded; it cannot climb.
        assert_eq!(
            segs("/a%2f..%2f..%2fetc").unwrap_err(),
            HttpError::BadPath {
                reason: "path leaves the root"
            }
        );
    }

    #[test]
    fn refuses_unsafe_paths() {
        let table: &[(&str, &str)] = &[
            ("/..", "path leaves the root"),
            ("/../etc/passwd", "path leaves the root"),
            ("/a/../../b", "path leaves the root"),
            ("/a%00b", "nul byte"),
            ("/a%zz", "bad percent escape"),
            ("/a%2", "bad percent escape"),
            ("/a\\b", "backslash"),
            ("/..%5c..%5cetc", "backslash"),
            ("*", "not an absolute path"),
        ];
        for (t, reason) in table {
            assert_eq!(segs(t).unwrap_err(), HttpError::BadPath { reason }, "{t}");
        }
    }

    /// A Unix file name can be any bytes but NUL and `/`: a segment that is
    /// not UTF-8 keeps its bytes for the file system and the URL (issue 16:
    /// a listing's link to such a file must serve it).
    #[cfg(unix)]
    #[test]
    fn segments_that_are_not_utf8_keep_their_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let p = UrlPath::from_target(b"/d%20x/caf%E9.txt").unwrap();
        assert_eq!(p.segments(), ["d x", "caf\u{fffd}.txt"]);
        assert!(!p.is_utf8());
        assert_eq!(p.relative().as_os_str().as_bytes(), b"d x/caf\xe9.txt");
        assert_eq!(p.to_url(false), "/d%20x/caf%E9.txt");
        // `..` drops a raw segment with its bytes.
        let p = UrlPath::from_target(b"/%FF/../%FE%FF/a/%80/..").unwrap();
        assert_eq!(p.relative().as_os_str().as_bytes(), b"\xfe\xff/a");
        assert_eq!(p.to_url(true), "/%FE%FF/a/");
        // ... and a path left all UTF-8 is an ordinary one.
        let p = UrlPath::from_target(b"/%FF/../a").unwrap();
        assert!(p.is_utf8());
        assert_eq!(p, UrlPath::from_target(b"/a").unwrap());
        // Two names differing only in their invalid bytes stay distinct.
        assert_ne!(
            UrlPath::from_target(b"/%FF").unwrap(),
            UrlPath::from_target(b"/%FE").unwrap()
        );
        // The refusals still apply to the bytes.
        for t in [&b"/%FF%00"[..], b"/%FF%5C..", b"/%FF/../.."] {
            assert!(UrlPath::from_target(t).is_err(), "{t:?}");
        }
        // A raw target that is not UTF-8, undecoded, too.
        let p = UrlPath::from_target(b"/caf\xe9").unwrap();
        assert_eq!(p.relative().as_os_str().as_bytes(), b"caf\xe9");
    }

    #[cfg(not(unix))]
    #[test]
    fn segments_that_are_not_utf8_are_refused() {
        assert_eq!(
            UrlPath::from_target(b"/%ff").unwrap_err(),
            HttpError::BadPath {
                reason: "not utf-8"
            }
        );
    }

    #[test]
    fn decoded_paths_are_not_decoded_again() {
        let d = |t: &str| UrlPath::from_decoded(t).map(|p| (owned(&p), p.trailing_slash));
        let table: &[(&str, &[&str], bool)] = &[
            ("/100%25.txt", &["100%25.txt"], false),
            ("100%.txt", &["100%.txt"], false),
            ("%2e%2e/x", &["%2e%2e", "x"], false),
            ("a b/é", &["a b", "é"], false),
            ("/a?b#c", &["a?b#c"], false),
            ("a/./b//", &["a", "b"], true),
            ("a/../b", &["b"], false),
            ("", &[], true),
            ("/", &[], true),
            ("a/..", &[], true),
        ];
        for (t, want, slash) in table {
            assert_eq!(d(t), ok(want, *slash), "{t}");
        }
        // The same refusals as a raw target.
        let refused: &[(&str, &str)] = &[
            ("..", "path leaves the root"),
            ("/../etc/passwd", "path leaves the root"),
            ("a/../../b", "path leaves the root"),
            ("a\0b", "nul byte"),
            ("..\\..\\etc", "backslash"),
        ];
        for (t, reason) in refused {
            assert_eq!(d(t).unwrap_err(), HttpError::BadPath { reason }, "{t:?}");
        }
        // What a raw target decodes to, from_decoded maps the same way.
        for raw in ["/a%20b/c", "/x/./y/../z/", "/%25"] {
            let decoded = String::from_utf8(percent_decode(raw.as_bytes()).unwrap()).unwrap();
            assert_eq!(
                UrlPath::from_decoded(&decoded),
                UrlPath::from_target(raw.as_bytes()),
                "{raw}"
            );
        }
    }

    #[test]
    fn urls_round_trip() {
        let p = UrlPath::from_target(b"/a%20b/c%3Fd/").unwrap();
        assert_eq!(p.to_url(false), "/a%20b/c%3Fd/");
        assert_eq!(UrlPath::from_target(p.to_url(false).as_bytes()).unwrap(), p);
        assert_eq!(UrlPath::from_target(b"/x").unwrap().to_url(true), "/x/");
        assert_eq!(UrlPath::from_target(b"/").unwrap().to_url(true), "/");
    }

    /// The naive model the one-string form replaced: a vector of owned
    /// segments, `..` popping the last.
    fn naive_segments(decoded: &str) -> Option<Vec<String>> {
        let mut segments: Vec<String> = Vec::new();
        for seg in decoded.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    segments.pop()?;
                }
                s => segments.push(s.to_owned()),
            }
        }
        Some(segments)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        #[test]
        fn the_one_string_form_is_the_naive_segments(t in "[a./é\\\\\0]{0,24}") {
            let got = UrlPath::from_decoded(&t).ok();
            let want = naive_segments(&t).filter(|_| !t.contains(['\0', '\\']));
            // The one-pass form of a simple path is the general loop's.
            if let Some(p) = UrlPath::simple(&t) {
                let mut general = t.clone();
                general.insert_str(0, "/./");
                let general = UrlPath::from_decoded(&general).ok();
                proptest::prop_assert_eq!(Some(p), general);
            }
            proptest::prop_assert_eq!(got.as_ref().map(owned), want.clone(), "{:?}", t);
            if let (Some(p), Some(w)) = (got, want) {
                proptest::prop_assert_eq!(p.relative_str(), w.join("/"));
                proptest::prop_assert_eq!(p.relative(), w.iter().collect::<PathBuf>());
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn never_leaves_the_root(t in "/[a-z./%2eEfF]{0,30}") {
            if let Ok(p) = UrlPath::from_target(t.as_bytes()) {
                for s in p.segments() {
                    proptest::prop_assert!(s != ".." && s != "." && !s.is_empty() && !s.contains('/'));
                }
            }
        }
    }
}
