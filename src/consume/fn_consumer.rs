//! [`FnConsumer`]: a consumer made of closures.

use std::fmt;

use super::{ConsumeError, Consumer, Control, Eof, Frame, Framing};

type EofFn = Box<dyn FnMut(Eof, &mut Control) -> Result<(), ConsumeError> + Send>;

/// A [`Consumer`] from a framing and a closure; made by [`from_fn`].
///
/// At the end of input it calls the closure given to
/// [`on_eof`](FnConsumer::on_eof), or by default fails with
/// [`UnexpectedEnd`](super::FrameError::UnexpectedEnd) if a frame was left
/// unfinished.
pub struct FnConsumer<F> {
    framing: Framing,
    on_frame: F,
    on_eof: Option<EofFn>,
}

/// A consumer that frames its input by `framing` and hands each frame to
/// `on_frame`.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use producers::consume::{ConsumerFifo, Framing, from_fn};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let mut fifo = ConsumerFifo::new();
/// fifo.push(from_fn(Framing::whole("\n"), move |frame, _ctl| {
///     log.lock().unwrap().push(frame.into_bytes());
///     Ok(())
/// }));
/// fifo.feed(b"one\ntwo\nthr")?;
/// fifo.feed(b"ee\n")?;
/// assert_eq!(*seen.lock().unwrap(), ["one", "two", "three"]);
/// # Ok::<(), producers::consume::ConsumeError>(())
/// ```
pub fn from_fn<F>(framing: Framing, on_frame: F) -> FnConsumer<F>
where
    F: FnMut(Frame, &mut Control) -> Result<(), ConsumeError>,
{
    FnConsumer {
        framing,
        on_frame,
        on_eof: None,
    }
}

impl<F> FnConsumer<F> {
    /// Calls `f` at the end of input instead of the default check.
    pub fn on_eof(
        mut self,
        f: impl FnMut(Eof, &mut Control) -> Result<(), ConsumeError> + Send + 'static,
    ) -> Self {
        self.on_eof = Some(Box::new(f));
        self
    }
}

impl<F> Consumer for FnConsumer<F>
where
    F: FnMut(Frame, &mut Control) -> Result<(), ConsumeError>,
{
    fn framing(&self) -> Framing {
        self.framing.clone()
    }

    fn on_frame(&mut self, frame: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        (self.on_frame)(frame, ctl)
    }

    fn on_eof(&mut self, eof: Eof, ctl: &mut Control) -> Result<(), ConsumeError> {
        match &mut self.on_eof {
            Some(f) => f(eof, ctl),
            None => Ok(eof.check()?),
        }
    }
}

impl<F> fmt::Debug for FnConsumer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnConsumer")
            .field("framing", &self.framing)
            .finish_non_exhaustive()
    }
}
