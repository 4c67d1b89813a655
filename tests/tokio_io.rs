//! The tokio adapters against tokio's own I/O: `ProducerReader` read with
//! random buffer sizes, the `Driver` over a duplex (copying) and over
//! loopback TCP (`sendfile`), a file truncated while it is sent, `feed`
//! with lines split at random points and with a consumer that holds, and
//! the `tokio_sendfile` example as a process.

mod util;
use util::example;

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use producers::consume::{ConsumeError, Consumer, Control, Frame, Framing, Lines};
use producers::tokio::{Copying, Driver, InputHeld, ProducerReader, feed};
use producers::{ConsumerFifo, FileProducer, ProducerExt, from_bytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// In `1..=max`.
    fn size(&mut self, max: usize) -> usize {
        1 + (self.next() % max as u64) as usize
    }
}

fn data(n: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    (0..n).map(|_| r.next() as u8).collect()
}

/// A temporary file holding `data`, open for reading and writing, and its
/// path (removed when the returned guard drops).
struct TempFile {
    file: File,
    path: PathBuf,
}

impl TempFile {
    fn new(data: &[u8]) -> TempFile {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "producers-tokio-io-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let mut file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        file.write_all(data).unwrap();
        TempFile { file, path }
    }

    fn producer(&self) -> FileProducer {
        FileProducer::from_file(self.file.try_clone().unwrap()).unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Guards against a hang: a test that would wait forever fails instead.
async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("no progress for 60 s: a hang")
}

/// Memory pieces, a file as regions, a file as blocks, memory again.
fn pipeline(file: &TempFile, head: &[u8]) -> impl producers::Producer + Unpin + use<> {
    from_bytes(head.to_vec())
        .pieces(1000)
        .then(file.producer().regions())
        .then(from_bytes("--"))
        .then(file.producer().block_size(7777))
}

#[test]
fn async_read_round_trips_memory_and_file_pipelines_with_random_buffer_sizes() {
    let rt = runtime();
    let head = data(20_000, 1);
    let body = data(700_000, 2);
    let file = TempFile::new(&body);
    let expected = [&head[..], &body, b"--", &body].concat();
    for seed in 1..=6u64 {
        let mut rng = Rng(seed * 0x9e37_79b9);
        let max = [1, 10, 1000, 70_000, 300_000, 1 << 20][seed as usize - 1];
        let mut r = ProducerReader::new(pipeline(&file, &head));
        let mut out = Vec::new();
        rt.block_on(bounded(async {
            let mut buf = vec![0u8; max];
            loop {
                let n = rng.size(max.min(4096 * (seed as usize)));
                let got = r.read(&mut buf[..n]).await.unwrap();
                if got == 0 {
                    break;
                }
                assert!(got <= n);
                out.extend_from_slice(&buf[..got]);
            }
        }));
        assert!(out == expected, "seed {seed}: {} bytes", out.len());
    }
}

#[test]
fn the_driver_copies_regions_into_a_duplex() {
    let rt = runtime();
    let body = data(3 << 20, 3);
    let file = TempFile::new(&body);
    let expected = [b"head" as &[u8], &body, b"--", &body].concat();
    let (mut near, mut far) = tokio::io::duplex(8192);
    let mut driver = Driver::new(pipeline(&file, b"head"));
    let (written, got) = rt.block_on(bounded(async {
        let send = async {
            let n = driver.drive(&mut Copying::new(&mut near)).await?;
            near.shutdown().await?;
            Ok::<_, io::Error>(n)
        };
        let mut got = Vec::new();
        let (n, _) = tokio::try_join!(send, far.read_to_end(&mut got)).unwrap();
        (n, got)
    }));
    assert_eq!(written, expected.len() as u64);
    assert!(got == expected);
    let sent = driver.sent();
    assert_eq!(sent.bytes, expected.len() as u64);
    assert_eq!(
        sent.copied_bytes,
        body.len() as u64,
        "the region was copied"
    );
    assert_eq!((sent.sendfile_bytes, sent.sendfile_calls), (0, 0));
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (server, client)
}

#[test]
fn the_driver_sends_regions_over_loopback_tcp_with_sendfile() {
    let rt = runtime();
    let body = data(5 << 20, 4);
    let file = TempFile::new(&body);
    let expected = [b"head" as &[u8], &body, b"--", &body].concat();
    let mut driver = Driver::new(pipeline(&file, b"head"));
    let got = rt.block_on(bounded(async {
        let (mut server, mut client) = tcp_pair().await;
        let send = async {
            driver.drive(&mut server).await?;
            server.shutdown().await
        };
        let mut got = Vec::new();
        tokio::try_join!(send, client.read_to_end(&mut got)).unwrap();
        got
    }));
    assert!(got == expected, "{} bytes", got.len());
    let sent = driver.sent();
    assert_eq!(sent.bytes, expected.len() as u64);
    if cfg!(target_os = "linux") {
        assert_eq!(sent.sendfile_bytes, body.len() as u64, "{sent:?}");
        assert!(sent.sendfile_calls >= 1);
        // The blocks mode file was read by its producer, not by the driver.
        assert_eq!(sent.copied_bytes, 0);
    } else {
        assert_eq!(sent.copied_bytes, body.len() as u64, "{sent:?}");
    }
}

#[test]
fn the_driver_sends_through_a_write_half_too() {
    let rt = runtime();
    let body = data(1 << 20, 5);
    let file = TempFile::new(&body);
    let mut driver = Driver::new(file.producer().regions());
    let got = rt.block_on(bounded(async {
        let (server, mut client) = tcp_pair().await;
        let (_read, mut write) = server.into_split();
        let send = async {
            driver.drive(&mut write).await?;
            write.shutdown().await
        };
        let mut got = Vec::new();
        tokio::try_join!(send, client.read_to_end(&mut got)).unwrap();
        got
    }));
    assert!(got == body);
    #[cfg(target_os = "linux")]
    assert_eq!(driver.sent().sendfile_bytes, body.len() as u64);
}

/// Sends a 64 MiB (sparse) file to a client that reads 64 KiB, then
/// truncates the file and lets the client read on: the sender must fail
/// with `UnexpectedEof`, neither hang nor spin, on both paths.
#[test]
fn a_file_truncated_while_it_is_sent_is_an_error_not_a_hang() {
    const LEN: u64 = 64 << 20;
    let rt = runtime();
    for copying in [false, true] {
        let file = TempFile::new(b"");
        file.file.set_len(LEN).unwrap();
        let producer = file.producer().regions();
        assert_eq!(producers::Producer::exact_len(&producer), Some(LEN));
        let mut driver = Driver::new(producer);
        let (r, got) = rt.block_on(bounded(async {
            let (mut server, mut client) = tcp_pair().await;
            let send = async {
                let r = if copying {
                    driver.drive(&mut Copying::new(&mut server)).await
                } else {
                    driver.drive(&mut server).await
                };
                drop(server);
                r
            };
            let receive = async {
                let mut got = vec![0u8; 64 << 10];
                client.read_exact(&mut got).await.unwrap();
                file.file.set_len(0).unwrap();
                let mut rest = Vec::new();
                // The sender's error closes the connection: an end, or a
                // reset if unread bytes were dropped.
                let _ = client.read_to_end(&mut rest).await;
                (got.len() + rest.len()) as u64
            };
            tokio::join!(send, receive)
        }));
        let e = r.unwrap_err();
        assert_eq!(
            e.kind(),
            io::ErrorKind::UnexpectedEof,
            "copying {copying}: {e}"
        );
        assert!(got < LEN, "copying {copying}: got {got}");
        let sent = driver.sent();
        if copying || !cfg!(target_os = "linux") {
            assert_eq!(sent.sendfile_calls, 0);
        } else {
            assert!(sent.sendfile_calls >= 1, "{sent:?}");
        }
    }
}

#[test]
fn a_peer_reset_fails_the_driver() {
    let rt = runtime();
    let file = TempFile::new(b"");
    file.file.set_len(64 << 20).unwrap();
    let mut driver = Driver::new(file.producer().regions());
    let r = rt.block_on(bounded(async {
        let (mut server, client) = tcp_pair().await;
        let send = driver.drive(&mut server);
        let reset = async {
            // Closing a socket with unread bytes in its buffer resets the
            // connection (RFC 2525, 2.17).
            client.readable().await.unwrap();
            drop(client);
        };
        tokio::join!(send, reset).0
    }));
    let e = r.unwrap_err();
    assert!(
        matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        ),
        "{e}"
    );
}

/// A reader that hands out its data in the given sizes, one piece a
/// read, returning `Pending` (and waking at once) before every other
/// piece; it counts the bytes it handed out.
struct Pieces {
    data: Bytes,
    sizes: Vec<usize>,
    pend: bool,
    read: Arc<AtomicUsize>,
}

impl Pieces {
    fn new(data: impl Into<Bytes>, sizes: Vec<usize>) -> Pieces {
        Pieces {
            data: data.into(),
            sizes,
            pend: false,
            read: Arc::default(),
        }
    }
}

impl AsyncRead for Pieces {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.pend = !self.pend;
        if self.pend {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let size = if self.sizes.is_empty() {
            usize::MAX
        } else {
            self.sizes.remove(0)
        };
        let n = size.min(buf.remaining()).min(self.data.len());
        let piece = self.data.split_to(n);
        buf.put_slice(&piece);
        self.read.fetch_add(n, Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}

/// Lines for two consumers: the first takes three lines and is done, the
/// second takes the rest.
fn line_fifo(seen: &Arc<Mutex<Vec<(u8, Bytes)>>>) -> ConsumerFifo {
    let mut fifo = ConsumerFifo::with_budget(64);
    let (a, b) = (seen.clone(), seen.clone());
    let mut count = 0;
    fifo.push(Lines::new("\r\n", move |l, ctl: &mut Control| {
        a.lock().unwrap().push((1, l));
        count += 1;
        if count == 3 {
            ctl.done();
        }
        Ok(())
    }));
    fifo.push(Lines::new("\n", move |l, _: &mut Control| {
        b.lock().unwrap().push((2, l));
        Ok(())
    }));
    fifo
}

fn line_input() -> (Vec<u8>, Vec<(u8, Bytes)>) {
    let mut input = b"HELO a\r\nMAIL b\r\nRCPT c\r\n".to_vec();
    let mut want: Vec<(u8, Bytes)> = ["HELO a", "MAIL b", "RCPT c"]
        .iter()
        .map(|l| (1, Bytes::from(*l)))
        .collect();
    for i in 0..40 {
        let l = format!("line {i} {}", "x".repeat(i));
        input.extend_from_slice(l.as_bytes());
        input.push(b'\n');
        want.push((2, Bytes::from(l)));
    }
    (input, want)
}

#[test]
fn feed_hands_lines_to_consumers_whatever_the_reads_split() {
    let rt = runtime();
    let (input, want) = line_input();
    let run = |sizes: Vec<usize>| {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut fifo = line_fifo(&seen);
        let mut reader = Pieces::new(input.clone(), sizes.clone());
        rt.block_on(bounded(feed(&mut fifo, &mut reader)))
            .unwrap_or_else(|e| panic!("reads of {sizes:?}: {e}"));
        assert!(fifo.is_ended());
        let seen = seen.lock().unwrap();
        assert!(*seen == want, "reads of {sizes:?}: {seen:?}");
    };
    // Split once at every offset …
    for at in 0..=input.len() {
        run(vec![at.max(1), input.len()]);
    }
    // … and at random points.
    let mut rng = Rng(7);
    for _ in 0..200 {
        let mut sizes = Vec::new();
        let mut left = input.len();
        while left > 0 {
            let n = rng.size(40).min(left);
            sizes.push(n);
            left -= n;
        }
        run(sizes);
    }
}

/// A raw consumer that takes everything while its gate is open and holds
/// otherwise.
struct Gate {
    open: Arc<AtomicBool>,
    taken: Arc<AtomicUsize>,
}

impl Consumer for Gate {
    fn framing(&self) -> Framing {
        Framing::Raw
    }
    fn on_frame(&mut self, _: Frame, _: &mut Control) -> Result<(), ConsumeError> {
        unreachable!("raw")
    }
    fn on_raw(&mut self, buf: &mut BytesMut, ctl: &mut Control) -> Result<(), ConsumeError> {
        if self.open.load(Ordering::Relaxed) {
            self.taken.fetch_add(buf.split().len(), Ordering::Relaxed);
        } else {
            ctl.hold();
        }
        Ok(())
    }
}

#[test]
fn a_consumer_that_holds_stops_the_reading_and_feed_resumes_after() {
    const BUDGET: usize = 1000;
    let rt = runtime();
    let input = data(100_000, 8);
    let open = Arc::new(AtomicBool::new(false));
    let taken = Arc::new(AtomicUsize::new(0));
    let mut fifo = ConsumerFifo::with_budget(BUDGET);
    fifo.push(Gate {
        open: open.clone(),
        taken: taken.clone(),
    });
    let mut reader = Pieces::new(input.clone(), vec![300; 1000]);
    let read = reader.read.clone();

    let e = rt
        .block_on(bounded(feed(&mut fifo, &mut reader)))
        .unwrap_err();
    assert!(InputHeld::is(&e), "{e}");
    // The reader was asked for no more than the budget.
    assert_eq!(read.load(Ordering::Relaxed), BUDGET);
    assert_eq!(fifo.buffered(), BUDGET);
    assert_eq!(taken.load(Ordering::Relaxed), 0);
    assert!(!fifo.is_failed());

    // Asked again while still held: nothing more is read.
    let e = rt
        .block_on(bounded(feed(&mut fifo, &mut reader)))
        .unwrap_err();
    assert!(InputHeld::is(&e), "{e}");
    assert_eq!(read.load(Ordering::Relaxed), BUDGET);

    // Released: the rest flows to the end.
    open.store(true, Ordering::Relaxed);
    rt.block_on(bounded(feed(&mut fifo, &mut reader))).unwrap();
    assert!(fifo.is_ended());
    assert_eq!(read.load(Ordering::Relaxed), input.len());
    assert_eq!(taken.load(Ordering::Relaxed), input.len());
}

#[test]
fn the_tokio_sendfile_example_sends_files_and_refuses_escapes() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let root = std::env::temp_dir().join(format!("producers-tokio-root-{}", std::process::id()));
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let body = data(3 << 20, 9);
    std::fs::write(root.join("sub/big.bin"), &body).unwrap();

    let mut child = Command::new(example("tokio_sendfile"))
        .args(["--root", root.to_str().unwrap()])
        .args(["--addr", "127.0.0.1:0", "--exit-after", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim_end()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("expected `listening on http://ADDR`, got {line:?}"))
        .to_owned();

    let ask = |name: &str| {
        let mut c = std::net::TcpStream::connect(&addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        c.write_all(format!("{name}\n").as_bytes()).unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        got
    };
    assert!(ask("sub/big.bin") == body);
    assert!(ask("./sub/../sub/big.bin").starts_with(b"error: "));
    assert!(ask("/etc/passwd").starts_with(b"error: "));
    assert!(ask("missing").starts_with(b"error: "));

    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    std::fs::remove_dir_all(&root).unwrap();
    assert!(status.success(), "{status}: {err}");
    let totals = err
        .lines()
        .find(|l| l.starts_with("sendfile_bytes="))
        .unwrap_or_else(|| panic!("no totals on stderr: {err:?}"));
    let number = |key: &str| -> u64 {
        totals
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {totals:?}"))
    };
    if cfg!(target_os = "linux") {
        assert_eq!(number("sendfile_bytes="), body.len() as u64, "{totals}");
        assert_eq!(number("copied_bytes="), 0, "{totals}");
    } else {
        assert_eq!(number("copied_bytes="), body.len() as u64, "{totals}");
    }
}
