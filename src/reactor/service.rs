//! Servicing a channel: readiness dispatched by state, reads handed to
//! the consumers, output flushed, the lingering close, and the drive that
//! ends every turn of a channel (contract rules 2, 4, 5, 7, 8).

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Context;

use super::channel::Core;
use super::out_queue::Wrote;
use super::poller::Readiness;
use super::sys;
use super::{ChannelId, CloseReason, Handler, Reactor};

/// Most reads per channel per turn, so one busy peer cannot starve others.
pub(super) const MAX_READS: usize = 4;
/// Most writes per channel per turn, for the same reason.
const MAX_WRITES: usize = 8;

impl Reactor {
    /// Ends a channel's turn: writes what is queued, and while something
    /// may have let the consumers take input they left buffered (a
    /// wake-up, a consumer queued, a pause lifted — by this very write,
    /// too), hands it to them again and writes what they queued. Bounded
    /// per turn; what is left is taken up in the next one.
    pub(super) fn drive(&mut self, core: &mut Core, handler: &mut dyn Handler) {
        let mut rounds = 0;
        loop {
            self.flush(core);
            if !core.state.recheck {
                return;
            }
            if !core.state.processing() || core.input.buffered() == 0 {
                core.state.recheck = false;
                return;
            }
            if rounds == MAX_READS {
                // Keep `recheck`; a wake-up brings the channel back next
                // turn, after the others had theirs.
                core.waker(&self.shared).wake_by_ref();
                return;
            }
            rounds += 1;
            core.state.recheck = false;
            self.process_input(core, handler);
        }
    }

    pub(super) fn wake_channel(&mut self, id: ChannelId) {
        self.stats.wakeups += 1;
        self.with_channel(id, |r, core, _| {
            if let Some(w) = &core.waker {
                w.taken();
            }
            if core.state.is_connecting() {
                return;
            }
            r.apply_inbox(core);
            // Whatever woke the channel (a producer, an outbox, a consumer's
            // own waker) may let its consumers take what they left buffered:
            // `drive` hands it on once written output allows.
            core.state.recheck = true;
        });
    }

    pub(super) fn service(&mut self, id: ChannelId, got: Readiness) {
        self.with_channel(id, |r, core, handler| {
            if !got.meets(core.interest) {
                // Nothing asked for: with no interest registered only an
                // error or a hang-up is reported. Twice in a row is not a
                // stale event.
                core.unwanted += 1;
                if core.unwanted >= 2 {
                    let e = core.sock.take_error().ok().flatten().unwrap_or_else(|| {
                        io::Error::new(io::ErrorKind::ConnectionReset, "peer hung up")
                    });
                    core.close(CloseReason::Io(e));
                }
                return;
            }
            core.unwanted = 0;
            if core.state.is_connecting() {
                r.connect_done(core, handler);
            } else if core.state.is_lingering() {
                r.linger(core);
            } else if got.is_read() && core.reading() {
                r.read(core, handler);
            }
        });
    }

    /// An outgoing connect reported writability: it completed or failed.
    fn connect_done(&mut self, core: &mut Core, handler: &mut dyn Handler) {
        let failed = match core.sock.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => core.sock.peer_addr().err(),
        };
        match failed {
            Some(e) => {
                let _ = catch_unwind(AssertUnwindSafe(|| handler.on_connect_failed(&e)));
                core.close(CloseReason::ConnectFailed(e));
            }
            None => {
                core.state.connected();
                core.deadlines.last_io = self.now;
                self.stats.connected += 1;
                self.call(core, handler, |h, cx| h.on_connect(cx));
            }
        }
    }

    /// Reads up to [`MAX_READS`] times, handing the input to the consumers
    /// after each read.
    pub(super) fn read(&mut self, core: &mut Core, handler: &mut dyn Handler) {
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
                    core.deadlines.last_io = self.now;
                    self.process_input(core, handler);
                    if n < room {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    core.close(CloseReason::Io(e));
                    return;
                }
            }
        }
    }

    pub(super) fn process_input(&mut self, core: &mut Core, handler: &mut dyn Handler) {
        if let Some(inbox) = &core.inbox {
            inbox.set_queued(core.out.queued());
        }
        let ending = core.input.is_ending();
        if let Err(e) = core.input.process() {
            core.close(CloseReason::Handler(e.into()));
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
            core.deadlines.frame_since = None;
        } else {
            let (buffered, offset) = (core.input.buffered(), core.input.offset());
            core.deadlines.track_frames(buffered, offset, self.now);
        }
        if core.state.output_grew(core.out.queued(), core.limits.high) {
            self.stats.read_pauses += 1;
        }
    }

    pub(super) fn peer_closed(&mut self, core: &mut Core, handler: &mut dyn Handler) {
        if let Err(e) = core.input.eof() {
            core.close(CloseReason::Handler(e.into()));
            return;
        }
        core.deadlines.frame_since = None;
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
    pub(super) fn flush(&mut self, core: &mut Core) {
        if !core.state.flushing() {
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
                core.close(CloseReason::Producer(e));
                return;
            }
            if !core.out.has_ready() {
                core.deadlines.blocked_since = None;
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
                    core.deadlines.last_io = self.now;
                    core.deadlines.blocked_since = None;
                }
                Ok(Wrote::Partial(n)) => {
                    if n > 0 {
                        self.stats.bytes_written += n as u64;
                        core.deadlines.last_io = self.now;
                        core.deadlines.blocked_since = Some(self.now);
                    } else {
                        core.deadlines.blocked_since.get_or_insert(self.now);
                    }
                    break;
                }
                Err(e) => {
                    core.close(CloseReason::Io(e));
                    return;
                }
            }
        }
        core.state.output_shrank(core.out.queued(), core.limits.low);
        if !core.out.is_empty() {
            return;
        }
        let after = core
            .state
            .queue_empty(core.input.is_ended(), self.now + self.config.linger);
        if after.shut_write {
            let _ = core.sock.shutdown(std::net::Shutdown::Write);
        }
        if after.linger {
            self.linger(core);
        }
    }

    pub(super) fn linger(&mut self, core: &mut Core) {
        self.scratch.resize(self.scratch.len().max(16 << 10), 0);
        for _ in 0..MAX_READS {
            match sys::read(&core.sock, &mut self.scratch) {
                Ok(0) => {
                    // The peer's end: nothing can still be lost.
                    core.state.peer_gone();
                    return;
                }
                Ok(_) => {}
                // Nothing yet: linger on until the peer's end or the
                // deadline (closing now would answer what the peer sends
                // next with a reset).
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    // A reset or another error: the connection is gone.
                    core.state.peer_gone();
                    return;
                }
            }
        }
    }
}
