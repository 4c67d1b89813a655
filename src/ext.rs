//! [`ProducerExt`]: the combinator methods that build pipelines left to
//! right (`.glob(…)`, `.chunked()`, `.gzip(6)` …).
//!
//! This module sits above [`produce`](crate::produce) and
//! [`codec`](crate::codec): it names the wrappers of both, and neither
//! imports it (issue 12). A new codec adds its methods here and never
//! touches the producer core; the wrappers stay constructible on their own
//! (`Chunked::new(p)`) for code that does not want the trait.

use std::io;

use bytes::{Bytes, BytesMut};

use crate::codec;
use crate::produce::{Globbed, Hooked, Pieces, Producer, Then};

/// Extension methods that build pipelines left to right.
///
/// Implemented for every [`Producer`] that is `Sized`; re-exported at the
/// crate root as `producers::ProducerExt`.
pub trait ProducerExt: Producer + Sized {
    /// Re-cuts this producer's output into pieces of at most `size` bytes,
    /// without copying memory chunks (file regions are read as needed).
    ///
    /// # Panics
    ///
    /// If `size` is 0 (like [`slice::chunks`]); use
    /// [`BytesProducer::with_piece_size`](crate::produce::BytesProducer::with_piece_size) for a checked constructor.
    fn pieces(self, size: usize) -> Pieces<Self> {
        Pieces::new(self, size)
    }

    /// Coalesces small chunks into buffers of `target` bytes. See [`Globbed`].
    fn glob(self, target: usize) -> Globbed<Self> {
        Globbed::new(self, target)
    }

    /// Calls `hook(total_bytes, error)` exactly once when this producer ends,
    /// fails, or is dropped before its end. See [`Hooked`].
    fn hooked<F>(self, hook: F) -> Hooked<Self, F>
    where
        F: FnOnce(u64, Option<&io::Error>),
    {
        Hooked::new(self, hook)
    }

    /// This producer's output followed by `next`'s.
    fn then<Q: Producer>(self, next: Q) -> Then<Self, Q> {
        Then::new(self, next)
    }

    // --- codec combinators (chunked, gzip/zlib/deflate, dot-stuffing) ---
    // Each codec adds its methods here, grouped by codec.

    /// Encodes this producer's output with the HTTP/1.1 chunked transfer
    /// coding: size line, payload (never copied; file regions stay regions)
    /// and CRLF per chunk, then the last-chunk. Builder methods add
    /// extensions, trailers and a maximum chunk size. See
    /// [`Chunked`](codec::chunked::Chunked).
    fn chunked(self) -> codec::chunked::Chunked<Self> {
        codec::chunked::Chunked::new(self)
    }

    /// Decodes this producer's chunked-coded output, strictly and with the
    /// default limits. See [`Dechunked`](codec::chunked::Dechunked).
    fn dechunked(self) -> codec::chunked::Dechunked<Self> {
        codec::chunked::Dechunked::new(self, codec::chunked::ChunkedDecoder::new())
    }

    /// Dot-stuffs this producer's output for SMTP/NNTP (RFC 5321 section
    /// 4.5.2): a `.` is added to every line that starts with one, the first
    /// included. Chain [`.terminated(true)`](codec::dotstuff::DotStuffed::terminated)
    /// to close it with `CRLF.CRLF`. See [`DotStuffed`](codec::dotstuff::DotStuffed).
    fn dot_stuffed(self) -> codec::dotstuff::DotStuffed<Self> {
        codec::dotstuff::DotStuffed::new(self)
    }

    /// Un-stuffs this producer's dot-stuffed output, ending at the
    /// end-of-data line `CRLF.CRLF`; fails with `InvalidData` if the output
    /// ends before it. See [`DotUnstuffed`](codec::dotstuff::DotUnstuffed).
    fn dot_unstuffed(self) -> codec::dotstuff::DotUnstuffed<Self> {
        codec::dotstuff::DotUnstuffed::new(self)
    }

    /// Replaces every occurrence of `find` by `replace`, however the output
    /// is cut into chunks (Medusa's `escaping_producer`). See
    /// [`Escaped`](codec::escape::Escaped).
    ///
    /// # Panics
    ///
    /// If `find` is empty.
    fn escaped(
        self,
        find: impl Into<Bytes>,
        replace: impl Into<Bytes>,
    ) -> codec::escape::Escaped<Self> {
        codec::escape::Escaped::new(self, codec::escape::Escaper::new(find, replace))
    }

    /// Compresses this producer's output as gzip (RFC 1952) at `level`
    /// (0-9). See [`Compressed`](codec::gzip::Compressed) and
    /// [`FlushPolicy`](codec::gzip::FlushPolicy).
    ///
    /// # Panics
    ///
    /// If `level` is above 9.
    #[cfg(feature = "gzip")]
    fn gzip(self, level: u32) -> codec::gzip::Compressed<Self> {
        codec::gzip::Compressed::new(self, codec::gzip::Format::Gzip, level)
    }

    /// Compresses this producer's output as zlib (RFC 1950; HTTP's
    /// `Content-Encoding: deflate`) at `level` (0-9).
    ///
    /// # Panics
    ///
    /// If `level` is above 9.
    #[cfg(feature = "gzip")]
    fn zlib(self, level: u32) -> codec::gzip::Compressed<Self> {
        codec::gzip::Compressed::new(self, codec::gzip::Format::Zlib, level)
    }

    /// Compresses this producer's output as raw deflate (RFC 1951, no
    /// header or check) at `level` (0-9).
    ///
    /// # Panics
    ///
    /// If `level` is above 9.
    #[cfg(feature = "gzip")]
    fn deflate(self, level: u32) -> codec::gzip::Compressed<Self> {
        codec::gzip::Compressed::new(self, codec::gzip::Format::Deflate, level)
    }

    /// Decodes this producer's output as gzip (all members), with a cap on
    /// the decompressed size. See [`Decompressed`](codec::gzip::Decompressed).
    #[cfg(feature = "gzip")]
    fn gunzip(self) -> codec::gzip::Decompressed<Self> {
        codec::gzip::Decompressed::new(self, codec::gzip::Format::Gzip)
    }

    /// Decodes this producer's output as zlib, with a cap on the
    /// decompressed size.
    #[cfg(feature = "gzip")]
    fn unzlib(self) -> codec::gzip::Decompressed<Self> {
        codec::gzip::Decompressed::new(self, codec::gzip::Format::Zlib)
    }

    /// Decodes this producer's output as raw deflate, with a cap on the
    /// decompressed size.
    #[cfg(feature = "gzip")]
    fn inflate(self) -> codec::gzip::Decompressed<Self> {
        codec::gzip::Decompressed::new(self, codec::gzip::Format::Deflate)
    }

    /// Compresses this producer's output as brotli (RFC 7932, HTTP's `br`)
    /// at `quality` (0-11; 4-5 for on-the-fly compression, 11 for ahead of
    /// time) with a 4 MiB window. See
    /// [`codec::brotli`](crate::codec::brotli) and
    /// [`FlushPolicy`](codec::compression::FlushPolicy); other settings:
    /// `Compressed::with_compressor(p, brotli::Compressor::with_window_bits(q, bits))`.
    ///
    /// # Panics
    ///
    /// If `quality` is above 11.
    #[cfg(feature = "brotli")]
    fn brotli(self, quality: u32) -> codec::brotli::Compressed<Self> {
        codec::compression::Compressed::with_compressor(
            self,
            codec::brotli::Compressor::new(quality),
        )
    }

    /// Decodes this producer's output as brotli, with a cap on the
    /// decompressed size. See [`codec::brotli`](crate::codec::brotli).
    #[cfg(feature = "brotli")]
    fn unbrotli(self) -> codec::brotli::Decompressed<Self> {
        codec::compression::Decompressed::with_decompressor(
            self,
            codec::brotli::Decompressor::new(),
        )
    }

    /// Compresses this producer's output as zstd (RFC 8878) at `level`
    /// (1-22, and zstd's negative fast levels; 3 is zstd's default), with
    /// a content checksum and a window of at most 8 MiB, so every decoder
    /// that follows RFC 8878's advice for HTTP reads it. See
    /// [`codec::zstd`](crate::codec::zstd); other settings:
    /// `Compressed::with_compressor(p, zstd::Compressor::with_window_log(l, log))`.
    ///
    /// # Panics
    ///
    /// If `level` is outside zstd's range.
    #[cfg(feature = "zstd")]
    fn zstd(self, level: i32) -> codec::zstd::Compressed<Self> {
        codec::compression::Compressed::with_compressor(self, codec::zstd::Compressor::new(level))
    }

    /// Decodes this producer's output as zstd (every frame), with a cap on
    /// the decompressed size and on the window (8 MiB). See
    /// [`codec::zstd`](crate::codec::zstd).
    #[cfg(feature = "zstd")]
    fn unzstd(self) -> codec::zstd::Decompressed<Self> {
        codec::compression::Decompressed::with_decompressor(self, codec::zstd::Decompressor::new())
    }

    // --- end of codec combinators ---

    /// Boxes this producer for a FIFO of mixed producers.
    fn boxed(self) -> Box<dyn Producer + Send>
    where
        Self: Send + 'static,
    {
        Box::new(self)
    }

    /// Reads the whole output into one buffer, blocking while pending.
    /// File regions are read. Meant for tests and small outputs.
    fn collect_bytes(mut self) -> io::Result<Bytes> {
        let mut out = BytesMut::new();
        while let Some(c) = self.more()? {
            out.extend_from_slice(&c.into_bytes()?);
        }
        Ok(out.freeze())
    }
}

impl<P: Producer> ProducerExt for P {}
