//! `multipart/form-data` input (RFC 7578 over RFC 2046 section 5.1), cut
//! by the boundary delimiter as the framer's terminator, as the seeds
//! foresaw ("MIME multi-part boundaries can be specified as terminators").
//!
//! - [`Boundary`]: the boundary, checked, or read from a `Content-Type`
//!   value ([`Boundary::from_form_data`]).
//! - [`MultipartParser`]: the sans-I/O engine, bytes in and
//!   [`PartEvent`]s out (`Start` with the [`PartHeaders`], `Data` pieces,
//!   `End`), for any input: an HTTP body read by count or chunked, a file.
//! - [`Multipart`]: the same as a [`Consumer`] in a
//!   [`ConsumerFifo`](super::ConsumerFifo), handing the events to a
//!   closure.
//! - [`MultipartLimits`]: a cap on every length the peer controls, each
//!   with its own [`MultipartError`] variant and byte offset.
//!
//! Part bodies are never buffered: each piece is split off the input as it
//! arrives and handed on, so a receiver streams a file part to disk in
//! pieces no larger than its reads.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use producers::consume::{Boundary, ConsumerFifo, Multipart, MultipartLimits, PartEvent};
//!
//! let boundary = Boundary::from_form_data(b"multipart/form-data; boundary=XX")?;
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let log = seen.clone();
//! let mut fifo = ConsumerFifo::new();
//! fifo.push(Multipart::new(&boundary, MultipartLimits::default(), move |event| {
//!     log.lock().unwrap().push(match event {
//!         PartEvent::Start(h) => format!("start {} {:?}", h.name(), h.filename()),
//!         PartEvent::Data(b) => format!("data {}", String::from_utf8_lossy(&b)),
//!         PartEvent::End => "end".to_string(),
//!     });
//!     Ok(())
//! }));
//! fifo.feed(b"preamble\r\n--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\n")?;
//! fifo.feed(b"contents\r\n--XX--\r\nepilogue")?;
//! fifo.eof()?;
//! assert_eq!(
//!     *seen.lock().unwrap(),
//!     ["start f Some(\"a.txt\")", "data contents", "end"]
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use bytes::BytesMut;

use super::{ConsumeError, Consumer, Control, Eof, Framing};

mod boundary;
mod error;
mod headers;
mod limits;
mod parser;

pub use boundary::{Boundary, MAX_BOUNDARY};
pub use error::MultipartError;
pub use headers::PartHeaders;
pub use limits::{
    DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_HEADERS, DEFAULT_MAX_PART_BYTES, DEFAULT_MAX_PARTS,
    DEFAULT_MAX_TOTAL, MultipartLimits,
};
pub use parser::{MultipartParser, PartEvent};

/// A multipart body as a consumer: a [`MultipartParser`] over the FIFO's
/// buffer (raw framing, no copy), each [`PartEvent`] handed to `handler`.
///
/// The body runs to the end of the input: after the close delimiter the
/// rest (the epilogue) is discarded until the input ends, which must come
/// after the close delimiter — an end before it fails the FIFO with
/// [`MultipartError::Truncated`]. Parser errors reach the FIFO as
/// [`ConsumeError::Io`] (`InvalidData`, or `UnexpectedEof` when
/// truncated) with the [`MultipartError`] inside; a handler's error stops
/// the FIFO as it is.
pub struct Multipart<H> {
    parser: MultipartParser,
    handler: H,
}

impl<H> fmt::Debug for Multipart<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Multipart")
            .field("parser", &self.parser)
            .finish_non_exhaustive()
    }
}

impl<H> Multipart<H>
where
    H: FnMut(PartEvent) -> Result<(), ConsumeError>,
{
    /// A consumer of a multipart body with `boundary`, under `limits`.
    pub fn new(boundary: &Boundary, limits: MultipartLimits, handler: H) -> Self {
        Multipart {
            parser: MultipartParser::new(boundary, limits),
            handler,
        }
    }

    /// The parser.
    pub fn get_ref(&self) -> &MultipartParser {
        &self.parser
    }

    /// The handler.
    pub fn get_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// The handler, consuming the consumer.
    pub fn into_inner(self) -> H {
        self.handler
    }
}

impl<H> Consumer for Multipart<H>
where
    H: FnMut(PartEvent) -> Result<(), ConsumeError>,
{
    fn framing(&self) -> Framing {
        Framing::Raw
    }

    fn on_raw(&mut self, buf: &mut BytesMut, _ctl: &mut Control) -> Result<(), ConsumeError> {
        while let Some(event) = self.parser.decode(buf)? {
            (self.handler)(event)?;
        }
        Ok(())
    }

    fn on_eof(&mut self, eof: Eof, _ctl: &mut Control) -> Result<(), ConsumeError> {
        // A raw consumer's tail is what it left in the buffer: a partial
        // delimiter or header block.
        let mut buf = BytesMut::from(&eof.tail[..]);
        while let Some(event) = self.parser.decode_eof(&mut buf)? {
            (self.handler)(event)?;
        }
        Ok(())
    }
}
