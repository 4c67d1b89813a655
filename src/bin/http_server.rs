// An HTTP/1.1 file server on the reactor (Medusa's http_server done right).
//
//     cargo run --release --bin http_server -- --root DIR --addr 127.0.0.1:8080
//     cargo run --release --bin http_server -- --threads 2      # one loop per core
//     cargo run --bin http_server -- --addr 127.0.0.1:0 --exit-after 5
//
// A binary target, not an example: `cargo run --bin` builds only the
// library's dependencies, where an example would build every
// dev-dependency (criterion, proptest, tokio, hyper, plotters…) first.
// Needs the `http` feature (on by default).
//
// Defaults: the current directory and 127.0.0.1:8080. Prints
// `listening on http://ADDR` once ready; logs one line per request on
// standard error unless `--quiet`. Exits after `--exit-after SECONDS` (a
// graceful shutdown). Try `curl -v --compressed http://127.0.0.1:8080/`.
//
// With `--upload`, a POST of multipart/form-data to a directory stores its
// file parts there (`curl -F file=@big http://127.0.0.1:8080/dir/`): 201
// with the names stored; 409 for an existing name unless `--overwrite`;
// 413 beyond `--max-upload BYTES` (default 1 GiB).

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use producers::http::{
    AccessLogEntry, Coding, DEFAULT_MIN_BODY_RATE, MinDataRate, Server, ServerConfig,
};
use producers::reactor::{Reactor, bind_reuseport};

struct Args {
    root: PathBuf,
    addr: SocketAddr,
    threads: usize,
    quiet: bool,
    exit_after: Option<Duration>,
    header_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    min_body_rate: Option<MinDataRate>,
    revalidate: Duration,
    open_file_cache: usize,
    gzip_cache: usize,
    gzip_static: bool,
    codings: Vec<Coding>,
    max_heavy_encoders: usize,
    show_hidden: bool,
    upload: bool,
    overwrite: bool,
    max_upload: u64,
}

const USAGE: &str = "usage: http_server [--root DIR] [--addr HOST:PORT] [--threads N] [--quiet] \
[--header-timeout SECONDS] [--idle-timeout SECONDS] [--min-body-rate BYTES_PER_SECOND] \
[--revalidate SECONDS] [--open-file-cache ENTRIES] [--gzip-cache BYTES] [--no-gzip-static] \
[--codings zstd,br,gzip] [--max-heavy-encoders N] \
[--show-hidden] [--upload] [--overwrite] [--max-upload BYTES] \
[--exit-after SECONDS]";

fn secs(name: &str, v: String) -> Result<Option<Duration>, String> {
    let s: f64 = v.parse().map_err(|e| format!("{name}: {e}"))?;
    Ok((s > 0.0).then(|| Duration::from_secs_f64(s)))
}

fn parse_args() -> Result<Args, String> {
    let defaults = ServerConfig::new(".");
    let mut args = Args {
        root: PathBuf::from("."),
        addr: "127.0.0.1:8080".parse().unwrap(),
        threads: 1,
        quiet: false,
        exit_after: None,
        header_timeout: defaults.header_timeout,
        idle_timeout: defaults.idle_timeout,
        min_body_rate: defaults.min_body_rate,
        revalidate: defaults.revalidate,
        open_file_cache: defaults.open_file_cache_entries,
        gzip_cache: defaults.gzip_cache_bytes,
        gzip_static: defaults.gzip_static,
        codings: defaults.codings.clone(),
        max_heavy_encoders: defaults.max_heavy_encoders,
        show_hidden: defaults.show_hidden,
        upload: false,
        overwrite: false,
        max_upload: defaults.max_upload,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--root" => args.root = PathBuf::from(value("--root")?),
            "--addr" => {
                args.addr = value("--addr")?
                    .parse()
                    .map_err(|e| format!("--addr: {e}"))?
            }
            "--threads" => {
                args.threads = value("--threads")?
                    .parse()
                    .map_err(|e| format!("--threads: {e}"))?
            }
            "--quiet" => args.quiet = true,
            "--exit-after" => args.exit_after = secs("--exit-after", value("--exit-after")?)?,
            "--header-timeout" => {
                args.header_timeout = secs("--header-timeout", value("--header-timeout")?)?
            }
            "--idle-timeout" => {
                args.idle_timeout = secs("--idle-timeout", value("--idle-timeout")?)?
            }
            "--min-body-rate" => {
                let rate: u32 = value("--min-body-rate")?
                    .parse()
                    .map_err(|e| format!("--min-body-rate: {e}"))?;
                args.min_body_rate = (rate > 0).then_some(MinDataRate {
                    bytes_per_second: rate,
                    ..DEFAULT_MIN_BODY_RATE
                });
            }
            // 0: check every file at every request.
            "--revalidate" => {
                args.revalidate =
                    secs("--revalidate", value("--revalidate")?)?.unwrap_or(Duration::ZERO)
            }
            // 0: no open-file cache.
            "--open-file-cache" => {
                args.open_file_cache = value("--open-file-cache")?
                    .parse()
                    .map_err(|e| format!("--open-file-cache: {e}"))?
            }
            // 0: no cache of compressed variants.
            "--gzip-cache" => {
                args.gzip_cache = value("--gzip-cache")?
                    .parse()
                    .map_err(|e| format!("--gzip-cache: {e}"))?
            }
            "--no-gzip-static" => args.gzip_static = false,
            // The codings offered, the preferred first; empty: none.
            "--codings" => {
                args.codings = value("--codings")?
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(|t| Coding::from_token(t).ok_or(format!("--codings: {t} not compiled in")))
                    .collect::<Result<_, _>>()?
            }
            // Most br and zstd encoders at once; past it, gzip.
            "--max-heavy-encoders" => {
                args.max_heavy_encoders = value("--max-heavy-encoders")?
                    .parse()
                    .map_err(|e| format!("--max-heavy-encoders: {e}"))?
            }
            // Listings show dotfiles.
            "--show-hidden" => args.show_hidden = true,
            "--upload" => args.upload = true,
            "--overwrite" => args.overwrite = true,
            "--max-upload" => {
                args.max_upload = value("--max-upload")?
                    .parse()
                    .map_err(|e| format!("--max-upload: {e}"))?
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0)
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// One access-log line: `METHOD TARGET STATUS BYTES ELAPSED` and the
/// error in parentheses, or `- - 408 0 (read timeout)`.
fn log_line(e: &AccessLogEntry<'_>) -> String {
    let mut line = format!("{} {} {} {}", e.method, e.target, e.status.code(), e.bytes);
    if let Some(t) = e.elapsed {
        line += &format!(" {:.3}ms", t.as_secs_f64() * 1e3);
    }
    if let Some(err) = e.error {
        line += &format!(" ({err})");
    } else if e.read_timeout {
        line += " (read timeout)";
    }
    line
}

fn main() -> io::Result<()> {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("http_server: {e}\n{USAGE}");
        std::process::exit(2)
    });
    let mut config = ServerConfig::new(&args.root)
        .header_timeout(args.header_timeout)
        .idle_timeout(args.idle_timeout)
        .min_body_rate(args.min_body_rate)
        .revalidate(args.revalidate)
        .gzip_static(args.gzip_static)
        .codings(args.codings)
        .max_heavy_encoders(args.max_heavy_encoders)
        .show_hidden(args.show_hidden)
        .upload(args.upload)
        .overwrite(args.overwrite)
        .max_upload(args.max_upload);
    let (bytes, file_max) = (config.open_file_cache_bytes, config.cached_file_max);
    config = config.open_file_cache(args.open_file_cache, bytes, file_max);
    let file_max = config.gzip_cache_max_file;
    config = config.gzip_cache(args.gzip_cache, file_max);
    if !args.quiet {
        config = config.access_log(|e| eprintln!("{}", log_line(e)));
    }
    let server = Server::new(config)?;

    // The first listener picks the port; the others share it.
    let first = bind_reuseport(args.addr, 1024)?;
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..args.threads.max(1) {
        listeners.push(bind_reuseport(addr, 1024)?);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let n = listeners.len();
    let threads: Vec<_> = listeners
        .into_iter()
        .map(|l| {
            let (tx, server) = (tx.clone(), server.clone());
            std::thread::spawn(move || -> io::Result<()> {
                let mut reactor = Reactor::new()?;
                server.listen(&mut reactor, l)?;
                tx.send(reactor.handle()).expect("main waits");
                reactor.run()
            })
        })
        .collect();
    drop(tx);
    let handles: Vec<_> = rx.iter().take(n).collect();
    println!("listening on http://{addr}");
    io::stdout().flush()?;

    if let Some(d) = args.exit_after {
        std::thread::spawn(move || {
            std::thread::sleep(d);
            for h in &handles {
                h.shutdown(Duration::from_secs(1));
            }
        });
    }
    for t in threads {
        t.join().expect("reactor thread")?;
    }
    Ok(())
}
