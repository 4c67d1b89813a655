//! [`MultipartLimits`]: the caps on what a multipart body may hold.

/// The default cap on a part's header block: 8 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 8 * 1024;
/// The default cap on a part's header fields: 16.
pub const DEFAULT_MAX_HEADERS: usize = 16;
/// The default cap on the parts of a body: 1000 (Go's
/// `ParseMultipartForm` default).
pub const DEFAULT_MAX_PARTS: usize = 1000;
/// The default cap on one part's body: 64 MiB.
pub const DEFAULT_MAX_PART_BYTES: u64 = 64 << 20;
/// The default cap on the whole multipart body (preamble, framing, parts
/// and epilogue): 64 MiB.
pub const DEFAULT_MAX_TOTAL: u64 = 64 << 20;

/// The caps on a multipart body, each with its own error.
///
/// | cap | default | error |
/// |---|---|---|
/// | [`max_header_bytes`](Self::max_header_bytes()) | [`DEFAULT_MAX_HEADER_BYTES`] | [`HeadersTooLarge`](super::MultipartError::HeadersTooLarge) |
/// | [`max_headers`](Self::max_headers()) | [`DEFAULT_MAX_HEADERS`] | [`TooManyHeaders`](super::MultipartError::TooManyHeaders) |
/// | [`max_parts`](Self::max_parts()) | [`DEFAULT_MAX_PARTS`] | [`TooManyParts`](super::MultipartError::TooManyParts) |
/// | [`max_part_bytes`](Self::max_part_bytes()) | [`DEFAULT_MAX_PART_BYTES`] | [`PartTooLarge`](super::MultipartError::PartTooLarge) |
/// | [`max_total`](Self::max_total()) | [`DEFAULT_MAX_TOTAL`] | [`TooLarge`](super::MultipartError::TooLarge) |
///
/// Only a header block is ever buffered whole (at most `max_header_bytes`
/// plus its delimiter); part bodies are streamed, so the two size caps
/// bound what a receiver stores, not the parser's memory. After any error
/// the parser stops: the body is refused, never resynchronised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultipartLimits {
    /// Most bytes in a part's header block (the fields, their CRLFs but
    /// the last blank line's).
    pub max_header_bytes: usize,
    /// Most header fields in a part.
    pub max_headers: usize,
    /// Most parts in a body.
    pub max_parts: usize,
    /// Most bytes in one part's body.
    pub max_part_bytes: u64,
    /// Most bytes in the whole multipart body.
    pub max_total: u64,
}

impl Default for MultipartLimits {
    fn default() -> Self {
        MultipartLimits {
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            max_parts: DEFAULT_MAX_PARTS,
            max_part_bytes: DEFAULT_MAX_PART_BYTES,
            max_total: DEFAULT_MAX_TOTAL,
        }
    }
}

impl MultipartLimits {
    /// Sets [`max_header_bytes`](Self::max_header_bytes()).
    pub fn max_header_bytes(mut self, n: usize) -> Self {
        self.max_header_bytes = n;
        self
    }

    /// Sets [`max_headers`](Self::max_headers()).
    pub fn max_headers(mut self, n: usize) -> Self {
        self.max_headers = n;
        self
    }

    /// Sets [`max_parts`](Self::max_parts()).
    pub fn max_parts(mut self, n: usize) -> Self {
        self.max_parts = n;
        self
    }

    /// Sets [`max_part_bytes`](Self::max_part_bytes()).
    pub fn max_part_bytes(mut self, n: u64) -> Self {
        self.max_part_bytes = n;
        self
    }

    /// Sets [`max_total`](Self::max_total()).
    pub fn max_total(mut self, n: u64) -> Self {
        self.max_total = n;
        self
    }
}
