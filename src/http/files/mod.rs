//! Serving files: what a GET, HEAD or OPTIONS of a path under the root
//! gets, as a [`Reply`] (a status, its header fields and a [`Body`]) that
//! the server frames for its connection.
//!
//! This side resolves paths beneath the root ([`open`]), opens files
//! safely, lists directories ([`listing`]), picks a type ([`mime`]) and
//! decides between 304, 206, gzip and a plain body. It uses the protocol
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
use crate::chunk::FileRegion;
#[cfg(feature = "http")]
use crate::http::proto::{
    Answer, ByteRanges, HttpError, MultipartRanges, RangeLimits, Representation, RequestHead,
    RequestMethod, ResponseHead, Status, UrlPath, Validators, answer, negotiate_encoding,
};
#[cfg(feature = "http")]
use crate::produce::{Chain, FileProducer, from_bytes};

pub(crate) mod listing;
pub(crate) mod mime;
#[cfg(feature = "http")]
mod open;
#[cfg(feature = "http")]
mod reply;
pub(crate) mod root;

#[cfg(feature = "http")]
use listing::listing_html;
#[cfg(feature = "http")]
use mime::{content_type, is_compressible};
#[cfg(target_os = "linux")]
#[cfg(feature = "http")]
use open::open_beneath;
#[cfg(feature = "http")]
use open::{check_regular, internal, open_nonblocking};
#[cfg(feature = "http")]
pub(crate) use reply::{Body, Reply};
#[cfg(feature = "http")]
use root::Root;

/// `Allow` for the files and directories under the root.
#[cfg(feature = "http")]
pub(crate) const ALLOW_RESOURCE: &str = "GET, HEAD, OPTIONS";

/// What serving files takes from the server's configuration.
#[cfg(feature = "http")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileSettings {
    /// Files over this many bytes are gzip-compressed when accepted.
    pub(crate) gzip_threshold: u64,
    /// Files of at least this size go out as file regions (`sendfile`);
    /// smaller ones are read whole.
    pub(crate) sendfile_min: u64,
    /// Most entries in a directory listing.
    pub(crate) max_listing: usize,
    /// The caps on a `Range` field.
    pub(crate) range_limits: RangeLimits,
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
}

#[cfg(feature = "http")]
impl Files {
    /// The files under `root`, made canonical once; fails, saying why, if
    /// `root` does not resolve or is not a directory ([`Root::new`]).
    pub(crate) fn new(root: &Path, settings: FileSettings) -> io::Result<Files> {
        let root = Root::new(root)?;
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
        Ok(Files {
            root,
            #[cfg(target_os = "linux")]
            root_fd,
            settings,
        })
    }

    /// The canonical root directory.
    pub(crate) fn root(&self) -> &Path {
        self.root.path()
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
        let (config, root) = (&self.settings, self.root.path());
        #[cfg(target_os = "linux")]
        if let Some(root_fd) = &self.root_fd
            && let Some((f, meta)) = open_beneath(root_fd, path)?
        {
            let rel = path.relative();
            return open_file(config, req, &rel, Arc::new(f), meta);
        }
        let real = path.resolve(&self.root)?;
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
#[cfg(feature = "http")]
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
#[cfg(feature = "http")]
fn read_whole(f: Arc<File>, len: u64) -> io::Result<Bytes> {
    let Some(region) = FileRegion::new(f, 0, len) else {
        return Ok(Bytes::new());
    };
    let mut buf = vec![0u8; len as usize];
    region.read_into(&mut buf)?;
    Ok(Bytes::from(buf))
}

/// Whether to send the gzip coding of a compressible file, by the one
/// negotiation ([`negotiate_encoding`]). A `Range` on a GET is about the
/// file's bytes, so identity is taken whenever the client accepts it. When
/// nothing is acceptable (`identity;q=0` alone, `*;q=0`), the field is
/// disregarded and identity sent, as Go's `net/http` and nginx do (RFC
/// 9110 section 12.5.3 allows it instead of 406).
#[cfg(feature = "http")]
fn choose_gzip(req: &RequestHead) -> bool {
    if req.method.is_get()
        && req.header("range").is_some()
        && negotiate_encoding(req, &["identity"]).is_some()
    {
        return false;
    }
    negotiate_encoding(req, &["gzip", "identity"]) == Some("gzip")
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

/// An open regular file with its metadata.
#[cfg(feature = "http")]
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
    let gzip = compressible && choose_gzip(req);
    let etag = validators.etag(gzip);
    let last_modified = validators.last_modified_date();
    let representation = Representation {
        etag: Some(&etag),
        last_modified: Some(validators.last_modified),
        // The gzip coding is made on the fly: its length is unknown, so
        // no range of it is served.
        len: (!gzip).then_some(len),
    };

    let head_for = |status| {
        let mut h = ResponseHead::new(status);
        h.add("ETag", etag.as_bytes());
        h.add("Last-Modified", last_modified.as_bytes());
        if compressible {
            h.add("Vary", b"Accept-Encoding");
        }
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
        Answer::RangeNotSatisfiable { len } => return Err(HttpError::RangeNotSatisfiable { len }),
        Answer::Partial(ranges) => {
            return Ok(partial(
                config,
                head_for(Status::PARTIAL_CONTENT),
                ty,
                f,
                &ranges,
            ));
        }
    }
    let mut head = head_for(Status::OK);
    head.add("Content-Type", ty.as_bytes());
    head.add("Accept-Ranges", b"bytes");
    if !gzip && len < config.sendfile_min {
        // Small files are read now, in one piece, so head and body (and
        // pipelined responses) share a write.
        let body = read_whole(f, len).map_err(|e| internal(&e))?;
        return Ok(Reply {
            head,
            body: Body::Bytes(body),
        });
    }
    let producer = file_producer(config, f, len);
    if gzip {
        head.add("Content-Encoding", b"gzip");
        return Ok(Reply {
            head,
            // Small reads: a connection whose client does not read holds
            // one read buffer while the compressor waits (issue 11).
            body: Body::Gzip(producer.block_size(16 << 10)),
        });
    }
    Ok(Reply {
        head,
        body: Body::File(producer),
    })
}
