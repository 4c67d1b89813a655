//! Directory listings as HTML: the page a person sees in a browser when a
//! directory has no `index.html` (issue 16; nginx's `autoindex` and
//! miniserve are the anchors).
//!
//! What the page shows is listed on [`listing_html`].
//!
//! Only `std` and the protocol helpers: compiled with `http-body` too.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use crate::http::proto::date::civil_from_days;
use crate::http::proto::path::percent_encode_bytes;
use crate::http::proto::percent_decode;

/// Escapes `s` for HTML text and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

/// [`html_escape`] appending to `out`.
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// What a listing shows beyond the entries themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListingOptions {
    /// List names beginning with `.` (default: no).
    pub show_hidden: bool,
    /// Add a form uploading files to the directory (default: no): a
    /// `multipart/form-data` POST to the directory's URL, field `file`.
    pub upload_form: bool,
    /// Most entries listed (default 10,000); the rest, after sorting, are
    /// counted in a line saying how many were left out.
    pub max_entries: usize,
}

impl Default for ListingOptions {
    fn default() -> ListingOptions {
        ListingOptions {
            show_hidden: false,
            upload_form: false,
            max_entries: 10_000,
        }
    }
}

/// One entry as sorted: its place in the page is `(!is_dir, key, name)`.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    /// A directory, or a symbolic link to one.
    is_dir: bool,
    /// The case-insensitive sort key: the shown name, lowercased.
    key: String,
    /// The name's bytes (a tie-break, and the link).
    name: Vec<u8>,
    /// The entry itself is a symbolic link.
    link: bool,
}

impl Ord for Entry {
    fn cmp(&self, other: &Entry) -> Ordering {
        (!self.is_dir, &self.key, &self.name).cmp(&(!other.is_dir, &other.key, &other.name))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The bytes of a file name (lossy where names are not bytes).
fn name_bytes(name: OsString) -> Vec<u8> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStringExt::into_vec(name)
    }
    #[cfg(not(unix))]
    {
        name.to_string_lossy().into_owned().into_bytes()
    }
}

/// A file name from its bytes.
fn name_os(name: &[u8]) -> OsString {
    #[cfg(unix)]
    {
        <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name).to_owned()
    }
    #[cfg(not(unix))]
    {
        OsString::from(String::from_utf8_lossy(name).into_owned())
    }
}

/// A name as shown: UTF-8 as is, except that every byte of an invalid
/// sequence and every ASCII control character is shown as `\xNN` (a
/// newline or an escape in a name would otherwise be invisible or worse).
pub(crate) fn display_name(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_ascii_control() {
                let _ = write!(out, "\\x{:02X}", c as u32);
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// A size for a person: bytes under 1 KiB, then KiB, MiB… with one
/// decimal under 10 and none above (`512 B`, `1.5 KiB`, `34 MiB`).
pub(crate) fn human_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    // 1023.6 KiB would print as "1024 KiB": move up a unit instead.
    while v >= 1023.5 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if v < 9.95 {
        format!("{v:.1} {}", UNITS[unit])
    } else {
        format!("{v:.0} {}", UNITS[unit])
    }
}

/// A time in UTC to the minute, `2026-12-01 18:00` (earlier than 1970
/// too).
pub(crate) fn format_mtime(t: SystemTime) -> String {
    let secs: i64 = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        // Before the epoch: round toward the past, as the clock does.
        Err(e) => {
            let d = e.duration();
            -(d.as_secs() as i64) - i64::from(d.subsec_nanos() > 0)
        }
    };
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", s / 3600, s % 3600 / 60)
}

/// The entries of `dir` a listing shows: the first `max` in the page's
/// order, sorted, and how many others were left out (hidden names, when
/// not shown, are not counted).
fn read_entries(dir: &Path, options: &ListingOptions) -> io::Result<(Vec<Entry>, u64)> {
    // A max-heap of the smallest `max` entries seen: each new one either
    // replaces the largest kept or is left out.
    let mut kept: BinaryHeap<Entry> = BinaryHeap::new();
    let mut left_out = 0u64;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = name_bytes(entry.file_name());
        if name.first() == Some(&b'.') && !options.show_hidden {
            continue;
        }
        // The entry's own type (from `getdents`, no link followed)…
        let link = entry.file_type().is_ok_and(|t| t.is_symlink());
        // …and, for a link, the kind of what it points to.
        let is_dir = if link {
            fs::metadata(entry.path()).is_ok_and(|m| m.is_dir())
        } else {
            entry.file_type().is_ok_and(|t| t.is_dir())
        };
        let e = Entry {
            is_dir,
            key: display_name(&name).to_lowercase(),
            name,
            link,
        };
        if kept.len() < options.max_entries {
            kept.push(e);
        } else {
            left_out += 1;
            match kept.peek_mut() {
                Some(mut largest) if e < *largest => *largest = e,
                _ => {}
            }
        }
    }
    Ok((kept.into_sorted_vec(), left_out))
}

/// The inline style sheet: readable on a phone and a wide screen, sizes
/// and times in tabular figures, the time column dropped when narrow.
const STYLE: &str = "body{font:15px/1.4 system-ui,sans-serif;margin:1em auto;max-width:60em;padding:0 .5em;color:#222;background:#fff}\
h1{font-size:1.2em;word-break:break-all}\
table{border-collapse:collapse;width:100%}\
th,td{padding:.25em .5em;text-align:left}\
th{border-bottom:1px solid #ccc}\
td:first-child{word-break:break-all}\
td:nth-child(n+2),th:nth-child(n+2){text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\
tr:nth-child(even){background:#f4f4f4}\
a{color:#0645ad;text-decoration:none}a:hover{text-decoration:underline}\
tr.d a{font-weight:600}tr.l a::after{content:\" \\2192\";color:#888}\
.more{color:#a00}form{margin:.5em 0}\
@media (max-width:30em){td:nth-child(3),th:nth-child(3){display:none}}";

/// An HTML page listing directory `dir`, shown as `url_path` (the
/// directory's URL, percent-encoded, ending with `/`):
///
/// - One row per entry: the name (a link), the size (human-readable, the
///   exact byte count in the cell's `title`) and the modification time in
///   UTC (`2026-12-01 18:00`). Directories show `-` as their size.
/// - Directories first, then the rest; each group in a case-insensitive
///   order of the names, ties broken by the exact bytes, so the order
///   never depends on the order the file system returns.
/// - Names beginning with `.` are left out unless
///   [`ListingOptions::show_hidden`] (they are still served if asked for
///   by name: this is about the page, not access).
/// - At most [`ListingOptions::max_entries`] rows, taken *after* sorting
///   (the first ones in the page's order), and then a line saying how many
///   entries were left out. Only that many entries are held while the
///   directory is read (a bounded heap on the sort key), and only they
///   are `stat`ed; every entry costs a `getdents` record and, for a
///   symbolic link, a `stat`.
/// - A name that is not UTF-8 (a Unix file name is bytes) is shown with
///   each invalid byte as `\xNN`, and so is an ASCII control character;
///   its link percent-encodes the name's bytes, so following it serves
///   that file ([`UrlPath`](crate::http::UrlPath) keeps them).
/// - Symbolic links: an entry is a directory if what it points to is one
///   (so the link ends with `/` and opens as a listing), and its size and
///   time are those of the target, as with nginx; the row is marked as a
///   link (class `l`) from the entry's own type, read without following
///   it. A dangling link is listed as a file without size or time.
/// - A valid HTML5 page, small and self-contained: a viewport meta tag
///   (it reads on a phone), a few lines of inline CSS, no script, no
///   external resource. Names are HTML-escaped; links are percent-encoded
///   per segment and relative to the directory, so a name like `a:b` or
///   `<script>` is only ever a name.
/// - With [`ListingOptions::upload_form`], a form posting
///   `multipart/form-data` (field `file`, several files allowed) to the
///   directory's URL, for a server that accepts uploads.
///
/// Reading the directory fails only if it cannot be opened or read; an
/// entry that disappears before its `stat` is listed without size or
/// time.
///
/// ```
/// use producers::http::{ListingOptions, listing_html};
///
/// let dir = std::env::temp_dir().join(format!("listing-doc-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("Sub"))?;
/// std::fs::write(dir.join("a <b>.txt"), b"hello")?;
/// std::fs::write(dir.join(".hidden"), b"")?;
/// let html = listing_html(&dir, "/files/", &ListingOptions::default())?;
/// assert!(html.contains(r#"<a href="Sub/">Sub/</a>"#));
/// assert!(html.contains(r#"<a href="a%20%3Cb%3E.txt">a &lt;b&gt;.txt</a>"#));
/// assert!(html.contains(r#"title="5 bytes">5 B<"#));
/// assert!(!html.contains(".hidden"));
/// assert!(html.find("Sub/").unwrap() < html.find("a%20").unwrap());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn listing_html(dir: &Path, url_path: &str, options: &ListingOptions) -> io::Result<String> {
    let (entries, left_out) = read_entries(dir, options)?;
    let shown_path = match percent_decode(url_path.as_bytes()) {
        Ok(bytes) => display_name(&bytes),
        Err(_) => url_path.to_owned(),
    };
    let mut out = String::with_capacity(1024 + entries.len() * 128);
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<title>Index of ");
    push_escaped(&mut out, &shown_path);
    let _ = write!(
        out,
        "</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>Index of "
    );
    push_escaped(&mut out, &shown_path);
    out.push_str("</h1>\n");
    if options.upload_form {
        out.push_str("<form method=\"post\" action=\"");
        push_escaped(&mut out, url_path);
        out.push_str(
            "\" enctype=\"multipart/form-data\"><input type=\"file\" name=\"file\" multiple> \
             <button>Upload</button></form>\n",
        );
    }
    out.push_str(
        "<table>\n<thead><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr></thead>\n<tbody>\n",
    );
    if url_path != "/" {
        out.push_str("<tr class=\"d\"><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for e in &entries {
        let path = dir.join(name_os(&e.name));
        // The target's metadata for a link (what following it gets); the
        // entry's own otherwise, never following a link.
        let meta = if e.link {
            fs::metadata(&path)
        } else {
            fs::symlink_metadata(&path)
        };
        let meta = meta.ok();
        let class = match (e.is_dir, e.link) {
            (true, true) => " class=\"d l\"",
            (true, false) => " class=\"d\"",
            (false, true) => " class=\"l\"",
            (false, false) => "",
        };
        let slash = if e.is_dir { "/" } else { "" };
        // Escaped for the attribute too: `&` and `;` stay as they are in a
        // URL, and `a&amp;b` must not become `a&b`.
        let _ = write!(out, "<tr{class}><td><a href=\"");
        push_escaped(&mut out, &percent_encode_bytes(&e.name));
        let _ = write!(out, "{slash}\">");
        push_escaped(&mut out, &display_name(&e.name));
        let _ = write!(out, "{slash}</a></td>");
        match &meta {
            Some(m) if !e.is_dir => {
                let _ = write!(
                    out,
                    "<td title=\"{} bytes\">{}</td>",
                    m.len(),
                    human_size(m.len())
                );
            }
            _ => out.push_str("<td>-</td>"),
        }
        match meta.and_then(|m| m.modified().ok()) {
            Some(t) => {
                let _ = writeln!(out, "<td>{}</td></tr>", format_mtime(t));
            }
            None => out.push_str("<td>-</td></tr>\n"),
        }
    }
    out.push_str("</tbody>\n</table>\n");
    if left_out > 0 {
        let s = if left_out == 1 { "entry" } else { "entries" };
        let _ = writeln!(
            out,
            "<p class=\"more\">{left_out} more {s} left out: a listing shows at most {} entries.</p>",
            options.max_entries
        );
    }
    out.push_str("</body>\n</html>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A fresh directory for one test.
    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("producers-listing-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The link texts of the page, in order (the parent link included).
    fn names(html: &str) -> Vec<String> {
        html.split("<td><a href=\"")
            .skip(1)
            .map(|s| {
                let text = &s[s.find('>').unwrap() + 1..];
                text[..text.find("</a>").unwrap()].to_owned()
            })
            .collect()
    }

    fn options(show_hidden: bool, upload_form: bool, max_entries: usize) -> ListingOptions {
        ListingOptions {
            show_hidden,
            upload_form,
            max_entries,
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(
            html_escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn directories_first_then_case_insensitive_with_a_stable_tie_break() {
        let dir = scratch("order");
        for d in ["zeta", "Alpha", "beta"] {
            fs::create_dir(dir.join(d)).unwrap();
        }
        for f in ["b.txt", "B.txt", "a.txt", "C.txt", "_x", "10", "9"] {
            fs::write(dir.join(f), b"").unwrap();
        }
        let html = listing_html(&dir, "/d/", &ListingOptions::default()).unwrap();
        assert_eq!(
            names(&html),
            [
                "../", "Alpha/", "beta/", "zeta/", "10", "9", "_x", "a.txt", "B.txt", "b.txt",
                "C.txt"
            ],
            "{html}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_cap_applies_after_sorting_and_says_how_many_were_left_out() {
        let dir = scratch("cap");
        // Created in an order unrelated to the sorted one; the directory
        // sorts first whatever `getdents` returns.
        for i in (0..25).rev() {
            fs::write(dir.join(format!("f{:02}", (i * 7) % 25)), b"").unwrap();
        }
        fs::create_dir(dir.join("zz")).unwrap();
        let html = listing_html(&dir, "/", &options(false, false, 5)).unwrap();
        assert_eq!(names(&html), ["zz/", "f00", "f01", "f02", "f03"], "{html}");
        assert!(
            html.contains(
                "<p class=\"more\">21 more entries left out: a listing shows at most 5 entries.</p>"
            ),
            "{html}"
        );
        let html = listing_html(&dir, "/", &options(false, false, 25)).unwrap();
        assert!(html.contains(">1 more entry left out"), "{html}");
        let html = listing_html(&dir, "/", &options(false, false, 26)).unwrap();
        assert!(!html.contains("left out"), "{html}");
        assert_eq!(names(&html).len(), 26);
        let html = listing_html(&dir, "/", &options(false, false, 0)).unwrap();
        assert!(names(&html).is_empty() && html.contains(">26 more entries"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hidden_names_only_when_asked_and_never_counted_as_left_out() {
        let dir = scratch("hidden");
        fs::write(dir.join(".env"), b"secret").unwrap();
        fs::create_dir(dir.join(".git")).unwrap();
        fs::write(dir.join("shown"), b"").unwrap();
        let html = listing_html(&dir, "/", &options(false, false, 1)).unwrap();
        assert_eq!(names(&html), ["shown"]);
        assert!(
            !html.contains(".env") && !html.contains("left out"),
            "{html}"
        );
        let html = listing_html(&dir, "/", &options(true, false, 10)).unwrap();
        assert_eq!(names(&html), [".git/", ".env", "shown"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_are_escaped_and_links_encoded() {
        let dir = scratch("escape");
        fs::write(dir.join("<script>alert(1)"), b"").unwrap();
        fs::write(dir.join("<img src=x onerror=alert(1)>"), b"").unwrap();
        fs::write(dir.join("a:b \"q\" & 'r'#?%.txt"), b"").unwrap();
        fs::write(dir.join("x&amp;y"), b"").unwrap();
        let html = listing_html(&dir, "/x%20y/", &ListingOptions::default()).unwrap();
        assert!(
            !html.contains("<script>") && !html.contains("<img"),
            "{html}"
        );
        assert!(
            html.contains(">&lt;img src=x onerror=alert(1)&gt;</a>"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"%3Cscript%3Ealert(1)\">&lt;script&gt;alert(1)</a>"),
            "{html}"
        );
        // `:` encoded, so the relative link is never read as a scheme.
        assert!(
            html.contains(
                "<a href=\"a%3Ab%20%22q%22%20&amp;%20&#39;r&#39;%23%3F%25.txt\">a:b &quot;q&quot; &amp; &#39;r&#39;#?%.txt</a>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"x&amp;amp;y\">x&amp;amp;y</a>"),
            "{html}"
        );
        // The title shows the decoded path.
        assert!(html.contains("<title>Index of /x y/</title>"), "{html}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn names_that_are_not_utf8_are_shown_escaped_and_linked_by_their_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let dir = scratch("bytes");
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9 \xff.txt");
        fs::write(dir.join(name), b"x").unwrap();
        fs::write(dir.join("tab\there"), b"").unwrap();
        let html = listing_html(&dir, "/", &ListingOptions::default()).unwrap();
        assert!(
            html.contains("<a href=\"caf%E9%20%FF.txt\">caf\\xE9 \\xFF.txt</a>"),
            "{html}"
        );
        assert!(html.contains(">tab\\x09here</a>"), "{html}");
        // The link decodes to a path naming that file.
        let p = crate::http::UrlPath::from_target(b"/caf%E9%20%FF.txt").unwrap();
        assert_eq!(fs::read(dir.join(p.relative())).unwrap(), b"x");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parent_link_except_at_the_root_and_the_page_frame() {
        let dir = scratch("frame");
        let root = listing_html(&dir, "/", &ListingOptions::default()).unwrap();
        assert!(!root.contains("href=\"../\""));
        let sub = listing_html(&dir, "/a/", &ListingOptions::default()).unwrap();
        assert!(sub.contains("<a href=\"../\">../</a>"));
        for needle in [
            "<!doctype html>",
            "<meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>Index of /a/</title>",
            "<style>",
        ] {
            assert!(sub.contains(needle), "{needle}: {sub}");
        }
        assert!(!sub.contains("<script") && !sub.contains("http"), "{sub}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn upload_form_present_only_when_asked() {
        let dir = scratch("form");
        let without = listing_html(&dir, "/up/", &options(false, false, 10)).unwrap();
        assert!(!without.contains("<form"));
        let with = listing_html(&dir, "/up/", &options(false, true, 10)).unwrap();
        assert!(
            with.contains(
                "<form method=\"post\" action=\"/up/\" enctype=\"multipart/form-data\"><input type=\"file\" name=\"file\" multiple> <button>Upload</button></form>"
            ),
            "{with}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_and_times() {
        let table: &[(u64, &str)] = &[
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (10 * 1024 - 1, "10 KiB"),
            (1024 * 1024 - 1, "1.0 MiB"),
            (35_000_000, "33 MiB"),
            (5 << 30, "5.0 GiB"),
            (u64::MAX, "16 EiB"),
        ];
        for (n, want) in table {
            assert_eq!(human_size(*n), *want, "{n}");
        }
        let t = |secs: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(format_mtime(t(0)), "1970-01-01 00:00");
        // 2026-12-01 18:00:59 UTC.
        assert_eq!(format_mtime(t(1_796_148_059)), "2026-12-01 18:00");
        assert_eq!(
            format_mtime(SystemTime::UNIX_EPOCH - Duration::from_millis(1)),
            "1969-12-31 23:59"
        );
        // A file's row shows both, the exact size in the title.
        let dir = scratch("sizes");
        fs::write(dir.join("f"), vec![0u8; 1536]).unwrap();
        let f = fs::File::options().write(true).open(dir.join("f")).unwrap();
        f.set_modified(t(1_796_148_000)).unwrap();
        fs::create_dir(dir.join("d")).unwrap();
        let html = listing_html(&dir, "/", &ListingOptions::default()).unwrap();
        assert!(
            html.contains(
                "<a href=\"f\">f</a></td><td title=\"1536 bytes\">1.5 KiB</td><td>2026-12-01 18:00</td>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"d/\">d/</a></td><td>-</td><td>"),
            "{html}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_take_their_targets_kind() {
        let dir = scratch("links");
        fs::create_dir(dir.join("real")).unwrap();
        fs::write(dir.join("file"), b"abc").unwrap();
        std::os::unix::fs::symlink("real", dir.join("to-dir")).unwrap();
        std::os::unix::fs::symlink("file", dir.join("to-file")).unwrap();
        std::os::unix::fs::symlink("nowhere", dir.join("dangling")).unwrap();
        let html = listing_html(&dir, "/", &ListingOptions::default()).unwrap();
        assert_eq!(
            names(&html),
            ["real/", "to-dir/", "dangling", "file", "to-file"]
        );
        assert!(html.contains("<tr class=\"d l\"><td><a href=\"to-dir/\">"));
        assert!(html.contains(
            "<tr class=\"l\"><td><a href=\"to-file\">to-file</a></td><td title=\"3 bytes\">"
        ));
        assert!(html.contains(
            "<tr class=\"l\"><td><a href=\"dangling\">dangling</a></td><td>-</td><td>-</td>"
        ));
        fs::remove_dir_all(&dir).unwrap();
    }
}
