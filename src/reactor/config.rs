//! [`Config`]: the reactor's limits and defaults, and [`Stats`].

use std::time::Duration;

use crate::consume::DEFAULT_INPUT_BUDGET;

/// Default high watermark: 256 KiB of queued output stops reading.
pub const DEFAULT_HIGH_WATERMARK: usize = 256 << 10;
/// Default low watermark: reading resumes at 64 KiB of queued output.
pub const DEFAULT_LOW_WATERMARK: usize = 64 << 10;
/// Default most bytes per write system call: 256 KiB.
pub const DEFAULT_MAX_WRITE: usize = 256 << 10;
/// Default most bytes per read system call: 64 KiB.
pub const DEFAULT_READ_SIZE: usize = 64 << 10;
/// Default `TCP_NOTSENT_LOWAT`: 16 KiB of unsent bytes in the kernel.
pub const DEFAULT_NOTSENT_LOWAT: u32 = 16 << 10;

/// The reactor's limits and the defaults every channel starts with.
///
/// Every peer-facing quantity is capped: input by the consumer FIFO's
/// budget, output by the watermarks (reading stops, so the peer cannot
/// make the server queue more), each system call by `read_size` and
/// `max_write`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Queued output bytes above which a channel stops reading
    /// ([`DEFAULT_HIGH_WATERMARK`]).
    pub high_watermark: usize,
    /// Queued output bytes at or below which reading resumes
    /// ([`DEFAULT_LOW_WATERMARK`]).
    pub low_watermark: usize,
    /// Each channel's consumer FIFO budget
    /// ([`DEFAULT_INPUT_BUDGET`](crate::consume::DEFAULT_INPUT_BUDGET)).
    pub input_budget: usize,
    /// Most bytes one write (vectored or `sendfile`) attempts
    /// ([`DEFAULT_MAX_WRITE`]).
    pub max_write: usize,
    /// Most bytes one read attempts ([`DEFAULT_READ_SIZE`]).
    pub read_size: usize,
    /// Most connections a listener accepts per readiness event (64).
    pub accept_batch: usize,
    /// How long a listener stops accepting after `EMFILE`/`ENFILE` (100 ms).
    pub accept_backoff: Duration,
    /// How long a closed-when-done channel reads and drops unread input
    /// before closing (2 s).
    pub linger: Duration,
    /// Default idle timeout (none).
    pub idle_timeout: Option<Duration>,
    /// Default read timeout: a partly received frame must complete within
    /// it (none).
    pub read_timeout: Option<Duration>,
    /// Default write timeout: queued output must make progress within it
    /// (none).
    pub write_timeout: Option<Duration>,
    /// Set `TCP_NODELAY` on accepted and connected sockets (true).
    pub nodelay: bool,
    /// Most events taken from the poller per turn (1024).
    pub events: usize,
    /// Write file regions with `sendfile` where the platform has it
    /// (Linux) and the process ignores `SIGPIPE` (true). With false, or
    /// where `SIGPIPE` is not ignored, file regions are read into a buffer
    /// and sent with `MSG_NOSIGNAL`; see [`Reactor::new`](super::Reactor::new).
    pub sendfile: bool,
    /// `TCP_NOTSENT_LOWAT` on accepted and connected sockets, where the
    /// platform has it (Linux, Android; ignored elsewhere):
    /// [`DEFAULT_NOTSENT_LOWAT`]. `None` leaves the system default
    /// (unlimited: the kernel takes up to a whole send buffer, megabytes,
    /// of unsent data per socket).
    ///
    /// With the bound, a write stops once the kernel holds this many
    /// bytes not yet sent, and the socket reports writable again only
    /// when they drain below it. What is not sent stays in the channel's
    /// queue, where the watermarks count it and file regions stay file
    /// regions. Measured on loopback: the kernel's TCP transmit work
    /// then runs in the loop's own thread instead of in the receiving
    /// process (which otherwise pushes the sender's backlog out from its
    /// acknowledgements); `sendfile` of large files goes from 0.6x to
    /// 1.17x–1.28x of hyper under `wrk`, and bulk `sendfile` takes half
    /// the time (BENCHMARKS.md).
    pub notsent_lowat: Option<u32>,
    /// After channels closed, hand the memory the allocator keeps free back
    /// to the system, at most once per this interval (1 s; `None`: never).
    /// With glibc's allocator this is `malloc_trim`: without it, the
    /// buffers and codec state of many closed connections stay in the
    /// process as free heap (measured: 50 connections that each held
    /// 600 KB left 32 MB resident after they closed, 3.6 MB with it). A
    /// no-op with other allocators and platforms.
    pub trim_interval: Option<Duration>,
}

/// Per-channel limits, copied from the reactor's [`Config`] when a channel
/// opens and changeable through its context.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) low: usize,
    pub(crate) high: usize,
    pub(crate) max_write: usize,
    pub(crate) read_size: usize,
    pub(crate) idle: Option<Duration>,
    pub(crate) read: Option<Duration>,
    pub(crate) write: Option<Duration>,
}

impl Limits {
    pub(crate) fn from_config(c: &Config) -> Limits {
        Limits {
            low: c.low_watermark.min(c.high_watermark),
            high: c.high_watermark,
            max_write: c.max_write.max(1),
            read_size: c.read_size.max(1),
            idle: c.idle_timeout,
            read: c.read_timeout,
            write: c.write_timeout,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            high_watermark: DEFAULT_HIGH_WATERMARK,
            low_watermark: DEFAULT_LOW_WATERMARK,
            input_budget: DEFAULT_INPUT_BUDGET,
            max_write: DEFAULT_MAX_WRITE,
            read_size: DEFAULT_READ_SIZE,
            accept_batch: 64,
            accept_backoff: Duration::from_millis(100),
            linger: Duration::from_secs(2),
            idle_timeout: None,
            read_timeout: None,
            write_timeout: None,
            nodelay: true,
            events: 1024,
            sendfile: true,
            notsent_lowat: Some(DEFAULT_NOTSENT_LOWAT),
            trim_interval: Some(Duration::from_secs(1)),
        }
    }
}

/// Counters of a reactor since it was made; see [`Reactor::stats`](super::Reactor::stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Loop turns (each is at most one wait on the poller).
    pub iterations: u64,
    /// Readiness events handled.
    pub events: u64,
    /// Channels serviced because a waker or an outbox woke them.
    pub wakeups: u64,
    /// Posted closures run.
    pub posts: u64,
    /// Timer callbacks run.
    pub timers: u64,
    /// Connections accepted.
    pub accepted: u64,
    /// Outgoing connections completed.
    pub connected: u64,
    /// Channels closed, for any reason.
    pub closed: u64,
    /// Channels closed for an error, a panic, a timeout or a failed connect.
    pub failed: u64,
    /// Channels closed because a handler or consumer panicked.
    pub panics: u64,
    /// Panics caught outside any channel (timer callbacks, posted
    /// closures, accept callbacks, the close hook); see
    /// [`Reactor::on_panic`](super::Reactor::on_panic).
    pub loop_panics: u64,
    /// Times a listener paused accepting (descriptors ran out).
    pub accept_pauses: u64,
    /// Accept errors other than running out of descriptors (each also
    /// pauses accepting).
    pub accept_errors: u64,
    /// Times a channel stopped reading because of its high watermark.
    pub read_pauses: u64,
    /// Bytes read from sockets.
    pub bytes_read: u64,
    /// Bytes written to sockets.
    pub bytes_written: u64,
    /// Write system calls (vectored writes and `sendfile`s).
    pub writes: u64,
    /// Writes of file regions made with `sendfile` (the others were
    /// copied through a buffer).
    pub sendfiles: u64,
    /// The most output bytes any channel held queued at the end of a turn.
    pub max_queued: usize,
    /// Times free memory was handed back to the system after closes
    /// ([`Config::trim_interval`]).
    pub trims: u64,
    /// Channels open now.
    pub channels: usize,
}
