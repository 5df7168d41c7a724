//! The part of a check that is the same for every configuration: what each op is (effect, guard,
//! unknown effect, or skipped), the classes of interchangeable effects, and the order of events.

use crate::hash::FxMap;
use crate::input::{Input, BUY_SOLD, BUY_SOLD_OUT, BUY_UNKNOWN, READ_OK, READ_UNKNOWN, RESTOCK_OK, RESTOCK_UNKNOWN};

pub(crate) const EFFECT: u8 = 0;
pub(crate) const GUARD: u8 = 1;
pub(crate) const UNKNOWN_EFFECT: u8 = 2;
pub(crate) const SKIPPED: u8 = 3;

pub(crate) const NO_NEED: i64 = -(1 << 62);
pub(crate) const NO_LOWER: i64 = -(1 << 62);

/// What the ops are, and the order of their events: the same for every configuration.
pub(crate) struct Prepared {
    pub(crate) kind: Vec<u8>,
    pub(crate) op_class: Vec<i32>,
    pub(crate) guard_lo: Vec<i64>,
    pub(crate) guard_hi: Vec<i64>,
    pub(crate) ret_time: Vec<i64>,
    pub(crate) delta: Vec<i64>,
    pub(crate) need: Vec<i64>,
    /// per class, its unknown ops in call order
    pub(crate) class_unknown: Vec<Vec<u32>>,
    /// per class, its position among the classes with unknown ops (the `used` counters), or -1
    pub(crate) unknown_index: Vec<i32>,
    pub(crate) n_unknown_classes: usize,
    pub(crate) max_buy: i64,
    /// op index for a call, !op index for a return
    pub(crate) events: Vec<i64>,
    pub(crate) ret_pos: Vec<u32>,
    /// units that effects called before each position could move the stock down / up
    pub(crate) called_down: Vec<i64>,
    pub(crate) called_up: Vec<i64>,
    pub(crate) init: i64,
    pub(crate) max_open: usize,
}

impl Prepared {
    pub(crate) fn new(input: &Input) -> Self {
        let n = input.kinds.len();
        let mut kind = vec![SKIPPED; n];
        let mut op_class = vec![-1i32; n];
        let mut guard_lo = vec![0i64; n];
        let mut guard_hi = vec![0i64; n];
        let mut class_of: FxMap<(i64, i64), usize> = FxMap::default();
        let mut delta = Vec::new();
        let mut need = Vec::new();
        for i in 0..n {
            let k = input.kinds[i];
            let amount = input.amount[i];
            match k {
                READ_OK => {
                    kind[i] = GUARD;
                    guard_lo[i] = amount;
                    guard_hi[i] = amount;
                }
                READ_UNKNOWN => {}
                BUY_SOLD_OUT => {
                    kind[i] = GUARD;
                    guard_lo[i] = NO_LOWER;
                    guard_hi[i] = amount - 1;
                }
                BUY_SOLD | BUY_UNKNOWN | RESTOCK_OK | RESTOCK_UNKNOWN => {
                    let unknown = k == BUY_UNKNOWN || k == RESTOCK_UNKNOWN;
                    if unknown && amount == 0 {
                        continue;
                    }
                    let effect = if k == BUY_SOLD || k == BUY_UNKNOWN { (-amount, amount) } else { (amount, NO_NEED) };
                    let c = *class_of.entry(effect).or_insert_with(|| {
                        delta.push(effect.0);
                        need.push(effect.1);
                        delta.len() - 1
                    });
                    op_class[i] = c as i32;
                    kind[i] = if unknown { UNKNOWN_EFFECT } else { EFFECT };
                }
                _ => {}
            }
        }
        let mut class_unknown: Vec<Vec<u32>> = vec![Vec::new(); delta.len()];
        let mut unknowns: Vec<usize> = (0..n).filter(|&i| kind[i] == UNKNOWN_EFFECT).collect();
        unknowns.sort_by_key(|&i| (input.call[i], i));
        for i in unknowns {
            class_unknown[op_class[i] as usize].push(i as u32);
        }
        let max_buy = delta.iter().filter(|&&d| d < 0).map(|&d| -d).max().unwrap_or(1);
        let mut unknown_index = vec![-1i32; delta.len()];
        let mut n_unknown_classes = 0;
        for (c, unknown) in class_unknown.iter().enumerate() {
            if !unknown.is_empty() {
                unknown_index[c] = n_unknown_classes as i32;
                n_unknown_classes += 1;
            }
        }

        let mut entries: Vec<(i64, u8, usize)> = Vec::with_capacity(2 * n);
        for i in 0..n {
            if kind[i] != SKIPPED {
                entries.push((input.call[i], 0, i));
            }
            if kind[i] == EFFECT || kind[i] == GUARD {
                entries.push((input.ret[i], 1, i));
            }
        }
        entries.sort_unstable();
        let mut events = Vec::with_capacity(entries.len());
        let mut ret_pos = vec![0u32; n];
        let mut called_down = vec![0i64; entries.len() + 1];
        let mut called_up = vec![0i64; entries.len() + 1];
        let (mut down, mut up) = (0i64, 0i64);
        let (mut open, mut max_open) = (0usize, 0usize);
        for (pos, &(_, is_return, i)) in entries.iter().enumerate() {
            if is_return == 1 {
                events.push(!(i as i64));
                ret_pos[i] = pos as u32;
                open -= 1;
            } else {
                events.push(i as i64);
                if kind[i] == EFFECT || kind[i] == UNKNOWN_EFFECT {
                    let d = delta[op_class[i] as usize];
                    if d < 0 {
                        down -= d;
                    } else {
                        up += d;
                    }
                }
                if kind[i] != UNKNOWN_EFFECT {
                    open += 1;
                    max_open = max_open.max(open);
                }
            }
            called_down[pos + 1] = down;
            called_up[pos + 1] = up;
        }
        Prepared {
            kind,
            op_class,
            guard_lo,
            guard_hi,
            ret_time: input.ret.clone(),
            delta,
            need,
            class_unknown,
            unknown_index,
            n_unknown_classes,
            max_buy,
            events,
            ret_pos,
            called_down,
            called_up,
            init: input.init,
            max_open,
        }
    }

    pub(crate) fn op_at(&self, pos: usize) -> usize {
        let e = self.events[pos];
        (if e >= 0 { e } else { !e }) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of op once or more, with calls and returns that tie.
    fn mixed() -> Prepared {
        Prepared::new(&Input::from_ops(
            4,
            &[
                (BUY_SOLD, 1, 0, 10),
                (BUY_UNKNOWN, 1, 5, -1),
                (RESTOCK_OK, 3, 2, 4),
                (READ_OK, 7, 4, 6),
                (BUY_SOLD_OUT, 2, 1, 3),
                (READ_UNKNOWN, 0, 0, -1),
                (BUY_UNKNOWN, 0, 3, -1),
                (BUY_UNKNOWN, 1, 1, -1),
                (RESTOCK_UNKNOWN, 3, 8, -1),
            ],
        ))
    }

    #[test]
    fn op_kinds_and_classes() {
        let p = mixed();
        let (e, g, u, s) = (EFFECT, GUARD, UNKNOWN_EFFECT, SKIPPED);
        // an unknown read and an unknown buy of 0 constrain nothing
        assert_eq!(p.kind, vec![e, u, e, g, g, s, s, u, u]);
        // a class is a (delta, need): known and unknown buys of 1 share one, so do the restocks of 3
        assert_eq!(p.delta, vec![-1, 3]);
        assert_eq!(p.need, vec![1, NO_NEED]);
        assert_eq!(p.op_class, vec![0, 0, 1, -1, -1, -1, -1, 0, 1]);
        // a read of 7: stock == 7; a sold_out buy of 2: stock < 2
        assert_eq!((p.guard_lo[3], p.guard_hi[3]), (7, 7));
        assert_eq!((p.guard_lo[4], p.guard_hi[4]), (NO_LOWER, 1));
        // unknown ops by call (op 7 is called before op 1), counters for both classes
        assert_eq!(p.class_unknown, vec![vec![7, 1], vec![8]]);
        assert_eq!((p.unknown_index.clone(), p.n_unknown_classes), (vec![0, 1], 2));
        assert_eq!((p.max_buy, p.init), (1, 4));
    }

    #[test]
    fn event_order_calls_first_at_equal_times() {
        let p = mixed();
        // at time 4 the read's call comes before the restock's return: they are concurrent
        assert_eq!(p.events, vec![0, 4, 7, 2, !4, 3, !2, 1, !3, 8, !0]);
        assert_eq!((p.ret_pos[4], p.ret_pos[2], p.ret_pos[3], p.ret_pos[0]), (4, 6, 8, 10));
        assert_eq!((p.op_at(3), p.op_at(4), p.op_at(10)), (2, 4, 0));
        // unknown ops have no return event and never hold a slot
        assert_eq!(p.max_open, 3);
        // what the effects called before each position could move, down and up
        assert_eq!(p.called_down, vec![0, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3]);
        assert_eq!(p.called_up, vec![0, 0, 0, 0, 3, 3, 3, 3, 3, 3, 6, 6]);
    }
}
