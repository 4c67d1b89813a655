//! [`VariantCache`]: the compressed codings of files (gzip, br, zstd),
//! compressed once and kept in memory, bounded in bytes, the least
//! recently used evicted first.
//!
//! - The key is the file's [`FileIdentity`] (device, inode, length,
//!   `mtime`, `ctime`) and the [`Coding`]: each coding of a version is an
//!   entry of its own; a rewritten, renamed or truncated file has another
//!   key, so a variant of an older version is never found for a newer one.
//!   The identity asked for is the one the open-file cache holds, which is
//!   revalidated every period: a variant is at most one period stale, like
//!   the plain file.
//! - Filled by compressing once: the first response streams as it is
//!   compressed, and a [`Recorded`](super::recorded::Recorded) wrapper
//!   copies its output into a [`VariantFill`]; the variant is kept only if
//!   the stream ended without error, stayed under the cap, and the file
//!   still has the identity it was keyed by (one `fstat`). One fill per
//!   key at a time: other requests meanwhile compress on the fly.
//! - Only settled files ([`FileIdentity::settled`]) are kept: a rewrite of
//!   the same length within a clock tick would otherwise keep the old
//!   variant under an unchanged identity.
//! - A file over [`max_file`](VariantCache::new) bytes is never kept: it
//!   is compressed on the fly as before.
//!
//! `Send + Sync` (a mutex around the map): a server's loops on several
//! threads share one cache.

use std::fs::File;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;

use super::cache_stats::{CacheStats, Counters, bump};
use super::coding::Coding;
use super::identity::FileIdentity;
use super::lru::Lru;

/// Most variants held, whatever their size: a bound on the map itself.
const MAX_VARIANTS: usize = 4096;

/// A variant's key: a version of a file and a coding of it.
type Key = (FileIdentity, Coding);

/// One key's slot.
#[derive(Debug)]
enum Variant {
    /// Compressed whole.
    Ready(Bytes),
    /// Being compressed by one response; weighs nothing until committed.
    Filling,
}

/// Compressed variants of files in memory.
#[derive(Debug)]
pub(crate) struct VariantCache {
    lru: Mutex<Lru<Key, Variant>>,
    /// The largest file (uncompressed) whose variant is kept.
    max_file: u64,
    /// The largest variant (compressed) kept.
    max_len: usize,
    counters: Arc<Counters>,
}

impl VariantCache {
    /// A cache of at most `max_bytes` of variants, each of a file of at
    /// most `max_file` bytes.
    pub(crate) fn new(max_bytes: usize, max_file: u64, counters: Arc<Counters>) -> VariantCache {
        VariantCache {
            lru: Mutex::new(Lru::new(MAX_VARIANTS, max_bytes)),
            max_file,
            max_len: max_bytes,
            counters,
        }
    }

    fn lru(&self) -> std::sync::MutexGuard<'_, Lru<Key, Variant>> {
        // A panic while holding the lock leaves a consistent map: every
        // method finishes its changes before it can panic.
        self.lru.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `coding` of the version `id`, if held.
    pub(crate) fn get(&self, id: &FileIdentity, coding: Coding) -> Option<Bytes> {
        let mut lru = self.lru();
        match lru.get(&(*id, coding))? {
            Variant::Ready(b) => {
                bump(&self.counters.variant_hits);
                Some(b.clone())
            }
            Variant::Filling => None,
        }
    }

    /// The right to fill the `coding` of `id`: `None` if the file is over
    /// the size cap, not settled, or another response is filling it.
    pub(crate) fn begin_fill(
        self: &Arc<Self>,
        id: FileIdentity,
        coding: Coding,
    ) -> Option<VariantFill> {
        if id.len > self.max_file || !id.settled(SystemTime::now()) {
            return None;
        }
        let key = (id, coding);
        let evicted = {
            let mut lru = self.lru();
            if lru.get(&key).is_some() {
                return None;
            }
            lru.insert(key, Variant::Filling, 0)
        };
        drop(evicted);
        Some(VariantFill {
            cache: self.clone(),
            key,
            done: false,
        })
    }

    /// Entries and bytes into `stats`.
    pub(crate) fn fill_stats(&self, stats: &mut CacheStats) {
        let lru = self.lru();
        stats.variant_entries = lru.len();
        stats.variant_bytes = lru.weight();
    }
}

/// The right to keep one variant: committed with the whole compressed
/// output, or dropped (the marker goes, so a later response fills it).
#[derive(Debug)]
pub(crate) struct VariantFill {
    cache: Arc<VariantCache>,
    /// The version and coding filled.
    key: Key,
    /// Committed: nothing to undo on drop.
    done: bool,
}

impl VariantFill {
    /// The most compressed bytes worth recording: past it the variant
    /// would not be kept.
    pub(crate) fn max_len(&self) -> usize {
        self.cache.max_len
    }

    /// A capacity to start recording with: a quarter of the file, text's
    /// usual ratio, within the cap.
    pub(crate) fn expected_len(&self) -> usize {
        usize::try_from(self.key.0.len / 4)
            .unwrap_or(usize::MAX)
            .min(self.max_len())
    }

    /// Keeps `bytes` as the variant if `file` still has the identity it
    /// was keyed by: a rewrite in place while it was compressed would
    /// otherwise be kept under the old key, mixing two versions.
    pub(crate) fn commit(mut self, file: &File, bytes: Bytes) {
        bump(&self.cache.counters.file_stats);
        let same = file
            .metadata()
            .is_ok_and(|m| FileIdentity::from_metadata(&m) == self.key.0);
        if !same || bytes.len() > self.max_len() {
            return;
        }
        self.done = true;
        let weight = bytes.len();
        let evicted = self
            .cache
            .lru()
            .insert(self.key, Variant::Ready(bytes), weight);
        bump(&self.cache.counters.variant_fills);
        drop(evicted);
    }
}

impl Drop for VariantFill {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut lru = self.cache.lru();
        if let Some(Variant::Filling) = lru.get(&self.key) {
            lru.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::files::identity::tests::temp_dir;

    fn settled_id(n: u64, len: u64) -> FileIdentity {
        FileIdentity {
            dev: 1,
            ino: n,
            len,
            mtime: (1000, 0),
            ctime: (1000, 0),
        }
    }

    /// An open file with `data` (its name already removed), and its
    /// identity.
    fn file(data: &[u8]) -> (File, FileIdentity) {
        let dir = temp_dir("variant");
        let p = dir.join("f");
        std::fs::write(&p, data).unwrap();
        let f = File::open(&p).unwrap();
        // Unlinking changes `ctime`: the identity is taken after.
        std::fs::remove_dir_all(&dir).unwrap();
        let id = FileIdentity::from_metadata(&f.metadata().unwrap());
        (f, id)
    }

    #[test]
    fn one_fill_at_a_time_and_a_dropped_fill_leaves_no_marker() {
        let cache = Arc::new(VariantCache::new(1 << 20, 1 << 20, Arc::default()));
        let id = settled_id(1, 100);
        let fill = cache.begin_fill(id, Coding::Gzip).unwrap();
        assert!(cache.begin_fill(id, Coding::Gzip).is_none(), "being filled");
        assert!(cache.get(&id, Coding::Gzip).is_none());
        // Another coding of the same version is another entry.
        for &other in &Coding::ALL[..Coding::ALL.len() - 1] {
            assert!(cache.begin_fill(id, other).is_some(), "{other:?}");
        }
        drop(fill);
        assert!(
            cache.begin_fill(id, Coding::Gzip).is_some(),
            "the marker went"
        );
    }

    #[test]
    fn unsettled_and_oversized_files_are_not_kept() {
        let cache = Arc::new(VariantCache::new(1 << 20, 1000, Arc::default()));
        assert!(
            cache
                .begin_fill(settled_id(1, 1001), Coding::Gzip)
                .is_none()
        );
        let (_f, fresh) = file(b"just written");
        assert!(
            cache.begin_fill(fresh, Coding::Gzip).is_none(),
            "changed in the last second"
        );
    }

    #[test]
    fn a_commit_is_kept_only_for_the_same_version() {
        let counters = Arc::new(Counters::default());
        let cache = Arc::new(VariantCache::new(1 << 20, 1 << 20, counters.clone()));
        let (f, id) = file(b"some text");
        // A fill made directly: a file just written is not settled, so
        // `begin_fill` would refuse it.
        let fill = VariantFill {
            cache: cache.clone(),
            key: (id, Coding::Gzip),
            done: false,
        };
        cache.lru().insert((id, Coding::Gzip), Variant::Filling, 0);
        fill.commit(&f, Bytes::from_static(b"gz"));
        assert_eq!(cache.get(&id, Coding::Gzip).as_deref(), Some(&b"gz"[..]));
        // Held under its coding only.
        for &other in &Coding::ALL[..Coding::ALL.len() - 1] {
            assert!(cache.get(&id, other).is_none(), "{other:?}");
        }
        // Another version's key: the file does not match it, nothing kept.
        let other = FileIdentity { len: 10, ..id };
        let fill = VariantFill {
            cache: cache.clone(),
            key: (other, Coding::Gzip),
            done: false,
        };
        fill.commit(&f, Bytes::from_static(b"old"));
        assert!(cache.get(&other, Coding::Gzip).is_none());
        let mut stats = CacheStats::default();
        counters.fill(&mut stats);
        assert_eq!((stats.variant_fills, stats.variant_hits), (1, 1));
    }

    #[test]
    fn bytes_stay_within_the_bound() {
        let cache = Arc::new(VariantCache::new(1000, 1 << 20, Arc::default()));
        for n in 0..50 {
            let id = settled_id(n, 300);
            cache.lru().insert(
                (id, Coding::Gzip),
                Variant::Ready(Bytes::from(vec![0u8; 300])),
                300,
            );
            let mut stats = CacheStats::default();
            cache.fill_stats(&mut stats);
            assert!(stats.variant_bytes <= 1000, "{stats:?}");
        }
        assert!(cache.get(&settled_id(49, 300), Coding::Gzip).is_some());
        assert!(cache.get(&settled_id(0, 300), Coding::Gzip).is_none());
    }
}
