//! Accepting: listeners added and removed, connections accepted in
//! batches, and the backoff when descriptors run out (contract rule 13).

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::fault::PanicSite;
use super::listener::{Listener, ListenerId, MakeHandler};
use super::poller::{Event, Readiness};
use super::slab::Entry;
use super::sys;
use super::timer::Due;
use super::{ChannelId, Handler, Reactor};

impl Reactor {
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
        if let Err(e) = sys::register(
            &self.shared.poller,
            &listener,
            Event::new(id.key(), Readiness::READ),
        ) {
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

    pub(super) fn accept(&mut self, id: ChannelId) {
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
                            let _ = self.open(s, h, false);
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
                    let _ = sys::reregister(
                        &self.shared.poller,
                        &l.sock,
                        Event::new(id.key(), Readiness::NONE),
                    );
                    self.timers
                        .schedule(self.now + self.config.accept_backoff, Due::Listener(id));
                    break;
                }
            }
        }
        self.slab.put(id, Entry::Listener(l));
    }

    /// Ends a listener's backoff: it is polled again.
    pub(super) fn resume_listener(&mut self, id: ChannelId) {
        if let Some(Entry::Listener(l)) = self.slab.slot(id)
            && l.paused
        {
            l.paused = false;
            let _ = sys::reregister(
                &self.shared.poller,
                &l.sock,
                Event::new(id.key(), Readiness::READ),
            );
        }
    }
}
