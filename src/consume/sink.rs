//! [`Sink`]: a streamed frame written into any `std::io::Write`.

use std::fmt;
use std::io::Write;

use super::{ConsumeError, Consumer, Control, Frame, Framing, Terminator};

type DoneFn<W> = Box<dyn FnOnce(W) -> Result<(), ConsumeError> + Send>;

/// Writes one frame, streamed piece by piece as it arrives, into a writer
/// (a file, a pipe, a hasher), then flushes it and is done. Nothing is
/// buffered whole, so the frame can be any length: a large upload with
/// `Terminator::Count(content_length)`, a download with
/// `Terminator::UntilClose`, an SMTP message with `"\r\n.\r\n"`.
///
/// A write error stops the input with [`ConsumeError::Io`]. When the frame
/// is complete the writer is handed to [`on_done`](Sink::on_done), if set.
pub struct Sink<W> {
    terminator: Terminator,
    /// Taken when the frame is complete.
    writer: Option<W>,
    on_done: Option<DoneFn<W>>,
}

impl<W: Write> Sink<W> {
    /// The frame ended by `terminator`, into `writer`.
    pub fn new(writer: W, terminator: impl Into<Terminator>) -> Sink<W> {
        Sink {
            terminator: terminator.into(),
            writer: Some(writer),
            on_done: None,
        }
    }

    /// Hands the writer to `f` once the frame is written and flushed.
    pub fn on_done(
        mut self,
        f: impl FnOnce(W) -> Result<(), ConsumeError> + Send + 'static,
    ) -> Self {
        self.on_done = Some(Box::new(f));
        self
    }
}

impl<W: Write> Consumer for Sink<W> {
    fn framing(&self) -> Framing {
        Framing::Pieces(self.terminator.clone())
    }

    fn on_frame(&mut self, frame: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        let last = frame.is_last();
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        w.write_all(frame.bytes())?;
        if last {
            w.flush()?;
            ctl.done();
            let w = self.writer.take().expect("checked above");
            if let Some(f) = self.on_done.take() {
                return f(w);
            }
        }
        Ok(())
    }
}

impl<W> fmt::Debug for Sink<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink")
            .field("terminator", &self.terminator)
            .field("done", &self.writer.is_none())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::consume::{ConsumerFifo, FrameError, from_fn};

    #[test]
    fn streams_a_count_then_hands_on_the_rest() {
        let out = Arc::new(Mutex::new(None));
        let o = out.clone();
        let rest = Arc::new(Mutex::new(Vec::new()));
        let r = rest.clone();
        let mut fifo = ConsumerFifo::with_budget(8);
        fifo.push(Sink::new(Vec::new(), 20u64).on_done(move |w| {
            *o.lock().unwrap() = Some(w);
            Ok(())
        }));
        fifo.push(from_fn(Framing::whole("\n"), move |f, _| {
            r.lock().unwrap().push(f.into_bytes());
            Ok(())
        }));
        // 20 bytes of body through an 8-byte budget: streamed, never held whole.
        fifo.feed(b"0123456789abcdefghijnext\n").unwrap();
        assert_eq!(
            out.lock().unwrap().as_deref(),
            Some(&b"0123456789abcdefghij"[..])
        );
        assert_eq!(*rest.lock().unwrap(), ["next"]);
    }

    #[test]
    fn until_close_and_short_input() {
        let out = Arc::new(Mutex::new(None));
        let o = out.clone();
        let mut fifo = ConsumerFifo::new();
        fifo.push(
            Sink::new(Vec::new(), Terminator::UntilClose).on_done(move |w| {
                *o.lock().unwrap() = Some(w);
                Ok(())
            }),
        );
        fifo.feed(b"abc").unwrap();
        fifo.eof().unwrap();
        assert_eq!(out.lock().unwrap().as_deref(), Some(&b"abc"[..]));

        let mut fifo = ConsumerFifo::new();
        fifo.push(Sink::new(Vec::new(), "\r\n.\r\n"));
        fifo.feed(b"body\r\n.").unwrap();
        assert!(matches!(
            fifo.eof(),
            Err(ConsumeError::Frame(FrameError::UnexpectedEnd {
                partial: 7,
                offset: 0
            }))
        ));
    }

    #[test]
    fn write_errors_stop_the_input() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut fifo = ConsumerFifo::new();
        fifo.push(Sink::new(Broken, 5u64));
        let e = fifo.feed(b"abc").unwrap_err();
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::BrokenPipe);
        assert!(fifo.is_failed());
        assert!(!fifo.wants_read());
    }
}
