//! [`CacheStats`]: what the server's file caches hold and what serving
//! files cost in system calls, read through
//! [`Server::cache_stats`](crate::http::Server::cache_stats).

use std::sync::atomic::{AtomicU64, Ordering};

/// What the file caches hold and have done since the server started: for
/// tests and monitoring.
///
/// The `file_*` counters are the system calls on files that serving a
/// file beneath the root made (on Linux, where files are opened with
/// `openat2`): a hot small file served from the open-file cache adds to
/// none of them between two revalidations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Entries in the open-file cache: open files, and sidecars
    /// remembered as absent.
    pub open_entries: usize,
    /// Bytes of small files the open-file cache holds in memory (at most
    /// [`ServerConfig::open_file_cache_bytes`](crate::http::ServerConfig::open_file_cache_bytes)).
    pub open_bytes: usize,
    /// Lookups answered from the open-file cache (revalidated or not).
    pub open_hits: u64,
    /// Lookups that had to open the file.
    pub open_misses: u64,
    /// Entries evicted from the open-file cache to keep its bounds.
    pub open_evictions: u64,
    /// `openat2` calls.
    pub file_opens: u64,
    /// `stat` calls: after an open, on a revalidation, and before a
    /// compressed variant is kept.
    pub file_stats: u64,
    /// `pread` calls reading a small file whole.
    pub file_reads: u64,
    /// Compressed variants held in memory.
    pub variant_entries: usize,
    /// Their bytes (at most
    /// [`ServerConfig::gzip_cache_bytes`](crate::http::ServerConfig::gzip_cache_bytes)).
    pub variant_bytes: usize,
    /// Responses sent from a compressed variant in memory.
    pub variant_hits: u64,
    /// Compressed variants kept after a response compressed the file
    /// whole.
    pub variant_fills: u64,
    /// Responses sent from a precompressed sidecar (`FILE.gz`).
    pub sidecar_hits: u64,
    /// br and zstd encoders compressing responses on the fly now, queued
    /// responses' permits included (at most
    /// [`max_heavy_encoders`](crate::http::ServerConfig::max_heavy_encoders)).
    pub heavy_encoders: usize,
}

/// The counters behind [`CacheStats`], shared by the caches and the code
/// that opens files.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) open_hits: AtomicU64,
    pub(crate) open_misses: AtomicU64,
    pub(crate) file_opens: AtomicU64,
    pub(crate) file_stats: AtomicU64,
    pub(crate) file_reads: AtomicU64,
    pub(crate) variant_hits: AtomicU64,
    pub(crate) variant_fills: AtomicU64,
    pub(crate) sidecar_hits: AtomicU64,
}

/// Adds one to a counter (relaxed: counters order nothing).
pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// The counters into `stats`.
    pub(crate) fn fill(&self, stats: &mut CacheStats) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        stats.open_hits = get(&self.open_hits);
        stats.open_misses = get(&self.open_misses);
        stats.file_opens = get(&self.file_opens);
        stats.file_stats = get(&self.file_stats);
        stats.file_reads = get(&self.file_reads);
        stats.variant_hits = get(&self.variant_hits);
        stats.variant_fills = get(&self.variant_fills);
        stats.sidecar_hits = get(&self.sidecar_hits);
    }
}
