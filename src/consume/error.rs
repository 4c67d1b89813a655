//! [`FrameError`] (framing failures) and [`ConsumeError`] (what a consumer
//! reports).

use std::error::Error;
use std::fmt;
use std::io;

/// A framing failure. Offsets are stream offsets: bytes since the first byte
/// fed to the framer or consumer FIFO.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// A whole frame would be longer than `limit` bytes (the delimiter not
    /// counted). For a delimiter this is known once more than
    /// `limit + delimiter length - 1` bytes are buffered with no delimiter;
    /// for a count, at once, before any byte of it is buffered.
    FrameTooLong {
        /// The maximum frame length in force.
        limit: usize,
        /// Where the overlong frame began.
        offset: u64,
    },
    /// The input ended inside a frame.
    UnexpectedEnd {
        /// Bytes of the unfinished frame that had arrived (delivered as
        /// pieces or still buffered, including a partial delimiter).
        partial: u64,
        /// Where the unfinished frame began.
        offset: u64,
    },
    /// The consumer FIFO's input budget is full and its head consumer cannot
    /// make progress (it needs a frame longer than the budget).
    BudgetExceeded {
        /// The input budget in bytes.
        budget: usize,
        /// The stream offset of the first buffered byte.
        offset: u64,
    },
    /// A consumer keeps being called without making progress: `rearms`
    /// callbacks in a row (in one call into the consumer FIFO) consumed no
    /// byte and retired no consumer — it re-arms a `Count(0)` terminator
    /// forever, or keeps queuing follow-ups that do the same. The cap is
    /// the FIFO's [re-arm limit](super::ConsumerFifo::set_rearm_limit).
    NoProgress {
        /// The stream offset where the input stopped moving.
        offset: u64,
        /// How many callbacks in a row made no progress.
        rearms: u32,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::FrameTooLong { limit, offset } => {
                write!(f, "frame at offset {offset} longer than {limit} bytes")
            }
            FrameError::UnexpectedEnd { partial, offset } => write!(
                f,
                "input ended inside a frame at offset {offset} after {partial} bytes of it"
            ),
            FrameError::BudgetExceeded { budget, offset } => write!(
                f,
                "input budget of {budget} bytes full at offset {offset} and the consumer cannot progress"
            ),
            FrameError::NoProgress { offset, rearms } => write!(
                f,
                "consumer made no progress at offset {offset} after {rearms} re-arms"
            ),
        }
    }
}

impl Error for FrameError {}

impl From<FrameError> for io::Error {
    fn from(e: FrameError) -> io::Error {
        let kind = match e {
            FrameError::UnexpectedEnd { .. } => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

/// Why a consumer, or the consumer FIFO driving it, stopped.
///
/// Converts into [`io::Error`] with the cause kept as its inner error, so
/// the reactor (which speaks `io::Error`) can close the connection with the
/// reason intact.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConsumeError {
    /// The framing failed.
    Frame(FrameError),
    /// The content of a frame is not what the consumer accepts (a
    /// netstring without its comma, a bad length prefix...).
    Invalid {
        /// The stream offset of the offending byte or frame.
        offset: u64,
        /// What was wrong, in lowercase.
        reason: &'static str,
    },
    /// An I/O error from where the consumer puts its input (a sink's
    /// writer), or a decoder's error already converted into `io::Error`.
    Io(io::Error),
}

impl fmt::Display for ConsumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsumeError::Frame(e) => e.fmt(f),
            ConsumeError::Invalid { offset, reason } => {
                write!(f, "invalid input at offset {offset}: {reason}")
            }
            ConsumeError::Io(e) => write!(f, "consumer i/o error: {e}"),
        }
    }
}

impl Error for ConsumeError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ConsumeError::Frame(e) => Some(e),
            ConsumeError::Invalid { .. } => None,
            ConsumeError::Io(e) => Some(e),
        }
    }
}

impl From<FrameError> for ConsumeError {
    fn from(e: FrameError) -> Self {
        ConsumeError::Frame(e)
    }
}

/// A chunked body's decoding error, as [`ConsumeError::Io`] with the kind
/// its `From<ChunkedError> for io::Error` gives (`InvalidData`, or
/// `UnexpectedEof` for a body cut short).
impl From<crate::codec::chunked::ChunkedError> for ConsumeError {
    fn from(e: crate::codec::chunked::ChunkedError) -> Self {
        ConsumeError::Io(e.into())
    }
}

impl From<io::Error> for ConsumeError {
    fn from(e: io::Error) -> Self {
        ConsumeError::Io(e)
    }
}

impl From<ConsumeError> for io::Error {
    fn from(e: ConsumeError) -> io::Error {
        match e {
            ConsumeError::Frame(f) => f.into(),
            ConsumeError::Io(e) => e,
            invalid @ ConsumeError::Invalid { .. } => {
                io::Error::new(io::ErrorKind::InvalidData, invalid)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_lowercase_without_period() {
        let all = [
            FrameError::FrameTooLong {
                limit: 8,
                offset: 3,
            }
            .to_string(),
            FrameError::UnexpectedEnd {
                partial: 2,
                offset: 9,
            }
            .to_string(),
            FrameError::BudgetExceeded {
                budget: 4,
                offset: 1,
            }
            .to_string(),
            FrameError::NoProgress {
                offset: 7,
                rearms: 1024,
            }
            .to_string(),
            ConsumeError::Invalid {
                offset: 5,
                reason: "bad length",
            }
            .to_string(),
        ];
        assert_eq!(all[0], "frame at offset 3 longer than 8 bytes");
        for s in all {
            assert!(s.starts_with(char::is_lowercase), "{s}");
            assert!(!s.ends_with('.'), "{s}");
        }
    }

    #[test]
    fn into_io_error_keeps_kind_and_cause() {
        let e: io::Error = FrameError::FrameTooLong {
            limit: 1,
            offset: 0,
        }
        .into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let inner = e.get_ref().unwrap().downcast_ref::<FrameError>().unwrap();
        assert_eq!(
            inner,
            &FrameError::FrameTooLong {
                limit: 1,
                offset: 0
            }
        );
        let e: io::Error = ConsumeError::from(FrameError::UnexpectedEnd {
            partial: 1,
            offset: 0,
        })
        .into();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        let e: io::Error = ConsumeError::Io(io::ErrorKind::BrokenPipe.into()).into();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        let e: io::Error = ConsumeError::Invalid {
            offset: 0,
            reason: "x",
        }
        .into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(
            ConsumeError::from(FrameError::FrameTooLong {
                limit: 1,
                offset: 0
            })
            .source()
            .is_some()
        );
    }
}
