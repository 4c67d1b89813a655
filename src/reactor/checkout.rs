//! Taking a channel out of the slab, running code on it, and putting it
//! back — or closing it. Every way into a channel (contract rule 8) goes
//! through [`Reactor::with_channel`], which ends by settling the channel:
//! its interest, its timer, its drained callbacks, or its close.

use std::io;
use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use super::channel::{Channel, Core};
use super::config::Limits;
use super::ctx::ChannelCtx;
use super::fault::{PanicSite, panic_message};
use super::outbox::{Drained, Inbox};
use super::poller::Event;
use super::slab::Entry;
use super::sys;
use super::timer::Due;
use super::{ChannelId, CloseReason, Handler, Reactor};

impl Reactor {
    pub(super) fn open(
        &mut self,
        stream: TcpStream,
        handler: Box<dyn Handler>,
        connecting: bool,
    ) -> io::Result<ChannelId> {
        sys::configure(&stream, &self.config)?;
        let id = self.slab.reserve();
        let c = &self.config;
        let limits = Limits::from_config(c);
        let now = Instant::now();
        let mut core = Core::new(id, stream, connecting, limits, c.input_budget, now);
        let want = core.wanted();
        if let Err(e) = sys::register(&self.shared.poller, &core.sock, Event::new(id.key(), want)) {
            self.slab.release(id);
            return Err(e);
        }
        core.interest = want;
        self.slab
            .put(id, Entry::Channel(Box::new(Channel { core, handler })));
        self.stats.channels += 1;
        if !connecting {
            self.with_channel(id, |r, core, handler| {
                r.call(core, handler, |h, cx| h.on_open(cx));
            });
        }
        Ok(id)
    }

    /// Takes channel `id` out of the slab, runs `f` on it with panics
    /// caught, [drives](Reactor::drive) it, then settles it (closes it, or
    /// updates its interest and timer and puts it back). False if `id` is
    /// not an open channel.
    ///
    /// Every path into a channel goes through here, so whatever `f` queued
    /// (a handler callback, consumers run, a wake-up, a timeout) is written
    /// or has write interest armed before the channel is put back.
    pub(super) fn with_channel(
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
            ch.core
                .state
                .fail(CloseReason::Panicked(panic_message(&*p)));
        }
        self.settle(ch);
        true
    }

    pub(super) fn settle(&mut self, mut ch: Box<Channel>) {
        let id = ch.core.id;
        if let Some(reason) = ch.core.state.take_close() {
            self.finish(ch, reason);
            return;
        }
        let core = &mut ch.core;
        let want = core.wanted();
        if want != core.interest {
            if let Err(e) =
                sys::reregister(&self.shared.poller, &core.sock, Event::new(id.key(), want))
            {
                self.finish(ch, CloseReason::Io(e));
                return;
            }
            core.interest = want;
        }
        if let Some(at) = core.next_deadline()
            && core.deadlines.timer_at.is_none_or(|t| at < t)
        {
            core.deadlines.timer_at = Some(at);
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

    /// Runs the callbacks waiting for a channel's output to drain.
    pub(super) fn run_drained(&mut self, drained: Vec<Drained>) {
        for f in drained {
            if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
                self.report_panic(PanicSite::Drained, p);
            }
        }
    }

    pub(super) fn finish(&mut self, mut ch: Box<Channel>, reason: CloseReason) {
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
    pub(super) fn call(
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
            core.close(CloseReason::Handler(e));
        }
        self.apply_inbox(core);
    }

    pub(super) fn apply_inbox(&mut self, core: &mut Core) {
        let Some(inbox) = &core.inbox else { return };
        let inbox = inbox.clone();
        let mut cmds = std::mem::take(&mut self.cmds);
        inbox.drain(&mut cmds);
        for cmd in cmds.drain(..) {
            core.apply(cmd);
        }
        self.cmds = cmds;
    }
}
