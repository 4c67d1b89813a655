//! [`Framing`]: how a consumer wants its input cut, and [`Overflow`]: what
//! happens after an overlong frame.

use super::Terminator;

/// The maximum length of a whole frame unless a consumer says otherwise:
/// 64 KiB (the delimiter not counted).
///
/// Whole frames are buffered before they are handed on, so their length is
/// always bounded; a consumer expecting larger frames raises it with
/// [`Framing::max`] or asks for [`Framing::Pieces`] instead.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;

/// What follows a [`FrameError::FrameTooLong`](super::FrameError::FrameTooLong).
///
/// The error is handed to the consumer once
/// ([`Consumer::on_frame_error`](super::Consumer::on_frame_error)) in both
/// cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Overflow {
    /// Fail fast: no more frames; the consumer FIFO returns the error and
    /// the connection is closed. The default.
    #[default]
    Close,
    /// Discard the overlong frame through its terminator (the next
    /// delimiter, the count, or the close) and resume framing after it. A
    /// line protocol uses this to answer "line too long" and carry on.
    Discard,
}

/// How a consumer wants its input cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// Whole frames: each frame is split off the input buffer as one
    /// [`Bytes`](bytes::Bytes) (no copy), the terminator removed. A frame is
    /// at most `max` bytes; a longer one is a
    /// [`FrameTooLong`](super::FrameError::FrameTooLong) error followed by
    /// the `overflow` policy.
    Whole {
        /// Where each frame ends.
        terminator: Terminator,
        /// The maximum frame length, delimiter not counted.
        max: usize,
        /// What follows an overlong frame.
        overflow: Overflow,
    },
    /// Streamed pieces, for large bodies: bytes are handed on as they
    /// arrive, never buffered whole (only the last `delimiter length - 1`
    /// bytes may be held back while they could begin a delimiter). The last
    /// piece of each frame is marked, and may be empty.
    Pieces(Terminator),
    /// Self-framed: the consumer takes the bytes it wants from the input
    /// buffer itself ([`Consumer::on_raw`](super::Consumer::on_raw)) and
    /// leaves the rest for the next consumer. For decoders that know where
    /// their input ends (chunked bodies, gzip members).
    Raw,
}

impl Framing {
    /// Whole frames ended by `terminator`, at most [`DEFAULT_MAX_FRAME`]
    /// bytes, closing on overflow.
    pub fn whole(terminator: impl Into<Terminator>) -> Framing {
        Framing::Whole {
            terminator: terminator.into(),
            max: DEFAULT_MAX_FRAME,
            overflow: Overflow::Close,
        }
    }

    /// Streamed pieces ended by `terminator`.
    pub fn pieces(terminator: impl Into<Terminator>) -> Framing {
        Framing::Pieces(terminator.into())
    }

    /// Sets the maximum whole-frame length (no effect on pieces or raw).
    pub fn max(mut self, limit: usize) -> Framing {
        if let Framing::Whole { max, .. } = &mut self {
            *max = limit;
        }
        self
    }

    /// Sets the overflow policy (no effect on pieces or raw).
    pub fn overflow(mut self, policy: Overflow) -> Framing {
        if let Framing::Whole { overflow, .. } = &mut self {
            *overflow = policy;
        }
        self
    }

    /// The terminator, unless raw.
    pub fn terminator(&self) -> Option<&Terminator> {
        match self {
            Framing::Whole { terminator, .. } | Framing::Pieces(terminator) => Some(terminator),
            Framing::Raw => None,
        }
    }

    /// The same delivery with another terminator. Raw becomes whole frames
    /// with the default limit.
    pub fn with_terminator(self, terminator: Terminator) -> Framing {
        match self {
            Framing::Whole { max, overflow, .. } => Framing::Whole {
                terminator,
                max,
                overflow,
            },
            Framing::Pieces(_) => Framing::Pieces(terminator),
            Framing::Raw => Framing::whole(terminator),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders() {
        let f = Framing::whole("\r\n").max(10).overflow(Overflow::Discard);
        assert_eq!(
            f,
            Framing::Whole {
                terminator: Terminator::crlf(),
                max: 10,
                overflow: Overflow::Discard
            }
        );
        assert_eq!(
            Framing::pieces(5u64).max(1),
            Framing::Pieces(Terminator::Count(5))
        );
        assert_eq!(
            f.with_terminator(Terminator::Count(3)),
            Framing::Whole {
                terminator: Terminator::Count(3),
                max: 10,
                overflow: Overflow::Discard
            }
        );
        assert_eq!(
            Framing::Raw.with_terminator(Terminator::lf()),
            Framing::whole("\n")
        );
        assert_eq!(Framing::Raw.terminator(), None);
    }
}
