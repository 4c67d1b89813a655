//! [`Terminator`]: where a frame ends.

use bytes::Bytes;

/// Where a frame ends: Medusa's `set_terminator` argument, typed.
///
/// A terminator can be changed at any moment (see
/// [`Control::set_terminator`](super::Control::set_terminator)); the new one
/// applies from the current position, to the bytes already buffered as much
/// as to those still to come.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Terminator {
    /// The frame ends just before these bytes, which are consumed and not
    /// handed on. Any length from one byte up (`\n`, `\r\n`, `\r\n\r\n`,
    /// `\r\n.\r\n`, arbitrary bytes); an empty delimiter is treated as
    /// `Count(0)`.
    Delimiter(Bytes),
    /// The frame is exactly this many bytes. `Count(0)` completes at once
    /// with an empty frame (asynchat took 0 to mean "no terminator", so a
    /// `Content-Length: 0` body never completed). A count frames one frame;
    /// set a new terminator for the next.
    Count(u64),
    /// The frame is everything until the peer closes. The close completes
    /// one such frame: set again after it, this frames nothing (the end is
    /// sticky).
    UntilClose,
}

impl Terminator {
    /// A delimiter terminator.
    pub fn delimiter(bytes: impl Into<Bytes>) -> Terminator {
        Terminator::Delimiter(bytes.into())
    }

    /// `\n`.
    pub fn lf() -> Terminator {
        Terminator::Delimiter(Bytes::from_static(b"\n"))
    }

    /// `\r\n`.
    pub fn crlf() -> Terminator {
        Terminator::Delimiter(Bytes::from_static(b"\r\n"))
    }

    /// `\r\n\r\n`, the end of an HTTP header block.
    pub fn blank_line() -> Terminator {
        Terminator::Delimiter(Bytes::from_static(b"\r\n\r\n"))
    }

    /// The delimiter's length, or 0 for counts and until-close.
    pub fn delimiter_len(&self) -> usize {
        match self {
            Terminator::Delimiter(d) => d.len(),
            _ => 0,
        }
    }
}

impl From<u64> for Terminator {
    fn from(n: u64) -> Self {
        Terminator::Count(n)
    }
}

impl From<&'static [u8]> for Terminator {
    fn from(d: &'static [u8]) -> Self {
        Terminator::Delimiter(Bytes::from_static(d))
    }
}

impl From<&'static str> for Terminator {
    fn from(d: &'static str) -> Self {
        Terminator::Delimiter(Bytes::from_static(d.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors() {
        assert_eq!(Terminator::crlf(), Terminator::from("\r\n"));
        assert_eq!(Terminator::blank_line().delimiter_len(), 4);
        assert_eq!(Terminator::from(5u64), Terminator::Count(5));
        assert_eq!(Terminator::UntilClose.delimiter_len(), 0);
        assert_eq!(Terminator::delimiter(vec![0u8, 1]).delimiter_len(), 2);
    }
}
