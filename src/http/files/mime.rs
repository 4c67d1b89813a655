//! Content types by file extension, and which of them are worth
//! compressing.

use std::path::Path;

/// The type sent for an unknown extension.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Extension (lowercase) to content type.
const TYPES: &[(&str, &str)] = &[
    ("html", "text/html; charset=utf-8"),
    ("htm", "text/html; charset=utf-8"),
    ("txt", "text/plain; charset=utf-8"),
    ("text", "text/plain; charset=utf-8"),
    ("md", "text/markdown; charset=utf-8"),
    ("rs", "text/plain; charset=utf-8"),
    ("toml", "text/plain; charset=utf-8"),
    ("log", "text/plain; charset=utf-8"),
    ("css", "text/css; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("js", "text/javascript; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("json", "application/json"),
    ("xml", "application/xml"),
    ("wasm", "application/wasm"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tar", "application/x-tar"),
    ("svg", "image/svg+xml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("ico", "image/x-icon"),
    ("avif", "image/avif"),
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("wav", "audio/wav"),
    ("mp4", "video/mp4"),
    ("webm", "video/webm"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
];

/// The content type for `path` by its extension (case-insensitive), or
/// [`DEFAULT_CONTENT_TYPE`].
pub fn content_type(path: &Path) -> &'static str {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return DEFAULT_CONTENT_TYPE;
    };
    TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map_or(DEFAULT_CONTENT_TYPE, |(_, t)| t)
}

/// Whether content of type `ty` usually shrinks under gzip: text, JSON,
/// XML, JavaScript, SVG and WebAssembly; not images, audio, video, fonts
/// in compressed formats, or archives.
pub fn is_compressible(ty: &str) -> bool {
    let base = ty.split(';').next().unwrap_or("").trim();
    base.starts_with("text/")
        || matches!(
            base,
            "application/json" | "application/xml" | "application/wasm" | "image/svg+xml"
        )
        || base.ends_with("+json")
        || base.ends_with("+xml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_by_extension() {
        assert_eq!(
            content_type(Path::new("a/b.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x.png")), "image/png");
        assert_eq!(content_type(Path::new("x.unknown")), DEFAULT_CONTENT_TYPE);
        assert_eq!(content_type(Path::new("Makefile")), DEFAULT_CONTENT_TYPE);
        assert_eq!(content_type(Path::new(".txt")), DEFAULT_CONTENT_TYPE);
    }

    #[test]
    fn compressible_types() {
        for t in [
            "text/plain; charset=utf-8",
            "application/json",
            "image/svg+xml",
            "application/ld+json",
        ] {
            assert!(is_compressible(t), "{t}");
        }
        for t in [
            "image/png",
            "application/gzip",
            "application/octet-stream",
            "video/mp4",
        ] {
            assert!(!is_compressible(t), "{t}");
        }
    }
}
