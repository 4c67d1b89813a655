//! Every raw system call the reactor makes but the poller's (see
//! `poller.rs`), and, with the `polling` fallback there, the only `unsafe`
//! in the crate.
//!
//! Two operations here need `unsafe`: [`read_into`] reads into the spare
//! capacity of a `BytesMut` without zeroing it first and then extends its
//! length over the bytes the kernel wrote, and [`release_free_memory`]
//! calls glibc's `malloc_trim` (the allocator's counterpart of a system
//! call: it gives pages back with `madvise` and `brk`). Registration ([`register`]) is
//! safe with epoll; with the `polling` crate (not Linux) it is an `unsafe
//! fn` whose contract the reactor keeps by deleting every source before
//! dropping it ([`deregister`] is called on every close path and in the
//! reactor's `Drop`).
//!
//! The rest are safe wrappers over `rustix` that give the reactor one place
//! to look for platform differences: `sendmsg(MSG_NOSIGNAL)` instead of
//! `writev` (a peer that went away is `EPIPE`, never a `SIGPIPE`), Linux
//! `sendfile` with a tracked offset and a read-and-write fallback, the
//! check that makes `sendfile` safe ([`sigpipe_ignored`]), the
//! zero-linger option of an abortive close ([`reset_on_close`]), and
//! `EMFILE`/`ENFILE` detection for the accept backoff.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, IoSlice};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::time::Duration;

use bytes::BytesMut;

use super::config::Config;
use super::poller::{Event, Poller};

/// Hands the free memory the C allocator keeps back to the system:
/// glibc's `malloc_trim(0)`, which releases the free pages of every arena
/// (not only the top of the heap). Elsewhere nothing.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: `malloc_trim` takes no pointer, is thread-safe (it locks
        // each arena in turn) and only releases pages that hold no live
        // allocation; glibc has had it since 2.0.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Adds `source` to `poller` in level-triggered mode.
///
/// The caller keeps `source` open until [`deregister`] has been called for
/// it (the contract of the `polling` fallback).
pub(crate) fn register(poller: &Poller, source: &impl AsFd, interest: Event) -> io::Result<()> {
    poller.add(source.as_fd(), interest)
}

/// Changes the interest of a registered source.
pub(crate) fn reregister(poller: &Poller, source: &impl AsFd, interest: Event) -> io::Result<()> {
    poller.modify(source.as_fd(), interest)
}

/// Removes a registered source. Errors are ignored: the source is about to
/// be closed, which removes it from the kernel's interest list anyway.
pub(crate) fn deregister(poller: &Poller, source: &impl AsFd) {
    let _ = poller.delete(source.as_fd());
}

/// Reads at most `max` bytes from `sock` into `buf`'s spare capacity,
/// extending its length by the count read. `Interrupted` is retried.
pub(crate) fn read_into(sock: &TcpStream, buf: &mut BytesMut, max: usize) -> io::Result<usize> {
    buf.reserve(max);
    loop {
        let spare = &mut buf.spare_capacity_mut()[..max];
        match rustix::io::read(sock, spare) {
            Ok((filled, _)) => {
                let n = filled.len();
                // SAFETY: `rustix::io::read` returned `filled`, the first `n`
                // bytes of the spare capacity, as initialized by the kernel;
                // `n <= max <= spare capacity`, so the new length covers
                // only initialized bytes within the allocation.
                unsafe { buf.set_len(buf.len() + n) };
                return Ok(n);
            }
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// One read into `scratch`; `Interrupted` is retried.
pub(crate) fn read(sock: &TcpStream, scratch: &mut [u8]) -> io::Result<usize> {
    loop {
        match rustix::io::read(sock, &mut *scratch) {
            Ok(n) => return Ok(n),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// One vectored write that never raises `SIGPIPE`.
pub(crate) fn write_vectored(sock: &TcpStream, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    loop {
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
        let r = rustix::net::sendmsg(
            sock,
            bufs,
            &mut rustix::net::SendAncillaryBuffer::default(),
            rustix::net::SendFlags::NOSIGNAL,
        );
        // macOS and the other BSDs have no MSG_NOSIGNAL; their sockets are
        // created with SO_NOSIGPIPE instead (see `configure`).
        #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
        let r = rustix::io::writev(sock, bufs);
        match r {
            Ok(n) => return Ok(n),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Prepares an accepted or connected socket: non-blocking, `TCP_NODELAY`
/// and `TCP_NOTSENT_LOWAT` as the config asks, and no `SIGPIPE` where the
/// platform has the option.
pub(crate) fn configure(sock: &TcpStream, config: &Config) -> io::Result<()> {
    sock.set_nonblocking(true)?;
    if config.nodelay {
        sock.set_nodelay(true)?;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(lowat) = config.notsent_lowat {
        socket2::SockRef::from(sock).set_tcp_notsent_lowat(lowat)?;
    }
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "netbsd"))]
    socket2::SockRef::from(sock).set_nosigpipe(true)?;
    Ok(())
}

/// Makes the coming close of `sock` abortive: `SO_LINGER` on with a zero
/// timeout, so `close` drops unsent data and sends a reset (RST) instead
/// of a FIN.
pub(crate) fn reset_on_close(sock: &TcpStream) -> io::Result<()> {
    socket2::SockRef::from(sock).set_linger(Some(Duration::ZERO))
}

/// What one file-region write did.
#[derive(Debug)]
pub(crate) enum Sent {
    /// This many bytes went out.
    Wrote(usize),
    /// The kernel cannot `sendfile` from this file: use the fallback.
    Unsupported,
}

/// `sendfile` of at most `count` bytes at `*offset` from `file` to the
/// non-blocking `sock`, advancing `*offset`. `Ok(Wrote(0))` means the file
/// ended before the region did.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn sendfile(
    sock: &TcpStream,
    file: &File,
    offset: &mut u64,
    count: usize,
) -> io::Result<Sent> {
    loop {
        match rustix::fs::sendfile(sock, file, Some(offset), count) {
            Ok(n) => return Ok(Sent::Wrote(n)),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                return Ok(Sent::Unsupported);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Platforms without a `sendfile` the reactor uses: always the fallback.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn sendfile(
    _sock: &TcpStream,
    _file: &File,
    _offset: &mut u64,
    _count: usize,
) -> io::Result<Sent> {
    Ok(Sent::Unsupported)
}

/// Whether this process ignores `SIGPIPE`, which `sendfile` needs: unlike
/// `sendmsg`, it takes no `MSG_NOSIGNAL`, so on a socket whose peer went
/// away it raises `SIGPIPE` — fatal by default — before returning `EPIPE`.
/// Rust binaries ignore `SIGPIPE` at startup; a C host embedding this
/// library may not. Read from `SigIgn` in `/proc/self/status`; false when
/// that cannot be read.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn sigpipe_ignored() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| sigpipe_ignored_in(&s))
}

/// Platforms without the `sendfile` the reactor uses never need it.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn sigpipe_ignored() -> bool {
    false
}

/// Whether the `SigIgn` mask of a `/proc/PID/status` text has `SIGPIPE`
/// (signal 13 on every Linux architecture: bit 12).
pub(crate) fn sigpipe_ignored_in(status: &str) -> bool {
    const SIGPIPE: u32 = 13;
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (SIGPIPE - 1)) != 0)
}

/// Whether an `accept` error means the process or the system ran out of
/// descriptors or buffers: back off instead of retrying at once.
pub(crate) fn is_resource_exhausted(e: &io::Error) -> bool {
    use rustix::io::Errno;
    matches!(
        Errno::from_io_error(e),
        Some(Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM)
    )
}

/// Whether an `accept` error concerns only the connection being accepted
/// (it was reset before we took it): skip it and accept the next.
pub(crate) fn is_transient_accept_error(e: &io::Error) -> bool {
    use rustix::io::Errno;
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    ) || matches!(Errno::from_io_error(e), Some(Errno::PROTO | Errno::PERM))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigpipe_in_the_sigign_mask() {
        let status = |mask: &str| {
            format!("Name:\tx\nSigBlk:\t0000000000001000\nSigIgn:\t{mask}\nSigCgt:\t0\n")
        };
        assert!(sigpipe_ignored_in(&status("0000000000001000")));
        assert!(sigpipe_ignored_in(&status("0000000000001001")));
        // Blocked (SigBlk) or caught is not ignored; signal 12 or 14 is not 13.
        assert!(!sigpipe_ignored_in(&status("0000000000000000")));
        assert!(!sigpipe_ignored_in(&status("0000000000000800")));
        assert!(!sigpipe_ignored_in(&status("0000000000002000")));
        assert!(!sigpipe_ignored_in("Name:\tx\n"));
        assert!(!sigpipe_ignored_in("SigIgn:\tzz\n"));
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn the_test_harness_ignores_sigpipe() {
        // Rust binaries set SIGPIPE to SIG_IGN before `main`.
        assert!(sigpipe_ignored());
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn configure_bounds_unsent_bytes_unless_told_not_to() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let lowat = |config: &Config| {
            let sock = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let _peer = listener.accept().unwrap();
            configure(&sock, config).unwrap();
            let s = socket2::SockRef::from(&sock);
            (s.tcp_notsent_lowat().unwrap(), s.tcp_nodelay().unwrap())
        };
        let default = Config::default();
        assert_eq!(lowat(&default), (super::super::DEFAULT_NOTSENT_LOWAT, true));
        let mut config = Config {
            notsent_lowat: Some(4096),
            nodelay: false,
            ..Config::default()
        };
        assert_eq!(lowat(&config), (4096, false));
        // None leaves the system's value, whatever it is.
        let system = {
            let sock = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let _peer = listener.accept().unwrap();
            socket2::SockRef::from(&sock).tcp_notsent_lowat().unwrap()
        };
        config.notsent_lowat = None;
        assert_eq!(lowat(&config).0, system);
    }
}
