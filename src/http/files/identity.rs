//! [`FileIdentity`]: what tells one version of a file from another
//! without reading it — device, inode, length, modification and change
//! times to the nanosecond.
//!
//! A rename puts another inode under the name; a truncation changes the
//! length; a rewrite in place moves `mtime` and `ctime` (and `ctime`
//! moves on every change of the inode, even one that sets `mtime` back).
//! What stat cannot see is a rewrite of the same length within one tick
//! of the file system's clock (a few milliseconds): two versions then
//! share every field. [`FileIdentity::settled`] says when that can no
//! longer happen unseen — git's "racily clean" rule — and the caches keep
//! bytes only of settled files.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long after its last change a file may still be rewritten in place
/// with every stat field unchanged: one tick of the kernel's coarse clock
/// is at most 10 ms; a second leaves room for clocks that step.
pub(crate) const RACY_WINDOW: Duration = Duration::from_secs(1);

/// A version of a file as stat sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FileIdentity {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) len: u64,
    /// `mtime` as (seconds, nanoseconds).
    pub(crate) mtime: (i64, i64),
    /// `ctime` as (seconds, nanoseconds).
    pub(crate) ctime: (i64, i64),
}

impl FileIdentity {
    /// The identity of the file `meta` describes.
    pub(crate) fn from_metadata(meta: &Metadata) -> FileIdentity {
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// The identity in a `stat` result (the revalidation's).
    #[cfg(target_os = "linux")]
    pub(crate) fn from_stat(st: &rustix::fs::Stat) -> FileIdentity {
        #[allow(clippy::unnecessary_cast)] // the field types differ by target
        FileIdentity {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            len: st.st_size as u64,
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
        }
    }

    /// Whether this version was last changed more than [`RACY_WINDOW`]
    /// before `now`: any later change then gets a different `ctime`, so
    /// bytes read after `now` are the bytes of this identity for as long as
    /// stat reports it.
    pub(crate) fn settled(&self, now: SystemTime) -> bool {
        let (s, ns) = self.ctime.max(self.mtime);
        let Ok(now) = now.duration_since(UNIX_EPOCH) else {
            return false;
        };
        let changed = Duration::new(s.max(0) as u64, ns.clamp(0, 999_999_999) as u32);
        changed + RACY_WINDOW < now
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh directory for one test.
    pub(crate) fn temp_dir(name: &str) -> std::path::PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "producers-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn stat_and_metadata_agree() {
        let dir = temp_dir("identity");
        let p = dir.join("f");
        std::fs::write(&p, b"one").unwrap();
        let meta = std::fs::metadata(&p).unwrap();
        #[cfg(target_os = "linux")]
        {
            let st = rustix::fs::stat(&p).unwrap();
            assert_eq!(
                FileIdentity::from_stat(&st),
                FileIdentity::from_metadata(&meta)
            );
        }
        // A rewrite of the same length is another identity once the clock
        // moved (here: an explicit later mtime).
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_modified(meta.modified().unwrap() + Duration::from_nanos(1))
            .unwrap();
        let again = std::fs::metadata(&p).unwrap();
        assert_ne!(
            FileIdentity::from_metadata(&again),
            FileIdentity::from_metadata(&meta)
        );
        // A rename puts another inode there.
        let q = dir.join("g");
        std::fs::write(&q, b"one").unwrap();
        std::fs::rename(&q, &p).unwrap();
        let renamed = std::fs::metadata(&p).unwrap();
        assert_ne!(
            FileIdentity::from_metadata(&renamed).ino,
            FileIdentity::from_metadata(&again).ino
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn settled_only_after_the_racy_window() {
        let id = FileIdentity {
            dev: 1,
            ino: 2,
            len: 3,
            mtime: (1000, 0),
            ctime: (1000, 500),
        };
        let at = |s: u64, ns: u32| UNIX_EPOCH + Duration::new(s, ns);
        assert!(!id.settled(at(1000, 600)));
        assert!(!id.settled(at(1001, 500)));
        assert!(id.settled(at(1001, 501)));
        // An mtime set into the future counts too.
        let future = FileIdentity {
            mtime: (2000, 0),
            ..id
        };
        assert!(!future.settled(at(1500, 0)));
    }
}
