//! The unit of output: shared bytes, or a region of a file.
//!
//! A [`Chunk`] is what a [`Producer`](crate::Producer) hands out. It is either
//! [`NonEmptyBytes`] (reference-counted [`Bytes`], sliced without copying) or
//! a [`FileRegion`] (a file, an offset and a length) that a socket writer can
//! `sendfile` without the payload ever entering user space. Anything that
//! needs the bytes of a region reads them transparently with
//! [`FileRegion::read_prefix`], [`Chunk::split_bytes`] or
//! [`Chunk::into_bytes`].
//!
//! Invariant, held by the types: a chunk is never empty. Neither payload can
//! be made empty — [`NonEmptyBytes::new`] and [`FileRegion::new`] return
//! `None` for nothing, and their splits never leave an empty half — so no
//! producer has to remember the rule (issue 12).

use std::fmt;
use std::fs::File;
use std::io;
use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;

/// The largest piece of a file region read at once by a combinator that needs
/// the bytes (the codecs: chunked decoding, compression, escaping,
/// dot-stuffing): 64 KiB, through [`Chunk::split_bytes`].
///
/// Why this size: a region can be a whole file, and a codec must not pull it
/// into memory at once; 64 KiB is large enough that the `pread` per piece
/// costs little per byte and small enough that the piece stays in cache while
/// the codec walks it. It is also the decoders' own output chunk
/// ([`DECODE_CHUNK`](crate::codec::gzip::DECODE_CHUNK)), so one piece in is
/// about one chunk out.
pub const REGION_PIECE: usize = 64 << 10;

/// The largest piece of a file region read at once by an adapter that hands
/// the bytes whole to another runtime (a `Stream` item, an `http_body`
/// data frame): 256 KiB, through [`Chunk::split_bytes`].
///
/// Larger than [`REGION_PIECE`] because the piece is not walked byte by byte
/// but handed whole to the runtime's body (hyper writes it as one frame): at
/// 256 KiB the cost per piece (a poll, a frame, a write call) stays small
/// next to the `pread` and the copy, while a large file still never lands in
/// memory whole.
pub const REGION_FRAME: usize = 256 << 10;

/// One non-empty piece of output.
///
/// The shape is a plain enum, matched as `Chunk::Bytes(b)` / `Chunk::File(r)`;
/// what makes it non-empty is the payloads' types. `Chunk::from_bytes` is the
/// way in from [`Bytes`]:
///
/// ```
/// use producers::Chunk;
///
/// assert!(Chunk::from_bytes("").is_none());
/// let chunk = Chunk::from_bytes("hello").unwrap();
/// assert_eq!(chunk.len(), 5);
/// if let Chunk::Bytes(b) = &chunk {
///     assert_eq!(&b[..], b"hello"); // `NonEmptyBytes` derefs to `Bytes`
/// }
/// ```
///
/// An empty chunk does not compile: `Chunk::Bytes` takes a [`NonEmptyBytes`],
/// not a [`Bytes`].
///
/// ```compile_fail,E0308
/// use bytes::Bytes;
/// use producers::Chunk;
///
/// let empty = Chunk::Bytes(Bytes::new());
/// ```
#[derive(Clone, Debug)]
pub enum Chunk {
    /// Bytes in memory, shared without copying; never empty.
    Bytes(NonEmptyBytes),
    /// A region of an open file, read (or `sendfile`d) only when needed;
    /// never empty.
    File(FileRegion),
}

impl Chunk {
    /// Wraps bytes into a chunk, or `None` if they are empty.
    #[inline]
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Option<Chunk> {
        NonEmptyBytes::new(bytes).map(Chunk::Bytes)
    }

    /// The number of payload bytes in this chunk (never zero).
    #[inline]
    pub fn len(&self) -> u64 {
        match self {
            Chunk::Bytes(b) => b.len() as u64,
            Chunk::File(r) => r.len(),
        }
    }

    /// Always `false`: neither payload type can hold zero bytes. Here
    /// because a type with a `len` is expected to have one.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Returns the bytes, reading a file region in full if need be.
    ///
    /// A region whose file has shrunk below it is an
    /// [`io::ErrorKind::UnexpectedEof`] error, never a short result.
    pub fn into_bytes(self) -> io::Result<Bytes> {
        match self {
            Chunk::Bytes(b) => Ok(b.into_bytes()),
            Chunk::File(r) => r.read_all(),
        }
    }

    /// Splits off at most `max` bytes from the front as [`Bytes`], returning
    /// them and what is left (if anything).
    ///
    /// Memory bytes are sliced without copying; a file region reads only the
    /// prefix it returns, so a combinator that needs bytes can walk a large
    /// region in bounded pieces (of [`REGION_PIECE`], usually).
    pub fn split_bytes(self, max: usize) -> io::Result<(Bytes, Option<Chunk>)> {
        debug_assert!(max > 0);
        match self {
            Chunk::Bytes(mut b) => Ok(match b.split_to(max) {
                Some(head) => (head.into_bytes(), Some(Chunk::Bytes(b))),
                None => (b.into_bytes(), None),
            }),
            Chunk::File(r) => {
                let (head, rest) = r.read_prefix(max)?;
                Ok((head, rest.map(Chunk::File)))
            }
        }
    }

    /// The bytes if this chunk is in memory.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Chunk::Bytes(b) => Some(b.as_bytes()),
            Chunk::File(_) => None,
        }
    }
}

impl From<NonEmptyBytes> for Chunk {
    fn from(b: NonEmptyBytes) -> Chunk {
        Chunk::Bytes(b)
    }
}

/// [`Bytes`] that cannot be empty: the payload of [`Chunk::Bytes`].
///
/// Made only by [`new`](Self::new) (which returns `None` for empty bytes)
/// and [`from_static`](Self::from_static), and split only into non-empty
/// halves ([`split_to`](Self::split_to), [`advance`](Self::advance)), so a
/// chunk is non-empty by construction, as a [`FileRegion`] is. It derefs to
/// [`Bytes`] (and so to `[u8]`) for reading; there is deliberately no
/// `DerefMut`, since `Bytes`'s own `split_to`, `advance` or `clear` could
/// empty it. Cloning and splitting are as cheap as for `Bytes`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NonEmptyBytes(
    /// Invariant: not empty.
    Bytes,
);

impl NonEmptyBytes {
    /// Wraps `bytes`, or `None` if they are empty.
    #[inline]
    pub fn new(bytes: impl Into<Bytes>) -> Option<NonEmptyBytes> {
        let bytes = bytes.into();
        (!bytes.is_empty()).then_some(NonEmptyBytes(bytes))
    }

    /// Wraps a static slice without copying.
    ///
    /// # Panics
    ///
    /// If `bytes` is empty (at compile time in a `const`).
    pub const fn from_static(bytes: &'static [u8]) -> NonEmptyBytes {
        assert!(!bytes.is_empty(), "NonEmptyBytes::from_static of nothing");
        NonEmptyBytes(Bytes::from_static(bytes))
    }

    /// The bytes, as a plain [`Bytes`].
    #[inline]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The bytes, borrowed as a plain [`Bytes`].
    #[inline]
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Splits off and returns the first `at` bytes, keeping the rest, if
    /// both halves are non-empty (`0 < at < len`); otherwise returns `None`
    /// and leaves `self` as it was. No copy.
    #[inline]
    pub fn split_to(&mut self, at: usize) -> Option<NonEmptyBytes> {
        (at > 0 && at < self.0.len()).then(|| NonEmptyBytes(self.0.split_to(at)))
    }

    /// Drops the first `n` bytes, returning what is left (`None` when
    /// nothing is), like [`FileRegion::advance`]. No copy.
    ///
    /// # Panics
    ///
    /// If `n` is larger than the length.
    #[inline]
    pub fn advance(mut self, n: usize) -> Option<NonEmptyBytes> {
        assert!(n <= self.0.len(), "advance past the end of the bytes");
        bytes::Buf::advance(&mut self.0, n);
        NonEmptyBytes::new(self.0)
    }
}

impl Deref for NonEmptyBytes {
    type Target = Bytes;

    #[inline]
    fn deref(&self) -> &Bytes {
        &self.0
    }
}

impl AsRef<[u8]> for NonEmptyBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<NonEmptyBytes> for Bytes {
    fn from(b: NonEmptyBytes) -> Bytes {
        b.0
    }
}

impl PartialEq<[u8]> for NonEmptyBytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl PartialEq<Bytes> for NonEmptyBytes {
    fn eq(&self, other: &Bytes) -> bool {
        self.0 == other
    }
}

/// Shows the bytes as [`Bytes`] does (`b"…"`), so a chunk debugs as
/// `Bytes(b"…")`.
impl fmt::Debug for NonEmptyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl From<FileRegion> for Chunk {
    fn from(r: FileRegion) -> Chunk {
        Chunk::File(r)
    }
}

/// A non-empty byte range of an open file.
///
/// The file is shared (`Arc<File>`) so a region can be split and cloned
/// freely; reads use positional I/O (`pread`), so the file's cursor is never
/// moved and regions of one file can be read in any order.
#[derive(Clone)]
pub struct FileRegion {
    file: Arc<File>,
    offset: u64,
    /// Invariant: `len > 0`.
    len: u64,
}

impl fmt::Debug for FileRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileRegion")
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish()
    }
}

impl FileRegion {
    /// A region of `len` bytes at `offset`, or `None` if `len` is zero.
    pub fn new(file: Arc<File>, offset: u64, len: u64) -> Option<FileRegion> {
        (len > 0).then_some(FileRegion { file, offset, len })
    }

    /// The file this region belongs to.
    pub fn file(&self) -> &Arc<File> {
        &self.file
    }

    /// The offset of the first byte in the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The number of bytes in the region (never zero).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Always `false`: a region cannot be empty ([`new`](Self::new) and
    /// the splits refuse to make one). Here because a type with a `len` is
    /// expected to have one.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Drops the first `n` bytes of the region, returning what is left
    /// (`None` when nothing is). Used by writers after a partial `sendfile`.
    pub fn advance(self, n: u64) -> Option<FileRegion> {
        assert!(n <= self.len, "advance past the end of a file region");
        FileRegion::new(self.file, self.offset + n, self.len - n)
    }

    /// Splits the region at `n`: the first `n` bytes and the rest.
    pub fn split_at(self, n: u64) -> (Option<FileRegion>, Option<FileRegion>) {
        let n = n.min(self.len);
        let head = FileRegion::new(self.file.clone(), self.offset, n);
        (head, self.advance(n))
    }

    /// Reads the first `min(max, len)` bytes into a new buffer and returns
    /// them with the rest of the region.
    ///
    /// Fails with [`io::ErrorKind::UnexpectedEof`] if the file no longer
    /// holds those bytes (it shrank after the region was made).
    pub fn read_prefix(self, max: usize) -> io::Result<(Bytes, Option<FileRegion>)> {
        let n = (self.len.min(max as u64)) as usize;
        let mut buf = vec![0u8; n];
        self.read_into(&mut buf)?;
        let rest = self.advance(n as u64);
        Ok((Bytes::from(buf), rest))
    }

    /// Reads the whole region into memory.
    pub fn read_all(self) -> io::Result<Bytes> {
        let len = usize::try_from(self.len)
            .map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "file region too large"))?;
        Ok(self.read_prefix(len)?.0)
    }

    /// Fills `buf` (at most `len` bytes) from the start of the region.
    ///
    /// `buf.len()` must not exceed the region; a file that ends early is an
    /// [`io::ErrorKind::UnexpectedEof`] error that says where.
    pub fn read_into(&self, buf: &mut [u8]) -> io::Result<()> {
        assert!(
            buf.len() as u64 <= self.len,
            "read past the end of a file region"
        );
        let mut done = 0;
        while done < buf.len() {
            let at = self.offset + done as u64;
            match read_at(&self.file, &mut buf[done..], at) {
                Ok(0) => return Err(shrunk(at)),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The error for a file that ends before a region or a promised length.
pub(crate) fn shrunk(at: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("file ended at byte {at}, before the promised length"),
    )
}

/// Positional read of up to `buf.len()` bytes at `offset`: the crate's one
/// canonical `pread`, for [`FileRegion`] and
/// [`FileProducer`](crate::FileProducer). (`http/respond.rs` still has a
/// private copy, to be replaced by this one with the `http` restructuring.)
///
/// On Unix it is `pread` and never moves the file's cursor, so regions of one
/// shared file can be read from several threads in any order. On Windows
/// `seek_read` moves the cursor (nothing here relies on it). Elsewhere it
/// falls back to seek-then-read, which moves the cursor and is not atomic
/// between threads sharing the file.
#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

/// See the Unix version.
#[cfg(windows)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// See the Unix version.
#[cfg(not(any(unix, windows)))]
pub(crate) fn read_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(data: &[u8]) -> Arc<File> {
        Arc::new(crate::testing::file_with(data))
    }

    #[test]
    fn empty_chunks_cannot_be_made() {
        assert!(Chunk::from_bytes(Bytes::new()).is_none());
        assert!(NonEmptyBytes::new(Bytes::new()).is_none());
        assert!(FileRegion::new(temp_file(b"x"), 0, 0).is_none());
    }

    #[test]
    fn non_empty_bytes_split_only_into_non_empty_halves() {
        let mut b = NonEmptyBytes::new(&b"hello"[..]).unwrap();
        assert!(b.split_to(0).is_none());
        assert!(b.split_to(5).is_none());
        assert!(b.split_to(6).is_none());
        assert_eq!(&b[..], b"hello");
        let head = b.split_to(2).unwrap();
        assert_eq!((&head[..], &b[..]), (&b"he"[..], &b"llo"[..]));
        let rest = b.clone().advance(1).unwrap();
        assert_eq!(&rest[..], b"lo");
        assert!(b.advance(3).is_none());
        assert_eq!(format!("{:?}", Chunk::Bytes(head)), r#"Bytes(b"he")"#);
    }

    #[test]
    #[should_panic(expected = "advance past the end")]
    fn non_empty_bytes_advance_past_the_end_panics() {
        let _ = NonEmptyBytes::from_static(b"ab").advance(3);
    }

    #[test]
    fn split_bytes_slices_memory_and_reads_regions_in_pieces() {
        let c = Chunk::from_bytes(&b"hello world"[..]).unwrap();
        let (h, rest) = c.split_bytes(5).unwrap();
        assert_eq!(&h[..], b"hello");
        assert_eq!(rest.unwrap().into_bytes().unwrap(), &b" world"[..]);

        let r = FileRegion::new(temp_file(b"0123456789"), 2, 6).unwrap();
        let (h, rest) = Chunk::File(r).split_bytes(4).unwrap();
        assert_eq!(&h[..], b"2345");
        let rest = rest.unwrap();
        assert_eq!(rest.len(), 2);
        assert_eq!(rest.into_bytes().unwrap(), &b"67"[..]);
    }

    #[test]
    fn a_region_past_the_end_of_the_file_is_an_error_with_its_offset() {
        let r = FileRegion::new(temp_file(b"0123"), 2, 6).unwrap();
        let e = r.read_all().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("byte 4"), "{e}");
    }

    #[test]
    fn split_at_and_advance() {
        let r = FileRegion::new(temp_file(b"0123456789"), 1, 8).unwrap();
        let (a, b) = r.clone().split_at(3);
        assert_eq!(a.unwrap().read_all().unwrap(), &b"123"[..]);
        assert_eq!(b.unwrap().read_all().unwrap(), &b"45678"[..]);
        assert!(r.clone().advance(8).is_none());
        let (a, b) = r.split_at(100);
        assert_eq!(a.unwrap().len(), 8);
        assert!(b.is_none());
    }
}
