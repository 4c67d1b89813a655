//! The protocol, sans-I/O: bytes and values in, values and bytes out. No
//! socket, no file, nothing from the file-serving or server sides, so every
//! piece is tested byte by byte.
//!
//! - [`request`]: [`HeadScanner`] (where a head ends, with
//!   [`HeadLimits`]) and [`RequestHead`] (the strict parse, the body's
//!   [`BodyFraming`], keep-alive, `Accept-Encoding`).
//! - [`response`]: [`ResponseHead`]; [`status`]: [`Status`].
//! - [`error`]: [`HttpError`], every failure with its status.
//! - [`conditional`]: [`Validators`] and [`ByteRange`] (304, 412, 206,
//!   416).
//! - [`date`]: HTTP dates; [`path`]: [`UrlPath`], a target decoded once
//!   and normalised (its file-system half, `UrlPath::resolve`, is on the
//!   file-serving side).

pub(crate) mod conditional;
pub(crate) mod date;
pub(crate) mod error;
pub(crate) mod path;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod status;

pub use conditional::{ByteRange, Validators};
pub use date::{format_http_date, now_http_date, parse_http_date};
pub use error::HttpError;
pub use path::{UrlPath, percent_decode, percent_encode_segment};
pub use request::{
    BodyFraming, DEFAULT_MAX_HEAD, DEFAULT_MAX_HEADERS, DEFAULT_MAX_LINE, HeadLimits, HeadScanner,
    Header, Method, RequestHead, Version,
};
pub use response::ResponseHead;
pub use status::Status;
