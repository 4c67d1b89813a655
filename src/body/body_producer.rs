//! [`BodyProducer`]: an `http_body::Body` (a request body: hyper's
//! `Incoming`, axum's `Body`) as a producer.

use std::error::Error;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::http::HeaderMap;
use bytes::Buf;
use http_body::Body;

use super::BodyError;
use crate::chunk::{Chunk, NonEmptyBytes};
use crate::produce::{Counters, More, Producer};

/// The default cap on the bytes a [`BodyProducer`] takes from a body: 64
/// MiB, the same as the crate's cap on decompressed output
/// (`codec::gzip::DEFAULT_MAX_OUTPUT`). A body is
/// peer-controlled; raise the cap with [`BodyProducer::max_len`] for large
/// uploads streamed to disk (`u64::MAX` for none).
pub const DEFAULT_MAX_LEN: u64 = 64 << 20;

/// Empty data frames skipped in one poll before it yields (wakes itself
/// and returns `Pending`), so a body of endless empty frames cannot hold
/// the executor thread.
const EMPTY_FRAMES_PER_POLL: usize = 64;

/// A body's data as a producer: hyper's `Incoming` or axum's `Body` fed
/// into the crate's pipelines (gzip, chunked, a consumer …).
///
/// - Each non-empty data frame becomes one chunk: without a copy when the
///   body's `Data` is [`Bytes`](bytes::Bytes) (hyper's and axum's are),
///   through [`Buf::copy_to_bytes`] otherwise. Empty frames are skipped.
/// - A trailers frame is kept, not handed out:
///   [`trailers`](BodyProducer::trailers) gives it after the end.
/// - The bytes taken are capped ([`max_len`](BodyProducer::max_len),
///   default [`DEFAULT_MAX_LEN`]): a body declaring more (an exact size
///   hint, from `Content-Length`) fails before anything is read, and a frame
///   that crosses the cap fails without being handed out, both with
///   [`BodyError::TooLarge`] inside the [`io::Error`] (recovered by
///   [`BodyError::of`], to answer `413`).
/// - An error of the body passes through as an [`io::Error`]: the same
///   error if the body's is one, else one of kind
///   [`Other`](io::ErrorKind::Other) whose source is the body's.
/// - [`exact_len`](Producer::exact_len) is the body's exact size hint.
///
/// After the end or an error every poll returns `None`.
///
/// ```
/// use producers::{Producer, ProducerExt};
/// use producers::body::BodyProducer;
///
/// // Any `http_body::Body`: here http-body-util's `Full`.
/// let body = http_body_util::Full::new(bytes::Bytes::from("uploaded"));
/// let mut upload = BodyProducer::new(body).max_len(1024);
/// assert_eq!(upload.exact_len(), Some(8));
/// assert_eq!(&upload.collect_bytes()?[..], b"uploaded");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct BodyProducer<B> {
    body: B,
    state: State,
    /// The cap on `received`.
    limit: u64,
    /// Data bytes handed out so far; never above `limit`.
    received: u64,
    /// The body's trailers frame, once it has come (several are merged).
    trailers: Option<HeaderMap>,
    counters: Counters,
}

/// Where the body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Frames are still to come.
    Reading,
    /// The body ended (cleanly, or with an error handed out): every poll is
    /// `None`.
    Done,
}

impl<B> BodyProducer<B> {
    /// A producer of `body`'s data, capped at [`DEFAULT_MAX_LEN`] bytes.
    pub fn new(body: B) -> Self {
        BodyProducer {
            body,
            state: State::Reading,
            limit: DEFAULT_MAX_LEN,
            received: 0,
            trailers: None,
            counters: Counters::default(),
        }
    }

    /// Caps the data taken from the body at `limit` bytes (`u64::MAX` for
    /// no cap); more is [`BodyError::TooLarge`].
    pub fn max_len(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    /// The cap, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The data bytes handed out so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The body's trailers, once its trailers frame has come (in practice:
    /// after the end); `None` for a body without any.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }

    /// Takes the body's trailers out (see
    /// [`trailers`](BodyProducer::trailers)).
    pub fn take_trailers(&mut self) -> Option<HeaderMap> {
        self.trailers.take()
    }

    /// The body.
    pub fn get_ref(&self) -> &B {
        &self.body
    }

    /// The body, mutably. Taking frames from it directly skips the cap.
    pub fn get_mut(&mut self) -> &mut B {
        &mut self.body
    }

    /// The body, with whatever frames it has not yet given.
    pub fn into_inner(self) -> B {
        self.body
    }

    /// Ends with `e`.
    fn fail(&mut self, e: io::Error) -> More {
        self.state = State::Done;
        Poll::Ready(Some(Err(e)))
    }

    fn too_large(&mut self, at_least: u64) -> More {
        let limit = self.limit;
        self.fail(BodyError::TooLarge { limit, at_least }.into())
    }
}

impl<B> BodyProducer<B>
where
    B: Body + Unpin,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        let mut skipped = 0;
        loop {
            if self.state == State::Done {
                return Poll::Ready(None);
            }
            // A declared length over the cap fails before it is read.
            let left = self.limit - self.received;
            let lower = self.body.size_hint().lower();
            if lower > left {
                return self.too_large(self.received + lower);
            }
            let frame = match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.state = State::Done;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) => return self.fail(into_io(e.into())),
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            match frame.into_data() {
                Ok(mut data) => {
                    let n = data.remaining();
                    if n as u64 > left {
                        return self.too_large(self.received.saturating_add(n as u64));
                    }
                    // `Bytes` splits itself off here: no copy.
                    if let Some(bytes) = NonEmptyBytes::new(data.copy_to_bytes(n)) {
                        self.received += n as u64;
                        return Poll::Ready(Some(Ok(Chunk::Bytes(bytes))));
                    }
                }
                Err(frame) => {
                    if let Ok(t) = frame.into_trailers() {
                        match &mut self.trailers {
                            Some(all) => all.extend(t),
                            None => self.trailers = Some(t),
                        }
                    }
                }
            }
            skipped += 1;
            if skipped == EMPTY_FRAMES_PER_POLL {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
    }
}

/// The body's error as an `io::Error`: itself if it is one.
fn into_io(e: Box<dyn Error + Send + Sync>) -> io::Error {
    match e.downcast::<io::Error>() {
        Ok(e) => *e,
        Err(e) => io::Error::other(e),
    }
}

impl<B> Producer for BodyProducer<B>
where
    B: Body + Unpin,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    fn exact_len(&self) -> Option<u64> {
        match self.state {
            State::Done => Some(0),
            State::Reading => self.body.size_hint().exact(),
        }
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use bytes::Bytes;
    use http_body::{Frame, SizeHint};

    use super::*;
    use crate::testing;

    /// A body of scripted frames: data (as `Bytes` or as another `Buf`),
    /// trailers, pendings, errors; an optional exact length.
    #[derive(Default)]
    struct Scripted {
        steps: VecDeque<Option<Result<Frame<Data>, io::Error>>>,
        exact: Option<u64>,
    }

    /// A `Buf` that is not `Bytes`, so the copying path is taken.
    type Data = bytes::buf::Chain<Bytes, Bytes>;

    impl Scripted {
        fn data(mut self, d: &'static [u8]) -> Self {
            let (a, b) = d.split_at(d.len() / 2);
            let data = Buf::chain(Bytes::from_static(a), Bytes::from_static(b));
            self.steps.push_back(Some(Ok(Frame::data(data))));
            self
        }
        fn pending(mut self) -> Self {
            self.steps.push_back(None);
            self
        }
        fn trailers(mut self, name: &'static str, value: &'static str) -> Self {
            let mut m = HeaderMap::new();
            m.insert(name, value.parse().unwrap());
            self.steps.push_back(Some(Ok(Frame::trailers(m))));
            self
        }
        fn error(mut self, kind: io::ErrorKind) -> Self {
            self.steps.push_back(Some(Err(kind.into())));
            self
        }
    }

    impl Body for Scripted {
        type Data = Data;
        type Error = io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Data>, io::Error>>> {
            match self.steps.pop_front() {
                None => Poll::Ready(None),
                Some(None) => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                Some(Some(f)) => {
                    if let (Some(n), Ok(f)) = (&mut self.exact, &f) {
                        *n -= f.data_ref().map_or(0, |d| d.remaining() as u64);
                    }
                    Poll::Ready(Some(f))
                }
            }
        }

        fn size_hint(&self) -> SizeHint {
            self.exact.map(SizeHint::with_exact).unwrap_or_default()
        }
    }

    /// Polls to the end: the bytes, and the error if any.
    fn drain<P: Producer>(p: &mut P) -> (Vec<u8>, Option<io::Error>) {
        let mut out = Vec::new();
        loop {
            match p.more() {
                Ok(Some(c)) => out.extend_from_slice(&c.into_bytes().unwrap()),
                Ok(None) => return (out, None),
                Err(e) => {
                    assert!(p.more().unwrap().is_none(), "errors are final");
                    return (out, Some(e));
                }
            }
        }
    }

    #[test]
    fn data_frames_become_chunks_and_trailers_are_kept() {
        let body = Scripted::default()
            .data(b"hello, ")
            .pending()
            .data(b"")
            .data(b"world")
            .trailers("x-sum", "12");
        let mut p = BodyProducer::new(body);
        assert_eq!(p.exact_len(), None);
        let (out, err) = drain(&mut p);
        assert!(err.is_none());
        assert_eq!(out, b"hello, world");
        assert_eq!(p.received(), 12);
        assert_eq!(p.trailers().unwrap()["x-sum"], "12");
        assert_eq!(p.exact_len(), Some(0));
        let c = p.counters().unwrap();
        assert_eq!((c.chunks, c.bytes), (2, 12), "the empty frame is skipped");
    }

    #[test]
    fn bytes_frames_pass_without_a_copy() {
        let src = Bytes::from(vec![5u8; 1000]);
        let mut p = BodyProducer::new(http_body_util::Full::new(src.clone()));
        assert_eq!(p.exact_len(), Some(1000));
        let c = p.more().unwrap().unwrap();
        assert_eq!(c.as_bytes().unwrap().as_ptr(), src.as_ptr());
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn a_frame_crossing_the_cap_is_too_large_and_not_handed_out() {
        let body = Scripted::default().data(b"0123456789").data(b"abcdef");
        let mut p = BodyProducer::new(body).max_len(12);
        let (out, err) = drain(&mut p);
        assert_eq!(out, b"0123456789");
        let err = err.unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            BodyError::of(&err),
            Some(&BodyError::TooLarge {
                limit: 12,
                at_least: 16
            })
        );
        assert_eq!(
            err.to_string(),
            "body of at least 16 bytes is over the cap of 12 bytes"
        );

        // Exactly at the cap is fine.
        let body = Scripted::default().data(b"0123456789").data(b"ab");
        let (out, err) = drain(&mut BodyProducer::new(body).max_len(12));
        assert_eq!((out.len(), err.is_none()), (12, true));
    }

    #[test]
    fn a_declared_length_over_the_cap_fails_before_reading() {
        let mut body = Scripted::default().data(b"0123456789");
        body.exact = Some(10);
        let mut p = BodyProducer::new(body).max_len(9);
        let (out, err) = drain(&mut p);
        assert!(out.is_empty());
        assert_eq!(
            BodyError::of(&err.unwrap()),
            Some(&BodyError::TooLarge {
                limit: 9,
                at_least: 10
            })
        );
        assert_eq!(p.get_ref().steps.len(), 1, "nothing was read");
    }

    #[test]
    fn body_errors_pass_through_intact() {
        let body = Scripted::default()
            .data(b"ab")
            .error(io::ErrorKind::ConnectionReset);
        let (out, err) = drain(&mut BodyProducer::new(body));
        assert_eq!(out, b"ab");
        assert_eq!(err.unwrap().kind(), io::ErrorKind::ConnectionReset);

        // An error that is not an io::Error becomes `Other`, its source kept.
        #[derive(Debug)]
        struct Broken;
        impl std::fmt::Display for Broken {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("broken body")
            }
        }
        impl Error for Broken {}
        let failing = Scripted::default().error(io::ErrorKind::Other);
        let failing = http_body_util::BodyExt::map_err(failing, |_| Broken);
        let (_, err) = drain(&mut BodyProducer::new(failing));
        let err = err.unwrap();
        assert_eq!(err.kind(), io::ErrorKind::Other);
        assert_eq!(err.to_string(), "broken body");
        assert!(err.get_ref().unwrap().is::<Broken>());
    }

    #[test]
    fn endless_empty_frames_yield() {
        struct Empty;
        impl Body for Empty {
            type Data = Bytes;
            type Error = io::Error;
            fn poll_frame(
                self: Pin<&mut Self>,
                _cx: &mut Context<'_>,
            ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
                Poll::Ready(Some(Ok(Frame::data(Bytes::new()))))
            }
        }
        let mut p = BodyProducer::new(Empty);
        let (mut cx, wakes) = testing::counting_context();
        assert!(p.poll_more(&mut cx).is_pending());
        assert_eq!(wakes.count(), 1, "it wakes itself to go on");
    }

    #[test]
    fn conformance() {
        let make = || {
            BodyProducer::new(
                Scripted::default()
                    .data(b"abc")
                    .pending()
                    .data(b"")
                    .data(b"defgh")
                    .trailers("t", "v"),
            )
        };
        testing::check(make, b"abcdefgh");
        let exact = || {
            let mut body = Scripted::default().data(b"abc").data(b"de");
            body.exact = Some(5);
            BodyProducer::new(body)
        };
        testing::check(exact, b"abcde");
    }
}
