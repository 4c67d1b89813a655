// Producers inside another server: a producer pipeline (file → gzip → glob)
// served as a hyper response body through the Stream adapter.
//
//     cargo run --example hyper_body -- --file README.md --addr 127.0.0.1:8081
//     curl --compressed http://127.0.0.1:8081/
//
// Prints `listening on http://ADDR` once ready; `--exit-after SECONDS` stops
// it. Every GET gets the file gzip-compressed (chunked by hyper, since the
// compressed length is unknown). `tests/hyper_body.rs` runs `serve` in-process.
//
// The recipe:
//
//     let pipeline = producers::file(&path)?.gzip(6).glob(64 << 10);
//     let body = StreamBody::new(DataFrames(ProducerStream::new(pipeline)));
//     Response::builder().header("Content-Encoding", "gzip").body(body)
//
// `ProducerStream` turns the producer into a `Stream<Item = io::Result<Bytes>>`
// (file regions read in bounded pieces); `DataFrames` maps each item to
// `Frame::data`, the shape `http_body_util::StreamBody` takes.

#![allow(dead_code)]

use std::convert::Infallible;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use http_body_util::StreamBody;
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use producers::stream::ProducerStream;
use producers::{Producer, ProducerExt};

/// Maps a stream of bytes to a stream of body data frames.
pub struct DataFrames<S>(pub S);

impl<S: Stream<Item = io::Result<Bytes>> + Unpin> Stream for DataFrames<S> {
    type Item = io::Result<Frame<Bytes>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0)
            .poll_next(cx)
            .map(|item| item.map(|r| r.map(Frame::data)))
    }
}

/// The pipeline: the file, gzip-compressed, globbed into 64 KiB pieces.
pub fn pipeline(path: &std::path::Path) -> io::Result<impl Producer + Unpin + Send + use<>> {
    Ok(producers::file(path)?.gzip(6).glob(64 << 10))
}

/// The response for one request: the pipeline as a streamed body.
pub fn respond(
    path: &std::path::Path,
) -> io::Result<
    Response<StreamBody<DataFrames<ProducerStream<impl Producer + Unpin + Send + use<>>>>>,
> {
    let body = StreamBody::new(DataFrames(ProducerStream::new(pipeline(path)?)));
    Ok(Response::builder()
        .header("Content-Type", "application/octet-stream")
        .header("Content-Encoding", "gzip")
        .body(body)
        .expect("valid response"))
}

/// Serves `file` to every connection `listener` accepts until `stop` is set
/// (checked after each accept: connect once to wake it).
pub async fn serve(
    listener: tokio::net::TcpListener,
    file: PathBuf,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    let file = Arc::new(file);
    loop {
        let (stream, _) = listener.accept().await?;
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let file = file.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req: Request<Incoming>| {
                let file = file.clone();
                async move {
                    Ok::<_, Infallible>(match respond(&file) {
                        Ok(r) => r.map(http_body_util::Either::Left),
                        Err(e) => Response::builder()
                            .status(404)
                            .body(http_body_util::Either::Right(http_body_util::Full::new(
                                Bytes::from(format!("{e}\n")),
                            )))
                            .expect("valid response"),
                    })
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn main() -> io::Result<()> {
    let mut addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut file = PathBuf::from("README.md");
    let mut exit_after = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().unwrap_or_else(|| {
            eprintln!("usage: hyper_body [--file PATH] [--addr HOST:PORT] [--exit-after SECONDS]");
            std::process::exit(2)
        });
        match a.as_str() {
            "--addr" => addr = v.parse().expect("--addr HOST:PORT"),
            "--file" => file = PathBuf::from(v),
            "--exit-after" => {
                exit_after = Some(Duration::from_secs_f64(v.parse().expect("seconds")))
            }
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2)
            }
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        println!("listening on http://{addr}");
        io::stdout().flush()?;
        let stop = Arc::new(AtomicBool::new(false));
        if let Some(d) = exit_after {
            let stop = stop.clone();
            std::thread::spawn(move || {
                std::thread::sleep(d);
                stop.store(true, Ordering::SeqCst);
                let _ = std::net::TcpStream::connect(addr);
            });
        }
        serve(listener, file, stop).await
    })
}
