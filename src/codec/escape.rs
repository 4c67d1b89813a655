//! Split-safe find/replace escaping (Medusa's `escaping_producer`): the
//! sans-I/O [`Escaper`] and the [`Escaped`] producer combinator.
//!
//! Every occurrence of a non-empty byte string `find` in a stream is replaced
//! by `replace`, with the same result as [`str::replace`] on the whole stream
//! (leftmost, non-overlapping occurrences) however the stream is cut into
//! chunks:
//!
//! ```
//! use producers::{ProducerExt, produce::BytesProducer};
//!
//! // Split into 1-byte chunks: every occurrence straddles a boundary.
//! let out = BytesProducer::with_piece_size("a<b<<c", 1)?
//!     .escaped("<", "&lt;")
//!     .collect_bytes()?;
//! assert_eq!(&out[..], b"a&lt;b&lt;&lt;c");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # How it works, and what it costs
//!
//! - **Zero-copy between matches.** Input is never copied: the output is a
//!   sequence of [`Bytes::slice`]s of the input chunks between occurrences,
//!   interleaved with clones of the shared `replace` bytes. A chunk without an
//!   occurrence comes out as the same memory (minus a held tail, below).
//! - **Split-safe with a bounded hold-back.** A chunk that ends with the
//!   first `k < find.len()` bytes of `find` cannot be decided yet: those
//!   bytes are held back, at most `find.len() - 1` of them. They are always
//!   `find[..k]`, so holding them costs no buffer; they are handed out as a
//!   slice of `find` when the occurrence turns out not to complete, or at the
//!   end of the stream ([`Escaper::finish`]): the held tail is never lost.
//! - **Insertion needs no hold-back.** When `replace` begins with `find` (an
//!   insertion after every occurrence, like SMTP dot-stuffing, where
//!   `"\r\n."` becomes `"\r\n.."`), nothing is held back at all: the input is
//!   passed through as it comes and only the inserted suffix
//!   (`replace[find.len()..]`) is added.
//! - **Scanning.** Occurrences inside a chunk are found with
//!   [`memchr::memmem`]; each input byte is scanned once, except that the
//!   last `find.len() - 1` bytes of a chunk are walked again through a small
//!   KMP automaton to learn how much of `find` they begin, and that up to
//!   `find.len() - 1` bytes at the start of the next chunk are walked by the
//!   same automaton to complete (or rule out) that partial occurrence. Work per
//!   chunk is thus O(chunk + find.len()).
//! - **Never ends early.** A chunk that is held back entirely produces no
//!   output, and the producer simply asks its inner producer for more; the end
//!   is reported only when the inner producer has ended and the held tail has
//!   been handed out.
//! - **File regions** are read in bounded pieces of [`REGION_PIECE`] bytes, and
//!   come out as memory.

use std::collections::VecDeque;
use std::io;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use memchr::memmem;

use crate::chunk::{Chunk, NonEmptyBytes, REGION_PIECE};
use crate::produce::{Counters, More, Producer};

/// The sans-I/O core of [`Escaped`]: replaces every occurrence of `find` by
/// `replace` in a stream fed in pieces of any size.
///
/// Feed it input with [`next_piece`](Escaper::next_piece) until it returns
/// `None` (the input is used up; some of it may be held back), then feed the
/// next piece; at the end of the stream call [`finish`](Escaper::finish) to
/// get the held tail.
///
/// ```
/// use bytes::Bytes;
/// use producers::codec::escape::Escaper;
///
/// let mut esc = Escaper::new("ab", "X");
/// let mut out = Vec::new();
/// for piece in ["xa", "bya", "a", "b", "a"] {
///     let mut input = Bytes::from(piece);
///     while let Some(p) = esc.next_piece(&mut input) {
///         out.extend_from_slice(&p);
///     }
/// }
/// out.extend_from_slice(&esc.finish().unwrap_or_default());
/// assert_eq!(out, b"xXyaXa");
/// ```
#[derive(Clone, Debug)]
pub struct Escaper {
    find: Bytes,
    replace: Bytes,
    /// `Some(replace[find.len()..])` when `replace` begins with `find`: the
    /// escaper then only inserts, and never holds input back.
    insert: Option<Bytes>,
    finder: memmem::Finder<'static>,
    /// KMP failure function: `fail[i]` is the length of the longest proper
    /// border (prefix that is also a suffix) of `find[..=i]`.
    fail: Box<[usize]>,
    /// The input seen so far ends with `find[..matched]`, the start of an
    /// occurrence that may still complete (`matched < find.len()`). In
    /// replace mode these bytes are held back (not yet handed out); in
    /// insert mode they have been handed out already.
    matched: usize,
    /// Output pieces decided but not handed out yet; never more than three
    /// (a held-back literal, input up to an occurrence, and the
    /// replacement), because input is consumed at most one occurrence at a
    /// time. Empty pieces are never queued.
    queue: VecDeque<NonEmptyBytes>,
}

impl Escaper {
    /// An escaper replacing every occurrence of `find` by `replace`.
    ///
    /// # Panics
    ///
    /// If `find` is empty (there is no sensible meaning for "every
    /// occurrence of nothing").
    pub fn new(find: impl Into<Bytes>, replace: impl Into<Bytes>) -> Escaper {
        let find = find.into();
        let replace = replace.into();
        assert!(!find.is_empty(), "the escaped string must not be empty");
        let insert = replace
            .starts_with(&find)
            .then(|| replace.slice(find.len()..));
        let finder = memmem::Finder::new(&find[..]).into_owned();
        Escaper {
            fail: failure_function(&find),
            find,
            replace,
            insert,
            finder,
            matched: 0,
            queue: VecDeque::with_capacity(3),
        }
    }

    /// The escaper for SMTP dot-stuffing: `"\r\n."` becomes `"\r\n.."`, and
    /// the stream starts as if it followed a CRLF, so a first line beginning
    /// with `.` is stuffed too.
    pub(crate) fn dot_stuffer() -> Escaper {
        let mut e = Escaper::new(Bytes::from_static(b"\r\n."), Bytes::from_static(b"\r\n.."));
        // Insert mode, so these two virtual bytes count as already handed
        // out: they are never emitted.
        e.matched = 2;
        e
    }

    /// The string being replaced.
    pub fn find(&self) -> &Bytes {
        &self.find
    }

    /// Its replacement.
    pub fn replace(&self) -> &Bytes {
        &self.replace
    }

    /// How many bytes at the end of the input seen so far begin an
    /// occurrence of `find` (always less than `find.len()`).
    pub fn partial_match(&self) -> usize {
        self.matched
    }

    /// How many input bytes are held back as the tail, not yet handed out: `0` when
    /// `replace` begins with `find`, otherwise
    /// [`partial_match`](Escaper::partial_match). Never more than
    /// `find.len() - 1`.
    pub fn tail_len(&self) -> usize {
        if self.insert.is_some() {
            0
        } else {
            self.matched
        }
    }

    /// Bytes decided but not handed out yet by `next_piece`.
    pub(crate) fn queued_len(&self) -> u64 {
        self.queue.iter().map(|b| b.len() as u64).sum()
    }

    /// The next piece of output, consuming from the front of `input` as
    /// needed. Returns `None` when `input` is used up and everything decided
    /// so far has been handed out; then feed the next piece of input (or call
    /// [`finish`](Escaper::finish)). Pieces are never empty, by type.
    pub fn next_piece(&mut self, input: &mut Bytes) -> Option<NonEmptyBytes> {
        loop {
            if let Some(p) = self.queue.pop_front() {
                return Some(p);
            }
            if input.is_empty() {
                return None;
            }
            self.step(input);
        }
    }

    /// Pops an already decided piece without consuming input.
    pub(crate) fn pop_queued(&mut self) -> Option<NonEmptyBytes> {
        self.queue.pop_front()
    }

    /// The end of the stream: the held tail, if any (a partial occurrence of
    /// `find` that never completed is literal data). Call it after
    /// `next_piece` has returned `None`.
    pub fn finish(&mut self) -> Option<Bytes> {
        let tail_len = self.tail_len();
        if tail_len == 0 {
            return None;
        }
        self.matched = 0;
        Some(self.find.slice(..tail_len))
    }

    /// Queues `piece` unless it is empty.
    fn push(&mut self, piece: Bytes) {
        if let Some(piece) = NonEmptyBytes::new(piece) {
            self.queue.push_back(piece);
        }
    }

    /// Pushes what one occurrence becomes (after the input up to it).
    fn push_replacement(&mut self) {
        let r = self.insert.clone().unwrap_or_else(|| self.replace.clone());
        self.push(r);
    }

    /// KMP transition: the partial match after `q` matched bytes and `b`.
    fn advance(&self, mut q: usize, b: u8) -> usize {
        loop {
            if self.find[q] == b {
                return q + 1;
            }
            if q == 0 {
                return 0;
            }
            q = self.fail[q - 1];
        }
    }

    /// Consumes input up to and including the next occurrence of `find`, or
    /// all of it, queuing at most three pieces. `input` is not empty.
    fn step(&mut self, input: &mut Bytes) {
        let flen = self.find.len();
        let mut from = 0;
        if self.matched > 0 {
            // The junction: does the partial occurrence at the end of the
            // previous input (or one starting inside it) complete here?
            let h = std::mem::take(&mut self.matched);
            let (mut q, mut j) = (h, 0);
            // While q > j, the partial match still starts inside the held
            // part; each byte here is looked at once more below at most, and
            // j < find.len().
            while q > j && j < input.len() {
                q = self.advance(q, input[j]);
                j += 1;
                if q == flen {
                    // An occurrence starting at byte h + j - flen of the held
                    // part: the held bytes before it are literal.
                    let literal = h + j - flen;
                    if self.insert.is_some() {
                        self.push(input.split_to(j));
                    } else {
                        self.push(self.find.slice(..literal));
                        input.advance(j);
                    }
                    self.push_replacement();
                    return;
                }
            }
            if q > j {
                // The input ran out inside a partial occurrence that began
                // in the held part; it goes on being partial.
                debug_assert_eq!(j, input.len());
                if self.insert.is_some() {
                    self.push(input.split_to(j));
                } else {
                    self.push(self.find.slice(..h + j - q));
                    input.advance(j);
                }
                self.matched = q;
                return;
            }
            // No occurrence starts in the held part: it is literal. A partial
            // occurrence may start at input[j - q]; scan from there.
            if self.insert.is_none() {
                self.push(self.find.slice(..h));
            }
            from = j - q;
        }
        match self.finder.find(&input[from..]) {
            Some(at) => {
                let m = from + at;
                if self.insert.is_some() {
                    self.push(input.split_to(m + flen));
                } else {
                    self.push(input.split_to(m));
                    input.advance(flen);
                }
                self.push_replacement();
            }
            None => {
                // No occurrence: how much of `find` does the tail begin?
                // Only the last flen - 1 bytes can matter.
                let start = from.max(input.len().saturating_sub(flen - 1));
                let q = input[start..].iter().fold(0, |q, &b| self.advance(q, b));
                debug_assert!(q < flen);
                self.matched = q;
                if self.insert.is_some() {
                    self.push(std::mem::take(input));
                } else {
                    let keep = input.len() - q;
                    self.push(input.split_to(keep));
                    input.advance(q);
                }
            }
        }
    }
}

/// The KMP failure function of `pat`.
fn failure_function(pat: &[u8]) -> Box<[usize]> {
    let mut fail = vec![0; pat.len()];
    let mut k = 0;
    for i in 1..pat.len() {
        while k > 0 && pat[i] != pat[k] {
            k = fail[k - 1];
        }
        if pat[i] == pat[k] {
            k += 1;
        }
        fail[i] = k;
    }
    fail.into_boxed_slice()
}

/// Replaces every occurrence of `find` by `replace` in the inner producer's
/// output, however it is cut into chunks (Medusa's `escaping_producer`).
///
/// Made by [`ProducerExt::escaped`](crate::ProducerExt::escaped). See the
/// [module documentation](self) for the guarantees: output is zero-copy
/// slices of the input between occurrences, at most `find.len() - 1` bytes
/// are held back (none when `replace` begins with `find`), the held tail is
/// handed out at the end, and a chunk that is held back entirely never ends
/// the stream early.
///
/// When the inner producer fails, what was decided and held is handed out
/// first and the error follows, as with [`Globbed`](crate::produce::Globbed).
#[derive(Debug)]
pub struct Escaped<P> {
    inner: P,
    escaper: Escaper,
    state: State,
    counters: Counters,
}

/// Where the escaping producer is in its input.
#[derive(Debug)]
enum State {
    /// Ask the inner producer for the next chunk.
    Reading,
    /// Escaping `input`; `rest` is the unread remainder of a file region.
    Escaping { input: Bytes, rest: Option<Chunk> },
    /// The inner producer failed; report this after the queued pieces.
    Failed(io::Error),
    /// The inner producer ended (or its error was reported); only queued
    /// pieces remain.
    Done,
}

impl<P: Producer> Escaped<P> {
    pub(crate) fn new(inner: P, escaper: Escaper) -> Self {
        Escaped {
            inner,
            escaper,
            state: State::Reading,
            counters: Counters::default(),
        }
    }

    /// The escaper, for its `find`, `replace` and what it holds.
    pub fn escaper(&self) -> &Escaper {
        &self.escaper
    }

    /// The inner producer.
    pub fn get_ref(&self) -> &P {
        &self.inner
    }

    /// The inner producer, mutably. Taking chunks from it directly breaks
    /// the output.
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// The inner producer; held and queued bytes are dropped.
    pub fn into_inner(self) -> P {
        self.inner
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> More {
        loop {
            if let Some(p) = self.escaper.pop_queued() {
                return Poll::Ready(Some(Ok(Chunk::Bytes(p))));
            }
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return Poll::Ready(None),
                State::Failed(e) => return Poll::Ready(Some(Err(e))),
                State::Escaping { mut input, rest } => {
                    if let Some(p) = self.escaper.next_piece(&mut input) {
                        self.state = if input.is_empty() && rest.is_none() {
                            State::Reading
                        } else {
                            State::Escaping { input, rest }
                        };
                        return Poll::Ready(Some(Ok(Chunk::Bytes(p))));
                    }
                    self.state = match rest {
                        None => State::Reading,
                        Some(c) => match c.split_bytes(REGION_PIECE) {
                            Ok((input, rest)) => State::Escaping { input, rest },
                            Err(e) => self.fail(e),
                        },
                    };
                }
                State::Reading => match self.inner.poll_more(cx) {
                    Poll::Ready(Some(Ok(Chunk::Bytes(input)))) => {
                        self.state = State::Escaping {
                            input: input.into_bytes(),
                            rest: None,
                        };
                    }
                    Poll::Ready(Some(Ok(c @ Chunk::File(_)))) => {
                        self.state = State::Escaping {
                            input: Bytes::new(),
                            rest: Some(c),
                        };
                    }
                    Poll::Ready(Some(Err(e))) => self.state = self.fail(e),
                    Poll::Ready(None) => {
                        // The end: the held tail is literal and goes out.
                        if let Some(tail) = self.escaper.finish() {
                            self.escaper.push(tail);
                        }
                    }
                    Poll::Pending => {
                        self.state = State::Reading;
                        return Poll::Pending;
                    }
                },
            }
        }
    }

    /// The state after an error: the held tail goes out before it.
    fn fail(&mut self, e: io::Error) -> State {
        if let Some(tail) = self.escaper.finish() {
            self.escaper.push(tail);
        }
        State::Failed(e)
    }
}

impl<P: Producer> Producer for Escaped<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        let more = self.poll_inner(cx);
        self.counters.record(more)
    }

    /// Known only once no input is left to escape: when the inner producer
    /// has ended, or promises no more bytes and the last chunk is used up.
    fn exact_len(&self) -> Option<u64> {
        let queued = self.escaper.queued_len();
        match &self.state {
            State::Done => Some(queued),
            State::Reading if self.inner.exact_len() == Some(0) => {
                Some(queued + self.escaper.tail_len() as u64)
            }
            _ => None,
        }
    }

    fn counters(&self) -> Option<Counters> {
        Some(self.counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Script, Step};
    use crate::{FileProducer, ProducerExt, from_bytes, produce::BytesProducer};
    use proptest::prelude::*;

    /// Leftmost non-overlapping replacement, the model.
    fn naive(input: &[u8], find: &[u8], replace: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            if input[i..].starts_with(find) {
                out.extend_from_slice(replace);
                i += find.len();
            } else {
                out.push(input[i]);
                i += 1;
            }
        }
        out
    }

    /// Escapes `chunks` with the sans-I/O escaper, returning the pieces.
    fn escape_pieces(find: &[u8], replace: &[u8], chunks: &[&[u8]]) -> Vec<Bytes> {
        let mut esc = Escaper::new(find.to_vec(), replace.to_vec());
        let mut out = Vec::new();
        for c in chunks {
            let mut input = Bytes::copy_from_slice(c);
            while let Some(p) = esc.next_piece(&mut input) {
                out.push(p.into_bytes());
            }
            assert!(input.is_empty());
            assert!(esc.tail_len() < find.len());
        }
        out.extend(esc.finish());
        out
    }

    fn escape_all(find: &[u8], replace: &[u8], chunks: &[&[u8]]) -> Vec<u8> {
        escape_pieces(find, replace, chunks).concat()
    }

    fn script(input: &[u8], cuts: &[usize]) -> Script {
        let mut steps = Vec::new();
        let mut last = 0;
        for &c in cuts.iter().chain([&input.len()]) {
            let c = c.clamp(last, input.len());
            if c > last {
                steps.push(Step::chunk(Bytes::copy_from_slice(&input[last..c])));
                steps.push(Step::Pending);
            }
            last = c;
        }
        Script::new(steps)
    }

    #[test]
    fn failure_function_is_kmp() {
        assert_eq!(&*failure_function(b"abab"), &[0, 0, 1, 2]);
        assert_eq!(&*failure_function(b"aaa"), &[0, 1, 2]);
        assert_eq!(&*failure_function(b"\r\n."), &[0, 0, 0]);
    }

    #[test]
    fn every_split_and_pair_of_splits_matches_the_model() {
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"a<b<<c<", b"<", b"&lt;"),
            (b"xabyaabaabab", b"ab", b"X"),
            (b"aaaaaaa", b"aa", b"b"),
            (b"abababab", b"abab", b""),
            (b"ab\r\n.x\r\n..\r\n.\r\n", b"\r\n.", b"\r\n.."),
            (b"aaaab", b"aab", b"aabZ"),
            (b"aabaabaaab", b"aabaaab", b"Q"),
            (b"abcabd", b"abcabd", b"-"),
        ];
        for &(input, find, replace) in cases {
            let want = naive(input, find, replace);
            assert_eq!(escape_all(find, replace, &[input]), want);
            for i in 0..=input.len() {
                let (a, b) = input.split_at(i);
                assert_eq!(escape_all(find, replace, &[a, b]), want, "split at {i}");
                for j in i..=input.len() {
                    let (b, c) = input[i..].split_at(j - i);
                    assert_eq!(
                        escape_all(find, replace, &[a, b, c]),
                        want,
                        "splits {i} {j}"
                    );
                }
            }
        }
    }

    #[test]
    fn exact_outputs() {
        assert_eq!(escape_all(b"aa", b"b", &[b"aaa"]), b"ba");
        assert_eq!(escape_all(b"aa", b"aaX", &[b"a", b"aa"]), b"aaXa");
        assert_eq!(
            escape_all(b"ab", b"X", &[b"xa", b"bya", b"a", b"b", b"a"]),
            b"xXyaXa"
        );
        // The held tail at the end is never lost.
        assert_eq!(escape_all(b"abc", b"X", &[b"zzab"]), b"zzab");
    }

    #[test]
    fn slices_between_matches_are_zero_copy() {
        let input = Bytes::from_static(b"hello <world> and <more>");
        let mut esc = Escaper::new("<", "&lt;");
        let mut rest = input.clone();
        let first = esc.next_piece(&mut rest).unwrap();
        assert_eq!(&first[..], b"hello ");
        assert_eq!(first.as_ptr(), input.as_ptr(), "a slice of the input");
        let rep = esc.next_piece(&mut rest).unwrap();
        assert_eq!(
            rep.as_ptr(),
            esc.replace().as_ptr(),
            "the shared replacement"
        );
        let next = esc.next_piece(&mut rest).unwrap();
        assert_eq!(&next[..], b"world> and ");
        assert_eq!(next.as_ptr(), input[7..].as_ptr());
    }

    #[test]
    fn held_bytes_are_bounded_by_find_len_minus_one() {
        let mut esc = Escaper::new("abcd", "X");
        let mut input = Bytes::from_static(b"zzzabc");
        assert_eq!(&esc.next_piece(&mut input).unwrap()[..], b"zzz");
        assert!(esc.next_piece(&mut input).is_none());
        assert_eq!(esc.tail_len(), 3);
        // A chunk held back entirely.
        let mut esc = Escaper::new("abcd", "X");
        let mut input = Bytes::from_static(b"ab");
        assert!(esc.next_piece(&mut input).is_none());
        assert!(input.is_empty());
        assert_eq!(esc.tail_len(), 2);
        let mut input = Bytes::from_static(b"c");
        assert!(esc.next_piece(&mut input).is_none());
        assert_eq!(esc.tail_len(), 3);
        assert_eq!(esc.finish().unwrap(), &b"abc"[..]);
        assert_eq!(esc.tail_len(), 0);
    }

    #[test]
    fn insertion_holds_nothing_back() {
        let mut esc = Escaper::new("ab", "ab!");
        let mut input = Bytes::from_static(b"xxa");
        assert_eq!(&esc.next_piece(&mut input).unwrap()[..], b"xxa");
        assert_eq!(esc.tail_len(), 0);
        assert_eq!(esc.partial_match(), 1);
        let mut input = Bytes::from_static(b"b");
        assert_eq!(&esc.next_piece(&mut input).unwrap()[..], b"b");
        assert_eq!(&esc.next_piece(&mut input).unwrap()[..], b"!");
        assert!(esc.next_piece(&mut input).is_none());
        assert!(esc.finish().is_none());
    }

    #[test]
    #[should_panic(expected = "must not be empty")]
    fn empty_find_panics() {
        let _ = Escaper::new("", "x");
    }

    #[test]
    fn conformance() {
        let data = b"one <two> <<three>> four<".repeat(20);
        let want = naive(&data, b"<", b"&lt;");
        for piece in [1, 2, 3, 7, 64, 1000] {
            testing::check(
                || {
                    BytesProducer::with_piece_size(data.clone(), piece)
                        .unwrap()
                        .escaped("<", "&lt;")
                },
                &want,
            );
            let want = naive(&data, b"> <", b"");
            testing::check(
                || {
                    BytesProducer::with_piece_size(data.clone(), piece)
                        .unwrap()
                        .escaped("> <", "")
                },
                &want,
            );
        }
        testing::check(|| from_bytes("").escaped("a", "b"), b"");
        testing::check(|| from_bytes("a").escaped("ab", "X"), b"a");
    }

    #[test]
    fn file_regions_are_read_in_pieces() {
        let data = b"ab.ab..a".repeat(20_000);
        let want = naive(&data, b"ab", b"[ab]");
        let f = testing::file_with(&data);
        let p = FileProducer::from_file(f)
            .unwrap()
            .regions()
            .escaped("ab", "[ab]");
        let sizes = testing::chunk_sizes(p);
        assert!(sizes.iter().all(|&s| s <= REGION_PIECE as u64));
        let f = testing::file_with(&data);
        testing::check(
            || {
                FileProducer::from_file(f.try_clone().unwrap())
                    .unwrap()
                    .regions()
                    .escaped("ab", "[ab]")
            },
            &want,
        );
    }

    #[test]
    fn a_held_chunk_does_not_end_the_stream_and_errors_come_after_the_tail() {
        let s = Script::new([
            Step::chunk("xa"),
            Step::Pending,
            Step::chunk("b"),
            Step::chunk("a"),
            Step::chunk("z"),
        ]);
        assert_eq!(&s.escaped("ab", "X").collect_bytes().unwrap()[..], b"xXaz");
        let s = Script::new([Step::chunk("xa"), Step::error(io::ErrorKind::BrokenPipe)]);
        let mut p = s.escaped("ab", "X");
        assert_eq!(p.more().unwrap().unwrap().into_bytes().unwrap(), &b"x"[..]);
        assert_eq!(p.more().unwrap().unwrap().into_bytes().unwrap(), &b"a"[..]);
        assert_eq!(p.more().unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert!(p.more().unwrap().is_none());
    }

    #[test]
    fn exact_len_once_the_input_is_used_up() {
        let mut p = from_bytes("xxa").escaped("ab", "X");
        assert_eq!(p.exact_len(), None);
        assert_eq!(p.more().unwrap().unwrap().len(), 2);
        // The inner producer promises nothing more; "a" is held.
        assert_eq!(p.exact_len(), Some(1));
        assert_eq!(p.more().unwrap().unwrap().len(), 1);
        assert_eq!(p.exact_len(), Some(0));
        assert!(p.more().unwrap().is_none());
    }

    fn arb_small() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(prop::sample::select(&b"ab\r\n."[..]), 0..80)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn escaping_equals_naive_replace(
            input in arb_small(),
            find in prop::collection::vec(prop::sample::select(&b"ab\r\n."[..]), 1..5),
            replace in prop::collection::vec(prop::sample::select(&b"ab\r\n.Z"[..]), 0..6),
            cuts in prop::collection::vec(0usize..80, 0..8),
        ) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let out = script(&input, &cuts).escaped(find.clone(), replace.clone())
                .collect_bytes().unwrap();
            prop_assert_eq!(&out[..], &naive(&input, &find, &replace)[..]);
        }

        #[test]
        fn escaping_then_reversing_gives_the_input(
            input in arb_small(),
            find in prop::collection::vec(prop::sample::select(&b"ab\r\n."[..]), 1..4),
            pre in prop::collection::vec(prop::sample::select(&b"ab\r\n."[..]), 0..3),
            post in prop::collection::vec(prop::sample::select(&b"ab\r\n."[..]), 0..3),
            cuts1 in prop::collection::vec(0usize..80, 0..6),
            cuts2 in prop::collection::vec(0usize..200, 0..6),
        ) {
            // One `Z` in `replace`, never in the input: every occurrence of
            // `replace` in the output is one that was inserted, so the
            // reverse mapping is unambiguous.
            let replace = [&pre[..], b"Z", &post[..]].concat();
            let (mut cuts1, mut cuts2) = (cuts1, cuts2);
            cuts1.sort_unstable();
            cuts2.sort_unstable();
            let escaped = script(&input, &cuts1).escaped(find.clone(), replace.clone())
                .collect_bytes().unwrap();
            let back = script(&escaped, &cuts2).escaped(replace, find)
                .collect_bytes().unwrap();
            prop_assert_eq!(&back[..], &input[..]);
        }
    }
}
