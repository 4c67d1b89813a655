//! [`ChunkedBody`]: an HTTP/1.1 chunked body, decoded by the strict
//! [`ChunkedDecoder`] as it arrives.

use std::fmt;

use bytes::{Bytes, BytesMut};

use super::{ConsumeError, Consumer, Control, Eof, Framing};
use crate::codec::chunked::{ChunkedDecoder, Trailer};

type EndFn = Box<dyn FnOnce(Vec<Trailer>, &mut Control) -> Result<(), ConsumeError> + Send>;

/// Decodes one chunked body (RFC 9112 section 7.1) from the FIFO's buffer,
/// handing each piece of payload to `on_data` as it is decoded — split off
/// the input without copying, never buffered whole — and the trailers to
/// [`on_end`](Self::on_end) at the end. Then it is done, and the bytes after
/// the body's final CRLF go to the next consumer (the next pipelined
/// request).
///
/// The decoder is strict and capped (see
/// [`codec::chunked`](crate::codec::chunked)); its errors arrive as
/// [`ConsumeError::Io`] with kind `InvalidData` and the offset within the
/// body. Input that ends inside the body is an error (`UnexpectedEof`).
pub struct ChunkedBody<D> {
    decoder: ChunkedDecoder,
    on_data: D,
    on_end: Option<EndFn>,
}

impl<D> fmt::Debug for ChunkedBody<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkedBody")
            .field("decoder", &self.decoder)
            .finish_non_exhaustive()
    }
}

impl<D> ChunkedBody<D>
where
    D: FnMut(Bytes, &mut Control) -> Result<(), ConsumeError>,
{
    /// A chunked body with the strict decoder and its default limits.
    pub fn new(on_data: D) -> Self {
        Self::with_decoder(ChunkedDecoder::new(), on_data)
    }

    /// A chunked body decoded by `decoder` (other limits or leniency).
    pub fn with_decoder(decoder: ChunkedDecoder, on_data: D) -> Self {
        ChunkedBody {
            decoder,
            on_data,
            on_end: None,
        }
    }

    /// Calls `f` with the trailer fields once the body is complete (before
    /// the next consumer runs, so it can queue one with `ctl.then`).
    pub fn on_end(
        mut self,
        f: impl FnOnce(Vec<Trailer>, &mut Control) -> Result<(), ConsumeError> + Send + 'static,
    ) -> Self {
        self.on_end = Some(Box::new(f));
        self
    }
}

impl<D> Consumer for ChunkedBody<D>
where
    D: FnMut(Bytes, &mut Control) -> Result<(), ConsumeError>,
{
    fn framing(&self) -> Framing {
        Framing::Raw
    }

    fn on_raw(&mut self, buf: &mut BytesMut, ctl: &mut Control) -> Result<(), ConsumeError> {
        let on_data = &mut self.on_data;
        if self.decoder.decode_each(buf, |b| on_data(b, &mut *ctl))? {
            ctl.done();
            if let Some(f) = self.on_end.take() {
                f(self.decoder.take_trailers(), ctl)?;
            }
        }
        Ok(())
    }

    fn on_eof(&mut self, _eof: Eof, _ctl: &mut Control) -> Result<(), ConsumeError> {
        Ok(self.decoder.finish()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consume::{ConsumerFifo, Count, Frame, from_fn};
    use std::io;
    use std::sync::{Arc, Mutex};

    type Log = Arc<Mutex<Vec<String>>>;

    fn body(
        log: &Log,
    ) -> ChunkedBody<impl FnMut(Bytes, &mut Control) -> Result<(), ConsumeError> + use<>> {
        let l = log.clone();
        let l2 = log.clone();
        ChunkedBody::new(move |b: Bytes, _: &mut Control| {
            l.lock()
                .unwrap()
                .push(format!("data {}", String::from_utf8_lossy(&b)));
            Ok(())
        })
        .on_end(move |t, _| {
            for t in t {
                l2.lock().unwrap().push(format!(
                    "trailer {}={}",
                    t.name,
                    String::from_utf8_lossy(&t.value)
                ));
            }
            l2.lock().unwrap().push("end".into());
            Ok(())
        })
    }

    const MSG: &[u8] = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 42\r\n\r\nNEXT";

    #[test]
    fn decodes_the_body_then_hands_the_rest_to_the_next_consumer_at_every_split() {
        let expected = [
            "data hello",
            "data  world",
            "trailer X-Sum=42",
            "end",
            "next NEXT",
        ];
        for cut in 0..=MSG.len() {
            let log: Log = Arc::default();
            let mut fifo = ConsumerFifo::new();
            fifo.push(body(&log));
            let l = log.clone();
            fifo.push(from_fn(
                Framing::whole(4u64),
                move |f: Frame, ctl: &mut Control| {
                    l.lock()
                        .unwrap()
                        .push(format!("next {}", String::from_utf8_lossy(f.bytes())));
                    ctl.done();
                    Ok(())
                },
            ));
            fifo.feed(&MSG[..cut]).unwrap();
            fifo.feed(&MSG[cut..]).unwrap();
            fifo.eof().unwrap();
            let got = log.lock().unwrap().clone();
            // Data pieces may be cut differently; join them to compare.
            let joined: Vec<String> = merge_data(&got);
            assert_eq!(joined, expected, "cut at {cut}");
        }
    }

    fn merge_data(log: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut data = String::new();
        for e in log {
            if let Some(d) = e.strip_prefix("data ") {
                data.push_str(d);
                continue;
            }
            if !data.is_empty() {
                // Split back at the chunk boundary the test knows.
                let (a, b) = data.split_at(5);
                out.push(format!("data {a}"));
                out.push(format!("data {b}"));
                data.clear();
            }
            out.push(e.clone());
        }
        out
    }

    #[test]
    fn a_malformed_body_is_an_invalid_data_error_with_its_offset() {
        let log: Log = Arc::default();
        let mut fifo = ConsumerFifo::new();
        fifo.push(body(&log));
        let e = fifo.feed(b"5\r\nhello\r\nzz\r\n").unwrap_err();
        let io: io::Error = e.into();
        assert_eq!(io.kind(), io::ErrorKind::InvalidData);
        assert!(io.to_string().contains("10"), "{io}");
    }

    #[test]
    fn input_ending_inside_the_body_is_unexpected_eof() {
        let log: Log = Arc::default();
        let mut fifo = ConsumerFifo::new();
        fifo.push(body(&log));
        fifo.feed(b"5\r\nhel").unwrap();
        let io: io::Error = fifo.eof().unwrap_err().into();
        assert_eq!(io.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_count_body_after_a_chunked_one() {
        let log: Log = Arc::default();
        let mut fifo = ConsumerFifo::new();
        fifo.push(body(&log));
        let l = log.clone();
        fifo.push(Count::new(3, move |b: Bytes, _: &mut Control| {
            l.lock()
                .unwrap()
                .push(format!("count {}", String::from_utf8_lossy(&b)));
            Ok(())
        }));
        fifo.feed(b"1\r\na\r\n0\r\n\r\nxyz").unwrap();
        assert_eq!(*log.lock().unwrap(), ["data a", "end", "count xyz"]);
    }
}
