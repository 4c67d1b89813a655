//! Property tests: any stack of combinators over any input and any piece
//! sizes yields exactly the input bytes, and keeps the producer contract.
#![cfg(feature = "stream")]

mod util;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use proptest::prelude::*;

use producers::stream::{ProducerStream, StreamProducer};
use producers::testing;
use producers::{
    Chain, Counters, FileProducer, More, Producer, ProducerExt,
    produce::{BytesProducer, ListProducer},
};

/// Returns `Pending` (waking at once) before every other chunk, so the
/// layers above see the pending path.
#[derive(Debug)]
struct Stutter<P> {
    inner: P,
    pause: bool,
}

impl<P: Producer> Producer for Stutter<P> {
    fn poll_more(&mut self, cx: &mut Context<'_>) -> More {
        self.pause = !self.pause;
        if self.pause {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.inner.poll_more(cx)
    }
    fn exact_len(&self) -> Option<u64> {
        self.inner.exact_len()
    }
}

#[derive(Debug, Clone)]
enum Source {
    Pieces(usize),
    List(Vec<usize>),
    FileBlocks(usize),
    FileRegions,
    Chain(usize),
}

#[derive(Debug, Clone)]
enum Layer {
    Pieces(usize),
    Glob(usize),
    Hooked,
    Stutter,
    Stream,
}

fn source() -> impl Strategy<Value = Source> {
    prop_oneof![
        (1usize..300).prop_map(Source::Pieces),
        prop::collection::vec(0usize..200, 0..8).prop_map(Source::List),
        (1usize..5000).prop_map(Source::FileBlocks),
        Just(Source::FileRegions),
        (0usize..2000).prop_map(Source::Chain),
    ]
}

fn layer() -> impl Strategy<Value = Layer> {
    prop_oneof![
        (1usize..500).prop_map(Layer::Pieces),
        (0usize..2000).prop_map(Layer::Glob),
        Just(Layer::Hooked),
        Just(Layer::Stutter),
        Just(Layer::Stream),
    ]
}

type Boxed = Box<dyn Producer + Send>;

fn build(
    data: &[u8],
    src: &Source,
    layers: &[Layer],
    hooks: &Arc<(AtomicU64, AtomicU64)>,
) -> Boxed {
    let mut p: Boxed = match src {
        Source::Pieces(n) => BytesProducer::with_piece_size(data.to_vec(), *n)
            .unwrap()
            .boxed(),
        Source::List(cuts) => {
            let mut parts = Vec::new();
            let mut rest = data;
            for &c in cuts {
                let c = c.min(rest.len());
                parts.push(rest[..c].to_vec());
                rest = &rest[c..];
            }
            parts.push(rest.to_vec());
            ListProducer::new(parts).boxed()
        }
        Source::FileBlocks(n) => FileProducer::from_file(testing::file_with(data))
            .unwrap()
            .block_size(*n)
            .boxed(),
        Source::FileRegions => FileProducer::from_file(testing::file_with(data))
            .unwrap()
            .regions()
            .boxed(),
        Source::Chain(at) => {
            let at = (*at).min(data.len());
            let f = FileProducer::from_file(testing::file_with(&data[at..]))
                .unwrap()
                .regions();
            Chain::of([
                producers::from_bytes(data[..at].to_vec()).boxed(),
                f.boxed(),
            ])
            .boxed()
        }
    };
    for l in layers {
        p = match l {
            Layer::Pieces(n) => p.pieces(*n).boxed(),
            Layer::Glob(n) => p.glob(*n).boxed(),
            Layer::Hooked => {
                let h = hooks.clone();
                p.hooked(move |n, e| {
                    assert!(e.is_none(), "unexpected error {e:?}");
                    h.0.fetch_add(1, Ordering::SeqCst);
                    h.1.store(n, Ordering::SeqCst);
                })
                .boxed()
            }
            Layer::Stutter => Stutter {
                inner: p,
                pause: false,
            }
            .boxed(),
            Layer::Stream => StreamProducer::new(ProducerStream::new(p)).boxed(),
        };
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_stack_yields_exactly_the_input(
        data in prop::collection::vec(any::<u8>(), 0..6000),
        src in source(),
        layers in prop::collection::vec(layer(), 0..5),
    ) {
        let hooks = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
        // `check` builds the stack several times; each build gets fresh hooks.
        testing::check(|| build(&data, &src, &layers, &Arc::new((AtomicU64::new(0), AtomicU64::new(0)))), &data);
        let out = build(&data, &src, &layers, &hooks).collect_bytes().unwrap();
        prop_assert_eq!(&out[..], &data[..]);
        let n_hooked = layers.iter().filter(|l| matches!(l, Layer::Hooked)).count() as u64;
        prop_assert_eq!(hooks.0.load(Ordering::SeqCst), n_hooked, "each hook fires exactly once");
        if n_hooked > 0 {
            prop_assert_eq!(hooks.1.load(Ordering::SeqCst), data.len() as u64);
        }
    }

    #[test]
    fn glob_never_exceeds_its_bound(
        data in prop::collection::vec(any::<u8>(), 0..20_000),
        piece in 1usize..3000,
        target in 1usize..5000,
        stutter in any::<bool>(),
    ) {
        let inner = BytesProducer::with_piece_size(data.clone(), piece).unwrap();
        let mut g: Boxed = if stutter {
            Stutter { inner, pause: false }.glob(target).boxed()
        } else {
            inner.glob(target).boxed()
        };
        let mut out = Vec::new();
        while let Some(c) = g.more().unwrap() {
            let n = c.len() as usize;
            if piece >= target {
                prop_assert!(n == piece || n == data.len() % piece, "passed through whole: {n}");
            } else {
                prop_assert!(n <= target, "glob handed out {n} > {target}");
                if !stutter && out.len() + n < data.len() {
                    prop_assert_eq!(n, target, "without pendings every chunk but the last is full");
                }
            }
            out.extend_from_slice(&c.into_bytes().unwrap());
        }
        prop_assert_eq!(out, data);
    }

    #[test]
    fn counters_add_up(data in prop::collection::vec(any::<u8>(), 0..5000), piece in 1usize..100, target in 0usize..700) {
        let mut g = BytesProducer::with_piece_size(data.clone(), piece).unwrap().glob(target);
        let mut chunks = 0;
        while g.more().unwrap().is_some() { chunks += 1; }
        let c: Counters = g.counters().unwrap();
        prop_assert_eq!(c.bytes, data.len() as u64);
        prop_assert_eq!(c.chunks, chunks);
        prop_assert_eq!(c.calls, chunks + 1);
        let inner = g.get_ref().counters().unwrap();
        prop_assert_eq!(inner.bytes, data.len() as u64);
    }
}
