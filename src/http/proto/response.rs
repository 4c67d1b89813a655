//! [`ResponseHead`]: the status line and header fields of a response,
//! built into one buffer.

use std::cell::Cell;

use bytes::{Bytes, BytesMut};

use super::date::with_now_http_date;
use super::digits::Digits;
use super::header_block::{HeaderBlock, splits};
use super::status::Status;

/// Heads are written into a per-thread arena block this big and split off
/// it as [`Bytes`], so building a head costs no allocation of its own: one
/// block serves a dozen heads, and once every head split off it has been
/// sent, the next head reuses the block in place. A head still queued for
/// a slow client pins its block, at most this many bytes.
const HEAD_ARENA: usize = 4096;

/// The room a head is started with (a file's head is about 300 bytes); a
/// larger head grows like any buffer.
const HEAD_ROOM: usize = 512;

thread_local! {
    /// The free room of this thread's arena block; `None` while a head
    /// under construction holds it (a second head then starts a block of
    /// its own).
    static ARENA: Cell<Option<BytesMut>> = const { Cell::new(None) };
}

/// Room for a head, from this thread's arena.
fn take_room() -> BytesMut {
    let mut room = ARENA.take().unwrap_or_default();
    if room.capacity() < HEAD_ROOM {
        if room.capacity() == 0 {
            room = BytesMut::with_capacity(HEAD_ARENA);
        } else {
            // Reuses the block in place when no head split off it is alive
            // any more, else starts another of the block's size.
            room.reserve(HEAD_ROOM);
        }
    }
    room
}

/// Gives `room` back to this thread's arena, unless a head finished in
/// the meantime left more.
fn give_back(room: BytesMut) {
    let keep = match ARENA.take() {
        Some(other) if other.capacity() >= room.capacity() => other,
        _ => room,
    };
    ARENA.set(Some(keep));
}

/// A response head under construction: `HTTP/1.1` status line, header
/// fields in the order added, then the empty line ([`finish`](Self::finish)).
///
/// The server always answers `HTTP/1.1`, also to HTTP/1.0 clients (RFC 9110
/// section 6.2: the highest version the server supports), applying 1.0's
/// connection rules to them.
///
/// Building a head allocates nothing of its own and uses no `core::fmt`:
/// the status line is a static string, numbers are written digit by digit,
/// and the bytes go into a per-thread arena from which the finished head is
/// split off (issue 14).
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
        let mut buf = take_room();
        match status.line() {
            Some(line) => buf.extend_from_slice(line.as_bytes()),
            None => {
                buf.extend_from_slice(b"HTTP/1.1 ");
                buf.extend_from_slice(Digits::decimal(status.code().into()).as_bytes());
                buf.extend_from_slice(b" ");
                buf.extend_from_slice(status.reason().as_bytes());
                buf.extend_from_slice(b"\r\n");
            }
        }
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

    /// Adds a header field whose value is a number, in decimal.
    pub fn header_u64(mut self, name: &str, value: u64) -> ResponseHead {
        self.add_u64(name, value);
        self
    }

    /// Adds a header field in place (see [`header`](Self::header)).
    pub fn add(&mut self, name: &str, value: &[u8]) {
        if splits(name.as_bytes()) || splits(value) {
            return;
        }
        self.put(name.as_bytes(), value);
    }

    /// Adds a header field whose value is a number, in decimal, in place
    /// (see [`header_u64`](Self::header_u64)).
    pub fn add_u64(&mut self, name: &str, value: u64) {
        if splits(name.as_bytes()) {
            return;
        }
        self.put(name.as_bytes(), Digits::decimal(value).as_bytes());
    }

    /// Adds the fields of `block` (see [`add_block`](Self::add_block)).
    pub fn block(mut self, block: &HeaderBlock) -> ResponseHead {
        self.add_block(block);
        self
    }

    /// Adds the fields of `block`, checked when it was built, with one
    /// copy.
    pub fn add_block(&mut self, block: &HeaderBlock) {
        self.buf.extend_from_slice(block.as_bytes());
    }

    /// Adds `Date` with the current time, from the per-thread cache
    /// formatted once a second: one copy of a whole line.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn add_date(&mut self) {
        with_now_http_date(|date| {
            let mut line = *b"Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n";
            line[6..6 + date.len()].copy_from_slice(date);
            self.buf.extend_from_slice(&line);
        });
    }

    /// Writes a field checked by the caller.
    fn put(&mut self, name: &[u8], value: &[u8]) {
        self.buf.reserve(name.len() + value.len() + 4);
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(b": ");
        self.buf.extend_from_slice(value);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Ends the head with the empty line.
    pub fn finish(mut self) -> Bytes {
        self.buf.extend_from_slice(b"\r\n");
        let head = self.buf.split().freeze();
        give_back(self.buf);
        head
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    /// The naive reference: the builder as it was before issue 14, with
    /// `core::fmt` and a buffer per head.
    fn by_fmt(status: Status, fields: &[(&str, Value<'_>)]) -> Vec<u8> {
        let mut s = format!("HTTP/1.1 {} {}\r\n", status.code(), status.reason());
        for (name, value) in fields {
            let value = match value {
                Value::Text(v) => v.to_string(),
                Value::Number(n) => n.to_string(),
            };
            if !(name.contains(['\r', '\n', '\0']) || value.contains(['\r', '\n', '\0'])) {
                let _ = write!(s, "{name}: {value}\r\n");
            }
        }
        s.push_str("\r\n");
        s.into_bytes()
    }

    enum Value<'a> {
        Text(&'a str),
        Number(u64),
    }

    fn build(status: Status, fields: &[(&str, Value<'_>)]) -> Bytes {
        let mut head = ResponseHead::new(status);
        for (name, value) in fields {
            match value {
                Value::Text(v) => head.add(name, v.as_bytes()),
                Value::Number(n) => head.add_u64(name, *n),
            }
        }
        head.finish()
    }

    #[test]
    fn heads_are_the_bytes_the_fmt_builder_made() {
        use Value::{Number, Text};
        let long = "x".repeat(5000);
        let table: Vec<(Status, Vec<(&str, Value<'_>)>)> = vec![
            (Status::OK, vec![]),
            (
                Status::OK,
                vec![
                    ("ETag", Text("\"400-17f0a1b2c3d4e5f6\"")),
                    ("Last-Modified", Text("Sun, 06 Nov 1994 08:49:37 GMT")),
                    ("Content-Type", Text("text/plain; charset=utf-8")),
                    ("Accept-Ranges", Text("bytes")),
                    ("Content-Length", Number(1024)),
                    ("Server", Text("producers")),
                ],
            ),
            (Status::NOT_MODIFIED, vec![("Content-Length", Number(0))]),
            (Status::PARTIAL_CONTENT, vec![("Content-Length", Number(9))]),
            (Status::NOT_FOUND, vec![("Content-Length", Number(10))]),
            (Status::OK, vec![("X-Max", Number(u64::MAX))]),
            (Status::from_code(299).unwrap(), vec![("A", Text("b"))]),
            (Status::from_code(999).unwrap(), vec![]),
            (
                Status::SERVICE_UNAVAILABLE,
                vec![("Retry-After", Number(1))],
            ),
            (
                Status::MOVED_PERMANENTLY,
                vec![("Location", Text("/a\r\nX: y")), ("Bad\0", Number(3))],
            ),
            (Status::OK, vec![("Empty", Text("")), ("Big", Text(&long))]),
        ];
        for (status, fields) in &table {
            assert_eq!(
                &build(*status, fields)[..],
                &by_fmt(*status, fields)[..],
                "{status}"
            );
        }
    }

    #[test]
    fn heads_stay_intact_while_the_arena_is_reused() {
        // Heads kept alive across many arena blocks, others dropped at
        // once (their block is reused in place), two under construction
        // at the same time, and heads larger than a block.
        let mut kept = Vec::new();
        for i in 0..2000u64 {
            let mut a = ResponseHead::new(Status::OK);
            let mut b = ResponseHead::new(Status::NOT_FOUND);
            a.add_u64("N", i);
            b.add("Big", "y".repeat((i % 7 * 1000) as usize).as_bytes());
            let (a, b) = (a.finish(), b.finish());
            assert_eq!(
                &a[..],
                format!("HTTP/1.1 200 OK\r\nN: {i}\r\n\r\n").as_bytes()
            );
            assert!(b.ends_with(b"\r\n\r\n") && b.starts_with(b"HTTP/1.1 404"));
            if i % 13 == 0 {
                kept.push((i, a));
            }
        }
        for (i, a) in kept {
            assert_eq!(
                &a[..],
                format!("HTTP/1.1 200 OK\r\nN: {i}\r\n\r\n").as_bytes()
            );
        }
    }

    #[test]
    fn the_date_field_is_an_imf_fixdate() {
        let mut head = ResponseHead::new(Status::OK);
        head.add_date();
        let head = head.finish();
        let date = &head[b"HTTP/1.1 200 OK\r\nDate: ".len()..head.len() - 4];
        assert!(crate::http::parse_http_date(date).is_some(), "{head:?}");
    }

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
