// Producers inside another server: a producer pipeline (file → gzip → glob)
// served as a hyper response body, `producers::body::ProducerBody`.
//
//     cargo run --example hyper_body --features http-body -- --file README.md --addr 127.0.0.1:8081
//     curl --compressed http://127.0.0.1:8081/
//     curl -i http://127.0.0.1:8081/raw
//
// Prints `listening on http://ADDR` once ready; `--exit-after SECONDS` stops
// it. `GET /raw` gets the file as it is (hyper sends `Content-Length`, from
// the producer's exact length); any other GET gets it gzip-compressed
// (chunked by hyper, since the compressed length is unknown).
// `tests/hyper_body.rs` runs `serve` in-process.
//
// The recipe:
//
//     let pipeline = producers::file(&path)?.gzip(6).glob(64 << 10);
//     Response::builder().header("Content-Encoding", "gzip").body(ProducerBody::new(pipeline))
//
// `ProducerBody` is an `http_body::Body`: exact size hint from `exact_len`,
// file regions read in bounded pieces, errors end the body.

#![allow(dead_code)]

use std::convert::Infallible;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use producers::body::ProducerBody;
use producers::{Producer, ProducerExt};

/// The pipeline: the file, gzip-compressed, globbed into 64 KiB pieces.
pub fn pipeline(path: &std::path::Path) -> io::Result<impl Producer + Unpin + Send + use<>> {
    Ok(producers::file(path)?.gzip(6).glob(64 << 10))
}

/// The response for one request: the pipeline as a streamed body.
pub fn respond(
    path: &std::path::Path,
) -> io::Result<Response<ProducerBody<impl Producer + Unpin + Send + use<>>>> {
    Ok(Response::builder()
        .header("Content-Type", "application/octet-stream")
        .header("Content-Encoding", "gzip")
        .body(ProducerBody::new(pipeline(path)?))
        .expect("valid response"))
}

/// The response for `GET /raw`: the file as it is, its length known.
pub fn respond_raw(
    path: &std::path::Path,
) -> io::Result<Response<ProducerBody<producers::FileProducer>>> {
    Ok(Response::builder()
        .header("Content-Type", "application/octet-stream")
        .body(ProducerBody::new(producers::file(path)?))
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
            let service = service_fn(move |req: Request<Incoming>| {
                let file = file.clone();
                async move {
                    let r = if req.uri().path() == "/raw" {
                        respond_raw(&file).map(|r| r.map(http_body_util::Either::Right))
                    } else {
                        respond(&file).map(|r| r.map(http_body_util::Either::Left))
                    };
                    Ok::<_, Infallible>(match r {
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
