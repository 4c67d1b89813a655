//! [`FxHasher`]: a small, fast, non-cryptographic hasher for the caches'
//! maps (the multiply-and-rotate hash rustc uses for its own tables).
//!
//! - A word at a time: the state is rotated, xored with the next eight
//!   bytes and multiplied by an odd constant, so hashing a 20-byte path
//!   is four steps where SipHash-1-3 (std's default) takes some 150
//!   instructions (issue 14: the open-file cache's lookup of every
//!   request).
//! - Not keyed, so not resistant to chosen collisions. That is acceptable
//!   here because what an attacker controls is only what is *looked up*:
//!   the maps hold at most their bounded number of entries (256 open
//!   files by default), every one a file or sidecar name found beneath
//!   the root, so a lookup probes at most that many colliding keys.

use std::hash::{BuildHasherDefault, Hasher};

/// The multiplier: odd, with well-mixed bits (from rustc's `FxHasher`).
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Builds [`FxHasher`]s: `HashMap<K, V, FxBuild>`.
pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

/// A word-at-a-time multiplicative hasher (see the module docs for when it
/// may be used).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    /// Mixes one word into the state.
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(w.try_into().expect("eight bytes")));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            // The tail, zero-padded, with its length folded in so that
            // "a" and "a\0" differ.
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::hash::{BuildHasher, Hash};

    use super::*;

    fn hash<T: Hash + ?Sized>(t: &T) -> u64 {
        FxBuild::default().hash_one(t)
    }

    #[test]
    fn equal_keys_hash_equal_and_a_map_finds_them() {
        let mut map: HashMap<Box<str>, usize, FxBuild> = HashMap::default();
        let names: Vec<String> = (0..2000)
            .map(|i| format!("dir{}/file{i}.txt", i % 7))
            .collect();
        for (i, n) in names.iter().enumerate() {
            map.insert(n.as_str().into(), i);
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(map.get(n.as_str()), Some(&i), "{n}");
            assert_eq!(hash(n.as_str()), hash(&*n.clone().into_boxed_str()));
        }
        assert_eq!(map.get("dir0/file1.txt"), None);
    }

    #[test]
    fn every_byte_and_the_length_count() {
        // Each prefix of a string, each one-byte change at each offset,
        // and a trailing NUL: all distinct (no collision among these few).
        let base = b"static/css/site.min.css";
        let mut seen = HashSet::new();
        let mut n = 0;
        let mut put = |bytes: &[u8]| {
            let mut h = FxHasher::default();
            h.write(bytes);
            seen.insert(h.finish());
            n += 1;
        };
        for len in 0..=base.len() {
            put(&base[..len]);
        }
        for i in 0..base.len() {
            let mut v = base.to_vec();
            v[i] ^= 1;
            put(&v);
        }
        put(b"static/css/site.min.css\0");
        put(b"a");
        put(b"a\0");
        assert_eq!(seen.len(), n);
    }

    #[test]
    fn words_mix_in_order() {
        let (mut a, mut b) = (FxHasher::default(), FxHasher::default());
        a.write_u64(1);
        a.write_u64(2);
        b.write_u64(2);
        b.write_u64(1);
        assert_ne!(a.finish(), b.finish());
        assert_ne!(hash(&(1u32, 2u64)), hash(&(2u32, 1u64)));
    }
}
