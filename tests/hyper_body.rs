//! The `hyper_body` example's `serve` in-process on 127.0.0.1:0 (feature
//! `digest` too, which the example needs): a raw socket fetches a file as
//! it is and gzip-compressed, and the decoded bytes must equal the file. A
//! known length is sent with `Content-Length`, an unknown one chunked.
//! (`tests/http_examples.rs` runs the built example as a process.)
//!
//! Then an in-process hyper client (hyper 1's `client::conn::http1`) against
//! handlers returning `ProducerBody` and reading uploads through
//! `BodyProducer`: `Content-Length` exactly when the length is known and no
//! trailer is declared, the `content-digest` trailer (feature `digest`)
//! equal to a SHA-256 of the bytes received (gzip, or a file as it is, sent
//! chunked for the trailer's sake), an error mid-body seen as a cut body,
//! uploads compressed (split frames, trailers kept) and an upload over the
//! cap answered 413.
#![cfg(all(feature = "http-body", feature = "gzip"))]

#[cfg(feature = "digest")]
#[path = "../examples/hyper_body.rs"]
#[allow(unreachable_pub, dead_code)]
mod hyper_body;

use std::io::Read;

#[cfg(feature = "digest")]
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked body, checking its framing.
#[cfg(feature = "digest")]
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = find(b, b"\r\n").expect("size line");
        let size = usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap(), 16).unwrap();
        b = &b[nl + 2..];
        if size == 0 {
            assert_eq!(b, b"\r\n", "last-chunk then the end");
            return out;
        }
        out.extend_from_slice(&b[..size]);
        assert_eq!(&b[size..size + 2], b"\r\n");
        b = &b[size + 2..];
    }
}

/// Runs the example's server over `root` (on a thread of its own, left
/// running) and sends each of `requests` (extra header lines for
/// `GET /data.txt`, one connection each): the lowercased head and the raw
/// body of each.
#[cfg(feature = "digest")]
fn fetch(root: &std::path::Path, requests: &[&str]) -> Vec<(String, Vec<u8>)> {
    use std::io::Write;
    use std::net::TcpStream;
    use std::time::Duration;
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let root = std::sync::Arc::new(producers::http::Root::new(root).unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            hyper_body::serve(listener, root).await
        })
    });
    let mut out = Vec::new();
    for extra in requests {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(
            format!("GET /data.txt HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
        let mut resp = Vec::new();
        c.read_to_end(&mut resp).unwrap();
        let end = find(&resp, b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&resp[..end]).to_lowercase();
        assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
        out.push((head, resp[end..].to_vec()));
    }
    out
}

#[cfg(feature = "digest")]
#[test]
fn a_gzip_pipeline_chunked_and_a_known_length_with_content_length() {
    let dir = std::env::temp_dir().join(format!("producers-hyper-body-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data.txt");
    // Over 256 KiB, so the file is read in several pieces.
    let data: Vec<u8> = (0..40_000)
        .flat_map(|i| format!("line {i} of the file served through hyper\n").into_bytes())
        .collect();
    assert!(data.len() > 3 * producers::body::REGION_FRAME);
    std::fs::write(&path, &data).unwrap();

    let got = fetch(&dir, &["Accept-Encoding: gzip\r\n", ""]);

    let (head, body) = &got[0];
    assert!(head.contains("content-encoding: gzip\r\n"), "{head}");
    assert!(head.contains("transfer-encoding: chunked\r\n"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    let gz = dechunk(body);
    assert!(
        gz.len() < data.len() / 4,
        "compressed: {} of {}",
        gz.len(),
        data.len()
    );
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, data);

    let (head, body) = &got[1];
    assert!(
        head.contains(&format!("content-length: {}\r\n", data.len())),
        "{head}"
    );
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert_eq!(body, &data);

    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// An in-process hyper client against an in-process hyper server whose
// handlers return `ProducerBody` responses and read uploads through
// `BodyProducer` (issue 13).

mod client {
    use std::convert::Infallible;
    use std::io;
    use std::net::SocketAddr;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use http_body_util::BodyExt;
    use http_body_util::combinators::UnsyncBoxBody;
    use hyper::body::{Body, Frame, Incoming};
    use hyper::{Request, Response, StatusCode};
    use hyper_util::rt::TokioIo;
    use producers::body::{BodyError, BodyProducer, ProducerBody};
    use producers::{Chunk, More, Producer, ProducerExt, from_bytes};

    pub type Boxed = UnsyncBoxBody<Bytes, io::Error>;

    /// The upload cap of `POST /upload`.
    pub const CAP: u64 = 100_000;

    /// Some bytes, a pending (so hyper flushes them), then an error: a
    /// body that breaks half way.
    pub struct Broken {
        left: Option<Bytes>,
        paused: bool,
        /// The length promised, if any (a lie: the error comes first).
        promised: Option<u64>,
    }

    impl Producer for Broken {
        fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
            if self.left.is_none() && !self.paused {
                self.paused = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match self.left.take() {
                Some(b) => {
                    self.promised = self.promised.map(|n| n - b.len() as u64);
                    Poll::Ready(Some(Ok(Chunk::from_bytes(b).unwrap())))
                }
                None if self.promised.is_some_and(|n| n > 0) || self.promised.is_none() => {
                    self.promised = Some(0);
                    Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the source broke",
                    ))))
                }
                None => Poll::Ready(None),
            }
        }

        fn exact_len(&self) -> Option<u64> {
            self.promised
        }
    }

    /// Drives a producer to its end on the runtime (never parking the
    /// thread, which runs the connection too).
    pub async fn collect<P: Producer + Unpin>(p: &mut P) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            match std::future::poll_fn(|cx| p.poll_more(cx)).await {
                Some(Ok(c)) => out.extend_from_slice(&c.into_bytes()?),
                Some(Err(e)) => return Err(e),
                None => return Ok(out),
            }
        }
    }

    fn boxed<B>(r: Response<B>) -> Response<Boxed>
    where
        B: Body<Data = Bytes, Error = io::Error> + Send + 'static,
    {
        r.map(BodyExt::boxed_unsync)
    }

    async fn route(
        path: std::path::PathBuf,
        req: Request<Incoming>,
    ) -> Result<Response<Boxed>, Infallible> {
        let file = || producers::file(&path).unwrap();
        Ok(match req.uri().path() {
            "/file" => boxed(ProducerBody::new(file()).into_response()),
            "/bytes" => boxed(ProducerBody::new(from_bytes("known length")).into_response()),
            // A file of known length with a declared trailer: chunked, so
            // the trailer can be sent.
            #[cfg(feature = "digest")]
            "/file-digest" => boxed(
                ProducerBody::new(file())
                    .with_trailers(producers::digest::ContentDigest::new())
                    .into_response(),
            ),
            "/gzip" => {
                let body = ProducerBody::new(file().gzip(6).glob(16 << 10));
                #[cfg(feature = "digest")]
                let body = body.with_trailers(producers::digest::ContentDigest::new());
                let mut r = body.into_response();
                r.headers_mut()
                    .insert("content-encoding", "gzip".parse().unwrap());
                boxed(r)
            }
            "/broken" | "/broken-length" => {
                let promised = (req.uri().path() == "/broken-length").then_some(20_000);
                let p = Broken {
                    left: Some(Bytes::from(vec![b'x'; 10_000])),
                    paused: false,
                    promised,
                };
                boxed(ProducerBody::new(p).into_response())
            }
            // The upload, gzip-compressed through the crate's `Compressed`,
            // and its `x-sum` trailer echoed as a header.
            "/upload" => {
                let mut gz = BodyProducer::new(req.into_body()).max_len(CAP).gzip(6);
                match collect(&mut gz).await {
                    Ok(bytes) => {
                        let upload = gz.get_ref();
                        let mut r = ProducerBody::new(from_bytes(bytes)).into_response();
                        r.headers_mut()
                            .insert("x-received", upload.received().into());
                        if let Some(sum) = upload.trailers().and_then(|t| t.get("x-sum")) {
                            r.headers_mut().insert("x-sum", sum.clone());
                        }
                        boxed(r)
                    }
                    Err(e) => {
                        let status = match BodyError::of(&e) {
                            Some(BodyError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
                            _ => StatusCode::BAD_REQUEST,
                        };
                        let mut r = ProducerBody::new(from_bytes(e.to_string())).into_response();
                        *r.status_mut() = status;
                        boxed(r)
                    }
                }
            }
            // Streams the upload back gzip-compressed as it comes: a
            // request body to a response body through a codec, no glue.
            "/echo-gzip" => {
                let p = BodyProducer::new(req.into_body()).max_len(CAP).gzip(6);
                boxed(ProducerBody::new(p).into_response())
            }
            _ => {
                let mut r = ProducerBody::new(from_bytes("no such route")).into_response();
                *r.status_mut() = StatusCode::NOT_FOUND;
                boxed(r)
            }
        })
    }

    /// Starts the server on 127.0.0.1:0 on the current runtime.
    pub async fn serve(path: std::path::PathBuf) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let path = path.clone();
                let service = hyper::service::service_fn(move |req| route(path.clone(), req));
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        addr
    }

    /// Sends one request on a new connection.
    pub async fn send<B>(addr: SocketAddr, req: Request<B>) -> Response<Incoming>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        try_send(addr, req).await.unwrap()
    }

    /// Sends one request on a new connection: the response head, or the
    /// error that came instead.
    pub async fn try_send<B>(addr: SocketAddr, req: Request<B>) -> hyper::Result<Response<Incoming>>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        sender.send_request(req).await
    }

    pub fn get(target: &str) -> Request<http_body_util::Empty<Bytes>> {
        Request::get(target)
            .header("host", "x")
            .header("te", "trailers")
            .body(http_body_util::Empty::new())
            .unwrap()
    }

    /// A request body of the given frames, each data frame on its own
    /// poll (with a pending between), then trailers.
    pub struct Frames {
        pub frames: std::collections::VecDeque<Frame<Bytes>>,
        pub pending: bool,
    }

    impl Body for Frames {
        type Data = Bytes;
        type Error = io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
            if self.pending {
                self.pending = false;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.pending = true;
            Poll::Ready(self.frames.pop_front().map(Ok))
        }
    }
}

use client::{get, send, serve};
use http_body_util::BodyExt;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap()
}

/// A file over 256 KiB of text, and its bytes.
fn text_file(name: &str) -> (std::path::PathBuf, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("producers-hyper-client-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let data: Vec<u8> = (0..20_000)
        .flat_map(|i| format!("line {i}, sent through hyper to a hyper client\n").into_bytes())
        .collect();
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

fn gunzip(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn hyper_client_content_length_exactly_when_the_length_is_known() {
    let (path, data) = text_file("length.txt");
    runtime().block_on(async {
        let addr = serve(path.clone()).await;

        let r = send(addr, get("/file")).await;
        assert_eq!(r.status(), 200);
        let len = data.len().to_string();
        assert_eq!(r.headers()["content-length"], len.as_str());
        assert!(!r.headers().contains_key("transfer-encoding"));
        assert_eq!(r.into_body().collect().await.unwrap().to_bytes(), data);

        let r = send(addr, get("/bytes")).await;
        assert_eq!(r.headers()["content-length"], "12");
        assert!(!r.headers().contains_key("transfer-encoding"));
        assert_eq!(
            r.into_body().collect().await.unwrap().to_bytes(),
            "known length"
        );

        let r = send(addr, get("/gzip")).await;
        assert!(!r.headers().contains_key("content-length"));
        assert_eq!(r.headers()["transfer-encoding"], "chunked");
        assert_eq!(r.headers()["content-encoding"], "gzip");
        let gz = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(gunzip(&gz), data);
    });
}

/// Standard base64 decoding (RFC 4648), to read the digest independently
/// of the crate's encoder.
#[cfg(feature = "digest")]
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c:?}"),
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for &c in s {
        acc = acc << 6 | u32::from(val(c));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[cfg(feature = "digest")]
#[test]
fn hyper_client_gets_a_content_digest_trailer_over_the_gzip_bytes() {
    use sha2::Digest as _;
    let (path, data) = text_file("digest.txt");
    runtime().block_on(async {
        let addr = serve(path.clone()).await;
        let r = send(addr, get("/gzip")).await;
        assert_eq!(r.headers()["trailer"], "content-digest");
        let collected = r.into_body().collect().await.unwrap();
        let trailers = collected.trailers().expect("a trailer section").clone();
        let gz = collected.to_bytes();
        assert_eq!(gunzip(&gz), data);
        let field = trailers["content-digest"].to_str().unwrap();
        let b64 = field
            .strip_prefix("sha-256=:")
            .and_then(|f| f.strip_suffix(':'))
            .expect("sha-256=:…:");
        assert_eq!(base64_decode(b64), sha2::Sha256::digest(&gz).to_vec());

        // Without `TE: trailers` hyper sends none (RFC 9110 section 6.5.1).
        let mut req = get("/gzip");
        req.headers_mut().remove("te");
        let collected = send(addr, req).await.into_body().collect().await.unwrap();
        assert!(collected.trailers().is_none());
    });
}

/// The digest of `body` as the trailer must carry it, computed by the test.
#[cfg(feature = "digest")]
fn sha256_field(body: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(body).to_vec()
}

/// The bytes of a `sha-256=:…:` field value.
#[cfg(feature = "digest")]
fn digest_of(field: &hyper::header::HeaderValue) -> Vec<u8> {
    let b64 = field
        .to_str()
        .unwrap()
        .strip_prefix("sha-256=:")
        .and_then(|f| f.strip_suffix(':'))
        .expect("sha-256=:…:");
    base64_decode(b64)
}

#[cfg(feature = "digest")]
#[test]
fn hyper_client_gets_an_identity_file_with_a_digest_trailer_chunked() {
    let (path, data) = text_file("identity-digest.txt");
    runtime().block_on(async {
        let addr = serve(path.clone()).await;

        // A declared trailer: hyper would drop it with Content-Length
        // (RFC 9112 section 7.1.2), so the body goes chunked.
        let r = send(addr, get("/file-digest")).await;
        assert_eq!(r.status(), 200);
        assert!(!r.headers().contains_key("content-length"));
        assert_eq!(r.headers()["transfer-encoding"], "chunked");
        assert_eq!(r.headers()["trailer"], "content-digest");
        let collected = r.into_body().collect().await.unwrap();
        let trailers = collected.trailers().expect("a trailer section").clone();
        let body = collected.to_bytes();
        assert_eq!(body, data);
        assert_eq!(digest_of(&trailers["content-digest"]), sha256_field(&body));

        // The same file without trailers keeps its Content-Length.
        let r = send(addr, get("/file")).await;
        assert_eq!(
            r.headers()["content-length"],
            data.len().to_string().as_str()
        );
        assert!(!r.headers().contains_key("transfer-encoding"));
        assert!(!r.headers().contains_key("trailer"));
        let collected = r.into_body().collect().await.unwrap();
        assert!(collected.trailers().is_none());
        assert_eq!(collected.to_bytes(), data);
    });
}

#[test]
fn hyper_client_sees_an_error_mid_body_as_a_truncated_body() {
    let (path, _) = text_file("broken.txt");
    runtime().block_on(async {
        let addr = serve(path.clone()).await;
        for target in ["/broken", "/broken-length"] {
            // hyper may drop the connection before the head is flushed (the
            // error comes on the next poll): either way, never a clean end.
            let r = match client::try_send(addr, get(target)).await {
                Ok(r) => r,
                Err(e) => {
                    assert!(e.is_incomplete_message(), "{target}: {e}");
                    continue;
                }
            };
            assert_eq!(r.status(), 200);
            if target == "/broken-length" {
                assert_eq!(r.headers()["content-length"], "20000");
            } else {
                assert_eq!(r.headers()["transfer-encoding"], "chunked");
            }
            let mut body = r.into_body();
            let mut got = 0;
            let err = loop {
                match body.frame().await {
                    Some(Ok(f)) => got += f.into_data().map_or(0, |d| d.len()),
                    Some(Err(e)) => break e,
                    None => panic!("{target}: a clean end after {got} bytes"),
                }
            };
            assert_eq!(got, 10_000, "{target}: what came before the error");
            // The connection closed before the body's end: hyper's decoder
            // says the body was cut short.
            let cause = std::error::Error::source(&err).map(|s| s.to_string());
            let eof = std::error::Error::source(&err)
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .is_some_and(|e| e.kind() == std::io::ErrorKind::UnexpectedEof);
            assert!(
                eof || err.is_incomplete_message(),
                "{target}: {err}: {cause:?}"
            );
        }
    });
}

#[test]
fn an_upload_is_read_as_a_producer_and_compressed() {
    let (path, _) = text_file("upload-unused.txt");
    let upload: Vec<u8> = (0..3_000)
        .flat_map(|i| format!("uploaded line {i}\n").into_bytes())
        .collect();
    assert!(upload.len() < client::CAP as usize);
    runtime().block_on(async {
        let addr = serve(path.clone()).await;

        // With a Content-Length.
        let req = hyper::Request::post("/upload")
            .header("host", "x")
            .body(http_body_util::Full::new(bytes::Bytes::from(
                upload.clone(),
            )))
            .unwrap();
        let r = send(addr, req).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-received"], upload.len().to_string().as_str());
        let gz = r.into_body().collect().await.unwrap().to_bytes();
        assert!(gz.len() < upload.len() / 2);
        assert_eq!(gunzip(&gz), upload);

        // Chunked, in split frames, with a trailer.
        let frames = upload
            .chunks(777)
            .map(|c| hyper::body::Frame::data(bytes::Bytes::copy_from_slice(c)))
            .chain([hyper::body::Frame::trailers({
                let mut t = hyper::HeaderMap::new();
                t.insert("x-sum", "1234".parse().unwrap());
                t
            })])
            .collect();
        let req = hyper::Request::post("/upload")
            .header("host", "x")
            .header("trailer", "x-sum")
            .body(client::Frames {
                frames,
                pending: false,
            })
            .unwrap();
        let r = send(addr, req).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-sum"], "1234", "the trailer was kept");
        let gz = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(gunzip(&gz), upload);

        // Streamed back as it comes.
        let req = hyper::Request::post("/echo-gzip")
            .header("host", "x")
            .body(http_body_util::Full::new(bytes::Bytes::from(
                upload.clone(),
            )))
            .unwrap();
        let r = send(addr, req).await;
        assert_eq!(r.headers()["transfer-encoding"], "chunked");
        let gz = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(gunzip(&gz), upload);
    });
}

#[test]
fn an_upload_over_the_cap_is_answered_413() {
    let (path, _) = text_file("upload-cap.txt");
    let big = vec![b'u'; client::CAP as usize + 1];
    runtime().block_on(async {
        let addr = serve(path.clone()).await;

        // A declared length over the cap.
        let req = hyper::Request::post("/upload")
            .header("host", "x")
            .body(http_body_util::Full::new(bytes::Bytes::from(big.clone())))
            .unwrap();
        let r = send(addr, req).await;
        assert_eq!(r.status(), 413);
        let msg = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            msg,
            format!(
                "body of at least {} bytes is over the cap of {} bytes",
                big.len(),
                client::CAP
            )
        );

        // Chunked: found out when a frame crosses the cap.
        let frames = big
            .chunks(10_000)
            .map(|c| hyper::body::Frame::data(bytes::Bytes::copy_from_slice(c)))
            .collect();
        let req = hyper::Request::post("/upload")
            .header("host", "x")
            .body(client::Frames {
                frames,
                pending: false,
            })
            .unwrap();
        let r = send(addr, req).await;
        assert_eq!(r.status(), 413);
    });
}
