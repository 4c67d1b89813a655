//! [`CachedFile`]: one open version of a file as served — the descriptor,
//! its identity and validators, and for a small settled file its bytes.

use std::fs::{File, Metadata};
use std::io;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use bytes::Bytes;

use super::cache_stats::{Counters, bump};
use super::identity::FileIdentity;
use super::mime::{content_type, is_compressible};
use crate::chunk::FileRegion;
use crate::http::proto::{HeaderBlock, Validators, format_http_date};

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
    /// The header fields of this version sent as is, formatted at its first
    /// response ([`prepared`](Self::prepared)).
    pub(crate) prepared: OnceLock<Prepared>,
}

/// The header fields of one version of a file sent as is, formatted once
/// (issue 14): a hit in the open-file cache writes them with one copy
/// instead of formatting the entity tag and the date, looking up the type
/// and checking each field at every request.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// The entity tag of the file as is, quotes included.
    pub(crate) etag: String,
    /// The type, by the name's extension.
    pub(crate) ty: &'static str,
    /// Whether a content coding (zstd, br, gzip) may be sent: a
    /// compressible type over the threshold. Then every response about the file varies with
    /// `Accept-Encoding`.
    pub(crate) compressible: bool,
    /// `ETag`, `Last-Modified` and, if compressible, `Vary`: the fields of
    /// any response about this version as is (200, 206, 304).
    pub(crate) validators: HeaderBlock,
    /// Those, then `Content-Type` and `Accept-Ranges`: a 200's fields up to
    /// its length.
    pub(crate) full: HeaderBlock,
}

impl Prepared {
    /// The fields of `f` sent as is under the name `path`, for a server
    /// that compresses files over `gzip_threshold` bytes.
    pub(crate) fn new(f: &CachedFile, path: &Path, gzip_threshold: u64) -> Prepared {
        let ty = content_type(path);
        let compressible = is_compressible(ty) && f.len() > gzip_threshold;
        let etag = f.validators.etag(false);
        let last_modified = format_http_date(f.validators.last_modified);
        let mut validators = HeaderBlock::new()
            .field("ETag", &etag)
            .field("Last-Modified", last_modified);
        if compressible {
            validators.add("Vary", b"Accept-Encoding");
        }
        let full = validators
            .clone()
            .field("Content-Type", ty)
            .field("Accept-Ranges", "bytes");
        Prepared {
            etag,
            ty,
            compressible,
            validators,
            full,
        }
    }
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
            prepared: OnceLock::new(),
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

    /// The fields of this version sent as is, formatted at the first call.
    /// Every call must give the same `path` and `gzip_threshold`: a file
    /// in the open-file cache is served only under its key, by one
    /// server's settings, and any other is made for one response.
    pub(crate) fn prepared(&self, path: &Path, gzip_threshold: u64) -> &Prepared {
        self.prepared
            .get_or_init(|| Prepared::new(self, path, gzip_threshold))
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

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::http::files::identity::tests::temp_dir;
    use crate::http::proto::{ResponseHead, Status};

    #[test]
    fn prepared_fields_are_the_fields_added_one_by_one() {
        let dir = temp_dir("prepared");
        let counters = Counters::default();
        // (name, length, gzip threshold, whether `Vary` is sent)
        let table = [
            ("a.txt", 2000, 1024, true),
            ("a.txt", 1024, 1024, false),
            ("b.png", 2000, 0, false),
            ("c.json", 10, 0, true),
            ("no-extension", 5, 0, false),
        ];
        for (name, len, threshold, vary) in table {
            let path = dir.join(name);
            fs::write(&path, vec![b'x'; len]).unwrap();
            let file = File::open(&path).unwrap();
            let meta = file.metadata().unwrap();
            let f = CachedFile::new(Arc::new(file), &meta, 0, &counters).unwrap();
            let p = f.prepared(Path::new(name), threshold);
            assert!(std::ptr::eq(p, f.prepared(Path::new(name), threshold)));
            assert_eq!(p.compressible, vary, "{name}");

            let mut by_hand = ResponseHead::new(Status::NOT_MODIFIED)
                .header("ETag", f.validators.etag(false))
                .header(
                    "Last-Modified",
                    format_http_date(f.validators.last_modified),
                );
            if vary {
                by_hand.add("Vary", b"Accept-Encoding");
            }
            let not_modified = ResponseHead::new(Status::NOT_MODIFIED).block(&p.validators);
            assert_eq!(not_modified.finish(), by_hand.finish(), "{name}");

            let mut by_hand = ResponseHead::new(Status::OK)
                .header("ETag", f.validators.etag(false))
                .header(
                    "Last-Modified",
                    format_http_date(f.validators.last_modified),
                );
            if vary {
                by_hand.add("Vary", b"Accept-Encoding");
            }
            let by_hand = by_hand
                .header("Content-Type", content_type(Path::new(name)))
                .header("Accept-Ranges", "bytes")
                .finish();
            let full = ResponseHead::new(Status::OK).block(&p.full).finish();
            assert_eq!(full, by_hand, "{name}");
            // The tag is the length and time in hex, quoted.
            let tag = format!("ETag: \"{len:x}-");
            assert!(
                full.windows(tag.len()).any(|w| w == tag.as_bytes()),
                "{full:?}"
            );
        }
        let _ = fs::remove_dir_all(&dir);
    }
}
