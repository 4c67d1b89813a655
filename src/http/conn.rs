//! [`RequestReader`]: the consumer that reads a connection's requests from
//! the consumer FIFO and queues their responses, in order.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::respond::{ALLOW_ECHO, ALLOW_RESOURCE, ALLOW_SERVER, Body, Reply, options, resource};
use super::server::Shared;
use super::{
    AccessLogEntry, BodyFraming, HeadScanner, HttpError, Method, RequestHead, ResponseHead, Status,
    UrlPath, Version, now_http_date,
};
use crate::ProducerExt;
use crate::codec::chunked::{ChunkedDecoder, Decoded};
use crate::codec::gzip::{Compressed, Compressor, Format};
use crate::consume::{ConsumeError, Consumer, Control, Eof, Frame, Framing};
use crate::produce::{Counters, ListProducer, More, Producer, deferred, from_bytes};
use crate::reactor::Outbox;

/// What a connection's consumer, handler and response producers share.
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    /// Responses queued and not yet fully handed to the socket writer.
    in_flight: AtomicUsize,
    /// Those of them that hold an open file.
    files: AtomicUsize,
    /// The reader stopped at a request boundary because `in_flight` hit the
    /// cap; the next response to finish wakes the channel to resume it.
    stalled: AtomicBool,
    /// A timeout already answered 408: the next one closes at once.
    timed_out: AtomicBool,
}

impl ConnState {
    pub(crate) fn is_stalled(&self) -> bool {
        self.stalled.load(Ordering::Relaxed)
    }

    /// Marks a timeout; true if it is the first.
    pub(crate) fn first_timeout(&self) -> bool {
        !self.timed_out.swap(true, Ordering::Relaxed)
    }

    /// A response holding a file (`file`) or not left the queue.
    fn done(&self, file: bool) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        if file {
            self.files.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn release(&self, waker: &Waker, file: bool) {
        self.done(file);
        if self.stalled.load(Ordering::Relaxed) {
            // The channel's waker: the loop services the channel again and
            // hands the buffered requests to the reader.
            waker.wake_by_ref();
        }
    }
}

/// A response producer counted in flight until it ends or is dropped.
struct InFlight<P> {
    inner: P,
    conn: Arc<ConnState>,
    /// Whether it holds an open file (counted in `ConnState::files`).
    file: bool,
    done: bool,
}

impl<P> fmt::Debug for InFlight<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<P: Producer> Producer for InFlight<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let r = self.inner.poll_more(cx);
        if matches!(r, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) && !self.done {
            self.done = true;
            self.conn.release(cx.waker(), self.file);
        }
        r
    }
    fn exact_len(&self) -> Option<u64> {
        self.inner.exact_len()
    }
    fn counters(&self) -> Option<Counters> {
        self.inner.counters()
    }
}

impl<P> Drop for InFlight<P> {
    fn drop(&mut self) {
        if !self.done {
            self.conn.done(self.file);
        }
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
    /// `left` more bytes of a body; collected for `/echo`, else dropped.
    Body {
        req: Pending,
        left: u64,
        echo: Option<Echo>,
        clock: BodyClock,
    },
    /// A chunked body.
    Chunked {
        req: Pending,
        decoder: Box<ChunkedDecoder>,
        echo: Option<Echo>,
        clock: BodyClock,
    },
    /// The connection is closing: input is dropped.
    Closed,
}

/// A request whose body is being read.
struct Pending {
    head: RequestHead,
    started: Instant,
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

/// The body collected for `POST /echo`.
#[derive(Default)]
struct Echo {
    pieces: Vec<Bytes>,
    len: u64,
}

/// Reads requests from a connection's input — heads, then bodies by count
/// or chunked — and queues each response through the channel's outbox.
/// One per connection, a raw consumer over the FIFO's buffer: pipelined
/// requests are answered in order by construction.
pub(crate) struct RequestReader {
    shared: Arc<Shared>,
    conn: Arc<ConnState>,
    out: Outbox,
    scanner: HeadScanner,
    state: Expect,
    /// The read deadline last given to the FIFO.
    deadline: Option<Instant>,
}

impl fmt::Debug for RequestReader {
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
    started: Instant,
}

impl RequestReader {
    pub(crate) fn new(shared: Arc<Shared>, conn: Arc<ConnState>, out: Outbox) -> RequestReader {
        let scanner = HeadScanner::new(shared.config.limits);
        RequestReader {
            shared,
            conn,
            out,
            scanner,
            state: Expect::Head { since: None },
            deadline: None,
        }
    }

    /// Answers a request that cannot be parsed, and closes.
    fn fail_head(&mut self, e: HttpError) {
        let meta = Meta {
            method: &Method::Other(Bytes::from_static(b"-")),
            target: b"-",
            version: Version::Http11,
            keep_alive: false,
            started: Instant::now(),
        };
        self.emit(&meta, Reply::error(&e), true);
    }

    /// A whole head arrived.
    fn on_head(&mut self, head: Bytes) {
        let started = Instant::now();
        let head = match RequestHead::parse(head) {
            Ok(h) => h,
            Err(e) => return self.fail_head(e),
        };
        let meta = |keep_alive| Meta {
            method: &head.method,
            target: &head.target,
            version: head.version,
            keep_alive,
            started,
        };
        let framing = match head.body_framing() {
            Ok(f) => f,
            Err(e) => {
                let reply = Reply::error(&e);
                return self.emit(&meta(false), reply, true);
            }
        };
        let keep_alive = head.wants_keep_alive();
        // A body nobody reads: answer, then close rather than read it.
        let close = framing != BodyFraming::None;
        if &head.target[..] == b"*" {
            // Server-wide OPTIONS (the parser refuses `*` with any other
            // method).
            return self.emit(&meta(keep_alive), Reply::options(ALLOW_SERVER), close);
        }
        let path = match UrlPath::from_target(&head.target) {
            Ok(p) => p,
            Err(e) => {
                let reply = Reply::error(&e);
                return self.emit(&meta(keep_alive), reply, close);
            }
        };
        let is_echo = path.segments().len() == 1 && path.segments()[0] == "echo";
        if is_echo && head.method == Method::Post {
            let max = self.shared.config.max_body;
            if let BodyFraming::Length(n) = framing
                && n > max
            {
                let reply = Reply::error(&HttpError::BodyTooLarge { limit: max });
                return self.emit(&meta(false), reply, true);
            }
            if framing != BodyFraming::None
                && head.version == Version::Http11
                && head.has_token("expect", "100-continue")
            {
                self.push(Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n"));
            }
            let req = Pending { head, started };
            self.state = match framing {
                BodyFraming::None => return self.finish_echo(req, Echo::default()),
                BodyFraming::Length(left) => Expect::Body {
                    req,
                    left,
                    echo: Some(Echo::default()),
                    clock: BodyClock::new(),
                },
                BodyFraming::Chunked => Expect::Chunked {
                    req,
                    decoder: Box::new(ChunkedDecoder::new()),
                    echo: Some(Echo::default()),
                    clock: BodyClock::new(),
                },
            };
            return;
        }
        let reply = match (&head.method, is_echo) {
            (m, _) if !m.is_known() => Err(HttpError::MethodNotImplemented),
            (Method::Options, true) => Ok(Reply::options(ALLOW_ECHO)),
            (_, true) => Err(HttpError::MethodNotAllowed { allow: ALLOW_ECHO }),
            (Method::Get | Method::Head, false) => resource(&self.shared, &head, &path),
            (Method::Options, false) => options(&self.shared, &path),
            _ => Err(HttpError::MethodNotAllowed {
                allow: ALLOW_RESOURCE,
            }),
        };
        let (reply, close) = match reply {
            Ok(r) => (r, close),
            // 503 closes, giving back a descriptor.
            Err(e) => (Reply::error(&e), close || e.closes_connection()),
        };
        self.emit(&meta(keep_alive), reply, close);
    }

    fn finish_echo(&mut self, req: Pending, echo: Echo) {
        let meta = Meta {
            method: &req.head.method,
            target: &req.head.target,
            version: req.head.version,
            keep_alive: req.head.wants_keep_alive(),
            started: req.started,
        };
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

    fn push(&mut self, b: Bytes) {
        // A closed channel drops it: nothing to do.
        let _ = self.out.push(b);
    }

    /// Adds the connection's fields, queues the response as one producer,
    /// and closes when done if the connection does not go on.
    fn emit(&mut self, m: &Meta<'_>, reply: Reply, force_close: bool) {
        let Reply { mut head, body } = reply;
        let status = head.status();
        let config = &self.shared.config;
        let no_body = *m.method == Method::Head || status.forbids_body();
        let mut small = None;
        let holds_file = matches!(body, Body::File(_) | Body::Gzip(_));
        // The body producer and whether its end is known.
        let (body, close_delimited): (Option<Box<dyn Producer + Send>>, bool) = match body {
            Body::Empty => (None, false),
            Body::Bytes(b) => {
                head.add("Content-Length", b.len().to_string().as_bytes());
                small = Some(b);
                (None, false)
            }
            Body::File(f) => {
                let len = f.exact_len().unwrap_or(0);
                head.add("Content-Length", len.to_string().as_bytes());
                (Some(f.boxed()), false)
            }
            Body::Chunks(list) => {
                head.add("Transfer-Encoding", b"chunked");
                (Some(list.chunked().boxed()), false)
            }
            Body::Gzip(f) => {
                // The compressor (some 300 KB of state) and the glob buffer
                // are made when the response reaches the front of the
                // output queue, not when it is queued: a client that
                // pipelines gzip requests and never reads holds one, not
                // one per request in flight.
                let (level, bits, glob) = (config.gzip_level, config.gzip_window_bits, config.glob);
                let gz = deferred(move || {
                    let enc = Compressor::with_window_bits(Format::Gzip, level, bits);
                    Compressed::with_compressor(f, enc).glob(glob)
                });
                if m.version == Version::Http11 {
                    head.add("Transfer-Encoding", b"chunked");
                    (Some(gz.chunked().boxed()), false)
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
        head.add("Date", &now_http_date());
        head.add("Server", config.server_name.as_bytes());
        // No MIME sniffing of any response: a listing, a guessed type or
        // the echo is never reinterpreted as HTML or script.
        head.add("X-Content-Type-Options", b"nosniff");
        let head = head.finish();
        let head_len = head.len() as u64;
        let response: Box<dyn Producer + Send> = match (body, small) {
            // Head and body in memory: one producer, two chunks, one write.
            (_, Some(b)) => ListProducer::new([head, b]).boxed(),
            (Some(b), None) => from_bytes(head).then(b).boxed(),
            (None, None) => from_bytes(head).boxed(),
        };
        let response = match &config.access_log {
            None => response,
            Some(log) => {
                let log = log.clone();
                let method = m.method.clone();
                let target = String::from_utf8_lossy(m.target).into_owned();
                let started = m.started;
                response
                    .hooked(move |n, error| {
                        (log.0)(&AccessLogEntry {
                            method: method.as_str(),
                            target: &target,
                            status,
                            bytes: n.saturating_sub(head_len),
                            elapsed: Some(started.elapsed()),
                            error,
                            read_timeout: false,
                        })
                    })
                    .boxed()
            }
        };
        self.conn.in_flight.fetch_add(1, Ordering::Relaxed);
        if file {
            self.conn.files.fetch_add(1, Ordering::Relaxed);
        }
        let _ = self.out.push_producer(InFlight {
            inner: response,
            conn: self.conn.clone(),
            file,
            done: false,
        });
        if !keep {
            let _ = self.out.close_when_done();
            self.state = Expect::Closed;
        }
    }

    /// The body bytes at the front of `buf`: `true` when the request is
    /// complete.
    fn body(&mut self, buf: &mut BytesMut) -> Result<bool, HttpError> {
        let max = self.shared.config.max_body;
        match &mut self.state {
            Expect::Body {
                left, echo, clock, ..
            } => {
                let n = (*left).min(buf.len() as u64) as usize;
                let piece = buf.split_to(n).freeze();
                *left -= n as u64;
                clock.received += n as u64;
                if let Some(e) = echo
                    && !piece.is_empty()
                {
                    e.len += piece.len() as u64;
                    e.pieces.push(piece);
                }
                Ok(*left == 0)
            }
            Expect::Chunked {
                decoder,
                echo,
                clock,
                ..
            } => loop {
                let before = buf.len();
                let decoded = decoder.decode(buf);
                clock.received += (before - buf.len()) as u64;
                match decoded? {
                    Decoded::Data(piece) => {
                        if let Some(e) = echo {
                            e.len += piece.len() as u64;
                            if e.len > max {
                                return Err(HttpError::BodyTooLarge { limit: max });
                            }
                            e.pieces.push(piece);
                        }
                    }
                    Decoded::NeedMore => return Ok(false),
                    Decoded::End => return Ok(true),
                }
            },
            _ => Ok(true),
        }
    }
}

impl Consumer for RequestReader {
    fn framing(&self) -> Framing {
        Framing::Raw
    }

    fn on_frame(&mut self, _: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        Err(ConsumeError::Invalid {
            offset: ctl.offset(),
            reason: "the request reader frames its own input",
        })
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

impl RequestReader {
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
                    if self.conn.in_flight.load(Ordering::Relaxed) >= config.max_in_flight
                        || self.conn.files.load(Ordering::Relaxed) >= config.max_open_files
                    {
                        self.conn.stalled.store(true, Ordering::Relaxed);
                        return Stopped::Stalled;
                    }
                    self.conn.stalled.store(false, Ordering::Relaxed);
                    // The head starts with its first byte, an empty line
                    // included: skipping empty lines never restarts it.
                    since.get_or_insert_with(Instant::now);
                    while buf.starts_with(b"\r\n") {
                        let _ = buf.split_to(2);
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
                            Expect::Body {
                                req,
                                echo: Some(echo),
                                ..
                            }
                            | Expect::Chunked {
                                req,
                                echo: Some(echo),
                                ..
                            } => self.finish_echo(req, echo),
                            _ => {}
                        }
                    }
                    Err(e) => {
                        let state =
                            std::mem::replace(&mut self.state, Expect::Head { since: None });
                        let (Expect::Body { req, .. } | Expect::Chunked { req, .. }) = state else {
                            unreachable!("in a body")
                        };
                        let meta = Meta {
                            method: &req.head.method,
                            target: &req.head.target,
                            version: req.head.version,
                            keep_alive: false,
                            started: req.started,
                        };
                        self.emit(&meta, Reply::error(&e), true);
                    }
                },
            }
        }
        Stopped::NeedMore
    }
}
