//! [`HeaderBlock`]: header fields formatted and checked once, appended to
//! many response heads with one copy.

use super::digits::Digits;

/// Whether `bytes` holds CR, LF or NUL, which would split a response.
pub(crate) fn splits(bytes: &[u8]) -> bool {
    // No early exit: the loop vectorises, and values are short.
    bytes.iter().fold(false, |any, &b| {
        any | (b == b'\r') | (b == b'\n') | (b == 0)
    })
}

/// A run of header field lines, each `name: value\r\n`, formatted and
/// checked once and appended to any number of response heads with one copy
/// ([`ResponseHead::add_block`](super::ResponseHead::add_block)): the
/// fields every response of a server carries, or the validators, type and
/// length of a cached file (issue 14).
///
/// A name or value holding CR, LF or NUL is dropped, as
/// [`ResponseHead::add`](super::ResponseHead::add) drops it.
///
/// ```
/// use producers::http::{HeaderBlock, ResponseHead, Status};
///
/// let common = HeaderBlock::new()
///     .field("Server", "producers")
///     .field("X-Content-Type-Options", "nosniff");
/// let head = ResponseHead::new(Status::OK)
///     .header_u64("Content-Length", 5)
///     .block(&common)
///     .finish();
/// assert_eq!(
///     &head[..],
///     b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: producers\r\nX-Content-Type-Options: nosniff\r\n\r\n"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderBlock {
    /// Whole field lines, CRLF included; never a line with CR, LF or NUL
    /// inside its name or value.
    lines: Vec<u8>,
}

impl HeaderBlock {
    /// An empty block.
    pub fn new() -> HeaderBlock {
        HeaderBlock::default()
    }

    /// Adds a field (dropped if its name or value holds CR, LF or NUL).
    pub fn field(mut self, name: &str, value: impl AsRef<[u8]>) -> HeaderBlock {
        self.add(name, value.as_ref());
        self
    }

    /// Adds a field whose value is a number, in decimal.
    pub fn field_u64(mut self, name: &str, value: u64) -> HeaderBlock {
        self.add_u64(name, value);
        self
    }

    /// Adds a field in place (see [`field`](Self::field)).
    pub fn add(&mut self, name: &str, value: &[u8]) {
        if !splits(name.as_bytes()) && !splits(value) {
            self.put(name.as_bytes(), value);
        }
    }

    /// Adds a field whose value is a number, in place.
    pub fn add_u64(&mut self, name: &str, value: u64) {
        if !splits(name.as_bytes()) {
            self.put(name.as_bytes(), Digits::decimal(value).as_bytes());
        }
    }

    fn put(&mut self, name: &[u8], value: &[u8]) {
        self.lines.reserve(name.len() + value.len() + 4);
        self.lines.extend_from_slice(name);
        self.lines.extend_from_slice(b": ");
        self.lines.extend_from_slice(value);
        self.lines.extend_from_slice(b"\r\n");
    }

    /// The field lines as sent, each ending with CRLF.
    pub fn as_bytes(&self) -> &[u8] {
        &self.lines
    }

    /// Whether no field was added.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ResponseHead, Status};
    use super::*;

    #[test]
    fn a_block_is_the_fields_added_one_by_one() {
        let block = HeaderBlock::new()
            .field("ETag", "\"1-2\"")
            .field("Bad", "a\r\nInjected: 1")
            .field("Bad\n", "x")
            .field_u64("Content-Length", 0)
            .field_u64("X-Max", u64::MAX)
            .field("Empty", "");
        let by_block = ResponseHead::new(Status::OK)
            .header("A", "1")
            .block(&block)
            .finish();
        let one_by_one = ResponseHead::new(Status::OK)
            .header("A", "1")
            .header("ETag", "\"1-2\"")
            .header("Bad", "a\r\nInjected: 1")
            .header("Bad\n", "x")
            .header_u64("Content-Length", 0)
            .header_u64("X-Max", u64::MAX)
            .header("Empty", "")
            .finish();
        assert_eq!(by_block, one_by_one);
        assert_eq!(
            block.as_bytes(),
            b"ETag: \"1-2\"\r\nContent-Length: 0\r\nX-Max: 18446744073709551615\r\nEmpty: \r\n"
        );
        assert!(HeaderBlock::new().field("X\r", "y").is_empty());
    }
}
