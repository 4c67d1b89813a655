//! Listeners: accepting in batches with a backoff when descriptors run out,
//! and `SO_REUSEPORT` binding for one loop per core.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

use super::{ChannelId, Handler};

/// Identifies a listener of one [`Reactor`](super::Reactor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(pub(crate) ChannelId);

/// Makes a handler for an accepted connection, or refuses it (`None`).
pub(crate) type MakeHandler = Box<dyn FnMut(SocketAddr) -> Option<Box<dyn Handler>>>;

/// A listening socket and its accept callback.
pub(crate) struct Listener {
    pub(crate) id: ChannelId,
    pub(crate) sock: TcpListener,
    pub(crate) make: MakeHandler,
    /// Accepting is paused (descriptors ran out) until the backoff timer.
    pub(crate) paused: bool,
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("id", &self.id)
            .field("addr", &self.sock.local_addr().ok())
            .field("paused", &self.paused)
            .finish()
    }
}

/// Binds a non-blocking listener on `addr` with `SO_REUSEADDR` and
/// `SO_REUSEPORT`, so several loops (one per core, each on its own thread)
/// can listen on the same port and the kernel spreads connections among
/// them. Bind the first with port 0, then the others to its
/// [`local_addr`](TcpListener::local_addr).
pub fn bind_reuseport(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    sock.set_reuse_port(true)?;
    sock.bind(&addr.into())?;
    sock.listen(backlog)?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}
