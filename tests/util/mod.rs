//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

/// What a [`ScriptedWriter`] does on one call.
#[derive(Debug, Clone)]
pub enum Act {
    /// Accept at most this many bytes (0 means return `Ok(0)`).
    Accept(usize),
    /// Return `WouldBlock`.
    WouldBlock,
    /// Return `Interrupted`.
    Interrupted,
    /// Fail with this kind.
    Fail(io::ErrorKind),
}

/// A writer that follows a script call by call, then accepts everything.
/// Every call is recorded so tests can check how the driver behaved.
#[derive(Debug, Default)]
pub struct ScriptedWriter {
    pub script: VecDeque<Act>,
    pub out: Vec<u8>,
    /// The number of slices handed to each `write_vectored` call.
    pub slices: Vec<usize>,
    pub calls: usize,
}

impl ScriptedWriter {
    pub fn new(script: impl IntoIterator<Item = Act>) -> Self {
        ScriptedWriter {
            script: script.into_iter().collect(),
            ..Default::default()
        }
    }

    fn act(&mut self, avail: usize) -> io::Result<usize> {
        self.calls += 1;
        match self.script.pop_front() {
            None => Ok(avail),
            Some(Act::Accept(n)) => Ok(n.min(avail)),
            Some(Act::WouldBlock) => Err(io::ErrorKind::WouldBlock.into()),
            Some(Act::Interrupted) => Err(io::ErrorKind::Interrupted.into()),
            Some(Act::Fail(k)) => Err(io::Error::new(k, "scripted failure")),
        }
    }
}

impl Write for ScriptedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.slices.push(bufs.len());
        let avail = bufs.iter().map(|b| b.len()).sum();
        let n = self.act(avail)?;
        let mut left = n;
        for b in bufs {
            let take = left.min(b.len());
            self.out.extend_from_slice(&b[..take]);
            left -= take;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Deterministic test data.
pub fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}
