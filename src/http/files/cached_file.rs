//! [`CachedFile`]: one open version of a file as served — the descriptor,
//! its identity and validators, and for a small settled file its bytes.

use std::fs::{File, Metadata};
use std::io;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use super::cache_stats::{Counters, bump};
use super::identity::FileIdentity;
use crate::chunk::FileRegion;
use crate::http::proto::Validators;

/// An open regular file and what describes it, shared (in an `Arc`) by
/// the open-file cache and the responses that send it.
#[derive(Debug)]
pub(crate) struct CachedFile {
    /// Open for reading; regions of it are sent with `sendfile`.
    pub(crate) file: Arc<File>,
    /// The version opened, as stat saw it after the open.
    pub(crate) identity: FileIdentity,
    /// `ETag` and `Last-Modified` of that version.
    pub(crate) validators: Validators,
    /// The whole content, for a file of at most the cache's per-file size
    /// that was settled ([`FileIdentity::settled`]) when read: bytes of an
    /// unsettled file might be those of a version stat cannot tell from
    /// the next. `None` otherwise: the file is read at each response.
    pub(crate) bytes: Option<Bytes>,
}

impl CachedFile {
    /// The file `file` with its metadata `meta`; reads it whole if it is
    /// settled and at most `max_bytes` long (`0`: never).
    pub(crate) fn new(
        file: Arc<File>,
        meta: &Metadata,
        max_bytes: u64,
        counters: &Counters,
    ) -> io::Result<CachedFile> {
        let identity = FileIdentity::from_metadata(meta);
        let mut cached = CachedFile {
            file,
            identity,
            validators: Validators::from_metadata(meta),
            bytes: None,
        };
        cached.load(max_bytes, counters)?;
        Ok(cached)
    }

    /// Reads the bytes if the file is small and settled (the time taken
    /// before the read: a change after it gets another `ctime`).
    pub(crate) fn load(&mut self, max_bytes: u64, counters: &Counters) -> io::Result<()> {
        if self.identity.len <= max_bytes && self.identity.settled(SystemTime::now()) {
            self.bytes = Some(read_whole(&self.file, self.identity.len, counters)?);
        }
        Ok(())
    }

    /// The length of the version opened.
    pub(crate) fn len(&self) -> u64 {
        self.identity.len
    }

    /// The bytes held in memory (what the cache's byte bound counts).
    pub(crate) fn weight(&self) -> usize {
        self.bytes.as_ref().map_or(0, Bytes::len)
    }
}

/// All `len` bytes of a small file, read with `pread` (a file that ends
/// early is `UnexpectedEof`).
pub(crate) fn read_whole(f: &Arc<File>, len: u64, counters: &Counters) -> io::Result<Bytes> {
    let Some(region) = FileRegion::new(f.clone(), 0, len) else {
        return Ok(Bytes::new());
    };
    bump(&counters.file_reads);
    let mut buf = vec![0u8; len as usize];
    region.read_into(&mut buf)?;
    Ok(Bytes::from(buf))
}
