//! [`RequestReader`]: the consumer that reads a connection's requests from
//! the consumer FIFO and queues their responses, in order.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::access_log::AccessLogEntry;
use super::in_flight::ConnState;
use super::response::Response;
use super::shared::Shared;
use super::upload::Upload;
use crate::ProducerExt;
use crate::codec::chunked::ChunkedDecoder;
use crate::codec::compression::Compressed;
use crate::consume::{ConsumeError, Consumer, Control, Eof, Framing};
use crate::digest::ContentDigest;
use crate::http::files::{ALLOW_RESOURCE, Body, PermitSlot, Recorded, Reply};
use crate::http::proto::{
    BodyFraming, HeadScanner, HeaderBlock, HttpError, Method, RequestHead, ResponseHead, Status,
    UrlPath, Version, wants_digest_trailer,
};
use crate::produce::{ListProducer, Producer, deferred, from_bytes};
use crate::reactor::Outbox;

/// `Allow` for `/echo`.
const ALLOW_ECHO: &str = "POST, OPTIONS";
/// `Allow` for the server as a whole (`OPTIONS *`): every method some
/// resource supports.
const ALLOW_SERVER: &str = "GET, HEAD, POST, OPTIONS";

/// Where the reader queues what it writes, in order: interim responses and
/// responses, and the close after the last one. The channel's [`Outbox`]
/// in production; the unit tests record instead, so the reader runs
/// without a socket.
pub(crate) trait Output {
    /// Queues bytes (an interim `100 Continue`). A closed channel drops
    /// them: nothing to do.
    fn push(&self, bytes: Bytes);
    /// Queues a response.
    fn push_response(&self, response: Box<dyn Producer + Send>);
    /// Closes the connection once everything queued is sent.
    fn close_when_done(&self);
}

impl Output for Outbox {
    fn push(&self, bytes: Bytes) {
        let _ = Outbox::push(self, bytes);
    }
    fn push_response(&self, response: Box<dyn Producer + Send>) {
        let _ = self.push_boxed(response);
    }
    fn close_when_done(&self) {
        let _ = Outbox::close_when_done(self);
    }
}

/// What the reader expects next.
enum Expect {
    /// A request head (leading empty lines are skipped, RFC 9112 section 2.2).
    Head {
        /// When its first byte arrived (an empty line counts): the header
        /// timeout runs from here and nothing before the head completes
        /// restarts it. `None` between requests.
        since: Option<Instant>,
    },
    /// `left` more bytes of a body (only `POST /echo` and uploads read
    /// one: other requests with a body are answered, then the connection
    /// closes).
    Body {
        req: Pending,
        left: u64,
        sink: BodySink,
        clock: BodyClock,
    },
    /// A chunked body, for `POST /echo` and uploads too.
    Chunked {
        req: Pending,
        decoder: Box<ChunkedDecoder>,
        sink: BodySink,
        clock: BodyClock,
    },
    /// The connection is closing: input is dropped.
    Closed,
}

/// A request whose body is being read.
struct Pending {
    head: RequestHead,
    /// See [`Meta::started`].
    started: Option<Instant>,
}

/// A body's progress against the minimum data rate.
#[derive(Debug, Clone, Copy)]
struct BodyClock {
    /// When the body's first byte was expected (its head completed).
    start: Instant,
    /// Body bytes taken so far, framing included.
    received: u64,
}

impl BodyClock {
    fn new() -> BodyClock {
        BodyClock {
            start: Instant::now(),
            received: 0,
        }
    }
}

/// Where a body's payload goes.
enum BodySink {
    /// Collected for `POST /echo`, at most `max_body` bytes.
    Echo(Echo),
    /// Streamed to files (`--upload`).
    Upload(Box<Upload>),
}

impl BodySink {
    /// A piece of payload.
    fn take(&mut self, piece: Bytes, max: u64) -> Result<(), HttpError> {
        match self {
            BodySink::Echo(echo) => {
                echo.len += piece.len() as u64;
                if echo.len > max {
                    return Err(HttpError::BodyTooLarge { limit: max });
                }
                echo.pieces.push(piece);
                Ok(())
            }
            BodySink::Upload(up) => up.feed(&piece),
        }
    }
}

/// The body collected for `POST /echo`.
#[derive(Default)]
struct Echo {
    pieces: Vec<Bytes>,
    len: u64,
}

/// Reads requests from a connection's input — heads, then bodies by count
/// or chunked — and queues each response through the channel's outbox
/// (any [`Output`]). One per connection, a raw consumer over the FIFO's
/// buffer: pipelined requests are answered in order by construction.
pub(crate) struct RequestReader<O = Outbox> {
    shared: Arc<Shared>,
    conn: Arc<ConnState>,
    out: O,
    scanner: HeadScanner,
    state: Expect,
    /// The read deadline last given to the FIFO.
    deadline: Option<Instant>,
    /// The fields every response carries after `Date`, formatted once.
    common: HeaderBlock,
    /// The connection's permit for br and zstd encoders, shared by its
    /// queued responses in those codings (one encoder at a time).
    permit: PermitSlot,
}

impl<O> fmt::Debug for RequestReader<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestReader").finish_non_exhaustive()
    }
}

/// A request's facts the response needs.
struct Meta<'a> {
    method: &'a Method,
    target: &'a [u8],
    version: Version,
    keep_alive: bool,
    /// Whether the client asked for a `Content-Digest` trailer
    /// (`TE: trailers` and `Want-Content-Digest: sha-256`).
    wants_digest: bool,
    /// When the head completed: the access log's elapsed time runs from
    /// here. `None` when nothing is logged: no clock read per request for
    /// nothing.
    started: Option<Instant>,
}

/// The method logged for a response that answers no parsed request.
static UNPARSED: Method = Method::Other(Bytes::from_static(b"-"));

impl<'a> Meta<'a> {
    /// The facts of `head`, complete at `started`.
    fn of(head: &'a RequestHead, started: Option<Instant>) -> Meta<'a> {
        Meta {
            method: &head.method,
            target: &head.target,
            version: head.version,
            keep_alive: head.wants_keep_alive(),
            wants_digest: wants_digest_trailer(head),
            started,
        }
    }

    /// For a response to no parsed request (a malformed head): logged as
    /// `-`, answered in HTTP/1.1, and the connection closes.
    fn unparsed() -> Meta<'static> {
        Meta {
            method: &UNPARSED,
            target: b"-",
            version: Version::Http11,
            keep_alive: false,
            wants_digest: false,
            started: Some(Instant::now()),
        }
    }
}

/// `body` in the chunked coding, `Transfer-Encoding` added to `head`; with
/// `digest`, a `Content-Digest` trailer over the content as sent, declared
/// in a `Trailer` field.
fn chunked(
    body: impl Producer + Send + 'static,
    head: &mut ResponseHead,
    digest: bool,
) -> Box<dyn Producer + Send> {
    head.add("Transfer-Encoding", b"chunked");
    if digest {
        head.add("Trailer", b"Content-Digest");
        body.chunked().trailer_hook(ContentDigest::new()).boxed()
    } else {
        body.chunked().boxed()
    }
}

impl<O: Output> RequestReader<O> {
    pub(crate) fn new(shared: Arc<Shared>, conn: Arc<ConnState>, out: O) -> RequestReader<O> {
        let scanner = HeadScanner::new(shared.config.limits);
        RequestReader {
            conn,
            out,
            scanner,
            state: Expect::Head { since: None },
            deadline: None,
            permit: PermitSlot::default(),
            common: HeaderBlock::new()
                .field("Server", shared.config.server_name.as_bytes())
                // No MIME sniffing of any response: a listing, a guessed
                // type or the echo is never reinterpreted as HTML or script.
                .field("X-Content-Type-Options", b"nosniff"),
            shared,
        }
    }

    /// Answers a request that cannot be parsed, and closes.
    fn fail_head(&mut self, e: HttpError) {
        self.emit(&Meta::unparsed(), Reply::error(&e), true);
    }

    /// A whole head arrived.
    fn on_head(&mut self, head: Bytes) {
        let started = self.shared.config.access_log.is_some().then(Instant::now);
        let head = match RequestHead::parse(head) {
            Ok(h) => h,
            Err(e) => return self.fail_head(e),
        };
        let meta = Meta::of(&head, started);
        let framing = match head.body_framing() {
            Ok(f) => f,
            Err(e) => return self.emit(&meta, Reply::error(&e), true),
        };
        // A body nobody reads: answer, then close rather than read it.
        let close = framing != BodyFraming::None;
        if &head.target[..] == b"*" {
            // Server-wide OPTIONS (the parser refuses `*` with any other
            // method).
            return self.emit(&meta, Reply::options(ALLOW_SERVER), close);
        }
        let path = match UrlPath::from_target(&head.target) {
            Ok(p) => p,
            Err(e) => return self.emit(&meta, Reply::error(&e), close),
        };
        let is_echo = path.relative_str() == "echo";
        let config = &self.shared.config;
        let upload = if config.upload && !is_echo && head.method == Method::Post {
            match Upload::begin(
                &self.shared.files,
                &path,
                &head,
                framing,
                config.overwrite,
                config.max_upload,
            ) {
                Ok(u) => Some(Box::new(u)),
                Err(e) => {
                    let close = close || e.closes_connection();
                    return self.emit(&meta, Reply::error(&e), close);
                }
            }
        } else {
            None
        };
        if (is_echo || upload.is_some()) && head.method == Method::Post {
            let max = self.shared.config.max_body;
            if let BodyFraming::Length(n) = framing
                && n > max
                && upload.is_none()
            {
                let reply = Reply::error(&HttpError::BodyTooLarge { limit: max });
                return self.emit(&meta, reply, true);
            }
            if framing != BodyFraming::None
                && head.version == Version::Http11
                && head.has_token("expect", "100-continue")
            {
                self.out
                    .push(Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n"));
            }
            let req = Pending { head, started };
            let sink = match upload {
                Some(u) => BodySink::Upload(u),
                None => BodySink::Echo(Echo::default()),
            };
            self.state = match framing {
                BodyFraming::None => return self.finish_body(req, sink),
                BodyFraming::Length(left) => Expect::Body {
                    req,
                    left,
                    sink,
                    clock: BodyClock::new(),
                },
                BodyFraming::Chunked => Expect::Chunked {
                    req,
                    decoder: Box::new(ChunkedDecoder::new()),
                    sink,
                    clock: BodyClock::new(),
                },
            };
            return;
        }
        let reply = match (&head.method, is_echo) {
            (m, _) if !m.is_known() => Err(HttpError::MethodNotImplemented),
            (Method::Options, true) => Ok(Reply::options(ALLOW_ECHO)),
            (_, true) => Err(HttpError::MethodNotAllowed { allow: ALLOW_ECHO }),
            (Method::Get | Method::Head, false) => {
                self.shared.files.resource(&head, &path, &mut self.permit)
            }
            (Method::Options, false) => self.shared.files.options(&path),
            _ => Err(HttpError::MethodNotAllowed {
                allow: ALLOW_RESOURCE,
            }),
        };
        let (reply, close) = match reply {
            Ok(r) => (r, close),
            // 503 closes, giving back a descriptor.
            Err(e) => (Reply::error(&e), close || e.closes_connection()),
        };
        self.emit(&meta, reply, close);
    }

    /// A body read whole: the echo, or the upload's answer.
    fn finish_body(&mut self, req: Pending, sink: BodySink) {
        match sink {
            BodySink::Echo(echo) => self.finish_echo(req, echo),
            BodySink::Upload(up) => {
                let meta = Meta::of(&req.head, req.started);
                let (reply, close) = match up.finish() {
                    Ok(reply) => (reply, false),
                    // The body was read whole: the connection can go on,
                    // unless the error says otherwise.
                    Err(e) => (Reply::error(&e), e.closes_connection()),
                };
                self.emit(&meta, reply, close);
            }
        }
    }

    fn finish_echo(&mut self, req: Pending, echo: Echo) {
        let meta = Meta::of(&req.head, req.started);
        // Never the client's Content-Type: reflected, it would serve
        // attacker-chosen bytes as text/html from this origin (issue 11).
        let head = ResponseHead::new(Status::OK).header("Content-Type", "application/octet-stream");
        let body = if req.head.version == Version::Http11 {
            // Chunked, as the pieces arrived.
            Body::Chunks(ListProducer::new(echo.pieces))
        } else {
            let mut all = BytesMut::with_capacity(echo.len as usize);
            for p in echo.pieces {
                all.extend_from_slice(&p);
            }
            Body::Bytes(all.freeze())
        };
        self.emit(&meta, Reply { head, body }, false);
    }

    /// Adds the connection's fields, queues the response as one producer,
    /// and closes when done if the connection does not go on.
    fn emit(&mut self, m: &Meta<'_>, reply: Reply, force_close: bool) {
        let Reply { mut head, body } = reply;
        let status = head.status();
        let config = &self.shared.config;
        let no_body = *m.method == Method::Head || status.forbids_body();
        let mut small = None;
        let holds_file = matches!(
            body,
            Body::File(_) | Body::Parts(_) | Body::Encoded(..) | Body::Followed(_)
        );
        // A `Content-Digest` trailer (RFC 9530) over the content as sent,
        // when asked for: it needs the chunked coding, so a body of known
        // length is chunked instead of sent with `Content-Length`.
        let digest = m.wants_digest
            && m.version == Version::Http11
            && !no_body
            && (200..300).contains(&status.code());
        // The body producer and whether its end is known.
        let (body, close_delimited): (Option<Box<dyn Producer + Send>>, bool) = match body {
            Body::Empty => (None, false),
            Body::Bytes(b) if digest => (Some(chunked(from_bytes(b), &mut head, true)), false),
            Body::Bytes(b) => {
                head.add_u64("Content-Length", b.len() as u64);
                small = Some(b);
                (None, false)
            }
            Body::File(f) if digest => (Some(chunked(f, &mut head, true)), false),
            Body::File(f) => {
                head.add_u64("Content-Length", f.exact_len().unwrap_or(0));
                (Some(f.boxed()), false)
            }
            Body::Parts(parts) if digest => (Some(chunked(parts, &mut head, true)), false),
            Body::Parts(parts) => {
                // Exact: every part's framing and range is known.
                head.add_u64("Content-Length", parts.exact_len().unwrap_or(0));
                (Some(parts.boxed()), false)
            }
            Body::Chunks(list) => (Some(chunked(list, &mut head, digest)), false),
            // Never ends: no digest trailer to wait for.
            Body::Followed(f) => (
                Some(chunked(self.conn.following(f), &mut head, false)),
                false,
            ),
            Body::Encoded(on_the_fly, f, fill) => {
                // The compressor (some 300 KB of state for gzip, more for
                // br and zstd) and the glob buffer are made when the
                // response reaches the front of the output queue, not when
                // it is queued: a client that pipelines compressed
                // requests and never reads holds one, not one per request
                // in flight.
                // A br or zstd encoder's permit (`HeavyEncoders`) is in
                // the closure until then, in the encoder after: given back
                // when the response is dropped, sent or not.
                let (level, bits, glob) = (config.gzip_level, config.gzip_window_bits, config.glob);
                let coding = on_the_fly.coding();
                let len = f.exact_len();
                let gz = deferred(move || {
                    let enc = on_the_fly.encoder(level, bits, len);
                    let compressed = Compressed::with_compressor(f, enc)
                        .poll_budget(coding.poll_budget())
                        .flush_policy(coding.flush_policy());
                    Recorded::new(compressed, fill).glob(glob)
                });
                if m.version == Version::Http11 {
                    (Some(chunked(gz, &mut head, digest)), false)
                } else {
                    // HTTP/1.0 has no chunked coding: the close ends the body.
                    (Some(gz.boxed()), true)
                }
            }
        };
        let (body, small) = if no_body { (None, None) } else { (body, small) };
        // A file body keeps its descriptor open until it is sent.
        let file = body.is_some() && holds_file;
        let keep = m.keep_alive && !force_close && !(close_delimited && body.is_some());
        if !keep {
            head.add("Connection", b"close");
        } else if m.version == Version::Http10 {
            head.add("Connection", b"keep-alive");
        }
        head.add_date();
        head.add_block(&self.common);
        let head = head.finish();
        let head_len = head.len() as u64;
        let response = match (body, small) {
            // Head and body in memory: two chunks, one write.
            (_, Some(b)) => Response::in_memory(head, b),
            (Some(b), None) => Response::streamed(head, b),
            (None, None) => Response::head_only(head),
        };
        // One allocation per response: the box the outbox takes.
        let response: Box<dyn Producer + Send> = match &config.access_log {
            None => Box::new(self.conn.track(response, file)),
            Some(log) => {
                let log = log.clone();
                let method = m.method.clone();
                let target = String::from_utf8_lossy(m.target).into_owned();
                let started = m.started;
                let hooked = response.hooked(move |n, error| {
                    (log.0)(&AccessLogEntry {
                        method: method.as_str(),
                        target: &target,
                        status,
                        bytes: n.saturating_sub(head_len),
                        elapsed: started.map(|t| t.elapsed()),
                        error,
                        read_timeout: false,
                    })
                });
                Box::new(self.conn.track(hooked, file))
            }
        };
        self.out.push_response(response);
        if !keep {
            self.out.close_when_done();
            self.state = Expect::Closed;
        }
    }

    /// The body bytes at the front of `buf`: `true` when the request is
    /// complete. Every byte taken counts toward the minimum rate
    /// ([`BodyClock`]), chunked framing included; the payload is collected
    /// for the echo, at most `max_body` bytes of it.
    fn body(&mut self, buf: &mut BytesMut) -> Result<bool, HttpError> {
        let max = self.shared.config.max_body;
        match &mut self.state {
            Expect::Body {
                left, sink, clock, ..
            } => {
                let n = (*left).min(buf.len() as u64) as usize;
                let piece = buf.split_to(n).freeze();
                *left -= n as u64;
                clock.received += n as u64;
                if !piece.is_empty() {
                    sink.take(piece, max)?;
                }
                Ok(*left == 0)
            }
            Expect::Chunked {
                decoder,
                sink,
                clock,
                ..
            } => {
                // The chunked adapters' one loop (`ChunkedBody` runs it
                // too); the reader keeps its own state around it rather
                // than queue a `ChunkedBody` consumer, because the body's
                // byte count (the minimum-rate clock) and the read
                // deadline belong to the reader, which stays the FIFO's
                // only consumer.
                let before = buf.len();
                let end = decoder.decode_each(buf, |piece| sink.take(piece, max));
                clock.received += (before - buf.len()) as u64;
                end
            }
            _ => Ok(true),
        }
    }
}

impl<O: Output> Consumer for RequestReader<O> {
    fn framing(&self) -> Framing {
        Framing::Raw
    }

    fn on_raw(&mut self, buf: &mut BytesMut, ctl: &mut Control) -> Result<(), ConsumeError> {
        let deadline = if self.read(buf) == Stopped::Stalled {
            // The in-flight cap: the next response to finish wakes the
            // channel, and the FIFO hands the rest over again — also after
            // the peer's half-close, which waits for it. The client is not
            // late meanwhile: no deadline.
            ctl.hold();
            None
        } else {
            self.read_deadline()
        };
        if deadline != self.deadline {
            self.deadline = deadline;
            ctl.set_read_deadline(deadline);
        }
        Ok(())
    }

    fn on_eof(&mut self, _eof: Eof, _ctl: &mut Control) -> Result<(), ConsumeError> {
        // Every whole request was taken (a stalled reader holds the end
        // back); what is left is a request cut short by the peer's close,
        // which gets no answer. The responses queued still go out.
        Ok(())
    }
}

/// Why [`RequestReader::read`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    /// The buffer is empty or holds an incomplete request.
    NeedMore,
    /// The in-flight cap: whole requests may be waiting.
    Stalled,
}

impl<O: Output> RequestReader<O> {
    /// When the input must have moved on: the head's completion, or the
    /// body's next bytes at the minimum rate.
    fn read_deadline(&self) -> Option<Instant> {
        let config = &self.shared.config;
        match &self.state {
            Expect::Head { since } => since.zip(config.header_timeout).map(|(t, d)| t + d),
            Expect::Body { clock, .. } | Expect::Chunked { clock, .. } => config
                .min_body_rate
                .and_then(|r| r.deadline(clock.start, clock.received)),
            Expect::Closed => None,
        }
    }

    /// Reads requests from `buf` until it is empty, a request is
    /// incomplete, or the in-flight cap stalls the reader.
    fn read(&mut self, buf: &mut BytesMut) -> Stopped {
        while !buf.is_empty() {
            match self.state {
                Expect::Closed => buf.clear(),
                Expect::Head { ref mut since } => {
                    let config = &self.shared.config;
                    if self
                        .conn
                        .at_cap(config.max_in_flight, config.max_open_files)
                    {
                        return Stopped::Stalled;
                    }
                    // The head starts with its first byte, an empty line
                    // included: skipping empty lines never restarts it.
                    since.get_or_insert_with(Instant::now);
                    if buf.starts_with(b"\r\n") {
                        while buf.starts_with(b"\r\n") {
                            let _ = buf.split_to(2);
                        }
                        // The scanner may have looked at a lone CR already
                        // (its LF came in a later read): the buffer it
                        // scans must only grow, so it starts over on what
                        // follows the empty lines.
                        self.scanner.reset();
                    }
                    match self.scanner.scan(buf) {
                        Ok(None) => return Stopped::NeedMore,
                        Ok(Some(n)) => {
                            let head = buf.split_to(n).freeze();
                            self.state = Expect::Head { since: None };
                            self.on_head(head);
                        }
                        Err(e) => self.fail_head(e),
                    }
                }
                Expect::Body { .. } | Expect::Chunked { .. } => match self.body(buf) {
                    Ok(false) => return Stopped::NeedMore,
                    Ok(true) => {
                        let state =
                            std::mem::replace(&mut self.state, Expect::Head { since: None });
                        match state {
                            Expect::Body { req, sink, .. } | Expect::Chunked { req, sink, .. } => {
                                self.finish_body(req, sink)
                            }
                            _ => {}
                        }
                    }
                    Err(e) => {
                        let state =
                            std::mem::replace(&mut self.state, Expect::Head { since: None });
                        let (Expect::Body { req, .. } | Expect::Chunked { req, .. }) = state else {
                            unreachable!("in a body")
                        };
                        self.emit(&Meta::of(&req.head, req.started), Reply::error(&e), true);
                    }
                },
            }
        }
        Stopped::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::consume::ConsumerFifo;
    use crate::http::server::config::{MinDataRate, ServerConfig};

    /// What the reader queued, in order.
    enum Queued {
        Bytes(Bytes),
        Response(Box<dyn Producer + Send>),
        Close,
    }

    /// An [`Output`] that records instead of writing to a socket.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Queued>>>);

    impl Output for Recorder {
        fn push(&self, bytes: Bytes) {
            self.0.lock().unwrap().push(Queued::Bytes(bytes));
        }
        fn push_response(&self, response: Box<dyn Producer + Send>) {
            self.0.lock().unwrap().push(Queued::Response(response));
        }
        fn close_when_done(&self) {
            self.0.lock().unwrap().push(Queued::Close);
        }
    }

    impl Recorder {
        fn len(&self) -> usize {
            self.0.lock().unwrap().len()
        }

        /// Takes what was queued, each response read to its end (which
        /// takes it out of flight), as text with the `Date` masked.
        fn take(&self) -> Vec<String> {
            let queued = std::mem::take(&mut *self.0.lock().unwrap());
            queued
                .into_iter()
                .map(|q| match q {
                    Queued::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                    Queued::Response(mut p) => {
                        let mut all = Vec::new();
                        while let Some(chunk) = p.more().unwrap() {
                            all.extend_from_slice(&chunk.into_bytes().unwrap());
                        }
                        mask_date(&String::from_utf8_lossy(&all))
                    }
                    Queued::Close => "<close>".to_owned(),
                })
                .collect()
        }
    }

    fn mask_date(response: &str) -> String {
        let Some(i) = response.find("\r\nDate: ") else {
            return response.to_owned();
        };
        let end = i + 2 + response[i + 2..].find("\r\n").unwrap();
        format!("{}\r\nDate: -{}", &response[..i], &response[end..])
    }

    /// The status lines of `queued`'s responses.
    fn statuses(queued: &[String]) -> Vec<&str> {
        queued
            .iter()
            .map(|r| r.split("\r\n").next().unwrap())
            .collect()
    }

    /// A root holding `a.txt` ("hello"), one per test.
    fn root(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("producers-reader-{name}-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("a.txt"), b"hello").unwrap();
        dir
    }

    /// A FIFO whose only consumer is a request reader over `config`, and
    /// what the reader queues.
    fn reader(config: ServerConfig) -> (ConsumerFifo, Recorder) {
        let shared = Arc::new(Shared::new(config).unwrap());
        let out = Recorder::default();
        let mut fifo = ConsumerFifo::new();
        fifo.push(RequestReader::new(shared, Arc::default(), out.clone()));
        (fifo, out)
    }

    #[test]
    fn pipelined_requests_are_answered_in_order() {
        let (mut fifo, out) = reader(ServerConfig::new(root("order")));
        fifo.feed(
            b"GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n\
              GET /missing HTTP/1.1\r\nHost: a\r\n\r\n\
              OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n\
              HEAD /a.txt HTTP/1.1\r\nHost: a\r\n\r\n",
        )
        .unwrap();
        let queued = out.take();
        assert_eq!(
            statuses(&queued),
            [
                "HTTP/1.1 200 OK",
                "HTTP/1.1 404 Not Found",
                "HTTP/1.1 200 OK",
                "HTTP/1.1 200 OK"
            ]
        );
        assert!(queued[0].ends_with("\r\n\r\nhello"), "{}", queued[0]);
        assert!(queued[2].contains("Allow: GET, HEAD, POST, OPTIONS\r\n"));
        assert!(queued[3].ends_with("\r\n\r\n"), "HEAD has no body");
        assert_eq!(fifo.buffered(), 0);
    }

    #[test]
    fn responses_are_the_exact_bytes_in_field_order() {
        // The head as the fmt-based builder made it before issue 14: the
        // reply's fields, the framing, then `Date`, `Server` and
        // `X-Content-Type-Options`; the body right after.
        let server = concat!("producers/", env!("CARGO_PKG_VERSION"));
        let (mut fifo, out) = reader(ServerConfig::new(root("exact")));
        fifo.feed(
            b"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n\
              OPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            out.take(),
            [
                format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n\
                     Content-Length: 14\r\nDate: -\r\nServer: {server}\r\n\
                     X-Content-Type-Options: nosniff\r\n\r\n404 Not Found\n"
                ),
                format!(
                    "HTTP/1.1 200 OK\r\nAllow: GET, HEAD, POST, OPTIONS\r\nContent-Length: 0\r\n\
                     Connection: keep-alive\r\nDate: -\r\nServer: {server}\r\n\
                     X-Content-Type-Options: nosniff\r\n\r\n"
                ),
            ]
        );
    }

    /// An echo by `Content-Length` (HTTP/1.0, so its body is one piece
    /// whatever the reads) and a GET.
    const TWO: &[u8] =
        b"POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello\
                         GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n";

    #[test]
    fn the_responses_do_not_depend_on_how_the_input_was_split() {
        let root = root("split");
        let whole = {
            let (mut fifo, out) = reader(ServerConfig::new(&root));
            fifo.feed(TWO).unwrap();
            out.take()
        };
        assert_eq!(statuses(&whole), ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]);
        assert!(whole[0].contains("Content-Length: 5\r\n") && whole[0].ends_with("hello"));
        for cut in 0..=TWO.len() {
            let (mut fifo, out) = reader(ServerConfig::new(&root));
            fifo.feed(&TWO[..cut]).unwrap();
            fifo.feed(&TWO[cut..]).unwrap();
            assert_eq!(out.take(), whole, "cut at {cut}");
        }
    }

    #[test]
    fn empty_lines_before_a_request_are_skipped_whatever_the_split() {
        // Found by the http_server fuzz target: a CR at the end of one read
        // and its LF at the start of the next made the head scanner index
        // past the buffer it had already scanned (a panic, the connection
        // closed unanswered).
        let input: &[u8] = b"\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n";
        let root = root("empty-lines");
        for a in 0..=input.len() {
            for b in a..=input.len() {
                let (mut fifo, out) = reader(ServerConfig::new(&root));
                for piece in [&input[..a], &input[a..b], &input[b..]] {
                    fifo.feed(piece).unwrap();
                }
                let queued = out.take();
                assert_eq!(
                    statuses(&queued),
                    ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"],
                    "cuts at {a}, {b}"
                );
            }
        }
    }

    #[test]
    fn a_chunked_body_is_echoed_whatever_the_split() {
        let input: &[u8] = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
                             5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nT: 1\r\n\r\n\
                             GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n";
        let root = root("chunked");
        for cut in 0..=input.len() {
            let (mut fifo, out) = reader(ServerConfig::new(&root));
            fifo.feed(&input[..cut]).unwrap();
            fifo.feed(&input[cut..]).unwrap();
            let queued = out.take();
            assert_eq!(statuses(&queued), ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]);
            // The echo is chunked as the pieces arrived: decode it.
            let (head, body) = queued[0].split_once("\r\n\r\n").unwrap();
            assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
            let mut buf = BytesMut::from(body.as_bytes());
            let mut echoed = Vec::new();
            let mut decoder = ChunkedDecoder::new();
            let end = decoder
                .decode_each(&mut buf, |b| {
                    echoed.extend_from_slice(&b);
                    Ok::<_, crate::codec::chunked::ChunkedError>(())
                })
                .unwrap();
            assert!(end && buf.is_empty(), "cut at {cut}");
            assert_eq!(echoed, b"hello world", "cut at {cut}");
            assert!(queued[1].ends_with("hello"));
        }
    }

    #[test]
    fn expect_100_continue_is_answered_before_the_body() {
        let (mut fifo, out) = reader(ServerConfig::new(root("expect")));
        fifo.feed(
            b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        )
        .unwrap();
        assert_eq!(out.take(), ["HTTP/1.1 100 Continue\r\n\r\n"]);
        fifo.feed(b"ok").unwrap();
        let queued = out.take();
        assert_eq!(statuses(&queued), ["HTTP/1.1 200 OK"]);
        assert!(
            queued[0].ends_with("\r\n2\r\nok\r\n0\r\n\r\n"),
            "{}",
            queued[0]
        );
        // None without a body.
        fifo.feed(b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n")
            .unwrap();
        assert_eq!(statuses(&out.take()), ["HTTP/1.1 200 OK"]);
    }

    #[test]
    fn the_in_flight_cap_holds_the_input_until_a_response_finishes() {
        let config = ServerConfig::new(root("cap")).max_in_flight(2);
        let (mut fifo, out) = reader(config);
        let get = b"GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n";
        fifo.feed(&get.repeat(3)).unwrap();
        assert_eq!(out.len(), 2, "two responses in flight");
        assert!(fifo.is_held());
        assert_eq!(fifo.buffered(), get.len(), "the third request waits");
        assert_eq!(fifo.read_deadline(), None, "a held reader is not late");
        // Sending the responses takes them out of flight; the channel's
        // next service hands the held input over again.
        assert_eq!(out.take().len(), 2);
        fifo.process().unwrap();
        assert_eq!(statuses(&out.take()), ["HTTP/1.1 200 OK"]);
        assert!(!fifo.is_held());
        assert_eq!(fifo.buffered(), 0);
    }

    #[test]
    fn the_header_deadline_runs_from_the_first_byte_and_clears_at_the_end() {
        let timeout = Duration::from_secs(10);
        let config = ServerConfig::new(root("deadline")).header_timeout(Some(timeout));
        let (mut fifo, out) = reader(config);
        assert_eq!(fifo.read_deadline(), None, "no deadline between requests");
        let before = Instant::now();
        // An empty line starts the head's clock ...
        fifo.feed(b"\r\n").unwrap();
        let deadline = fifo.read_deadline().expect("set at the first byte");
        assert!(deadline >= before + timeout && deadline <= Instant::now() + timeout);
        // ... and nothing before the head completes restarts it.
        std::thread::sleep(Duration::from_millis(5));
        fifo.feed(b"\r\n").unwrap();
        assert_eq!(fifo.read_deadline(), Some(deadline));
        fifo.feed(b"GET /a.txt HTTP/1.1\r\nHo").unwrap();
        assert_eq!(fifo.read_deadline(), Some(deadline));
        fifo.feed(b"st: a\r\n\r\n").unwrap();
        assert_eq!(
            fifo.read_deadline(),
            None,
            "cleared when the head completes"
        );
        assert_eq!(statuses(&out.take()), ["HTTP/1.1 200 OK"]);
        // The next head starts a clock of its own.
        fifo.feed(b"G").unwrap();
        assert!(fifo.read_deadline().unwrap() > deadline);
    }

    #[test]
    fn a_body_has_a_minimum_rate_deadline_cleared_when_it_completes() {
        let rate = MinDataRate {
            bytes_per_second: 100,
            grace: Duration::from_secs(5),
        };
        let config = ServerConfig::new(root("rate"))
            .header_timeout(None)
            .min_body_rate(Some(rate));
        let (mut fifo, out) = reader(config);
        fifo.feed(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 300\r\n\r\n")
            .unwrap();
        let first = fifo.read_deadline().expect("the body's clock runs");
        // Each byte buys a hundredth of a second.
        fifo.feed(&[b'x'; 100]).unwrap();
        let later = fifo.read_deadline().unwrap();
        assert!(
            later >= first + Duration::from_millis(990),
            "{first:?} {later:?}"
        );
        fifo.feed(&[b'x'; 200]).unwrap();
        assert_eq!(fifo.read_deadline(), None);
        assert_eq!(statuses(&out.take()), ["HTTP/1.1 200 OK"]);
    }

    #[test]
    fn framing_errors_are_answered_then_the_connection_closes() {
        let root = root("errors");
        let next = "GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n";
        let table: &[(&str, &str)] = &[
            (
                "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
                "HTTP/1.1 400 Bad Request",
            ),
            (
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
                "HTTP/1.1 400 Bad Request",
            ),
            (
                "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "HTTP/1.1 400 Bad Request",
            ),
            (
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n",
                "HTTP/1.1 413 Content Too Large",
            ),
        ];
        for (input, status) in table {
            let (mut fifo, out) = reader(ServerConfig::new(&root));
            fifo.feed(format!("{input}{next}").as_bytes()).unwrap();
            let queued = out.take();
            assert_eq!(statuses(&queued), [*status, "<close>"], "{input:?}");
            assert!(queued[0].contains("Connection: close\r\n"), "{input:?}");
            assert_eq!(fifo.buffered(), 0, "input after the error is dropped");
        }
    }
}
