//! The consumer FIFO against hostile consumers: arbitrary bytes, split
//! arbitrarily, into a `ConsumerFifo` whose consumers follow a script
//! taken from the input — re-arming delimiters, counts (`Count(0)`
//! included) and until-close, switching between whole frames, pieces and
//! raw, saying done, queuing follow-ups (`then`), holding, failing — in
//! every callback (`on_frame`, `on_raw`, `on_frame_error`, `on_eof`).
//!
//! Invariants: no panic; the buffer never exceeds the budget; every call
//! (`process`, `eof`) returns after a bounded number of callbacks (the
//! progress guard: at most the re-arm limit in a row without a byte
//! consumed or a consumer retired); the offset plus the buffered bytes is
//! what was fed; the bytes handed on sit where the offsets say; nothing is
//! framed after the end was handed out; a failed or ended FIFO calls no
//! consumer again and holds none.
//!
//! Input layout: `[budget, limit, script length, cut count, script...,
//! cuts..., data...]`. The script is read cyclically, one byte per
//! decision.
#![no_main]

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use producers::consume::{
    ConsumeError, Consumer, ConsumerFifo, Control, Eof, Frame, FrameError, Framing, Overflow,
    Terminator,
};

/// What every consumer of one run shares.
struct Shared {
    script: Vec<u8>,
    pos: usize,
    /// Everything fed so far (appended to the FIFO's buffer).
    input: Vec<u8>,
    /// Callbacks so far.
    calls: u64,
    /// An `on_eof` was called: the end is taken.
    ended: bool,
    /// Consumers alive (created and not dropped).
    alive: usize,
}

impl Shared {
    fn next(&mut self) -> u8 {
        if self.script.is_empty() {
            return 0;
        }
        let b = self.script[self.pos % self.script.len()];
        self.pos += 1;
        b
    }
}

type S = Arc<Mutex<Shared>>;

const DELIMITERS: [&[u8]; 5] = [b"\n", b"\r\n", b"\r\n\r\n", b"\r\n.\r\n", b"ab"];

fn terminator(t: u8) -> Terminator {
    match t % 8 {
        i @ 0..=4 => Terminator::delimiter(Bytes::from_static(DELIMITERS[i as usize])),
        5 | 6 => Terminator::Count(u64::from(t >> 3) % 20),
        _ => Terminator::UntilClose,
    }
}

fn framing(kind: u8, t: u8) -> Framing {
    match kind % 3 {
        0 => {
            let policy = if kind & 4 != 0 {
                Overflow::Discard
            } else {
                Overflow::Close
            };
            Framing::whole(terminator(t))
                .max(usize::from(kind >> 3) * 5)
                .overflow(policy)
        }
        1 => Framing::pieces(terminator(t)),
        _ => Framing::Raw,
    }
}

struct Hostile {
    s: S,
    framing: Framing,
}

impl Hostile {
    fn new(s: &S) -> Hostile {
        let mut g = s.lock().unwrap();
        let (kind, t) = (g.next(), g.next());
        g.alive += 1;
        drop(g);
        Hostile {
            s: s.clone(),
            framing: framing(kind, t),
        }
    }

    /// One scripted decision; `take` is how many bytes a raw callback takes.
    fn act(&mut self, ctl: &mut Control) -> Result<usize, ConsumeError> {
        let mut g = self.s.lock().unwrap();
        g.calls += 1;
        let a = g.next();
        let take = usize::from(a >> 4);
        match a % 16 {
            2 => ctl.set_terminator(terminator(g.next())),
            3 => {
                let (k, t) = (g.next(), g.next());
                ctl.set_framing(framing(k, t));
            }
            4 => ctl.done(),
            5 => {
                drop(g);
                ctl.then(Hostile::new(&self.s));
            }
            6 => {
                drop(g);
                ctl.then(Hostile::new(&self.s));
                ctl.done();
            }
            7 => ctl.hold(),
            8 => {
                return Err(ConsumeError::Invalid {
                    offset: ctl.offset(),
                    reason: "scripted",
                });
            }
            9 => ctl.set_read_deadline(Some(Instant::now())),
            10 => ctl.set_terminator(Terminator::Count(0)),
            11 => ctl.set_terminator(Terminator::UntilClose),
            12 => {
                drop(g);
                ctl.then(Hostile::new(&self.s));
                ctl.then(Hostile::new(&self.s));
                ctl.done();
            }
            _ => {}
        }
        Ok(take)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        if let Ok(mut g) = self.s.lock() {
            g.alive -= 1;
        }
    }
}

impl Consumer for Hostile {
    fn framing(&self) -> Framing {
        self.framing.clone()
    }

    fn on_frame(&mut self, frame: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        let g = self.s.lock().unwrap();
        assert!(!g.ended, "a frame after the end");
        // The frame sits just before the offset, or just before a
        // delimiter that ends at the offset.
        let input = &g.input;
        let (o, b) = (ctl.offset() as usize, frame.bytes());
        assert!(
            o <= input.len(),
            "offset {o} beyond the {} bytes fed",
            input.len()
        );
        let placed = [0, 1, 2, 4, 5].iter().any(|&d| {
            o >= d + b.len()
                && input[o - d - b.len()..o - d] == b[..]
                && (d == 0 || DELIMITERS.iter().any(|del| input[o - d..o] == **del))
        });
        assert!(placed, "frame {b:?} not found before offset {o}");
        if !frame.is_last() {
            assert!(!b.is_empty(), "an empty piece that is not the last");
        }
        drop(g);
        self.act(ctl).map(drop)
    }

    fn on_raw(&mut self, buf: &mut BytesMut, ctl: &mut Control) -> Result<(), ConsumeError> {
        let g = self.s.lock().unwrap();
        assert!(!g.ended, "raw bytes after the end");
        assert!(!buf.is_empty(), "on_raw with nothing buffered");
        let o = ctl.offset() as usize;
        assert!(
            g.input[o..] == buf[..],
            "the raw buffer is not the input from the offset"
        );
        drop(g);
        let take = self.act(ctl)?.min(buf.len());
        buf.advance(take);
        Ok(())
    }

    fn on_frame_error(&mut self, err: &FrameError, ctl: &mut Control) -> Result<(), ConsumeError> {
        assert!(matches!(err, FrameError::FrameTooLong { .. }), "{err:?}");
        self.act(ctl).map(drop)
    }

    fn on_eof(&mut self, eof: Eof, ctl: &mut Control) -> Result<(), ConsumeError> {
        let mut g = self.s.lock().unwrap();
        assert!(
            g.input.ends_with(&eof.tail),
            "the tail is not the end of the input"
        );
        assert!(eof.offset <= g.input.len() as u64);
        assert!(eof.tail.len() as u64 <= eof.partial, "{eof:?}");
        g.ended = true;
        drop(g);
        self.act(ctl).map(drop)
    }
}

/// One call into the FIFO, checked.
fn call(
    fifo: &mut ConsumerFifo,
    s: &S,
    limit: u32,
    f: impl FnOnce(&mut ConsumerFifo) -> Result<(), ConsumeError>,
) {
    let finished = fifo.is_failed() || fifo.is_ended();
    let (q0, b0) = (fifo.len() as u64, fifo.buffered() as u64);
    let calls0 = s.lock().unwrap().calls;
    let r = f(fifo);
    let g = s.lock().unwrap();
    let calls = g.calls - calls0;
    if finished {
        assert_eq!(calls, 0, "callbacks after the FIFO finished");
        assert!(r.is_ok());
    }
    // Each callback consumes a byte, retires a consumer, or counts against
    // the re-arm limit; a consumer queues at most two others per callback.
    let l = u64::from(limit) + 1;
    let bound = 3 * (q0 + 1) + 3 * ((b0 + 1) * l + b0) + 8;
    assert!(
        calls <= bound,
        "{calls} callbacks in one call, bound {bound} ({r:?})"
    );
    if let Err(ConsumeError::Frame(FrameError::NoProgress { rearms, .. })) = &r {
        assert_eq!(*rearms, limit + 1);
    }
    assert!(r.is_err() == fifo.is_failed() || finished, "{r:?} {fifo:?}");
    assert!(fifo.buffered() <= fifo.budget(), "{fifo:?}");
    if fifo.is_failed() || fifo.is_ended() {
        assert!(fifo.is_empty(), "consumers left in a finished FIFO");
    } else if !fifo.is_ending() {
        let fed = g.input.len() as u64;
        assert_eq!(fifo.offset() + fifo.buffered() as u64, fed, "{fifo:?}");
    }
}

fuzz_target!(|input: &[u8]| {
    let [budget, limit, slen, ncuts, rest @ ..] = input else {
        return;
    };
    let budget = 1 + usize::from(*budget) * 3;
    let limit = if *limit == 255 {
        1024
    } else {
        1 + u32::from(*limit % 16)
    };
    let (slen, ncuts) = (usize::from(*slen % 64), usize::from(*ncuts % 8));
    if rest.len() < slen + ncuts {
        return;
    }
    let (script, rest) = rest.split_at(slen);
    let (cuts, data) = rest.split_at(ncuts);
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) * data.len() / 256)
        .collect();
    at.sort_unstable();
    at.push(data.len());

    let s: S = Arc::new(Mutex::new(Shared {
        script: script.to_vec(),
        pos: 0,
        input: Vec::new(),
        calls: 0,
        ended: false,
        alive: 0,
    }));
    let mut fifo = ConsumerFifo::with_budget(budget);
    fifo.set_rearm_limit(limit);
    fifo.push(Hostile::new(&s));

    let mut start = 0;
    'feed: for end in at {
        let mut piece = &data[start..end];
        start = end;
        while !piece.is_empty() {
            if fifo.room() == 0 {
                if fifo.is_failed() || fifo.is_ended() || fifo.is_ending() || fifo.is_empty() {
                    // Finished, or no consumer left to take the bytes.
                    break 'feed;
                }
                // Full and held: a wake-up processes again; a consumer
                // that keeps holding stops the input.
                assert!(fifo.is_held(), "full, open, and not held: {fifo:?}");
                call(&mut fifo, &s, limit, |f| f.process());
                if fifo.room() == 0 {
                    break 'feed;
                }
            }
            let n = fifo.room().min(piece.len());
            fifo.read_buf().extend_from_slice(&piece[..n]);
            s.lock().unwrap().input.extend_from_slice(&piece[..n]);
            piece = &piece[n..];
            call(&mut fifo, &s, limit, |f| f.process());
        }
    }
    call(&mut fifo, &s, limit, |f| f.eof());
    // A consumer holding at the end: wake-ups finish it (a few, then give
    // up — it may hold forever).
    for _ in 0..4 {
        if !fifo.is_ending() {
            break;
        }
        call(&mut fifo, &s, limit, |f| f.process());
    }
    if !fifo.is_ending() {
        assert!(fifo.is_ended() || fifo.is_failed(), "{fifo:?}");
        assert!(!fifo.wants_read() && fifo.room() == 0);
    }
    drop(fifo);
    assert_eq!(s.lock().unwrap().alive, 0, "consumers leaked");
});
