//! [`Reactor`]: the loop — readiness, wake-ups, posts, timers, shutdown.

use std::any::Any;
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::task::Context;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::channel::{Channel, ChannelCtx, Core, Interest, Limits, Phase, WriteSide};
use super::fault::{PanicSite, panic_message};
use super::handle::{Handle, Shared};
use super::listener::{Listener, ListenerId, MakeHandler};
use super::out_queue::Wrote;
use super::outbox::{Cmd, Drained, Inbox, Outbox};
use super::poller::{Event, Events, Poller};
use super::sys;
use super::timer::{Due, TimerId, Timers};
use super::{ChannelId, CloseReason, Config, Handler, Stats};

/// Most reads per channel per turn, so one busy peer cannot starve others.
const MAX_READS: usize = 4;
/// Most writes per channel per turn, for the same reason.
const MAX_WRITES: usize = 8;

/// What woke a channel.
#[derive(Debug, Clone, Copy, Default)]
struct Ev {
    readable: bool,
    writable: bool,
}

enum Entry {
    Free,
    /// Taken out while being serviced.
    Busy,
    Channel(Box<Channel>),
    Listener(Box<Listener>),
}

struct Slot {
    generation: u32,
    entry: Entry,
}

/// Channels and listeners by index; indices are reused with a new
/// generation.
#[derive(Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

impl Slab {
    fn reserve(&mut self) -> ChannelId {
        match self.free.pop() {
            Some(i) => {
                let s = &mut self.slots[i as usize];
                s.generation = s.generation.wrapping_add(1);
                s.entry = Entry::Busy;
                ChannelId::new(i, s.generation)
            }
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    entry: Entry::Busy,
                });
                ChannelId::new((self.slots.len() - 1) as u32, 0)
            }
        }
    }

    fn slot(&mut self, id: ChannelId) -> Option<&mut Entry> {
        self.slots
            .get_mut(id.index as usize)
            .filter(|s| s.generation == id.generation)
            .map(|s| &mut s.entry)
    }

    fn take_channel(&mut self, id: ChannelId) -> Option<Box<Channel>> {
        let e = self.slot(id)?;
        match std::mem::replace(e, Entry::Busy) {
            Entry::Channel(c) => Some(c),
            other => {
                *e = other;
                None
            }
        }
    }

    fn take_listener(&mut self, id: ChannelId) -> Option<Box<Listener>> {
        let e = self.slot(id)?;
        match std::mem::replace(e, Entry::Busy) {
            Entry::Listener(l) => Some(l),
            other => {
                *e = other;
                None
            }
        }
    }

    fn put(&mut self, id: ChannelId, entry: Entry) {
        if let Some(e) = self.slot(id) {
            *e = entry;
        }
    }

    fn release(&mut self, id: ChannelId) {
        if let Some(e) = self.slot(id) {
            *e = Entry::Free;
            self.free.push(id.index);
        }
    }

    fn ids(&self, want_listeners: bool) -> Vec<ChannelId> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| match s.entry {
                Entry::Channel(_) => !want_listeners,
                Entry::Listener(_) => want_listeners,
                _ => false,
            })
            .map(|(i, s)| ChannelId::new(i as u32, s.generation))
            .collect()
    }
}

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
    slab: Slab,
    timers: Timers,
    events: Option<Events>,
    config: Config,
    stats: Stats,
    /// The time at the start of the current turn's dispatch.
    now: Instant,
    /// The sendfile fallback and the lingering close read into this.
    scratch: Vec<u8>,
    /// Fresh input is read here first when a channel buffers nothing, so
    /// idle channels hold no read buffer.
    read_buf: Vec<u8>,
    /// Reused when draining an outbox.
    cmds: Vec<Cmd>,
    on_close: Option<CloseHook>,
    on_panic: Option<PanicHook>,
    /// Whether file regions go out with `sendfile`: allowed by the config
    /// and `SIGPIPE` ignored when the reactor was made.
    sendfile: bool,
    /// The deadline of a graceful shutdown in progress.
    shutdown: Option<Instant>,
    listeners: usize,
    /// When free memory was last handed back, and `stats.closed` then.
    trimmed: (Instant, u64),
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
    fn report_panic(&mut self, site: PanicSite, payload: Box<dyn Any + Send>) {
        self.stats.loop_panics += 1;
        let msg = panic_message(&*payload);
        // Dropping a payload can panic too.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
        if let Some(hook) = &mut self.on_panic {
            let _ = catch_unwind(AssertUnwindSafe(|| hook(site, &msg)));
        }
    }

    // ----- sources -----

    /// Listens on `listener` (made non-blocking); `make` is called with each
    /// accepted peer's address and returns its handler, or `None` to refuse
    /// the connection.
    pub fn listen<H, F>(&mut self, listener: TcpListener, mut make: F) -> io::Result<ListenerId>
    where
        H: Handler,
        F: FnMut(SocketAddr) -> Option<H> + 'static,
    {
        listener.set_nonblocking(true)?;
        let id = self.slab.reserve();
        if let Err(e) = sys::register(&self.shared.poller, &listener, Event::readable(id.key())) {
            self.slab.release(id);
            return Err(e);
        }
        let make: MakeHandler = Box::new(move |a| make(a).map(|h| Box::new(h) as Box<dyn Handler>));
        self.slab.put(
            id,
            Entry::Listener(Box::new(Listener {
                id,
                sock: listener,
                make,
                paused: false,
            })),
        );
        self.listeners += 1;
        Ok(ListenerId(id))
    }

    /// Stops a listener; true if it was listening.
    pub fn unlisten(&mut self, id: ListenerId) -> bool {
        match self.slab.take_listener(id.0) {
            Some(l) => {
                sys::deregister(&self.shared.poller, &l.sock);
                self.slab.release(id.0);
                self.listeners -= 1;
                true
            }
            None => false,
        }
    }

    /// The local address of a listener.
    pub fn listener_addr(&mut self, id: ListenerId) -> Option<SocketAddr> {
        match self.slab.slot(id.0)? {
            Entry::Listener(l) => l.sock.local_addr().ok(),
            _ => None,
        }
    }

    /// Makes a channel of an already connected stream; `handler.on_open`
    /// runs at once.
    pub fn adopt(&mut self, stream: TcpStream, handler: impl Handler) -> io::Result<ChannelId> {
        self.open(stream, Box::new(handler), Phase::Open)
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
        self.open(sock.into(), Box::new(handler), Phase::Connecting)
    }

    /// An [`Outbox`] for channel `id`, if it is open.
    pub fn outbox(&mut self, id: ChannelId) -> Option<Outbox> {
        let shared = self.shared.clone();
        match self.slab.slot(id)? {
            Entry::Channel(c) => Some(Outbox {
                inbox: c.core.inbox(&shared),
            }),
            _ => None,
        }
    }

    /// The output bytes channel `id` holds queued, if it is open.
    pub fn queued(&mut self, id: ChannelId) -> Option<usize> {
        match self.slab.slot(id)? {
            Entry::Channel(c) => Some(c.core.out.queued()),
            _ => None,
        }
    }

    /// Closes channel `id` now, dropping its queued output; true if it was
    /// open.
    pub fn close(&mut self, id: ChannelId) -> bool {
        self.with_channel(id, |_, core, _| {
            core.close.get_or_insert(CloseReason::Aborted);
        })
    }

    fn open(
        &mut self,
        stream: TcpStream,
        handler: Box<dyn Handler>,
        phase: Phase,
    ) -> io::Result<ChannelId> {
        sys::configure(&stream, &self.config)?;
        let id = self.slab.reserve();
        let c = &self.config;
        let limits = Limits {
            low: c.low_watermark.min(c.high_watermark),
            high: c.high_watermark,
            max_write: c.max_write.max(1),
            read_size: c.read_size.max(1),
            idle: c.idle_timeout,
            read: c.read_timeout,
            write: c.write_timeout,
        };
        let now = Instant::now();
        let mut core = Core::new(id, stream, phase, limits, c.input_budget, now);
        let want = core.wanted();
        if let Err(e) = sys::register(
            &self.shared.poller,
            &core.sock,
            Event::new(id.key(), want.read, want.write),
        ) {
            self.slab.release(id);
            return Err(e);
        }
        core.interest = want;
        self.slab
            .put(id, Entry::Channel(Box::new(Channel { core, handler })));
        self.stats.channels += 1;
        if phase == Phase::Open {
            self.with_channel(id, |r, core, handler| {
                r.call(core, handler, |h, cx| h.on_open(cx));
            });
        }
        Ok(id)
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
            let ev = Ev {
                readable: ev.readable,
                writable: ev.writable,
            };
            match self.slab.slot(id) {
                Some(Entry::Channel(_)) => self.service(id, ev),
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
                self.with_channel(id, |_, core, _| {
                    core.close.get_or_insert(CloseReason::Shutdown);
                });
            }
        }
        Ok(())
    }

    fn begin_shutdown(&mut self, deadline: Instant) {
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

    fn run_timers(&mut self) {
        let now = Instant::now();
        while let Some((at, due)) = self.timers.pop_due(now) {
            match due {
                Due::Callback(id) => {
                    let Some((mut f, period)) = self.timers.take(id) else {
                        continue;
                    };
                    self.stats.timers += 1;
                    let r = catch_unwind(AssertUnwindSafe(|| f(self)));
                    let cancelled = self.timers.finish_call();
                    if let Err(p) = r {
                        // Like a channel whose handler panicked, a timer
                        // that panicked is done: its state may be broken.
                        let _ = catch_unwind(AssertUnwindSafe(move || drop(f)));
                        self.report_panic(PanicSite::Timer(id), p);
                        continue;
                    }
                    if let Some(p) = period
                        && !cancelled
                    {
                        self.timers.put_back(id, f, p, (at + p).max(now));
                    }
                }
                Due::Channel(id) => {
                    self.with_channel(id, |r, core, handler| {
                        if core.timer_at != Some(at) {
                            return; // stale
                        }
                        core.timer_at = None;
                        r.expire(core, handler);
                    });
                }
                Due::Listener(id) => {
                    if let Some(Entry::Listener(l)) = self.slab.slot(id)
                        && l.paused
                    {
                        l.paused = false;
                        let _ = sys::reregister(
                            &self.shared.poller,
                            &l.sock,
                            Event::readable(id.key()),
                        );
                    }
                }
            }
        }
    }

    // ----- listeners -----

    fn accept(&mut self, id: ChannelId) {
        let Some(mut l) = self.slab.take_listener(id) else {
            return;
        };
        for _ in 0..self.config.accept_batch.max(1) {
            match l.sock.accept() {
                Ok((s, addr)) => {
                    self.stats.accepted += 1;
                    match catch_unwind(AssertUnwindSafe(|| (l.make)(addr))) {
                        // A failure here (the socket could not be
                        // registered) drops the connection.
                        Ok(Some(h)) => {
                            let _ = self.open(s, h, Phase::Open);
                        }
                        Ok(None) => {}
                        Err(p) => self.report_panic(PanicSite::Accept(ListenerId(id)), p),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if sys::is_transient_accept_error(&e) => continue,
                Err(e) => {
                    // Out of descriptors (or an unexpected error): stop
                    // accepting for a while instead of spinning on a
                    // level-triggered listener; existing channels go on.
                    if !sys::is_resource_exhausted(&e) {
                        self.stats.accept_errors += 1;
                    }
                    self.stats.accept_pauses += 1;
                    l.paused = true;
                    let _ = sys::reregister(&self.shared.poller, &l.sock, Event::none(id.key()));
                    self.timers
                        .schedule(self.now + self.config.accept_backoff, Due::Listener(id));
                    break;
                }
            }
        }
        self.slab.put(id, Entry::Listener(l));
    }

    // ----- channels -----

    /// Takes channel `id` out of the slab, runs `f` on it with panics
    /// caught, [drives](Reactor::drive) it, then settles it (closes it, or
    /// updates its interest and timer and puts it back). False if `id` is
    /// not an open channel.
    ///
    /// Every path into a channel goes through here, so whatever `f` queued
    /// (a handler callback, consumers run, a wake-up, a timeout) is written
    /// or has write interest armed before the channel is put back.
    fn with_channel(
        &mut self,
        id: ChannelId,
        f: impl FnOnce(&mut Reactor, &mut Core, &mut dyn Handler),
    ) -> bool {
        let Some(mut ch) = self.slab.take_channel(id) else {
            return false;
        };
        let guard = Inbox::servicing(ch.core.inbox.as_ref());
        let Channel { core, handler } = &mut *ch;
        let r = catch_unwind(AssertUnwindSafe(|| {
            f(self, core, &mut **handler);
            self.drive(core, &mut **handler);
        }));
        drop(guard);
        if let Err(p) = r {
            self.stats.panics += 1;
            ch.core.close = Some(CloseReason::Panicked(panic_message(&*p)));
        }
        self.settle(ch);
        true
    }

    fn settle(&mut self, mut ch: Box<Channel>) {
        let id = ch.core.id;
        if let Some(reason) = ch.core.close.take() {
            self.finish(ch, reason);
            return;
        }
        let core = &mut ch.core;
        let want = core.wanted();
        if want != core.interest {
            if let Err(e) = sys::reregister(
                &self.shared.poller,
                &core.sock,
                Event::new(id.key(), want.read, want.write),
            ) {
                self.finish(ch, CloseReason::Io(e));
                return;
            }
            core.interest = want;
        }
        if let Some(at) = core.next_deadline()
            && core.timer_at.is_none_or(|t| at < t)
        {
            core.timer_at = Some(at);
            self.timers.schedule(at, Due::Channel(id));
        }
        let queued = core.out.queued();
        self.stats.max_queued = self.stats.max_queued.max(queued);
        let drained = match &core.inbox {
            Some(inbox) => inbox.settle(queued, core.limits.low, core.limits.high),
            None => Vec::new(),
        };
        self.slab.put(id, Entry::Channel(ch));
        self.run_drained(drained);
    }

    /// Ends a channel's turn: writes what is queued, and while something
    /// may have let the consumers take input they left buffered (a
    /// wake-up, a consumer queued, a pause lifted — by this very write,
    /// too), hands it to them again and writes what they queued. Bounded
    /// per turn; what is left is taken up in the next one.
    fn drive(&mut self, core: &mut Core, handler: &mut dyn Handler) {
        let mut rounds = 0;
        loop {
            self.flush(core);
            if !core.recheck {
                return;
            }
            if !core.processing() || core.input.buffered() == 0 {
                core.recheck = false;
                return;
            }
            if rounds == MAX_READS {
                // Keep `recheck`; a wake-up brings the channel back next
                // turn, after the others had theirs.
                core.waker(&self.shared).wake_by_ref();
                return;
            }
            rounds += 1;
            core.recheck = false;
            self.process_input(core, handler);
        }
    }

    /// Runs the callbacks waiting for a channel's output to drain.
    fn run_drained(&mut self, drained: Vec<Drained>) {
        for f in drained {
            if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
                self.report_panic(PanicSite::Drained, p);
            }
        }
    }

    fn finish(&mut self, mut ch: Box<Channel>, reason: CloseReason) {
        let id = ch.core.id;
        sys::deregister(&self.shared.poller, &ch.core.sock);
        let drained = match &ch.core.inbox {
            Some(inbox) => inbox.close(),
            None => Vec::new(),
        };
        self.run_drained(drained);
        self.stats.closed += 1;
        self.stats.channels -= 1;
        if !reason.is_clean() {
            self.stats.failed += 1;
        }
        let _ = catch_unwind(AssertUnwindSafe(|| ch.handler.on_close(&reason)));
        if let Some(hook) = &mut self.on_close
            && let Err(p) = catch_unwind(AssertUnwindSafe(|| hook(id, &reason)))
        {
            self.report_panic(PanicSite::CloseHook, p);
        }
        self.slab.release(id);
        // The handler's and the producers' `Drop` run here; a panic in them
        // must not take the loop down either.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(ch)));
    }

    /// Runs one handler callback; an error closes the channel. Outbox
    /// commands it queued are applied after it.
    fn call(
        &mut self,
        core: &mut Core,
        handler: &mut dyn Handler,
        f: impl FnOnce(&mut dyn Handler, &mut ChannelCtx<'_>) -> io::Result<()>,
    ) {
        let r = f(
            handler,
            &mut ChannelCtx {
                core: &mut *core,
                reactor: self,
            },
        );
        if let Err(e) = r {
            core.close.get_or_insert(CloseReason::Handler(e));
        }
        self.apply_inbox(core);
    }

    fn apply_inbox(&mut self, core: &mut Core) {
        let Some(inbox) = &core.inbox else { return };
        let inbox = inbox.clone();
        let mut cmds = std::mem::take(&mut self.cmds);
        inbox.drain(&mut cmds);
        for cmd in cmds.drain(..) {
            core.apply(cmd);
        }
        self.cmds = cmds;
    }

    fn wake_channel(&mut self, id: ChannelId) {
        self.stats.wakeups += 1;
        self.with_channel(id, |r, core, _| {
            if let Some(w) = &core.waker {
                w.taken();
            }
            if core.phase == Phase::Connecting {
                return;
            }
            r.apply_inbox(core);
            // Whatever woke the channel (a producer, an outbox, a consumer's
            // own waker) may let its consumers take what they left buffered:
            // `drive` hands it on once written output allows.
            core.recheck = true;
        });
    }

    fn service(&mut self, id: ChannelId, ev: Ev) {
        self.with_channel(id, |r, core, handler| {
            let wanted = core.interest;
            let got = Interest {
                read: ev.readable,
                write: ev.writable,
            };
            if !(got.read && wanted.read || got.write && wanted.write) {
                // Nothing asked for: with no interest registered only an
                // error or a hang-up is reported. Twice in a row is not a
                // stale event.
                core.unwanted += 1;
                if core.unwanted >= 2 {
                    let e = core.sock.take_error().ok().flatten().unwrap_or_else(|| {
                        io::Error::new(io::ErrorKind::ConnectionReset, "peer hung up")
                    });
                    core.close.get_or_insert(CloseReason::Io(e));
                }
                return;
            }
            core.unwanted = 0;
            match core.phase {
                Phase::Connecting => {
                    let failed = match core.sock.take_error() {
                        Ok(Some(e)) | Err(e) => Some(e),
                        Ok(None) => core.sock.peer_addr().err(),
                    };
                    match failed {
                        Some(e) => {
                            let _ =
                                catch_unwind(AssertUnwindSafe(|| handler.on_connect_failed(&e)));
                            core.close = Some(CloseReason::ConnectFailed(e));
                        }
                        None => {
                            core.phase = Phase::Open;
                            core.last_io = r.now;
                            r.stats.connected += 1;
                            r.call(core, handler, |h, cx| h.on_connect(cx));
                        }
                    }
                    return;
                }
                Phase::Lingering { .. } => {
                    r.linger(core);
                    return;
                }
                Phase::Open | Phase::Draining => {}
            }
            if ev.readable && core.reading() {
                r.read(core, handler);
            }
        });
    }

    /// Reads up to [`MAX_READS`] times, handing the input to the consumers
    /// after each read.
    fn read(&mut self, core: &mut Core, handler: &mut dyn Handler) {
        for _ in 0..MAX_READS {
            if !core.reading() {
                return;
            }
            let room = core.input.room().min(core.limits.read_size);
            let r = if core.input.buffered() == 0 {
                // Read into the loop's buffer and copy what came, so a
                // channel between frames holds no read buffer.
                self.read_buf.resize(self.config.read_size.max(room), 0);
                match sys::read(&core.sock, &mut self.read_buf[..room]) {
                    Ok(n) => {
                        core.input.read_buf().extend_from_slice(&self.read_buf[..n]);
                        Ok(n)
                    }
                    Err(e) => Err(e),
                }
            } else {
                sys::read_into(&core.sock, core.input.read_buf(), room)
            };
            match r {
                Ok(0) => {
                    self.peer_closed(core, handler);
                    return;
                }
                Ok(n) => {
                    self.stats.bytes_read += n as u64;
                    core.last_io = self.now;
                    self.process_input(core, handler);
                    if n < room {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    core.close.get_or_insert(CloseReason::Io(e));
                    return;
                }
            }
        }
    }

    fn process_input(&mut self, core: &mut Core, handler: &mut dyn Handler) {
        if let Some(inbox) = &core.inbox {
            inbox.set_queued(core.out.queued());
        }
        let ending = core.input.is_ending();
        if let Err(e) = core.input.process() {
            core.close.get_or_insert(CloseReason::Handler(e.into()));
            return;
        }
        self.apply_inbox(core);
        if ending && core.input.is_ended() {
            // The held input the peer sent before its end is all taken:
            // the end reaches the handler now.
            self.call(core, handler, |h, cx| h.on_peer_closed(cx));
            return;
        }
        if core.input.is_ending() {
            // No frame can still be completed by the peer: no read timeout.
            core.frame_since = None;
        } else {
            core.track_frames(self.now);
        }
        if core.check_high() {
            self.stats.read_pauses += 1;
        }
    }

    fn peer_closed(&mut self, core: &mut Core, handler: &mut dyn Handler) {
        if let Err(e) = core.input.eof() {
            core.close.get_or_insert(CloseReason::Handler(e.into()));
            return;
        }
        core.frame_since = None;
        self.apply_inbox(core);
        if core.input.is_ending() {
            // A consumer holds input it has not taken yet (paused until a
            // wake-up): `process_input` tells the handler once it has.
            return;
        }
        self.call(core, handler, |h, cx| h.on_peer_closed(cx));
    }

    /// Writes what is ready, pulling from producers, until the socket is
    /// full, a producer is pending, the queue is empty or the turn's
    /// budget is spent; then finishes a close or shutdown that waited for
    /// the queue.
    fn flush(&mut self, core: &mut Core) {
        if core.close.is_some() || matches!(core.phase, Phase::Connecting | Phase::Lingering { .. })
        {
            return;
        }
        let waker = core.waker(&self.shared);
        let mut cx = Context::from_waker(&waker);
        let max = core.limits.max_write;
        let mut writes = 0;
        loop {
            // Producers are pulled only while the queue holds less memory
            // than the high watermark: a peer that does not read holds at
            // most that (plus one chunk) of its producers' output.
            if let Err(e) = core.out.fill(&mut cx, max as u64, core.limits.high) {
                core.close = Some(CloseReason::Producer(e));
                return;
            }
            if !core.out.has_ready() {
                core.blocked_since = None;
                break;
            }
            if writes == MAX_WRITES {
                break;
            }
            writes += 1;
            self.stats.writes += 1;
            if self.sendfile && core.out.front_is_file() {
                self.stats.sendfiles += 1;
            }
            match core
                .out
                .write(&core.sock, max, &mut self.scratch, self.sendfile)
            {
                Ok(Wrote::All(n)) => {
                    self.stats.bytes_written += n as u64;
                    core.last_io = self.now;
                    core.blocked_since = None;
                }
                Ok(Wrote::Partial(n)) => {
                    if n > 0 {
                        self.stats.bytes_written += n as u64;
                        core.last_io = self.now;
                        core.blocked_since = Some(self.now);
                    } else {
                        core.blocked_since.get_or_insert(self.now);
                    }
                    break;
                }
                Err(e) => {
                    core.close = Some(CloseReason::Io(e));
                    return;
                }
            }
        }
        core.check_low();
        if !core.out.is_empty() {
            return;
        }
        if core.write_side == WriteSide::ShutWhenDone {
            core.write_side = WriteSide::Shut;
            let _ = core.sock.shutdown(std::net::Shutdown::Write);
        }
        if core.phase == Phase::Draining {
            if core.input.is_ended() {
                core.close = Some(CloseReason::Done);
            } else {
                // Lingering close: FIN first, then drop what the peer still
                // sends until its FIN, so our close does not turn into a
                // reset that destroys the last bytes in flight.
                core.write_side = WriteSide::Shut;
                let _ = core.sock.shutdown(std::net::Shutdown::Write);
                core.phase = Phase::Lingering {
                    until: self.now + self.config.linger,
                };
                self.linger(core);
            }
        }
    }

    fn linger(&mut self, core: &mut Core) {
        self.scratch.resize(self.scratch.len().max(16 << 10), 0);
        for _ in 0..MAX_READS {
            match sys::read(&core.sock, &mut self.scratch) {
                Ok(0) | Err(_) => {
                    // The peer's end (or an error): nothing can still be
                    // lost.
                    core.close = Some(CloseReason::Done);
                    return;
                }
                Ok(_) => {}
            }
        }
    }

    fn expire(&mut self, core: &mut Core, handler: &mut dyn Handler) {
        let now = Instant::now();
        if let Phase::Lingering { until } = core.phase
            && now >= until
        {
            core.close = Some(CloseReason::Done);
            return;
        }
        let Some(which) = core.expired(now) else {
            return;
        };
        let r = handler.on_timeout(
            &mut ChannelCtx {
                core: &mut *core,
                reactor: self,
            },
            which,
        );
        match r {
            Ok(()) => core.restart(which, now),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                core.close.get_or_insert(CloseReason::Timeout(which));
            }
            Err(e) => {
                core.close.get_or_insert(CloseReason::Handler(e));
            }
        }
        self.apply_inbox(core);
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        // Keep the promise made to `Poller::add_with_mode`: no source is
        // closed while registered.
        for s in &self.slab.slots {
            match &s.entry {
                Entry::Channel(c) => sys::deregister(&self.shared.poller, &c.core.sock),
                Entry::Listener(l) => sys::deregister(&self.shared.poller, &l.sock),
                _ => {}
            }
        }
    }
}
