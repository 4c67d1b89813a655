//! [`WholeFrames`]: the consumer FIFO's batch of whole delimited frames.

use bytes::{Bytes, BytesMut};

use super::{Control, Framer};

/// Whole delimited frames, handed to [`Consumer::on_whole_frames`] by the
/// consumer FIFO: its fast path for line protocols, one call for many
/// frames instead of one call per frame.
///
/// [`next`](WholeFrames::next) splits the next frame off the FIFO's input
/// buffer (no copy), exactly as the FIFO would hand it to
/// [`Consumer::on_frame`]. It returns `None` when no whole frame is
/// buffered, and as soon as a callback asked anything through the
/// [`Control`] (a new terminator, a follow-up consumer, done): the FIFO
/// applies the request before the next byte is framed.
///
/// [`Consumer::on_whole_frames`]: super::Consumer::on_whole_frames
/// [`Consumer::on_frame`]: super::Consumer::on_frame
#[derive(Debug)]
pub struct WholeFrames<'a> {
    framer: &'a mut Framer,
    buf: &'a mut BytesMut,
    /// How many frames were handed out.
    taken: usize,
}

impl<'a> WholeFrames<'a> {
    pub(crate) fn new(framer: &'a mut Framer, buf: &'a mut BytesMut) -> WholeFrames<'a> {
        WholeFrames {
            framer,
            buf,
            taken: 0,
        }
    }

    /// The next whole frame, its delimiter removed, with `ctl`'s
    /// [`offset`](Control::offset) set just after it; `None` when no frame
    /// is buffered or `ctl` holds a request.
    #[inline]
    pub fn next(&mut self, ctl: &mut Control) -> Option<Bytes> {
        if ctl.asked() {
            return None;
        }
        let frame = self.framer.decode_whole(self.buf)?;
        self.taken += 1;
        ctl.set_offset(self.framer.offset());
        Some(frame)
    }

    /// How many frames were handed out.
    pub(crate) fn taken(&self) -> usize {
        self.taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consume::{Framing, Terminator};

    #[test]
    fn hands_out_buffered_frames_until_a_request() {
        let mut framer = Framer::new(Framing::whole("\r\n"));
        let mut buf = BytesMut::from(&b"a\r\nbc\r\nd\r\ne"[..]);
        let mut ctl = Control::new();
        let mut frames = WholeFrames::new(&mut framer, &mut buf);
        assert_eq!(frames.next(&mut ctl), Some(Bytes::from_static(b"a")));
        assert_eq!(ctl.offset(), 3);
        assert_eq!(frames.next(&mut ctl), Some(Bytes::from_static(b"bc")));
        ctl.done();
        assert_eq!(frames.next(&mut ctl), None, "a request stops the batch");
        assert_eq!(frames.taken(), 2);
        assert_eq!(&buf[..], b"d\r\ne");
        assert!(ctl.take_asked());
        let mut frames = WholeFrames::new(&mut framer, &mut buf);
        assert_eq!(frames.next(&mut ctl), Some(Bytes::from_static(b"d")));
        assert_eq!(frames.next(&mut ctl), None, "no whole frame buffered");
        assert_eq!((ctl.offset(), &buf[..]), (10, &b"e"[..]));
    }

    #[test]
    fn other_framings_take_the_general_path() {
        for framing in [
            Framing::pieces("\n"),
            Framing::whole(Terminator::Count(1)),
            Framing::Raw,
        ] {
            let mut framer = Framer::new(framing);
            let mut buf = BytesMut::from(&b"a\nb"[..]);
            let mut ctl = Control::new();
            assert_eq!(WholeFrames::new(&mut framer, &mut buf).next(&mut ctl), None);
            assert_eq!(buf.len(), 3);
        }
    }
}
