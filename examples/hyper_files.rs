// A minimal hyper file server: the baseline of `scripts/bench-http.sh`.
//
//     cargo run --release --example hyper_files -- --root DIR --addr 127.0.0.1:8082
//
// One thread (a current-thread tokio runtime). GET of the files under the
// root with `Content-Length` (the file read into memory), gzip-compressed
// in memory (flate2, level 6, as the producers server) when the client
// accepts gzip and the file is text over 1 KiB. Prints
// `listening on http://ADDR`; `--exit-after SECONDS` stops it.

use std::convert::Infallible;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use producers::http::{Root, UrlPath, content_type, is_compressible};

fn respond(root: &Root, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let not_found = || {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::from_static(b"404 Not Found\n")))
            .expect("valid response")
    };
    let Ok(path) = UrlPath::from_target(req.uri().path().as_bytes()) else {
        return not_found();
    };
    let Ok(real) = path.resolve(root) else {
        return not_found();
    };
    let Ok(data) = std::fs::read(&real) else {
        return not_found();
    };
    let ty = content_type(&real);
    let gzip = is_compressible(ty)
        && data.len() > 1024
        && req
            .headers()
            .get_all("accept-encoding")
            .iter()
            .any(|v| v.to_str().is_ok_and(|s| s.contains("gzip")));
    let builder = Response::builder().header("Content-Type", ty);
    if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        enc.write_all(&data).expect("in memory");
        let gz = enc.finish().expect("in memory");
        builder
            .header("Content-Encoding", "gzip")
            .body(Full::new(Bytes::from(gz)))
            .expect("valid response")
    } else {
        builder
            .body(Full::new(Bytes::from(data)))
            .expect("valid response")
    }
}

fn main() -> io::Result<()> {
    let mut addr: SocketAddr = "127.0.0.1:8082".parse().unwrap();
    let mut root = PathBuf::from(".");
    let mut exit_after = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().unwrap_or_else(|| {
            eprintln!("usage: hyper_files [--root DIR] [--addr HOST:PORT] [--exit-after SECONDS]");
            std::process::exit(2)
        });
        match a.as_str() {
            "--addr" => addr = v.parse().expect("--addr HOST:PORT"),
            "--root" => root = PathBuf::from(v),
            "--exit-after" => {
                exit_after = Some(Duration::from_secs_f64(v.parse().expect("seconds")))
            }
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2)
            }
        }
    }
    let root = Arc::new(Root::new(root)?);
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
        loop {
            let (stream, _) = listener.accept().await?;
            if stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let _ = stream.set_nodelay(true);
            let root = root.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let resp = respond(&root, &req);
                    async move { Ok::<_, Infallible>(resp) }
                });
                let _ = http1::Builder::new()
                    .pipeline_flush(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
