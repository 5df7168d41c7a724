//! Linearization traces, kept only on the second sweep of a history that is not linearizable: a
//! persistent list per configuration, and the evidence built from them at the failing return
//! (the longest linearizable prefix and the ops stuck after it).

use crate::bits::Bits;
use crate::config::Node;
use crate::sweep::{Sweep, Swept};

pub(crate) const NO_TRACE: u32 = u32::MAX;

impl<const W: usize, const U: usize> Sweep<'_, W, U> {
    #[inline]
    pub(crate) fn push_trace(&mut self, op: usize, before: i64, after: i64, prev: u32) -> u32 {
        self.arena.push((op as u32, before, after, prev));
        (self.arena.len() - 1) as u32
    }

    pub(crate) fn traced(&mut self, mut tr: u32, new_guards: Bits<W>, stock: i64) -> u32 {
        for s in new_guards.ones() {
            tr = self.push_trace(self.slot_op[s] as usize, stock, stock, tr);
        }
        tr
    }

    /// The linearization of the configuration with the longest trace, and the ops that could
    /// not come next after it (a, the open ops it left, one spare unknown op per class that
    /// could still change the stock).
    pub(crate) fn evidence(&self, frontier: &[Node<W, U>], a: usize) -> Swept {
        let p = self.p;
        let trace_len = |mut tr: u32| {
            let mut n = 0;
            while tr != NO_TRACE {
                n += 1;
                tr = self.arena[tr as usize].3;
            }
            n
        };
        let Some((cfg, tr)) = frontier.iter().max_by_key(|(_, tr)| trace_len(*tr)) else {
            return Swept::Evidence(vec![], vec![a]);
        };
        let mut steps = Vec::new();
        let mut t = *tr;
        while t != NO_TRACE {
            let (op, before, after, prev) = self.arena[t as usize];
            steps.push((op as usize, before, after));
            t = prev;
        }
        steps.reverse();
        let mut stuck: Vec<usize> = Vec::new();
        for (s, &i) in self.slot_op.iter().enumerate() {
            if i < 0 {
                continue;
            }
            let linearized = if self.open_guards.has(s) { cfg.g.has(s) } else { cfg.e.has(s) };
            if !linearized {
                stuck.push(i as usize);
            }
        }
        for (c, unknown) in p.class_unknown.iter().enumerate() {
            let u = self.used(cfg, c) as usize;
            if u < self.invoked[c] as usize && cfg.stock >= p.need[c] {
                stuck.push(unknown[u] as usize);
            }
        }
        // The returning op first (a report opens on it), then the others by position.
        stuck.sort_unstable();
        stuck.dedup();
        stuck.retain(|&i| i != a);
        stuck.insert(0, a);
        Swept::Evidence(steps, stuck)
    }
}
