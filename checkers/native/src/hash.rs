//! FxHash (rustc's hasher) and the sets and maps keyed by it: the sweep hashes configurations
//! and search states millions of times per history, so the hasher is its own small piece.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash (rustc's hasher): configurations are hashed millions of times and need no DoS
/// resistance, so SipHash's cost buys nothing here.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxBuild = BuildHasherDefault<Fx>;
pub(crate) type FxSet<T> = HashSet<T, FxBuild>;
pub(crate) type FxMap<K, V> = HashMap<K, V, FxBuild>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash_of<T: Hash>(v: &T) -> u64 {
        FxBuild::default().hash_one(v)
    }

    #[test]
    fn one_word_is_rotate_xor_multiply() {
        let mut h = Fx::default();
        h.write_u64(1);
        assert_eq!(h.finish(), 0x51_7c_c1_b7_27_22_0a_95);
        h.write_u64(0);
        assert_eq!(h.finish(), 0x51_7c_c1_b7_27_22_0a_95u64.rotate_left(5).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95));
    }

    #[test]
    fn bytes_are_hashed_as_little_endian_words_zero_padded() {
        let bytes: Vec<u8> = (1..=11).collect();
        let mut a = Fx::default();
        a.write(&bytes);
        let mut b = Fx::default();
        b.write_u64(u64::from_le_bytes([1, 2, 3, 4, 5, 6, 7, 8]));
        b.write_u64(u64::from_le_bytes([9, 10, 11, 0, 0, 0, 0, 0]));
        assert_eq!(a.finish(), b.finish());
        // the narrower integer writes are the same word
        let (mut c, mut d, mut e) = (Fx::default(), Fx::default(), Fx::default());
        c.write_u32(7);
        d.write_i64(7);
        e.write_usize(7);
        assert_eq!((c.finish(), d.finish()), (e.finish(), e.finish()));
    }

    #[test]
    fn deterministic_and_order_sensitive() {
        let key = (5i64, [1u32, 2, 3], -9i64);
        // no seed (two std RandomStates hash this differently): every builder, every run agrees
        assert_eq!(hash_of(&key), hash_of(&key));
        let mut h = Fx::default(); // what FxBuild builds
        key.hash(&mut h);
        assert_eq!(h.finish(), hash_of(&key));
        assert_ne!(hash_of(&key), hash_of(&(5i64, [1u32, 2, 4], -9i64)));
        assert_ne!(hash_of(&(1u64, 2u64)), hash_of(&(2u64, 1u64)));
        let mut set: FxSet<(i64, i64)> = FxSet::default();
        assert!(set.insert((1, 2)) && !set.insert((1, 2)) && set.insert((2, 1)));
        let mut map: FxMap<i64, &str> = FxMap::default();
        map.insert(-3, "a");
        assert_eq!(map.get(&-3), Some(&"a"));
    }
}
