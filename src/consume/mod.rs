//! Consumers: input partitioned by terminators, the consumer FIFO, and
//! input-side limits.
//!
//! Medusa's `async_chat` cut a connection's input by a *terminator* — a
//! delimiter, a byte count, or nothing (until close) — that the handler
//! could change at any moment. This module keeps that power, sans-I/O
//! (whoever reads feeds the bytes: the reactor, a test, a file), and fixes
//! its flaws:
//!
//! | asynchat | here |
//! |---|---|
//! | delimiters rescanned from the start of the buffer after every read | found with `memchr`/`memmem`, each byte scanned once (a delimiter split across reads is still found) |
//! | a count of 0 meant "no terminator": a `Content-Length: 0` body never completed | [`Terminator::Count`]`(0)` completes at once |
//! | the tail at close silently dropped | reported to the consumer ([`Eof`]) |
//! | unbounded buffering | every whole frame has a maximum ([`DEFAULT_MAX_FRAME`]), and the FIFO an input budget ([`DEFAULT_INPUT_BUDGET`]) with backpressure |
//! | one handler per connection | a [`ConsumerFifo`] of consumers that hand the rest of the input on, without copying |
//!
//! # The pieces
//!
//! - [`Terminator`]: a delimiter, a count, or until close.
//! - [`Framing`]: a terminator with a delivery — [`Framing::Whole`] frames
//!   (one [`Bytes`] split off the buffer, no copy, bounded by a maximum and
//!   an [`Overflow`] policy), [`Framing::Pieces`] (streamed as they arrive,
//!   for large bodies), or [`Framing::Raw`] (the consumer takes bytes
//!   itself).
//! - [`Framer`]: the engine, usable on its own like a codec's decoder.
//! - [`Consumer`]: declares its framing and receives frames; says when it
//!   is done through [`Control`].
//! - [`ConsumerFifo`]: a queue of consumers over one input buffer; the
//!   head consumes until done, then the rest of the buffered bytes go to the
//!   next, so pipelined requests are handled by construction.
//! - Ready-made consumers: [`Lines`], [`Count`], [`Collect`] (until close),
//!   [`Netstrings`] (length-prefixed records), [`Sink`] (into any
//!   [`std::io::Write`]), [`Multipart`] (`multipart/form-data`, parts
//!   streamed; see [`multipart`]), and [`from_fn`] for closures.
//!
//! # Pipelined requests
//!
//! A header consumer (`\r\n\r\n`, at most 16 KiB) queues a body consumer
//! for the length it read, which queues the next header consumer; two
//! requests arriving in one read are handled in turn.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use producers::consume::{Consumer, ConsumerFifo, Count, Framing, from_fn};
//!
//! type Log = Arc<Mutex<Vec<String>>>;
//!
//! fn request(log: Log) -> impl Consumer + Send + 'static {
//!     let framing = Framing::whole("\r\n\r\n").max(16 << 10);
//!     from_fn(framing, move |head, ctl| {
//!         let head = String::from_utf8_lossy(head.bytes()).into_owned();
//!         let len: u64 = head
//!             .lines()
//!             .find_map(|l| l.strip_prefix("Content-Length: "))
//!             .map_or(0, |n| n.parse().unwrap());
//!         log.lock().unwrap().push(head);
//!         let (l, next) = (log.clone(), log.clone());
//!         ctl.then(Count::new(len, move |body, ctl| {
//!             l.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
//!             ctl.then(request(next));
//!             Ok(())
//!         }));
//!         ctl.done();
//!         Ok(())
//!     })
//! }
//!
//! let log = Log::default();
//! let mut fifo = ConsumerFifo::new();
//! fifo.push(request(log.clone()));
//! fifo.feed(b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\n\r\nPOST")?;
//! assert_eq!(
//!     *log.lock().unwrap(),
//!     ["POST /a HTTP/1.1\r\nContent-Length: 5", "hello", "GET /b HTTP/1.1", ""]
//! );
//! assert_eq!(fifo.buffered(), 4); // the start of the third request waits
//! # Ok::<(), producers::consume::ConsumeError>(())
//! ```
//!
//! # Input backpressure
//!
//! A reader asks [`ConsumerFifo::wants_read`] before reading and reads at
//! most [`ConsumerFifo::room`] bytes (or uses
//! [`ConsumerFifo::read_from`]), so the buffered bytes never exceed the
//! budget: a slow consumer stops the reading instead of growing the buffer.
//! A head consumer that cannot progress with the budget full (it waits for a
//! frame longer than the budget) is an error,
//! [`FrameError::BudgetExceeded`], rather than a stall.
//!
//! # Self-framed decoders: chunked bodies and gzip
//!
//! A decoder that knows where its input ends plugs in as a
//! [`Framing::Raw`] consumer. Given a sans-I/O decoder of the shape
//! `decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, E>` with
//! `Decoded::{Data(Bytes), NeedMore, End}` (the decoder splits what it uses
//! off the front of `buf`, and at `End` the rest of `buf` belongs to the
//! next consumer), the consumer is a thin loop:
//!
//! ```ignore
//! impl Consumer for ChunkedBody {
//!     fn framing(&self) -> Framing { Framing::Raw }
//!     // No `on_frame`: a raw consumer never receives a frame, and the
//!     // trait's default covers it.
//!     fn on_raw(&mut self, buf: &mut BytesMut, ctl: &mut Control) -> Result<(), ConsumeError> {
//!         loop {
//!             match self.decoder.decode(buf).map_err(io::Error::from)? {
//!                 Decoded::Data(b) => (self.on_data)(b)?,
//!                 Decoded::NeedMore => return Ok(()),
//!                 Decoded::End => { ctl.done(); return Ok(()) } // the rest is the next request's
//!             }
//!         }
//!     }
//!     fn on_eof(&mut self, eof: Eof, _: &mut Control) -> Result<(), ConsumeError> {
//!         // Still inside the body: truncated.
//!         Err(FrameError::UnexpectedEnd { partial: eof.partial, offset: eof.offset }.into())
//!     }
//! }
//! ```
//!
//! The FIFO calls `on_raw` whenever bytes are buffered, keeps the offsets
//! from what the consumer removed, and, at `ctl.done()`, hands what is left
//! in `buf` to the next consumer without copying. A gunzip consumer is the
//! same loop over the bounded inflater (its decompression cap raising its
//! own error) when the gzip stream ends itself; when a transfer framing
//! ends it instead (`Content-Length`, chunked), it is a
//! [`Framing::Pieces`] consumer that inflates each piece and finishes at
//! the last one.
//!
//! Errors of such decoders reach the FIFO as [`ConsumeError::Io`] through
//! their `From<…> for io::Error`.

use bytes::{Bytes, BytesMut};

mod chunked_body;
mod collect;
#[cfg(any(feature = "gzip", feature = "brotli", feature = "zstd"))]
mod compressed_body;
mod consumer_fifo;
mod control;
mod count;
mod error;
mod fn_consumer;
mod framer;
mod framing;
mod lines;
pub mod multipart;
mod netstrings;
mod sink;
mod terminator;
mod whole_frames;

pub use chunked_body::ChunkedBody;
pub use collect::Collect;
#[cfg(any(feature = "gzip", feature = "brotli", feature = "zstd"))]
pub use compressed_body::CompressedBody;
pub use consumer_fifo::{ConsumerFifo, DEFAULT_INPUT_BUDGET, DEFAULT_REARM_LIMIT, MAX_READ_FROM};
pub use control::Control;
pub use count::Count;
pub use error::{ConsumeError, FrameError};
pub use fn_consumer::{FnConsumer, from_fn};
pub use framer::{AtEof, Eof, Frame, Framer};
pub use framing::{DEFAULT_MAX_FRAME, Framing, Overflow};
pub use lines::{DEFAULT_MAX_LINE, Lines};
pub use multipart::{
    Boundary, Multipart, MultipartError, MultipartLimits, MultipartParser, PartEvent, PartHeaders,
};
pub use netstrings::{DEFAULT_MAX_RECORD, Netstrings};
pub use sink::Sink;
pub use terminator::Terminator;
pub use whole_frames::WholeFrames;

/// A consumer of input: declares how it wants its input framed, receives
/// the frames, and says when it is done.
///
/// Driven by a [`ConsumerFifo`]: when a consumer reaches the head of the
/// FIFO its [`framing`](Consumer::framing) is asked once; from then on it
/// changes it through [`Control`]. Every callback gets the `Control`, to
/// change the terminator, queue follow-up consumers, or say it is done.
///
/// A consumer returning an error stops the FIFO: the error is final and
/// the reactor closes the connection with it (`ConsumeError` converts into
/// [`std::io::Error`]).
pub trait Consumer {
    /// How this consumer wants its input framed when it becomes the head.
    fn framing(&self) -> Framing;

    /// A whole frame or a piece, as the framing says.
    ///
    /// Every consumer declaring [`Framing::Whole`] or [`Framing::Pieces`]
    /// implements this. A [`Framing::Raw`] consumer takes its bytes in
    /// [`on_raw`](Consumer::on_raw) and never receives a frame, so it
    /// implements only that: the default fails with
    /// [`ConsumeError::Invalid`], the mirror of `on_raw`'s default (a
    /// consumer that declares one framing and implements the other's
    /// callback fails the FIFO on its first input rather than losing it).
    fn on_frame(&mut self, frame: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        let _ = frame;
        Err(ConsumeError::Invalid {
            offset: ctl.offset(),
            reason: "framed input without on_frame",
        })
    }

    /// A whole frame: the same as [`on_frame`](Consumer::on_frame) with
    /// [`Frame::Whole`], which the default calls. The consumer FIFO's fast
    /// path for whole delimited frames calls this; a consumer of many small
    /// frames (lines) may implement it to take the bytes directly.
    #[inline]
    fn on_whole(&mut self, frame: Bytes, ctl: &mut Control) -> Result<(), ConsumeError> {
        self.on_frame(Frame::Whole(frame), ctl)
    }

    /// Whole delimited frames, as many as are buffered: the consumer
    /// FIFO's fast path, one call for many frames. The default hands each
    /// to [`on_whole`](Consumer::on_whole); [`WholeFrames::next`] stops at
    /// the first request made through `ctl`, so the request applies to the
    /// bytes after that frame. An error stops the input as from
    /// [`on_frame`](Consumer::on_frame).
    #[inline]
    fn on_whole_frames(
        &mut self,
        frames: &mut WholeFrames<'_>,
        ctl: &mut Control,
    ) -> Result<(), ConsumeError> {
        while let Some(frame) = frames.next(ctl) {
            self.on_whole(frame, ctl)?;
        }
        Ok(())
    }

    /// Raw framing only: take what this consumer wants from the front of
    /// `buf` (with `split_to`/`advance`) and leave the rest. Called whenever
    /// bytes are buffered; returning without taking any byte and without a
    /// `Control` request means "need more". After [`Control::done`] what is
    /// left in `buf` goes to the next consumer. Must only remove bytes from
    /// the front.
    ///
    /// The default fails: a consumer declaring [`Framing::Raw`] implements
    /// this.
    fn on_raw(&mut self, buf: &mut BytesMut, ctl: &mut Control) -> Result<(), ConsumeError> {
        let _ = buf;
        Err(ConsumeError::Invalid {
            offset: ctl.offset(),
            reason: "raw framing without on_raw",
        })
    }

    /// A framing error, handed over once. Under [`Overflow::Close`] the FIFO
    /// then fails with it whatever this returns; under
    /// [`Overflow::Discard`] framing goes on after the overlong frame unless
    /// this returns an error. The default returns `Ok`.
    fn on_frame_error(&mut self, err: &FrameError, ctl: &mut Control) -> Result<(), ConsumeError> {
        let _ = (err, ctl);
        Ok(())
    }

    /// The input ended while this consumer was in the FIFO. `eof` holds an
    /// unfinished frame's bytes, if any; after this the consumer is
    /// dropped. The default fails with [`FrameError::UnexpectedEnd`] when a
    /// frame was left unfinished and accepts a clean end.
    fn on_eof(&mut self, eof: Eof, ctl: &mut Control) -> Result<(), ConsumeError> {
        let _ = ctl;
        Ok(eof.check()?)
    }
}

impl<C: Consumer + ?Sized> Consumer for Box<C> {
    fn framing(&self) -> Framing {
        (**self).framing()
    }
    fn on_frame(&mut self, frame: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        (**self).on_frame(frame, ctl)
    }
    fn on_whole(&mut self, frame: Bytes, ctl: &mut Control) -> Result<(), ConsumeError> {
        (**self).on_whole(frame, ctl)
    }
    fn on_whole_frames(
        &mut self,
        frames: &mut WholeFrames<'_>,
        ctl: &mut Control,
    ) -> Result<(), ConsumeError> {
        (**self).on_whole_frames(frames, ctl)
    }
    fn on_raw(&mut self, buf: &mut BytesMut, ctl: &mut Control) -> Result<(), ConsumeError> {
        (**self).on_raw(buf, ctl)
    }
    fn on_frame_error(&mut self, err: &FrameError, ctl: &mut Control) -> Result<(), ConsumeError> {
        (**self).on_frame_error(err, ctl)
    }
    fn on_eof(&mut self, eof: Eof, ctl: &mut Control) -> Result<(), ConsumeError> {
        (**self).on_eof(eof, ctl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A consumer that declares one framing and implements only the other's
    /// callback.
    struct Only(Framing);

    impl Consumer for Only {
        fn framing(&self) -> Framing {
            self.0.clone()
        }
        fn on_raw(&mut self, buf: &mut BytesMut, ctl: &mut Control) -> Result<(), ConsumeError> {
            buf.clear();
            ctl.done();
            Ok(())
        }
    }

    #[test]
    fn a_raw_consumer_needs_no_on_frame_and_a_framed_one_without_it_fails() {
        let mut fifo = ConsumerFifo::new();
        fifo.push(Only(Framing::Raw));
        fifo.feed(b"anything").unwrap();
        assert!(fifo.is_empty());

        let mut fifo = ConsumerFifo::new();
        fifo.push(Only(Framing::whole("\n")));
        let e = fifo.feed(b"a line\n").unwrap_err();
        assert!(
            matches!(e, ConsumeError::Invalid { reason, .. } if reason.contains("on_frame")),
            "{e:?}"
        );
    }
}
