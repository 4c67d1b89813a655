// A file sender on tokio: one line naming a file in, the file out with
// `sendfile` (the `producers::tokio::Driver`), then close.
//
//     cargo run --example tokio_sendfile --features tokio -- --root DIR --addr 127.0.0.1:8090 --exit-after 60
//     printf 'some/file.txt\n' | nc 127.0.0.1 8090 > copy.txt
//
// The line is a path relative to the root; absolute paths and `..` are
// refused (the reply is then `error: …` and the connection closes). Prints
// `listening on http://ADDR` once ready; `--exit-after SECONDS` stops it,
// and on exit it prints `sendfile_bytes=N copied_bytes=M` on standard error:
// what went out zero-copy and what had to be copied.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use producers::tokio::Driver;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The longest request line.
const MAX_LINE: u64 = 4096;

#[derive(Default)]
struct Totals {
    sendfile: AtomicU64,
    copied: AtomicU64,
}

/// The file under `root` that `line` names, or why not.
fn resolve(root: &Path, line: &str) -> Result<PathBuf, &'static str> {
    let rel = Path::new(line.trim_end_matches(['\r', '\n']));
    if rel.as_os_str().is_empty() {
        return Err("empty path");
    }
    if !rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err("only relative paths without `..`");
    }
    Ok(root.join(rel))
}

async fn serve(mut stream: TcpStream, root: Arc<PathBuf>, totals: Arc<Totals>) -> io::Result<()> {
    let mut line = String::new();
    BufReader::new((&mut stream).take(MAX_LINE))
        .read_line(&mut line)
        .await?;
    let path = match resolve(&root, &line) {
        Ok(p) => p,
        Err(why) => return stream.write_all(format!("error: {why}\n").as_bytes()).await,
    };
    // Opening (and `stat`) may wait for the disk: not on the worker.
    let opened = tokio::task::spawn_blocking(move || producers::file(path)).await?;
    let file = match opened {
        Ok(f) => f.regions(),
        Err(e) => return stream.write_all(format!("error: {e}\n").as_bytes()).await,
    };
    let mut driver = Driver::new(file);
    let r = driver.drive(&mut stream).await;
    let sent = driver.sent();
    totals
        .sendfile
        .fetch_add(sent.sendfile_bytes, Ordering::Relaxed);
    totals
        .copied
        .fetch_add(sent.copied_bytes, Ordering::Relaxed);
    r?;
    stream.shutdown().await
}

fn main() -> io::Result<()> {
    let mut addr: SocketAddr = "127.0.0.1:8090".parse().unwrap();
    let mut root = PathBuf::from(".");
    let mut exit_after = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().unwrap_or_else(|| {
            eprintln!(
                "usage: tokio_sendfile [--root DIR] [--addr HOST:PORT] [--exit-after SECONDS]"
            );
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
    let root = Arc::new(std::fs::canonicalize(root)?);
    let totals = Arc::new(Totals::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        io::stdout().flush()?;
        let stop = async {
            match exit_after {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(stop);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = accepted?;
                    let (root, totals) = (root.clone(), totals.clone());
                    tokio::spawn(async move {
                        if let Err(e) = serve(stream, root, totals).await {
                            eprintln!("connection: {e}");
                        }
                    });
                }
                () = &mut stop => break,
            }
        }
        Ok::<(), io::Error>(())
    })?;
    // Connections still running are dropped with the runtime.
    drop(rt);
    eprintln!(
        "sendfile_bytes={} copied_bytes={}",
        totals.sendfile.load(Ordering::Relaxed),
        totals.copied.load(Ordering::Relaxed)
    );
    Ok(())
}
