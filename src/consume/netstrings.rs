//! [`Netstrings`]: length-prefixed records, `<length>:<bytes>,`.

use std::fmt;

use bytes::Bytes;

use super::{ConsumeError, Consumer, Control, Frame, FrameError, Framing, Terminator};

/// The default maximum record length of [`Netstrings`]: 64 KiB.
pub const DEFAULT_MAX_RECORD: usize = 64 * 1024;

/// The most digits a length prefix may have (`u64::MAX` has 20).
const MAX_DIGITS: usize = 20;

/// Hands each record of a netstring stream (D. J. Bernstein's
/// `<decimal length>:<bytes>,`, e.g. `5:hello,`) to a closure.
///
/// Medusa's terminator switch at work: the prefix is framed by `:`, then the
/// record by a count, inside the callback; several records arriving in one
/// read are framed correctly because the change applies to bytes already
/// buffered.
///
/// Errors: a prefix that is not a decimal number without leading zeros, or
/// a record without its comma, is [`ConsumeError::Invalid`]; a record
/// longer than [`DEFAULT_MAX_RECORD`] (see [`max_len`](Netstrings::max_len))
/// is [`FrameError::FrameTooLong`] before any of it is buffered; a prefix
/// over 20 digits is [`FrameError::FrameTooLong`] with limit 20. The input
/// may end between records only.
pub struct Netstrings<F> {
    max: usize,
    on_record: F,
    state: Expect,
}

/// What the next frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The decimal length, up to the colon.
    Length,
    /// The record and its comma.
    Record,
}

impl<F> Netstrings<F>
where
    F: FnMut(Bytes, &mut Control) -> Result<(), ConsumeError>,
{
    /// Records to `on_record`.
    pub fn new(on_record: F) -> Netstrings<F> {
        Netstrings {
            max: DEFAULT_MAX_RECORD,
            on_record,
            state: Expect::Length,
        }
    }

    /// Sets the maximum record length.
    pub fn max_len(mut self, max: usize) -> Self {
        self.max = max;
        self
    }
}

fn parse_length(digits: &[u8]) -> Option<u64> {
    let leading_zero = digits.len() > 1 && digits[0] == b'0';
    if digits.is_empty() || leading_zero || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

impl<F> Consumer for Netstrings<F>
where
    F: FnMut(Bytes, &mut Control) -> Result<(), ConsumeError>,
{
    fn framing(&self) -> Framing {
        Framing::whole(":").max(MAX_DIGITS)
    }

    fn on_frame(&mut self, frame: Frame, ctl: &mut Control) -> Result<(), ConsumeError> {
        let bytes = frame.into_bytes();
        match self.state {
            Expect::Length => {
                let start = ctl.offset() - bytes.len() as u64 - 1;
                let n = parse_length(&bytes).ok_or(ConsumeError::Invalid {
                    offset: start,
                    reason: "netstring length is not a decimal number",
                })?;
                if n > self.max as u64 {
                    return Err(FrameError::FrameTooLong {
                        limit: self.max,
                        offset: ctl.offset(),
                    }
                    .into());
                }
                self.state = Expect::Record;
                // The comma is framed with the record, so the count cannot overflow.
                ctl.set_framing(Framing::whole(Terminator::Count(n + 1)).max(self.max + 1));
                Ok(())
            }
            Expect::Record => {
                let mut record = bytes;
                if record.last() != Some(&b',') {
                    return Err(ConsumeError::Invalid {
                        offset: ctl.offset() - 1,
                        reason: "netstring without its comma",
                    });
                }
                record.truncate(record.len() - 1);
                self.state = Expect::Length;
                ctl.set_framing(self.framing());
                (self.on_record)(record, ctl)
            }
        }
    }
}

impl<F> fmt::Debug for Netstrings<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Netstrings")
            .field("max", &self.max)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::consume::ConsumerFifo;

    fn run(input: &[u8], max: usize) -> (Vec<Bytes>, Result<(), ConsumeError>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let mut fifo = ConsumerFifo::new();
        fifo.push(
            Netstrings::new(move |r, _| {
                s.lock().unwrap().push(r);
                Ok(())
            })
            .max_len(max),
        );
        let r = fifo.feed(input).and_then(|()| fifo.eof());
        let v = seen.lock().unwrap().clone();
        (v, r)
    }

    #[test]
    fn records_in_one_read() {
        let (v, r) = run(b"5:hello,0:,3:a:b,", 100);
        r.unwrap();
        assert_eq!(v, ["hello", "", "a:b"]);
    }

    #[test]
    fn records_split_everywhere() {
        let input = b"5:hello,0:,3:a:b,12:hello world!,";
        for i in 0..=input.len() {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let s = seen.clone();
            let mut fifo = ConsumerFifo::new();
            fifo.push(Netstrings::new(move |r, _| {
                s.lock().unwrap().push(r);
                Ok(())
            }));
            fifo.feed(&input[..i]).unwrap();
            fifo.feed(&input[i..]).unwrap();
            fifo.eof().unwrap();
            assert_eq!(
                *seen.lock().unwrap(),
                ["hello", "", "a:b", "hello world!"],
                "split at {i}"
            );
        }
    }

    #[test]
    fn malformed() {
        let table: [(&[u8], &str); 6] = [
            (b"05:hello,", "invalid at 0"),
            (b"x:", "invalid at 0"),
            (b":", "invalid at 0"),
            (b"3:abc;", "invalid at 5"),
            (b"11:hello world,", "too long at 3"),
            (b"3:ab", "end at 2"),
        ];
        for (input, want) in table {
            let (_, r) = run(input, 10);
            let got = match r {
                Err(ConsumeError::Invalid { offset, .. }) => format!("invalid at {offset}"),
                Err(ConsumeError::Frame(FrameError::FrameTooLong { offset, .. })) => {
                    format!("too long at {offset}")
                }
                Err(ConsumeError::Frame(FrameError::UnexpectedEnd { offset, .. })) => {
                    format!("end at {offset}")
                }
                other => format!("{other:?}"),
            };
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(input));
        }
        let (_, r) = run(&[b'1'; 21], 10);
        assert!(matches!(
            r,
            Err(ConsumeError::Frame(FrameError::FrameTooLong {
                limit: 20,
                offset: 0
            }))
        ));
    }
}
