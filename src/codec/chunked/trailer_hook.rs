//! [`TrailerHook`]: trailer fields computed over a chunked body as it is
//! encoded, sent after the last-chunk.

use super::Trailer;

/// Trailer fields computed over the payload of a [`Chunked`](super::Chunked)
/// encoder as it goes out, and sent when the body ends (RFC 9112 section
/// 7.1.2): a digest, a count, a signature.
///
/// Set with [`Chunked::trailer_hook`](super::Chunked::trailer_hook).
/// [`update`](TrailerHook::update) sees every payload byte once, in order;
/// [`finish`](TrailerHook::finish) is called once, after the inner producer
/// has ended and before the last-chunk goes out. After an error (from the
/// inner producer, or reading a file region), `finish` is never called: the
/// body is cut short without a last-chunk, and the hook is dropped.
///
/// The fields `finish` returns are validated like the fixed ones of
/// [`Chunked::trailer`](super::Chunked::trailer) (a token name; a value
/// without control bytes other than tab and without surrounding
/// whitespace): an invalid one ends the encoder with
/// [`ChunkedError::InvalidField`](super::ChunkedError::InvalidField) instead
/// of the last-chunk, so the peer sees a truncated body, never a malformed
/// trailer section. They follow the fixed trailers, if any.
///
/// ```
/// use producers::{ProducerExt, from_bytes};
/// use producers::codec::chunked::{Trailer, TrailerHook};
///
/// /// Counts the payload bytes.
/// #[derive(Debug, Default)]
/// struct Count(u64);
///
/// impl TrailerHook for Count {
///     fn update(&mut self, data: &[u8]) {
///         self.0 += data.len() as u64;
///     }
///     fn finish(self) -> Vec<Trailer> {
///         vec![Trailer { name: "X-Count".into(), value: self.0.to_string().into() }]
///     }
/// }
///
/// let out = from_bytes("hello").chunked().trailer("X-Fixed", "1")?
///     .trailer_hook(Count::default())
///     .collect_bytes()?;
/// assert_eq!(&out[..], b"5\r\nhello\r\n0\r\nX-Fixed: 1\r\nX-Count: 5\r\n\r\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # File regions
///
/// A hook needs the bytes, so while an [active](TrailerHook::is_active)
/// hook is set, the encoder reads each file region in pieces of at most
/// [`REGION_PIECE`](crate::chunk::REGION_PIECE) bytes (64 KiB, the crate's
/// piece size for a codec that walks bytes; see rule 6 of [the producer
/// contract](crate::produce#the-contract)) and frames them as memory: the
/// region is read once, and the bytes read are the bytes sent. Without a
/// hook ([`NoHook`], the default) regions pass through unread, so the
/// writer can `sendfile` them.
pub trait TrailerHook {
    /// Takes in the next payload bytes.
    fn update(&mut self, data: &[u8]);

    /// The trailer fields, once the whole payload has gone through
    /// [`update`](TrailerHook::update). An empty list adds none.
    fn finish(self) -> Vec<Trailer>;

    /// Whether this hook looks at the payload and adds trailers at all.
    ///
    /// `false` (for [`NoHook`], or a `None` hook) means neither `update`
    /// nor `finish` is called: file regions pass through unread, and the
    /// encoder's [`exact_len`](crate::Producer::exact_len) is known as
    /// without a hook. `true` (the default) makes `exact_len` unknown until
    /// the end, since the trailers' length is only known then.
    fn is_active(&self) -> bool {
        true
    }
}

/// No trailer hook: the default of [`Chunked`](super::Chunked). Sees no
/// bytes and adds no trailers, so file regions pass through unread.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHook;

impl TrailerHook for NoHook {
    fn update(&mut self, _data: &[u8]) {}

    fn finish(self) -> Vec<Trailer> {
        Vec::new()
    }

    fn is_active(&self) -> bool {
        false
    }
}

/// A hook chosen at run time: `None` is [`NoHook`].
impl<H: TrailerHook> TrailerHook for Option<H> {
    fn update(&mut self, data: &[u8]) {
        if let Some(h) = self {
            h.update(data);
        }
    }

    fn finish(self) -> Vec<Trailer> {
        self.map(H::finish).unwrap_or_default()
    }

    fn is_active(&self) -> bool {
        self.as_ref().is_some_and(H::is_active)
    }
}

/// Two hooks over the same bytes: the first's fields, then the second's.
impl<A: TrailerHook, B: TrailerHook> TrailerHook for (A, B) {
    fn update(&mut self, data: &[u8]) {
        if self.0.is_active() {
            self.0.update(data);
        }
        if self.1.is_active() {
            self.1.update(data);
        }
    }

    fn finish(self) -> Vec<Trailer> {
        let (a, b) = (self.0.is_active(), self.1.is_active());
        let mut fields = if a { self.0.finish() } else { Vec::new() };
        if b {
            fields.extend(self.1.finish());
        }
        fields
    }

    fn is_active(&self) -> bool {
        self.0.is_active() || self.1.is_active()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default)]
    struct Seen(Vec<u8>, &'static str);

    impl TrailerHook for Seen {
        fn update(&mut self, data: &[u8]) {
            self.0.extend_from_slice(data);
        }
        fn finish(self) -> Vec<Trailer> {
            vec![Trailer {
                name: self.1.into(),
                value: self.0.into(),
            }]
        }
    }

    #[test]
    fn option_and_pair_combine_hooks() {
        let mut none: Option<Seen> = None;
        assert!(!none.is_active());
        none.update(b"x");
        assert!(none.finish().is_empty());
        assert!(!NoHook.is_active());

        let mut pair = (Seen(vec![], "a"), (NoHook, Some(Seen(vec![], "b"))));
        assert!(pair.is_active());
        pair.update(b"xy");
        pair.update(b"z");
        let f = pair.finish();
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].name.as_str(), &f[0].value[..]), ("a", &b"xyz"[..]));
        assert_eq!((f[1].name.as_str(), &f[1].value[..]), ("b", &b"xyz"[..]));
    }
}
