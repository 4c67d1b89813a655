//! [`Count`]: exactly n bytes, as one frame.

use std::fmt;

use bytes::Bytes;

use super::{ConsumeError, Consumer, Control, DEFAULT_MAX_FRAME, Frame, Framing, Terminator};

/// Takes exactly `n` bytes as one frame, hands them to a closure and is
/// done; the bytes after them go to the next consumer.
///
/// `n` is usually peer-controlled (a `Content-Length`), so it is capped:
/// at most [`DEFAULT_MAX_FRAME`] unless raised with [`max`](Count::max); a
/// larger `n` fails with
/// [`FrameTooLong`](super::FrameError::FrameTooLong) before any of it is
/// buffered. `n = 0` completes at once. An input ending before `n` bytes is
/// an [`UnexpectedEnd`](super::FrameError::UnexpectedEnd). For bodies too
/// large to buffer, use a [`Sink`](super::Sink) or
/// [`Framing::Pieces`].
pub struct Count<F> {
    n: u64,
    max: usize,
    /// Taken when the frame is handed over.
    on_frame: Option<F>,
}

impl<F> Count<F>
where
    F: FnOnce(Bytes, &mut Control) -> Result<(), ConsumeError>,
{
    /// `n` bytes to `on_frame`.
    pub fn new(n: u64, on_frame: F) -> Count<F> {
        Count {
            n,
            max: DEFAULT_MAX_FRAME,
            on_frame: Some(on_frame),
        }
    }

    /// Sets the largest `n` accepted.
    pub fn max(mut self, max: usize) -> Self {
        self.max = max;
        self
    }
}

impl<F> Consumer for Count<F>
where
    F: FnOnce(Bytes, &mut Control) -> Result<(), ConsumeError>,
{
    fn framing(&self) -> Framing {
        Framing::whole(Terminator::Count(self.n)).max(self.max)
    }

    fn on_frame(&mut self, frame: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        ctl.done();
        match self.on_frame.take() {
            Some(f) => f(frame.into_bytes(), ctl),
            None => Ok(()),
        }
    }
}

impl<F> fmt::Debug for Count<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Count")
            .field("n", &self.n)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::consume::{ConsumerFifo, FrameError};

    #[test]
    fn zero_completes_at_once_and_the_rest_goes_on() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut fifo = ConsumerFifo::new();
        for n in [0, 3, 0, 2] {
            let s = seen.clone();
            fifo.push(Count::new(n, move |b, _| {
                s.lock().unwrap().push(b);
                Ok(())
            }));
        }
        fifo.feed(b"abcde").unwrap();
        assert_eq!(*seen.lock().unwrap(), ["", "abc", "", "de"]);
        assert!(fifo.is_empty());
        fifo.eof().unwrap();
    }

    #[test]
    fn over_the_cap_and_short() {
        let mut fifo = ConsumerFifo::new();
        fifo.push(Count::new(11, |_, _| Ok(())).max(10));
        assert!(matches!(
            fifo.feed(b"x"),
            Err(ConsumeError::Frame(FrameError::FrameTooLong {
                limit: 10,
                offset: 0
            }))
        ));
        let mut fifo = ConsumerFifo::new();
        fifo.push(Count::new(4, |_, _| Ok(())));
        fifo.feed(b"xyz").unwrap();
        assert!(matches!(
            fifo.eof(),
            Err(ConsumeError::Frame(FrameError::UnexpectedEnd {
                partial: 3,
                offset: 0
            }))
        ));
    }
}
