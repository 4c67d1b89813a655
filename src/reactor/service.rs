//! Servicing a channel: readiness dispatched by state, reads handed to
//! the consumers, output flushed, the lingering close, and the drive that
//! ends every turn of a channel (contract rules 2, 4, 5, 7, 8).

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Context;

use super::channel::{Core, Phase, WriteSide};
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

    pub(super) fn wake_channel(&mut self, id: ChannelId) {
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
            if got.is_read() && core.reading() {
                r.read(core, handler);
            }
        });
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

    pub(super) fn process_input(&mut self, core: &mut Core, handler: &mut dyn Handler) {
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

    pub(super) fn peer_closed(&mut self, core: &mut Core, handler: &mut dyn Handler) {
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
    pub(super) fn flush(&mut self, core: &mut Core) {
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

    pub(super) fn linger(&mut self, core: &mut Core) {
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
}
