//! [`Collect`]: everything until the peer closes, as one frame.

use std::fmt;

use bytes::Bytes;

use super::{ConsumeError, Consumer, Control, DEFAULT_MAX_FRAME, Frame, Framing, Terminator};

/// Gathers everything until the end of input into one frame (at most
/// [`DEFAULT_MAX_FRAME`] bytes unless raised with
/// [`max`](Collect::max)) and hands it to a closure. More than the maximum
/// fails with [`FrameTooLong`](super::FrameError::FrameTooLong) as soon as
/// it arrives. An HTTP/1.0 response body without a length is read this way.
pub struct Collect<F> {
    max: usize,
    /// Taken when the frame is handed over.
    on_frame: Option<F>,
}

impl<F> Collect<F>
where
    F: FnOnce(Bytes, &mut Control) -> Result<(), ConsumeError>,
{
    /// Everything until close, to `on_frame`.
    pub fn new(on_frame: F) -> Collect<F> {
        Collect {
            max: DEFAULT_MAX_FRAME,
            on_frame: Some(on_frame),
        }
    }

    /// Sets the most bytes gathered.
    pub fn max(mut self, max: usize) -> Self {
        self.max = max;
        self
    }
}

impl<F> Consumer for Collect<F>
where
    F: FnOnce(Bytes, &mut Control) -> Result<(), ConsumeError>,
{
    fn framing(&self) -> Framing {
        Framing::whole(Terminator::UntilClose).max(self.max)
    }

    fn on_frame(&mut self, frame: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        ctl.done();
        match self.on_frame.take() {
            Some(f) => f(frame.into_bytes(), ctl),
            None => Ok(()),
        }
    }
}

impl<F> fmt::Debug for Collect<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collect")
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
    fn collects_until_close_and_caps() {
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        let mut fifo = ConsumerFifo::new();
        fifo.push(Collect::new(move |b, _| {
            *s.lock().unwrap() = Some(b);
            Ok(())
        }));
        fifo.feed(b"ab").unwrap();
        fifo.feed(b"cd").unwrap();
        assert_eq!(*seen.lock().unwrap(), None);
        fifo.eof().unwrap();
        assert_eq!(seen.lock().unwrap().as_deref(), Some(&b"abcd"[..]));

        let mut fifo = ConsumerFifo::new();
        fifo.push(Collect::new(|_, _| Ok(())).max(3));
        assert!(matches!(
            fifo.feed(b"abcd"),
            Err(ConsumeError::Frame(FrameError::FrameTooLong {
                limit: 3,
                offset: 0
            }))
        ));
    }

    #[test]
    fn empty_until_close_is_an_empty_frame() {
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        let mut fifo = ConsumerFifo::new();
        fifo.push(Collect::new(move |b, _| {
            *s.lock().unwrap() = Some(b);
            Ok(())
        }));
        fifo.eof().unwrap();
        assert_eq!(seen.lock().unwrap().as_deref(), Some(&b""[..]));
    }
}
