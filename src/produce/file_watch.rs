//! [`FileWatch`]: what wakes a [`Followed`](super::Followed) producer when its
//! file may have changed (crate-private).
//!
//! Two ways, chosen once per watch:
//!
//! - **inotify** (Linux, with rustix: features `reactor` or `tokio`): one
//!   inotify descriptor for the whole process and one thread blocked reading
//!   it, however many files are followed. A watch subscribes to its file's
//!   inode (`IN_MODIFY`, `IN_ATTRIB`, `IN_MOVE_SELF`, `IN_DELETE_SELF`) and
//!   to its parent directory, filtered by the file's name (`IN_CREATE`,
//!   `IN_MOVED_TO`: a new file at the path after a rotation). The thread
//!   wakes exactly the subscribers of the event's watch descriptor, so an
//!   idle follower costs nothing: no timer, no poll, no wake-up. Several
//!   followers of one inode share its watch descriptor (the kernel returns
//!   the same one); it is removed when the last of them goes.
//! - **polling** (elsewhere, or when inotify cannot be had: no descriptor,
//!   `max_user_watches` reached): one thread wakes every polled follower
//!   every [`POLL_PERIOD`] (100 ms, what Medusa's `tail_f_producer` and
//!   supervisor used), and sleeps on a condition variable when there is none.
//!
//! Why a thread and not the reactor: a `Followed` producer works wherever a
//! producer is polled — the reactor, the tokio adapters, a blocking
//! [`more`](crate::Producer::more) — so its wake-ups come through its
//! [`Waker`], like any producer's, and the one thread serves them all.
//!
//! A waker is taken when woken: events between a wake-up and the next poll
//! wake nobody again, and the poll that follows reads whatever they meant.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::Waker;
use std::thread;
use std::time::Duration;

/// How often a polled follower is woken: 100 ms.
pub(crate) const POLL_PERIOD: Duration = Duration::from_millis(100);

/// Where one follower's waker is kept, shared with the thread that wakes it.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    waker: Mutex<Option<Waker>>,
}

impl Slot {
    /// Keeps `waker` (unless the one kept already wakes the same task).
    pub(crate) fn register(&self, waker: &Waker) {
        let mut w = lock(&self.waker);
        match &*w {
            Some(old) if old.will_wake(waker) => {}
            _ => *w = Some(waker.clone()),
        }
    }

    /// Wakes the task kept, if any, and forgets it.
    fn wake(&self) {
        let w = lock(&self.waker).take();
        if let Some(w) = w {
            w.wake();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain data behind.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A follower's subscription; unsubscribed when dropped.
#[derive(Debug)]
pub(crate) struct FileWatch {
    id: u64,
    /// Kept to subscribe the new inode after a rotation (inotify only).
    #[cfg_attr(
        not(all(target_os = "linux", any(feature = "reactor", feature = "tokio"))),
        allow(dead_code)
    )]
    slot: Arc<Slot>,
    how: How,
}

#[derive(Debug)]
enum How {
    /// inotify watch descriptors: the file's inode (none once it could not
    /// be watched again) and its directory.
    #[cfg(all(target_os = "linux", any(feature = "reactor", feature = "tokio")))]
    Inotify { file: Option<i32>, dir: Option<i32> },
    /// Woken every [`POLL_PERIOD`].
    Polled,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl FileWatch {
    /// Watches `path` (its inode and its name in its directory), waking
    /// `slot`'s waker; inotify where it can, polling otherwise.
    pub(crate) fn new(path: &Path, slot: Arc<Slot>) -> FileWatch {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        #[cfg(all(target_os = "linux", any(feature = "reactor", feature = "tokio")))]
        if let Some(how) = inotify::subscribe(path, id, &slot) {
            return FileWatch { id, slot, how };
        }
        let _ = path;
        polled().subscribe(id, slot.clone());
        FileWatch {
            id,
            slot,
            how: How::Polled,
        }
    }

    /// Whether this watch is woken by polling rather than by the kernel.
    pub(crate) fn is_polled(&self) -> bool {
        matches!(self.how, How::Polled)
    }

    /// The file at `path` is a new one (a rotation): watch its inode
    /// instead of the old one's. If it cannot be watched, the watch falls
    /// back to polling.
    pub(crate) fn rewatch(&mut self, path: &Path) {
        #[cfg(all(target_os = "linux", any(feature = "reactor", feature = "tokio")))]
        if let How::Inotify { file, .. } = &mut self.how {
            if let Some(old) = file.take() {
                inotify::unsubscribe(old, self.id);
            }
            match inotify::subscribe_file(path, self.id, &self.slot) {
                Some(wd) => *file = Some(wd),
                None => {
                    self.unsubscribe();
                    polled().subscribe(self.id, self.slot.clone());
                    self.how = How::Polled;
                }
            }
        }
        let _ = path;
    }

    fn unsubscribe(&mut self) {
        match &mut self.how {
            #[cfg(all(target_os = "linux", any(feature = "reactor", feature = "tokio")))]
            How::Inotify { file, dir } => {
                for wd in [file.take(), dir.take()].into_iter().flatten() {
                    inotify::unsubscribe(wd, self.id);
                }
            }
            How::Polled => polled().unsubscribe(self.id),
        }
    }
}

impl Drop for FileWatch {
    fn drop(&mut self) {
        self.unsubscribe();
    }
}

/// The polling thread's subscribers.
#[derive(Debug, Default)]
struct Polled {
    subs: Mutex<HashMap<u64, Arc<Slot>>>,
    /// Signalled when the first subscriber arrives.
    arrived: Condvar,
}

fn polled() -> &'static Polled {
    static POLLED: OnceLock<&'static Polled> = OnceLock::new();
    POLLED.get_or_init(|| {
        // One per process, alive as long as it: leaked on purpose.
        let p: &'static Polled = Box::leak(Box::default());
        thread::Builder::new()
            .name("producers-follow-poll".into())
            .spawn(move || p.run())
            .expect("spawn the follow polling thread");
        p
    })
}

impl Polled {
    fn subscribe(&self, id: u64, slot: Arc<Slot>) {
        lock(&self.subs).insert(id, slot);
        self.arrived.notify_one();
    }

    fn unsubscribe(&self, id: u64) {
        lock(&self.subs).remove(&id);
    }

    fn run(&self) {
        loop {
            let slots: Vec<Arc<Slot>> = {
                let mut subs = lock(&self.subs);
                while subs.is_empty() {
                    subs = self.arrived.wait(subs).unwrap_or_else(|e| e.into_inner());
                }
                subs.values().cloned().collect()
            };
            for s in slots {
                s.wake();
            }
            thread::sleep(POLL_PERIOD);
        }
    }
}

#[cfg(all(target_os = "linux", any(feature = "reactor", feature = "tokio")))]
mod inotify {
    //! The process's one inotify descriptor and the thread that reads it.

    use std::collections::HashMap;
    use std::ffi::OsString;
    use std::mem::MaybeUninit;
    use std::os::fd::OwnedFd;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::sync::{Arc, Mutex, OnceLock};
    use std::thread;

    use rustix::fs::inotify::{self as sys, CreateFlags, ReadFlags, WatchFlags};
    use rustix::io::Errno;

    use super::{How, Slot, lock};

    /// What changes a followed file's inode: appends and truncations
    /// (`IN_MODIFY`; `IN_ATTRIB` for a truncation through `truncate(2)` on
    /// some file systems), and the inode leaving the path.
    const FILE_EVENTS: WatchFlags = WatchFlags::MODIFY
        .union(WatchFlags::ATTRIB)
        .union(WatchFlags::MOVE_SELF)
        .union(WatchFlags::DELETE_SELF);
    /// What puts a new file at a followed path.
    const DIR_EVENTS: WatchFlags = WatchFlags::CREATE
        .union(WatchFlags::MOVED_TO)
        .union(WatchFlags::ONLYDIR);

    struct Sub {
        id: u64,
        /// For a directory watch: the name of the followed file in it.
        name: Option<OsString>,
        slot: Arc<Slot>,
    }

    struct Inotify {
        fd: OwnedFd,
        /// Watch descriptor → its subscribers. An entry is removed (and its
        /// watch with it) when its last subscriber goes.
        subs: Mutex<HashMap<i32, Vec<Sub>>>,
    }

    /// The process's watcher, made with its thread on first use; `None` if
    /// inotify is not available.
    fn get() -> Option<&'static Inotify> {
        static INOTIFY: OnceLock<Option<&'static Inotify>> = OnceLock::new();
        *INOTIFY.get_or_init(|| {
            let fd = sys::init(CreateFlags::CLOEXEC).ok()?;
            // One per process, alive as long as it: leaked on purpose.
            let me: &'static Inotify = Box::leak(Box::new(Inotify {
                fd,
                subs: Mutex::default(),
            }));
            thread::Builder::new()
                .name("producers-inotify".into())
                .spawn(move || me.run())
                .ok()?;
            Some(me)
        })
    }

    /// Subscribes `slot` to `path`'s inode and to its name in its directory.
    pub(super) fn subscribe(path: &Path, id: u64, slot: &Arc<Slot>) -> Option<How> {
        let me = get()?;
        let file = me.add(path, FILE_EVENTS, id, None, slot)?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path.file_name().map(|n| n.to_owned());
        // Without the directory watch a rotation is noticed only at the old
        // file's next change: better to poll.
        let Some(dir) = name.and_then(|n| me.add(parent, DIR_EVENTS, id, Some(n), slot)) else {
            unsubscribe(file, id);
            return None;
        };
        Some(How::Inotify {
            file: Some(file),
            dir: Some(dir),
        })
    }

    /// Subscribes `slot` to `path`'s inode only.
    pub(super) fn subscribe_file(path: &Path, id: u64, slot: &Arc<Slot>) -> Option<i32> {
        get()?.add(path, FILE_EVENTS, id, None, slot)
    }

    pub(super) fn unsubscribe(wd: i32, id: u64) {
        if let Some(me) = get() {
            me.remove(wd, id);
        }
    }

    impl Inotify {
        fn add(
            &self,
            path: &Path,
            mask: WatchFlags,
            id: u64,
            name: Option<OsString>,
            slot: &Arc<Slot>,
        ) -> Option<i32> {
            // Under the lock, so an event of a new descriptor is not
            // dispatched before its subscriber is listed. (An event that
            // comes before is harmless: the follower reads after
            // subscribing.)
            let mut subs = lock(&self.subs);
            let wd = sys::add_watch(&self.fd, path, mask).ok()?;
            subs.entry(wd).or_default().push(Sub {
                id,
                name,
                slot: slot.clone(),
            });
            Some(wd)
        }

        fn remove(&self, wd: i32, id: u64) {
            let mut subs = lock(&self.subs);
            if let Some(list) = subs.get_mut(&wd) {
                list.retain(|s| s.id != id);
                if list.is_empty() {
                    subs.remove(&wd);
                    // Fails harmlessly if the kernel already dropped it
                    // (the inode was deleted: `IN_IGNORED`).
                    let _ = sys::remove_watch(&self.fd, wd);
                }
            }
        }

        fn run(&self) {
            let mut buf = [MaybeUninit::uninit(); 8192];
            let mut reader = sys::Reader::new(&self.fd, &mut buf);
            loop {
                let woken: Vec<Arc<Slot>> = match reader.next() {
                    Ok(ev) => {
                        let subs = lock(&self.subs);
                        if ev.events().contains(ReadFlags::QUEUE_OVERFLOW) {
                            // Events were lost: wake everyone to look.
                            subs.values().flatten().map(|s| s.slot.clone()).collect()
                        } else {
                            let name = ev.file_name().map(|n| n.to_bytes());
                            subs.get(&ev.wd())
                                .into_iter()
                                .flatten()
                                .filter(|s| match (&s.name, name) {
                                    (None, _) => true,
                                    (Some(want), Some(got)) => want.as_bytes() == got,
                                    (Some(_), None) => false,
                                })
                                .map(|s| s.slot.clone())
                                .collect()
                        }
                    }
                    Err(Errno::INTR) => continue,
                    Err(_) => {
                        // Not expected of a blocking inotify read; wake
                        // everyone and go on rather than spin.
                        thread::sleep(super::POLL_PERIOD);
                        let subs = lock(&self.subs);
                        subs.values().flatten().map(|s| s.slot.clone()).collect()
                    }
                };
                for s in woken {
                    s.wake();
                }
            }
        }
    }
}
