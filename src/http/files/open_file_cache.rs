//! [`OpenFileCache`]: open files by path beneath the root, revalidated by
//! `stat` at most once per period (nginx's `open_file_cache`).
//!
//! - The key is the normalised path relative to the root
//!   ([`UrlPath::relative_str`](crate::http::UrlPath::relative_str)): `..`,
//!   `.` and percent-decoding are gone before a path gets here, so one
//!   file has one key. It is looked up as a `&str`, hashed with
//!   [`FxHasher`](super::fx_hasher::FxHasher): a hit allocates nothing.
//! - An entry holds a [`CachedFile`]: the descriptor, the identity
//!   (device, inode, length, `mtime`, `ctime` to the nanosecond), the
//!   validators and, for a small settled file, its bytes. A hit within
//!   the period costs no system call at all.
//! - Once the period has passed, the next lookup revalidates: one
//!   `fstatat` of the path beneath the root, not following a final
//!   symbolic link. The same identity keeps the entry (and reads the
//!   bytes of a file that has settled since); anything else — another
//!   inode (a rename, a file replaced by a directory or a symbolic link),
//!   another length (a truncation), other times (a rewrite), no file — drops
//!   it, and the caller opens the path again through the safe open
//!   (`openat2` beneath the root), which refuses what escapes the root as
//!   it always did. So nothing is served stale longer than the period,
//!   and a period of zero checks at every request (one `fstatat` instead
//!   of `openat2`, `fstat`, `pread` and `close`). A file that is a
//!   symbolic link beneath the root never matches (the link's own inode is
//!   seen): it is opened again each period.
//! - Sidecars (`FILE.gz`, `FILE.br`, `FILE.zst`) that do not exist are remembered as absent and
//!   revalidated the same way, so asking for one costs nothing either.
//! - Bounded: at most `max_entries` entries (each holds a descriptor) and
//!   `max_bytes` of file bytes in memory, the least recently used evicted
//!   first. A file over `max_file` bytes is held open but not in memory.
//!
//! `Send + Sync`: a mutex around the map, held only to look up or change
//! an entry, never across a system call. A server's loops on several
//! threads share one cache.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::OpenCacheSettings;
use super::cache_stats::{CacheStats, Counters, bump};
use super::cached_file::CachedFile;
use super::identity::FileIdentity;
use super::lru::Lru;

/// One path's entry.
#[derive(Debug, Clone)]
enum Entry {
    /// An open regular file, checked at `checked`.
    File {
        file: Arc<CachedFile>,
        checked: Instant,
    },
    /// Nothing there (a sidecar that does not exist), checked at
    /// `checked`.
    Absent { checked: Instant },
}

impl Entry {
    fn checked(&self) -> Instant {
        match self {
            Entry::File { checked, .. } | Entry::Absent { checked } => *checked,
        }
    }
}

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// The file, current as of the period.
    Hit(Arc<CachedFile>),
    /// Known not to exist, as of the period.
    Absent,
    /// Not known: open it (and [`insert`](OpenFileCache::insert) it).
    Miss,
}

/// Open files by relative path, revalidated every period.
#[derive(Debug)]
pub(crate) struct OpenFileCache {
    settings: OpenCacheSettings,
    lru: Mutex<Lru<Box<str>, Entry>>,
    counters: Arc<Counters>,
}

impl OpenFileCache {
    /// An empty cache.
    pub(crate) fn new(settings: OpenCacheSettings, counters: Arc<Counters>) -> OpenFileCache {
        OpenFileCache {
            settings,
            lru: Mutex::new(Lru::new(settings.max_entries, settings.max_bytes)),
            counters,
        }
    }

    /// The bounds and period.
    pub(crate) fn settings(&self) -> &OpenCacheSettings {
        &self.settings
    }

    fn lru(&self) -> MutexGuard<'_, Lru<Box<str>, Entry>> {
        // Every change is complete before anything that can panic.
        self.lru.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry for `rel`, revalidated against the file system beneath
    /// `root` if the period has passed.
    pub(crate) fn lookup(&self, root: &OwnedFd, rel: &str) -> Lookup {
        let now = Instant::now();
        let entry = {
            let mut lru = self.lru();
            match lru.get(rel) {
                None => {
                    bump(&self.counters.open_misses);
                    return Lookup::Miss;
                }
                Some(e) if now.duration_since(e.checked()) < self.settings.revalidate => {
                    return self.found(e);
                }
                Some(e) => e.clone(),
            }
        };
        // Revalidate, without the lock.
        use rustix::fs::{AtFlags, FileType, statat};
        use rustix::io::Errno;
        bump(&self.counters.file_stats);
        let st = statat(root, rel, AtFlags::SYMLINK_NOFOLLOW);
        let renewed = match (entry, st) {
            (Entry::Absent { .. }, Err(Errno::NOENT | Errno::NOTDIR)) => {
                Some(Entry::Absent { checked: now })
            }
            (Entry::File { file, .. }, Ok(st))
                if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
                    && FileIdentity::from_stat(&st) == file.identity =>
            {
                let file = if file.bytes.is_none() && file.len() <= self.settings.max_file {
                    // Settled since it was opened? Then its bytes are
                    // worth holding now.
                    let mut again = CachedFile {
                        file: file.file.clone(),
                        identity: file.identity,
                        validators: file.validators.clone(),
                        bytes: None,
                        prepared: file.prepared.clone(),
                    };
                    match again.load(self.settings.max_file, &self.counters) {
                        Ok(()) if again.bytes.is_some() => Arc::new(again),
                        _ => file,
                    }
                } else {
                    file
                };
                Some(Entry::File { file, checked: now })
            }
            _ => None,
        };
        match renewed {
            Some(e) => {
                let found = self.found(&e);
                self.put(rel.into(), e);
                found
            }
            None => {
                let gone = self.lru().remove(rel);
                drop(gone);
                bump(&self.counters.open_misses);
                Lookup::Miss
            }
        }
    }

    /// A hit on `e`.
    fn found(&self, e: &Entry) -> Lookup {
        bump(&self.counters.open_hits);
        match e {
            Entry::File { file, .. } => Lookup::Hit(file.clone()),
            Entry::Absent { .. } => Lookup::Absent,
        }
    }

    fn put(&self, rel: Box<str>, e: Entry) {
        let weight = match &e {
            Entry::File { file, .. } => file.weight(),
            Entry::Absent { .. } => 0,
        };
        let out = self.lru().insert(rel, e, weight);
        // Dropped (descriptors closed) without the lock.
        drop(out);
    }

    /// Remembers `file`, just opened under `rel`.
    pub(crate) fn insert(&self, rel: Box<str>, file: Arc<CachedFile>) {
        self.put(
            rel,
            Entry::File {
                file,
                checked: Instant::now(),
            },
        );
    }

    /// Remembers that nothing is at `rel`.
    pub(crate) fn insert_absent(&self, rel: Box<str>) {
        self.put(
            rel,
            Entry::Absent {
                checked: Instant::now(),
            },
        );
    }

    /// Entries and bytes into `stats`.
    pub(crate) fn fill_stats(&self, stats: &mut CacheStats) {
        let lru = self.lru();
        stats.open_entries = lru.len();
        stats.open_bytes = lru.weight();
        stats.open_evictions = lru.evictions();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::files::identity::tests::temp_dir;
    use std::fs;
    use std::path::PathBuf;
    use std::time::Duration;

    struct Fixture {
        dir: PathBuf,
        root: OwnedFd,
        cache: OpenFileCache,
        counters: Arc<Counters>,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }

    fn fixture(settings: OpenCacheSettings) -> Fixture {
        use rustix::fs::{Mode, OFlags, open};
        let dir = temp_dir("open-cache");
        let root = open(&dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let counters = Arc::new(Counters::default());
        Fixture {
            cache: OpenFileCache::new(settings, counters.clone()),
            dir,
            root,
            counters,
        }
    }

    fn settings(revalidate: Duration) -> OpenCacheSettings {
        OpenCacheSettings {
            max_entries: 16,
            max_bytes: 1 << 20,
            max_file: 64 << 10,
            revalidate,
        }
    }

    impl Fixture {
        /// Opens `name` as the server would on a miss, and caches it.
        fn open(&self, name: &str) -> Arc<CachedFile> {
            let f = fs::File::open(self.dir.join(name)).unwrap();
            let meta = f.metadata().unwrap();
            let f =
                Arc::new(CachedFile::new(Arc::new(f), &meta, 64 << 10, &self.counters).unwrap());
            self.cache.insert(name.into(), f.clone());
            f
        }

        fn lookup(&self, name: &str) -> Lookup {
            self.cache.lookup(&self.root, name)
        }

        fn stats(&self) -> CacheStats {
            let mut s = CacheStats::default();
            self.counters.fill(&mut s);
            self.cache.fill_stats(&mut s);
            s
        }
    }

    #[track_caller]
    fn hit(l: Lookup) -> Arc<CachedFile> {
        match l {
            Lookup::Hit(f) => f,
            other => panic!("expected a hit, got {other:?}"),
        }
    }

    #[test]
    fn within_the_period_a_hit_makes_no_system_call() {
        let fx = fixture(settings(Duration::from_secs(3600)));
        fs::write(fx.dir.join("a"), b"aaaa").unwrap();
        assert!(matches!(fx.lookup("a"), Lookup::Miss));
        let f = fx.open("a");
        let before = fx.stats();
        for _ in 0..10 {
            assert!(Arc::ptr_eq(&hit(fx.lookup("a")), &f));
        }
        let after = fx.stats();
        assert_eq!(after.file_stats, before.file_stats);
        assert_eq!(after.file_reads, before.file_reads);
        assert_eq!(after.open_hits, before.open_hits + 10);
        // Stale within the period, by design: a change is seen only at
        // the next revalidation.
        fs::remove_file(fx.dir.join("a")).unwrap();
        assert!(matches!(fx.lookup("a"), Lookup::Hit(_)));
    }

    #[test]
    fn a_zero_period_checks_every_time_and_sees_each_change() {
        let fx = fixture(settings(Duration::ZERO));
        let p = fx.dir.join("a");
        fs::write(&p, b"version one").unwrap();
        fx.open("a");
        let s0 = fx.stats().file_stats;
        hit(fx.lookup("a"));
        hit(fx.lookup("a"));
        assert_eq!(fx.stats().file_stats, s0 + 2, "one stat per lookup");

        // Rewritten in place, same length: other times.
        let f = fs::OpenOptions::new().write(true).open(&p).unwrap();
        std::os::unix::fs::FileExt::write_at(&f, b"VERSION", 0).unwrap();
        assert!(matches!(fx.lookup("a"), Lookup::Miss));
        fx.open("a");
        // Replaced by a rename: another inode.
        fs::write(fx.dir.join("b"), b"version two").unwrap();
        fs::rename(fx.dir.join("b"), &p).unwrap();
        assert!(matches!(fx.lookup("a"), Lookup::Miss));
        fx.open("a");
        // Truncated.
        fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(2)
            .unwrap();
        assert!(matches!(fx.lookup("a"), Lookup::Miss));
        fx.open("a");
        // Replaced by a symbolic link (even to a file beneath the root).
        fs::write(fx.dir.join("c"), b"c").unwrap();
        fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink("c", &p).unwrap();
        assert!(matches!(fx.lookup("a"), Lookup::Miss));
        // Deleted.
        fx.open("c");
        fs::remove_file(fx.dir.join("c")).unwrap();
        assert!(matches!(fx.lookup("c"), Lookup::Miss));
        assert!(matches!(fx.lookup("c"), Lookup::Miss), "and forgotten");
        // Replaced by a directory.
        fs::write(fx.dir.join("d"), b"d").unwrap();
        fx.open("d");
        fs::remove_file(fx.dir.join("d")).unwrap();
        fs::create_dir(fx.dir.join("d")).unwrap();
        assert!(matches!(fx.lookup("d"), Lookup::Miss));
    }

    #[test]
    fn absent_entries_hold_until_something_appears() {
        let fx = fixture(settings(Duration::ZERO));
        fx.cache.insert_absent("x.gz".into());
        assert!(matches!(fx.lookup("x.gz"), Lookup::Absent));
        assert!(matches!(fx.lookup("x.gz"), Lookup::Absent));
        fs::write(fx.dir.join("x.gz"), b"gz").unwrap();
        assert!(matches!(fx.lookup("x.gz"), Lookup::Miss));
        // A missing directory on the way is absence too.
        fx.cache.insert_absent("no/such.gz".into());
        assert!(matches!(fx.lookup("no/such.gz"), Lookup::Absent));
    }

    #[test]
    fn bytes_of_a_file_that_settles_are_read_at_revalidation() {
        let fx = fixture(settings(Duration::ZERO));
        fs::write(fx.dir.join("a"), b"fresh").unwrap();
        let f = fx.open("a");
        assert!(f.bytes.is_none(), "changed less than a second ago");
        std::thread::sleep(crate::http::files::identity::RACY_WINDOW + Duration::from_millis(50));
        let f = hit(fx.lookup("a"));
        assert_eq!(f.bytes.as_deref(), Some(&b"fresh"[..]));
        assert_eq!(fx.stats().open_bytes, 5);
    }

    #[test]
    fn entries_and_bytes_stay_within_their_bounds() {
        let fx = fixture(OpenCacheSettings {
            max_entries: 4,
            max_bytes: 1 << 20,
            max_file: 64 << 10,
            revalidate: Duration::from_secs(3600),
        });
        for i in 0..20 {
            let name = format!("f{i}");
            fs::write(fx.dir.join(&name), b"x").unwrap();
            fx.open(&name);
            let s = fx.stats();
            assert!(s.open_entries <= 4, "{s:?}");
        }
        let s = fx.stats();
        assert_eq!((s.open_entries, s.open_evictions), (4, 16));
        assert!(matches!(fx.lookup("f19"), Lookup::Hit(_)));
        assert!(matches!(fx.lookup("f0"), Lookup::Miss));
    }
}
