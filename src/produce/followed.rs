//! [`Followed`]: a growing file, followed as `tail -f` does (Medusa's and
//! supervisor's `tail_f_producer`, without their 0.1 s polling).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::BytesMut;

use super::file_watch::{FileWatch, Slot};
use super::{Counters, More, Producer};
use crate::chunk::{Chunk, REGION_PIECE, read_at};

/// Followers alive in the process (see [`Followed::live`]).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Follows `path` from its first byte: everything it holds, then whatever
/// is appended, forever. See [`Followed`].
///
/// ```
/// use std::io::Write;
/// use producers::{Producer, produce};
///
/// let dir = std::env::temp_dir().join(format!("follow-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("log");
/// std::fs::write(&path, "one\n")?;
/// let mut log = produce::follow(&path)?;
/// assert_eq!(&log.more()?.unwrap().into_bytes()?[..], b"one\n");
/// std::fs::OpenOptions::new().append(true).open(&path)?.write_all(b"two\n")?;
/// // `more` parks the thread until the watcher wakes it.
/// assert_eq!(&log.more()?.unwrap().into_bytes()?[..], b"two\n");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn follow(path: impl AsRef<Path>) -> io::Result<Followed> {
    Followed::open(path)
}

/// A file that grows, followed: its bytes, then the bytes appended to it,
/// never ending (`tail -f`; with rotation, `tail -F`).
///
/// - **Output**: bytes read at the follower's offset, in pieces of at most
///   [`piece_size`](Self::piece_size) (64 KiB by default, [`REGION_PIECE`]),
///   as soon as they are there. Bytes, not file regions: a region handed
///   out could be cut by a truncation before it is written, which would
///   fail the stream; what is read is what is sent.
/// - **Waiting**: at the end of the file the producer is pending, its waker
///   kept where a watcher finds it. On Linux (features `reactor` or
///   `tokio`, which bring rustix) the watcher is inotify: one descriptor and
///   one thread for every follower in the process, woken by the kernel only
///   when the file (or its name in its directory) changes — an idle
///   follower costs no CPU, no timer, no poll. Elsewhere, or when inotify
///   cannot be had, one thread wakes every follower each 100 ms
///   ([`is_polled`](Self::is_polled) says which).
/// - **Truncation**: a file found shorter than the offset (`> log`,
///   `truncate`, copy-and-truncate rotation) is followed again from its
///   first byte ([`truncations`](Self::truncations)).
/// - **Rotation**: when the path names another file than the one open (the
///   old one moved or deleted and a new one created), the old file is read
///   to its end first, then the new one is followed from its first byte
///   ([`rotations`](Self::rotations)). While the path names no file, the
///   old one is still followed. Bytes written to the old file after the
///   switch are not sent (as with `tail -F`). Rotation is detected on
///   Unix (device and inode numbers), and only a regular file is switched
///   to, never a symbolic link put at the path (so a follower opened
///   beneath a server's root stays there).
/// - **End**: never, on its own; dropping the producer drops its watch.
///   An I/O error ends it (the error, then `None`).
/// - [`exact_len`](Producer::exact_len) is `None`.
#[derive(Debug)]
pub struct Followed {
    path: PathBuf,
    file: File,
    /// The identity (device, inode) of `file`, to notice a new file at
    /// `path`; `None` where there is none to compare.
    identity: Option<(u64, u64)>,
    /// The offset of the next byte to read in `file`.
    offset: u64,
    piece: usize,
    slot: Arc<Slot>,
    watch: FileWatch,
    /// An error was reported: the end.
    ended: bool,
    truncations: u64,
    rotations: u64,
    counters: Counters,
}

impl Followed {
    /// Opens `path` and follows it from its first byte. The file must
    /// exist now; later, after a rotation, the path may be missing for a
    /// while.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Followed> {
        let path = path.as_ref().to_owned();
        let file = open_regular(&path)?;
        let identity = identity(&file.metadata()?);
        let slot = Arc::new(Slot::default());
        let watch = FileWatch::new(&path, slot.clone());
        LIVE.fetch_add(1, Ordering::Relaxed);
        Ok(Followed {
            path,
            file,
            identity,
            offset: 0,
            piece: REGION_PIECE,
            slot,
            watch,
            ended: false,
            truncations: 0,
            rotations: 0,
            counters: Counters::default(),
        })
    }

    /// Starts at the current end of the file: only bytes appended from now
    /// on are sent (`tail -f -n 0`).
    pub fn from_end(mut self) -> io::Result<Followed> {
        self.offset = self.file.metadata()?.len();
        Ok(self)
    }

    /// Starts at byte `offset` (past the end: at the end, once the file
    /// grows there; a shorter file counts as truncated).
    pub fn starting_at(mut self, offset: u64) -> Followed {
        self.offset = offset;
        self
    }

    /// Reads at most `size` bytes a chunk.
    ///
    /// # Panics
    ///
    /// If `size` is 0.
    pub fn piece_size(mut self, size: usize) -> Followed {
        assert!(size > 0, "piece size must not be zero");
        self.piece = size;
        self
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The offset of the next byte in the file followed now.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Times the file was found truncated (and followed again from 0).
    pub fn truncations(&self) -> u64 {
        self.truncations
    }

    /// Times a new file at the path was switched to.
    pub fn rotations(&self) -> u64 {
        self.rotations
    }

    /// Whether this follower is woken by polling (every 100 ms) rather
    /// than by inotify.
    pub fn is_polled(&self) -> bool {
        self.watch.is_polled()
    }

    /// The number of `Followed` producers alive in this process: each one
    /// holds an open file and a watch until dropped. For diagnostics and
    /// tests (a server's followers must go with their connections).
    pub fn live() -> usize {
        LIVE.load(Ordering::Relaxed)
    }

    /// Reads the next piece at the offset; `Ok(None)` at the end of the
    /// current file.
    fn read_piece(&mut self) -> io::Result<Option<Chunk>> {
        let mut buf = BytesMut::zeroed(self.piece);
        let n = loop {
            match read_at(&self.file, &mut buf, self.offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        buf.truncate(n);
        self.offset += n as u64;
        Ok(Chunk::from_bytes(buf.freeze()))
    }

    /// At the end of the current file: restart a truncated file, switch to
    /// a new file at the path. `Ok(true)` if there may be more to read now.
    fn at_end(&mut self) -> io::Result<bool> {
        let len = self.file.metadata()?.len();
        if len < self.offset {
            self.offset = 0;
            self.truncations += 1;
            return Ok(true);
        }
        if len > self.offset {
            // Grew since the read.
            return Ok(true);
        }
        let Some(ours) = self.identity else {
            return Ok(false);
        };
        // A new regular file at the path? Missing (between a move and a
        // create), or anything else: keep following the old one.
        let new = match fs::symlink_metadata(&self.path) {
            Ok(m) if m.file_type().is_file() && identity(&m) != Some(ours) => identity(&m),
            _ => return Ok(false),
        };
        let file = match open_regular(&self.path) {
            Ok(f) => f,
            // Gone again, or not a regular file after all (swapped in
            // between the look and the open): keep following the old one.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::InvalidInput
                ) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        // What was opened is what was looked at: not a symbolic link put
        // there in between (a server keeps its followers beneath its root).
        if identity(&file.metadata()?) != new {
            return Ok(false);
        }
        // Watch the new inode before reading it: an append after the
        // first read wakes us.
        self.identity = new;
        self.file = file;
        self.offset = 0;
        self.rotations += 1;
        self.watch.rewatch(&self.path);
        Ok(true)
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        if self.ended {
            return Poll::Ready(None);
        }
        // The waker first: a change after the reads below wakes it.
        self.slot.register(cx.waker());
        // Bounded: a truncation or rotation each time round is a file
        // changing faster than it can be read; try again on the next
        // wake-up.
        for _ in 0..4 {
            let step = match self.read_piece() {
                Ok(Some(chunk)) => return Poll::Ready(Some(Ok(chunk))),
                Ok(None) => self.at_end(),
                Err(e) => Err(e),
            };
            match step {
                Ok(true) => continue,
                Ok(false) => return Poll::Pending,
                Err(e) => {
                    self.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Followed {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Producer for Followed {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

#[cfg(unix)]
fn identity(m: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(_: &fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// Opens `path` for reading if it is a regular file, never blocking: with
/// `O_NONBLOCK` where the crate has rustix (a FIFO swapped in at the path
/// would otherwise block the open until a writer came), and refused with
/// `InvalidInput` when what was opened is not a regular file.
fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(all(unix, any(feature = "reactor", feature = "tokio")))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(i32::try_from(rustix::fs::OFlags::NONBLOCK.bits()).unwrap_or(0));
    }
    #[cfg(not(all(unix, any(feature = "reactor", feature = "tokio"))))]
    {
        // No O_NONBLOCK here: look first (a race remains, documented).
        if !fs::metadata(path)?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file: only regular files are followed",
            ));
        }
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file: only regular files are followed",
        ));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_os = "linux", any(feature = "reactor", feature = "tokio")))]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir =
            std::env::temp_dir().join(format!("producers-follow-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // Before the fix this open blocked until a writer came.
        let err = Followed::open(&fifo).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    use std::io::Write;
    use std::task::Poll;

    use super::*;
    use crate::testing::counting_context;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("followed-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn append(path: &Path, data: &[u8]) {
        fs::OpenOptions::new()
            .append(true)
            .open(path)
            .unwrap()
            .write_all(data)
            .unwrap();
    }

    /// Everything ready now, until pending.
    fn drain(f: &mut Followed, cx: &mut Context<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            match f.poll_more(cx) {
                Poll::Ready(Some(Ok(c))) => out.extend_from_slice(&c.into_bytes().unwrap()),
                Poll::Pending => return out,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn reads_pieces_then_pends_then_reads_appends() {
        let d = dir("pieces");
        let p = d.join("log");
        fs::write(&p, b"0123456789").unwrap();
        let mut f = follow(&p).unwrap().piece_size(4);
        let (mut cx, _) = counting_context();
        let mut sizes = Vec::new();
        while let Poll::Ready(Some(Ok(c))) = f.poll_more(&mut cx) {
            sizes.push(c.len());
        }
        assert_eq!(sizes, [4, 4, 2]);
        append(&p, b"ab");
        assert_eq!(drain(&mut f, &mut cx), b"ab");
        assert_eq!(f.offset(), 12);
        assert!(f.exact_len().is_none());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn from_end_and_starting_at() {
        let d = dir("start");
        let p = d.join("log");
        fs::write(&p, b"old").unwrap();
        let (mut cx, _) = counting_context();
        let mut f = follow(&p).unwrap().from_end().unwrap();
        assert!(f.poll_more(&mut cx).is_pending());
        append(&p, b"new");
        assert_eq!(drain(&mut f, &mut cx), b"new");
        let mut g = follow(&p).unwrap().starting_at(2);
        assert_eq!(drain(&mut g, &mut cx), b"dnew");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn truncation_restarts_from_zero() {
        let d = dir("trunc");
        let p = d.join("log");
        fs::write(&p, b"hello world").unwrap();
        let (mut cx, _) = counting_context();
        let mut f = follow(&p).unwrap();
        assert_eq!(drain(&mut f, &mut cx), b"hello world");
        fs::write(&p, b"new").unwrap();
        assert_eq!(drain(&mut f, &mut cx), b"new");
        assert_eq!(f.truncations(), 1);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn rotation_finishes_the_old_file_then_follows_the_new() {
        let d = dir("rotate");
        let p = d.join("log");
        fs::write(&p, b"a").unwrap();
        let (mut cx, _) = counting_context();
        let mut f = follow(&p).unwrap();
        assert_eq!(drain(&mut f, &mut cx), b"a");
        fs::rename(&p, d.join("log.1")).unwrap();
        // Written to the old file after the move, before a new one exists.
        append(&d.join("log.1"), b"b");
        assert_eq!(drain(&mut f, &mut cx), b"b");
        assert_eq!(f.rotations(), 0);
        append(&d.join("log.1"), b"c");
        fs::write(&p, b"NEW").unwrap();
        assert_eq!(drain(&mut f, &mut cx), b"cNEW");
        assert_eq!(f.rotations(), 1);
        append(&p, b"!");
        assert_eq!(drain(&mut f, &mut cx), b"!");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_directory_is_refused_at_open() {
        // Only regular files are followed: a directory would open (and
        // fail at the first read), a FIFO would block the open.
        let d = dir("error");
        let err = follow(&d).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        fs::remove_dir_all(&d).unwrap();
    }

    /// With inotify an idle follower is never woken: no polling. An append
    /// wakes it (the generous wait only bounds a failure).
    #[test]
    fn an_idle_follower_is_woken_only_by_a_change() {
        let d = dir("idle");
        let p = d.join("log");
        fs::write(&p, b"x").unwrap();
        let (mut cx, wakes) = counting_context();
        let mut f = follow(&p).unwrap();
        assert_eq!(drain(&mut f, &mut cx), b"x");
        if !f.is_polled() {
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert_eq!(wakes.count(), 0, "an idle follower was woken");
        }
        append(&p, b"y");
        let t = std::time::Instant::now();
        while wakes.count() == 0 {
            assert!(t.elapsed().as_secs() < 10, "the append woke nobody");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(drain(&mut f, &mut cx), b"y");
        fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(all(target_os = "linux", any(feature = "reactor", feature = "tokio")))]
    #[test]
    fn linux_followers_use_inotify() {
        let d = dir("inotify");
        let p = d.join("log");
        fs::write(&p, b"").unwrap();
        assert!(!follow(&p).unwrap().is_polled());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn live_counts_followers() {
        let d = dir("live");
        let p = d.join("log");
        fs::write(&p, b"").unwrap();
        let f = follow(&p).unwrap();
        assert!(Followed::live() >= 1);
        drop(f);
        fs::remove_dir_all(&d).unwrap();
    }
}
