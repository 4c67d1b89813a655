//! Runs a reference tool (gzip, brotli, zstd, python3) as a process, for
//! the interop tests (included with `#[path]`).

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `program args` with `input` on stdin and returns its stdout,
/// failing clearly if the program is missing or fails.
#[track_caller]
pub fn run(program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run `{program}` ({e}): the interop tests need gzip, brotli, zstd and python3 on PATH (.ci/run installs them)")
        });
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("waiting for the child");
    writer.join().unwrap().expect("writing the child's stdin");
    assert!(
        out.status.success(),
        "`{program} {args:?}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
