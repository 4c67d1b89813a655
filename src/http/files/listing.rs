//! Directory listings as HTML.

use std::fs;
use std::io;
use std::path::Path;

use crate::http::proto::percent_encode_segment;

/// Escapes `s` for HTML text and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
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
    out
}

/// An HTML page listing directory `dir`, shown as `url_path` (the
/// directory's URL, ending with `/`): one link per entry, directories
/// first with a trailing `/`, names escaped and links percent-encoded;
/// names that are not UTF-8 are left out. At most `max_entries` entries
/// are listed.
pub fn listing_html(dir: &Path, url_path: &str, max_entries: usize) -> io::Result<String> {
    let mut entries: Vec<(bool, String)> = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false)
            || fs::metadata(entry.path())
                .map(|m| m.is_dir())
                .unwrap_or(false);
        entries.push((!is_dir, name));
        if entries.len() == max_entries {
            break;
        }
    }
    entries.sort();
    let title = html_escape(url_path);
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title></head>\n<body><h1>Index of {title}</h1>\n<ul>\n"
    );
    if url_path != "/" {
        out.push_str("<li><a href=\"../\">../</a></li>\n");
    }
    for (is_file, name) in &entries {
        let slash = if *is_file { "" } else { "/" };
        out.push_str(&format!(
            "<li><a href=\"{}{slash}\">{}{slash}</a></li>\n",
            html_escape(&percent_encode_segment(name)),
            html_escape(name)
        ));
    }
    out.push_str("</ul></body></html>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            html_escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn lists_a_directory() {
        let dir = std::env::temp_dir().join(format!("producers-listing-{}", std::process::id()));
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("b <x>.txt"), b"").unwrap();
        fs::write(dir.join("a.txt"), b"").unwrap();
        let html = listing_html(&dir, "/d/", 100).unwrap();
        let a = html.find("a.txt").unwrap();
        let b = html.find("b%20%3Cx%3E.txt\">b &lt;x&gt;.txt</a>").unwrap();
        let sub = html.find("<a href=\"sub/\">sub/</a>").unwrap();
        assert!(sub < a && a < b, "{html}");
        assert!(html.contains("<a href=\"../\">"));
        assert_eq!(
            listing_html(&dir, "/d/", 1)
                .unwrap()
                .matches("<li>")
                .count(),
            2
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
