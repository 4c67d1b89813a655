//! One run of a pipeline, and the points the runs make.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, IoSlice, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use producers::io::{DriveStatus, Driver};
use producers::reactor::{ChannelCtx, CloseReason, Handler, Reactor};
use producers::stage::{BoxProducer, Stage, build};
use producers::{Counters, FileProducer, More, Producer, ProducerExt, produce::BytesProducer};

/// Counts the bytes allocated: the proxy for bytes copied (every copy of
/// payload in this crate goes into a freshly allocated buffer: globs,
/// codecs' output, file blocks).
struct Counting;

static ALLOCATED: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new.saturating_sub(layout.size()) as u64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What the source hands out.
pub(crate) enum Input {
    /// Generated text, in memory.
    Generated(Bytes),
    /// A file, read in blocks.
    File { path: PathBuf, len: u64 },
}

impl Input {
    /// `size` bytes of deterministic text: log-like lines of words and
    /// numbers, about as compressible as a web server's output.
    pub(crate) fn generated(size: usize) -> Input {
        const WORDS: [&str; 16] = [
            "GET",
            "/index.html",
            "HTTP/1.1",
            "200",
            "producer",
            "chunk",
            "glob",
            "medusa",
            "reactor",
            "consumer",
            "gzip",
            "deflate",
            "text/html",
            "keep-alive",
            "Mozilla/5.0",
            "curl/8.5.0",
        ];
        let mut out = Vec::with_capacity(size + 128);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        while out.len() < size {
            for _ in 0..8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                out.extend_from_slice(WORDS[(x & 15) as usize].as_bytes());
                out.push(b' ');
                let _ = write!(out, "{}", (x >> 40) % 100_000);
                out.push(b' ');
            }
            out.push(b'\n');
        }
        out.truncate(size);
        Input::Generated(Bytes::from(out))
    }

    pub(crate) fn file(path: &Path) -> io::Result<Input> {
        let len = std::fs::metadata(path)?.len();
        Ok(Input::File {
            path: path.to_path_buf(),
            len,
        })
    }

    pub(crate) fn len(&self) -> u64 {
        match self {
            Input::Generated(b) => b.len() as u64,
            Input::File { len, .. } => *len,
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Input::Generated(_) => "generated text".to_string(),
            Input::File { path, .. } => path.display().to_string(),
        }
    }

    fn source(&self, chunk: usize) -> io::Result<BoxProducer> {
        Ok(match self {
            Input::Generated(b) => BytesProducer::with_piece_size(b.clone(), chunk)?.boxed(),
            Input::File { path, .. } => FileProducer::open(path)?.block_size(chunk).boxed(),
        })
    }
}

/// Where the pipeline's output goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sink {
    /// `Driver` into a counting writer.
    Memory,
    /// A reactor channel to a loopback reader thread.
    Socket,
}

/// Counts `poll_more` calls of the source.
struct Tap {
    inner: BoxProducer,
    calls: Arc<AtomicU64>,
}

impl Producer for Tap {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.poll_more(cx)
    }
    fn exact_len(&self) -> Option<u64> {
        self.inner.exact_len()
    }
    fn counters(&self) -> Option<Counters> {
        self.inner.counters()
    }
}

/// Times one `poll_more` in every `stride` at the end of the pipeline; hands
/// its samples (nanoseconds) over when dropped.
struct Timed {
    inner: BoxProducer,
    stride: u64,
    calls: u64,
    samples: Vec<u64>,
    out: Arc<Mutex<Vec<u64>>>,
}

impl Producer for Timed {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        self.calls += 1;
        if !self.calls.is_multiple_of(self.stride) {
            return self.inner.poll_more(cx);
        }
        let t = Instant::now();
        let r = self.inner.poll_more(cx);
        if matches!(r, Poll::Ready(Some(Ok(_)))) {
            self.samples.push(t.elapsed().as_nanos() as u64);
        }
        r
    }
    fn exact_len(&self) -> Option<u64> {
        self.inner.exact_len()
    }
    fn counters(&self) -> Option<Counters> {
        self.inner.counters()
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        if let Ok(mut out) = self.out.lock() {
            out.append(&mut self.samples);
        }
    }
}

/// A writer that counts its calls and bytes and keeps nothing, but copies
/// every byte into a scratch buffer first, as a kernel copies into a socket
/// buffer: without that, a pass-through pipeline would cost nothing per byte
/// and the figures would not compare with a socket's.
struct CountingWriter {
    writes: u64,
    bytes: u64,
    scratch: Vec<u8>,
}

impl CountingWriter {
    fn new() -> CountingWriter {
        CountingWriter {
            writes: 0,
            bytes: 0,
            scratch: vec![0; 256 << 10],
        }
    }

    fn take(&mut self, mut buf: &[u8]) {
        self.bytes += buf.len() as u64;
        while !buf.is_empty() {
            let n = buf.len().min(self.scratch.len());
            self.scratch[..n].copy_from_slice(&buf[..n]);
            std::hint::black_box(&self.scratch);
            buf = &buf[n..];
        }
    }
}

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes += 1;
        self.take(buf);
        Ok(buf.len())
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.writes += 1;
        let mut n = 0;
        for b in bufs {
            self.take(b);
            n += b.len();
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One run of the pipeline.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) elapsed: Duration,
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    /// `poll_more` calls in every stage, the source's included.
    pub(crate) calls: u64,
    pub(crate) writes: u64,
    pub(crate) allocated: u64,
    pub(crate) stride: u64,
    pub(crate) samples: Vec<u64>,
}

/// Times one `poll_more` in this many: about every call where a call does
/// enough work (output chunks of 4 KiB and more) that reading the clock
/// is noise, fewer where it would not be.
fn stride(chunk: usize, glob: usize) -> u64 {
    let out = if glob > 0 { glob.max(chunk) } else { chunk };
    (4096 / out).clamp(1, 64) as u64
}

/// Runs `source(chunk) → stages → glob:glob` into `sink` once.
pub(crate) fn run(
    input: &Input,
    stages: &[Stage],
    chunk: usize,
    glob: usize,
    sink: Sink,
) -> io::Result<Run> {
    let source_calls = Arc::new(AtomicU64::new(0));
    let source = Tap {
        inner: input.source(chunk)?,
        calls: source_calls.clone(),
    }
    .boxed();
    let mut all = stages.to_vec();
    if glob > 0 {
        all.push(Stage::Glob(glob));
    }
    let (pipeline, probes) = build(source, &all);
    let samples = Arc::new(Mutex::new(Vec::new()));
    let stride = stride(chunk, glob);
    let timed = Timed {
        inner: pipeline,
        stride,
        calls: 0,
        samples: Vec::with_capacity(1 << 16),
        out: samples.clone(),
    };
    let (elapsed, bytes_out, writes, allocated) = match sink {
        Sink::Memory => in_memory(timed)?,
        Sink::Socket => over_socket(timed)?,
    };
    let calls = source_calls.load(Ordering::Relaxed)
        + probes.iter().map(|p| p.counters().calls).sum::<u64>();
    let samples = std::mem::take(&mut *samples.lock().expect("not poisoned"));
    Ok(Run {
        elapsed,
        bytes_in: input.len(),
        bytes_out,
        calls,
        writes,
        allocated,
        stride,
        samples,
    })
}

fn in_memory(p: Timed) -> io::Result<(Duration, u64, u64, u64)> {
    let mut w = CountingWriter::new();
    let mut cx = Context::from_waker(Waker::noop());
    let before = ALLOCATED.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut drive = Driver::new(p);
    // `write_to` returns only when done, or when the pipeline is pending
    // (nothing in a sweep waits: say so rather than spin); the writer never
    // blocks.
    if drive.write_to(&mut w, &mut cx)? != DriveStatus::Done {
        return Err(io::Error::other("the pipeline is pending in memory"));
    }
    drop(drive);
    let elapsed = start.elapsed();
    let allocated = ALLOCATED.load(Ordering::Relaxed) - before;
    Ok((elapsed, w.bytes, w.writes, allocated))
}

/// Pushes the pipeline onto a channel and closes when done.
struct SendAll {
    pipeline: Option<Timed>,
    closed: Arc<Mutex<Option<String>>>,
}

impl Handler for SendAll {
    fn on_open(&mut self, ctx: &mut ChannelCtx<'_>) -> io::Result<()> {
        if let Some(p) = self.pipeline.take() {
            ctx.push_producer(p);
        }
        ctx.close_when_done();
        Ok(())
    }
    fn on_close(&mut self, reason: &CloseReason) {
        if !reason.is_clean() {
            *self.closed.lock().expect("not poisoned") = Some(reason.to_string());
        }
    }
}

fn over_socket(p: Timed) -> io::Result<(Duration, u64, u64, u64)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut buf = vec![0u8; 256 << 10];
    let reader = std::thread::spawn(move || -> io::Result<u64> {
        let mut s = TcpStream::connect(addr)?;
        let mut n = 0u64;
        loop {
            match s.read(&mut buf) {
                Ok(0) => return Ok(n),
                Ok(k) => n += k as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    });
    let (stream, _) = listener.accept()?;
    let mut reactor = Reactor::new()?;
    let closed = Arc::new(Mutex::new(None));
    let before = ALLOCATED.load(Ordering::Relaxed);
    let start = Instant::now();
    reactor.adopt(
        stream,
        SendAll {
            pipeline: Some(p),
            closed: closed.clone(),
        },
    )?;
    reactor.run()?;
    let received = reader
        .join()
        .map_err(|_| io::Error::other("the reader thread panicked"))??;
    let elapsed = start.elapsed();
    let allocated = ALLOCATED.load(Ordering::Relaxed) - before;
    if let Some(reason) = closed.lock().expect("not poisoned").take() {
        return Err(io::Error::other(format!("the channel failed: {reason}")));
    }
    Ok((elapsed, received, reactor.stats().writes, allocated))
}

/// The runs of one (chunk, glob) point.
#[derive(Debug)]
pub(crate) struct Point {
    pub(crate) chunk: usize,
    pub(crate) glob: usize,
    pub(crate) runs: Vec<Run>,
    pub(crate) stride: u64,
    pub(crate) p50_ns: u64,
    pub(crate) p99_ns: u64,
    /// Throughputs in MiB/s, sorted.
    rates: Vec<f64>,
}

impl Point {
    pub(crate) fn new(chunk: usize, glob: usize, runs: Vec<Run>) -> Point {
        let mut rates: Vec<f64> = runs
            .iter()
            .map(|r| r.bytes_in as f64 / (1 << 20) as f64 / r.elapsed.as_secs_f64())
            .collect();
        rates.sort_by(f64::total_cmp);
        let mut all: Vec<u64> = runs
            .iter()
            .flat_map(|r| r.samples.iter().copied())
            .collect();
        all.sort_unstable();
        let pct = |q: f64| -> u64 {
            if all.is_empty() {
                return 0;
            }
            all[((all.len() - 1) as f64 * q).round() as usize]
        };
        Point {
            chunk,
            glob,
            stride: runs.first().map_or(1, |r| r.stride),
            p50_ns: pct(0.50),
            p99_ns: pct(0.99),
            runs,
            rates,
        }
    }

    /// The run with the median throughput (its counts are reported).
    fn median_run(&self) -> &Run {
        let m = self.median_mib_s();
        self.runs
            .iter()
            .min_by(|a, b| {
                let ra = a.bytes_in as f64 / (1 << 20) as f64 / a.elapsed.as_secs_f64();
                let rb = b.bytes_in as f64 / (1 << 20) as f64 / b.elapsed.as_secs_f64();
                (ra - m).abs().total_cmp(&(rb - m).abs())
            })
            .expect("at least one run")
    }

    pub(crate) fn median_mib_s(&self) -> f64 {
        let n = self.rates.len();
        if n % 2 == 1 {
            self.rates[n / 2]
        } else {
            (self.rates[n / 2 - 1] + self.rates[n / 2]) / 2.0
        }
    }

    pub(crate) fn min_mib_s(&self) -> f64 {
        self.rates[0]
    }

    pub(crate) fn max_mib_s(&self) -> f64 {
        self.rates[self.rates.len() - 1]
    }

    /// (max − min) / median.
    pub(crate) fn spread(&self) -> f64 {
        (self.max_mib_s() - self.min_mib_s()) / self.median_mib_s()
    }

    pub(crate) fn trusted(&self, limit: f64) -> bool {
        self.spread() <= limit
    }

    pub(crate) fn bytes_in(&self) -> u64 {
        self.median_run().bytes_in
    }

    /// The fewest bytes any run delivered (all runs should agree).
    pub(crate) fn bytes_out(&self) -> u64 {
        self.runs.iter().map(|r| r.bytes_out).min().unwrap_or(0)
    }

    pub(crate) fn more_calls(&self) -> u64 {
        self.median_run().calls
    }

    pub(crate) fn writes(&self) -> u64 {
        self.median_run().writes
    }

    pub(crate) fn writes_per_mib(&self) -> f64 {
        let r = self.median_run();
        r.writes as f64 / (r.bytes_out.max(1) as f64 / (1 << 20) as f64)
    }

    pub(crate) fn alloc_per_byte(&self) -> f64 {
        let r = self.median_run();
        r.allocated as f64 / r.bytes_in.max(1) as f64
    }
}
