// Files served by hyper 1.x alone, every body a producer pipeline
// (`producers::body::ProducerBody`). The same server as `axum_files.rs`,
// without a framework.
//
//     cargo run --release --example hyper_body --all-features -- --root . --addr 127.0.0.1:8081
//     curl -i http://127.0.0.1:8081/README.md                        # Content-Length, ETag …
//     curl -i --compressed http://127.0.0.1:8081/README.md           # gzip, chunked
//     curl -i -H 'Range: bytes=0-9,-10' http://127.0.0.1:8081/README.md
//     curl -i --raw -H 'TE: trailers' -H 'Want-Content-Digest: sha-256' http://127.0.0.1:8081/README.md
//
// Flags: `--root DIR --addr HOST:PORT [--exit-after SECONDS]`. Prints
// `listening on http://ADDR` once ready. One thread: a current-thread tokio
// runtime, TCP_NODELAY on every accepted socket. `tests/hyper_body.rs` runs
// `serve` in-process, `tests/http_examples.rs` runs the built example.
//
// The service returns `Response<ProducerBody<…>>` (boxed, as the bodies
// differ by answer): hyper sends `Content-Length` from the producer's exact
// length, chunked otherwise, and the trailers `ProducerBody` computes.
//
// - GET and HEAD of a regular file under the root; the request path is
//   percent-decoded once (`UrlPath::from_target`: `/100%25.txt` is the file
//   `100%.txt`) and cannot leave the root. A directory is 404 (no listing, no
//   index.html). Other methods: 405 with `Allow: GET, HEAD`.
// - `ETag`, `Last-Modified`, 304, 412, 206 (one range, or
//   `multipart/byteranges`), 416: decided by `producers::http::answer`.
// - gzip level 2 (as the axum example, see there for why) when accepted, for
//   compressible types over 1 KiB: chunked, its own ETag, `Vary`; or a
//   precompressed `FILE.gz` no older than the file, as it is, with its length
//   (`Root::sidecar`).
// - A `Content-Digest` trailer (RFC 9530) with `TE: trailers` and
//   `Want-Content-Digest: sha-256`.

use std::convert::Infallible;
use std::fs::File;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use producers::body::{ProducerBody, REGION_FRAME};
use producers::digest::ContentDigest;
use producers::http::{
    Answer, MultipartRanges, RangeLimits, Representation, Root, UrlPath, Validators, answer,
    content_type, is_compressible, negotiate_encoding, unsatisfied_range, wants_digest_trailer,
};
use producers::{Chain, FileProducer, Producer, ProducerExt, from_bytes};

/// Every response body: a `ProducerBody`, boxed.
pub type Body = UnsyncBoxBody<Bytes, io::Error>;

/// Files this size or smaller are never compressed.
const GZIP_MIN: u64 = 1024;
/// The fastest level whose output is no larger than tower-http's at its
/// fastest (see `axum_files.rs`).
const GZIP_LEVEL: u32 = 2;
/// Reads for the compressor: 64 KiB stays in cache and in malloc's heap
/// (256 KiB buffers are mapped and faulted in afresh each time).
const GZIP_READ: usize = 64 << 10;

/// One request's response.
pub fn respond(root: &Root, req: &Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    file(root, req.method(), req.uri().path(), req.headers())
        .unwrap_or_else(|status| text(status, status.canonical_reason().unwrap_or("error")))
}

fn file(
    root: &Root,
    method: &Method,
    target: &str,
    req: &HeaderMap,
) -> Result<Response<Body>, StatusCode> {
    let status = |e: producers::http::HttpError| {
        StatusCode::from_u16(e.status().code()).unwrap_or(StatusCode::BAD_REQUEST)
    };
    let path = UrlPath::from_target(target.as_bytes()).map_err(status)?;
    let real = root.resolve(&path).map_err(status)?;
    // Looked at before opening: opening a FIFO would block the runtime.
    if !std::fs::metadata(&real).is_ok_and(|m| m.is_file()) {
        return Err(StatusCode::NOT_FOUND);
    }
    let f = File::open(&real).map_err(|_| StatusCode::NOT_FOUND)?;
    let meta = f.metadata().map_err(|_| StatusCode::NOT_FOUND)?;
    let (f, len) = (Arc::new(f), meta.len());
    let validators = Validators::from_metadata(&meta);
    let ty = content_type(&real);
    let compressible = is_compressible(ty) && len > GZIP_MIN;
    // A range is of the file's bytes: identity whenever it is acceptable.
    let ranged = method == Method::GET && req.contains_key(header::RANGE);
    let gzip = compressible
        && !(ranged && negotiate_encoding(req, &["identity"]).is_some())
        && negotiate_encoding(req, &["gzip", "identity"]) == Some("gzip");
    // A precompressed `FILE.gz` no older than the file is sent as it is.
    let sidecar = gzip.then(|| root.sidecar(&path, ".gz", &meta)).flatten();
    let etag = validators.etag(gzip);
    let rep = Representation {
        etag: Some(&etag),
        last_modified: Some(validators.last_modified),
        len: (!gzip).then_some(len),
    };

    let mut head = HeaderMap::new();
    head.insert(header::ETAG, value(etag.clone()));
    head.insert(
        header::LAST_MODIFIED,
        value(validators.last_modified_date()),
    );
    if compressible {
        head.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    let digest = wants_digest_trailer(req);
    let answer = answer(method, req, &rep, &RangeLimits::default());
    let status = StatusCode::from_u16(answer.status().code()).expect("a valid status");
    let mut response = match answer {
        Answer::NotModified | Answer::PreconditionFailed => body(from_bytes(""), false),
        Answer::RangeNotSatisfiable { len } => {
            head.insert(header::CONTENT_RANGE, value(unsatisfied_range(len)));
            body(from_bytes(""), false)
        }
        Answer::Full if gzip => {
            head.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
            head.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            match sidecar {
                Some((gz, gz_meta)) => body(read(Arc::new(gz), 0, gz_meta.len()), digest),
                None => body(
                    read(f, 0, len).block_size(GZIP_READ).gzip(GZIP_LEVEL),
                    digest,
                ),
            }
        }
        Answer::Full => {
            head.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
            head.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            body(read(f, 0, len), digest)
        }
        Answer::Partial(ranges) => {
            head.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            if let Some(r) = ranges.single() {
                head.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
                head.insert(header::CONTENT_RANGE, value(r.content_range(len)));
                body(read(f, r.start, r.len), digest)
            } else {
                let parts = MultipartRanges::new(&ranges, ty);
                head.insert(header::CONTENT_TYPE, value(parts.content_type()));
                let mut chain = Chain::default();
                for (part_head, r) in parts.parts() {
                    chain.push(from_bytes(part_head.clone()));
                    chain.push(read(f.clone(), r.start, r.len));
                }
                chain.push(from_bytes(parts.closing().clone()));
                body(chain, digest)
            }
        }
    };
    *response.status_mut() = status;
    response.headers_mut().extend(head);
    Ok(response)
}

/// The response for `producer`'s output, with the `Content-Digest` trailer
/// (and its `Trailer` header) if asked.
fn body<P: Producer + Unpin + Send + 'static>(producer: P, digest: bool) -> Response<Body> {
    let body = ProducerBody::new(producer);
    if digest {
        body.with_trailers(ContentDigest::new())
            .into_response()
            .map(BodyExt::boxed_unsync)
    } else {
        body.into_response().map(BodyExt::boxed_unsync)
    }
}

fn text(status: StatusCode, msg: &'static str) -> Response<Body> {
    let mut r = body(from_bytes(msg), false);
    *r.status_mut() = status;
    r
}

/// `len` bytes of the file from `offset`, in reads of up to 256 KiB: a small
/// file in one `pread`, a large one a piece per poll.
fn read(f: Arc<File>, offset: u64, len: u64) -> FileProducer {
    FileProducer::promising(f, len)
        .range(offset, len)
        .block_size(len.clamp(1, REGION_FRAME as u64) as usize)
}

fn value(s: String) -> HeaderValue {
    HeaderValue::try_from(s).expect("a valid field value")
}

/// Serves the files under `root` to every connection `listener` accepts.
pub async fn serve(listener: tokio::net::TcpListener, root: Arc<Root>) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let root = root.clone();
        let service = service_fn(move |req| {
            let response = respond(&root, &req);
            async move { Ok::<_, Infallible>(response) }
        });
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[allow(dead_code)] // `tests/hyper_body.rs` includes this file for `serve`.
fn main() -> io::Result<()> {
    let (mut root, mut addr, mut exit_after) = (None, "127.0.0.1:0".to_owned(), None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let v = args.next().unwrap_or_default();
        match flag.as_str() {
            "--root" => root = Some(v),
            "--addr" => addr = v,
            "--exit-after" => exit_after = v.parse::<f64>().ok().map(Duration::from_secs_f64),
            _ => {
                eprintln!("usage: hyper_body --root DIR --addr HOST:PORT [--exit-after SECONDS]");
                std::process::exit(2);
            }
        }
    }
    let root = Root::new(root.unwrap_or_else(|| ".".into())).map_err(io::Error::other)?;
    let addr: SocketAddr = addr.parse().map_err(io::Error::other)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            println!("listening on http://{}", listener.local_addr()?);
            io::stdout().flush()?;
            if let Some(d) = exit_after {
                std::thread::spawn(move || {
                    std::thread::sleep(d);
                    std::process::exit(0);
                });
            }
            serve(listener, Arc::new(root)).await
        })
}
