//! A stand-in gzip producer for the server until the `gzip` codec lands
//! (`ProducerExt::gzip`); same shape: pull input, compress, hand out what
//! the encoder wrote.

use std::io::{self, Write};
use std::task::{Context, Poll};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::chunk::Chunk;
use crate::produce::{More, Producer};

/// Input read from file regions per step: 64 KiB.
const PIECE: usize = 64 << 10;

/// Gzip-compresses a producer's output.
#[derive(Debug)]
pub(crate) struct Gzip<P> {
    inner: P,
    /// `None` once finished.
    enc: Option<GzEncoder<Vec<u8>>>,
    /// The rest of a file region being read in pieces.
    region: Option<Chunk>,
}

impl<P: Producer> Gzip<P> {
    pub(crate) fn new(inner: P, level: u32) -> Self {
        Gzip {
            inner,
            enc: Some(GzEncoder::new(
                Vec::with_capacity(PIECE),
                Compression::new(level),
            )),
            region: None,
        }
    }
}

impl<P: Producer> Producer for Gzip<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        loop {
            let Some(enc) = self.enc.as_mut() else {
                return Poll::Ready(None);
            };
            let chunk = match self.region.take() {
                Some(c) => Some(c),
                None => match self.inner.poll_more(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(c))) => Some(c),
                    Poll::Ready(Some(Err(e))) => {
                        self.enc = None;
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(None) => None,
                },
            };
            let r: io::Result<Option<Bytes>> = match chunk {
                Some(c) => c.split_bytes(PIECE).and_then(|(b, rest)| {
                    self.region = rest;
                    enc.write_all(&b)?;
                    if enc.get_ref().len() >= PIECE {
                        Ok(Some(Bytes::from(std::mem::take(enc.get_mut()))))
                    } else {
                        Ok(None)
                    }
                }),
                None => match self.enc.take().map(|e| e.finish()) {
                    Some(Ok(v)) if !v.is_empty() => Ok(Some(Bytes::from(v))),
                    Some(Ok(_)) | None => Ok(None),
                    Some(Err(e)) => Err(e),
                },
            };
            match r {
                Ok(Some(b)) if !b.is_empty() => return Poll::Ready(Some(Ok(Chunk::Bytes(b)))),
                Ok(_) => continue,
                Err(e) => {
                    self.enc = None;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}
