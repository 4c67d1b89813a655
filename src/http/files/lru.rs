//! [`Lru`]: a map bounded in entries and in weight (bytes), evicting the
//! least recently used entry first. The store under both file caches
//! ([`OpenFileCache`](super::open_file_cache::OpenFileCache) and
//! [`VariantCache`](super::variant_cache::VariantCache)).
//!
//! - Every operation is O(1) on average: a hash map from key to a slot,
//!   and the slots linked in recency order through indices (no pointer,
//!   no `unsafe`). Freed slots are reused, so a cache at its bound stops
//!   allocating.
//! - An entry heavier than the whole weight bound is refused, not
//!   inserted at the cost of every other entry.
//! - Evicted values are handed back to the caller, which drops them
//!   (closing a descriptor, freeing bytes) where it chooses.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

use super::fx_hasher::FxBuild;

/// No slot: the end of the recency list.
const NIL: usize = usize::MAX;

/// One entry and its place in the recency list.
#[derive(Debug)]
struct Slot<K, V> {
    key: K,
    value: V,
    weight: usize,
    /// Toward the most recently used end; `NIL` at the head.
    newer: usize,
    /// Toward the least recently used end; `NIL` at the tail.
    older: usize,
}

/// A map of at most `max_entries` entries weighing at most `max_weight`
/// in all, the least recently used evicted first.
#[derive(Debug)]
pub(crate) struct Lru<K, V> {
    /// Hashed with [`FxHasher`](super::fx_hasher::FxHasher): the keys are
    /// bounded in number and found beneath the root (see there).
    index: HashMap<K, usize, FxBuild>,
    /// `None` in the free slots (listed in `free`).
    slots: Vec<Option<Slot<K, V>>>,
    free: Vec<usize>,
    /// The most recently used slot, or `NIL`.
    head: usize,
    /// The least recently used slot, or `NIL`.
    tail: usize,
    /// The sum of the weights of the entries: never above `max_weight`.
    weight: usize,
    max_entries: usize,
    max_weight: usize,
    /// Entries evicted to keep the bounds, ever.
    evictions: u64,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    /// An empty map bounded by `max_entries` and `max_weight`.
    pub(crate) fn new(max_entries: usize, max_weight: usize) -> Lru<K, V> {
        Lru {
            index: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            weight: 0,
            max_entries,
            max_weight,
            evictions: 0,
        }
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// The sum of the entries' weights.
    pub(crate) fn weight(&self) -> usize {
        self.weight
    }

    fn slot(&self, i: usize) -> &Slot<K, V> {
        self.slots[i].as_ref().expect("a linked slot is occupied")
    }

    fn slot_mut(&mut self, i: usize) -> &mut Slot<K, V> {
        self.slots[i].as_mut().expect("a linked slot is occupied")
    }

    /// Takes slot `i` out of the recency list.
    fn unlink(&mut self, i: usize) {
        let (newer, older) = {
            let s = self.slot(i);
            (s.newer, s.older)
        };
        match newer {
            NIL => self.head = older,
            n => self.slot_mut(n).older = older,
        }
        match older {
            NIL => self.tail = newer,
            o => self.slot_mut(o).newer = newer,
        }
    }

    /// Puts slot `i` at the most recently used end.
    fn push_front(&mut self, i: usize) {
        let head = self.head;
        {
            let s = self.slot_mut(i);
            s.newer = NIL;
            s.older = head;
        }
        match head {
            NIL => self.tail = i,
            h => self.slot_mut(h).newer = i,
        }
        self.head = i;
    }

    /// How many entries were evicted to keep the bounds (not counting
    /// replaced or removed ones).
    pub(crate) fn evictions(&self) -> u64 {
        self.evictions
    }

    /// The value under `key`, made the most recently used.
    pub(crate) fn get<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = *self.index.get(key)?;
        if self.head != i {
            self.unlink(i);
            self.push_front(i);
        }
        Some(&mut self.slot_mut(i).value)
    }

    /// Removes the entry under `key`.
    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.index.remove(key)?;
        Some(self.take(i))
    }

    /// Empties slot `i` (already out of the index) and returns its value.
    fn take(&mut self, i: usize) -> V {
        self.unlink(i);
        let slot = self.slots[i].take().expect("a linked slot is occupied");
        self.free.push(i);
        self.weight -= slot.weight;
        slot.value
    }

    /// Inserts `value` under `key` with `weight`, replacing an entry under
    /// the same key, then evicts least recently used entries until both
    /// bounds hold again; returns the values removed (the replaced one
    /// and the evicted ones). A value heavier than the whole bound, or any
    /// value when `max_entries` is 0, is not inserted: it comes back in
    /// the list.
    pub(crate) fn insert(&mut self, key: K, value: V, weight: usize) -> Vec<V> {
        let mut out = Vec::new();
        if let Some(old) = self.remove(&key) {
            out.push(old);
        }
        if weight > self.max_weight || self.max_entries == 0 {
            out.push(value);
            return out;
        }
        while self.len() >= self.max_entries || self.weight + weight > self.max_weight {
            let tail = self.tail;
            let key = self.slot(tail).key.clone();
            self.index.remove(&key);
            out.push(self.take(tail));
            self.evictions += 1;
        }
        let slot = Slot {
            key: key.clone(),
            value,
            weight,
            newer: NIL,
            older: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        self.index.insert(key, i);
        self.weight += weight;
        self.push_front(i);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys from most to least recently used.
    fn order(lru: &Lru<u32, u32>) -> Vec<u32> {
        let mut out = Vec::new();
        let mut i = lru.head;
        while i != NIL {
            out.push(lru.slot(i).key);
            i = lru.slot(i).older;
        }
        out
    }

    #[test]
    fn evicts_the_least_recently_used_at_the_entry_bound() {
        let mut lru = Lru::new(3, usize::MAX);
        for k in 0..3 {
            assert!(lru.insert(k, k * 10, 1).is_empty());
        }
        assert_eq!(lru.get(&0), Some(&mut 0));
        assert_eq!(order(&lru), [0, 2, 1]);
        assert_eq!(lru.insert(3, 30, 1), [10]);
        assert_eq!(lru.evictions(), 1);
        assert_eq!(lru.get(&1), None);
        assert_eq!(order(&lru), [3, 0, 2]);
        assert_eq!(lru.len(), 3);
    }

    #[test]
    fn evicts_until_the_weight_fits_and_refuses_what_never_fits() {
        let mut lru = Lru::new(100, 10);
        lru.insert(1, 1, 4);
        lru.insert(2, 2, 4);
        assert_eq!(lru.insert(3, 3, 5), [1]);
        assert_eq!(lru.weight(), 9);
        assert_eq!(lru.insert(4, 4, 11), [4], "heavier than the bound");
        assert_eq!(order(&lru), [3, 2]);
        assert_eq!(lru.insert(3, 33, 2), [3], "replaced");
        assert_eq!(lru.evictions(), 1, "only the one evicted for room");
        assert_eq!(lru.weight(), 6);
    }

    #[test]
    fn remove_and_reuse_slots_keep_the_list_whole() {
        let mut lru = Lru::new(4, usize::MAX);
        for k in 0..4 {
            lru.insert(k, k, 1);
        }
        assert_eq!(lru.remove(&2), Some(2));
        assert_eq!(lru.remove(&0), Some(0));
        assert_eq!(lru.remove(&0), None);
        assert_eq!(order(&lru), [3, 1]);
        lru.insert(5, 5, 1);
        lru.insert(6, 6, 1);
        assert_eq!(lru.slots.len(), 4, "freed slots reused");
        assert_eq!(order(&lru), [6, 5, 3, 1]);
        lru.get(&1);
        assert_eq!(order(&lru), [1, 6, 5, 3]);
    }

    #[test]
    fn zero_entries_holds_nothing() {
        let mut lru = Lru::new(0, 10);
        assert_eq!(lru.insert(1, 1, 1), [1]);
        assert_eq!(lru.len(), 0);
    }

    /// Against a naive model: a vector in recency order.
    #[test]
    fn matches_a_naive_model() {
        let mut lru = Lru::new(5, 20);
        let mut model: Vec<(u32, u32, usize)> = Vec::new();
        let mut x = 12345u32;
        for step in 0..5000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let k = x % 9;
            match x % 3 {
                0 => {
                    let got = lru.get(&k).copied();
                    let pos = model.iter().position(|e| e.0 == k);
                    assert_eq!(got, pos.map(|p| model[p].1));
                    if let Some(p) = pos {
                        let e = model.remove(p);
                        model.insert(0, e);
                    }
                }
                1 => {
                    let w = (x / 7 % 8) as usize;
                    lru.insert(k, step, w);
                    model.retain(|e| e.0 != k);
                    while model.len() >= 5 || model.iter().map(|e| e.2).sum::<usize>() + w > 20 {
                        model.pop();
                    }
                    model.insert(0, (k, step, w));
                }
                _ => {
                    let got = lru.remove(&k);
                    let pos = model.iter().position(|e| e.0 == k);
                    assert_eq!(got, pos.map(|p| model.remove(p).1));
                }
            }
            assert_eq!(order(&lru), model.iter().map(|e| e.0).collect::<Vec<_>>());
            assert_eq!(lru.weight(), model.iter().map(|e| e.2).sum::<usize>());
        }
    }
}
