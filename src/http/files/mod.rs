//! Serving files: what a GET, HEAD or OPTIONS of a path under the root
//! gets, as a [`Reply`] (a status, its header fields and a [`Body`]) that
//! the server frames for its connection.
//!
//! This side resolves paths beneath the root ([`open`]), opens files
//! safely, lists directories ([`listing`]), picks a type ([`mime`]) and
//! decides between 304, 206, gzip and a plain body. It uses the protocol
//! types ([`crate::http::proto`]) and nothing of the server: what it needs
//! of the configuration comes as [`FileSettings`].

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::chunk::FileRegion;
use crate::http::proto::{
    ByteRange, HttpError, Method, RequestHead, ResponseHead, Status, UrlPath, Validators,
    format_http_date,
};
use crate::produce::FileProducer;

pub(crate) mod listing;
pub(crate) mod mime;
mod open;
mod reply;

use listing::listing_html;
use mime::{content_type, is_compressible};
#[cfg(target_os = "linux")]
use open::open_beneath;
use open::{check_regular, internal, open_nonblocking};
pub(crate) use reply::{Body, Reply};

/// `Allow` for the files and directories under the root.
pub(crate) const ALLOW_RESOURCE: &str = "GET, HEAD, OPTIONS";

/// What serving files takes from the server's configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileSettings {
    /// Files over this many bytes are gzip-compressed when accepted.
    pub(crate) gzip_threshold: u64,
    /// Files of at least this size go out as file regions (`sendfile`);
    /// smaller ones are read whole.
    pub(crate) sendfile_min: u64,
    /// Most entries in a directory listing.
    pub(crate) max_listing: usize,
}

/// The files under a root, as served.
#[derive(Debug)]
pub(crate) struct Files {
    /// The canonical root: every path served resolves under it.
    root: PathBuf,
    /// The root opened as a directory, for opening files beneath it in one
    /// system call (Linux `openat2` with `RESOLVE_BENEATH`); `None` if it
    /// could not be opened so (the portable path is used then).
    #[cfg(target_os = "linux")]
    root_fd: Option<std::os::fd::OwnedFd>,
    settings: FileSettings,
}

impl Files {
    /// The files under `root`; fails if `root` is not a directory.
    pub(crate) fn new(root: &Path, settings: FileSettings) -> io::Result<Files> {
        let root = fs::canonicalize(root)?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", root.display()),
            ));
        }
        #[cfg(target_os = "linux")]
        let root_fd = {
            use rustix::fs::{Mode, OFlags, open};
            open(
                &root,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()
        };
        Ok(Files {
            root,
            #[cfg(target_os = "linux")]
            root_fd,
            settings,
        })
    }

    /// The canonical root directory.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// `OPTIONS` of `path` under the root: what [`resource`](Self::resource)
    /// would serve must exist (404 otherwise) and stay beneath the root
    /// (403).
    pub(crate) fn options(&self, path: &UrlPath) -> Result<Reply, HttpError> {
        path.resolve(&self.root)?;
        Ok(Reply::options(ALLOW_RESOURCE))
    }

    /// A GET or HEAD of `path` under the root.
    pub(crate) fn resource(&self, req: &RequestHead, path: &UrlPath) -> Result<Reply, HttpError> {
        let (config, root) = (&self.settings, self.root.as_path());
        #[cfg(target_os = "linux")]
        if let Some(root_fd) = &self.root_fd
            && let Some((f, meta)) = open_beneath(root_fd, path)?
        {
            let rel = path.relative();
            return open_file(config, req, &rel, Arc::new(f), meta);
        }
        let real = path.resolve(root)?;
        let meta = fs::metadata(&real).map_err(|_| HttpError::NotFound)?;
        if meta.is_dir() {
            if !path.trailing_slash() && !path.segments().is_empty() {
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
                return file(config, req, index);
            }
            let html = listing_html(&real, &path.to_url(true), config.max_listing)
                .map_err(|e| internal(&e))?;
            let head =
                ResponseHead::new(Status::OK).header("Content-Type", "text/html; charset=utf-8");
            return Ok(Reply {
                head,
                body: Body::Bytes(Bytes::from(html)),
            });
        }
        check_regular(&meta)?;
        if path.trailing_slash() {
            return Err(HttpError::NotFound);
        }
        file(config, req, real)
    }
}

/// A regular file: validators, 304, range, gzip or as is.
fn file(config: &FileSettings, req: &RequestHead, path: PathBuf) -> Result<Reply, HttpError> {
    let f = open_nonblocking(&path).map_err(|e| internal(&e))?;
    // The metadata of the open file, so what is described is what is sent
    // (and what was checked is what is open).
    let meta = f.metadata().map_err(|e| internal(&e))?;
    check_regular(&meta)?;
    open_file(config, req, &path, Arc::new(f), meta)
}

/// All `len` bytes of a small file, read with `pread` (a file that ends
/// early is `UnexpectedEof`).
fn read_whole(f: Arc<File>, len: u64) -> io::Result<Bytes> {
    let Some(region) = FileRegion::new(f, 0, len) else {
        return Ok(Bytes::new());
    };
    let mut buf = vec![0u8; len as usize];
    region.read_into(&mut buf)?;
    Ok(Bytes::from(buf))
}

/// An open regular file with its metadata.
fn open_file(
    config: &FileSettings,
    req: &RequestHead,
    path: &Path,
    f: Arc<File>,
    meta: fs::Metadata,
) -> Result<Reply, HttpError> {
    let len = meta.len();
    let validators = Validators::from_metadata(&meta);
    let ty = content_type(path);
    let compressible = is_compressible(ty) && len > config.gzip_threshold;
    let range = if req.method == Method::Get {
        req.header("range")
    } else {
        None
    };
    let gzip = compressible && range.is_none() && req.accepts_gzip();
    let etag = validators.etag(gzip);
    let last_modified = format_http_date(validators.last_modified);

    let head_for = |status| {
        let mut h = ResponseHead::new(status);
        h.add("ETag", etag.as_bytes());
        h.add("Last-Modified", last_modified.as_bytes());
        if compressible {
            h.add("Vary", b"Accept-Encoding");
        }
        h
    };
    if validators.precondition_failed(req, &etag) {
        return Err(HttpError::PreconditionFailed);
    }
    if validators.not_modified(req, &etag) {
        return Ok(Reply {
            head: head_for(Status::NOT_MODIFIED),
            body: Body::Empty,
        });
    }
    let mut head = head_for(Status::OK);
    head.add("Content-Type", ty.as_bytes());
    head.add("Accept-Ranges", b"bytes");
    if !gzip && range.is_none() && len < config.sendfile_min {
        // Small files are read now, in one piece, so head and body (and
        // pipelined responses) share a write.
        let body = read_whole(f, len).map_err(|e| internal(&e))?;
        return Ok(Reply {
            head,
            body: Body::Bytes(body),
        });
    }
    let producer = FileProducer::promising(f, len);
    let producer = if len >= config.sendfile_min {
        producer.regions()
    } else {
        producer.block_size(len.max(1) as usize)
    };
    if gzip {
        head.add("Content-Encoding", b"gzip");
        return Ok(Reply {
            head,
            // Small reads: a connection whose client does not read holds
            // one read buffer while the compressor waits (issue 11).
            body: Body::Gzip(producer.block_size(16 << 10)),
        });
    }
    if let Some(r) = range
        && validators.range_applies(req, &etag)
    {
        match ByteRange::parse(r, len) {
            ByteRange::Full => {}
            ByteRange::Part { start, len: n } => {
                let mut head = head_for(Status::PARTIAL_CONTENT);
                head.add("Content-Type", ty.as_bytes());
                head.add("Accept-Ranges", b"bytes");
                head.add(
                    "Content-Range",
                    format!("bytes {start}-{}/{len}", start + n - 1).as_bytes(),
                );
                return Ok(Reply {
                    head,
                    body: Body::File(producer.range(start, n)),
                });
            }
            ByteRange::Unsatisfiable => return Err(HttpError::RangeNotSatisfiable { len }),
        }
    }
    Ok(Reply {
        head,
        body: Body::File(producer),
    })
}
