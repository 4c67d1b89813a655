//! The readiness poller: level-triggered interest per source, a wait with
//! an optional timeout, and a notification that wakes the wait from any
//! thread.
//!
//! On Linux and Android it is epoll, called directly: a loop turn costs
//! one `epoll_wait` and nothing else. (The `polling` crate's epoll backend
//! arms a `timerfd` and re-registers it, and reads and re-registers its
//! notification `eventfd`, on every wait: four system calls a turn that
//! the reactor does not need, since its timeouts have millisecond
//! precision and its wake-ups are rare.) The notification is an `eventfd`
//! registered edge-triggered: a wake-up is one `write` from the waking
//! thread and costs the loop nothing; the counter is never read but to
//! reset it, should it ever be about to overflow.
//!
//! Elsewhere (kqueue) it is the `polling` crate.

/// Readiness to read and to write: the interest registered for a source,
/// an event reported for it, and the interest a channel's state asks for
/// ([`State::wanted`](super::state::State::wanted)) are all this one type.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Readiness(u8);

impl Readiness {
    /// Neither.
    pub(crate) const NONE: Readiness = Readiness(0);
    /// Readable (or, reported: an error or hang-up as well).
    pub(crate) const READ: Readiness = Readiness(1);
    /// Writable (or, reported: an error or hang-up as well).
    pub(crate) const WRITE: Readiness = Readiness(2);

    pub(crate) fn new(read: bool, write: bool) -> Readiness {
        Readiness(u8::from(read) | (u8::from(write) << 1))
    }

    pub(crate) fn is_read(self) -> bool {
        self.0 & Readiness::READ.0 != 0
    }

    pub(crate) fn is_write(self) -> bool {
        self.0 & Readiness::WRITE.0 != 0
    }

    /// Whether `self` and `other` share a direction: an event meets the
    /// interest it was registered for.
    pub(crate) fn meets(self, other: Readiness) -> bool {
        self.0 & other.0 != 0
    }
}

impl std::ops::BitOr for Readiness {
    type Output = Readiness;
    fn bitor(self, rhs: Readiness) -> Readiness {
        Readiness(self.0 | rhs.0)
    }
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            0 => "None",
            1 => "Read",
            2 => "Write",
            _ => "Both",
        })
    }
}

/// The interest of one source, or one reported event: its key and its
/// readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) key: usize,
    pub(crate) ready: Readiness,
}

impl Event {
    pub(crate) fn new(key: usize, ready: Readiness) -> Event {
        Event { key, ready }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use self::epoll::{Events, Poller};
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) use self::portable::{Events, Poller};

#[cfg(any(target_os = "linux", target_os = "android"))]
mod epoll {
    use std::io;
    use std::os::fd::{AsFd, OwnedFd};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use rustix::buffer::spare_capacity;
    use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
    use rustix::event::{EventfdFlags, Timespec, eventfd};

    use super::{Event, Readiness};

    /// The key of the notification `eventfd`; no channel key is this (their
    /// generation bits are masked to 31).
    const NOTIFY: u64 = u64::MAX;

    /// An epoll instance with a notification `eventfd`.
    #[derive(Debug)]
    pub(crate) struct Poller {
        epoll: OwnedFd,
        notifier: OwnedFd,
        /// Set by a notification, cleared after each wait: a burst of
        /// notifications writes once.
        notified: AtomicBool,
    }

    /// Reported events.
    pub(crate) struct Events {
        list: Vec<epoll::Event>,
    }

    impl std::fmt::Debug for Events {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Events")
                .field("len", &self.list.len())
                .finish()
        }
    }

    impl Events {
        pub(crate) fn with_capacity(n: usize) -> Events {
            Events {
                list: Vec::with_capacity(n.max(1)),
            }
        }

        pub(crate) fn clear(&mut self) {
            self.list.clear();
        }

        /// The events of registered sources (not the notification).
        pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
            self.list
                .iter()
                .filter(|e| e.data.u64() != NOTIFY)
                .map(|e| {
                    let f = e.flags;
                    Event::new(
                        e.data.u64() as usize,
                        Readiness::new(f.intersects(read_flags()), f.intersects(write_flags())),
                    )
                })
        }
    }

    fn read_flags() -> EventFlags {
        EventFlags::IN | EventFlags::HUP | EventFlags::ERR | EventFlags::PRI
    }

    fn write_flags() -> EventFlags {
        EventFlags::OUT | EventFlags::HUP | EventFlags::ERR
    }

    /// Level-triggered flags for `ev`.
    fn flags(ev: Event) -> EventFlags {
        let mut f = EventFlags::empty();
        if ev.ready.is_read() {
            f |= read_flags();
        }
        if ev.ready.is_write() {
            f |= write_flags();
        }
        f
    }

    impl Poller {
        pub(crate) fn new() -> io::Result<Poller> {
            let epoll = epoll::create(CreateFlags::CLOEXEC)?;
            let notifier = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
            epoll::add(
                &epoll,
                &notifier,
                EventData::new_u64(NOTIFY),
                EventFlags::IN | EventFlags::ET,
            )?;
            Ok(Poller {
                epoll,
                notifier,
                notified: AtomicBool::new(false),
            })
        }

        /// Adds `source` with interest `ev`, level-triggered.
        pub(crate) fn add(&self, source: impl AsFd, ev: Event) -> io::Result<()> {
            epoll::add(
                &self.epoll,
                source,
                EventData::new_u64(ev.key as u64),
                flags(ev),
            )?;
            Ok(())
        }

        pub(crate) fn modify(&self, source: impl AsFd, ev: Event) -> io::Result<()> {
            epoll::modify(
                &self.epoll,
                source,
                EventData::new_u64(ev.key as u64),
                flags(ev),
            )?;
            Ok(())
        }

        pub(crate) fn delete(&self, source: impl AsFd) -> io::Result<()> {
            epoll::delete(&self.epoll, source)?;
            Ok(())
        }

        /// One `epoll_wait` of at most `timeout` (rounded up to the
        /// millisecond; `None`: until an event). A signal ends it early with
        /// no events.
        pub(crate) fn wait(
            &self,
            events: &mut Events,
            timeout: Option<Duration>,
        ) -> io::Result<()> {
            events.list.clear();
            let ts = timeout.map(|d| Timespec {
                tv_sec: d.as_secs().try_into().unwrap_or(i64::MAX),
                tv_nsec: d.subsec_nanos().into(),
            });
            let r = epoll::wait(&self.epoll, spare_capacity(&mut events.list), ts.as_ref());
            self.notified.store(false, Ordering::SeqCst);
            match r {
                Ok(_) => Ok(()),
                Err(rustix::io::Errno::INTR) => {
                    events.list.clear();
                    Ok(())
                }
                Err(e) => Err(e.into()),
            }
        }

        /// Wakes the current or next [`wait`](Poller::wait).
        pub(crate) fn notify(&self) -> io::Result<()> {
            if self.notified.swap(true, Ordering::SeqCst) {
                return Ok(());
            }
            let one = 1u64.to_ne_bytes();
            loop {
                match rustix::io::write(&self.notifier, &one) {
                    Ok(_) => return Ok(()),
                    Err(rustix::io::Errno::INTR) => {}
                    Err(rustix::io::Errno::AGAIN) => {
                        // The counter is about to overflow (never read
                        // otherwise): reset it, then write again.
                        let mut buf = [0; 8];
                        let _ = rustix::io::read(&self.notifier, &mut buf);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod portable {
    use std::io;
    use std::num::NonZeroUsize;
    use std::os::fd::AsFd;
    use std::time::Duration;

    use polling::PollMode;

    use super::{Event, Readiness};

    /// The `polling` crate's poller, level-triggered.
    #[derive(Debug)]
    pub(crate) struct Poller(polling::Poller);

    /// Reported events.
    #[derive(Debug)]
    pub(crate) struct Events(polling::Events);

    impl Events {
        pub(crate) fn with_capacity(n: usize) -> Events {
            Events(polling::Events::with_capacity(
                NonZeroUsize::new(n.max(1)).expect("at least 1"),
            ))
        }

        pub(crate) fn clear(&mut self) {
            self.0.clear();
        }

        pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
            self.0
                .iter()
                .map(|e| Event::new(e.key, Readiness::new(e.readable, e.writable)))
        }
    }

    fn ev(e: Event) -> polling::Event {
        polling::Event::new(e.key, e.ready.is_read(), e.ready.is_write())
    }

    impl Poller {
        pub(crate) fn new() -> io::Result<Poller> {
            let p = polling::Poller::new()?;
            if !p.supports_level() {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "the poller does not support level-triggered mode",
                ));
            }
            Ok(Poller(p))
        }

        /// Adds `source` with interest `e`, level-triggered.
        ///
        /// The caller keeps `source` open until [`delete`](Poller::delete)
        /// has been called for it: the contract of
        /// `polling::Poller::add_with_mode`.
        #[allow(unsafe_code)]
        pub(crate) fn add(&self, source: impl AsFd, e: Event) -> io::Result<()> {
            let raw = std::os::fd::AsRawFd::as_raw_fd(&source.as_fd());
            // SAFETY: `polling` requires the source to be deleted from the
            // poller before it is closed. Every registered source is owned
            // by a reactor slot (a channel or a listener); the reactor
            // calls `delete` before it drops the slot on every close path
            // and for every remaining slot in its `Drop`, so the descriptor
            // is never closed while registered.
            unsafe { self.0.add_with_mode(raw, ev(e), PollMode::Level) }
        }

        pub(crate) fn modify(&self, source: impl AsFd, e: Event) -> io::Result<()> {
            self.0.modify_with_mode(source, ev(e), PollMode::Level)
        }

        pub(crate) fn delete(&self, source: impl AsFd) -> io::Result<()> {
            self.0.delete(source)
        }

        pub(crate) fn wait(
            &self,
            events: &mut Events,
            timeout: Option<Duration>,
        ) -> io::Result<()> {
            self.0.wait(&mut events.0, timeout).map(drop)
        }

        pub(crate) fn notify(&self) -> io::Result<()> {
            self.0.notify()
        }
    }
}

/// The poller keeps no state a test needs beyond the OS's; its behaviour is
/// tested through the reactor. This checks the notification and the
/// timeout directly.
#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::time::{Duration, Instant};

    #[test]
    fn notify_wakes_a_wait_and_is_not_reported_as_an_event() -> io::Result<()> {
        let p = Poller::new()?;
        let mut ev = Events::with_capacity(8);
        p.notify()?;
        p.notify()?;
        let t = Instant::now();
        p.wait(&mut ev, Some(Duration::from_secs(10)))?;
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(ev.iter().count(), 0);
        // Consumed: the next wait times out.
        p.wait(&mut ev, Some(Duration::from_millis(1)))?;
        assert_eq!(ev.iter().count(), 0);
        Ok(())
    }

    #[test]
    fn level_triggered_readiness_until_consumed() -> io::Result<()> {
        use std::io::Write;
        let p = Poller::new()?;
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let mut a = std::net::TcpStream::connect(l.local_addr()?)?;
        let (b, _) = l.accept()?;
        p.add(&b, Event::new(7, Readiness::READ))?;
        a.write_all(b"x")?;
        let mut ev = Events::with_capacity(8);
        for _ in 0..2 {
            p.wait(&mut ev, Some(Duration::from_secs(5)))?;
            let got: Vec<Event> = ev.iter().collect();
            assert_eq!(got, [Event::new(7, Readiness::READ)]);
        }
        p.modify(&b, Event::new(7, Readiness::NONE))?;
        p.wait(&mut ev, Some(Duration::ZERO))?;
        assert_eq!(ev.iter().count(), 0);
        p.delete(&b)?;
        Ok(())
    }
}
