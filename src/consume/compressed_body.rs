//! [`CompressedBody`]: a compressed body (gzip, zlib, raw deflate, brotli or
//! zstd) decoded as it arrives, with the decompression cap (features `gzip`,
//! `brotli`, `zstd`).

use std::fmt;
use std::io;

use bytes::Bytes;

use super::{ConsumeError, Consumer, Control, Eof, Frame, Framing, Terminator};
use crate::codec::compression::ContentDecoder;

type EndFn = Box<dyn FnOnce(&mut Control) -> Result<(), ConsumeError> + Send>;

/// The most output made from one decode call: 64 KiB.
const OUT_PIECE: usize = 64 << 10;

/// Decodes one compressed body whose end the transfer framing gives
/// (`Content-Length` → `Terminator::Count`, or until close), handing the
/// decompressed bytes to `on_data` as they come — never buffering the body
/// whole — and calling [`on_end`](Self::on_end) when it is complete.
///
/// Any decoder does ([`ContentDecoder`]): gzip's with
/// [`new`](Self::new), brotli's or zstd's with
/// [`with_decoder`](Self::with_decoder).
///
/// The decompressed size is capped (by default
/// [`DEFAULT_MAX_OUTPUT`](crate::codec::compression::DEFAULT_MAX_OUTPUT);
/// see [`max_output`](Self::max_output)), so a decompression bomb is an
/// error (`OutputTooLarge`), not memory exhaustion. Corrupt data, a wrong
/// CRC or length, bytes after the end of the stream, and a stream cut short
/// by the framing are errors of kind `InvalidData` naming the offset in the
/// compressed body.
pub struct CompressedBody<F, D> {
    terminator: Terminator,
    decoder: D,
    on_data: F,
    on_end: Option<EndFn>,
    /// Reused output space; each piece handed on is split off it.
    out: Vec<u8>,
}

impl<F, D: fmt::Debug> fmt::Debug for CompressedBody<F, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompressedBody")
            .field("terminator", &self.terminator)
            .field("decoder", &self.decoder)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "gzip")]
impl<F> CompressedBody<F, crate::codec::gzip::Decompressor>
where
    F: FnMut(Bytes, &mut Control) -> Result<(), ConsumeError>,
{
    /// A gzip, zlib or raw deflate body in `format`, ended by
    /// `terminator`, with the default cap.
    pub fn new(
        format: crate::codec::gzip::Format,
        terminator: impl Into<Terminator>,
        on_data: F,
    ) -> Self {
        let decoder = crate::codec::gzip::Decompressor::new(format);
        CompressedBody::with_decoder(decoder, terminator, on_data)
    }
}

impl<F, D> CompressedBody<F, D>
where
    F: FnMut(Bytes, &mut Control) -> Result<(), ConsumeError>,
    D: ContentDecoder,
{
    /// A body decoded by `decoder` (fresh, with its caps set), ended by
    /// `terminator`: `CompressedBody::with_decoder(brotli::Decompressor::new(), n, f)`.
    pub fn with_decoder(decoder: D, terminator: impl Into<Terminator>, on_data: F) -> Self {
        CompressedBody {
            terminator: terminator.into(),
            decoder,
            on_data,
            on_end: None,
            out: Vec::new(),
        }
    }

    /// Caps the decompressed size at `limit` bytes.
    pub fn max_output(mut self, limit: u64) -> Self {
        self.decoder.set_max_output(limit);
        self
    }

    /// Calls `f` once the whole body is decoded and checked.
    pub fn on_end(
        mut self,
        f: impl FnOnce(&mut Control) -> Result<(), ConsumeError> + Send + 'static,
    ) -> Self {
        self.on_end = Some(Box::new(f));
        self
    }

    /// Decodes `input` fully, handing each output piece on.
    fn decode(&mut self, mut input: &[u8], ctl: &mut Control) -> Result<(), ConsumeError> {
        loop {
            if self.out.capacity() < OUT_PIECE {
                self.out = Vec::with_capacity(OUT_PIECE);
            }
            let p = self
                .decoder
                .decode(input, &mut self.out)
                .map_err(Into::<io::Error>::into)?;
            input = &input[p.consumed..];
            if p.produced > 0 {
                let piece = Bytes::from(std::mem::take(&mut self.out));
                (self.on_data)(piece, ctl)?;
            }
            if input.is_empty() && p.produced == 0 {
                return Ok(());
            }
        }
    }
}

impl<F, D> Consumer for CompressedBody<F, D>
where
    F: FnMut(Bytes, &mut Control) -> Result<(), ConsumeError>,
    D: ContentDecoder,
{
    fn framing(&self) -> Framing {
        Framing::Pieces(self.terminator.clone())
    }

    fn on_frame(&mut self, frame: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        let last = frame.is_last();
        self.decode(frame.bytes(), ctl)?;
        if last {
            self.decoder.finish().map_err(Into::<io::Error>::into)?;
            ctl.done();
            if let Some(f) = self.on_end.take() {
                f(ctl)?;
            }
        }
        Ok(())
    }

    fn on_eof(&mut self, eof: Eof, _: &mut Control) -> Result<(), ConsumeError> {
        // The framing ended early (a count not reached): the body is cut.
        Ok(eof.check()?)
    }
}

#[cfg(all(test, feature = "gzip"))]
mod tests {
    use super::*;
    use crate::codec::gzip::{Decompressor, Format, GzipError};
    use crate::consume::{ConsumerFifo, from_fn};
    use crate::{ProducerExt, from_bytes};
    use std::sync::{Arc, Mutex};

    fn compressed(format: Format, data: &[u8]) -> Vec<u8> {
        let p = from_bytes(data.to_vec());
        let out = match format {
            Format::Gzip => p.gzip(6).collect_bytes(),
            Format::Zlib => p.zlib(6).collect_bytes(),
            Format::Deflate => p.deflate(6).collect_bytes(),
        };
        out.unwrap().to_vec()
    }

    type Got = Arc<Mutex<Vec<u8>>>;

    fn inflate(
        format: Format,
        n: u64,
        got: &Got,
    ) -> CompressedBody<
        impl FnMut(Bytes, &mut Control) -> Result<(), ConsumeError> + use<>,
        Decompressor,
    > {
        let g = got.clone();
        CompressedBody::new(format, n, move |b: Bytes, _: &mut Control| {
            g.lock().unwrap().extend_from_slice(&b);
            Ok(())
        })
    }

    #[test]
    fn decodes_a_counted_body_at_every_split_then_hands_on_the_rest() {
        let data: Vec<u8> = b"the quick brown fox ".repeat(500);
        for format in [Format::Gzip, Format::Zlib, Format::Deflate] {
            let body = compressed(format, &data);
            let mut wire = body.clone();
            wire.extend_from_slice(b"NEXT");
            for cut in (0..wire.len()).step_by(7) {
                let got: Got = Arc::default();
                let next: Got = Arc::default();
                let mut fifo = ConsumerFifo::new();
                fifo.push(inflate(format, body.len() as u64, &got));
                let n = next.clone();
                fifo.push(from_fn(
                    Framing::whole(4u64),
                    move |f: Frame, ctl: &mut Control| {
                        n.lock().unwrap().extend_from_slice(f.bytes());
                        ctl.done();
                        Ok(())
                    },
                ));
                fifo.feed(&wire[..cut]).unwrap();
                fifo.feed(&wire[cut..]).unwrap();
                fifo.eof().unwrap();
                assert_eq!(*got.lock().unwrap(), data, "{format:?} cut {cut}");
                assert_eq!(*next.lock().unwrap(), b"NEXT");
            }
        }
    }

    #[test]
    fn the_cap_stops_a_decompression_bomb() {
        let bomb = compressed(Format::Gzip, &vec![0u8; 10 << 20]);
        assert!(bomb.len() < 64 << 10);
        let got: Got = Arc::default();
        let mut fifo = ConsumerFifo::with_budget(1 << 20);
        fifo.push(inflate(Format::Gzip, bomb.len() as u64, &got).max_output(1 << 20));
        let e: io::Error = fifo.feed(&bomb).unwrap_err().into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let inner = e.get_ref().and_then(|r| r.downcast_ref::<GzipError>());
        assert!(
            matches!(inner, Some(GzipError::OutputTooLarge { .. })),
            "{e}"
        );
        assert!(got.lock().unwrap().len() <= 1 << 20);
    }

    #[test]
    fn a_body_cut_short_by_its_framing_is_truncated() {
        let body = compressed(Format::Zlib, b"hello hello hello");
        let got: Got = Arc::default();
        let mut fifo = ConsumerFifo::new();
        // The framing says the body is shorter than the stream.
        fifo.push(inflate(Format::Zlib, body.len() as u64 - 3, &got));
        let e: io::Error = fifo.feed(&body).unwrap_err().into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(
            e.to_string().contains("truncated") || e.to_string().contains("end"),
            "{e}"
        );
    }

    #[test]
    fn corrupt_data_is_an_error() {
        let mut body = compressed(Format::Gzip, b"hello hello hello");
        let n = body.len();
        body[n - 6] ^= 0xff; // inside the CRC
        let got: Got = Arc::default();
        let mut fifo = ConsumerFifo::new();
        fifo.push(inflate(Format::Gzip, n as u64, &got));
        let e: io::Error = fifo.feed(&body).unwrap_err().into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}

#[cfg(all(test, any(feature = "brotli", feature = "zstd")))]
mod other_codings {
    use super::*;
    use crate::ProducerExt;
    use crate::consume::{ConsumerFifo, from_fn};
    use crate::from_bytes;
    use std::sync::{Arc, Mutex};

    /// A body of `n` bytes decoded by `decoder`, then a 4-byte frame: every
    /// split of the wire gives the data to the first and `NEXT` to the
    /// second; a cap below the data is the coding's error.
    fn check<D: ContentDecoder + Send + 'static>(
        decoder: impl Fn() -> D,
        body: &[u8],
        data: &[u8],
    ) {
        let wire = [body, b"NEXT"].concat();
        for cut in 0..=wire.len() {
            let got: Arc<Mutex<Vec<u8>>> = Arc::default();
            let next: Arc<Mutex<Vec<u8>>> = Arc::default();
            let g = got.clone();
            let mut fifo = ConsumerFifo::new();
            fifo.push(CompressedBody::with_decoder(
                decoder(),
                body.len() as u64,
                move |b: Bytes, _: &mut Control| {
                    g.lock().unwrap().extend_from_slice(&b);
                    Ok(())
                },
            ));
            let n = next.clone();
            fifo.push(from_fn(
                Framing::whole(4u64),
                move |f: Frame, ctl: &mut Control| {
                    n.lock().unwrap().extend_from_slice(f.bytes());
                    ctl.done();
                    Ok(())
                },
            ));
            fifo.feed(&wire[..cut]).unwrap();
            fifo.feed(&wire[cut..]).unwrap();
            fifo.eof().unwrap();
            assert!(*got.lock().unwrap() == data, "cut {cut}");
            assert_eq!(*next.lock().unwrap(), b"NEXT");
        }
        let mut fifo = ConsumerFifo::new();
        fifo.push(
            CompressedBody::with_decoder(
                decoder(),
                body.len() as u64,
                |_: Bytes, _: &mut Control| Ok(()),
            )
            .max_output(data.len() as u64 - 1),
        );
        let e: io::Error = fifo.feed(body).unwrap_err().into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("exceeds the limit"), "{e}");
    }

    #[cfg(feature = "brotli")]
    #[test]
    fn brotli_bodies() {
        let data = b"the quick brown fox ".repeat(300);
        let body = from_bytes(data.clone()).brotli(5).collect_bytes().unwrap();
        check(crate::codec::brotli::Decompressor::new, &body, &data);
    }

    #[cfg(feature = "zstd")]
    #[test]
    fn zstd_bodies() {
        let data = b"the quick brown fox ".repeat(300);
        let body = from_bytes(data.clone()).zstd(3).collect_bytes().unwrap();
        check(crate::codec::zstd::Decompressor::new, &body, &data);
    }
}
