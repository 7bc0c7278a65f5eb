//! A fast hasher for the planner's and the listings' internal maps.
//!
//! Their keys are service and destination identities (a few integers), and
//! the standard SipHash spent more time hashing them than everything else a
//! plan of 10 000 services does. This is the multiply-rotate scheme of
//! rustc's FxHash, seeded per map from the standard library's random source so
//! that colliding keys cannot be chosen ahead of time.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};

const K: u64 = 0xf135_7aea_2e62_a9c5;

#[derive(Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(K).rotate_left(26);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }
    #[inline]
    fn write_u16(&mut self, v: u16) {
        self.add(u64::from(v));
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.add(u64::from(v));
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`FastHasher`]s from one random seed.
#[derive(Clone, Copy)]
pub(crate) struct FastState(u64);

impl FastState {
    pub(crate) fn new() -> Self {
        FastState(RandomState::new().hash_one(0x6970_7673u32))
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;
    #[inline]
    fn build_hasher(&self) -> FastHasher {
        FastHasher(self.0)
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, FastState>;
pub(crate) type FastSet<K> = HashSet<K, FastState>;

pub(crate) fn map<K, V>(capacity: usize) -> FastMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, FastState::new())
}

pub(crate) fn set<K>(capacity: usize) -> FastSet<K> {
    HashSet::with_capacity_and_hasher(capacity, FastState::new())
}

/// Keeps the first of the items with equal ids, in order. Short lists (the
/// usual handful of destinations) are compared pairwise without allocating.
pub(crate) fn dedup_first<T, I: Hash + Eq>(items: &mut Vec<T>, id: impl Fn(&T) -> I) {
    const SHORT: usize = 16;
    if items.len() <= SHORT {
        let mut i = 1;
        while i < items.len() {
            let this = id(&items[i]);
            if items[..i].iter().any(|x| id(x) == this) {
                items.remove(i);
            } else {
                i += 1;
            }
        }
        return;
    }
    let mut seen = set(items.len());
    items.retain(|x| seen.insert(id(x)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_the_first_of_each_id_in_order_for_short_and_long_lists() {
        for n in [0usize, 1, 2, 5, 16, 17, 40, 1000] {
            let items: Vec<(u32, usize)> = (0..n).map(|i| ((i * 7 % 5) as u32, i)).collect();
            let mut got = items.clone();
            dedup_first(&mut got, |x| x.0);
            let mut want: Vec<(u32, usize)> = Vec::new();
            for x in &items {
                if !want.iter().any(|w| w.0 == x.0) {
                    want.push(*x);
                }
            }
            assert_eq!(got, want, "{n} items");
        }
    }

    #[test]
    fn the_hasher_tells_apart_what_differs_in_any_byte() {
        let s = FastState::new();
        let mut hashes = std::collections::BTreeSet::new();
        for a in 0u8..=255 {
            for len in 1..=12usize {
                let mut v = vec![0u8; len];
                v[len - 1] = a;
                hashes.insert(s.hash_one(&v[..]));
            }
        }
        // every (value, length) pair hashed differently
        assert_eq!(hashes.len(), 256 * 12);
    }
}
