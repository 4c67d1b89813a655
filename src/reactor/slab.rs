//! [`Slab`]: the loop's channels and listeners by index.
//!
//! An index is reused after its entry is released, with the generation
//! bumped, so a [`ChannelId`] kept after a close (or a stale poller event
//! for a reused descriptor) never reaches the new occupant. A channel is
//! taken out of its slot while it is serviced (the slot says
//! [`Entry::Busy`], or [`Entry::Serviced`] once its handler holds the
//! reactor) and put back, or released, at the end of its turn.

use std::sync::Arc;

use super::ChannelId;
use super::channel::Channel;
use super::listener::Listener;
use super::outbox::Inbox;

/// What a slot holds.
pub(crate) enum Entry {
    Free,
    /// Reserved, or taken out while being serviced.
    Busy,
    /// Taken out while being serviced, and its handler holds the reactor
    /// ([`ChannelCtx::reactor`](super::ChannelCtx::reactor)): the reactor
    /// reaches the channel through its inbox, whose commands are applied
    /// when the callback returns.
    Serviced(Arc<Inbox>),
    Channel(Box<Channel>),
    Listener(Box<Listener>),
}

struct Slot {
    generation: u32,
    entry: Entry,
}

/// Channels and listeners by index; indices are reused with a new
/// generation.
#[derive(Default)]
pub(crate) struct Slab {
    slots: Vec<Slot>,
    /// Indices of `Free` slots.
    free: Vec<u32>,
}

impl Slab {
    /// A new id whose slot is `Busy` until [`put`](Slab::put).
    pub(crate) fn reserve(&mut self) -> ChannelId {
        match self.free.pop() {
            Some(i) => {
                let s = &mut self.slots[i as usize];
                s.generation = s.generation.wrapping_add(1);
                s.entry = Entry::Busy;
                ChannelId::new(i, s.generation)
            }
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    entry: Entry::Busy,
                });
                ChannelId::new((self.slots.len() - 1) as u32, 0)
            }
        }
    }

    /// The slot of `id`, if `id` is current (not a stale generation).
    pub(crate) fn slot(&mut self, id: ChannelId) -> Option<&mut Entry> {
        self.slots
            .get_mut(id.index as usize)
            .filter(|s| s.generation == id.generation)
            .map(|s| &mut s.entry)
    }

    /// Takes channel `id` out, leaving its slot `Busy`.
    pub(crate) fn take_channel(&mut self, id: ChannelId) -> Option<Box<Channel>> {
        let e = self.slot(id)?;
        match std::mem::replace(e, Entry::Busy) {
            Entry::Channel(c) => Some(c),
            other => {
                *e = other;
                None
            }
        }
    }

    /// Takes listener `id` out, leaving its slot `Busy`.
    pub(crate) fn take_listener(&mut self, id: ChannelId) -> Option<Box<Listener>> {
        let e = self.slot(id)?;
        match std::mem::replace(e, Entry::Busy) {
            Entry::Listener(l) => Some(l),
            other => {
                *e = other;
                None
            }
        }
    }

    /// Puts `entry` into the slot of `id` (if `id` is current).
    pub(crate) fn put(&mut self, id: ChannelId, entry: Entry) {
        if let Some(e) = self.slot(id) {
            *e = entry;
        }
    }

    /// Frees the slot of `id` for reuse under a new generation.
    pub(crate) fn release(&mut self, id: ChannelId) {
        if let Some(e) = self.slot(id) {
            *e = Entry::Free;
            self.free.push(id.index);
        }
    }

    /// The ids of the listeners (`true`) or the channels (`false`) in their
    /// slots now.
    pub(crate) fn ids(&self, want_listeners: bool) -> Vec<ChannelId> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| match s.entry {
                Entry::Channel(_) => !want_listeners,
                Entry::Listener(_) => want_listeners,
                _ => false,
            })
            .map(|(i, s)| ChannelId::new(i as u32, s.generation))
            .collect()
    }

    /// Every entry, for the reactor's `Drop`.
    pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().map(|s| &s.entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_released_index_is_reused_with_a_new_generation() {
        let mut s = Slab::default();
        let a = s.reserve();
        let b = s.reserve();
        assert_ne!(a.index, b.index);
        s.release(a);
        assert!(matches!(s.slot(a), Some(Entry::Free)));
        let c = s.reserve();
        assert_eq!(c.index, a.index);
        assert_ne!(c.generation, a.generation);
        assert!(s.slot(a).is_none(), "the old id stays stale");
        assert!(matches!(s.slot(c), Some(Entry::Busy)));
        // Releasing a stale id frees nothing.
        s.release(a);
        assert!(s.slot(c).is_some());
    }

    #[test]
    fn taking_the_wrong_kind_leaves_the_entry_in_place() {
        let mut s = Slab::default();
        let a = s.reserve();
        assert!(s.take_channel(a).is_none());
        assert!(s.take_listener(a).is_none());
        assert!(matches!(s.slot(a), Some(Entry::Busy)));
        assert!(s.ids(false).is_empty() && s.ids(true).is_empty());
    }
}
