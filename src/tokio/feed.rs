//! [`feed`]: a [`ConsumerFifo`] fed from a tokio [`AsyncRead`], with
//! backpressure.

use std::error::Error;
use std::fmt;
use std::io;

use ::tokio::io::{AsyncRead, AsyncReadExt};

use crate::consume::{ConsumerFifo, MAX_READ_FROM};

/// Feeds `fifo` from `reader` until the FIFO ends, has no consumer left,
/// or fails.
///
/// - Reads only while the FIFO [wants to read](ConsumerFifo::wants_read),
///   at most its [room](ConsumerFifo::room) and at most
///   [`MAX_READ_FROM`] (16 KiB) at a time, and processes after each read: the
///   buffered input never exceeds the FIFO's budget, and a consumer that
///   falls behind stops the reading (the peer's sends then stall on TCP's
///   window, as under the reactor).
/// - The reader's end (a read of 0 bytes) is handed to the FIFO
///   ([`ConsumerFifo::eof`]); `feed` returns `Ok` once the FIFO has
///   [ended](ConsumerFifo::is_ended).
/// - It also returns `Ok` when no consumer is left (every one was done
///   before the input ended): it stops reading, and what was read past the
///   last consumer stays in the FIFO ([`ConsumerFifo::take_buffered`], for
///   a connection that leaves the protocol).
/// - A consumer error (and a framing error) is returned as an
///   [`io::Error`] (kind `InvalidData` for framing, see
///   [`ConsumeError`](crate::ConsumeError)); the FIFO is then failed. A
///   reader error is returned as is, the FIFO untouched.
/// - A [read deadline](ConsumerFifo::read_deadline) set by the head
///   consumer bounds each wait for input: when it passes, `feed` returns an
///   [`io::ErrorKind::TimedOut`] error and leaves the FIFO (and its
///   deadline) as they were. The wait uses tokio's timer, so a FIFO whose
///   consumers set deadlines needs a runtime with time enabled
///   (`enable_time`/`enable_all`), or tokio panics.
///
/// # A consumer that holds
///
/// A consumer that [holds](crate::Control::hold) its input waits for a
/// wake-up from outside the FIFO (a cap on work in flight, a full output
/// queue). `feed` owns no such wake-up, and never spins: while the budget
/// has room it goes on reading (as the reactor does), and once the held
/// input fills the budget — or the input ended while a consumer holds
/// ([ending](ConsumerFifo::is_ending)) — it returns an error whose inner
/// error is [`InputHeld`] ("a consumer holds its input with nothing to wake
/// it"; [`InputHeld::is`] recognises it). The FIFO is left as it was, not
/// failed: when whatever held the consumer lets it go on, call `feed`
/// again, which first processes what is buffered and then reads on.
///
/// # Example
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use producers::{ConsumerFifo, consume::Lines};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let mut fifo = ConsumerFifo::new();
/// fifo.push(Lines::new("\n", move |line, _| Ok(log.lock().unwrap().push(line))));
/// producers::tokio::feed(&mut fifo, &mut &b"HELO a\nQUIT\n"[..]).await?;
/// assert_eq!(*seen.lock().unwrap(), ["HELO a", "QUIT"]);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub async fn feed<R: AsyncRead + Unpin + ?Sized>(
    fifo: &mut ConsumerFifo,
    reader: &mut R,
) -> io::Result<()> {
    if fifo.is_failed() {
        return Err(io::Error::other("the consumer FIFO failed earlier"));
    }
    // Resuming after a hold: hand over what is buffered first.
    fifo.process()?;
    loop {
        if fifo.is_ended() || fifo.is_empty() {
            return Ok(());
        }
        if !fifo.wants_read() {
            // Open with a full budget that is not an error, or ending: a
            // consumer holds (see the docs above).
            return Err(io::Error::other(InputHeld));
        }
        let n = match fifo.read_deadline() {
            None => read_some(fifo, reader).await?,
            Some(at) => {
                let at = ::tokio::time::Instant::from_std(at);
                match ::tokio::time::timeout_at(at, read_some(fifo, reader)).await {
                    Ok(n) => n?,
                    Err(_) => {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the consumer's read deadline passed",
                        ));
                    }
                }
            }
        };
        if n == 0 {
            fifo.eof()?;
        } else {
            fifo.process()?;
        }
    }
}

/// Reads once into the FIFO's buffer: at most its room and
/// [`MAX_READ_FROM`]. Returns the count; 0 is the reader's end.
/// Cancel-safe: dropped mid-read, the buffer is as it was.
async fn read_some<R: AsyncRead + Unpin + ?Sized>(
    fifo: &mut ConsumerFifo,
    reader: &mut R,
) -> io::Result<usize> {
    let want = fifo.room().min(MAX_READ_FROM);
    debug_assert!(want > 0, "read only while the FIFO wants to");
    let buf = fifo.read_buf();
    let start = buf.len();
    buf.resize(start + want, 0);
    // `read` into the slice: `read_buf` would read into whatever spare
    // capacity the buffer has, past the budget.
    let r = loop {
        match reader.read(&mut buf[start..]).await {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => break r,
        }
    };
    let n = *r.as_ref().unwrap_or(&0);
    buf.truncate(start + n.min(want));
    r.map(|n| n.min(want))
}

/// The inner error of what [`feed`] returns when a consumer holds its input
/// and nothing can wake it (see [`feed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InputHeld;

impl InputHeld {
    /// Whether `e` is the error [`feed`] returns for a held input.
    pub fn is(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<InputHeld>())
    }
}

impl fmt::Display for InputHeld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a consumer holds its input with nothing to wake it")
    }
}

impl Error for InputHeld {}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::consume::Lines;
    use crate::{ConsumeError, Consumer, Control, Frame, Framing};

    use crate::testing::tokio_runtime as runtime;

    fn lines(seen: &Arc<Mutex<Vec<String>>>) -> impl Consumer + Send + 'static {
        let log = seen.clone();
        Lines::new("\n", move |l, _| {
            log.lock()
                .unwrap()
                .push(String::from_utf8(l.to_vec()).unwrap());
            Ok(())
        })
    }

    #[test]
    fn a_consumer_error_is_an_io_error_and_fails_the_fifo() {
        let rt = runtime();
        let mut fifo = ConsumerFifo::new();
        fifo.push(Lines::new("\n", |_, _| Ok(())).max_len(4));
        let e = rt
            .block_on(feed(&mut fifo, &mut &b"toolong\n"[..]))
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(fifo.is_failed());
        let again = rt.block_on(feed(&mut fifo, &mut &b"x\n"[..]));
        assert!(again.is_err());
    }

    #[test]
    fn with_no_consumer_left_it_stops_and_keeps_the_rest() {
        let rt = runtime();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let mut fifo = ConsumerFifo::new();
        fifo.push(Lines::new("\n", move |l, ctl: &mut Control| {
            log.lock().unwrap().push(l);
            ctl.done();
            Ok(())
        }));
        rt.block_on(feed(&mut fifo, &mut &b"UPGRADE\nbinary"[..]))
            .unwrap();
        assert_eq!(*seen.lock().unwrap(), ["UPGRADE"]);
        assert!(!fifo.is_ended());
        assert_eq!(&fifo.take_buffered()[..], b"binary");
    }

    /// Holds whatever it is offered, taking nothing.
    struct Holder;
    impl Consumer for Holder {
        fn framing(&self) -> Framing {
            Framing::Raw
        }
        fn on_frame(&mut self, _: Frame, _: &mut Control) -> Result<(), ConsumeError> {
            unreachable!("raw")
        }
        fn on_raw(
            &mut self,
            _: &mut bytes::BytesMut,
            ctl: &mut Control,
        ) -> Result<(), ConsumeError> {
            ctl.hold();
            Ok(())
        }
    }

    #[test]
    fn a_hold_at_the_end_of_input_is_reported_not_spun_on() {
        let rt = runtime();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut fifo = ConsumerFifo::new();
        fifo.push(Holder);
        fifo.push(lines(&seen));
        let e = rt
            .block_on(feed(&mut fifo, &mut &b"a\nb\n"[..]))
            .unwrap_err();
        assert!(InputHeld::is(&e), "{e}");
        assert!(fifo.is_ending() && !fifo.is_failed());
        assert_eq!(fifo.buffered(), 4);
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn a_passed_read_deadline_is_timed_out() {
        let rt = runtime();
        let mut fifo = ConsumerFifo::new();
        fifo.push(crate::consume::from_fn(
            Framing::whole("\n"),
            |_, ctl: &mut Control| {
                ctl.set_read_deadline(Some(std::time::Instant::now()));
                Ok(())
            },
        ));
        let (mut near, mut far) = ::tokio::io::duplex(64);
        let e = rt
            .block_on(async {
                use ::tokio::io::AsyncWriteExt;
                near.write_all(b"first\n").await?;
                // `near` stays open: without the deadline this would wait
                // forever.
                feed(&mut fifo, &mut far).await
            })
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(fifo.read_deadline().is_some());
    }
}
