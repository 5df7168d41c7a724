//! Fixed-width bit sets: one bit per open operation slot, copied by value in configurations.

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Bits<const W: usize>(pub [u64; W]);

impl<const W: usize> Bits<W> {
    pub const ZERO: Self = Bits([0; W]);

    #[inline]
    pub fn bit(slot: usize) -> Self {
        let mut b = Self::ZERO;
        b.0[slot >> 6] = 1u64 << (slot & 63);
        b
    }
    #[inline]
    pub fn has(&self, slot: usize) -> bool {
        self.0[slot >> 6] >> (slot & 63) & 1 == 1
    }
    #[inline]
    pub fn set(&mut self, slot: usize) {
        self.0[slot >> 6] |= 1u64 << (slot & 63);
    }
    #[inline]
    pub fn clear(&mut self, slot: usize) {
        self.0[slot >> 6] &= !(1u64 << (slot & 63));
    }
    #[inline]
    pub fn and(&self, o: &Self) -> Self {
        let mut r = *self;
        for i in 0..W {
            r.0[i] &= o.0[i];
        }
        r
    }
    #[inline]
    pub fn or(&self, o: &Self) -> Self {
        let mut r = *self;
        for i in 0..W {
            r.0[i] |= o.0[i];
        }
        r
    }
    #[inline]
    pub fn andnot(&self, o: &Self) -> Self {
        let mut r = *self;
        for i in 0..W {
            r.0[i] &= !o.0[i];
        }
        r
    }
    #[inline]
    pub fn xor(&self, o: &Self) -> Self {
        let mut r = *self;
        for i in 0..W {
            r.0[i] ^= o.0[i];
        }
        r
    }
    #[inline]
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }
    #[inline]
    pub fn any(&self) -> bool {
        !self.is_zero()
    }
    #[inline]
    pub fn count(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
    #[inline]
    pub fn intersects(&self, o: &Self) -> bool {
        (0..W).any(|i| self.0[i] & o.0[i] != 0)
    }
    /// Is every bit of self also in o?
    #[inline]
    pub fn subset_of(&self, o: &Self) -> bool {
        (0..W).all(|i| self.0[i] & !o.0[i] == 0)
    }
    /// The slots set, lowest first.
    pub fn ones(&self) -> Ones<W> {
        Ones { bits: *self, word: 0 }
    }
}

pub struct Ones<const W: usize> {
    bits: Bits<W>,
    word: usize,
}

impl<const W: usize> Iterator for Ones<W> {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.word < W {
            let w = self.bits.0[self.word];
            if w != 0 {
                let t = w.trailing_zeros() as usize;
                self.bits.0[self.word] = w & (w - 1);
                return Some(self.word * 64 + t);
            }
            self.word += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_bits_across_word_boundaries() {
        let mut b = Bits::<2>::ZERO;
        assert!(b.is_zero() && !b.any());
        for s in [0, 63, 64, 127] {
            b.set(s);
            assert!(b.has(s));
            assert_eq!(Bits::<2>::bit(s).ones().collect::<Vec<_>>(), vec![s]);
        }
        assert_eq!(b.0, [1 | 1 << 63, 1 | 1 << 63]);
        assert_eq!(b.count(), 4);
        assert_eq!(b.ones().collect::<Vec<_>>(), vec![0, 63, 64, 127]);
        assert!(!b.has(1) && !b.has(65));
        b.clear(63);
        b.clear(63); // clearing twice changes nothing
        assert_eq!(b.ones().collect::<Vec<_>>(), vec![0, 64, 127]);
        assert!(b.any());
    }

    #[test]
    fn set_algebra() {
        let of = |slots: &[usize]| {
            let mut b = Bits::<2>::ZERO;
            slots.iter().for_each(|&s| b.set(s));
            b
        };
        let (x, y) = (of(&[1, 5, 70]), of(&[5, 70, 100]));
        assert_eq!(x.and(&y), of(&[5, 70]));
        assert_eq!(x.or(&y), of(&[1, 5, 70, 100]));
        assert_eq!(x.andnot(&y), of(&[1]));
        assert_eq!(x.xor(&y), of(&[1, 100]));
        assert!(x.intersects(&y) && !of(&[1]).intersects(&of(&[100])));
        assert!(of(&[5, 70]).subset_of(&x) && !y.subset_of(&x) && Bits::ZERO.subset_of(&x));
        assert!(x.subset_of(&x));
        assert_eq!(Bits::<1>::ZERO.ones().next(), None);
    }
}
