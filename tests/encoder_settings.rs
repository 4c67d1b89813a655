//! The zstd settings of the file server's encoder (issue 11's
//! per-connection budget, issue 15 part 4): a 1 MiB window (log 20) and
//! the file's size as a hint shrink the encoder's workspace
//! (`ZSTD_sizeof_CCtx`: libzstd allocates through C's `malloc`, out of a
//! Rust allocator's sight) and cost under 1% of size on text. Figures are
//! printed (`--nocapture`).
#![cfg(feature = "zstd")]

use producers::codec::zstd;

/// This crate's Rust sources, concatenated: text as a server sends it.
fn sources() -> Vec<u8> {
    fn walk(dir: &std::path::Path, out: &mut Vec<u8>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.extend_from_slice(&std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut out,
    );
    out
}

/// Compresses `input` in 32 KiB pieces as the server does, returning the
/// compressed length; the engine is made inside, so its memory counts.
fn zstd_len(make: impl FnOnce() -> zstd::Compressor, input: &[u8]) -> usize {
    let mut enc = make();
    let mut out = Vec::with_capacity(input.len() / 2 + 1024);
    for piece in input.chunks(32 << 10) {
        let mut rest = piece;
        while !rest.is_empty() {
            if out.capacity() - out.len() < 1024 {
                out.reserve(64 << 10);
            }
            rest = &rest[enc.compress(rest, &mut out)..];
        }
    }
    while !enc.finish(&mut out) {
        out.reserve(64 << 10);
    }
    out.len()
}

/// zstd at level 3 on text, whole and in small files: the server's
/// window and size hint against zstd's defaults.
#[test]
fn zstd_window_cap_and_size_hint_cost_under_1_percent_on_text() {
    let src = sources();
    for n in [4 << 10, 16 << 10, 64 << 10, 256 << 10, src.len()] {
        let input = &src[..n];
        let default_len = zstd_len(|| zstd::Compressor::new(3), input);
        let server_len = zstd_len(
            || {
                let mut e = zstd::Compressor::with_window_log(3, 20);
                e.set_size_hint(n as u64);
                e
            },
            input,
        );
        let ratio = server_len as f64 / default_len as f64;
        eprintln!(
            "zstd 3, {n} B of sources: default {default_len} B, window 20 + hint {server_len} B (x{ratio:.4})"
        );
        assert!(ratio < 1.01, "{n} B: x{ratio}");
    }
}

/// The workspace libzstd allocated for level 3 after the first 32 KiB of
/// an input of `n` bytes, with `params` set.
fn workspace(n: usize, params: &[::zstd::zstd_safe::CParameter]) -> usize {
    use ::zstd::zstd_safe::{CCtx, CParameter, InBuffer, OutBuffer, zstd_sys::ZSTD_EndDirective};
    let mut cctx = CCtx::create();
    cctx.set_parameter(CParameter::CompressionLevel(3)).unwrap();
    for p in params {
        cctx.set_parameter(*p).unwrap();
    }
    let input = sources();
    let mut out = vec![0u8; 64 << 10];
    let mut src = InBuffer::around(&input[..n.min(32 << 10)]);
    let mut dst = OutBuffer::around(&mut out[..]);
    cctx.compress_stream2(&mut dst, &mut src, ZSTD_EndDirective::ZSTD_e_continue)
        .unwrap();
    cctx.sizeof()
}

/// The server's settings (the window log 20 and the size hint
/// `Compressor::size_hint` sets) against level 3's defaults: a small
/// file's encoder some 10 times smaller, a large one's smaller too.
#[test]
fn zstd_window_cap_and_size_hint_shrink_the_workspace() {
    use ::zstd::zstd_safe::CParameter;
    for n in [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1_200_000] {
        let default = workspace(n, &[]);
        let server = workspace(
            n,
            &[CParameter::WindowLog(20), CParameter::SrcSizeHint(n as u32)],
        );
        eprintln!(
            "zstd 3, {n} B: workspace {} KiB by default, {} KiB with window 20 + hint",
            default >> 10,
            server >> 10
        );
        assert!(server < default, "{n} B");
        if n <= 16 << 10 {
            assert!(server * 8 < default, "{n} B");
        }
    }
}
