//! [`Recorded`]: passes a compressed response through and records it
//! into the variant cache, committing only a whole, error-free stream.

use std::fs::File;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;

use super::variant_cache::VariantFill;
use crate::chunk::Chunk;
use crate::produce::{Counters, More, Producer};

/// The output of `P`, unchanged, copied into a [`VariantFill`] as it goes:
///
/// - at the end, the copy is committed (which checks that `file`, the
///   source, is still the version the fill is keyed by);
/// - on an error, a file region in the output (nothing to copy cheaply),
///   or output past the fill's cap, the recording is dropped and the
///   response goes on unrecorded;
/// - dropped before its end (the connection went away), nothing is kept.
///
/// Without a fill it is the inner producer alone.
#[derive(Debug)]
pub(crate) struct Recorded<P> {
    inner: P,
    /// `None` without a fill, or once the recording was given up.
    recording: Option<Recording>,
}

/// A recording in progress.
#[derive(Debug)]
struct Recording {
    fill: VariantFill,
    /// The output so far: never over `fill.max_len()`.
    copy: BytesMut,
    /// The file compressed, checked at the commit.
    source: Arc<File>,
}

impl<P: Producer> Recorded<P> {
    /// `inner`'s output, recorded into `fill` (if any); `source` is the file
    /// it compresses.
    pub(crate) fn new(inner: P, fill: Option<(VariantFill, Arc<File>)>) -> Recorded<P> {
        Recorded {
            inner,
            recording: fill.map(|(fill, source)| Recording {
                copy: BytesMut::with_capacity(fill.expected_len()),
                fill,
                source,
            }),
        }
    }
}

impl<P: Producer> Producer for Recorded<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.inner.poll_more(cx);
        if let Some(rec) = &mut self.recording {
            match &more {
                Poll::Ready(Some(Ok(Chunk::Bytes(b))))
                    if rec.copy.len() + b.len() <= rec.fill.max_len() =>
                {
                    rec.copy.extend_from_slice(b);
                }
                Poll::Pending => {}
                Poll::Ready(None) => {
                    if let Some(rec) = self.recording.take() {
                        rec.fill.commit(&rec.source, rec.copy.freeze());
                    }
                }
                // Over the cap, a region, or an error.
                Poll::Ready(Some(_)) => self.recording = None,
            }
        }
        more
    }

    fn exact_len(&self) -> Option<u64> {
        self.inner.exact_len()
    }

    fn counters(&self) -> Option<Counters> {
        self.inner.counters()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::files::cache_stats::Counters as CacheCounters;
    use crate::http::files::coding::Coding;
    use crate::http::files::identity::FileIdentity;
    use crate::http::files::identity::tests::temp_dir;
    use crate::http::files::variant_cache::VariantCache;
    use crate::testing::{Script, Step, check, drain};
    use crate::{ProducerExt, from_bytes};
    use std::io;
    use std::time::{Duration, SystemTime};

    /// An open file with `data` (its name already removed) and its
    /// identity.
    fn source(data: &[u8]) -> (Arc<File>, FileIdentity) {
        let dir = temp_dir("recorded");
        let p = dir.join("f");
        std::fs::write(&p, data).unwrap();
        let f = File::open(&p).unwrap();
        // Unlinking changes `ctime`: the identity is taken after.
        std::fs::remove_dir_all(&dir).unwrap();
        let id = FileIdentity::from_metadata(&f.metadata().unwrap());
        (Arc::new(f), id)
    }

    fn fill_for(cache: &Arc<VariantCache>, id: FileIdentity) -> Option<VariantFill> {
        // `begin_fill` wants a settled file; wait until this one is.
        while !id.settled(SystemTime::now()) {
            std::thread::sleep(Duration::from_millis(50));
        }
        cache.begin_fill(id, Coding::Gzip)
    }

    #[test]
    fn passes_output_through_unchanged() {
        let data = b"0123456789".repeat(1000);
        check(
            || Recorded::new(from_bytes(data.clone()).pieces(7), None),
            &data,
        );
    }

    #[test]
    fn commits_a_whole_stream_and_nothing_else() {
        let counters = Arc::new(CacheCounters::default());
        let cache = Arc::new(VariantCache::new(1 << 20, 1 << 20, counters));
        // Three versions made first, so one wait settles them all.
        let (f, id) = source(b"the source");
        let (f2, id2) = source(b"another source");
        let (f3, id3) = source(b"a third source");
        let fill = fill_for(&cache, id).unwrap();
        let p = Recorded::new(
            from_bytes(&b"compressed bytes"[..]).pieces(3),
            Some((fill, f.clone())),
        );
        let (out, r) = drain(p);
        r.unwrap();
        assert_eq!(out, b"compressed bytes");
        assert_eq!(
            cache.get(&id, Coding::Gzip).as_deref(),
            Some(&b"compressed bytes"[..])
        );

        // An error midway: nothing kept, and the marker is gone.
        let fill = fill_for(&cache, id2).unwrap();
        let script = Script::new([
            Step::chunk(&b"part"[..]),
            Step::error(io::ErrorKind::UnexpectedEof),
        ]);
        let (_, r) = drain(Recorded::new(script, Some((fill, f2))));
        assert!(r.is_err());
        assert!(cache.get(&id2, Coding::Gzip).is_none());
        assert!(
            cache.begin_fill(id2, Coding::Gzip).is_some(),
            "free to fill again"
        );

        // Dropped before the end: nothing kept.
        let fill = fill_for(&cache, id3).unwrap();
        let mut p = Recorded::new(from_bytes(&b"abcdef"[..]).pieces(2), Some((fill, f3)));
        let _ = p.more().unwrap();
        drop(p);
        assert!(cache.get(&id3, Coding::Gzip).is_none());
    }

    #[test]
    fn output_over_the_cap_is_not_kept() {
        let cache = Arc::new(VariantCache::new(8, 1 << 20, Arc::default()));
        let (f, id) = source(b"the source");
        let fill = fill_for(&cache, id).unwrap();
        let (out, r) = drain(Recorded::new(
            from_bytes(&b"more than eight bytes"[..]).pieces(4),
            Some((fill, f)),
        ));
        r.unwrap();
        assert_eq!(out, b"more than eight bytes");
        assert!(cache.get(&id, Coding::Gzip).is_none());
    }
}
