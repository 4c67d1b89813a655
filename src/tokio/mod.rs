//! tokio adapters (feature `tokio`): producers written into and read from
//! tokio's I/O, consumer FIFOs fed from it, and files read without blocking
//! a worker.
//!
//! - [`Driver`] writes a producer into any [`AsyncWrite`](::tokio::io::AsyncWrite)
//!   through a [`Target`]: memory chunks gathered into vectored writes, file
//!   regions sent with `sendfile` on a [`TcpStream`](::tokio::net::TcpStream)
//!   on Linux (zero-copy, driven by tokio's readiness) and read on the
//!   blocking pool for any other writer, wrapped in [`Copying`]. [`Sent`]
//!   says which path the bytes took; [`copy`] is the one-call form.
//! - [`ProducerReader`] is an [`AsyncRead`](::tokio::io::AsyncRead) over any
//!   producer, for APIs that take a reader.
//! - [`feed`] runs a [`ConsumerFifo`](crate::ConsumerFifo) from any
//!   `AsyncRead`, reading only while the FIFO has room (backpressure) and
//!   honouring its consumers' read deadlines; a held input is reported as
//!   [`InputHeld`], never spun on.
//! - [`OffloadedFile`] is a file producer whose reads run on tokio's
//!   blocking pool, one bounded read in flight: what the other pieces use
//!   for file regions, and a source of its own.
//!
//! Everything here polls inside a tokio runtime; file reads need its
//! blocking pool (any runtime has one), `sendfile` its I/O driver.
//!
//! # A line protocol
//!
//! With `tokio_util`'s `FramedRead` and the crate's
//! [`FrameDecoder`](codec::FrameDecoder) (lines split off the read buffer
//! without a copy, each capped), a request-per-line server is four lines
//! of glue around the protocol's own `reply`:
//!
//! ```
//! use bytes::Bytes;
//! use futures_util::StreamExt;
//! use producers::tokio::codec::FrameDecoder;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tokio::net::{TcpListener, TcpStream};
//! use tokio_util::codec::FramedRead;
//!
//! fn reply(line: Bytes) -> Bytes {
//!     [&line[..], b"!\n"].concat().into()
//! }
//!
//! async fn serve(mut stream: TcpStream) -> std::io::Result<()> {
//!     let (input, mut output) = stream.split();
//!     let mut lines = FramedRead::new(input, FrameDecoder::lines(8192));
//!     while let Some(line) = lines.next().await {
//!         output.write_all(&reply(line?)).await?;
//!     }
//!     Ok(())
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! let mut client = TcpStream::connect(listener.local_addr()?).await?;
//! let (stream, _) = listener.accept().await?;
//! let server = tokio::spawn(serve(stream));
//! client.write_all(b"hello\r\nworld\n").await?;
//! client.shutdown().await?;
//! let mut got = String::new();
//! client.read_to_string(&mut got).await?;
//! assert_eq!(got, "hello!\nworld!\n");
//! server.await??;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! A line over the cap, or a last line cut off by the end of input, ends
//! the loop with a [`DecodeError`](codec::DecodeError) that says which and
//! at what offset. `examples/tokio_echo.rs` is this server with pipelined
//! replies flushed together.
//!
//! # A line protocol through a consumer FIFO
//!
//! The same with the crate's own input side: the FIFO frames lines and its
//! consumer sends each reply into an [`output`](crate::produce::output)
//! whose producer the driver writes, reading and writing at once:
//!
//! ```
//! use bytes::Bytes;
//! use producers::{ConsumerFifo, consume::Lines, produce::output};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tokio::net::{TcpListener, TcpStream};
//!
//! fn reply(line: Bytes) -> Bytes {
//!     [&line[..], b"!\n"].concat().into()
//! }
//!
//! async fn serve(stream: TcpStream) -> std::io::Result<()> {
//!     let (mut input, mut socket) = stream.into_split();
//!     let (mut replies, out) = output();
//!     let mut fifo = ConsumerFifo::new();
//!     fifo.push(Lines::new("\n", move |line, _| Ok(replies.send(reply(line))?)));
//!     let (fed, sent) = tokio::join!(
//!         producers::tokio::feed(&mut fifo, &mut input),
//!         producers::tokio::copy(out, &mut socket), // ends when the consumer is dropped
//!     );
//!     fed.and(sent).map(drop)
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! let mut client = TcpStream::connect(listener.local_addr()?).await?;
//! let (stream, _) = listener.accept().await?;
//! let server = tokio::spawn(serve(stream));
//! client.write_all(b"hello\nworld\n").await?;
//! client.shutdown().await?;
//! let mut got = String::new();
//! client.read_to_string(&mut got).await?;
//! assert_eq!(got, "hello!\nworld!\n");
//! server.await??;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! (An [`OutputWriter`](crate::produce::OutputWriter) blocks its caller
//! when the client leaves more than its capacity unread, 1 MiB by default;
//! a server facing untrusted clients has its consumer
//! [hold](crate::Control::hold) instead.)
//!
//! # A producer into a socket
//!
//! One line; on Linux the file's bytes go out with `sendfile`:
//!
//! ```
//! # use producers::{ProducerExt, file, from_bytes};
//! # use tokio::io::AsyncReadExt;
//! # let path = std::env::temp_dir().join(format!("producers-tokio-doc-{}", std::process::id()));
//! # std::fs::write(&path, vec![b'x'; 100_000]).unwrap();
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let mut client = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
//! # let (mut stream, _) = listener.accept().await?;
//! # let read = async { let mut v = Vec::new(); client.read_to_end(&mut v).await.map(|_| v) };
//! # let send = async {
//! producers::tokio::copy(from_bytes("HTTP/1.0 200 OK\r\n\r\n").then(file(&path)?.regions()), &mut stream).await?;
//! # drop(stream);
//! # Ok::<_, std::io::Error>(())
//! # };
//! # let (got, ()) = tokio::try_join!(read, send)?;
//! # assert_eq!(got.len(), 19 + 100_000);
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! # std::fs::remove_file(&path).unwrap();
//! ```

pub mod codec;
mod feed;
mod file;
mod read;
mod write;

pub use feed::{InputHeld, feed};
pub use file::{DEFAULT_BLOCK, OffloadedFile};
pub use read::ProducerReader;
pub use write::{Copying, DRIVE_BUDGET, Driver, Sent, Target, copy};
