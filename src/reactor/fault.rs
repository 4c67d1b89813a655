//! [`PanicSite`]: where a panic caught outside any channel happened, as
//! reported to the [`Reactor::on_panic`](super::Reactor::on_panic) hook.

use std::any::Any;
use std::fmt;

use super::{ListenerId, TimerId};

/// Where the loop caught a panic that no channel owns.
///
/// A panic in a handler, a consumer or a producer closes its channel with
/// [`CloseReason::Panicked`](super::CloseReason::Panicked); a panic in one
/// of these places has no channel to close, so the loop reports it to the
/// [`Reactor::on_panic`](super::Reactor::on_panic) hook, counts it in
/// [`Stats::loop_panics`](super::Stats::loop_panics) and goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PanicSite {
    /// A timer callback ([`Reactor::after`](super::Reactor::after),
    /// [`Reactor::every`](super::Reactor::every)); a periodic one is
    /// cancelled.
    Timer(TimerId),
    /// A closure posted through [`Handle::post`](super::Handle::post).
    Post,
    /// A listener's handler factory; the connection is dropped.
    Accept(ListenerId),
    /// The [`Reactor::on_close`](super::Reactor::on_close) hook.
    CloseHook,
    /// A callback given to [`Outbox::on_drained`](super::Outbox::on_drained).
    Drained,
}

impl fmt::Display for PanicSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PanicSite::Timer(_) => f.write_str("timer callback"),
            PanicSite::Post => f.write_str("posted closure"),
            PanicSite::Accept(_) => f.write_str("accept callback"),
            PanicSite::CloseHook => f.write_str("close hook"),
            PanicSite::Drained => f.write_str("drained callback"),
        }
    }
}

/// The message of a panic payload (`&str` or `String`).
pub(crate) fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_str_string_and_other_payloads() {
        assert_eq!(panic_message(&"boom"), "boom");
        assert_eq!(panic_message(&String::from("bang")), "bang");
        assert_eq!(panic_message(&42u32), "non-string panic payload");
    }

    #[test]
    fn sites_display_lowercase() {
        assert_eq!(PanicSite::Post.to_string(), "posted closure");
        assert_eq!(PanicSite::CloseHook.to_string(), "close hook");
    }
}
