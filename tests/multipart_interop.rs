//! `multipart/form-data` against Python's `email` package: random forms are
//! written by Python's generator (`email.mime.multipart`, with RFC 2231
//! `name*`/`filename*` for non-ASCII names, backslash-escaped quotes), and
//! read by both Python's parser and `MultipartParser`, fed in random
//! pieces; both must read the same parts, and the parts sent when Python
//! kept their bytes (its generator rewrites bare CR and LF as CRLF).
//!
//! python3 must be installed (CI installs it); without it the test fails
//! saying so.

use std::io::Write;
use std::process::{Command, Stdio};

use bytes::BytesMut;
use producers::consume::{Boundary, MultipartLimits, MultipartParser, PartEvent};
use proptest::prelude::*;

/// Reads the form description on stdin (hex fields), writes the body with
/// `email`, reads it back with `email`, and prints both.
const PY: &str = r#"
import sys, io, email.policy
from email.message import Message
from email.generator import BytesGenerator
from email.mime.multipart import MIMEMultipart
from email.parser import BytesParser
h = lambda s: None if s == '-' else bytes.fromhex(s)
lines = sys.stdin.read().split('\n')
outer = MIMEMultipart('form-data', boundary=h(lines[0].split(' ')[1]).decode())
pre, epi = h(lines[1].split(' ')[1]), h(lines[2].split(' ')[1])
outer.preamble = None if pre is None else pre.decode()
outer.epilogue = None if epi is None else epi.decode()
for line in lines[3:]:
    if not line:
        continue
    _, name, filename, ctype, data = line.split(' ')
    part = Message()
    params = {'name': h(name).decode()}
    if h(filename) is not None:
        params['filename'] = h(filename).decode()
    part.add_header('Content-Disposition', 'form-data', **params)
    if h(ctype) is not None:
        part['Content-Type'] = h(ctype).decode()
    part['Content-Transfer-Encoding'] = '8bit'
    part.set_payload(bytes.fromhex(data).decode('ascii', 'surrogateescape'))
    outer.attach(part)
out = io.BytesIO()
BytesGenerator(out, policy=email.policy.HTTP, mangle_from_=False).flatten(outer)
whole = out.getvalue()
body = whole[whole.index(b'\r\n\r\n') + 4:]
print('body', body.hex())
msg = BytesParser(policy=email.policy.HTTP).parsebytes(whole)
x = lambda s: '-' if s is None else s.encode().hex()
for p in msg.iter_parts():
    name = p.get_param('name', header='content-disposition')
    print('part', x(name), x(p.get_filename()), p.get_payload(decode=True).hex())
"#;

/// A form part: name, filename, content type, data.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn opt(s: &Option<String>) -> String {
    s.as_ref().map_or("-".into(), |s| hex(s.as_bytes()))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A part as Python read it: name, filename, data.
type Read = (String, Option<String>, Vec<u8>);

/// Python writes the body; returns it and Python's reading (name,
/// filename, data).
fn python(
    boundary: &str,
    pre: &Option<String>,
    epi: &Option<String>,
    parts: &[Part],
) -> (Vec<u8>, Vec<Read>) {
    let mut input = format!(
        "boundary {}\npreamble {}\nepilogue {}\n",
        hex(boundary.as_bytes()),
        opt(pre),
        opt(epi)
    );
    for p in parts {
        // An empty field stays a field: they are separated by single spaces.
        input += &format!(
            "part {} {} {} {}\n",
            hex(p.name.as_bytes()),
            opt(&p.filename),
            opt(&p.content_type),
            hex(&p.data)
        );
    }
    let mut child = Command::new("python3")
        .args(["-c", PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("this test needs python3 on the PATH (CI installs it): {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python failed on {input}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut body = Vec::new();
    let mut parsed = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f[0] {
            "body" => body = unhex(f[1]),
            "part" => parsed.push((
                String::from_utf8(unhex(f[1])).unwrap(),
                (f[2] != "-").then(|| String::from_utf8(unhex(f[2])).unwrap()),
                unhex(f[3]),
            )),
            _ => panic!("{line}"),
        }
    }
    (body, parsed)
}

/// Our reading of `body`, fed in pieces cut at `cuts`.
fn ours(boundary: &str, body: &[u8], cuts: &[usize]) -> Vec<Part> {
    let b = Boundary::new(boundary).unwrap();
    let mut p = MultipartParser::new(&b, MultipartLimits::default());
    let mut parts: Vec<Part> = Vec::new();
    let mut on = |e: PartEvent| match e {
        PartEvent::Start(h) => parts.push(Part {
            name: h.name().into(),
            filename: h.filename().map(Into::into),
            content_type: h.content_type().map(Into::into),
            data: Vec::new(),
        }),
        PartEvent::Data(d) => parts.last_mut().unwrap().data.extend_from_slice(&d),
        PartEvent::End => {}
    };
    let mut buf = BytesMut::new();
    let mut from = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c % (body.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(body.len());
    for cut in cuts {
        buf.extend_from_slice(&body[from..cut]);
        from = cut;
        while let Some(e) = p.decode(&mut buf).unwrap() {
            on(e);
        }
    }
    while let Some(e) = p.decode_eof(&mut buf).unwrap() {
        on(e);
    }
    parts
}

fn text() -> impl Strategy<Value = String> {
    // Printable, quotes and backslashes, non-ASCII (RFC 2231 in Python);
    // not beginning or ending with a space, which Python's `get_filename`
    // strips.
    proptest::string::string_regex(
        "[a-zA-Z0-9_.\"\\\\é€中-]([a-zA-Z0-9 _.\"\\\\é€中-]{0,10}[a-zA-Z0-9_.\"\\\\é€中-])?",
    )
    .unwrap()
}

fn part() -> impl Strategy<Value = Part> {
    (
        text(),
        proptest::option::of(text()),
        proptest::option::of(proptest::sample::select(vec![
            "text/plain".to_string(),
            "application/octet-stream".to_string(),
            "image/png".to_string(),
        ])),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(name, filename, content_type, data)| Part {
            name,
            filename,
            content_type,
            data,
        })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn python_written_forms_read_the_same(
        boundary in proptest::string::string_regex("[A-Za-z0-9'()+_,./:=?-][A-Za-z0-9'()+_,./:=? -]{6,40}[A-Za-z0-9]").unwrap(),
        preamble in proptest::option::of("[a-z \r\n]{0,40}"),
        epilogue in proptest::option::of("[a-z \r\n-]{0,40}"),
        parts in proptest::collection::vec(part(), 1..5),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let dash = format!("--{boundary}");
        // The boundary must not occur in what it separates (RFC 2046).
        prop_assume!(parts.iter().all(|p| !contains(&p.data, dash.as_bytes())));
        prop_assume!(preamble.iter().chain(&epilogue).all(|s| !s.contains(&dash)));
        let (body, theirs) = python(&boundary, &preamble, &epilogue, &parts);
        let got = ours(&boundary, &body, &cuts);
        // The same reading as Python's parser. Except for names with a
        // quote or a backslash, which Python misreads in its own output
        // (`name="\\"` and `name*=utf-8''%5C` as escaping what follows,
        // `filename="\"\""` unquoted twice, to nothing): those are
        // checked against the names sent, below.
        prop_assert_eq!(got.len(), theirs.len());
        for (g, t) in got.iter().zip(&theirs) {
            prop_assert_eq!(&g.data, &t.2);
            let misread = |s: &str| s.contains('\\') || s.contains('"');
            if !misread(&g.name) && !g.filename.as_deref().is_some_and(misread) {
                prop_assert_eq!(&g.name, &t.0);
                prop_assert_eq!(&g.filename, &t.1);
            }
        }
        // And the parts sent, where Python kept their bytes.
        prop_assert_eq!(got.len(), parts.len());
        for (g, p) in got.iter().zip(&parts) {
            prop_assert_eq!(&g.name, &p.name);
            prop_assert_eq!(&g.filename, &p.filename);
            prop_assert_eq!(&g.content_type, &p.content_type);
            if !p.data.contains(&b'\r') && !p.data.contains(&b'\n') {
                prop_assert_eq!(&g.data, &p.data);
            }
        }
    }
}
