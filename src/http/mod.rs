//! HTTP: the sans-I/O protocol helpers (features `http` or `http-body`)
//! and an HTTP/1.1 file server on the reactor, Medusa's `http_server` done
//! right (feature `http`).
//!
//! # The helpers, for any server
//!
//! With `http-body` alone (no reactor, no gzip) the decisions a file
//! server makes are available to hyper and axum handlers, over the `http`
//! crate's types, and the crate's own server runs the very same code:
//!
//! - [`answer`]: what a GET or HEAD gets — 412, 304, 206 with
//!   [`ByteRanges`], 416, or everything ([`Answer`]) — from any
//!   [`HeaderSource`] (`http::HeaderMap`, [`RequestHead`]) and any
//!   [`RequestMethod`] (`http::Method`, [`Method`]), in RFC 9110 section
//!   13.2.2's order, against a [`Representation`] (its `ETag`,
//!   `Last-Modified` and length; [`Validators`] makes them for a file).
//! - [`ByteRanges`]: single and multiple ranges, suffixes, open ranges,
//!   coalescing, the caps ([`RangeLimits`]) and why a range is ignored or
//!   unsatisfiable ([`RangeError`]); [`MultipartRanges`] frames several
//!   ranges as `multipart/byteranges` with its exact length;
//!   [`ByteRange::content_range`] and [`unsatisfied_range`] make the
//!   `Content-Range` values.
//! - [`negotiate_encoding`]: `Accept-Encoding` with q-values.
//! - [`UrlPath`]: a raw target ([`UrlPath::from_target`]: percent-decoded
//!   once) or a path a router already decoded ([`UrlPath::from_decoded`]),
//!   normalised, never above the root; [`Root`] makes a served directory
//!   canonical once (so `.` or a symbolic link works) and
//!   [`UrlPath::resolve`] finds a path under it, symbolic links checked.
//! - [`content_type`], [`is_compressible`], [`listing_html`] (with
//!   [`ListingOptions`]).
//!
//! ```
//! # #[cfg(feature = "http-body")] {
//! use http::{HeaderMap, Method};
//! use producers::http::{Answer, RangeLimits, Representation, answer};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("range", "bytes=0-1,5-9".parse().unwrap());
//! let rep = Representation { etag: Some("\"v1\""), last_modified: None, len: Some(100) };
//! match answer(&Method::GET, &headers, &rep, &RangeLimits::default()) {
//!     Answer::Partial(ranges) => assert_eq!(ranges.as_slice().len(), 2),
//!     other => panic!("{other:?}"),
//! }
//! # }
//! ```
//!
//! # The server (feature `http`)
//!
//! The other sans-I/O pieces stand on their own and are tested byte by
//! byte: [`HeadScanner`] finds the end of a request head in a growing
//! buffer, enforcing [`HeadLimits`] as bytes arrive; [`RequestHead::parse`]
//! parses it strictly (RFC 9112) and works out the body's [`BodyFraming`],
//! refusing `Content-Length` with `Transfer-Encoding`; [`ResponseHead`]
//! builds a status line and header fields; [`HttpError`] is every failure
//! as a typed value with its [`Status`].
//!
//! `Server` puts them on a `Reactor`: one consumer per connection parses
//! requests from the consumer FIFO (head, then the body by count or by the
//! strict chunked decoder, then the next request), and each response is a
//! producer pipeline — a file region for `sendfile`, several regions
//! chained with `multipart/byteranges` framing, or `file → zstd, br or
//! gzip → glob → chunked` for a compressible file in the [`Coding`] the
//! client prefers (406 when it refuses them all and `identity` too).
//!
//! ```no_run
//! # #[cfg(feature = "http")] {
//! use producers::http::{Server, ServerConfig};
//! use producers::reactor::Reactor;
//!
//! let mut reactor = Reactor::new()?;
//! let server = Server::new(ServerConfig::new("."))?;
//! let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
//! server.listen(&mut reactor, listener)?;
//! reactor.run()?;
//! # }
//! # Ok::<(), std::io::Error>(())
//! ```

// Three layers, dependencies pointing one way (server → files → proto):
// the sans-I/O protocol, file serving (which uses only the protocol), and
// the server on the reactor (which uses both). See ARCHITECTURE.md.
mod files;
mod proto;
#[cfg(feature = "http")]
mod server;

#[cfg(feature = "http")]
pub use files::cache_stats::CacheStats;
#[cfg(all(feature = "http", feature = "brotli"))]
pub use files::coding::BROTLI_QUALITY;
#[cfg(feature = "http")]
pub use files::coding::Coding;
#[cfg(all(feature = "http", feature = "zstd"))]
pub use files::coding::ZSTD_LEVEL;
pub use files::listing::{ListingOptions, html_escape, listing_html};
pub use files::mime::{DEFAULT_CONTENT_TYPE, content_type, is_compressible};
pub use files::root::{Root, RootError};
pub use proto::{
    Answer, BodyFraming, ByteRange, ByteRanges, DEFAULT_MAX_HEAD, DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_LINE, DEFAULT_MAX_RANGES, HeadLimits, HeadScanner, Header, HeaderBlock,
    HeaderSource, HttpError, Method, MultipartRanges, RangeError, RangeLimits, Representation,
    RequestHead, RequestMethod, ResponseHead, Status, UrlPath, Validators, Version,
    accepts_trailers, answer, content_digest_preference, format_http_date, negotiate_encoding,
    now_http_date, parse_http_date, percent_decode, percent_encode_segment, unsatisfied_range,
    wants_digest_trailer,
};
#[cfg(feature = "http")]
pub use server::Server;
#[cfg(feature = "http")]
pub use server::access_log::AccessLogEntry;
#[cfg(feature = "http")]
pub use server::config::{
    DEFAULT_CACHED_FILE_MAX, DEFAULT_GLOB, DEFAULT_GZIP_CACHE_BYTES, DEFAULT_GZIP_CACHE_MAX_FILE,
    DEFAULT_GZIP_LEVEL, DEFAULT_GZIP_THRESHOLD, DEFAULT_GZIP_WINDOW_BITS, DEFAULT_HEADER_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT, DEFAULT_INPUT_BUDGET, DEFAULT_MAX_BODY, DEFAULT_MAX_HEAVY_ENCODERS,
    DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_LISTING, DEFAULT_MAX_OPEN_FILES, DEFAULT_MAX_UPLOAD,
    DEFAULT_MIN_BODY_RATE, DEFAULT_OPEN_FILE_CACHE_BYTES, DEFAULT_OPEN_FILE_CACHE_ENTRIES,
    DEFAULT_OUTPUT_BUDGET, DEFAULT_REVALIDATE, DEFAULT_SENDFILE_MIN, MinDataRate, ServerConfig,
};
