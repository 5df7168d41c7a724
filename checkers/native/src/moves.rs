//! The segments of a batch: the ways one segment can move the stock (counts per class, stored flat
//! in `Moves`), not dominated, and the restocks that let a buy go through. A batch search
//! (`search.rs`) takes one segment per step.

use crate::sweep::Sweep;

/// Moves (counts per class) stored flat: `items[start..end]` is one move.
#[derive(Default)]
pub(crate) struct Moves {
    items: Vec<(usize, u32)>,
    ranges: Vec<(u32, u32)>,
}

impl Moves {
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.ranges.clear();
    }
    pub(crate) fn push(&mut self, mv: impl Iterator<Item = (usize, u32)>) {
        let start = self.items.len() as u32;
        self.items.extend(mv);
        self.ranges.push((start, self.items.len() as u32));
    }
    #[inline]
    pub(crate) fn get(&self, k: usize) -> &[(usize, u32)] {
        let (a, b) = self.ranges[k];
        &self.items[a as usize..b as usize]
    }
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.ranges.len()
    }
}

/// Per class: unlinearized open known members and spare unknown ops, for one node.
pub(crate) type Avail = Vec<(usize, u32, u32)>;

impl<const W: usize, const U: usize> Sweep<'_, W, U> {
    /// Ways to move the stock by `total` in one segment (counts per class), not dominated.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn moves(
        &self,
        avail: &Avail,
        stock: i64,
        total: i64,
        skip_class: i64,
        sold_out_hi: Option<i64>,
        mixed: bool,
        found: &mut Moves,
    ) {
        if total == 0 {
            return;
        }
        let delta = &self.p.delta;
        let end = stock + total;
        let mut classes: Avail;
        if !mixed {
            classes = avail.iter().copied().filter(|&(c, _, _)| delta[c] * total > 0).collect();
            if skip_class >= 0 && delta[skip_class as usize] * total > 0 {
                classes = self.without_deferrable(classes, skip_class as usize);
            }
            if classes.len() <= 2 {
                self.one_way_moves(&classes, total, end, sold_out_hi, found);
                return;
            }
        } else if !avail.iter().any(|&(c, _, _)| delta[c] * total < 0) {
            return;
        } else {
            classes = avail.clone();
            classes.sort_by_key(|&(c, _, _)| delta[c] <= 0); // restocks first, see Walk
        }
        let n = classes.len();
        let mut can_down = vec![0i64; n + 1];
        let mut can_up = vec![0i64; n + 1];
        for j in (0..n).rev() {
            let (c, known, spare) = classes[j];
            let reach = delta[c] * (known + spare) as i64;
            can_down[j] = can_down[j + 1] + if delta[c] < 0 { reach } else { 0 };
            can_up[j] = can_up[j + 1] + if delta[c] > 0 { reach } else { 0 };
        }
        let mut counts = vec![0u32; n];
        let n_up = if mixed { classes.iter().take_while(|&&(c, _, _)| delta[c] > 0).count() } else { n };
        let mut walk = Walk {
            delta,
            classes: &classes,
            can_down: &can_down,
            can_up: &can_up,
            counts: &mut counts,
            end,
            sold_out_hi,
            mixed,
            n_up,
            found,
        };
        walk.walk(0, total, 0, false);
    }

    /// Cap each class so that its ops alone cannot add up to a's delta (see `deferrable`).
    fn without_deferrable(&self, classes: Avail, a_class: usize) -> Avail {
        let q = self.p.delta[a_class].abs();
        let mut out = Vec::with_capacity(classes.len());
        for (c, mut known, mut spare) in classes {
            let size = self.p.delta[c].abs();
            if size > 0 && q % size == 0 {
                let cap = (q / size - 1) as u32;
                if cap == 0 {
                    continue;
                }
                if known >= cap {
                    known = cap;
                    spare = 0;
                } else {
                    spare = spare.min(cap - known);
                }
            }
            out.push((c, known, spare));
        }
        out
    }

    /// Is this segment, before the returning effect a, redundant? It is when it moves the stock
    /// only in a's direction and some of its ops add up to exactly a's delta: linearizing a
    /// first and those ops after the batch reaches every stock the segment reaches.
    pub(crate) fn deferrable(&self, mv: &[(usize, u32)], a_class: usize) -> bool {
        let d = self.p.delta[a_class];
        let q = d.unsigned_abs() as usize;
        if q == 0 {
            return false;
        }
        let mut sums = SubsetSums::new(q);
        for &(c, t) in mv {
            let dc = self.p.delta[c];
            if dc * d <= 0 {
                return false;
            }
            for _ in 0..t {
                sums.add(dc.unsigned_abs() as usize);
                if sums.has(q) {
                    return true;
                }
            }
        }
        sums.has(q)
    }

    fn one_way_moves(
        &self,
        classes: &[(usize, u32, u32)],
        total: i64,
        end: i64,
        sold_out_hi: Option<i64>,
        found: &mut Moves,
    ) {
        if classes.is_empty() || (end < 0 && total < 0) {
            return;
        }
        let delta = &self.p.delta;
        if classes.len() == 1 {
            let (c, known, spare) = classes[0];
            let d = delta[c];
            let (t, rest) = (total / d, total % d);
            if rest != 0 || t > (known + spare) as i64 {
                return;
            }
            if let Some(hi) = sold_out_hi {
                if end - d <= hi {
                    return;
                }
            }
            found.push(std::iter::once((c, t as u32)));
            return;
        }
        let (mut c1, mut known1, mut spare1) = classes[0];
        let (mut c2, mut known2, mut spare2) = classes[1];
        if delta[c1].abs() < delta[c2].abs() {
            std::mem::swap(&mut c1, &mut c2);
            std::mem::swap(&mut known1, &mut known2);
            std::mem::swap(&mut spare1, &mut spare2);
        }
        let (d1, d2) = (delta[c1], delta[c2]);
        let ratio = if d1 % d2 == 0 { d1 / d2 } else { 0 };
        let mut t1 = ((known1 + spare1) as i64).min(total / d1);
        while t1 >= 0 {
            let left = total - t1 * d1;
            let (t2, rest) = (left / d2, left % d2);
            if rest == 0 && t2 <= (known2 + spare2) as i64 {
                let over = match sold_out_hi {
                    Some(hi) => (t1 > 0 && end - d1 <= hi) || (t2 > 0 && end - d2 <= hi),
                    None => false,
                };
                let unknown1 = (t1 - known1 as i64).max(0);
                let unknown2 = (t2 - known2 as i64).max(0);
                let dominated = ratio != 0 && unknown2 >= ratio && unknown1 < spare1 as i64;
                if !over && !dominated {
                    found.push([(c1, t1 as u32), (c2, t2 as u32)].into_iter().filter(|&(_, t)| t > 0));
                }
            }
            t1 -= 1;
        }
    }

    /// Minimal sets of restocks (counts per class) that raise the stock by at least `short`.
    pub(crate) fn enabling(&self, avail: &Avail, short: i64) -> Vec<Vec<(usize, u32)>> {
        let delta = &self.p.delta;
        let ups: Vec<(usize, u32)> =
            avail.iter().filter(|&&(c, _, _)| delta[c] > 0).map(|&(c, known, spare)| (c, known + spare)).collect();
        let mut found = Vec::new();
        if ups.is_empty() {
            return found;
        }
        let mut counts = vec![0u32; ups.len()];
        fn walk(
            j: usize,
            raised: i64,
            short: i64,
            ups: &[(usize, u32)],
            delta: &[i64],
            counts: &mut Vec<u32>,
            found: &mut Vec<Vec<(usize, u32)>>,
        ) {
            if raised >= short {
                let chosen: Vec<(usize, u32)> =
                    ups.iter().zip(counts.iter()).filter(|(_, &t)| t > 0).map(|(&(c, _), &t)| (c, t)).collect();
                if chosen.iter().all(|&(c, _)| raised - delta[c] < short) {
                    found.push(chosen);
                }
                return;
            }
            if j == ups.len() {
                return;
            }
            let (c, most) = ups[j];
            let d = delta[c];
            let limit = (most as i64).min(ceil_div(short - raised, d));
            for t in 0..=limit {
                counts[j] = t as u32;
                walk(j + 1, raised + t * d, short, ups, delta, counts, found);
            }
            counts[j] = 0;
        }
        walk(0, 0, short, &ups, delta, &mut counts, &mut found);
        found
    }
}

/// The general enumeration of moves (more than two classes, or mixed directions).
struct Walk<'a> {
    delta: &'a [i64],
    classes: &'a [(usize, u32, u32)],
    can_down: &'a [i64],
    can_up: &'a [i64],
    counts: &'a mut Vec<u32>,
    end: i64,
    sold_out_hi: Option<i64>,
    mixed: bool,
    /// mixed moves: the classes are restocks first, then buys; this many restock classes
    n_up: usize,
    found: &'a mut Moves,
}

impl Walk<'_> {
    /// Choose counts for classes j.. so that they move the stock by `left`. A mixed move whose
    /// buys of 1 and 2 units include a 1-unit op and add up to at least its smallest restock has a
    /// part adding up to zero (such buys make every smaller sum), and so has every move with more
    /// buys: pruned. (`down_units`: units of the 1- and 2-unit buys chosen so far.)
    fn walk(&mut self, j: usize, left: i64, down_units: i64, unit_buy: bool) {
        let n = self.classes.len();
        if self.mixed && j == self.n_up && self.n_up > 0 && self.counts[..j].iter().all(|&t| t == 0) {
            return; // no restock: not a mixed move
        }
        if j == n {
            if left == 0 {
                self.keep();
            }
            return;
        }
        let (c, known, spare) = self.classes[j];
        let d = self.delta[c];
        let most = (known + spare) as i64;
        if d == 0 {
            self.walk(j + 1, left, down_units, unit_buy);
            return;
        }
        let (first, last) = if d > 0 {
            (-floor_div(self.can_up[j + 1] - left, d), floor_div(left - self.can_down[j + 1], d))
        } else {
            (-floor_div(self.can_down[j + 1] - left, d), floor_div(left - self.can_up[j + 1], d))
        };
        let mut t = first.max(0);
        let last = last.min(most);
        while t <= last {
            // buys of 1 and 2 units only: with one 1 among them they make every sum up to theirs
            let small = d == -1 || d == -2;
            let (units, unit) =
                if small { (down_units - t * d, unit_buy || (d == -1 && t > 0)) } else { (down_units, unit_buy) };
            if self.mixed && unit && j >= self.n_up && units >= self.min_used_up() {
                break;
            }
            self.counts[j] = t as u32;
            self.walk(j + 1, left - t * d, units, unit);
            t += 1;
        }
        self.counts[j] = 0;
    }

    /// Mixed moves, once the restocks are chosen: the smallest restock in this move (a restock
    /// that is open but not in the move makes no part of it add up to zero).
    fn min_used_up(&self) -> i64 {
        self.classes[..self.n_up]
            .iter()
            .zip(self.counts.iter())
            .filter(|&(_, &t)| t > 0)
            .map(|(&(c, _, _), _)| self.delta[c])
            .min()
            .unwrap_or(i64::MAX)
    }

    /// Add the move `counts` unless it is dominated: a part adding up to zero, below zero with
    /// buys in it, or toward a sold_out guard still satisfied without one of its buys.
    fn keep(&mut self) {
        let delta = self.delta;
        let (mut has_up, mut has_down) = (false, false);
        for (&(c, _, _), &t) in self.classes.iter().zip(self.counts.iter()) {
            if t == 0 {
                continue;
            }
            let d = delta[c];
            if d > 0 {
                has_up = true;
            } else if d < 0 {
                has_down = true;
                if let Some(hi) = self.sold_out_hi {
                    if self.end - d <= hi {
                        return;
                    }
                }
            }
        }
        if (has_down && self.end < 0) || self.mixed != (has_up && has_down) {
            return;
        }
        if self.mixed {
            let up_total: i64 = self
                .classes
                .iter()
                .zip(self.counts.iter())
                .filter(|(&(c, _, _), _)| delta[c] > 0)
                .map(|(&(c, _, _), &t)| delta[c] * t as i64)
                .sum();
            let mut ups = SubsetSums::new(up_total as usize);
            let mut downs = SubsetSums::new(up_total as usize);
            for (&(c, _, _), &t) in self.classes.iter().zip(self.counts.iter()) {
                let d = delta[c];
                if t == 0 || d == 0 {
                    continue;
                }
                let sums = if d > 0 { &mut ups } else { &mut downs };
                for _ in 0..t {
                    sums.add(d.unsigned_abs() as usize);
                }
            }
            if ups.meets(&downs) {
                return;
            }
        }
        let mut mv: Vec<(usize, u32)> = self
            .classes
            .iter()
            .zip(self.counts.iter())
            .filter(|(_, &t)| t > 0)
            .map(|(&(c, _, _), &t)| (c, t))
            .collect();
        if has_up && has_down {
            mv.sort_by_key(|&(c, _)| std::cmp::Reverse(delta[c])); // restocks first: the most legal order
        }
        self.found.push(mv.into_iter());
    }
}

/// Sums of sub-multisets of sizes up to a cap, as a bit set (bit 0 always set).
#[derive(Clone)]
struct SubsetSums {
    words: Vec<u64>,
    cap: usize,
}

impl SubsetSums {
    fn new(cap: usize) -> Self {
        let mut words = vec![0u64; cap / 64 + 1];
        words[0] = 1;
        SubsetSums { words, cap }
    }
    fn add(&mut self, size: usize) {
        if size > self.cap {
            return;
        }
        let len = self.words.len();
        let (shift_words, bits) = (size / 64, size % 64);
        // highest word first: every word is read before anything is or-ed into it
        for i in (0..len - shift_words).rev() {
            let w = self.words[i];
            if w == 0 {
                continue;
            }
            if bits > 0 && i + shift_words + 1 < len {
                self.words[i + shift_words + 1] |= w >> (64 - bits);
            }
            self.words[i + shift_words] |= w << bits;
        }
        let spare = len * 64 - 1 - self.cap;
        if spare > 0 {
            self.words[len - 1] &= u64::MAX >> spare;
        }
    }
    fn has(&self, v: usize) -> bool {
        v <= self.cap && self.words[v / 64] >> (v % 64) & 1 == 1
    }
    /// Do both have a common nonzero sum?
    fn meets(&self, other: &SubsetSums) -> bool {
        for (i, (&a, &b)) in self.words.iter().zip(other.words.iter()).enumerate() {
            let mut common = a & b;
            if i == 0 {
                common &= !1;
            }
            if common != 0 {
                return true;
            }
        }
        false
    }
}

fn floor_div(a: i64, b: i64) -> i64 {
    let q = a / b;
    if a % b != 0 && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

fn ceil_div(a: i64, b: i64) -> i64 {
    -floor_div(-a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Input, BUY_SOLD, RESTOCK_OK};
    use crate::prepare::Prepared;

    // Classes in the order `Prepared` numbers them: buy of 1, buy of 2, restock of 3, restock of 2.
    const B1: usize = 0;
    const B2: usize = 1;
    const R3: usize = 2;
    const R2: usize = 3;

    fn classes() -> Prepared {
        Prepared::new(&Input::from_ops(
            0,
            &[(BUY_SOLD, 1, 0, 9), (BUY_SOLD, 2, 0, 9), (RESTOCK_OK, 3, 0, 9), (RESTOCK_OK, 2, 0, 9)],
        ))
    }

    fn all(m: &Moves) -> Vec<Vec<(usize, u32)>> {
        (0..m.len()).map(|k| m.get(k).to_vec()).collect()
    }

    /// The moves by `total` from `stock` over `avail` (class, known, spare), none returning.
    fn moves_of(
        avail: &[(usize, u32, u32)],
        stock: i64,
        total: i64,
        sold_out_hi: Option<i64>,
        mixed: bool,
    ) -> Vec<Vec<(usize, u32)>> {
        let p = classes();
        assert_eq!(p.delta, vec![-1, -2, 3, 2]);
        let sweep = Sweep::<1, 4>::new(&p, None);
        let mut found = Moves::default();
        sweep.moves(&avail.to_vec(), stock, total, -1, sold_out_hi, mixed, &mut found);
        all(&found)
    }

    #[test]
    fn floor_and_ceil_division_round_toward_their_side() {
        assert_eq!([floor_div(7, 2), floor_div(-7, 2), floor_div(7, -2), floor_div(-7, -2)], [3, -4, -4, 3]);
        assert_eq!([ceil_div(7, 2), ceil_div(-7, 2), ceil_div(7, -2), ceil_div(-7, -2)], [4, -3, -3, 4]);
        assert_eq!((floor_div(-6, 3), ceil_div(-6, 3), floor_div(0, -5)), (-2, -2, 0));
    }

    #[test]
    fn subset_sums_up_to_the_cap() {
        let mut s = SubsetSums::new(70);
        assert!(s.has(0) && !s.has(1));
        for size in [3, 5, 64, 71] {
            s.add(size); // 71 is beyond the cap: ignored
        }
        let sums: Vec<usize> = (0..=80).filter(|&v| s.has(v)).collect();
        assert_eq!(sums, vec![0, 3, 5, 8, 64, 67, 69]); // 72 would cross the cap: masked off
        let mut t = SubsetSums::new(70);
        t.add(4);
        assert!(!s.meets(&t), "only 0 in common, and 0 does not count");
        t.add(4);
        assert!(s.meets(&t), "8 = 3 + 5 = 4 + 4");
    }

    #[test]
    fn moves_are_stored_flat() {
        let mut m = Moves::default();
        m.push([(1, 2), (3, 1)].into_iter());
        m.push(std::iter::empty());
        m.push(std::iter::once((0, 5)));
        assert_eq!(all(&m), vec![vec![(1, 2), (3, 1)], vec![], vec![(0, 5)]]);
        m.clear();
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn one_way_moves_and_their_dominance() {
        // down by 3 with three buys of 1 and one of 2: 2 + 1, or 1 + 1 + 1
        assert_eq!(
            moves_of(&[(B1, 3, 0), (B2, 1, 0)], 5, -3, None, false),
            vec![vec![(B2, 1), (B1, 1)], vec![(B1, 3)]]
        );
        // two spare unknown buys of 1 are never needed where a spare unknown buy of 2 does it
        assert_eq!(moves_of(&[(B1, 0, 2), (B2, 0, 1)], 5, -2, None, false), vec![vec![(B2, 1)]]);
        // not below zero with buys
        assert_eq!(moves_of(&[(B1, 5, 0)], 2, -3, None, false), Vec::<Vec<(usize, u32)>>::new());
        // toward a sold_out buy of 3 (stock <= 2): four buys from 5 overshoot, it held after three
        assert_eq!(moves_of(&[(B1, 5, 0)], 5, -3, Some(2), false), vec![vec![(B1, 3)]]);
        assert_eq!(moves_of(&[(B1, 5, 0)], 5, -4, Some(2), false), Vec::<Vec<(usize, u32)>>::new());
    }

    #[test]
    fn mixed_moves_have_no_part_adding_up_to_zero() {
        // up by one: a restock of 3 then two buys of 1 (restocks first)
        assert_eq!(moves_of(&[(B1, 3, 0), (R3, 1, 0)], 5, 1, None, true), vec![vec![(R3, 1), (B1, 2)]]);
        // down by one through a restock of 2 and three buys of 1 holds a detour (2 - 1 - 1): none,
        // while the one-way move is a single buy
        assert_eq!(moves_of(&[(B1, 3, 0), (R2, 1, 0)], 5, -1, None, true), Vec::<Vec<(usize, u32)>>::new());
        assert_eq!(moves_of(&[(B1, 3, 0), (R2, 1, 0)], 5, -1, None, false), vec![vec![(B1, 1)]]);
    }

    #[test]
    fn deferrable_segments_and_caps() {
        let p = classes();
        let sweep = Sweep::<1, 4>::new(&p, None);
        // before a returning buy of 2: two buys of 1 add up to it, one does not, a restock never is
        assert!(sweep.deferrable(&[(B1, 2)], B2));
        assert!(!sweep.deferrable(&[(B1, 1)], B2));
        assert!(!sweep.deferrable(&[(R2, 1), (B1, 2)], B2)); // mixed moves list restocks first
                                                             // so buys of 1 are capped at one, and other buys of 2 are left out
        assert_eq!(sweep.without_deferrable(vec![(B1, 3, 2), (B2, 1, 0)], B2), vec![(B1, 1, 0)]);
        assert_eq!(sweep.without_deferrable(vec![(B1, 0, 2)], B2), vec![(B1, 0, 1)]);
    }

    #[test]
    fn enabling_restocks_are_minimal() {
        let p = classes();
        let sweep = Sweep::<1, 4>::new(&p, None);
        let avail = vec![(B1, 1, 0), (R3, 1, 0), (R2, 2, 0)];
        // short by 3: two restocks of 2, or one of 3 (not 3 + 2: the 2 is not needed)
        assert_eq!(sweep.enabling(&avail, 3), vec![vec![(R2, 2)], vec![(R3, 1)]]);
        assert_eq!(sweep.enabling(&avail, 5), vec![vec![(R3, 1), (R2, 1)]]);
        assert_eq!(sweep.enabling(&avail, 8), Vec::<Vec<(usize, u32)>>::new());
        assert_eq!(sweep.enabling(&vec![(B1, 4, 0)], 1), Vec::<Vec<(usize, u32)>>::new());
    }
}
