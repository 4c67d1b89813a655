//! The protocol, sans-I/O: bytes and values in, values and bytes out. No
//! socket, no file, nothing from the file-serving or server sides, so every
//! piece is tested byte by byte. Compiled with `http` or `http-body`.
//!
//! - [`request`]: [`HeadScanner`] (where a head ends, with
//!   [`HeadLimits`]) and [`RequestHead`] (the strict parse, the body's
//!   [`BodyFraming`], keep-alive).
//! - [`header_source`]: [`HeaderSource`], the one way the helpers read
//!   header fields (a [`RequestHead`], an `http::HeaderMap`);
//!   [`request_method`]: [`RequestMethod`] (the crate's [`Method`], an
//!   `http::Method`).
//! - [`conditional`]: [`Validators`], [`Representation`] and [`answer`]
//!   (412, 304, 206, 416 as an [`Answer`]); [`range`]: [`ByteRanges`];
//!   [`multipart`]: [`MultipartRanges`]; [`encoding`]:
//!   [`negotiate_encoding`].
//! - [`response`]: [`ResponseHead`]; [`header_block`]: [`HeaderBlock`],
//!   fields formatted once for many heads; [`status`]: [`Status`].
//! - [`error`]: [`HttpError`], every failure with its status.
//! - [`trailers`]: [`wants_digest_trailer`] (`TE: trailers` and
//!   `Want-Content-Digest: sha-256`).
//! - [`date`]: HTTP dates; [`path`]: [`UrlPath`], a target decoded once
//!   (or a path already decoded) and normalised.

pub(crate) mod conditional;
pub(crate) mod date;
pub(crate) mod digits;
pub(crate) mod encoding;
pub(crate) mod error;
pub(crate) mod header_block;
pub(crate) mod header_source;
pub(crate) mod multipart;
pub(crate) mod path;
pub(crate) mod range;
pub(crate) mod request;
pub(crate) mod request_method;
pub(crate) mod response;
pub(crate) mod status;
pub(crate) mod trailers;

pub use conditional::{Answer, Representation, Validators, answer};
pub use date::{format_http_date, now_http_date, parse_http_date};
pub use encoding::negotiate_encoding;
pub use error::HttpError;
pub use header_block::HeaderBlock;
pub use header_source::HeaderSource;
pub use multipart::MultipartRanges;
pub use path::{UrlPath, percent_decode, percent_encode_segment};
pub use range::{
    ByteRange, ByteRanges, DEFAULT_MAX_RANGES, RangeError, RangeLimits, unsatisfied_range,
};
pub use request::{
    BodyFraming, DEFAULT_MAX_HEAD, DEFAULT_MAX_HEADERS, DEFAULT_MAX_LINE, HeadLimits, HeadScanner,
    Header, Method, RequestHead, Version,
};
pub use request_method::RequestMethod;
pub use response::ResponseHead;
pub use status::Status;
pub use trailers::{accepts_trailers, content_digest_preference, wants_digest_trailer};
