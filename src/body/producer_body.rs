//! [`ProducerBody`]: a producer as an `http_body::Body`, a response body
//! for hyper and axum.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::http::{HeaderValue, Response, header};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::{NoTrailers, REGION_FRAME, Trailers};
use crate::chunk::Chunk;
use crate::produce::Producer;

/// A response body of a producer's output.
///
/// ```
/// use producers::body::ProducerBody;
/// use producers::from_bytes;
/// use http_body::Body as _;
///
/// let body = ProducerBody::new(from_bytes("hello"));
/// assert_eq!(body.size_hint().exact(), Some(5));
/// ```
///
/// The size hint is exact when the producer knows its length
/// ([`Producer::exact_len`]) and no trailer is declared (see below); memory
/// chunks pass through as data frames without a copy; file regions are read
/// in pieces of at most [`REGION_FRAME`] bytes; an error is yielded as `Err`
/// and then the body ends. With [`with_trailers`](ProducerBody::with_trailers),
/// a trailers frame follows the last data frame.
///
/// # Trailers and `Content-Length`
///
/// Over HTTP/1.1 trailers travel only in the chunked coding (RFC 9112
/// section 7.1.2), and hyper picks `Content-Length` whenever the body's
/// size hint is exact — then it drops the trailers without a word. So a
/// body whose [`Trailers::names`] declares any field reports no exact size
/// hint (its lower bound is still the length): hyper sends it chunked and
/// the trailer arrives. Trailers that declare no names (the default of
/// [`Trailers::names`]) leave the hint exact; hyper would not send them
/// anyway, since it sends only the fields named in the `Trailer` header.
///
/// ```
/// # #[cfg(feature = "digest")] {
/// use http_body::Body as _;
/// use producers::body::ProducerBody;
/// use producers::digest::ContentDigest;
/// use producers::from_bytes;
///
/// let with = ProducerBody::new(from_bytes("hello")).with_trailers(ContentDigest::new());
/// assert_eq!(with.size_hint().exact(), None);
/// assert_eq!(with.size_hint().lower(), 5);
/// # }
/// ```
#[derive(Debug)]
pub struct ProducerBody<P, T = NoTrailers> {
    producer: P,
    /// The rest of a file region being read in pieces.
    region: Option<Chunk>,
    /// The trailers being computed; `None` without them, and once finished.
    trailers: Option<T>,
    /// Whether the trailers declared names when attached: then the size
    /// hint is never exact, so HTTP/1.1 goes chunked and carries them.
    declared: bool,
    ended: bool,
}

impl<P: Producer + Unpin> ProducerBody<P> {
    /// A body of `producer`'s output, without trailers.
    pub fn new(producer: P) -> Self {
        ProducerBody {
            producer,
            region: None,
            trailers: None,
            declared: false,
            ended: false,
        }
    }

    /// The same body with `trailers` computed over its data and sent at the
    /// end. If they declare names ([`Trailers::names`]), the size hint is
    /// no longer exact, so that hyper sends the body chunked and the
    /// trailers with it (see [above](ProducerBody#trailers-and-content-length)).
    pub fn with_trailers<T: Trailers>(self, trailers: T) -> ProducerBody<P, T> {
        ProducerBody {
            producer: self.producer,
            region: self.region,
            declared: !trailers.names().is_empty(),
            trailers: Some(trailers),
            ended: self.ended,
        }
    }
}

impl<P, T: Trailers> ProducerBody<P, T> {
    /// The `Trailer` header's value for this body: the names its
    /// [`Trailers::names`] declares, comma-separated; `None` without any.
    pub fn trailer_header(&self) -> Option<HeaderValue> {
        let names = self.trailers.as_ref()?.names();
        let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
        if names.is_empty() {
            return None;
        }
        Some(HeaderValue::try_from(names.join(", ")).expect("field names are tokens"))
    }

    /// A `200 OK` response with this body, and a `Trailer` header declaring
    /// its trailers ([`trailer_header`](ProducerBody::trailer_header)), which
    /// hyper needs before it sends them over HTTP/1.1. Change the status and
    /// add headers through [`Response::status_mut`] and
    /// [`Response::headers_mut`].
    pub fn into_response(self) -> Response<Self> {
        let trailer = self.trailer_header();
        let mut response = Response::new(self);
        if let Some(names) = trailer {
            response.headers_mut().insert(header::TRAILER, names);
        }
        response
    }
}

impl<P, T> ProducerBody<P, T> {
    /// The producer.
    pub fn get_ref(&self) -> &P {
        &self.producer
    }

    /// The producer, mutably.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.producer
    }

    /// The producer; an unread region rest and the trailers are dropped.
    pub fn into_inner(self) -> P {
        self.producer
    }
}

impl<P: Producer + Unpin, T: Trailers + Unpin> Body for ProducerBody<P, T> {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        let chunk = match this.region.take() {
            Some(c) => c,
            None => match this.producer.poll_more(cx) {
                Poll::Ready(Some(Ok(c))) => c,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(this.fail(e)))),
                Poll::Ready(None) => {
                    this.ended = true;
                    let map = this.trailers.take().map(T::finish).unwrap_or_default();
                    return Poll::Ready((!map.is_empty()).then(|| Ok(Frame::trailers(map))));
                }
                Poll::Pending => return Poll::Pending,
            },
        };
        let bytes = match chunk {
            Chunk::Bytes(b) => b.into_bytes(),
            region => match region.split_bytes(REGION_FRAME) {
                Ok((bytes, rest)) => {
                    this.region = rest;
                    bytes
                }
                Err(e) => return Poll::Ready(Some(Err(this.fail(e)))),
            },
        };
        if let Some(t) = this.trailers.as_mut() {
            t.update(&bytes);
        }
        Poll::Ready(Some(Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.ended
            || (self.trailers.is_none()
                && self.region.is_none()
                && self.producer.exact_len() == Some(0))
    }

    fn size_hint(&self) -> SizeHint {
        if self.ended {
            return SizeHint::with_exact(0);
        }
        let region = self.region.as_ref().map_or(0, Chunk::len);
        match self.producer.exact_len() {
            // Declared trailers need the chunked coding: a lower bound only.
            Some(n) if self.declared && self.trailers.is_some() => {
                let mut hint = SizeHint::new();
                hint.set_lower(n + region);
                hint
            }
            Some(n) => SizeHint::with_exact(n + region),
            None => {
                let mut hint = SizeHint::new();
                hint.set_lower(region);
                hint
            }
        }
    }
}

impl<P, T> ProducerBody<P, T> {
    /// Ends the body after `e`: no more frames, no trailers.
    fn fail(&mut self, e: io::Error) -> io::Error {
        self.ended = true;
        self.region = None;
        self.trailers = None;
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::trailers_fn;
    use crate::testing::{self, Script, Step};
    use crate::{FileProducer, ProducerExt, from_bytes};
    use ::http::HeaderMap;
    use http_body_util::BodyExt;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// Polls a body to its end with a counting waker (scripted pendings wake
    /// at once): the data frames, the trailers, the error if any.
    fn frames<B: Body<Data = Bytes, Error = io::Error> + Unpin>(
        mut b: B,
    ) -> (Vec<Bytes>, Option<HeaderMap>, Option<io::ErrorKind>) {
        let (mut cx, _) = testing::counting_context();
        let (mut data, mut trailers) = (Vec::new(), None);
        loop {
            match Pin::new(&mut b).poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(f))) => match f.into_data() {
                    Ok(d) => {
                        assert!(trailers.is_none(), "data after trailers");
                        assert!(!d.is_empty());
                        data.push(d);
                    }
                    Err(f) => trailers = Some(f.into_trailers().unwrap()),
                },
                Poll::Ready(Some(Err(e))) => {
                    assert!(b.is_end_stream());
                    assert!(matches!(
                        Pin::new(&mut b).poll_frame(&mut cx),
                        Poll::Ready(None)
                    ));
                    return (data, trailers, Some(e.kind()));
                }
                Poll::Ready(None) => {
                    assert!(b.is_end_stream());
                    return (data, trailers, None);
                }
                Poll::Pending => {}
            }
        }
    }

    #[test]
    fn memory_collects_with_an_exact_size_hint_and_no_copy() {
        let src = Bytes::from_static(b"hello, world");
        let body = ProducerBody::new(from_bytes(src.clone()));
        assert_eq!(body.size_hint().exact(), Some(12));
        assert!(!body.is_end_stream());
        let (data, trailers, err) = frames(ProducerBody::new(from_bytes(src.clone())));
        assert_eq!((trailers, err), (None, None));
        assert_eq!(data.len(), 1);
        assert_eq!(data[0], src);
        assert_eq!(data[0].as_ptr(), src.as_ptr(), "passed through, not copied");
        let collected = block_on(body.collect()).unwrap();
        assert!(collected.trailers().is_none());
        assert_eq!(collected.to_bytes(), src);
    }

    #[test]
    fn an_unknown_length_has_no_exact_hint_and_an_empty_body_ends_at_once() {
        let p = Script::new([Step::chunk("ab"), Step::Pending, Step::chunk("c")]);
        let body = ProducerBody::new(p);
        assert_eq!(body.size_hint().exact(), None);
        assert_eq!(block_on(body.collect()).unwrap().to_bytes(), "abc");
        let empty = ProducerBody::new(from_bytes(""));
        assert!(empty.is_end_stream());
        assert_eq!(empty.size_hint().exact(), Some(0));
    }

    #[test]
    fn file_regions_are_read_in_bounded_pieces() {
        let d: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        let f = testing::file_with(&d);
        let p = from_bytes("<")
            .then(FileProducer::from_file(f).unwrap().regions())
            .then(from_bytes(">"));
        let body = ProducerBody::new(p);
        assert_eq!(body.size_hint().exact(), Some(d.len() as u64 + 2));
        let (data, _, err) = frames(body);
        assert!(err.is_none());
        assert!(data.iter().all(|b| b.len() <= REGION_FRAME));
        assert!(data.len() >= 2 + d.len().div_ceil(REGION_FRAME));
        let out: Vec<u8> = data.concat();
        assert_eq!(out.len(), d.len() + 2);
        assert_eq!(&out[1..out.len() - 1], &d[..]);
    }

    #[test]
    fn the_size_hint_counts_down_through_a_region() {
        let d = vec![7u8; 3 * REGION_FRAME];
        let f = testing::file_with(&d);
        let mut body = ProducerBody::new(FileProducer::from_file(f).unwrap().regions());
        let (mut cx, _) = testing::counting_context();
        let mut left = d.len() as u64;
        while let Poll::Ready(Some(Ok(f))) = Pin::new(&mut body).poll_frame(&mut cx) {
            left -= f.into_data().unwrap().len() as u64;
            assert_eq!(body.size_hint().exact(), Some(left));
        }
        assert_eq!(left, 0);
        assert!(body.is_end_stream());
    }

    #[test]
    fn an_error_mid_body_surfaces_then_the_body_ends_without_trailers() {
        let p = Script::new([
            Step::chunk("a"),
            Step::Pending,
            Step::chunk("bc"),
            Step::error(io::ErrorKind::TimedOut),
        ]);
        let body = ProducerBody::new(p).with_trailers(trailers_fn(
            |_| {},
            || {
                let mut m = HeaderMap::new();
                m.insert("x-done", "yes".parse().unwrap());
                m
            },
        ));
        let (data, trailers, err) = frames(body);
        assert_eq!(data.concat(), b"abc");
        assert_eq!(trailers, None);
        assert_eq!(err, Some(io::ErrorKind::TimedOut));
    }

    /// Counts the bytes sent, as a trailer.
    #[derive(Default)]
    struct Count(usize);

    impl Trailers for Count {
        fn update(&mut self, data: &[u8]) {
            self.0 += data.len();
        }

        fn finish(self) -> HeaderMap {
            let mut m = HeaderMap::new();
            m.insert("x-count", self.0.into());
            m
        }
    }

    /// `Count`, declaring its field.
    struct Declared(Count);

    impl Trailers for Declared {
        fn update(&mut self, data: &[u8]) {
            self.0.update(data)
        }

        fn finish(self) -> HeaderMap {
            self.0.finish()
        }

        fn names(&self) -> Vec<::http::HeaderName> {
            vec![::http::HeaderName::from_static("x-count")]
        }
    }

    #[test]
    fn trailers_follow_the_last_data_frame() {
        let d = vec![1u8; REGION_FRAME + 10];
        let p = from_bytes("ab").then(FileProducer::from_file(testing::file_with(&d)).unwrap());
        let (data, trailers, err) = frames(ProducerBody::new(p).with_trailers(Count::default()));
        assert!(err.is_none());
        assert_eq!(data.concat().len(), d.len() + 2);
        assert_eq!(trailers.unwrap()["x-count"], (d.len() + 2).to_string());

        // An empty body with trailers still sends them (it does not end at once).
        let body = ProducerBody::new(from_bytes("")).with_trailers(Count::default());
        assert!(!body.is_end_stream());
        let collected = block_on(body.collect()).unwrap();
        assert_eq!(collected.trailers().unwrap()["x-count"], "0");

        // Undeclared trailers keep the exact length; declared ones drop it
        // (a lower bound stays), until the body has ended.
        let body = ProducerBody::new(from_bytes("abc")).with_trailers(Count::default());
        assert_eq!(body.size_hint().exact(), Some(3));
        let body = ProducerBody::new(from_bytes("abc")).with_trailers(Declared(Count::default()));
        assert_eq!(body.size_hint().exact(), None);
        assert_eq!(body.size_hint().lower(), 3);
        assert!(!body.is_end_stream());
        let (data, trailers, err) = frames(body);
        assert_eq!((data.concat(), err), (b"abc".to_vec(), None));
        assert_eq!(trailers.unwrap()["x-count"], "3");

        // An empty map sends no trailers frame.
        let body = ProducerBody::new(from_bytes("xy")).with_trailers(NoTrailers);
        let (data, trailers, _) = frames(body);
        assert_eq!((data.concat(), trailers), (b"xy".to_vec(), None));
    }
}
