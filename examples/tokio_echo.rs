// A line echo server on tokio: the crate's `FrameDecoder` in `Framed`.
//
//     cargo run --example tokio_echo --features tokio -- --addr 127.0.0.1:7000
//     cargo run --example tokio_echo --features tokio -- --max-line 100 --exit-after 5
//
// Binds `--addr` (default 127.0.0.1:0) and prints `listening on http://ADDR`
// once ready. Every line (`\n` or `\r\n`) comes back with `\n`; a line
// longer than `--max-line` bytes (default 8192) gets `error: …` and the
// connection is closed. Exits after `--exit-after SECONDS` if given.
// `--root DIR` is accepted and ignored (the examples share one command line).
// Try it with `nc 127.0.0.1 PORT`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use producers::tokio::codec::{DecodeError, FrameDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

/// One connection: the glue around the codec.
async fn echo(sock: TcpStream, max_line: usize) -> io::Result<()> {
    let mut lines = Framed::new(BufWriter::new(sock), FrameDecoder::lines(max_line));
    while let Some(line) = lines.next().await {
        match line {
            Ok(line) => {
                lines
                    .get_mut()
                    .write_all(&[&line[..], b"\n"].concat())
                    .await?
            }
            Err(e) => return refuse(lines.into_inner(), e).await,
        }
        // Pipelined lines are answered together: flush once none is left.
        if !lines.read_buffer().contains(&b'\n') {
            lines.get_mut().flush().await?;
        }
    }
    Ok(())
}

/// Answers an over-long line (or a last line without its end) and closes.
async fn refuse(mut sock: BufWriter<TcpStream>, e: DecodeError) -> io::Result<()> {
    sock.write_all(format!("error: {e}\n").as_bytes()).await?;
    sock.shutdown().await?;
    // Take what the peer already sent (up to a MiB): closing with unread
    // input would reset the connection before the peer reads the error.
    tokio::io::copy(&mut sock.take(1 << 20), &mut tokio::io::sink()).await?;
    Ok(())
}

struct Args {
    addr: SocketAddr,
    max_line: usize,
    exit_after: Option<Duration>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:0".parse().unwrap(),
        max_line: 8192,
        exit_after: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--addr" => {
                args.addr = value("--addr")?
                    .parse()
                    .map_err(|e| format!("--addr: {e}"))?
            }
            "--root" => drop(value("--root")?),
            "--max-line" => {
                args.max_line = value("--max-line")?
                    .parse()
                    .map_err(|e| format!("--max-line: {e}"))?
            }
            "--exit-after" => {
                let s: f64 = value("--exit-after")?
                    .parse()
                    .map_err(|e| format!("--exit-after: {e}"))?;
                args.exit_after = Some(Duration::from_secs_f64(s));
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!(
            "tokio_echo: {e}\nusage: tokio_echo [--addr HOST:PORT] [--max-line N] [--exit-after SECONDS] [--root DIR]"
        );
        std::process::exit(2)
    });
    let listener = TcpListener::bind(args.addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    if let Some(d) = args.exit_after {
        std::thread::spawn(move || {
            std::thread::sleep(d);
            std::process::exit(0);
        });
    }
    loop {
        let (sock, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = echo(sock, args.max_line).await {
                eprintln!("tokio_echo: {e}");
            }
        });
    }
}
