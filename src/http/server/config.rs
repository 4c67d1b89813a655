//! [`ServerConfig`]: the file server's root, limits, timeouts and content
//! codings.

use std::path::PathBuf;
use std::time::Duration;

use super::access_log::{AccessLog, AccessLogEntry};
use crate::http::files::Coding;
use crate::http::proto::HeadLimits;

/// Default most bytes of a request body (`POST /echo`): 1 MiB (413 past it).
pub const DEFAULT_MAX_BODY: u64 = 1 << 20;

/// The default cap on an upload's body ([`ServerConfig::max_upload`]):
/// 1 GiB.
pub const DEFAULT_MAX_UPLOAD: u64 = 1 << 30;
/// Default most requests per connection whose responses are not yet fully
/// handed to the socket writer: 32. Parsing pauses at the cap.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;
/// Default most responses per connection that hold an open file while
/// queued: 8. Parsing pauses at the cap, so a client that pipelines large
/// files and never reads holds 8 descriptors, not one per request in
/// flight (files under [`DEFAULT_SENDFILE_MIN`] are read at once and hold
/// none).
pub const DEFAULT_MAX_OPEN_FILES: usize = 8;
/// Default header-read timeout: 10 s to complete a request head once its
/// first byte arrived (the slowloris defence).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default minimum data rate of a request body: 240 bytes/s after a 5 s
/// grace period (Kestrel's defaults). A slower body gets 408 and the
/// connection closes.
pub const DEFAULT_MIN_BODY_RATE: MinDataRate = MinDataRate {
    bytes_per_second: 240,
    grace: Duration::from_secs(5),
};
/// Default idle keep-alive timeout: 60 s without a byte read or written.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default input budget of a connection: 64 KiB of request bytes buffered
/// (four heads at the largest [`HeadLimits`] allow). Reading pauses at it.
pub const DEFAULT_INPUT_BUDGET: usize = 64 << 10;
/// Default output budget of a connection: 64 KiB of response bytes queued
/// in memory. Reading pauses above it, and response producers (file reads,
/// the compressor) are not asked for more until the client takes some.
pub const DEFAULT_OUTPUT_BUDGET: usize = 64 << 10;
/// Default smallest file sent gzip-compressed (when the client accepts it
/// and the type is compressible): over 1 KiB.
pub const DEFAULT_GZIP_THRESHOLD: u64 = 1 << 10;
/// Default gzip level: 6.
pub const DEFAULT_GZIP_LEVEL: u32 = 6;
/// Default gzip window: 14 bits (16 KiB). The compressor's state is then
/// about 316 KB instead of 380 KB at 15 bits, for well under 1% in size on
/// text; it is what keeps a connection within 512 KiB (issue 11).
pub const DEFAULT_GZIP_WINDOW_BITS: u8 = 14;
/// Default size compressed output is globbed into before a write: 32 KiB,
/// the compressor's own chunk size, so its chunks pass through uncopied and
/// only small pieces are gathered.
pub const DEFAULT_GLOB: usize = 32 << 10;
/// Default most br and zstd encoders a server runs at once
/// ([`ServerConfig::max_heavy_encoders`]): 64, some 130 MiB at about
/// 2 MiB each.
pub const DEFAULT_MAX_HEAVY_ENCODERS: usize = 64;
/// Default smallest file sent as a file region (`sendfile`): 32 KiB.
/// Smaller files are read into memory, so a response's head and body (and
/// pipelined responses) go out in one vectored write.
pub const DEFAULT_SENDFILE_MIN: u64 = 32 << 10;
/// Default most entries in a directory listing: 10 000.
pub const DEFAULT_MAX_LISTING: usize = 10_000;
/// Default most entries of the open-file cache: 256. Each holds a
/// descriptor, so this many stay open (nginx's `open_file_cache max=`).
pub const DEFAULT_OPEN_FILE_CACHE_ENTRIES: usize = 256;
/// Default most bytes of small files the open-file cache holds in memory:
/// 16 MiB.
pub const DEFAULT_OPEN_FILE_CACHE_BYTES: usize = 16 << 20;
/// Default largest file the open-file cache holds in memory: 64 KiB.
/// Larger files are held open and sent with `sendfile`.
pub const DEFAULT_CACHED_FILE_MAX: u64 = 64 << 10;
/// Default revalidation period of the open-file cache: 1 s. A file
/// rewritten, renamed over, truncated or deleted is served as it is now
/// at most this long after the change.
pub const DEFAULT_REVALIDATE: Duration = Duration::from_secs(1);
/// Default most bytes of compressed variants held in memory: 32 MiB.
pub const DEFAULT_GZIP_CACHE_BYTES: usize = 32 << 20;
/// Default largest file whose compressed variant is held in memory: 4 MiB.
/// Larger files are compressed on the fly at every request.
pub const DEFAULT_GZIP_CACHE_MAX_FILE: u64 = 4 << 20;

/// A minimum data rate: after `grace`, the bytes received must keep up
/// with `bytes_per_second` on average since the start. Put another way,
/// the deadline is `start + grace + received / bytes_per_second`: each
/// byte buys `1 / bytes_per_second` seconds, and the grace period is
/// credit given up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinDataRate {
    /// The rate to keep up, in bytes per second (0: no minimum).
    pub bytes_per_second: u32,
    /// The time given before the rate applies.
    pub grace: Duration,
}

impl MinDataRate {
    /// The time by which more bytes must have arrived, for a transfer that
    /// started at `start` and has received `received` bytes; `None` when
    /// there is no minimum.
    pub fn deadline(&self, start: std::time::Instant, received: u64) -> Option<std::time::Instant> {
        if self.bytes_per_second == 0 {
            return None;
        }
        let earned = Duration::from_secs_f64(received as f64 / f64::from(self.bytes_per_second));
        start.checked_add(self.grace)?.checked_add(earned)
    }
}

/// The configuration of a [`Server`](crate::http::Server).
///
/// Every peer-controlled quantity has a cap here, with its own status:
/// head sizes ([`HeadLimits`]: 414, 431), the body (413), requests in
/// flight (parsing pauses), and time (the header and idle timeouts close
/// the connection).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The directory served.
    pub root: PathBuf,
    /// Request head limits.
    pub limits: HeadLimits,
    /// Most bytes of a request body ([`DEFAULT_MAX_BODY`]).
    pub max_body: u64,
    /// Most requests in flight per connection ([`DEFAULT_MAX_IN_FLIGHT`]).
    pub max_in_flight: usize,
    /// Most queued responses per connection holding an open file
    /// ([`DEFAULT_MAX_OPEN_FILES`]).
    pub max_open_files: usize,
    /// Most request bytes buffered per connection ([`DEFAULT_INPUT_BUDGET`]).
    pub input_budget: usize,
    /// Most response bytes queued in memory per connection
    /// ([`DEFAULT_OUTPUT_BUDGET`]): the channel's high watermark, a quarter
    /// of it the low one.
    pub output_budget: usize,
    /// Time to complete a request head from its first byte (leading empty
    /// lines included), never restarted by bytes that do not complete it
    /// ([`DEFAULT_HEADER_TIMEOUT`]; `None`: none). 408, then close.
    pub header_timeout: Option<Duration>,
    /// The minimum data rate of a request body ([`DEFAULT_MIN_BODY_RATE`];
    /// `None`: none). 408, then close.
    pub min_body_rate: Option<MinDataRate>,
    /// Time without traffic before an idle connection closes
    /// ([`DEFAULT_IDLE_TIMEOUT`]; `None`: none).
    pub idle_timeout: Option<Duration>,
    /// Files over this many bytes are compressed when a coding is accepted
    /// ([`DEFAULT_GZIP_THRESHOLD`]; `u64::MAX` turns compression off).
    pub gzip_threshold: u64,
    /// The content codings offered for compressible files, the preferred
    /// first ([`Coding::ALL`]: zstd, br, gzip, those compiled in). See
    /// [`codings`](Self::codings).
    pub codings: Vec<Coding>,
    /// Most br and zstd encoders compressing responses on the fly at
    /// once, across the server's connections and event loops
    /// ([`DEFAULT_MAX_HEAVY_ENCODERS`]). See
    /// [`max_heavy_encoders`](Self::max_heavy_encoders).
    pub max_heavy_encoders: usize,
    /// The gzip level, 0 to 9 ([`DEFAULT_GZIP_LEVEL`]).
    pub gzip_level: u32,
    /// The gzip window, 9 to 15 bits ([`DEFAULT_GZIP_WINDOW_BITS`]).
    pub gzip_window_bits: u8,
    /// Compressed output is globbed into buffers of this size
    /// ([`DEFAULT_GLOB`]).
    pub glob: usize,
    /// Files of at least this size go out with `sendfile`
    /// ([`DEFAULT_SENDFILE_MIN`]).
    pub sendfile_min: u64,
    /// Most entries in a directory listing ([`DEFAULT_MAX_LISTING`]),
    /// counted after sorting; a line says how many were left out.
    pub max_listing: usize,
    /// Whether listings show names beginning with `.` (off by default;
    /// such files are served either way).
    pub show_hidden: bool,
    /// Most entries of the open-file cache
    /// ([`DEFAULT_OPEN_FILE_CACHE_ENTRIES`]; `0` turns it off). Each holds
    /// a descriptor.
    pub open_file_cache_entries: usize,
    /// Most bytes of small files held in memory by the open-file cache
    /// ([`DEFAULT_OPEN_FILE_CACHE_BYTES`]).
    pub open_file_cache_bytes: usize,
    /// The largest file held in memory by the open-file cache
    /// ([`DEFAULT_CACHED_FILE_MAX`]).
    pub cached_file_max: u64,
    /// How long a cached file is served without checking it with `stat`
    /// ([`DEFAULT_REVALIDATE`]; `Duration::ZERO`: at every request). No
    /// file is served stale longer than this after a change.
    pub revalidate: Duration,
    /// Whether a precompressed sidecar — `FILE.gz`, `FILE.br`, `FILE.zst`
    /// — is sent for `FILE` when its coding is the one chosen and the
    /// sidecar is not older than the file (nginx's `gzip_static` and
    /// `brotli_static`; on by default).
    pub gzip_static: bool,
    /// Most bytes of compressed variants held in memory
    /// ([`DEFAULT_GZIP_CACHE_BYTES`]; `0` turns the cache off).
    pub gzip_cache_bytes: usize,
    /// The largest file whose compressed variant is held in memory
    /// ([`DEFAULT_GZIP_CACHE_MAX_FILE`]).
    pub gzip_cache_max_file: u64,
    /// Most ranges in one `Range` field
    /// ([`DEFAULT_MAX_RANGES`](crate::http::DEFAULT_MAX_RANGES)); a field
    /// with more is ignored and the whole file sent
    /// ([`RangeError::TooMany`](crate::http::RangeError::TooMany)).
    pub max_ranges: usize,
    /// The access-log hook ([`access_log`](Self::access_log)); none by
    /// default: the library never prints.
    pub(crate) access_log: Option<AccessLog>,
    /// The `Server` header's value.
    pub server_name: String,
    /// Whether `POST` of `multipart/form-data` to a directory stores the
    /// file parts there (off by default: 405); a listing then carries an
    /// upload form. See [`upload`](Self::upload).
    pub upload: bool,
    /// Whether an upload may replace an existing file (off: 409).
    pub overwrite: bool,
    /// Most bytes of an upload's body ([`DEFAULT_MAX_UPLOAD`]): 413,
    /// checked against `Content-Length` before any byte is read and while
    /// the body streams.
    pub max_upload: u64,
}

impl ServerConfig {
    /// The defaults, serving `root`.
    pub fn new(root: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            root: root.into(),
            limits: HeadLimits::default(),
            max_body: DEFAULT_MAX_BODY,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_open_files: DEFAULT_MAX_OPEN_FILES,
            input_budget: DEFAULT_INPUT_BUDGET,
            output_budget: DEFAULT_OUTPUT_BUDGET,
            header_timeout: Some(DEFAULT_HEADER_TIMEOUT),
            min_body_rate: Some(DEFAULT_MIN_BODY_RATE),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            gzip_threshold: DEFAULT_GZIP_THRESHOLD,
            codings: Coding::ALL.to_vec(),
            max_heavy_encoders: DEFAULT_MAX_HEAVY_ENCODERS,
            gzip_level: DEFAULT_GZIP_LEVEL,
            gzip_window_bits: DEFAULT_GZIP_WINDOW_BITS,
            glob: DEFAULT_GLOB,
            sendfile_min: DEFAULT_SENDFILE_MIN,
            max_listing: DEFAULT_MAX_LISTING,
            show_hidden: false,
            max_ranges: crate::http::DEFAULT_MAX_RANGES,
            open_file_cache_entries: DEFAULT_OPEN_FILE_CACHE_ENTRIES,
            open_file_cache_bytes: DEFAULT_OPEN_FILE_CACHE_BYTES,
            cached_file_max: DEFAULT_CACHED_FILE_MAX,
            revalidate: DEFAULT_REVALIDATE,
            gzip_static: true,
            gzip_cache_bytes: DEFAULT_GZIP_CACHE_BYTES,
            gzip_cache_max_file: DEFAULT_GZIP_CACHE_MAX_FILE,
            access_log: None,
            server_name: concat!("producers/", env!("CARGO_PKG_VERSION")).to_owned(),
            upload: false,
            overwrite: false,
            max_upload: DEFAULT_MAX_UPLOAD,
        }
    }

    /// Sets the request head limits.
    pub fn limits(mut self, limits: HeadLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the most bytes of a request body.
    pub fn max_body(mut self, n: u64) -> Self {
        self.max_body = n;
        self
    }

    /// Turns uploads on or off: `POST` of `multipart/form-data` to a
    /// directory under the root streams each file part to a temporary file
    /// in that directory (`.upload-*.tmp`, created exclusively, beneath the
    /// root), renamed to the part's file name when the part ends, and
    /// answers 201 with the names stored, one a line. File names are
    /// refused (400, with the reason) unless they are a plain name: no
    /// `/` or `\`, not `.` or `..`, not a dotfile, no control
    /// character, at most 255 bytes. Text fields are ignored. Off, a
    /// `POST` to a directory is 405.
    ///
    /// The writes happen on the event loop's thread, each at most one
    /// read of the body (the [input budget](Self::input_budget)), so a
    /// large upload never holds more than that in memory; a slow disk
    /// slows that loop's other connections, as any file I/O on it would.
    /// A failed or cut-off upload leaves no temporary file; the files of
    /// the parts already complete stay.
    pub fn upload(mut self, on: bool) -> Self {
        self.upload = on;
        self
    }

    /// Lets an upload replace an existing file (otherwise 409).
    pub fn overwrite(mut self, on: bool) -> Self {
        self.overwrite = on;
        self
    }

    /// Sets the most bytes of an upload's body (413 beyond it).
    pub fn max_upload(mut self, n: u64) -> Self {
        self.max_upload = n;
        self
    }

    /// Sets the most requests in flight per connection (at least 1).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// Sets the most queued responses per connection holding an open file
    /// (at least 1).
    pub fn max_open_files(mut self, n: usize) -> Self {
        self.max_open_files = n.max(1);
        self
    }

    /// Sets the input budget per connection (at least the largest head,
    /// [`HeadLimits::max_head`], so a whole head always fits).
    pub fn input_budget(mut self, n: usize) -> Self {
        self.input_budget = n.max(self.limits.max_head);
        self
    }

    /// Sets the output budget per connection (at least 1 KiB).
    pub fn output_budget(mut self, n: usize) -> Self {
        self.output_budget = n.max(1 << 10);
        self
    }

    /// Sets the header-read timeout.
    pub fn header_timeout(mut self, t: Option<Duration>) -> Self {
        self.header_timeout = t;
        self
    }

    /// Sets the minimum data rate of request bodies.
    pub fn min_body_rate(mut self, rate: Option<MinDataRate>) -> Self {
        self.min_body_rate = rate;
        self
    }

    /// Sets the idle keep-alive timeout.
    pub fn idle_timeout(mut self, t: Option<Duration>) -> Self {
        self.idle_timeout = t;
        self
    }

    /// Sets the gzip threshold.
    pub fn gzip_threshold(mut self, n: u64) -> Self {
        self.gzip_threshold = n;
        self
    }

    /// Sets the content codings offered for compressible files and the
    /// server's preference among them: when the client accepts several
    /// with the same q-value, the first in `order` is sent (RFC 9110
    /// section 12.5.3 leaves the choice to the server). Repeats are
    /// dropped; an empty list sends every file as is. The default is
    /// [`Coding::ALL`]: zstd, br, gzip (those compiled in: `br` and `zstd`
    /// need the features `brotli` and `zstd`).
    ///
    /// Whatever the list, a client that refuses `identity` and every
    /// coding offered gets 406 Not Acceptable.
    ///
    /// ```
    /// use producers::http::{Coding, ServerConfig};
    ///
    /// let config = ServerConfig::new(".").codings([Coding::Gzip, Coding::Gzip]);
    /// assert_eq!(config.codings, [Coding::Gzip]);
    /// ```
    pub fn codings(mut self, order: impl IntoIterator<Item = Coding>) -> Self {
        self.codings.clear();
        for c in order {
            if !self.codings.contains(&c) {
                self.codings.push(c);
            }
        }
        self
    }

    /// Sets the most br and zstd encoders compressing responses on the fly
    /// at once, server-wide. Each holds some 2 MiB while its response is
    /// sent (gzip's, about 0.3 MiB, is not counted), and a client that
    /// pipelines GETs and never reads keeps one per connection, so this
    /// caps what such clients can make the server hold (issue 11). At the
    /// cap, negotiation passes br and zstd over and takes the next coding
    /// the client accepts by its q-values — gzip, then `identity` — and
    /// 406 only if nothing acceptable is left. A response takes its permit
    /// when its coding is chosen and gives it back when its encoder is
    /// dropped (sent, failed, or the connection gone), so the responses
    /// a pipelining connection has queued count too (at most
    /// [`max_open_files`](Self::max_open_files) of them). Responses from a
    /// precompressed sidecar or the variant cache make no encoder and are
    /// not counted. `0`: br and zstd only from sidecars and the cache.
    ///
    /// ```
    /// use producers::http::ServerConfig;
    ///
    /// let config = ServerConfig::new(".").max_heavy_encoders(8);
    /// assert_eq!(config.max_heavy_encoders, 8);
    /// ```
    pub fn max_heavy_encoders(mut self, n: usize) -> Self {
        self.max_heavy_encoders = n;
        self
    }

    /// Sets the gzip level (clamped to 9).
    pub fn gzip_level(mut self, level: u32) -> Self {
        self.gzip_level = level.min(9);
        self
    }

    /// Sets the gzip window in bits (clamped to 9 to 15).
    pub fn gzip_window_bits(mut self, bits: u8) -> Self {
        self.gzip_window_bits = bits.clamp(
            crate::codec::gzip::MIN_WINDOW_BITS,
            crate::codec::gzip::MAX_WINDOW_BITS,
        );
        self
    }

    /// Sets the most ranges served from one `Range` field.
    pub fn max_ranges(mut self, n: usize) -> Self {
        self.max_ranges = n;
        self
    }

    /// Sets whether listings show names beginning with `.`.
    pub fn show_hidden(mut self, on: bool) -> Self {
        self.show_hidden = on;
        self
    }

    /// Sets the smallest file sent with `sendfile`.
    pub fn sendfile_min(mut self, n: u64) -> Self {
        self.sendfile_min = n;
        self
    }

    /// Sets the open-file cache's bounds: most entries (`0` turns the
    /// cache off), most bytes of small files held in memory, and the
    /// largest file held in memory.
    pub fn open_file_cache(mut self, entries: usize, bytes: usize, file_max: u64) -> Self {
        self.open_file_cache_entries = entries;
        self.open_file_cache_bytes = bytes;
        self.cached_file_max = file_max;
        self
    }

    /// Sets the revalidation period of the open-file cache
    /// (`Duration::ZERO`: check at every request).
    pub fn revalidate(mut self, period: Duration) -> Self {
        self.revalidate = period;
        self
    }

    /// Turns precompressed sidecars (`FILE.gz`, `FILE.br`, `FILE.zst`) on
    /// or off.
    pub fn gzip_static(mut self, on: bool) -> Self {
        self.gzip_static = on;
        self
    }

    /// Sets the cache of compressed variants' bounds: most bytes (`0`
    /// turns it off) and the largest file whose variant is held.
    pub fn gzip_cache(mut self, bytes: usize, file_max: u64) -> Self {
        self.gzip_cache_bytes = bytes;
        self.gzip_cache_max_file = file_max;
        self
    }

    /// Sets the access-log hook, called once per response (see
    /// [`AccessLogEntry`]) on the loop thread that served it: it should be
    /// quick and must not block. None by default.
    pub fn access_log(
        mut self,
        hook: impl Fn(&AccessLogEntry<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.access_log = Some(AccessLog(std::sync::Arc::new(hook)));
        self
    }
}
