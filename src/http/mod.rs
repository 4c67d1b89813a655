//! An HTTP/1.1 file server on the reactor: Medusa's `http_server` done
//! right (feature `http`).
//!
//! The sans-I/O pieces stand on their own and are tested byte by byte:
//!
//! - [`HeadScanner`] finds the end of a request head in a growing buffer,
//!   enforcing [`HeadLimits`] as bytes arrive; [`RequestHead::parse`]
//!   parses it strictly (RFC 9112) and works out the body's
//!   [`BodyFraming`], refusing `Content-Length` with `Transfer-Encoding`.
//! - [`ResponseHead`] builds a status line and header fields.
//! - [`UrlPath`] turns a target into a safe relative path: percent-decoded
//!   once, normalised, never above the root, symbolic links checked.
//! - [`Validators`] and [`ByteRange`]: `ETag`, `Last-Modified`, 412s
//!   (`If-Match`, `If-Unmodified-Since`), 304s, single byte ranges (206,
//!   416).
//! - [`HttpError`]: every failure as a typed value with its [`Status`].
//!
//! [`Server`] puts them on a [`Reactor`](crate::reactor::Reactor): one
//! consumer per connection parses requests from the consumer FIFO (head,
//! then the body by count or by the strict chunked decoder, then the next
//! request), and each response is a producer pipeline — a file region for
//! `sendfile`, or `file → gzip → glob → chunked`.
//!
//! ```no_run
//! use producers::http::{Server, ServerConfig};
//! use producers::reactor::Reactor;
//!
//! let mut reactor = Reactor::new()?;
//! let server = Server::new(ServerConfig::new("."))?;
//! let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
//! server.listen(&mut reactor, listener)?;
//! reactor.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```

// Three layers, dependencies pointing one way (server → files → proto):
// the sans-I/O protocol, file serving (which uses only the protocol), and
// the server on the reactor (which uses both). See ARCHITECTURE.md.
mod files;
mod proto;
mod server;

pub use files::listing::{html_escape, listing_html};
pub use files::mime::{DEFAULT_CONTENT_TYPE, content_type, is_compressible};
pub use proto::{
    BodyFraming, ByteRange, DEFAULT_MAX_HEAD, DEFAULT_MAX_HEADERS, DEFAULT_MAX_LINE, HeadLimits,
    HeadScanner, Header, HttpError, Method, RequestHead, ResponseHead, Status, UrlPath, Validators,
    Version, format_http_date, now_http_date, parse_http_date, percent_decode,
    percent_encode_segment,
};
pub use server::Server;
pub use server::access_log::AccessLogEntry;
pub use server::config::{
    DEFAULT_GLOB, DEFAULT_GZIP_LEVEL, DEFAULT_GZIP_THRESHOLD, DEFAULT_GZIP_WINDOW_BITS,
    DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_INPUT_BUDGET, DEFAULT_MAX_BODY,
    DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_LISTING, DEFAULT_MAX_OPEN_FILES, DEFAULT_MIN_BODY_RATE,
    DEFAULT_OUTPUT_BUDGET, DEFAULT_SENDFILE_MIN, MinDataRate, ServerConfig,
};
