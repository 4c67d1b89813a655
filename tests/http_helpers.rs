//! The HTTP helpers over the `http` crate's types, as a hyper or axum
//! handler uses them: `HeaderMap` and `Method` in, an `Answer` out, with no
//! reactor and no gzip (this file needs only the `http-body` feature, and
//! runs under `cargo test --no-default-features --features http-body`).

use std::path::PathBuf;

use http::{HeaderMap, HeaderValue, Method};
use producers::http::{
    Answer, ByteRange, ByteRanges, HttpError, MultipartRanges, RangeError, RangeLimits,
    Representation, Root, RootError, UrlPath, Validators, answer, negotiate_encoding,
    unsatisfied_range,
};

fn headers(fields: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in fields {
        h.append(*name, HeaderValue::from_str(value).unwrap());
    }
    h
}

const ETAG: &str = "\"v1\"";
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
const LM: u64 = 784_111_777;
const AT: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
const BEFORE: &str = "Sun, 06 Nov 1994 08:49:36 GMT";

fn rep(len: u64) -> Representation<'static> {
    Representation {
        etag: Some(ETAG),
        last_modified: Some(LM),
        len: Some(len),
    }
}

fn decide(method: Method, fields: &[(&'static str, &str)]) -> Answer {
    answer(
        &method,
        &headers(fields),
        &rep(8000),
        &RangeLimits::default(),
    )
}

fn ranges(parts: &[(u64, u64)]) -> Vec<ByteRange> {
    parts
        .iter()
        .map(|&(start, len)| ByteRange { start, len })
        .collect()
}

#[test]
fn conditionals_over_a_header_map() {
    // RFC 9110 section 13.2.2's order, with the `http` crate's types.
    use Answer::*;
    assert_eq!(decide(Method::GET, &[]), Full);
    assert_eq!(decide(Method::GET, &[("if-none-match", ETAG)]), NotModified);
    assert_eq!(decide(Method::HEAD, &[("if-none-match", "*")]), NotModified);
    assert_eq!(
        decide(Method::POST, &[("if-none-match", ETAG)]),
        PreconditionFailed
    );
    assert_eq!(
        decide(
            Method::GET,
            &[("if-match", "\"x\""), ("if-none-match", ETAG)]
        ),
        PreconditionFailed
    );
    assert_eq!(
        decide(Method::GET, &[("if-unmodified-since", BEFORE)]),
        PreconditionFailed
    );
    assert_eq!(
        decide(
            Method::GET,
            &[("if-match", ETAG), ("if-unmodified-since", BEFORE)]
        ),
        Full
    );
    assert_eq!(
        decide(Method::GET, &[("if-modified-since", AT)]),
        NotModified
    );
    assert_eq!(decide(Method::PUT, &[("if-modified-since", AT)]), Full);
    assert_eq!(
        decide(
            Method::GET,
            &[("if-none-match", "\"x\""), ("if-modified-since", AT)]
        ),
        Full
    );
    // Repeated lines are one list.
    assert_eq!(
        decide(Method::GET, &[("if-match", "\"x\""), ("if-match", ETAG)]),
        Full
    );
}

#[test]
fn ranges_over_a_header_map() {
    use Answer::*;
    let partial = |fields: &[(&'static str, &str)]| match decide(Method::GET, fields) {
        Partial(r) => r.as_slice().to_vec(),
        other => panic!("{fields:?}: {other:?}"),
    };
    // RFC 9110 section 14.1.2's examples, of 8000 bytes.
    assert_eq!(partial(&[("range", "bytes=0-499")]), ranges(&[(0, 500)]));
    assert_eq!(partial(&[("range", "bytes=-500")]), ranges(&[(7500, 500)]));
    assert_eq!(partial(&[("range", "bytes=7500-")]), ranges(&[(7500, 500)]));
    assert_eq!(
        partial(&[("range", "bytes=0-1,5-9,-3")]),
        ranges(&[(0, 2), (5, 5), (7997, 3)])
    );
    assert_eq!(
        partial(&[("range", "bytes=500-700,601-999")]),
        ranges(&[(500, 500)])
    );
    assert_eq!(
        decide(Method::GET, &[("range", "bytes=8000-")]),
        RangeNotSatisfiable { len: 8000 }
    );
    assert_eq!(unsatisfied_range(8000), "bytes */8000");
    for ignored in ["bytes=5-2", "lines=1-2", "bytes=0-,0-", "bytes=x"] {
        assert_eq!(
            decide(Method::GET, &[("range", ignored)]),
            Full,
            "{ignored}"
        );
    }
    assert_eq!(decide(Method::HEAD, &[("range", "bytes=0-1")]), Full);
    // If-Range.
    assert_eq!(
        partial(&[("range", "bytes=0-1"), ("if-range", ETAG)]),
        ranges(&[(0, 2)])
    );
    assert_eq!(
        partial(&[("range", "bytes=0-1"), ("if-range", AT)]),
        ranges(&[(0, 2)])
    );
    assert_eq!(
        decide(
            Method::GET,
            &[("range", "bytes=0-1"), ("if-range", "W/\"v1\"")]
        ),
        Full
    );
    assert_eq!(
        decide(Method::GET, &[("range", "bytes=0-1"), ("if-range", BEFORE)]),
        Full
    );
    // No length (a coding made on the fly): no ranges.
    let unknown = Representation {
        len: None,
        ..rep(0)
    };
    assert_eq!(
        answer(
            &Method::GET,
            &headers(&[("range", "bytes=0-1")]),
            &unknown,
            &RangeLimits::default()
        ),
        Full
    );
    // The cap, with its own error.
    let limits = RangeLimits { max_ranges: 2 };
    assert_eq!(
        ByteRanges::parse(b"bytes=0-0,2-2,4-4", 10, &limits),
        Err(RangeError::TooMany { limit: 2 })
    );
    assert_eq!(
        answer(
            &Method::GET,
            &headers(&[("range", "bytes=0-0,2-2,4-4")]),
            &rep(10),
            &limits
        ),
        Full
    );
}

#[test]
fn a_multipart_body_for_several_ranges() {
    let data: Vec<u8> = (0..100u8).collect();
    let Answer::Partial(r) = answer(
        &Method::GET,
        &headers(&[("range", "bytes=0-1,-2")]),
        &rep(100),
        &RangeLimits::default(),
    ) else {
        panic!()
    };
    let m = MultipartRanges::with_boundary(&r, "application/octet-stream", "B").unwrap();
    let body = m.to_bytes(&data);
    assert_eq!(body.len() as u64, m.content_length());
    let want: Vec<u8> = [
        &b"--B\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-1/100\r\n\r\n"[..],
        &[0, 1],
        b"\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 98-99/100\r\n\r\n",
        &[98, 99],
        b"\r\n--B--\r\n",
    ]
    .concat();
    assert_eq!(&body[..], &want[..]);
    assert_eq!(m.content_type(), "multipart/byteranges; boundary=B");
}

#[test]
fn encodings_over_a_header_map() {
    let offered = ["gzip", "identity"];
    let pick = |v: &str| negotiate_encoding(&headers(&[("accept-encoding", v)]), &offered);
    assert_eq!(
        negotiate_encoding(&HeaderMap::new(), &offered),
        Some("identity")
    );
    assert_eq!(pick("gzip"), Some("gzip"));
    assert_eq!(pick("gzip;q=0"), Some("identity"));
    assert_eq!(pick("identity;q=0, gzip"), Some("gzip"));
    assert_eq!(
        pick("*;q=0"),
        None,
        "406, or identity at the caller's choice"
    );
    assert_eq!(pick("identity;q=0"), None);
    assert_eq!(pick("br;q=0.9, gzip;q=0.8, *;q=0"), Some("gzip"));
    assert_eq!(
        negotiate_encoding(
            &headers(&[("accept-encoding", "gzip, br")]),
            &["br", "gzip"]
        ),
        Some("br"),
        "ties go to the server's order"
    );
}

#[test]
fn request_parts_are_a_header_source() {
    let (parts, ()) = http::Request::builder()
        .method(Method::GET)
        .uri("/f")
        .header("range", "bytes=0-0")
        .body(())
        .unwrap()
        .into_parts();
    assert!(matches!(
        answer(&parts.method, &parts, &rep(5), &RangeLimits::default()),
        Answer::Partial(_)
    ));
}

#[test]
fn validators_of_a_file() {
    let v = Validators::new(8000, u128::from(LM) * 1_000_000_000);
    let etag = v.etag(false);
    let rep = Representation {
        etag: Some(&etag),
        last_modified: Some(v.last_modified),
        len: Some(8000),
    };
    assert_eq!(v.last_modified_date(), AT);
    assert_eq!(
        answer(
            &Method::GET,
            &headers(&[("if-none-match", &etag)]),
            &rep,
            &RangeLimits::default()
        ),
        Answer::NotModified
    );
}

fn tree(name: &str) -> PathBuf {
    let base =
        std::env::temp_dir().join(format!("producers-helpers-{name}-{}", std::process::id()));
    std::fs::create_dir_all(base.join("site/docs")).unwrap();
    std::fs::write(base.join("site/docs/100%.txt"), b"percent").unwrap();
    std::fs::write(base.join("site/docs/100%25.txt"), b"literal").unwrap();
    base
}

#[test]
fn decoded_paths_under_a_root() {
    // axum hands the handler `Path<String>` already decoded: `100%25.txt`
    // names a file called exactly that; a raw target is decoded once.
    let base = tree("decoded");
    let root = Root::new(base.join("site")).unwrap();
    let read = |p: UrlPath| std::fs::read(root.resolve(&p).unwrap()).unwrap();
    assert_eq!(
        read(UrlPath::from_decoded("docs/100%25.txt").unwrap()),
        b"literal"
    );
    assert_eq!(
        read(UrlPath::from_decoded("/docs/100%.txt").unwrap()),
        b"percent"
    );
    assert_eq!(
        read(UrlPath::from_target(b"/docs/100%25.txt").unwrap()),
        b"percent"
    );
    for bad in ["../site/docs/100%.txt", "docs/../../x", "a\0b", "..\\x"] {
        assert!(
            matches!(UrlPath::from_decoded(bad), Err(HttpError::BadPath { .. })),
            "{bad:?}"
        );
    }
    assert_eq!(
        root.resolve(&UrlPath::from_decoded("docs/none").unwrap()),
        Err(HttpError::NotFound)
    );
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn roots_are_canonical_or_refused() {
    let base = tree("roots");
    let want = std::fs::canonicalize(base.join("site/docs/100%.txt")).unwrap();
    let p = UrlPath::from_decoded("docs/100%.txt").unwrap();
    let mut given = vec![base.join("site/./docs/.."), base.join("site/../site")];
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(base.join("site"), base.join("link")).unwrap();
        given.push(base.join("link"));
    }
    for g in given {
        let root = Root::new(&g).unwrap();
        assert_eq!(root.resolve(&p).as_ref(), Ok(&want), "{}", g.display());
    }
    let e = Root::new(base.join("nope")).unwrap_err();
    assert!(matches!(e, RootError::Unresolved { .. }));
    assert!(e.to_string().contains("does not resolve"), "{e}");
    let e = Root::new(base.join("site/docs/100%.txt")).unwrap_err();
    assert!(e.to_string().contains("not a directory"), "{e}");
    std::fs::remove_dir_all(&base).unwrap();
}
