//! Pruning the frontier after a return: configurations that can no longer satisfy an open guard
//! are dead, and one that another configuration reaches or dominates is dropped (every way to
//! complete it stays available to the other).

use crate::bits::Bits;
use crate::config::{Cfg, Node};
use crate::hash::FxSet;
use crate::sweep::{Stop, Sweep};

pub(crate) const REACH_NODES: usize = 256;

impl<const W: usize, const U: usize> Sweep<'_, W, U> {
    /// Drop dead configurations (unless all are) and those another one reaches or dominates.
    pub(crate) fn prune(&mut self, alternatives: &[Node<W, U>], pos: usize) -> Result<Vec<Node<W, U>>, Stop> {
        let mut alive: Vec<Node<W, U>> = alternatives.iter().filter(|n| !self.hopeless(&n.0, pos)).copied().collect();
        if alive.is_empty() {
            alive = alternatives.to_vec();
        }
        if alive.len() == 1 {
            return Ok(alive);
        }
        let mut winners: Vec<Node<W, U>> = Vec::new();
        for item in alive {
            self.tick()?;
            if winners.iter().any(|w| self.covers(&w.0, &item.0)) {
                continue;
            }
            winners.retain(|w| !self.covers(&item.0, &w.0));
            winners.push(item);
        }
        Ok(winners)
    }

    /// Is some open guard out of reach for good: even every effect open now or called before
    /// the guard returns could not move the stock into its interval?
    fn hopeless(&self, cfg: &Cfg<W, U>, pos: usize) -> bool {
        let p = self.p;
        let unsat = self.open_guards.andnot(&cfg.g);
        if unsat.is_zero() {
            return false;
        }
        let (mut down, mut up) = (0i64, 0i64);
        for c in 0..p.delta.len() {
            let left = self.class_bits[c].andnot(&cfg.e).count() as i64 + (self.invoked[c] - self.used(cfg, c)) as i64;
            if left > 0 {
                let d = p.delta[c];
                if d < 0 {
                    down -= d * left;
                } else {
                    up += d * left;
                }
            }
        }
        for s in unsat.ones() {
            let by = p.ret_pos[self.slot_op[s] as usize] as usize;
            let reach_low = cfg.stock - down - (p.called_down[by] - p.called_down[pos + 1]);
            let reach_high = cfg.stock + up + (p.called_up[by] - p.called_up[pos + 1]);
            if reach_high < self.slot_lo[s] || self.slot_hi[s] < reach_low {
                return true;
            }
        }
        false
    }

    fn covers(&self, x: &Cfg<W, U>, y: &Cfg<W, U>) -> bool {
        self.dominates(x, y) || self.reaches(x, y)
    }

    /// x first moves to y's stock with spare unknown ops (if it must), then its guards are a
    /// superset of y's and its open work no harder: per class, Hall's condition for matching x's
    /// unlinearized open members to y's with deadlines no earlier, and x's spare unknown ops
    /// cover the move, y's members x has no match for, and y's own unknown ops.
    fn dominates(&self, x: &Cfg<W, U>, y: &Cfg<W, U>) -> bool {
        let mv = y.stock - x.stock;
        if mv < 0 && y.stock < 0 {
            return false;
        }
        if y.g.andnot(&x.g).any() && (mv == 0 || y.g.andnot(&x.g.or(&self.satisfied(y.stock))).any()) {
            return false;
        }
        if mv == 0 && x.e == y.e && x.used == y.used {
            return true;
        }
        let nc = self.p.delta.len();
        let mut balance: Vec<i64> = Vec::with_capacity(nc);
        let mut short = mv != 0;
        let diff = x.e.xor(&y.e);
        for c in 0..nc {
            let mut deficit = 0i64;
            if diff.intersects(&self.class_bits[c]) {
                let (mut nx, mut ny) = (0i64, 0i64);
                for &(_, _, s) in &self.members[c] {
                    if !x.e.has(s as usize) {
                        nx += 1;
                    }
                    if !y.e.has(s as usize) {
                        ny += 1;
                    }
                    if nx > ny {
                        return false;
                    }
                }
                deficit = ny - nx;
            }
            let need = deficit + self.used(x, c) as i64 - self.used(y, c) as i64;
            balance.push(-need);
            if need > 0 {
                short = true;
            }
        }
        !short || self.refines(&balance, mv)
    }

    /// Greedy check that x's spare unknown ops (balance > 0) can play the stock `move` and the
    /// ops it lacks (balance < 0), each by one or more unknown ops of the same sign adding up
    /// to it (consecutive steps that end at the same stock, only visiting more).
    fn refines(&self, balance: &[i64], mv: i64) -> bool {
        let delta = &self.p.delta;
        let mut spare: Vec<(i64, i64)> = Vec::new(); // (delta, count)
        let mut missing: Vec<i64> = if mv != 0 { vec![mv] } else { vec![] };
        for (c, &b) in balance.iter().enumerate() {
            if b > 0 {
                match spare.iter_mut().find(|(d, _)| *d == delta[c]) {
                    Some(entry) => entry.1 += b,
                    None => spare.push((delta[c], b)),
                }
            } else if b < 0 {
                for _ in 0..(-b) {
                    missing.push(delta[c]);
                }
            }
        }
        missing.sort_by_key(|w| std::cmp::Reverse(w.abs()));
        spare.sort_by_key(|(d, _)| std::cmp::Reverse(d.abs()));
        for want in missing {
            let mut left = want.abs();
            for (piece, have) in spare.iter_mut() {
                if *piece * want <= 0 {
                    continue;
                }
                let size = piece.abs();
                while left >= size && *have > 0 {
                    *have -= 1;
                    left -= size;
                }
                if left == 0 {
                    break;
                }
            }
            if left != 0 {
                return false;
            }
        }
        true
    }

    /// Is y in x's closure: can x linearize now exactly the ops y has beyond it, passing
    /// through stocks that satisfy every guard y has and x lacks? (Small bounded search, over
    /// at most 8 classes: "no" when unsure, which only keeps y.)
    fn reaches(&self, x: &Cfg<W, U>, y: &Cfg<W, U>) -> bool {
        let p = self.p;
        if x.e.andnot(&y.e).any() {
            return false;
        }
        let diff = y.e.andnot(&x.e);
        let mut left = [0u32; 8];
        let mut classes = [0usize; 8];
        let mut k = 0;
        for c in 0..p.delta.len() {
            let (ux, uy) = (self.used(x, c), self.used(y, c));
            if ux > uy {
                return false;
            }
            let n = diff.and(&self.class_bits[c]).count() + uy - ux;
            if n > 0 {
                if k == 8 {
                    return false;
                }
                classes[k] = c;
                left[k] = n;
                k += 1;
            }
        }
        if k == 0 {
            return x.stock == y.stock && y.g.andnot(&x.g).is_zero();
        }
        let targets = y.g.andnot(&x.g);
        if targets.is_zero() {
            return classes[..k].iter().all(|&c| p.delta[c] >= 0) || y.stock >= 0;
        }
        let mut stack: Vec<(i64, [u32; 8], Bits<W>)> = vec![(x.stock, left, Bits::ZERO)];
        let mut seen: FxSet<([u32; 8], Bits<W>)> = FxSet::default();
        while let Some((stock, left, hit)) = stack.pop() {
            if seen.len() >= REACH_NODES {
                break;
            }
            if hit == targets && left.iter().all(|&n| n == 0) {
                return true;
            }
            for j in 0..k {
                let c = classes[j];
                if left[j] == 0 || stock < p.need[c] {
                    continue;
                }
                let nstock = stock + p.delta[c];
                let mut nleft = left;
                nleft[j] -= 1;
                let nhit = hit.or(&self.satisfied(nstock).and(&targets));
                if seen.insert((nleft, nhit)) {
                    stack.push((nstock, nleft, nhit));
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Input, BUY_SOLD, BUY_UNKNOWN, READ_OK, RESTOCK_OK};
    use crate::prepare::{Prepared, UNKNOWN_EFFECT};

    /// A sweep that has processed the first `calls` events (all calls), as `Sweep::sweep` does.
    fn opened(p: &Prepared, calls: usize) -> Sweep<'_, 1, 4> {
        let mut s = Sweep::<1, 4>::new(p, None);
        for &ev in &p.events[..calls] {
            assert!(ev >= 0, "calls only");
            let i = ev as usize;
            if p.kind[i] == UNKNOWN_EFFECT {
                s.invoked[p.op_class[i] as usize] += 1;
            } else {
                s.open_op(i);
            }
        }
        s
    }

    fn bits(slots: &[usize]) -> Bits<1> {
        let mut b = Bits::ZERO;
        slots.iter().for_each(|&s| b.set(s));
        b
    }

    fn cfg(stock: i64, e: &[usize], g: &[usize], used: [u32; 4]) -> Cfg<1, 4> {
        Cfg { stock, e: bits(e), g: bits(g), used }
    }

    const NONE: [u32; 4] = [0; 4];

    /// Two open sold buys of 1, in slots 0 and 1, due at 10 and 20.
    fn two_buys(init: i64) -> Prepared {
        Prepared::new(&Input::from_ops(init, &[(BUY_SOLD, 1, 0, 10), (BUY_SOLD, 1, 0, 20)]))
    }

    #[test]
    fn a_configuration_reaches_what_it_can_still_linearize() {
        let p = two_buys(2);
        let s = opened(&p, 2);
        let (x, y) = (cfg(2, &[], &[], NONE), cfg(1, &[0], &[], NONE));
        assert!(s.reaches(&x, &y), "x linearizes the buy due first and is y");
        assert!(!s.dominates(&x, &y), "x has more open work than y");
        assert!(s.covers(&x, &y));
        assert!(!s.covers(&y, &x), "y cannot undo its buy");
    }

    #[test]
    fn dominance_matches_open_members_by_deadline() {
        let p = two_buys(1);
        let s = opened(&p, 2);
        // both sold one unit: x the buy due at 20, y the one due at 10 (y's open work is later)
        let (x, y) = (cfg(0, &[1], &[], NONE), cfg(0, &[0], &[], NONE));
        assert!(s.dominates(&y, &x));
        assert!(!s.dominates(&x, &y));
        assert!(!s.covers(&x, &y));
        // pruning keeps y whichever comes first
        for nodes in [[(x, 0), (y, 1)], [(y, 1), (x, 0)]] {
            let kept = opened(&p, 2).prune(&nodes, 1).ok().expect("no deadline");
            assert_eq!(kept.iter().map(|n| n.1).collect::<Vec<_>>(), vec![1]);
        }
    }

    #[test]
    fn spare_unknown_ops_play_the_stock_move() {
        // classes: unknown buys of 1 (two invoked), an unknown buy of 2
        let ops = [(BUY_UNKNOWN, 1, 0, -1), (BUY_UNKNOWN, 1, 1, -1), (BUY_UNKNOWN, 2, 2, -1)];
        let p = Prepared::new(&Input::from_ops(4, &ops));
        let s = opened(&p, 3);
        let x = cfg(4, &[], &[], [0, 0, 0, 0]);
        // two buys of 1 make y's move, and so does one of 2
        assert!(s.dominates(&x, &cfg(2, &[], &[], [2, 0, 0, 0])));
        assert!(s.dominates(&x, &cfg(2, &[], &[], [0, 1, 0, 0])));
        // y spent nothing: x cannot go down to it with y's unknown ops still spare for y
        assert!(!s.dominates(&x, &cfg(2, &[], &[], [0, 0, 0, 0])));
        // one spare buy of 1 does not make a move of 2; nor does the buy of 2 y could still use
        assert!(!s.dominates(&cfg(4, &[], &[], [1, 0, 0, 0]), &cfg(2, &[], &[], [2, 0, 0, 0])));
        // and y, having spent them, covers nothing of x
        assert!(!s.covers(&cfg(2, &[], &[], [2, 0, 0, 0]), &x));
    }

    #[test]
    fn more_guards_dominate_and_a_path_through_a_guard_reaches() {
        // a restock of 1 (slot 0) and a read of 1 (slot 1), both open
        let p = Prepared::new(&Input::from_ops(0, &[(RESTOCK_OK, 1, 0, 9), (READ_OK, 1, 0, 9)]));
        let s = opened(&p, 2);
        let (saturated, not) = (cfg(1, &[0], &[1], NONE), cfg(1, &[0], &[], NONE));
        assert!(s.dominates(&saturated, &not) && !s.dominates(&not, &saturated));
        // from 0, restocking 1 passes the read of 1
        assert!(s.reaches(&cfg(0, &[], &[], NONE), &saturated));
        // a read of 5 is not on the way
        let p5 = Prepared::new(&Input::from_ops(0, &[(RESTOCK_OK, 1, 0, 9), (READ_OK, 5, 0, 9)]));
        let s5 = opened(&p5, 2);
        assert!(!s5.reaches(&cfg(0, &[], &[], NONE), &cfg(1, &[0], &[1], NONE)));
    }

    #[test]
    fn hopeless_counts_effects_called_before_the_guard_returns() {
        // a read of 5 open from 0 to 10, a restock of q called at 5: after the read's call only
        for (q, hopeless) in [(5, false), (4, true)] {
            let p = Prepared::new(&Input::from_ops(0, &[(READ_OK, 5, 0, 10), (RESTOCK_OK, q, 5, 6)]));
            let s = opened(&p, 1);
            assert_eq!(s.hopeless(&cfg(0, &[], &[], NONE), 0), hopeless, "restock of {q}");
            // a configuration that has linearized the read has nothing left to reach
            assert!(!s.hopeless(&cfg(0, &[], &[0], NONE), 0));
        }
    }
}
