//! [`CompressedBody`]: a compressed body (gzip, zlib or raw deflate) decoded as it
//! arrives, with the decompression cap (feature `gzip`).

use std::fmt;
use std::io;

use bytes::Bytes;

use super::{ConsumeError, Consumer, Control, Eof, Frame, Framing, Terminator};
use crate::codec::gzip::{Decompressor, Format};

type EndFn = Box<dyn FnOnce(&mut Control) -> Result<(), ConsumeError> + Send>;

/// The most output made from one decode call: 64 KiB.
const OUT_PIECE: usize = 64 << 10;

/// Decodes one compressed body whose end the transfer framing gives
/// (`Content-Length` → `Terminator::Count`, or until close), handing the
/// decompressed bytes to `on_data` as they come — never buffering the body
/// whole — and calling [`on_end`](Self::on_end) when it is complete.
///
/// The decompressed size is capped (by default
/// [`codec::gzip::DEFAULT_MAX_OUTPUT`](crate::codec::gzip::DEFAULT_MAX_OUTPUT);
/// see [`max_output`](Self::max_output)), so a decompression bomb is an
/// error (`OutputTooLarge`), not memory exhaustion. Corrupt data, a wrong
/// CRC or length, bytes after the end of the stream, and a stream cut short
/// by the framing are errors of kind `InvalidData` naming the offset in the
/// compressed body.
pub struct CompressedBody<D> {
    terminator: Terminator,
    decoder: Decompressor,
    on_data: D,
    on_end: Option<EndFn>,
    /// Reused output space; each piece handed on is split off it.
    out: Vec<u8>,
}

impl<D> fmt::Debug for CompressedBody<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompressedBody")
            .field("terminator", &self.terminator)
            .field("decoder", &self.decoder)
            .finish_non_exhaustive()
    }
}

impl<D> CompressedBody<D>
where
    D: FnMut(Bytes, &mut Control) -> Result<(), ConsumeError>,
{
    /// A body in `format`, ended by `terminator`, with the default cap.
    pub fn new(format: Format, terminator: impl Into<Terminator>, on_data: D) -> Self {
        CompressedBody {
            terminator: terminator.into(),
            decoder: Decompressor::new(format),
            on_data,
            on_end: None,
            out: Vec::new(),
        }
    }

    /// Caps the decompressed size at `limit` bytes.
    pub fn max_output(mut self, limit: u64) -> Self {
        self.decoder = self.decoder.max_output(limit);
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
                .map_err(io::Error::from)?;
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

impl<D> Consumer for CompressedBody<D>
where
    D: FnMut(Bytes, &mut Control) -> Result<(), ConsumeError>,
{
    fn framing(&self) -> Framing {
        Framing::Pieces(self.terminator.clone())
    }

    fn on_frame(&mut self, frame: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        let last = frame.is_last();
        self.decode(frame.bytes(), ctl)?;
        if last {
            self.decoder.finish().map_err(io::Error::from)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::gzip::GzipError;
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
    ) -> CompressedBody<impl FnMut(Bytes, &mut Control) -> Result<(), ConsumeError> + use<>> {
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
