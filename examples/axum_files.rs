// Files served by an axum 0.8 router, every body a producer pipeline.
//
//     cargo run --release --example axum_files --all-features -- --root . --addr 127.0.0.1:8083
//     curl -i http://127.0.0.1:8083/README.md                        # Content-Length, ETag …
//     curl -i --compressed http://127.0.0.1:8083/README.md           # gzip, chunked
//     curl -i -H 'Range: bytes=0-9,-10' http://127.0.0.1:8083/README.md
//     curl -i --raw -H 'TE: trailers' -H 'Want-Content-Digest: sha-256' http://127.0.0.1:8083/README.md
//
// Flags: `--root DIR --addr HOST:PORT [--exit-after SECONDS]`. Prints
// `listening on http://ADDR` once ready. One thread: a current-thread tokio
// runtime (like the axum + tower-http peer of /work/shared/bench), with
// TCP_NODELAY on every accepted socket.
//
// The handler returns `Response<Body>` with `Body::new(ProducerBody::new(p))`:
// no glue between the producer and axum. `ProducerBody` gives hyper the exact
// length (so `Content-Length`), reads the file in bounded pieces, and sends
// the `Content-Digest` trailer when asked.
//
// - GET and HEAD of a regular file under the root (`/{*path}`, decoded once
//   by axum's `Path`, so `/100%25.txt` is the file `100%.txt`; `..` cannot
//   leave the root). A directory, `/` included, is 404: no listing, no
//   index.html (the crate's `http_server` binary does those). Other methods
//   get 405 with `Allow: GET,HEAD` (axum's method router).
// - Validators (`ETag`, `Last-Modified`), 304 and 412, one range (206 with
//   `Content-Range`), several (`multipart/byteranges`) and 416: all decided by
//   `producers::http::answer`.
// - gzip, when the client accepts it, for compressible types over 1 KiB:
//   chunked (the compressed length is unknown), its own ETag, `Vary`. Level
//   2: the bench's peer (tower-http) uses its fastest level, 1, with flate2's
//   miniz_oxide; the crate's zlib-rs runs level 1 as `deflate_quick` (static
//   Huffman codes only), whose output is half as large again (a 1 MiB text:
//   73.9 KB, against the peer's 49.1 KB). Level 2 (44.5 KB) is the fastest
//   that sends no more bytes than the peer, so the req/s compare honestly.
//   A precompressed sidecar `FILE.gz` no older than the file is sent instead,
//   as it is, with `Content-Length` (nginx's `gzip_static`, tower-http's
//   `precompressed_gzip`).
// - `Content-Digest: sha-256=:…:` (RFC 9530) as a trailer, over the bytes as
//   sent, when the request says `TE: trailers` and `Want-Content-Digest:
//   sha-256`; the body is then chunked (HTTP/1.1 trailers need it).

use std::fs::File;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt;
use producers::body::{ProducerBody, REGION_FRAME};
use producers::digest::ContentDigest;
use producers::http::{
    Answer, ByteRange, MultipartRanges, RangeLimits, Representation, Root, UrlPath, Validators,
    answer, content_type, is_compressible, negotiate_encoding, unsatisfied_range,
    wants_digest_trailer,
};
use producers::{Chain, FileProducer, Producer, ProducerExt, from_bytes};

/// Files this size or smaller are never compressed.
const GZIP_MIN: u64 = 1024;
/// See the top: the fastest level whose output is no larger than the peer's.
const GZIP_LEVEL: u32 = 2;
/// Reads for the compressor: 64 KiB stays in cache and in malloc's heap
/// (256 KiB buffers are mapped and faulted in afresh each time).
const GZIP_READ: usize = 64 << 10;

/// GET (and HEAD) of `/{*path}`.
async fn file(
    State(root): State<Arc<Root>>,
    Path(path): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response<Body> {
    respond(&root, &path, &method, &headers).unwrap_or_else(|status| status.into_response())
}

fn respond(
    root: &Root,
    path: &str,
    method: &Method,
    req: &HeaderMap,
) -> Result<Response<Body>, StatusCode> {
    let status = |e: producers::http::HttpError| {
        StatusCode::from_u16(e.status().code()).unwrap_or(StatusCode::BAD_REQUEST)
    };
    let path = UrlPath::from_decoded(path).map_err(status)?;
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
    // A precompressed `FILE.gz` (nginx's `gzip_static`, tower-http's
    // `precompressed_gzip`) is sent as it is, with its length, instead of
    // compressing on the fly.
    let sidecar = gzip.then(|| root.sidecar(&path, ".gz", &meta)).flatten();
    let etag = validators.etag(gzip);
    let rep = Representation {
        etag: Some(&etag),
        last_modified: Some(validators.last_modified),
        // The gzip coding is made on the fly: no ranges of it.
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
    let body = match answer {
        Answer::NotModified | Answer::PreconditionFailed => {
            return Ok((status, head).into_response());
        }
        Answer::RangeNotSatisfiable { len } => {
            head.insert(header::CONTENT_RANGE, value(unsatisfied_range(len)));
            return Ok((status, head).into_response());
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
                // multipart/byteranges: the framing from memory, the ranges
                // from the file, chained; its exact length known up front.
                let parts = MultipartRanges::new(&ranges, ty);
                head.insert(header::CONTENT_TYPE, value(parts.content_type()));
                let mut chain = Chain::default();
                for (part_head, ByteRange { start, len }) in parts.parts() {
                    chain.push(from_bytes(part_head.clone()));
                    chain.push(read(f.clone(), start, len));
                }
                chain.push(from_bytes(parts.closing().clone()));
                body(chain, digest)
            }
        }
    };
    let mut response = body;
    *response.status_mut() = status;
    response.headers_mut().extend(head);
    Ok(response)
}

/// The response for `producer`'s output: `ProducerBody` as axum's `Body`, as
/// it is; with the `Content-Digest` trailer (and its `Trailer` header) if
/// asked.
fn body<P: Producer + Unpin + Send + 'static>(producer: P, digest: bool) -> Response<Body> {
    let body = ProducerBody::new(producer);
    if digest {
        body.with_trailers(ContentDigest::new())
            .into_response()
            .map(Body::new)
    } else {
        body.into_response().map(Body::new)
    }
}

/// `len` bytes of the file from `offset`, in reads of up to 256 KiB: a small
/// file in one `pread`, a large one a piece per poll, never whole in memory.
fn read(f: Arc<File>, offset: u64, len: u64) -> FileProducer {
    FileProducer::promising(f, len)
        .range(offset, len)
        .block_size(len.clamp(1, REGION_FRAME as u64) as usize)
}

fn value(s: String) -> HeaderValue {
    HeaderValue::try_from(s).expect("a valid field value")
}

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
                eprintln!("usage: axum_files --root DIR --addr HOST:PORT [--exit-after SECONDS]");
                std::process::exit(2);
            }
        }
    }
    let root = Root::new(root.unwrap_or_else(|| ".".into())).map_err(io::Error::other)?;
    let addr: SocketAddr = addr.parse().map_err(io::Error::other)?;
    let app = Router::new()
        .route("/{*path}", get(file))
        .with_state(Arc::new(root));
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
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app).await
        })
}
