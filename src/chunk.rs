//! The unit of output: shared bytes, or a region of a file.
//!
//! A [`Chunk`] is what a [`Producer`](crate::Producer) hands out. It is either
//! [`Bytes`] (reference-counted, sliced without copying) or a [`FileRegion`]
//! (a file, an offset and a length) that a socket writer can `sendfile`
//! without the payload ever entering user space. Anything that needs the bytes
//! of a region reads them transparently with [`FileRegion::read_prefix`] or
//! [`Chunk::into_bytes`].
//!
//! Invariant: a chunk is never empty. Constructors that could make an empty
//! chunk return `None` instead.

use std::fmt;
use std::fs::File;
use std::io;
use std::sync::Arc;

use bytes::Bytes;

/// One non-empty piece of output.
#[derive(Clone, Debug)]
pub enum Chunk {
    /// Bytes in memory, shared without copying.
    Bytes(Bytes),
    /// A region of an open file, read (or `sendfile`d) only when needed.
    File(FileRegion),
}

impl Chunk {
    /// Wraps bytes into a chunk, or `None` if they are empty.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Option<Chunk> {
        let bytes = bytes.into();
        (!bytes.is_empty()).then_some(Chunk::Bytes(bytes))
    }

    /// The number of payload bytes in this chunk (never zero).
    pub fn len(&self) -> u64 {
        match self {
            Chunk::Bytes(b) => b.len() as u64,
            Chunk::File(r) => r.len(),
        }
    }

    /// Always `false`: chunks are never empty. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the bytes, reading a file region in full if need be.
    ///
    /// A region whose file has shrunk below it is an
    /// [`io::ErrorKind::UnexpectedEof`] error, never a short result.
    pub fn into_bytes(self) -> io::Result<Bytes> {
        match self {
            Chunk::Bytes(b) => Ok(b),
            Chunk::File(r) => r.read_all(),
        }
    }

    /// Splits off at most `max` bytes from the front as [`Bytes`], returning
    /// them and what is left (if anything).
    ///
    /// Memory bytes are sliced without copying; a file region reads only the
    /// prefix it returns, so a combinator that needs bytes can walk a large
    /// region in bounded pieces.
    pub fn split_bytes(self, max: usize) -> io::Result<(Bytes, Option<Chunk>)> {
        debug_assert!(max > 0);
        match self {
            Chunk::Bytes(mut b) => {
                if b.len() <= max {
                    Ok((b, None))
                } else {
                    let head = b.split_to(max);
                    Ok((head, Some(Chunk::Bytes(b))))
                }
            }
            Chunk::File(r) => {
                let (head, rest) = r.read_prefix(max)?;
                Ok((head, rest.map(Chunk::File)))
            }
        }
    }

    /// The bytes if this chunk is in memory.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Chunk::Bytes(b) => Some(b),
            Chunk::File(_) => None,
        }
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

    /// Always `false`: regions are never empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
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

/// Positional read: does not move the file's cursor.
#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
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
        assert!(FileRegion::new(temp_file(b"x"), 0, 0).is_none());
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
