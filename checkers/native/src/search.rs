//! The search at the return of an op a that a configuration has not linearized yet: batches of
//! segments of other open ops that end in a, each node of which may be a new configuration.

use crate::config::{Cfg, Node};
use crate::moves::{Avail, Moves};
use crate::prepare::{GUARD, NO_NEED};
use crate::sweep::{Stop, Sweep};

impl<const W: usize, const U: usize> Sweep<'_, W, U> {
    /// Append to `out` the configurations (a's slot freed for a guard) that linearize a, not
    /// linearized in `root`, by its return: every node of a search over segments.
    pub(crate) fn alternatives(
        &mut self,
        root: &Cfg<W, U>,
        root_tr: u32,
        a: usize,
        out: &mut Vec<Node<W, U>>,
    ) -> Result<(), Stop> {
        let p = self.p;
        self.stats.searches += 1;
        let a_slot = self.slot_of[a] as usize;
        let is_guard = p.kind[a] == GUARD;
        let a_class: i64 = if is_guard { -1 } else { p.op_class[a] as i64 };
        let a_need = if is_guard { NO_NEED } else { p.need[a_class as usize] };
        let mut visited = std::mem::take(&mut self.visited);
        visited.clear();
        let mut stack: Vec<Node<W, U>> = vec![(*root, root_tr)];
        let mut moves = Moves::default();
        let mut result = Ok(());
        while let Some(node) = stack.pop() {
            if !visited.insert((node.0.e, node.0.g, node.0.used)) {
                continue;
            }
            self.stats.search_nodes += 1;
            if let Err(stop) = self.tick() {
                result = Err(stop);
                break;
            }
            if is_guard {
                if node.0.g.has(a_slot) {
                    let mut c = node.0;
                    c.g.clear(a_slot);
                    out.push((c, node.1));
                    continue;
                }
            } else if node.0.stock >= a_need {
                let fin = self.finish(&node, a);
                out.push(fin);
            } else {
                let avail = self.available(&node.0, a_class);
                for restocks in self.enabling(&avail, a_need - node.0.stock) {
                    let applied = self.apply(&node, &restocks);
                    let fin = self.finish(&applied, a);
                    out.push(fin);
                }
            }
            self.children(&node, a_class, &mut moves, &mut stack);
        }
        self.visited = visited;
        result
    }

    /// Push the nodes one segment on: to the stock of each guard the node has not saturated.
    fn children(&mut self, node: &Node<W, U>, skip_class: i64, moves: &mut Moves, out: &mut Vec<Node<W, U>>) {
        let p = self.p;
        let stock = node.0.stock;
        let unsat = self.open_guards.andnot(&node.0.g);
        if unsat.is_zero() {
            return;
        }
        let avail = self.available(&node.0, skip_class);
        if avail.is_empty() {
            return;
        }
        moves.clear();
        // Distinct targets only: many open guards share one (a read of the same stock, or
        // sold_out buys of one qty), and their moves are the same.
        let mut targets: Vec<(bool, i64)> = Vec::new();
        for s in unsat.ones() {
            let t = (self.slot_lo[s] == self.slot_hi[s], self.slot_hi[s]);
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
        let delta = &p.delta;
        let both_ways = avail.iter().any(|&(c, _, _)| delta[c] > 0) && avail.iter().any(|&(c, _, _)| delta[c] < 0);
        for mixed in [false, true] {
            if mixed && !both_ways {
                break;
            }
            for &(is_read, hi) in &targets {
                if is_read {
                    self.moves(&avail, stock, hi - stock, skip_class, None, mixed, moves);
                } else {
                    for below in 0..p.max_buy {
                        self.moves(&avail, stock, hi - below - stock, skip_class, Some(hi), mixed, moves);
                    }
                }
            }
        }
        for k in 0..moves.len() {
            let mv = moves.get(k);
            if skip_class >= 0 && self.deferrable(mv, skip_class as usize) {
                continue;
            }
            let child = self.apply(node, mv);
            if child.0.g != node.0.g {
                out.push(child);
            }
        }
    }

    /// Linearize effect a at the end of a batch.
    fn finish(&mut self, node: &Node<W, U>, a: usize) -> Node<W, U> {
        let p = self.p;
        let (cfg, tr) = node;
        let after = cfg.stock + p.delta[p.op_class[a] as usize];
        let g = cfg.g.or(&self.satisfied(after));
        let mut tr = *tr;
        if self.trace {
            tr = self.push_trace(a, cfg.stock, after, tr);
            tr = self.traced(tr, g.andnot(&cfg.g), after);
        }
        (Cfg { stock: after, e: cfg.e, g, used: cfg.used }, tr)
    }

    /// Linearize `count` first unlinearized members of each class of the move (known members by
    /// deadline, then unknown ops), then saturate the guards at the stock reached.
    fn apply(&mut self, node: &Node<W, U>, mv: &[(usize, u32)]) -> Node<W, U> {
        let p = self.p;
        let (cfg, tr) = node;
        let mut stock = cfg.stock;
        let mut e = cfg.e;
        let mut used = cfg.used;
        let mut tr = *tr;
        for &(c, count) in mv {
            let d = p.delta[c];
            let mut count = count;
            let members = std::mem::take(&mut self.members[c]);
            for &(_, i, s) in &members {
                if count == 0 {
                    break;
                }
                if !e.has(s as usize) {
                    e.set(s as usize);
                    count -= 1;
                    if self.trace {
                        tr = self.push_trace(i as usize, stock, stock + d, tr);
                    }
                    stock += d;
                }
            }
            self.members[c] = members;
            if count > 0 {
                let u = p.unknown_index[c] as usize;
                if self.trace {
                    let first = used[u] as usize;
                    for k in first..first + count as usize {
                        let i = p.class_unknown[c][k] as usize;
                        tr = self.push_trace(i, stock, stock + d, tr);
                        stock += d;
                    }
                } else {
                    stock += d * count as i64;
                }
                used[u] += count;
            }
        }
        let g = cfg.g.or(&self.satisfied(stock));
        if self.trace {
            tr = self.traced(tr, g.andnot(&cfg.g), stock);
        }
        (Cfg { stock, e, g, used }, tr)
    }

    /// (class, unlinearized open known members, spare unknown ops) of every class but one.
    fn available(&self, cfg: &Cfg<W, U>, skip_class: i64) -> Avail {
        let mut out = Vec::new();
        for c in 0..self.p.delta.len() {
            if c as i64 == skip_class {
                continue;
            }
            let known = self.class_bits[c].andnot(&cfg.e).count();
            let spare = self.invoked[c] - self.used(cfg, c);
            if known > 0 || spare > 0 {
                out.push((c, known, spare));
            }
        }
        out
    }
}
