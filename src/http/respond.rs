//! [`Reply`]: what a request gets — a status, its specific header fields
//! and a body — before the connection's framing is added.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::conditional::{ByteRange, Validators};
use super::listing::listing_html;
use super::mime::{content_type, is_compressible};
use super::server::Shared;
use super::{HttpError, Method, RequestHead, ResponseHead, ServerConfig, Status, UrlPath};
use crate::produce::{FileProducer, ListProducer};

/// `Allow` for the files and directories under the root.
pub(crate) const ALLOW_RESOURCE: &str = "GET, HEAD, OPTIONS";
/// `Allow` for `/echo`.
pub(crate) const ALLOW_ECHO: &str = "POST, OPTIONS";
/// `Allow` for the server as a whole (`OPTIONS *`): every method some
/// resource supports.
pub(crate) const ALLOW_SERVER: &str = "GET, HEAD, POST, OPTIONS";

/// A response body before framing.
#[derive(Debug)]
pub(crate) enum Body {
    /// No body (304, 204).
    Empty,
    /// Bytes in memory.
    Bytes(Bytes),
    /// Part or all of a file, of known length.
    File(FileProducer),
    /// A file to gzip: the compressed length is unknown.
    Gzip(FileProducer),
    /// Pieces sent with the chunked coding.
    Chunks(ListProducer),
}

/// A response: the head without the connection's fields, and the body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) head: ResponseHead,
    pub(crate) body: Body,
}

impl Reply {
    #[cfg(test)]
    pub(crate) fn status(&self) -> Status {
        self.head.status()
    }

    /// The answer to `OPTIONS`: 200, the methods in `Allow`, no content
    /// (so `Content-Length: 0`, RFC 9110 section 9.3.7).
    pub(crate) fn options(allow: &'static str) -> Reply {
        Reply {
            head: ResponseHead::new(Status::OK).header("Allow", allow),
            body: Body::Bytes(Bytes::new()),
        }
    }

    /// The short error page for `e`.
    pub(crate) fn error(e: &HttpError) -> Reply {
        let status = e.status();
        let mut head =
            ResponseHead::new(status).header("Content-Type", "text/plain; charset=utf-8");
        match e {
            HttpError::MethodNotAllowed { allow } => head.add("Allow", allow.as_bytes()),
            HttpError::RangeNotSatisfiable { len } => {
                head.add("Content-Range", format!("bytes */{len}").as_bytes())
            }
            HttpError::Unavailable { retry_after } => {
                head.add("Retry-After", retry_after.to_string().as_bytes())
            }
            _ => {}
        }
        Reply {
            head,
            body: Body::Bytes(Bytes::from(format!("{status}\n"))),
        }
    }
}

/// Whether `Accept-Encoding` accepts gzip with a non-zero quality
/// (RFC 9110 section 12.5.3): `gzip`, `x-gzip`, or `*` when gzip is not
/// named.
pub(crate) fn accepts_gzip(req: &RequestHead) -> bool {
    let mut star = None;
    for v in req.headers("accept-encoding") {
        for item in v.split(|&b| b == b',') {
            let mut parts = item.split(|&b| b == b';');
            let name = trim(parts.next().unwrap_or_default());
            let q = parts
                .filter_map(|p| {
                    let p = trim(p);
                    p.strip_prefix(b"q=").or_else(|| p.strip_prefix(b"Q="))
                })
                .next()
                .map(|q| {
                    std::str::from_utf8(q)
                        .ok()
                        .and_then(|s| s.parse::<f32>().ok())
                        .unwrap_or(0.0)
                })
                .unwrap_or(1.0);
            if name.eq_ignore_ascii_case(b"gzip") || name.eq_ignore_ascii_case(b"x-gzip") {
                return q > 0.0;
            }
            if name == b"*" {
                star = Some(q > 0.0);
            }
        }
    }
    star.unwrap_or(false)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Opens the regular file `path` names beneath the root in one system
/// call: `openat2` with `RESOLVE_BENEATH` refuses any resolution that
/// leaves the root, symbolic links included. `Ok(None)` means "use the
/// portable path": not Linux, an old kernel, a directory, or an absolute
/// symbolic link (which `RESOLVE_BENEATH` refuses even when it points
/// inside the root).
///
/// The open never blocks the loop: `O_NONBLOCK` makes opening a FIFO
/// return at once (where a plain open waits for a writer, and every
/// connection on the loop with it), and anything but a regular file or a
/// directory is then refused (403).
#[cfg(target_os = "linux")]
fn open_beneath(
    shared: &Shared,
    path: &UrlPath,
) -> Result<Option<(File, fs::Metadata)>, HttpError> {
    use rustix::fs::{Mode, OFlags, ResolveFlags, openat2};
    use rustix::io::Errno;
    let Some(root) = &shared.root_fd else {
        return Ok(None);
    };
    if path.segments().is_empty() || path.trailing_slash() {
        return Ok(None);
    }
    let rel = path.relative();
    match openat2(
        root,
        &rel,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => {
            let f = File::from(fd);
            let meta = f.metadata().map_err(|e| internal(&e))?;
            if meta.is_dir() {
                return Ok(None);
            }
            check_regular(&meta)?;
            Ok(Some((f, meta)))
        }
        Err(Errno::NOENT | Errno::NOTDIR | Errno::NAMETOOLONG) => Err(HttpError::NotFound),
        Err(e @ (Errno::MFILE | Errno::NFILE)) => Err(internal(&e.into())),
        // A socket (ENXIO) or a device without a driver: not a file.
        Err(Errno::ACCESS | Errno::PERM | Errno::NXIO | Errno::NODEV) => Err(HttpError::Forbidden),
        Err(_) => Ok(None),
    }
}

/// `OPTIONS` of `path` under the root: what [`resource`] would serve must
/// exist (404 otherwise) and stay beneath the root (403).
pub(crate) fn options(shared: &Shared, path: &UrlPath) -> Result<Reply, HttpError> {
    path.resolve(&shared.root)?;
    Ok(Reply::options(ALLOW_RESOURCE))
}

/// A GET or HEAD of `path` under the root.
pub(crate) fn resource(
    shared: &Shared,
    req: &RequestHead,
    path: &UrlPath,
) -> Result<Reply, HttpError> {
    let (config, root) = (&shared.config, shared.root.as_path());
    #[cfg(target_os = "linux")]
    if let Some((f, meta)) = open_beneath(shared, path)? {
        let rel = path.relative();
        return open_file(config, req, &rel, f, meta);
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
        let head = ResponseHead::new(Status::OK).header("Content-Type", "text/html; charset=utf-8");
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

/// Only regular files are served: a FIFO, a socket or a device under the
/// root is refused (403), never opened for reading.
fn check_regular(meta: &fs::Metadata) -> Result<(), HttpError> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(HttpError::Forbidden)
    }
}

/// Opens `path` for reading without blocking: with `O_NONBLOCK` where
/// opening can wait (a FIFO that appeared since it was looked at).
fn open_nonblocking(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(i32::try_from(rustix::fs::OFlags::NONBLOCK.bits()).unwrap_or(0));
    }
    options.open(path)
}

/// `Retry-After` when out of descriptors: a second is long enough for
/// responses in flight to finish and give theirs back.
const RETRY_AFTER_SECS: u32 = 1;

/// Maps an I/O failure serving a request to its error response.
fn internal(e: &io::Error) -> HttpError {
    // Out of descriptors (this process's EMFILE or the system's ENFILE)
    // passes as connections close: 503 and retry, not 500 (issue 11).
    #[cfg(unix)]
    if let Some(rustix::io::Errno::MFILE | rustix::io::Errno::NFILE) =
        rustix::io::Errno::from_io_error(e)
    {
        return HttpError::Unavailable {
            retry_after: RETRY_AFTER_SECS,
        };
    }
    match e.kind() {
        io::ErrorKind::NotFound => HttpError::NotFound,
        io::ErrorKind::PermissionDenied => HttpError::Forbidden,
        kind => HttpError::Internal { kind },
    }
}

/// A regular file: validators, 304, range, gzip or as is.
fn file(config: &ServerConfig, req: &RequestHead, path: PathBuf) -> Result<Reply, HttpError> {
    let f = open_nonblocking(&path).map_err(|e| internal(&e))?;
    // The metadata of the open file, so what is described is what is sent
    // (and what was checked is what is open).
    let meta = f.metadata().map_err(|e| internal(&e))?;
    check_regular(&meta)?;
    open_file(config, req, &path, f, meta)
}

/// Reads all `len` bytes of a small file with `pread`.
fn read_small(f: &File, len: u64) -> io::Result<Bytes> {
    let mut buf = vec![0u8; len as usize];
    let mut done = 0;
    while done < buf.len() {
        match read_at(f, &mut buf[done..], done as u64) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Bytes::from(buf))
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(f, buf, offset)
}

#[cfg(not(unix))]
fn read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = f;
    f.seek(SeekFrom::Start(offset))?;
    f.read(buf)
}

/// An open regular file with its metadata.
fn open_file(
    config: &ServerConfig,
    req: &RequestHead,
    path: &Path,
    f: File,
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
    let gzip = compressible && range.is_none() && accepts_gzip(req);
    let etag = validators.etag(gzip);
    let last_modified = super::format_http_date(validators.last_modified);

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
        let body = read_small(&f, len).map_err(|e| internal(&e))?;
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
            // Small reads: the compressor takes 16 KiB at a time anyway,
            // and a blocked connection holds one read.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &str) -> RequestHead {
        RequestHead::parse(Bytes::from(format!(
            "GET / HTTP/1.1\r\nHost: a\r\n{headers}\r\n"
        )))
        .unwrap()
    }

    #[test]
    fn accept_encoding() {
        let table: &[(&str, bool)] = &[
            ("", false),
            ("Accept-Encoding: gzip\r\n", true),
            ("Accept-Encoding: deflate, GZIP;q=0.5\r\n", true),
            ("Accept-Encoding: gzip;q=0\r\n", false),
            ("Accept-Encoding: gzip; q=0.0, *\r\n", false),
            ("Accept-Encoding: *\r\n", true),
            ("Accept-Encoding: *;q=0\r\n", false),
            ("Accept-Encoding: br\r\nAccept-Encoding: x-gzip\r\n", true),
            ("Accept-Encoding: identity\r\n", false),
            ("Accept-Encoding: gzipx\r\n", false),
        ];
        for (h, want) in table {
            assert_eq!(accepts_gzip(&req(h)), *want, "{h:?}");
        }
    }

    #[test]
    fn out_of_descriptors_is_503_with_retry_after() {
        // EMFILE (this process) and ENFILE (the system) pass; other I/O
        // failures stay 500.
        for errno in [rustix::io::Errno::MFILE, rustix::io::Errno::NFILE] {
            let e = internal(&io::Error::from_raw_os_error(errno.raw_os_error()));
            assert_eq!(e, HttpError::Unavailable { retry_after: 1 }, "{errno}");
            let r = Reply::error(&e);
            assert_eq!(r.status(), Status::SERVICE_UNAVAILABLE);
            let head = r.head.finish();
            assert!(head.windows(16).any(|w| w == b"Retry-After: 1\r\n"));
        }
        let e = internal(&io::Error::from_raw_os_error(
            rustix::io::Errno::IO.raw_os_error(),
        ));
        assert_eq!(e.status(), Status::INTERNAL_SERVER_ERROR);
        let e = internal(&io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(e, HttpError::NotFound);
    }

    #[test]
    fn error_pages() {
        let r = Reply::error(&HttpError::MethodNotAllowed { allow: "GET, HEAD" });
        assert_eq!(r.status(), Status::METHOD_NOT_ALLOWED);
        let head = r.head.finish();
        assert!(head.windows(16).any(|w| w == b"Allow: GET, HEAD"));
        let Body::Bytes(b) = r.body else { panic!() };
        assert_eq!(&b[..], b"405 Method Not Allowed\n");
        let r = Reply::error(&HttpError::RangeNotSatisfiable { len: 7 });
        assert!(
            r.head
                .finish()
                .windows(21)
                .any(|w| w == b"Content-Range: bytes */7"[..21].as_ref())
        );
    }
}
