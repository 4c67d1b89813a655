//! [`AccessLogEntry`]: what the server tells its access-log hook about each
//! response. The library never prints; a binary installs the hook
//! ([`ServerConfig::access_log`](crate::http::ServerConfig::access_log)) and
//! decides where the lines go.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::http::proto::Status;

/// One response, handed to the hook set with
/// [`ServerConfig::access_log`](crate::http::ServerConfig::access_log).
///
/// A response is logged once, when its last byte was handed to the socket
/// writer, when it failed, or when the connection dropped it unsent
/// (`error` then says so). A read timeout is logged when its 408 is queued,
/// with [`read_timeout`](Self::read_timeout) set.
#[derive(Debug)]
#[non_exhaustive]
pub struct AccessLogEntry<'a> {
    /// The request method as sent; `-` when the response answers no parsed
    /// request (a malformed head, a read timeout).
    pub method: &'a str,
    /// The request target as sent (invalid UTF-8 replaced); `-` as for
    /// `method`.
    pub target: &'a str,
    /// The response status.
    pub status: Status,
    /// Body bytes handed to the socket writer (the response head not
    /// counted).
    pub bytes: u64,
    /// From the complete request head to the end of the response; `None`
    /// for a read timeout.
    pub elapsed: Option<Duration>,
    /// What cut the response short, if anything.
    pub error: Option<&'a io::Error>,
    /// The entry is the 408 sent because a request head or body did not
    /// arrive in time, not the answer to a request.
    pub read_timeout: bool,
}

/// The access-log hook, shared by every connection of a server.
#[derive(Clone)]
pub(crate) struct AccessLog(pub(crate) Arc<dyn Fn(&AccessLogEntry<'_>) + Send + Sync>);

impl fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessLog(..)")
    }
}
