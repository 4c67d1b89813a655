//! [`Lines`]: delimited lines with a maximum length.

use std::fmt;

use bytes::Bytes;

use super::{
    ConsumeError, Consumer, Control, Eof, Frame, FrameError, Framing, Overflow, Terminator,
};

/// The default maximum line length of [`Lines`]: 8 KiB, the delimiter not
/// counted (the common limit on an HTTP request line or header line).
pub const DEFAULT_MAX_LINE: usize = 8 * 1024;

type OverlongFn = Box<dyn FnMut(&FrameError, &mut Control) -> Result<(), ConsumeError> + Send>;

/// Hands each line (delimiter removed) to a closure.
///
/// - A line longer than the maximum ([`DEFAULT_MAX_LINE`],
///   [`max_len`](Lines::max_len)) closes the input with
///   [`FrameError::FrameTooLong`] by default; after
///   [`discard_overlong`](Lines::discard_overlong) it is dropped through its
///   delimiter instead, reported to [`on_overlong`](Lines::on_overlong), and
///   the next line is read.
/// - An unterminated last line is an
///   [`UnexpectedEnd`](FrameError::UnexpectedEnd) error by default; after
///   [`accept_unterminated`](Lines::accept_unterminated) it is handed to the
///   closure like any line.
/// - The closure may call [`Control::done`] to hand the rest of the input
///   to the next consumer (an SMTP `DATA` line).
pub struct Lines<F> {
    delimiter: Bytes,
    max: usize,
    overflow: Overflow,
    /// Whether an unterminated last line is a line.
    accept_unterminated: bool,
    on_line: F,
    on_overlong: Option<OverlongFn>,
}

impl<F> Lines<F>
where
    F: FnMut(Bytes, &mut Control) -> Result<(), ConsumeError>,
{
    /// Lines ended by `delimiter` (`"\n"`, `"\r\n"`, any bytes).
    pub fn new(delimiter: impl Into<Bytes>, on_line: F) -> Lines<F> {
        Lines {
            delimiter: delimiter.into(),
            max: DEFAULT_MAX_LINE,
            overflow: Overflow::Close,
            accept_unterminated: false,
            on_line,
            on_overlong: None,
        }
    }

    /// Sets the maximum line length, delimiter not counted.
    pub fn max_len(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    /// Drops overlong lines through their delimiter and goes on, instead of
    /// closing.
    pub fn discard_overlong(mut self) -> Self {
        self.overflow = Overflow::Discard;
        self
    }

    /// Called once per overlong line (the error carries its offset); an
    /// error from it closes the input.
    pub fn on_overlong(
        mut self,
        f: impl FnMut(&FrameError, &mut Control) -> Result<(), ConsumeError> + Send + 'static,
    ) -> Self {
        self.on_overlong = Some(Box::new(f));
        self
    }

    /// Hands an unterminated last line to the closure instead of failing.
    pub fn accept_unterminated(mut self) -> Self {
        self.accept_unterminated = true;
        self
    }
}

impl<F> Consumer for Lines<F>
where
    F: FnMut(Bytes, &mut Control) -> Result<(), ConsumeError>,
{
    fn framing(&self) -> Framing {
        Framing::whole(Terminator::Delimiter(self.delimiter.clone()))
            .max(self.max)
            .overflow(self.overflow)
    }

    fn on_frame(&mut self, frame: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        (self.on_line)(frame.into_bytes(), ctl)
    }

    fn on_whole(&mut self, frame: Bytes, ctl: &mut Control) -> Result<(), ConsumeError> {
        (self.on_line)(frame, ctl)
    }

    fn on_frame_error(&mut self, err: &FrameError, ctl: &mut Control) -> Result<(), ConsumeError> {
        match &mut self.on_overlong {
            Some(f) => f(err, ctl),
            None => Ok(()),
        }
    }

    fn on_eof(&mut self, eof: Eof, ctl: &mut Control) -> Result<(), ConsumeError> {
        if self.accept_unterminated && !eof.tail.is_empty() {
            return (self.on_line)(eof.tail, ctl);
        }
        Ok(eof.check()?)
    }
}

impl<F> fmt::Debug for Lines<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines")
            .field("delimiter", &self.delimiter)
            .field("max", &self.max)
            .field("overflow", &self.overflow)
            .field("accept_unterminated", &self.accept_unterminated)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::consume::ConsumerFifo;

    fn run(
        lines: impl Fn(Arc<Mutex<Vec<Bytes>>>) -> Box<dyn Consumer + Send>,
        input: &[u8],
    ) -> (Vec<Bytes>, Result<(), ConsumeError>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut fifo = ConsumerFifo::new();
        fifo.push_boxed(lines(seen.clone()));
        let r = fifo.feed(input).and_then(|()| fifo.eof());
        let v = seen.lock().unwrap().clone();
        (v, r)
    }

    fn collect(
        seen: Arc<Mutex<Vec<Bytes>>>,
    ) -> impl FnMut(Bytes, &mut Control) -> Result<(), ConsumeError> {
        move |l, _| {
            seen.lock().unwrap().push(l);
            Ok(())
        }
    }

    #[test]
    fn overlong_lines_close_by_default() {
        let (v, r) = run(
            |s| Box::new(Lines::new("\n", collect(s)).max_len(3)),
            b"abc\nabcd\nx\n",
        );
        assert_eq!(v, ["abc"]);
        assert!(matches!(
            r,
            Err(ConsumeError::Frame(FrameError::FrameTooLong {
                limit: 3,
                offset: 4
            }))
        ));
    }

    #[test]
    fn overlong_lines_can_be_discarded_and_reported() {
        let errors = Arc::new(Mutex::new(Vec::new()));
        let e2 = errors.clone();
        let (v, r) = run(
            move |s| {
                let e2 = e2.clone();
                Box::new(
                    Lines::new("\r\n", collect(s))
                        .max_len(3)
                        .discard_overlong()
                        .on_overlong(move |e, _| {
                            e2.lock().unwrap().push(e.clone());
                            Ok(())
                        }),
                )
            },
            b"abc\r\nabcdefgh\r\nxy\r\n",
        );
        r.unwrap();
        assert_eq!(v, ["abc", "xy"]);
        assert_eq!(
            *errors.lock().unwrap(),
            [FrameError::FrameTooLong {
                limit: 3,
                offset: 5
            }]
        );
    }

    #[test]
    fn unterminated_last_line() {
        let (v, r) = run(|s| Box::new(Lines::new("\n", collect(s))), b"a\nb");
        assert_eq!(v, ["a"]);
        assert!(matches!(
            r,
            Err(ConsumeError::Frame(FrameError::UnexpectedEnd {
                partial: 1,
                offset: 2
            }))
        ));
        let (v, r) = run(
            |s| Box::new(Lines::new("\n", collect(s)).accept_unterminated()),
            b"a\nb",
        );
        r.unwrap();
        assert_eq!(v, ["a", "b"]);
    }
}
