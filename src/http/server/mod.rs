//! [`Server`]: the file server on a reactor, and its per-connection
//! handler.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;

use bytes::Bytes;

use crate::http::proto::{ResponseHead, Status, now_http_date};
use crate::reactor::{ChannelCtx, Handler, ListenerId, Reactor, Timeout};
use access_log::AccessLogEntry;
use in_flight::ConnState;
use reader::RequestReader;
use shared::Shared;

pub(crate) mod access_log;
pub(crate) mod config;
mod in_flight;
mod reader;
mod response;
mod shared;
mod upload;

use config::ServerConfig;

/// An HTTP/1.1 file server: `GET` and `HEAD` of the files under a root,
/// `POST /echo`, on any number of [`Reactor`]s.
///
/// Cheap to clone (the configuration is shared), so one server can listen
/// on a reactor per core.
///
/// # Per connection
///
/// - Requests are read by one consumer on the connection's consumer FIFO:
///   the head (`\r\n\r\n`, with [`HeadLimits`](crate::http::HeadLimits)), then
///   the body by count or by the strict chunked decoder, then the next
///   request. Pipelined requests are answered in order; at
///   [`max_in_flight`](ServerConfig::max_in_flight) responses not yet
///   handed to the socket writer, reading requests pauses until one is.
/// - Responses are producers: `Content-Length` and the file as a region
///   (`sendfile`) or read whole when small; gzip for compressible files
///   over the threshold when accepted, `file → gzip → glob → chunked`
///   (HTTP/1.1) or close-delimited (HTTP/1.0).
/// - A framing error (malformed head or chunked body, limits, both
///   `Content-Length` and `Transfer-Encoding`) is answered, then the
///   connection closes.
/// - The header timeout answers 408 and closes a connection whose request
///   head does not complete in time from its first byte (slowloris; empty
///   lines before a request count as its start and never restart it); a
///   body slower than [`min_body_rate`](ServerConfig::min_body_rate) gets
///   408 too; the idle timeout closes an idle keep-alive connection.
/// - A connection's memory is bounded: its buffered requests
///   ([`input_budget`](ServerConfig::input_budget)), its queued response
///   bytes ([`output_budget`](ServerConfig::output_budget)), and the codec
///   state of the one response at the front of its queue (a compressor
///   is made when its response gets there, and br and zstd encoders,
///   the heaviest, are capped server-wide by
///   [`max_heavy_encoders`](ServerConfig::max_heavy_encoders)); at most
///   [`max_open_files`](ServerConfig::max_open_files) queued responses
///   hold an open file.
/// - Only regular files and directories are served; anything else under
///   the root (a FIFO, a socket, a device) is 403, and no open blocks.
///
/// # Caches
///
/// - Open files are kept by path, with the bytes of small ones, and
///   checked with one `stat` at most once per
///   [`revalidate`](ServerConfig::revalidate) period: a changed file is
///   never served stale longer than that, and a hot small file costs no
///   file system call in between.
/// - A precompressed `FILE.gz` not older than `FILE` is sent to clients
///   that take gzip ([`gzip_static`](ServerConfig::gzip_static)); other
///   gzip codings are compressed once and kept in memory, keyed by the
///   file's version ([`gzip_cache_bytes`](ServerConfig::gzip_cache_bytes)).
/// - Both are bounded, shared by every reactor the server listens on, and
///   observable through [`cache_stats`](Server::cache_stats).
#[derive(Debug, Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

impl Server {
    /// A server for `config`; fails if the root is not a directory.
    pub fn new(config: ServerConfig) -> io::Result<Server> {
        Ok(Server {
            shared: Arc::new(Shared::new(config)?),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// The canonical root directory.
    pub fn root(&self) -> &std::path::Path {
        self.shared.files.root()
    }

    /// What the file caches hold and what serving files cost in system
    /// calls so far ([`CacheStats`](crate::http::CacheStats)): shared by
    /// every reactor this server listens on.
    pub fn cache_stats(&self) -> crate::http::CacheStats {
        self.shared.files.cache_stats()
    }

    /// Serves the connections `listener` accepts on `reactor`.
    pub fn listen(&self, reactor: &mut Reactor, listener: TcpListener) -> io::Result<ListenerId> {
        let shared = self.shared.clone();
        reactor.listen(listener, move |_peer| {
            Some(self::Connection::new(shared.clone()))
        })
    }
}

/// One connection's handler.
struct Connection {
    shared: Arc<Shared>,
    state: Arc<ConnState>,
}

impl Connection {
    fn new(shared: Arc<Shared>) -> Connection {
        Connection {
            shared,
            state: Arc::default(),
        }
    }
}

impl Handler for Connection {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        // The header timeout and the body's minimum rate are read
        // deadlines the request reader sets: bytes that are not progress
        // (empty lines, a trickle) cannot restart them.
        let config = &self.shared.config;
        ctx.set_idle_timeout(config.idle_timeout);
        // The connection's budget: what it buffers of requests and of
        // responses. Codec state is made for one response at a time (the
        // one at the front of the queue), so it is bounded too.
        ctx.input()
            .set_budget(config.input_budget.max(config.limits.max_head));
        ctx.set_watermarks(config.output_budget / 4, config.output_budget);
        let out = ctx.outbox();
        ctx.push_consumer(RequestReader::new(
            self.shared.clone(),
            self.state.clone(),
            out,
        ));
        Ok(())
    }

    /// A response following a file (`?follow`) never ends, so the peer's
    /// end closes the connection at once, dropping the follower with it;
    /// otherwise queued responses are delivered first.
    fn on_peer_closed(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        if self.state.is_following() {
            ctx.close_now();
        } else {
            ctx.close_when_done();
        }
        Ok(())
    }

    fn on_timeout(&mut self, ctx: &mut ChannelCtx<'_>, which: Timeout) -> io::Result<()> {
        match which {
            // A followed file may be quiet for long: that is not an idle
            // client. A client that vanished is found at the next write.
            Timeout::Idle if self.state.is_following() => Ok(()),
            // Paused at the in-flight cap: the client is slow to read, not
            // to send; the write timeout is the one that matters then.
            Timeout::Read if self.state.is_stalled() => Ok(()),
            Timeout::Read if self.state.first_timeout() => {
                let head = ResponseHead::new(Status::REQUEST_TIMEOUT)
                    .header("Content-Type", "text/plain; charset=utf-8")
                    .header("Content-Length", "20")
                    .header("Connection", "close")
                    .header("Date", now_http_date())
                    .header("Server", self.shared.config.server_name.as_bytes())
                    .finish();
                ctx.push(head);
                ctx.push(Bytes::from_static(b"408 Request Timeout\n"));
                ctx.close_when_done();
                if let Some(log) = &self.shared.config.access_log {
                    (log.0)(&AccessLogEntry {
                        method: "-",
                        target: "-",
                        status: Status::REQUEST_TIMEOUT,
                        bytes: 0,
                        elapsed: None,
                        error: None,
                        read_timeout: true,
                    });
                }
                Ok(())
            }
            _ => Err(which.into()),
        }
    }
}
