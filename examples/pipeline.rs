//! Composes a producer pipeline and prints what it produced.
//!
//! Run: `cargo run --example pipeline -- [FILE]` (default: this crate's
//! README.md). Writes an HTTP-style response to standard output — header
//! lines, then the file in 4 KiB blocks globbed into 16 KiB writes — and each
//! stage's counters to standard error. Exits when the pipeline has ended.

use std::io::{self, Write};
use std::path::PathBuf;

use producers::{Producer, ProducerExt, file, from_bytes, produce::LinesProducer};

fn main() -> io::Result<()> {
    let path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"));

    let body = file(&path)?.block_size(4096);
    let len = body.exact_len().expect("a file promises its length");
    let head = LinesProducer::new([
        "HTTP/1.1 200 OK".to_string(),
        format!("Content-Length: {len}"),
        "Content-Type: text/plain".to_string(),
        String::new(),
    ]);

    let mut sent = 0;
    let pipeline = head.then(body).then(from_bytes("")).glob(16 << 10);
    let mut pipeline = pipeline.hooked(|n, err| {
        sent = n;
        if let Some(e) = err {
            eprintln!("pipeline failed after {n} bytes: {e}");
        }
    });

    let stdout = io::stdout();
    let mut out = stdout.lock();
    let written = producers::io::copy(&mut pipeline, &mut out)?;
    out.flush()?;
    let stats = [
        ("glob", pipeline.get_ref().counters()),
        ("head+body", pipeline.get_ref().get_ref().counters()),
        ("hooked", pipeline.counters()),
    ];
    drop(pipeline);
    eprintln!("\n--- {written} bytes written ({sent} reported by the hook)");
    for (stage, c) in stats {
        let c = c.unwrap_or_default();
        eprintln!(
            "{stage:>10}: {} calls, {} chunks, {} bytes, {} pendings, {} bytes/chunk",
            c.calls,
            c.chunks,
            c.bytes,
            c.pendings,
            c.mean_chunk()
        );
    }
    Ok(())
}
