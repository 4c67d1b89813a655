//! [`Root`]: the directory files are served from, made canonical once, and
//! the file-system half of [`UrlPath`] ([`UrlPath::resolve`]). Only `std`:
//! compiled with `http` or `http-body`, so a hyper or axum handler can map
//! a request path to a file under a root the same way the crate's server
//! does.
//!
//! A root given as `.`, `./site/../site` or a symbolic link to a directory
//! is canonicalised when the [`Root`] is made: the check that a resolved
//! path lies under the root compares canonical paths, and against a
//! non-canonical root it would refuse every file (403 with no hint why).
//! A root that does not exist or is not a directory is refused there, with
//! an error that names it and says why ([`RootError`]).

use std::error::Error;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::http::proto::{HttpError, UrlPath};

/// A directory to serve files from: canonical (absolute, no `.`, `..` or
/// symbolic link in it), checked to be a directory when made.
///
/// ```
/// use producers::http::{Root, UrlPath};
/// # let dir = std::env::temp_dir().join(format!("producers-root-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(dir.join("site")).unwrap();
/// # std::fs::write(dir.join("site/a.txt"), "a").unwrap();
///
/// // A root with `..` in it still serves its files.
/// let root = Root::new(dir.join("site/../site"))?;
/// let file = root.resolve(&UrlPath::from_decoded("a.txt")?)?;
/// assert_eq!(file, root.path().join("a.txt"));
/// assert!(Root::new(dir.join("nowhere")).is_err());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// Canonical, a directory when made.
    path: PathBuf,
}

/// Why a directory cannot be a [`Root`].
#[derive(Debug)]
#[non_exhaustive]
pub enum RootError {
    /// The path does not resolve: it does not exist, or a component of it
    /// cannot be searched.
    Unresolved {
        /// The path as given.
        path: PathBuf,
        /// What the file system said.
        source: io::Error,
    },
    /// The path resolves to something other than a directory.
    NotADirectory {
        /// The path as given.
        path: PathBuf,
        /// What it resolves to.
        canonical: PathBuf,
    },
}

impl fmt::Display for RootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootError::Unresolved { path, source } => {
                write!(f, "root {} does not resolve: {source}", path.display())
            }
            RootError::NotADirectory { path, canonical } => write!(
                f,
                "root {} is not a directory (it resolves to {})",
                path.display(),
                canonical.display()
            ),
        }
    }
}

impl Error for RootError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            RootError::Unresolved { source, .. } => Some(source),
            RootError::NotADirectory { .. } => None,
        }
    }
}

impl From<RootError> for io::Error {
    fn from(e: RootError) -> io::Error {
        let kind = match &e {
            RootError::Unresolved { source, .. } => source.kind(),
            RootError::NotADirectory { .. } => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}

impl Root {
    /// The directory at `path`, made canonical now (relative paths are
    /// taken from the current directory, once); fails if it does not
    /// resolve or is not a directory.
    pub fn new(path: impl AsRef<Path>) -> Result<Root, RootError> {
        let given = path.as_ref();
        let canonical = fs::canonicalize(given).map_err(|source| RootError::Unresolved {
            path: given.to_owned(),
            source,
        })?;
        if !canonical.is_dir() {
            return Err(RootError::NotADirectory {
                path: given.to_owned(),
                canonical,
            });
        }
        Ok(Root { path: canonical })
    }

    /// The canonical directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where `path` leads under the root: see [`UrlPath::resolve`].
    pub fn resolve(&self, path: &UrlPath) -> Result<PathBuf, HttpError> {
        path.resolve(self)
    }

    /// The precompressed sidecar of a file (nginx's `gzip_static`,
    /// tower-http's `precompressed_*`): the file at `path` with `suffix`
    /// appended to its name (`.gz`, `.br`, `.zst`), open,
    /// with its metadata, when it resolves under the root, is a regular
    /// file, and is no older than the file it stands for (whose metadata
    /// is `of`): an older one may be of an earlier version. `None`
    /// otherwise, and for a path that is not UTF-8. Its type is checked
    /// before it is opened, so a FIFO at that name is not opened (which
    /// would block until a writer came).
    ///
    /// ```
    /// use producers::http::{Root, UrlPath};
    /// # let dir = std::env::temp_dir().join(format!("producers-sidecar-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("a.txt"), "aaaa")?;
    /// std::fs::write(dir.join("a.txt.gz"), "(gzip of aaaa)")?;
    /// let root = Root::new(&dir)?;
    /// let of = std::fs::metadata(dir.join("a.txt"))?;
    /// let path = UrlPath::from_target(b"/a.txt")?;
    /// let (_file, meta) = root.sidecar(&path, ".gz", &of).expect("fresh");
    /// assert_eq!(meta.len(), 14);
    /// assert!(root.sidecar(&path, ".br", &of).is_none());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sidecar(
        &self,
        path: &UrlPath,
        suffix: &str,
        of: &fs::Metadata,
    ) -> Option<(fs::File, fs::Metadata)> {
        if !path.is_utf8() || path.relative_str().is_empty() {
            return None;
        }
        let name = UrlPath::from_decoded(&format!("{}{suffix}", path.relative_str())).ok()?;
        let real = self.resolve(&name).ok()?;
        let looked = fs::metadata(&real).ok()?;
        if !looked.is_file() || looked.modified().ok()? < of.modified().ok()? {
            return None;
        }
        let f = fs::File::open(&real).ok()?;
        // What is open is what was looked at, not something swapped in.
        let meta = f.metadata().ok()?;
        if !meta.is_file() || meta.modified().ok()? < of.modified().ok()? {
            return None;
        }
        Some((f, meta))
    }
}

/// The file-system half of [`UrlPath`]: the protocol side decodes and
/// normalises a target without touching a file; this asks the file system
/// where it leads.
impl UrlPath {
    /// Finds the path under `root`: the canonical path of what it names,
    /// which must still lie under the root once symbolic links are
    /// followed ([`HttpError::Forbidden`] otherwise), or
    /// [`HttpError::NotFound`]. What it names may change before it is
    /// opened; the crate's server opens with `openat2(RESOLVE_BENEATH)`
    /// on Linux, which leaves no such window.
    pub fn resolve(&self, root: &Root) -> Result<PathBuf, HttpError> {
        let root = root.path();
        let full = root.join(self.relative());
        match fs::canonicalize(&full) {
            Ok(real) if real.starts_with(root) => Ok(real),
            Ok(_) => Err(HttpError::Forbidden),
            Err(e) => Err(match e.kind() {
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => HttpError::NotFound,
                io::ErrorKind::PermissionDenied => HttpError::Forbidden,
                // Includes a name too long for the file system.
                _ => HttpError::NotFound,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(name: &str) -> PathBuf {
        let base = std::env::temp_dir().join(format!("producers-{name}-{}", std::process::id()));
        let root = base.join("root");
        fs::create_dir_all(root.join("d")).unwrap();
        fs::write(root.join("d/f.txt"), b"x").unwrap();
        fs::write(base.join("secret"), b"s").unwrap();
        base
    }

    #[test]
    fn resolves_and_refuses_symlinks_out() {
        let base = tree("path");
        let root = Root::new(base.join("root")).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("secret"), root.path().join("out")).unwrap();
            std::os::unix::fs::symlink(root.path().join("d/f.txt"), root.path().join("in"))
                .unwrap();
        }
        let r = |t: &str| root.resolve(&UrlPath::from_target(t.as_bytes()).unwrap());
        assert_eq!(r("/d/f.txt").unwrap(), root.path().join("d/f.txt"));
        assert_eq!(r("/nope"), Err(HttpError::NotFound));
        assert_eq!(r("/d/f.txt/x"), Err(HttpError::NotFound));
        #[cfg(unix)]
        {
            assert_eq!(r("/out"), Err(HttpError::Forbidden));
            assert_eq!(r("/in").unwrap(), root.path().join("d/f.txt"));
        }
        fs::remove_dir_all(&base).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn only_a_fresh_regular_sidecar_under_the_root_is_taken() {
        let base = tree("sidecar");
        let root = Root::new(base.join("root")).unwrap();
        let at = |name: &str| root.path().join(name);
        let path = |t: &str| UrlPath::from_target(t.as_bytes()).unwrap();
        let of = fs::metadata(at("d/f.txt")).unwrap();
        let set_age = |name: &str, older: bool| {
            let t = of.modified().unwrap();
            let t = if older {
                t - std::time::Duration::from_secs(5)
            } else {
                t + std::time::Duration::from_secs(5)
            };
            fs::File::options()
                .write(true)
                .open(at(name))
                .unwrap()
                .set_modified(t)
                .unwrap();
        };
        fs::write(at("d/f.txt.gz"), b"gz").unwrap();
        set_age("d/f.txt.gz", false);
        let (_, m) = root.sidecar(&path("/d/f.txt"), ".gz", &of).unwrap();
        assert_eq!(m.len(), 2);
        // Older than the file: maybe of an earlier version.
        set_age("d/f.txt.gz", true);
        assert!(root.sidecar(&path("/d/f.txt"), ".gz", &of).is_none());
        // A directory, a link out of the root, a FIFO (never opened: the
        // test would hang).
        fs::create_dir(at("d/f.txt.br")).unwrap();
        assert!(root.sidecar(&path("/d/f.txt"), ".br", &of).is_none());
        std::os::unix::fs::symlink(base.join("secret"), at("d/f.txt.zst")).unwrap();
        assert!(root.sidecar(&path("/d/f.txt"), ".zst", &of).is_none());
        let fifo = at("d/f.txt.x");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        if made {
            assert!(root.sidecar(&path("/d/f.txt"), ".x", &of).is_none());
        }
        // The root itself has no sidecar.
        assert!(root.sidecar(&path("/"), ".gz", &of).is_none());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn non_canonical_roots_work() {
        let base = tree("noncanon");
        let want = fs::canonicalize(base.join("root/d/f.txt")).unwrap();
        let mut roots = vec![
            base.join("root"),
            base.join("root/./d/../"),
            base.join("root/d/../../root"),
        ];
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("root"), base.join("link")).unwrap();
            roots.push(base.join("link"));
        }
        for given in roots {
            let root = Root::new(&given).unwrap();
            assert!(root.path().is_absolute(), "{}", given.display());
            let p = UrlPath::from_decoded("d/f.txt").unwrap();
            assert_eq!(root.resolve(&p).as_ref(), Ok(&want), "{}", given.display());
        }
        // `.`: the crate's directory while tests run, taken once.
        let dot = Root::new(".").unwrap();
        assert_eq!(dot.path(), fs::canonicalize(".").unwrap());
        let lib = dot
            .resolve(&UrlPath::from_decoded("src/lib.rs").unwrap())
            .unwrap();
        assert!(lib.is_file());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn unusable_roots_say_why() {
        let base = tree("badroot");
        let e = Root::new(base.join("missing")).unwrap_err();
        assert!(matches!(e, RootError::Unresolved { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(
            msg.starts_with("root ") && msg.contains("missing") && msg.contains("does not resolve"),
            "{msg}"
        );
        assert!(e.source().is_some());
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::NotFound);
        let e = Root::new(base.join("secret")).unwrap_err();
        assert!(matches!(e, RootError::NotADirectory { .. }), "{e:?}");
        assert!(e.to_string().contains("is not a directory"), "{e}");
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::InvalidInput);
        fs::remove_dir_all(&base).unwrap();
    }
}
