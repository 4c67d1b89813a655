//! The reactor: Medusa's `asyncore`/`async_chat` done right — one thread,
//! one loop, many connections, no busy waiting, no unbounded memory, no
//! fault in one connection reaching another.
//!
//! # The pieces
//!
//! - [`Reactor`]: the loop. Level-triggered readiness (epoll called
//!   directly on Linux: one `epoll_wait` a turn and no other system call;
//!   the `polling` crate's kqueue elsewhere), timers ([`Reactor::after`], [`Reactor::every`],
//!   per-channel timeouts) in one heap, wake-ups and posted closures from
//!   other threads, graceful shutdown, [`Stats`].
//! - [`Handle`]: `Send + Clone`; [`wake`](Handle::wake),
//!   [`post`](Handle::post) a closure, [`shutdown`](Handle::shutdown) with
//!   a grace period.
//! - Channels (`async_chat`): a non-blocking socket, a
//!   [`ConsumerFifo`](crate::ConsumerFifo) for input and a producer FIFO
//!   for output, driven for a [`Handler`] through a [`ChannelCtx`] —
//!   push bytes, producers, consumers; close when done; close now; abort
//!   (close now with a reset); shut down writing. An [`Outbox`] does the same from consumers, other
//!   channels and other threads.
//! - Listeners ([`Reactor::listen`]) accept in batches;
//!   [`bind_reuseport`] gives one loop per core a shared port. Outgoing
//!   channels come from [`Reactor::connect`].
//!
//! # An echo server
//!
//! ```no_run
//! use producers::consume::Lines;
//! use producers::reactor::{ChannelCtx, Handler, Reactor};
//!
//! struct Echo;
//! impl Handler for Echo {
//!     fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> std::io::Result<()> {
//!         let out = ctx.outbox();
//!         ctx.push_consumer(Lines::new("\n", move |line, _ctl| {
//!             out.push(line)?;
//!             Ok(out.push(&b"\n"[..])?)
//!         }));
//!         Ok(())
//!     }
//! }
//!
//! let mut reactor = Reactor::new()?;
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! reactor.listen(listener, |_peer| Some(Echo))?;
//! reactor.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # The reactor contract
//!
//! - **One thread, level-triggered.** A reactor and its handlers live on
//!   one thread; the only cross-thread entry points are [`Handle`],
//!   [`Outbox`] and producers' wakers. Every source is registered
//!   level-triggered; interest is changed only when it differs from what
//!   is registered.
//! - **No busy waiting.** Read interest only while the consumer FIFO wants
//!   input, the watermark allows and the channel is open; write interest
//!   only while a chunk is ready and the socket refused part of it. A
//!   channel whose head producer is pending is registered for nothing
//!   that concerns output: the producer's waker puts it on the ready list
//!   (one mutex push, plus a `notify` only if the loop sleeps) from any
//!   thread. [`Stats::iterations`] counts loop turns to check it.
//! - **Every turn of a channel ends written.** Whatever queued output —
//!   a handler callback, consumers handed input, a wake-up, a timeout —
//!   the channel's turn ends by writing it (or arming write interest if
//!   the socket is full). Input the consumers left buffered is handed to
//!   them again, in the same turn, after anything that may let them
//!   progress: a wake-up, a consumer queued, the watermark pause lifting,
//!   reading resumed.
//! - **Writes.** Consecutive memory chunks go out in one `sendmsg`
//!   (`MSG_NOSIGNAL`: a vanished peer is `EPIPE`, never `SIGPIPE`) of at
//!   most 128 iovecs and [`Config::max_write`] bytes; a file region goes
//!   out with `sendfile` at its tracked offset (a `pread` + write fallback
//!   where `sendfile` is unavailable).
//! - **`SIGPIPE`.** `sendfile` cannot be told not to raise `SIGPIPE`, so
//!   it is used only if the process ignores `SIGPIPE` when the reactor is
//!   made (Rust binaries do); otherwise file regions take the copying
//!   fallback. No write of the reactor can kill a host process that did
//!   not ignore `SIGPIPE`; see [`Reactor::new`]. A partial write leaves the queue at
//!   the first unwritten byte. At most 8 writes and 4 reads per channel per
//!   turn keep one busy peer from starving the others.
//! - **Faults stay local.** A socket error (`ECONNRESET`, `EPIPE`), a
//!   handler or consumer error, a producer error, a panic in a handler, a
//!   consumer or a producer: each closes only its channel, with a
//!   [`CloseReason`] given to [`Handler::on_close`] and to the
//!   [`Reactor::on_close`] hook. A panic outside any channel — in a timer
//!   callback (a periodic one is then cancelled), a posted closure, an
//!   accept callback or the close hook — is caught, counted in
//!   [`Stats::loop_panics`] and reported to the [`Reactor::on_panic`]
//!   hook with its [`PanicSite`]. No fault takes the loop down.
//! - **Closing.** Close when done: reading stops, the queue (pending
//!   producers included) drains, the writing half is shut, unread input is
//!   read and dropped until the peer's end or [`Config::linger`] (so the
//!   close does not become a reset under the last bytes), then the socket
//!   closes. The peer's half-close delivers the end to the consumers and,
//!   by default, closes when done. Close now drops the queue. Abort
//!   ([`ChannelCtx::abort`], [`Outbox::abort`]) drops it too and closes
//!   with a reset (`SO_LINGER` 0), so the peer reads `ECONNRESET`, not an
//!   end: the way to pass a failure on.
//! - **Shutdown.** Listeners close, every handler's
//!   [`on_shutdown`](Handler::on_shutdown) runs (default: close when done),
//!   channels still open at the deadline close with
//!   [`CloseReason::Shutdown`]; [`Reactor::run`] then returns.
//! - **Accepting.** Up to [`Config::accept_batch`] connections per event;
//!   on `EMFILE`/`ENFILE` (or any accept error but a reset connection) the
//!   listener is deregistered for [`Config::accept_backoff`] while the
//!   existing channels are served.
//!
//! # Per-connection memory bound
//!
//! A channel holds at most:
//!
//! - **input**: its consumer FIFO's budget ([`Config::input_budget`],
//!   128 KiB by default) — reading stops when it is full;
//! - **output**: [`Config::high_watermark`] (256 KiB) plus whatever the
//!   consumers push in response to one read of at most
//!   [`Config::read_size`] (64 KiB) bytes — reading stops above the high
//!   watermark and resumes at [`Config::low_watermark`] (64 KiB), so a
//!   client that sends requests and never reads responses cannot grow
//!   server memory. Producers are pulled lazily, one write's worth
//!   ([`Config::max_write`]) at a time; file regions and producers count
//!   64 bytes each;
//! - **fixed**: the channel record (about 500 bytes), its handler, and a
//!   waker and outbox once used. Between frames a channel keeps no read
//!   buffer: fresh input is read into a loop-wide buffer and copied out.
//!
//! What is pushed through an [`Outbox`] from outside the channel is not
//! bounded by its watermarks (they stop the channel's own reading); such
//! pushers bound themselves with the backpressure below.
//!
//! # Backpressure between channels
//!
//! A channel that forwards what it reads to another one (a proxy, a
//! gateway) must stop reading while the other side cannot keep up, or a
//! fast sender and a slow receiver grow memory without bound. The pieces:
//!
//! - [`ChannelCtx::pause_reading`] / [`resume_reading`](ChannelCtx::resume_reading)
//!   (and the same on [`Outbox`], from other channels and threads): a
//!   channel stops reading on request, independently of its own
//!   watermarks; input already read still reaches its consumers, and the
//!   peer is held up by the kernel's buffers.
//! - [`Outbox::is_full`]: the channel's queued output
//!   ([`Outbox::queued`], which counts pushes not yet applied) is above its
//!   high watermark.
//! - [`Outbox::on_drained`]: a callback run on the loop thread once the
//!   queued output is at or below the low watermark, or the channel
//!   closes.
//! - [`Outbox::forward`] puts them together: push, and if the target is
//!   then full, pause the source until the target drains to its low
//!   watermark. A forwarding channel then holds at most the target's high
//!   watermark plus one read ([`Config::read_size`]) on its behalf; the
//!   `proxy` example forwards both ways with it.

mod accept;
mod channel;
mod checkout;
mod config;
mod ctx;
mod deadline;
mod event_loop;
mod fault;
mod handle;
mod listener;
mod out_queue;
mod outbox;
mod poller;
mod service;
mod slab;
mod state;
mod sys;
mod timer;

pub use channel::{ChannelId, CloseReason, Handler};
pub use config::{
    Config, DEFAULT_HIGH_WATERMARK, DEFAULT_LOW_WATERMARK, DEFAULT_MAX_WRITE,
    DEFAULT_NOTSENT_LOWAT, DEFAULT_READ_SIZE, Stats,
};
pub use ctx::ChannelCtx;
pub use deadline::Timeout;
pub use event_loop::Reactor;
pub use fault::PanicSite;
pub use handle::Handle;
pub use listener::{ListenerId, bind_reuseport};
pub use outbox::Outbox;
pub use timer::TimerId;
