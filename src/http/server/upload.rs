//! [`Upload`]: a `POST` of `multipart/form-data` to a directory, each file
//! part streamed to a temporary file there and renamed into place when the
//! part ends (`ServerConfig::upload`).
//!
//! The body reaches the upload piece by piece as the reader takes it off
//! the connection (by count or chunked), at most one read — the input
//! budget — at a time; each piece goes through the
//! [`MultipartParser`](crate::consume::MultipartParser) and its part data
//! is written to the file at once, on the loop's thread. Nothing of a part
//! is held in memory beyond the piece being written.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::consume::{Boundary, MultipartLimits, MultipartParser, PartEvent, PartHeaders};
use crate::http::files::{Body, Files, Reply, internal};
use crate::http::proto::{BodyFraming, HttpError, RequestHead, ResponseHead, Status, UrlPath};

/// The longest file name stored (most file systems' `NAME_MAX`).
const MAX_NAME: usize = 255;

/// An upload in progress.
pub(crate) struct Upload {
    /// The directory the files go to, opened beneath the root.
    dir: Arc<OwnedFd>,
    parser: MultipartParser,
    /// What the parser has not taken yet: a partial delimiter or header
    /// block.
    buf: BytesMut,
    overwrite: bool,
    /// The part being read.
    part: Part,
    /// The names stored so far, in order.
    stored: Vec<String>,
}

/// The part being read.
enum Part {
    /// Between parts.
    Between,
    /// A text field (or a file input left empty): its data is dropped.
    Ignored,
    /// A file part, going to its temporary file.
    File(TempFile),
}

/// A temporary file in the upload's directory, removed on drop unless it
/// was renamed into place: a failed or cut-off upload leaves nothing.
struct TempFile {
    dir: Arc<OwnedFd>,
    file: File,
    /// `.upload-XXXXXXXXXXXXXXXX.tmp`.
    temp: String,
    /// The name it gets at the part's end (checked by [`check_name`]).
    name: String,
    /// Whether it was renamed into place.
    kept: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = rustix::fs::unlinkat(&*self.dir, self.temp.as_str(), AtFlags::empty());
        }
    }
}

/// The name a file part may be stored under: its `filename` as is, if it
/// is a plain name; anything that could leave the directory, hide, or
/// confuse a terminal is refused rather than rewritten (RFC 7578 section
/// 4.2: a receiver must not use path information in it).
pub(crate) fn check_name(name: &str) -> Result<&str, HttpError> {
    let reason = if name.is_empty() {
        "an empty name"
    } else if name.contains(['/', '\\']) {
        "a path separator in the name"
    } else if name == "." || name == ".." {
        "a dot name"
    } else if name.starts_with('.') {
        "a dotfile"
    } else if name.chars().any(char::is_control) {
        "a control character in the name"
    } else if name.len() > MAX_NAME {
        "a name longer than 255 bytes"
    } else {
        return Ok(name);
    };
    Err(HttpError::BadUploadName { reason })
}

impl Upload {
    /// An upload of `head`'s body to the directory `path`, or why not:
    /// 415 (not `multipart/form-data`), 400 (a bad boundary), 413 (a
    /// `Content-Length` over `max`), 404, 403 or 405 (not a directory).
    pub(crate) fn begin(
        files: &Files,
        path: &UrlPath,
        head: &RequestHead,
        framing: BodyFraming,
        overwrite: bool,
        max: u64,
    ) -> Result<Upload, HttpError> {
        let dir = files.upload_dir(path)?;
        let ct = head
            .header("content-type")
            .ok_or(HttpError::UnsupportedMediaType)?;
        let boundary = Boundary::from_form_data(ct).map_err(|e| match e {
            crate::consume::MultipartError::BadBoundary {
                reason: "not multipart/form-data" | "no media type" | "malformed media type",
            } => HttpError::UnsupportedMediaType,
            e => HttpError::BadMultipart(e),
        })?;
        if let BodyFraming::Length(n) = framing
            && n > max
        {
            return Err(HttpError::BodyTooLarge { limit: max });
        }
        let limits = MultipartLimits::default()
            .max_total(max)
            .max_part_bytes(max);
        Ok(Upload {
            dir: Arc::new(dir),
            parser: MultipartParser::new(&boundary, limits),
            buf: BytesMut::new(),
            overwrite,
            part: Part::Between,
            stored: Vec::new(),
        })
    }

    /// A piece of the body, as it came off the connection.
    pub(crate) fn feed(&mut self, piece: &[u8]) -> Result<(), HttpError> {
        self.buf.extend_from_slice(piece);
        while let Some(event) = self
            .parser
            .decode(&mut self.buf)
            .map_err(HttpError::BadMultipart)?
        {
            self.on_event(event)?;
        }
        Ok(())
    }

    /// The body is complete: the reply, 201 with the names stored, one a
    /// line; or why the body is refused.
    pub(crate) fn finish(mut self) -> Result<Reply, HttpError> {
        while let Some(event) = self
            .parser
            .decode_eof(&mut self.buf)
            .map_err(HttpError::BadMultipart)?
        {
            self.on_event(event)?;
        }
        if self.stored.is_empty() {
            return Err(HttpError::BadUploadName {
                reason: "no file in the form",
            });
        }
        let mut body = self.stored.join("\n");
        body.push('\n');
        Ok(Reply {
            head: ResponseHead::new(Status::CREATED)
                .header("Content-Type", "text/plain; charset=utf-8"),
            body: Body::Bytes(Bytes::from(body)),
        })
    }

    fn on_event(&mut self, event: PartEvent) -> Result<(), HttpError> {
        match event {
            PartEvent::Start(h) => self.part = self.start(&h)?,
            PartEvent::Data(b) => {
                if let Part::File(t) = &mut self.part {
                    // At most one read of the body: a bounded write.
                    t.file.write_all(&b).map_err(|e| internal(&e))?;
                }
            }
            PartEvent::End => {
                if let Part::File(mut t) = std::mem::replace(&mut self.part, Part::Between) {
                    self.place(&t)?;
                    t.kept = true;
                    self.stored.push(std::mem::take(&mut t.name));
                }
            }
        }
        Ok(())
    }

    /// A part begins: a file part gets its temporary file.
    fn start(&self, h: &PartHeaders) -> Result<Part, HttpError> {
        let name = match h.filename() {
            // A text field, or a file input left empty (browsers send
            // `filename=""`).
            None | Some("") => return Ok(Part::Ignored),
            Some(f) => check_name(f)?,
        };
        if !self.overwrite && self.exists(name) {
            return Err(HttpError::UploadExists);
        }
        let flags = OFlags::WRONLY
            | OFlags::CREATE
            | OFlags::EXCL
            | OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NOCTTY;
        let mut tries = 0;
        loop {
            let temp = format!(".upload-{:016x}.tmp", temp_token());
            match rustix::fs::openat(&*self.dir, temp.as_str(), flags, Mode::from(0o644)) {
                Ok(fd) => {
                    return Ok(Part::File(TempFile {
                        dir: self.dir.clone(),
                        file: File::from(fd),
                        temp,
                        name: name.to_owned(),
                        kept: false,
                    }));
                }
                Err(Errno::EXIST) if tries < 8 => tries += 1,
                Err(e) => return Err(internal(&e.into())),
            }
        }
    }

    fn exists(&self, name: &str) -> bool {
        rustix::fs::statat(&*self.dir, name, AtFlags::SYMLINK_NOFOLLOW).is_ok()
    }

    /// Renames the temporary file into place; without `overwrite`, never
    /// over an existing name (atomically on Linux: `RENAME_NOREPLACE`).
    fn place(&self, t: &TempFile) -> Result<(), HttpError> {
        let dir = &*self.dir;
        #[cfg(target_os = "linux")]
        let r = {
            use rustix::fs::RenameFlags;
            let flags = if self.overwrite {
                RenameFlags::empty()
            } else {
                RenameFlags::NOREPLACE
            };
            rustix::fs::renameat_with(dir, t.temp.as_str(), dir, t.name.as_str(), flags)
        };
        #[cfg(not(target_os = "linux"))]
        let r = if !self.overwrite && self.exists(&t.name) {
            Err(Errno::EXIST)
        } else {
            rustix::fs::renameat(dir, t.temp.as_str(), dir, t.name.as_str())
        };
        match r {
            Ok(()) => Ok(()),
            // A directory of that name cannot be replaced by a file either.
            Err(Errno::EXIST | Errno::ISDIR | Errno::NOTEMPTY) => Err(HttpError::UploadExists),
            Err(e) => Err(internal(&e.into())),
        }
    }
}

/// A token for a temporary file's name: unpredictable enough that another
/// writer in the directory does not collide with it (the open is
/// exclusive anyway and retried).
fn temp_token() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_or_refused() {
        for ok in ["a.txt", "résumé.pdf", "with space", "a..b", "UPPER", "x"] {
            assert_eq!(check_name(ok), Ok(ok));
        }
        for (bad, reason) in [
            ("", "an empty name"),
            ("../x", "a path separator in the name"),
            ("a/b", "a path separator in the name"),
            ("C:\\x\\a.txt", "a path separator in the name"),
            ("..", "a dot name"),
            (".", "a dot name"),
            (".hidden", "a dotfile"),
            (".upload-0.tmp", "a dotfile"),
            ("a\0b", "a control character in the name"),
            ("a\nb", "a control character in the name"),
            ("a\u{7f}", "a control character in the name"),
            ("a\u{9b}b", "a control character in the name"),
        ] {
            assert_eq!(
                check_name(bad),
                Err(HttpError::BadUploadName { reason }),
                "{bad:?}"
            );
        }
        let long = "x".repeat(256);
        assert!(check_name(&long).is_err());
        assert!(check_name(&long[..255]).is_ok());
    }
}
