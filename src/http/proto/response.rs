//! [`ResponseHead`]: the status line and header fields of a response,
//! built into one buffer.

use std::fmt::Write as _;

use bytes::{BufMut, Bytes, BytesMut};

use super::status::Status;

/// A response head under construction: `HTTP/1.1` status line, header
/// fields in the order added, then the empty line ([`finish`](Self::finish)).
///
/// The server always answers `HTTP/1.1`, also to HTTP/1.0 clients (RFC 9110
/// section 6.2: the highest version the server supports), applying 1.0's
/// connection rules to them.
///
/// ```
/// use producers::http::{ResponseHead, Status};
///
/// let head = ResponseHead::new(Status::NOT_FOUND)
///     .header("Content-Length", "9")
///     .header("Connection", "close")
///     .finish();
/// assert_eq!(&head[..], b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct ResponseHead {
    buf: BytesMut,
    status: Status,
}

impl ResponseHead {
    /// Starts a head with `status`.
    pub fn new(status: Status) -> ResponseHead {
        let mut buf = BytesMut::with_capacity(256);
        buf.put_slice(b"HTTP/1.1 ");
        let _ = write!(buf, "{} {}\r\n", status.code(), status.reason());
        ResponseHead { buf, status }
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Adds a header field. A name or value holding CR, LF or NUL is
    /// dropped rather than sent: it would split the response.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> ResponseHead {
        self.add(name, value.as_ref());
        self
    }

    /// Adds a header field whose value is a number.
    pub fn header_u64(mut self, name: &str, value: u64) -> ResponseHead {
        self.buf.put_slice(name.as_bytes());
        let _ = write!(self.buf, ": {value}\r\n");
        self
    }

    /// Adds a header field in place (see [`header`](Self::header)).
    pub fn add(&mut self, name: &str, value: &[u8]) {
        let unsafe_byte = |b: &u8| matches!(b, b'\r' | b'\n' | 0);
        if name.as_bytes().iter().any(unsafe_byte) || value.iter().any(unsafe_byte) {
            return;
        }
        self.buf.reserve(name.len() + value.len() + 4);
        self.buf.put_slice(name.as_bytes());
        self.buf.put_slice(b": ");
        self.buf.put_slice(value);
        self.buf.put_slice(b"\r\n");
    }

    /// Ends the head with the empty line.
    pub fn finish(mut self) -> Bytes {
        self.buf.put_slice(b"\r\n");
        self.buf.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_exact_bytes() {
        let head = ResponseHead::new(Status::OK)
            .header("Content-Type", "text/plain")
            .header_u64("Content-Length", 12345)
            .finish();
        assert_eq!(
            &head[..],
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12345\r\n\r\n"
        );
    }

    #[test]
    fn refuses_response_splitting() {
        let head = ResponseHead::new(Status::MOVED_PERMANENTLY)
            .header("Location", "/a\r\nSet-Cookie: x")
            .header("X\n", "y")
            .header("A", "b\0")
            .finish();
        assert_eq!(&head[..], b"HTTP/1.1 301 Moved Permanently\r\n\r\n");
    }
}
