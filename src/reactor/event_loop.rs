//! [`Reactor`]: the loop — readiness, wake-ups, posts, timers, shutdown.

use std::any::Any;
use std::fmt;
use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::fault::{PanicSite, panic_message};
use super::handle::{Handle, Shared};
use super::listener::ListenerId;
use super::outbox::{Cmd, Outbox};
use super::poller::{Events, Poller};
use super::slab::{Entry, Slab};
use super::sys;
use super::timer::{TimerId, Timers};
use super::{ChannelId, CloseReason, Config, Handler, Stats};

type CloseHook = Box<dyn FnMut(ChannelId, &CloseReason)>;
type PanicHook = Box<dyn FnMut(PanicSite, &str)>;

/// One thread's event loop: many channels and listeners, one poller, no
/// busy waiting.
///
/// See the [module documentation](super) for the contract. Build one per
/// thread (for several cores, one per core over
/// [`bind_reuseport`](super::bind_reuseport) listeners); a [`Handle`]
/// reaches it from other threads.
pub struct Reactor {
    pub(crate) shared: Arc<Shared>,
    pub(super) slab: Slab,
    pub(super) timers: Timers,
    pub(super) events: Option<Events>,
    pub(super) config: Config,
    pub(super) stats: Stats,
    /// The time at the start of the current turn's dispatch.
    pub(super) now: Instant,
    /// The sendfile fallback and the lingering close read into this.
    pub(super) scratch: Vec<u8>,
    /// Fresh input is read here first when a channel buffers nothing, so
    /// idle channels hold no read buffer.
    pub(super) read_buf: Vec<u8>,
    /// Reused when draining an outbox.
    pub(super) cmds: Vec<Cmd>,
    pub(super) on_close: Option<CloseHook>,
    pub(super) on_panic: Option<PanicHook>,
    /// Whether file regions go out with `sendfile`: allowed by the config
    /// and `SIGPIPE` ignored when the reactor was made.
    pub(super) sendfile: bool,
    /// The deadline of a graceful shutdown in progress.
    pub(super) shutdown: Option<Instant>,
    pub(super) listeners: usize,
    /// When free memory was last handed back, and `stats.closed` then.
    pub(super) trimmed: (Instant, u64),
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("channels", &self.stats.channels)
            .field("listeners", &self.listeners)
            .field("timers", &self.timers)
            .field("shutdown", &self.shutdown)
            .finish_non_exhaustive()
    }
}

impl Reactor {
    /// A reactor with the default [`Config`].
    ///
    /// # `SIGPIPE`
    ///
    /// Writing to a socket whose peer went away raises `SIGPIPE`, which
    /// kills a process that has not ignored it. The reactor's own writes
    /// never raise it (`sendmsg` with `MSG_NOSIGNAL`; `SO_NOSIGPIPE` on
    /// macOS and NetBSD), but Linux `sendfile` has no such flag. So the
    /// reactor uses `sendfile` for file regions only if the process ignores
    /// `SIGPIPE` when the reactor is made (Rust binaries do; a C program
    /// embedding this library may not), and otherwise reads file regions
    /// into a buffer and sends them with `MSG_NOSIGNAL`: safe, at the cost
    /// of a copy. [`uses_sendfile`](Reactor::uses_sendfile) tells which.
    /// A host that sets `SIGPIPE` back to its default after making a
    /// reactor must make a new one (or set [`Config::sendfile`] to false).
    pub fn new() -> io::Result<Reactor> {
        Reactor::with_config(Config::default())
    }

    /// A reactor with `config`.
    pub fn with_config(config: Config) -> io::Result<Reactor> {
        let poller = Poller::new()?;
        let events = Events::with_capacity(config.events);
        let sendfile = config.sendfile && sys::sigpipe_ignored();
        Ok(Reactor {
            shared: Arc::new(Shared::new(poller)),
            slab: Slab::default(),
            timers: Timers::new(),
            events: Some(events),
            config,
            stats: Stats::default(),
            now: Instant::now(),
            scratch: Vec::new(),
            read_buf: Vec::new(),
            cmds: Vec::new(),
            on_close: None,
            on_panic: None,
            sendfile,
            shutdown: None,
            listeners: 0,
            trimmed: (Instant::now(), 0),
        })
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Whether file regions go out with `sendfile` (see
    /// [`Reactor::new`] on `SIGPIPE`); otherwise they are copied through a
    /// buffer.
    pub fn uses_sendfile(&self) -> bool {
        self.sendfile
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Channels open now.
    pub fn channels(&self) -> usize {
        self.stats.channels
    }

    /// Calls `hook(id, reason)` for every channel that closes, after its
    /// handler's [`on_close`](Handler::on_close): the place to log.
    ///
    /// A panic in the hook is caught and reported as
    /// [`PanicSite::CloseHook`].
    pub fn on_close(&mut self, hook: impl FnMut(ChannelId, &CloseReason) + 'static) {
        self.on_close = Some(Box::new(hook));
    }

    /// Calls `hook(site, message)` for every panic the loop catches outside
    /// a channel: in a timer callback, a posted closure, an accept callback
    /// or the close hook. The loop goes on either way; without a hook such
    /// panics are only counted ([`Stats::loop_panics`]) and printed by the
    /// process's panic hook. A panic in `hook` itself is caught and
    /// ignored.
    pub fn on_panic(&mut self, hook: impl FnMut(PanicSite, &str) + 'static) {
        self.on_panic = Some(Box::new(hook));
    }

    /// Counts and reports a panic caught outside any channel.
    pub(super) fn report_panic(&mut self, site: PanicSite, payload: Box<dyn Any + Send>) {
        self.stats.loop_panics += 1;
        let msg = panic_message(&*payload);
        // Dropping a payload can panic too.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
        if let Some(hook) = &mut self.on_panic {
            let _ = catch_unwind(AssertUnwindSafe(|| hook(site, &msg)));
        }
    }

    // ----- sources -----

    /// Makes a channel of an already connected stream; `handler.on_open`
    /// runs at once.
    pub fn adopt(&mut self, stream: TcpStream, handler: impl Handler) -> io::Result<ChannelId> {
        self.open(stream, Box::new(handler), false)
    }

    /// Starts an outgoing connection to `addr` (the first address it
    /// resolves to); `handler.on_connect` runs when it completes, or
    /// `on_connect_failed` then `on_close` when it fails.
    pub fn connect(
        &mut self,
        addr: impl ToSocketAddrs,
        handler: impl Handler,
    ) -> io::Result<ChannelId> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
        let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        sock.set_nonblocking(true)?;
        match sock.connect(&SockAddr::from(addr)) {
            Ok(()) => {}
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
            Err(e) => return Err(e),
        }
        self.open(sock.into(), Box::new(handler), true)
    }

    /// An [`Outbox`] for channel `id`, if it is open.
    pub fn outbox(&mut self, id: ChannelId) -> Option<Outbox> {
        let shared = self.shared.clone();
        match self.slab.slot(id)? {
            Entry::Channel(c) => Some(Outbox {
                inbox: c.core.inbox(&shared),
            }),
            Entry::Serviced(inbox) => Some(Outbox {
                inbox: inbox.clone(),
            }),
            _ => None,
        }
    }

    /// The output bytes channel `id` holds queued, if it is open.
    pub fn queued(&mut self, id: ChannelId) -> Option<usize> {
        match self.slab.slot(id)? {
            Entry::Channel(c) => Some(c.core.out.queued()),
            Entry::Serviced(inbox) => Some(inbox.queued()),
            _ => None,
        }
    }

    /// Closes channel `id` now, dropping its queued output; true if it was
    /// open. Called (through [`ChannelCtx::reactor`](super::ChannelCtx::reactor)) from a callback of
    /// channel `id` itself, the channel closes when the callback returns.
    pub fn close(&mut self, id: ChannelId) -> bool {
        if let Some(Entry::Serviced(inbox)) = self.slab.slot(id) {
            let out = Outbox {
                inbox: inbox.clone(),
            };
            return out.close_now().is_ok();
        }
        self.with_channel(id, |_, core, _| {
            core.close(CloseReason::Aborted);
        })
    }

    // ----- timers -----

    /// Calls `f` once, `delay` from now, on the loop thread. A panic in `f`
    /// is caught and reported to the [`on_panic`](Reactor::on_panic) hook.
    pub fn after(&mut self, delay: Duration, f: impl FnOnce(&mut Reactor) + 'static) -> TimerId {
        let mut f = Some(f);
        self.timers.add(
            Instant::now() + delay,
            None,
            Box::new(move |r| {
                if let Some(f) = f.take() {
                    f(r)
                }
            }),
        )
    }

    /// Calls `f` every `period` (the first call `period` from now) until
    /// cancelled. A panic in `f` is caught, reported to the
    /// [`on_panic`](Reactor::on_panic) hook, and cancels the timer.
    pub fn every(&mut self, period: Duration, f: impl FnMut(&mut Reactor) + 'static) -> TimerId {
        let period = period.max(Duration::from_micros(1));
        self.timers
            .add(Instant::now() + period, Some(period), Box::new(f))
    }

    /// Cancels a timer callback (also from inside it); true if it was
    /// scheduled.
    pub fn cancel(&mut self, id: TimerId) -> bool {
        self.timers.cancel(id)
    }

    // ----- running -----

    /// Runs until a graceful shutdown completes, or until nothing is left
    /// to wait for (no channel, listener or timer callback).
    pub fn run(&mut self) -> io::Result<()> {
        loop {
            let idle = self.stats.channels == 0 && self.listeners == 0;
            if self.shut_down() || idle && self.timers.callbacks() == 0 {
                return Ok(());
            }
            self.turn(None)?;
        }
    }

    /// Runs until `done(self)` is true (checked before every turn) or a
    /// graceful shutdown completes. Unlike [`run`](Reactor::run) it goes on
    /// with nothing registered, for work posted through a [`Handle`].
    pub fn run_until(&mut self, mut done: impl FnMut(&Reactor) -> bool) -> io::Result<()> {
        loop {
            if done(self) || self.shut_down() {
                return Ok(());
            }
            self.turn(None)?;
        }
    }

    /// When free memory is to be handed back: channels closed since the
    /// last time, and the interval passed.
    fn trim_at(&self) -> Option<Instant> {
        let every = self.config.trim_interval?;
        let (last, closed) = self.trimmed;
        (self.stats.closed != closed).then(|| last + every)
    }

    /// Whether a graceful shutdown has completed.
    fn shut_down(&self) -> bool {
        self.shutdown.is_some() && self.stats.channels == 0
    }

    /// Asks for a graceful shutdown from the loop thread; see
    /// [`Handle::shutdown`].
    pub fn shutdown(&mut self, grace: Duration) {
        self.begin_shutdown(Instant::now() + grace);
    }

    /// One turn of the loop: waits for readiness (at most `timeout`, and no
    /// longer than the next timer), then handles events, wake-ups, posted
    /// closures, timers and the shutdown deadline.
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.stats.iterations += 1;
        let now = Instant::now();
        let mut wait = timeout;
        for at in [self.timers.next_at(), self.shutdown, self.trim_at()]
            .into_iter()
            .flatten()
        {
            let d = at.saturating_duration_since(now);
            wait = Some(wait.map_or(d, |w| w.min(d)));
        }
        let mut inbound = self.shared.prepare_sleep();
        if !inbound.ready.is_empty() || !inbound.posts.is_empty() || inbound.shutdown.is_some() {
            wait = Some(Duration::ZERO);
        }
        let mut events = self.events.take().expect("events are put back");
        events.clear();
        let r = self.shared.poller.wait(&mut events, wait);
        self.shared.woke();
        if let Err(e) = r {
            self.events = Some(events);
            return Err(e);
        }
        self.now = Instant::now();
        for ev in events.iter() {
            self.stats.events += 1;
            let id = ChannelId::from_key(ev.key);
            match self.slab.slot(id) {
                Some(Entry::Channel(_)) => self.service(id, ev.ready),
                Some(Entry::Listener(_)) => self.accept(id),
                _ => {}
            }
        }
        self.events = Some(events);

        // Wake-ups and posts that came while we were dispatching.
        let later = std::mem::take(&mut *self.shared.lock());
        inbound.ready.extend(later.ready);
        inbound.posts.extend(later.posts);
        if let Some(d) = later.shutdown {
            inbound.shutdown = Some(inbound.shutdown.map_or(d, |s| s.min(d)));
        }
        for id in inbound.ready {
            self.wake_channel(id);
        }
        for post in inbound.posts {
            self.stats.posts += 1;
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| post(self))) {
                self.report_panic(PanicSite::Post, p);
            }
        }
        if let Some(deadline) = inbound.shutdown {
            self.begin_shutdown(deadline);
        }
        self.run_timers();
        if self.trim_at().is_some_and(|at| self.now >= at) {
            self.trimmed = (self.now, self.stats.closed);
            self.stats.trims += 1;
            sys::release_free_memory();
        }
        if let Some(deadline) = self.shutdown
            && Instant::now() >= deadline
        {
            for id in self.slab.ids(false) {
                self.with_channel(id, |_, core, _| core.state.shutdown_deadline());
            }
        }
        Ok(())
    }

    pub(super) fn begin_shutdown(&mut self, deadline: Instant) {
        self.shutdown = Some(self.shutdown.map_or(deadline, |d| d.min(deadline)));
        for id in self.slab.ids(true) {
            self.unlisten(ListenerId(id));
        }
        for id in self.slab.ids(false) {
            self.with_channel(id, |r, core, handler| {
                r.call(core, handler, |h, cx| h.on_shutdown(cx));
            });
        }
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        // Keep the promise made to `Poller::add_with_mode`: no source is
        // closed while registered.
        for e in self.slab.entries() {
            match e {
                Entry::Channel(c) => sys::deregister(&self.shared.poller, &c.core.sock),
                Entry::Listener(l) => sys::deregister(&self.shared.poller, &l.sock),
                _ => {}
            }
        }
    }
}
