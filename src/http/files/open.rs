//! Finding and opening what a path names beneath the root, safely: never
//! above the root (symbolic links included), never anything but a regular
//! file or a directory, never an open that blocks the loop. Needs rustix
//! (`openat2`, `O_NONBLOCK`, errno), so it is part of the server (feature
//! `http`); the portable half, [`UrlPath::resolve`](crate::http::UrlPath::resolve)
//! under a [`Root`](crate::http::Root), is in `root.rs` for every user.

use std::fs::{self, File};
use std::io;
use std::path::Path;

use super::root::Root;
use crate::http::proto::{HttpError, UrlPath};

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
///
/// `rel` is a normalised path relative to the root
/// ([`UrlPath::relative`](crate::http::UrlPath::relative)), not empty.
#[cfg(target_os = "linux")]
pub(super) fn open_beneath(
    root: &std::os::fd::OwnedFd,
    rel: &Path,
) -> Result<Option<(File, fs::Metadata)>, HttpError> {
    use rustix::fs::{Mode, OFlags, ResolveFlags, openat2};
    use rustix::io::Errno;
    match openat2(
        root,
        rel,
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

/// Opens the directory `path` names beneath the root, for creating files
/// in it (uploads): on Linux with `openat2(RESOLVE_BENEATH)` from the
/// root's descriptor, as files are opened, else (or for an absolute
/// symbolic link) by the portable path, checked under the root.
/// Something other than a directory is 405: only directories take a
/// `POST`.
pub(super) fn open_dir_beneath(
    root: &Root,
    #[cfg(target_os = "linux")] root_fd: Option<&std::os::fd::OwnedFd>,
    path: &UrlPath,
) -> Result<std::os::fd::OwnedFd, HttpError> {
    use rustix::fs::{Mode, OFlags};
    use rustix::io::Errno;
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let not_dir = HttpError::MethodNotAllowed {
        allow: super::ALLOW_RESOURCE,
    };
    #[cfg(target_os = "linux")]
    if let Some(root_fd) = root_fd {
        use rustix::fs::{ResolveFlags, openat2};
        let rel = path.relative();
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &rel
        };
        match openat2(
            root_fd,
            rel,
            flags,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => return Ok(fd),
            Err(Errno::NOTDIR) if path_exists(root, path) => return Err(not_dir),
            Err(Errno::NOENT | Errno::NOTDIR | Errno::NAMETOOLONG) => {
                return Err(HttpError::NotFound);
            }
            Err(Errno::ACCESS | Errno::PERM) => return Err(HttpError::Forbidden),
            Err(e @ (Errno::MFILE | Errno::NFILE)) => return Err(internal(&e.into())),
            // An absolute symbolic link, an old kernel: the portable path.
            Err(_) => {}
        }
    }
    let real = path.resolve(root)?;
    if !real.is_dir() {
        return Err(not_dir);
    }
    rustix::fs::open(&real, flags, Mode::empty()).map_err(|e| internal(&e.into()))
}

/// Whether `path` names something (a file, when opening it as a
/// directory said "not a directory").
#[cfg(target_os = "linux")]
fn path_exists(root: &Root, path: &UrlPath) -> bool {
    path.resolve(root).is_ok()
}

/// Only regular files are served: a FIFO, a socket or a device under the
/// root is refused (403), never opened for reading.
pub(super) fn check_regular(meta: &fs::Metadata) -> Result<(), HttpError> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(HttpError::Forbidden)
    }
}

/// Opens `path` for reading without blocking: with `O_NONBLOCK` where
/// opening can wait (a FIFO that appeared since it was looked at).
pub(super) fn open_nonblocking(path: &Path) -> io::Result<File> {
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
pub(crate) fn internal(e: &io::Error) -> HttpError {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::files::reply::Reply;
    use crate::http::proto::Status;

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
}
