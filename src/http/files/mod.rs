//! Serving files: what a GET, HEAD or OPTIONS of a path under the root
//! gets, as a [`Reply`] (a status, its header fields and a [`Body`]) that
//! the server frames for its connection.
//!
//! This side resolves paths beneath the root ([`open`]), opens files
//! safely, lists directories ([`listing`]), picks a type ([`mime`]) and
//! decides between 304, 206, 406, a content coding ([`Coding`]: zstd, br,
//! gzip, as compiled in and configured) and a plain body. It uses the protocol
//! types ([`crate::http::proto`]) and nothing of the server: what it needs
//! of the configuration comes as [`FileSettings`].

//!
//! Only [`root`] ([`Root`](root::Root), the portable path resolution),
//! [`mime`] and [`listing`] need nothing but `std`: they are compiled with
//! `http-body` too, for hyper and axum handlers. The rest — opening with
//! `openat2` (rustix), replies framed by the server — needs the feature
//! `http`.

#[cfg(feature = "http")]
use std::fs::{self, File};
#[cfg(feature = "http")]
use std::io;
#[cfg(feature = "http")]
use std::path::{Path, PathBuf};
#[cfg(feature = "http")]
use std::sync::Arc;

#[cfg(feature = "http")]
use bytes::Bytes;

#[cfg(feature = "http")]
use crate::http::proto::{
    Answer, ByteRanges, HttpError, MultipartRanges, RangeLimits, Representation, RequestHead,
    RequestMethod, ResponseHead, Status, UrlPath, Version, answer, format_http_date,
    negotiate_encoding,
};
#[cfg(feature = "http")]
use crate::produce::{Chain, FileProducer, Followed, from_bytes};
#[cfg(feature = "http")]
pub(crate) use coding::Coding;
#[cfg(feature = "http")]
pub(crate) use coding::PermitSlot;
#[cfg(feature = "http")]
use coding::{HeavyEncoders, OnTheFly, encode_all};

#[cfg(feature = "http")]
pub(crate) mod cache_stats;
#[cfg(feature = "http")]
mod cached_file;
#[cfg(feature = "http")]
pub(crate) mod coding;
#[cfg(feature = "http")]
mod fx_hasher;
#[cfg(feature = "http")]
mod identity;
pub(crate) mod listing;
#[cfg(feature = "http")]
mod lru;
pub(crate) mod mime;
#[cfg(feature = "http")]
mod open;
#[cfg(all(feature = "http", target_os = "linux"))]
mod open_file_cache;
#[cfg(feature = "http")]
mod recorded;
#[cfg(feature = "http")]
mod reply;
pub(crate) mod root;
#[cfg(feature = "http")]
mod variant_cache;

#[cfg(feature = "http")]
use cache_stats::{CacheStats, Counters, bump};
#[cfg(feature = "http")]
use cached_file::{CachedFile, Prepared, read_whole};
#[cfg(feature = "http")]
use listing::{ListingOptions, listing_html};
#[cfg(feature = "http")]
use mime::content_type;
#[cfg(feature = "http")]
pub(crate) use open::internal;
#[cfg(target_os = "linux")]
#[cfg(feature = "http")]
use open::open_beneath;
#[cfg(feature = "http")]
use open::{check_regular, open_dir_beneath, open_nonblocking};
#[cfg(all(feature = "http", target_os = "linux"))]
use open_file_cache::{Lookup, OpenFileCache};
#[cfg(feature = "http")]
pub(crate) use recorded::Recorded;
#[cfg(feature = "http")]
pub(crate) use reply::{Body, Reply};
#[cfg(feature = "http")]
use root::Root;
#[cfg(feature = "http")]
use variant_cache::VariantCache;

/// `Allow` for the files and directories under the root.
#[cfg(feature = "http")]
pub(crate) const ALLOW_RESOURCE: &str = "GET, HEAD, OPTIONS";

/// What serving files takes from the server's configuration.
#[cfg(feature = "http")]
#[derive(Debug, Clone)]
pub(crate) struct FileSettings {
    /// Files over this many bytes are compressed when a coding is
    /// accepted.
    pub(crate) gzip_threshold: u64,
    /// The codings offered for compressible files, the preferred first
    /// (no duplicates; empty: files go as they are).
    pub(crate) codings: Vec<Coding>,
    /// Most br and zstd encoders made on the fly at once ([`HeavyEncoders`]).
    pub(crate) max_heavy_encoders: usize,
    /// Files of at least this size go out as file regions (`sendfile`);
    /// smaller ones are read whole.
    pub(crate) sendfile_min: u64,
    /// Most entries in a directory listing.
    pub(crate) max_listing: usize,
    /// Whether a listing shows names beginning with `.`.
    pub(crate) show_hidden: bool,
    /// Whether a listing carries the upload form (uploads are on).
    pub(crate) upload: bool,
    /// The gzip level.
    pub(crate) gzip_level: u32,
    /// The gzip window, in bits.
    pub(crate) gzip_window_bits: u8,
    /// The caps on a `Range` field.
    pub(crate) range_limits: RangeLimits,
    /// The open-file cache's bounds and period.
    pub(crate) open_cache: OpenCacheSettings,
    /// Whether a precompressed sidecar (`FILE.gz`, `FILE.br`, `FILE.zst`)
    /// is sent for `FILE` when its coding is chosen and the sidecar is not
    /// older than the file.
    pub(crate) gzip_static: bool,
    /// Most bytes of compressed variants held in memory (`0`: none).
    pub(crate) variant_bytes: usize,
    /// The largest file whose compressed variant is held.
    pub(crate) variant_max_file: u64,
}

/// The bounds and revalidation period of the open-file cache.
#[cfg(feature = "http")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpenCacheSettings {
    /// Most entries, each holding a descriptor (`0`: no cache).
    pub(crate) max_entries: usize,
    /// Most bytes of files held in memory.
    pub(crate) max_bytes: usize,
    /// The largest file held in memory.
    pub(crate) max_file: u64,
    /// How long an entry is trusted without a `stat` (`ZERO`: never).
    pub(crate) revalidate: std::time::Duration,
}

/// The files under a root, as served.
#[cfg(feature = "http")]
#[derive(Debug)]
pub(crate) struct Files {
    /// The canonical root: every path served resolves under it.
    root: Root,
    /// The root opened as a directory, for opening files beneath it in one
    /// system call (Linux `openat2` with `RESOLVE_BENEATH`); `None` if it
    /// could not be opened so (the portable path is used then).
    #[cfg(target_os = "linux")]
    root_fd: Option<std::os::fd::OwnedFd>,
    settings: FileSettings,
    /// Open files by path beneath the root (Linux, where files are opened
    /// with `openat2`); `None` when configured off.
    #[cfg(target_os = "linux")]
    open_cache: Option<OpenFileCache>,
    /// Compressed variants in memory; `None` when configured off.
    variants: Option<Arc<VariantCache>>,
    /// The tokens offered for a compressible file, in the order of
    /// `settings.codings`, then `identity` (so at equal q-values a coding
    /// is preferred to none).
    offered: Vec<&'static str>,
    /// The br and zstd encoders made on the fly and not yet dropped, and
    /// their cap.
    heavy: Arc<HeavyEncoders>,
    /// What the caches did and the file system calls made.
    counters: Arc<Counters>,
}

/// Where a response's coding of a file comes from (the file as is goes
/// through [`Files::serve_identity`]).
#[cfg(feature = "http")]
enum Source {
    /// Its precompressed sidecar (`FILE.gz`, `FILE.br`, `FILE.zst`).
    Sidecar(Arc<CachedFile>),
    /// The coding, held in memory.
    Memory(Bytes),
    /// The coding, made as it is sent (a br or zstd one holding a
    /// permit of [`HeavyEncoders`]).
    OnTheFly(OnTheFly),
}

#[cfg(feature = "http")]
impl Files {
    /// The files under `root`, made canonical once; fails, saying why, if
    /// `root` does not resolve or is not a directory ([`Root::new`]).
    pub(crate) fn new(root: &Path, mut settings: FileSettings) -> io::Result<Files> {
        let root = Root::new(root)?;
        let settings_max_heavy = settings.max_heavy_encoders;
        if settings.codings.is_empty() {
            // Nothing to compress with: no file is compressible, and no
            // response varies with `Accept-Encoding`.
            settings.gzip_threshold = u64::MAX;
        }
        let offered: Vec<&'static str> = settings
            .codings
            .iter()
            .map(|c| c.token())
            .chain(["identity"])
            .collect();
        #[cfg(target_os = "linux")]
        let root_fd = {
            use rustix::fs::{Mode, OFlags, open};
            open(
                root.path(),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()
        };
        let counters = Arc::new(Counters::default());
        #[cfg(target_os = "linux")]
        let open_cache = (settings.open_cache.max_entries > 0)
            .then(|| OpenFileCache::new(settings.open_cache, counters.clone()));
        let variants = (settings.variant_bytes > 0).then(|| {
            Arc::new(VariantCache::new(
                settings.variant_bytes,
                settings.variant_max_file,
                counters.clone(),
            ))
        });
        Ok(Files {
            root,
            #[cfg(target_os = "linux")]
            root_fd,
            settings,
            #[cfg(target_os = "linux")]
            open_cache,
            variants,
            offered,
            heavy: HeavyEncoders::new(settings_max_heavy),
            counters,
        })
    }

    /// What the caches hold and did.
    pub(crate) fn cache_stats(&self) -> CacheStats {
        let mut stats = CacheStats::default();
        self.counters.fill(&mut stats);
        stats.heavy_encoders = self.heavy.live();
        #[cfg(target_os = "linux")]
        if let Some(cache) = &self.open_cache {
            cache.fill_stats(&mut stats);
        }
        if let Some(v) = &self.variants {
            v.fill_stats(&mut stats);
        }
        stats
    }

    /// The canonical root directory.
    pub(crate) fn root(&self) -> &Path {
        self.root.path()
    }

    /// The directory `path` names beneath the root, opened for an upload
    /// to create files in (405 if it is not a directory).
    pub(crate) fn upload_dir(&self, path: &UrlPath) -> Result<std::os::fd::OwnedFd, HttpError> {
        open_dir_beneath(
            &self.root,
            #[cfg(target_os = "linux")]
            self.root_fd.as_ref(),
            path,
        )
    }

    /// `OPTIONS` of `path` under the root: what [`resource`](Self::resource)
    /// would serve must exist (404 otherwise) and stay beneath the root
    /// (403).
    pub(crate) fn options(&self, path: &UrlPath) -> Result<Reply, HttpError> {
        path.resolve(&self.root)?;
        Ok(Reply::options(ALLOW_RESOURCE))
    }

    /// A GET or HEAD of `path` under the root, for a connection whose
    /// permit for br and zstd encoders is in `slot`.
    pub(crate) fn resource(
        &self,
        req: &RequestHead,
        path: &UrlPath,
        slot: &mut PermitSlot,
    ) -> Result<Reply, HttpError> {
        if req.method.is_get() && req.version == Version::Http11 && wants_follow(&req.target) {
            return self.follow(path);
        }
        let (config, root) = (&self.settings, self.root.path());
        #[cfg(target_os = "linux")]
        if let Some(root_fd) = &self.root_fd
            && !path.relative_str().is_empty()
            && !path.trailing_slash()
            // The cache is keyed by the text: a name that is not UTF-8
            // takes the portable path, by its bytes.
            && path.is_utf8()
        {
            let rel = path.relative_str();
            if let Some(f) = self.open_rel(root_fd, rel, false)? {
                return self.serve(req, Path::new(rel), &f, true, slot);
            }
        }
        let real = path.resolve(&self.root)?;
        let meta = fs::metadata(&real).map_err(|_| HttpError::NotFound)?;
        if meta.is_dir() {
            if !path.trailing_slash() && !path.relative_str().is_empty() {
                let head = ResponseHead::new(Status::MOVED_PERMANENTLY)
                    .header("Location", path.to_url(true))
                    .header("Content-Type", "text/plain; charset=utf-8");
                return Ok(Reply {
                    head,
                    body: Body::Bytes(Bytes::from_static(b"301 Moved Permanently\n")),
                });
            }
            let index = real.join("index.html");
            if let Ok(index) = fs::canonicalize(&index)
                && index.starts_with(root)
                && index.is_file()
            {
                return self.file(req, index, slot);
            }
            let options = ListingOptions {
                show_hidden: config.show_hidden,
                upload_form: config.upload,
                max_entries: config.max_listing,
            };
            let html =
                listing_html(&real, &path.to_url(true), &options).map_err(|e| internal(&e))?;
            return self.listing_reply(req, html, slot);
        }
        check_regular(&meta)?;
        if path.trailing_slash() {
            return Err(HttpError::NotFound);
        }
        self.file(req, real, slot)
    }

    /// `GET /FILE?follow` (HTTP/1.1): the file, then what is appended to
    /// it, as it comes ([`Followed`]): 200, chunked, never ending. No
    /// validators, ranges or gzip: the representation is still being
    /// written. HTTP/1.0 and `HEAD` get the file as usual.
    fn follow(&self, path: &UrlPath) -> Result<Reply, HttpError> {
        let real = path.resolve(&self.root)?;
        let meta = fs::metadata(&real).map_err(|_| HttpError::NotFound)?;
        check_regular(&meta)?;
        let followed = Followed::open(&real).map_err(|e| internal(&e))?;
        let head = ResponseHead::new(Status::OK)
            .header("Content-Type", content_type(&real))
            .header("Cache-Control", "no-store");
        Ok(Reply {
            head,
            body: Body::Followed(followed),
        })
    }

    /// The regular file at `rel` beneath the root: from the open-file
    /// cache, or opened with `openat2` (and remembered). `Ok(None)`: use
    /// the portable path (a directory, an absolute symbolic link, an old
    /// kernel). A sidecar found absent is remembered as such.
    #[cfg(target_os = "linux")]
    fn open_rel(
        &self,
        root_fd: &std::os::fd::OwnedFd,
        rel: &str,
        sidecar: bool,
    ) -> Result<Option<Arc<CachedFile>>, HttpError> {
        if let Some(cache) = &self.open_cache {
            match cache.lookup(root_fd, rel) {
                Lookup::Hit(f) => return Ok(Some(f)),
                Lookup::Absent => return Err(HttpError::NotFound),
                Lookup::Miss => {}
            }
        }
        bump(&self.counters.file_opens);
        match open_beneath(root_fd, Path::new(rel)) {
            Ok(Some((f, meta))) => {
                bump(&self.counters.file_stats);
                let max = self
                    .open_cache
                    .as_ref()
                    .map_or(0, |c| c.settings().max_file);
                let f = CachedFile::new(Arc::new(f), &meta, max, &self.counters)
                    .map_err(|e| internal(&e))?;
                let f = Arc::new(f);
                if let Some(cache) = &self.open_cache {
                    cache.insert(rel.into(), f.clone());
                }
                Ok(Some(f))
            }
            Err(HttpError::NotFound) if sidecar => {
                if let Some(cache) = &self.open_cache {
                    cache.insert_absent(rel.into());
                }
                Err(HttpError::NotFound)
            }
            other => other.map(|_| None),
        }
    }

    /// The precompressed sidecar of `rel` in `coding` (`rel.gz`,
    /// `rel.br`, `rel.zst`), if sidecars are on, it is a regular file
    /// beneath the root, and it is not older than the file `f` (nginx's
    /// `gzip_static` and `brotli_static`).
    fn sidecar(&self, rel: &Path, f: &CachedFile, coding: Coding) -> Option<Arc<CachedFile>> {
        if !self.settings.gzip_static {
            return None;
        }
        #[cfg(target_os = "linux")]
        {
            let root_fd = self.root_fd.as_ref()?;
            // `rel` is a key of the cache, made from a `str`.
            let name = format!("{}{}", rel.to_str()?, coding.suffix());
            let sidecar = self.open_rel(root_fd, &name, true).ok()??;
            (sidecar.identity.mtime >= f.identity.mtime).then_some(sidecar)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (rel, f, coding);
            None
        }
    }

    /// A regular file found by the portable path: opened, described, sent
    /// (never cached: the cache's key is a path resolved beneath the root
    /// by `openat2`).
    fn file(
        &self,
        req: &RequestHead,
        path: PathBuf,
        slot: &mut PermitSlot,
    ) -> Result<Reply, HttpError> {
        let f = open_nonblocking(&path).map_err(|e| internal(&e))?;
        // The metadata of the open file, so what is described is what is
        // sent (and what was checked is what is open).
        let meta = f.metadata().map_err(|e| internal(&e))?;
        check_regular(&meta)?;
        let f = CachedFile::new(Arc::new(f), &meta, 0, &self.counters).map_err(|e| internal(&e))?;
        self.serve(req, &path, &Arc::new(f), false, slot)
    }

    /// The whole of `f` as a body: its bytes held in memory, read now if
    /// small, or a region for `sendfile`.
    fn whole(&self, f: &CachedFile) -> Result<Body, HttpError> {
        if let Some(b) = &f.bytes {
            return Ok(Body::Bytes(b.clone()));
        }
        if f.len() < self.settings.sendfile_min {
            // Small files are read now, in one piece, so head and body
            // (and pipelined responses) share a write.
            let b = read_whole(&f.file, f.len(), &self.counters).map_err(|e| internal(&e))?;
            return Ok(Body::Bytes(b));
        }
        Ok(Body::File(file_producer(
            &self.settings,
            f.file.clone(),
            f.len(),
        )))
    }

    /// An open regular file: validators, 304, range, and the coding sent —
    /// as is, its sidecar, its variant in memory, or compressed on the fly
    /// (recorded into the variant cache); 406 if the client accepts none
    /// of them. `beneath`: `path` is relative to the root and was opened
    /// beneath it (sidecars are looked up there).
    fn serve(
        &self,
        req: &RequestHead,
        path: &Path,
        f: &Arc<CachedFile>,
        beneath: bool,
        slot: &mut PermitSlot,
    ) -> Result<Reply, HttpError> {
        let config = &self.settings;
        let len = f.len();
        let prepared = f.prepared(path, config.gzip_threshold);
        let (ty, compressible) = (prepared.ty, prepared.compressible);
        let stored = |coding| {
            if let Some(sidecar) = beneath.then(|| self.sidecar(path, f, coding)).flatten() {
                Some(Source::Sidecar(sidecar))
            } else {
                self.variants
                    .as_ref()
                    .and_then(|v| v.get(&f.identity, coding))
                    .map(Source::Memory)
            }
        };
        let Some((coding, source)) = self.pick(req, compressible, stored, slot)? else {
            return self.serve_identity(req, f, prepared);
        };
        // The representation's validators: a sidecar is a file of its own;
        // the coding of the file, in memory or made now, shares the file's
        // version with a tag of its own, and its length is not known up
        // front (no range of it is served).
        let (etag, last_modified, rep_len) = match &source {
            Source::Sidecar(s) => (
                s.validators.etag_with_suffix(coding.etag_suffix()),
                s.validators.last_modified,
                Some(s.len()),
            ),
            Source::Memory(_) | Source::OnTheFly(_) => (
                f.validators.etag_with_suffix(coding.etag_suffix()),
                f.validators.last_modified,
                None,
            ),
        };
        debug_assert!(compressible, "a coding of a compressible file");
        let last_modified_date = format_http_date(last_modified);
        let representation = Representation {
            etag: Some(&etag),
            last_modified: Some(last_modified),
            len: rep_len,
        };
        let head_for = |status| {
            let mut h = ResponseHead::new(status);
            h.add("ETag", etag.as_bytes());
            h.add("Last-Modified", last_modified_date.as_bytes());
            h.add("Vary", b"Accept-Encoding");
            h
        };
        match answer(&req.method, req, &representation, &config.range_limits) {
            Answer::Full => {}
            Answer::NotModified => {
                return Ok(Reply {
                    head: head_for(Status::NOT_MODIFIED),
                    body: Body::Empty,
                });
            }
            Answer::PreconditionFailed => return Err(HttpError::PreconditionFailed),
            Answer::RangeNotSatisfiable { len } => {
                return Err(HttpError::RangeNotSatisfiable { len });
            }
            Answer::Partial(ranges) => {
                let mut head = head_for(Status::PARTIAL_CONTENT);
                // Only a sidecar has a length to take ranges of.
                let file = match &source {
                    Source::Sidecar(s) => {
                        head.add("Content-Encoding", coding.token().as_bytes());
                        s.file.clone()
                    }
                    Source::Memory(_) | Source::OnTheFly(_) => f.file.clone(),
                };
                return Ok(partial(config, head, ty, file, &ranges));
            }
        }
        let mut head = head_for(Status::OK);
        head.add("Content-Type", ty.as_bytes());
        head.add("Accept-Ranges", b"bytes");
        head.add("Content-Encoding", coding.token().as_bytes());
        let body = match source {
            Source::Sidecar(s) => {
                bump(&self.counters.sidecar_hits);
                self.whole(&s)?
            }
            Source::Memory(b) => Body::Bytes(b),
            Source::OnTheFly(on_the_fly) => {
                // Compressed once into the variant cache, if it may be
                // kept (and no other response is filling it): a HEAD
                // sends no body, so it fills nothing.
                let fill = match &self.variants {
                    Some(v) if req.method.is_get() => v.begin_fill(f.identity, coding),
                    _ => None,
                };
                // Small reads: a connection whose client does not read
                // holds one read buffer while the compressor waits
                // (issue 11).
                let producer = file_producer(config, f.file.clone(), len).block_size(16 << 10);
                Body::Encoded(
                    on_the_fly,
                    producer,
                    fill.map(|fill| (fill, f.file.clone())),
                )
            }
        };
        Ok(Reply { head, body })
    }

    /// The coding to send a file in, by the one negotiation
    /// ([`negotiate_encoding`], RFC 9110 section 12.5.3): `None` for the
    /// file as is. A compressible file is offered in the configured
    /// codings, the preferred first, then `identity`; any other file in
    /// `identity` alone. When nothing offered is acceptable (`identity;q=0`
    /// or `*;q=0` with no coding accepted) the answer is 406 (issue 15;
    /// until then the field was disregarded, as Go's `net/http` and nginx
    /// do). A `Range` on a GET is about the file's bytes, so identity is
    /// taken whenever the client accepts it.
    ///
    /// `skipped`: codings taken out of the offer (br and zstd at the cap
    /// of [`HeavyEncoders`]).
    fn choose(
        &self,
        req: &RequestHead,
        compressible: bool,
        skipped: &[Coding],
    ) -> Result<Option<Coding>, HttpError> {
        let kept: Vec<&'static str>;
        let offered: &[&'static str] = if !compressible {
            &["identity"]
        } else if skipped.is_empty() {
            &self.offered
        } else {
            kept = (self.offered.iter().copied())
                .filter(|t| !skipped.iter().any(|c| c.token() == *t))
                .collect();
            &kept
        };
        if compressible
            && req.method.is_get()
            && req.header("range").is_some()
            && negotiate_encoding(req, &["identity"]).is_some()
        {
            return Ok(None);
        }
        match negotiate_encoding(req, offered) {
            None => Err(HttpError::NotAcceptable),
            Some(token) => Ok(self
                .settings
                .codings
                .iter()
                .copied()
                .find(|c| c.token() == token)),
        }
    }

    /// The coding to send a representation in and where it comes from
    /// ([`choose`](Self::choose)): from `stored` (a sidecar, the variant
    /// cache) when it has it, else made on the fly. A br or zstd coding
    /// made on the fly needs the connection's permit of [`HeavyEncoders`]
    /// (`slot`); at the cap it
    /// is taken out of the offer and the negotiation runs again, so the
    /// client gets the next coding it accepts (gzip, then identity, by its
    /// q-values; 406 if none is left). `None`: as is.
    fn pick(
        &self,
        req: &RequestHead,
        compressible: bool,
        stored: impl Fn(Coding) -> Option<Source>,
        slot: &mut PermitSlot,
    ) -> Result<Option<(Coding, Source)>, HttpError> {
        let mut skipped = Vec::new();
        loop {
            let Some(coding) = self.choose(req, compressible, &skipped)? else {
                return Ok(None);
            };
            if let Some(source) = stored(coding) {
                return Ok(Some((coding, source)));
            }
            match OnTheFly::new(coding, &self.heavy, slot) {
                Some(t) => return Ok(Some((coding, Source::OnTheFly(t)))),
                None => skipped.push(coding),
            }
        }
    }

    /// A listing page as a reply, through the same negotiation as a file
    /// ([`pick`](Self::pick)): compressed in memory, in one go, in the
    /// coding chosen when it is over the gzip threshold (a listing is
    /// capped, so small: its exact `Content-Length` is sent either way),
    /// with `Vary: Accept-Encoding` whenever it could have been; 406 if
    /// the client accepts nothing offered.
    fn listing_reply(
        &self,
        req: &RequestHead,
        html: String,
        slot: &mut PermitSlot,
    ) -> Result<Reply, HttpError> {
        let config = &self.settings;
        let compressible = html.len() as u64 > config.gzip_threshold;
        let picked = self.pick(req, compressible, |_| None, slot)?;
        let mut head =
            ResponseHead::new(Status::OK).header("Content-Type", "text/html; charset=utf-8");
        if compressible {
            head.add("Vary", b"Accept-Encoding");
        }
        let body = match picked {
            Some((coding, Source::OnTheFly(t))) => {
                head.add("Content-Encoding", coding.token().as_bytes());
                let enc = t.encoder(
                    config.gzip_level,
                    config.gzip_window_bits,
                    Some(html.len() as u64),
                );
                Bytes::from(encode_all(enc, html.as_bytes()))
            }
            _ => Bytes::from(html),
        };
        Ok(Reply {
            head,
            body: Body::Bytes(body),
        })
    }

    /// `f` as is: its fields come formatted from `prepared` (one copy into
    /// the head), its bytes from memory when the open-file cache holds
    /// them.
    fn serve_identity(
        &self,
        req: &RequestHead,
        f: &CachedFile,
        prepared: &Prepared,
    ) -> Result<Reply, HttpError> {
        let representation = Representation {
            etag: Some(&prepared.etag),
            last_modified: Some(f.validators.last_modified),
            len: Some(f.len()),
        };
        let head_for = |status| ResponseHead::new(status).block(&prepared.validators);
        match answer(
            &req.method,
            req,
            &representation,
            &self.settings.range_limits,
        ) {
            Answer::Full => Ok(Reply {
                head: ResponseHead::new(Status::OK).block(&prepared.full),
                body: self.whole(f)?,
            }),
            Answer::NotModified => Ok(Reply {
                head: head_for(Status::NOT_MODIFIED),
                body: Body::Empty,
            }),
            Answer::PreconditionFailed => Err(HttpError::PreconditionFailed),
            Answer::RangeNotSatisfiable { len } => Err(HttpError::RangeNotSatisfiable { len }),
            Answer::Partial(ranges) => Ok(partial(
                &self.settings,
                head_for(Status::PARTIAL_CONTENT),
                prepared.ty,
                f.file.clone(),
                &ranges,
            )),
        }
    }
}

/// Whether the target's query has a `follow` parameter (`?follow`,
/// `?follow=1`, `?a&follow`).
#[cfg(feature = "http")]
fn wants_follow(target: &[u8]) -> bool {
    // A fragment is not sent by clients, but a `#` ends the query if it is.
    let target = memchr::memchr(b'#', target).map_or(target, |h| &target[..h]);
    let Some(q) = memchr::memchr(b'?', target) else {
        return false;
    };
    let query = &target[q + 1..];
    query
        .split(|&b| b == b'&')
        .any(|p| p == b"follow" || p.starts_with(b"follow="))
}

/// The file as a producer of `len` bytes from its start: regions for
/// `sendfile` at or over `sendfile_min`, else reads of the whole size.
#[cfg(feature = "http")]
fn file_producer(config: &FileSettings, f: Arc<File>, len: u64) -> FileProducer {
    let producer = FileProducer::promising(f, len);
    if len >= config.sendfile_min {
        producer.regions()
    } else {
        producer.block_size(len.max(1) as usize)
    }
}

/// A 206: one range as is with `Content-Range`; several as
/// `multipart/byteranges` (RFC 9110 section 14.6) — the framing pieces in
/// memory chained with the file's ranges, so the file bytes stay regions
/// and the exact length is known up front.
#[cfg(feature = "http")]
fn partial(
    config: &FileSettings,
    mut head: ResponseHead,
    ty: &str,
    f: Arc<File>,
    ranges: &ByteRanges,
) -> Reply {
    let total = ranges.total();
    head.add("Accept-Ranges", b"bytes");
    if let Some(r) = ranges.single() {
        head.add("Content-Type", ty.as_bytes());
        head.add("Content-Range", r.content_range(total).as_bytes());
        return Reply {
            head,
            body: Body::File(file_producer(config, f, total).range(r.start, r.len)),
        };
    }
    let multipart = MultipartRanges::new(ranges, ty);
    head.add("Content-Type", multipart.content_type().as_bytes());
    let mut body = Chain::default();
    for (part_head, r) in multipart.parts() {
        body.push(from_bytes(part_head.clone()));
        body.push(file_producer(config, f.clone(), total).range(r.start, r.len));
    }
    body.push(from_bytes(multipart.closing().clone()));
    debug_assert_eq!(
        crate::Producer::exact_len(&body),
        Some(multipart.content_length())
    );
    Reply {
        head,
        body: Body::Parts(body),
    }
}

#[cfg(all(test, feature = "http"))]
mod tests {
    use super::wants_follow;

    #[test]
    fn follow_is_a_query_parameter() {
        for yes in [
            &b"/log?follow"[..],
            b"/log?follow=1",
            b"/log?a=b&follow",
            b"/log?follow#x",
        ] {
            assert!(wants_follow(yes), "{}", String::from_utf8_lossy(yes));
        }
        for no in [
            &b"/log"[..],
            b"/follow",
            b"/log?followed",
            b"/log?x=follow",
            b"/log#?follow",
            b"/log?#follow",
        ] {
            assert!(!wants_follow(no), "{}", String::from_utf8_lossy(no));
        }
    }
}
