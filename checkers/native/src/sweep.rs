//! Linearizability for the stock model: a sweep over time, breadth first.
//!
//! This is the compiled form of the algorithm that `checkers/stock_linearizability.py` documents
//! (read its docstring first); the Python module turns operations into the columns taken here and
//! the verdict back into evidence. In short, per item:
//!
//! - ops are *effects* with a deadline (a sold buy of q: stock -= q, needs stock >= q; a restock),
//!   *guards* with a deadline that change nothing (a read of n: stock == n; a sold_out buy of q:
//!   stock < q), and optional *unknown effects* with no deadline (an unknown buy or restock);
//! - call and return events are swept in time order (calls first at equal times), keeping the
//!   frontier: every configuration (stock, open effects linearized, open guards linearized,
//!   unknown ops used per class) that some linearization of the events so far can be in, up to
//!   dominance. Configurations only change at returns: the returning op must be linearized by
//!   then, possibly after a batch of other open ops that moves the stock through open guards;
//! - effects of one (delta, need) class are interchangeable but for deadlines, so a step only
//!   takes a class's first unlinearized member (by deadline), and unknown ops are only counted;
//! - a batch is cut into segments that each end where some guard is saturated; a segment that
//!   moves the stock only in the returning effect's own direction and holds ops adding up to its
//!   delta is never needed (linearizing the effect first and those ops after reaches as much);
//! - a frontier keeps no configuration that another one covers: reaches (it is in the other's
//!   closure) or dominates (same stock after spare unknown ops, more guards, no harder open work);
//! - an empty frontier at the return of op a: not linearizable. The sweep is then run again with
//!   traces up to that event, for the longest linearizable prefix and the ops stuck after it.
//!
//! The frontier is breadth first on purpose: a depth-first walk is faster when its first guesses
//! are right, but on one hot item with dozens of concurrent buyers a wrong early guess costs an
//! exponential backtrack, which is exactly where the checker must not stall.
//!
//! This module is the sweep loop itself (events, slots of open ops, the frontier) and `check`;
//! the rest lives beside it, one concept a file: `input` (the columns), `prepare` (op kinds,
//! classes, event order), `config` (configurations), `search` (batches ending in a returning op),
//! `moves` (the segments of a batch), `prune` (dead, reached and dominated configurations),
//! `trace` (evidence when not linearizable), `bits` and `hash` (the data structures).

use std::collections::BTreeMap;
use std::time::Instant;

use crate::bits::Bits;
use crate::config::{dedupe, Cfg, Node};
use crate::hash::{FxMap, FxSet};
use crate::input::Input;
use crate::prepare::{Prepared, EFFECT, GUARD, SKIPPED, UNKNOWN_EFFECT};
use crate::trace::NO_TRACE;

const CLOCK_EVERY: u64 = 1024;

pub enum Verdict {
    Valid,
    /// linearization prefix as (op, stock before, stock after), and the ops stuck after it (the
    /// op whose return no configuration got past first)
    Invalid {
        lin: Vec<(usize, i64, i64)>,
        stuck: Vec<usize>,
    },
    Unknown,
}

#[derive(Default, Clone, Copy)]
pub struct Stats {
    pub events: usize,
    pub max_frontier: usize,
    pub searches: u64,
    pub search_nodes: u64,
}

pub struct Outcome {
    pub verdict: Verdict,
    pub stats: Stats,
}

pub(crate) struct Stop;

/// Check one item. `deadline`: past it the answer is Unknown.
pub fn check(input: &Input, deadline: Option<Instant>) -> Outcome {
    let pre = Prepared::new(input);
    let width = (pre.max_open + 64) / 64;
    let unknown_classes = pre.n_unknown_classes;
    macro_rules! run {
        ($w:literal) => {
            if unknown_classes <= 4 {
                run_width::<$w, 4>(&pre, deadline)
            } else {
                run_width::<$w, 64>(&pre, deadline)
            }
        };
    }
    match width {
        0..=1 => run!(1),
        2 => run!(2),
        3..=4 => run!(4),
        5..=16 => run!(16),
        _ => run!(64),
    }
}

fn run_width<const W: usize, const U: usize>(pre: &Prepared, deadline: Option<Instant>) -> Outcome {
    if pre.max_open >= W * 64 || pre.n_unknown_classes > U {
        // more ops open at once than the widest bit set, or more classes of unknown ops than
        // counted: say so rather than guess
        return Outcome { verdict: Verdict::Unknown, stats: Stats::default() };
    }
    if pre.kind.iter().all(|&k| k == SKIPPED || k == UNKNOWN_EFFECT) {
        return Outcome { verdict: Verdict::Valid, stats: Stats::default() };
    }
    let mut sweep = Sweep::<W, U>::new(pre, deadline);
    match sweep.sweep(false, None) {
        Err(Stop) => Outcome { verdict: Verdict::Unknown, stats: sweep.stats },
        Ok(Swept::Done) => Outcome { verdict: Verdict::Valid, stats: sweep.stats },
        Ok(Swept::Failed(pos)) => {
            let stats = sweep.stats;
            let mut again = Sweep::<W, U>::new(pre, deadline);
            let verdict = match again.sweep(true, Some(pos)) {
                Ok(Swept::Evidence(lin, stuck)) => Verdict::Invalid { lin, stuck },
                _ => Verdict::Invalid { lin: vec![], stuck: vec![pre.op_at(pos)] },
            };
            Outcome { verdict, stats }
        }
        Ok(Swept::Evidence(..)) => unreachable!("evidence is only asked for with a stop position"),
    }
}

pub(crate) enum Swept {
    Done,
    Failed(usize),
    Evidence(Vec<(usize, i64, i64)>, Vec<usize>),
}

pub(crate) struct Sweep<'p, const W: usize, const U: usize> {
    pub(crate) p: &'p Prepared,
    pub(crate) deadline: Option<Instant>,
    pub(crate) clock: u64,
    pub(crate) slot_op: Vec<i64>,
    pub(crate) slot_of: Vec<i64>,
    pub(crate) free_slots: Vec<usize>,
    /// per class, its open known members as (return time, op, slot), by deadline
    pub(crate) members: Vec<Vec<(i64, u32, u32)>>,
    pub(crate) class_bits: Vec<Bits<W>>,
    pub(crate) invoked: Vec<u32>,
    pub(crate) open_guards: Bits<W>,
    pub(crate) read_bits: FxMap<i64, Bits<W>>,
    pub(crate) sold_out_bits: BTreeMap<i64, Bits<W>>,
    pub(crate) slot_lo: Vec<i64>,
    pub(crate) slot_hi: Vec<i64>,
    /// persistent linearization traces: (op, stock before, stock after, previous)
    pub(crate) arena: Vec<(u32, i64, i64, u32)>,
    pub(crate) trace: bool,
    pub(crate) visited: FxSet<(Bits<W>, Bits<W>, [u32; U])>,
    pub(crate) stats: Stats,
}

impl<'p, const W: usize, const U: usize> Sweep<'p, W, U> {
    pub(crate) fn new(p: &'p Prepared, deadline: Option<Instant>) -> Self {
        let nc = p.delta.len();
        Sweep {
            p,
            deadline,
            clock: 0,
            slot_op: Vec::new(),
            slot_of: vec![-1; p.kind.len()],
            free_slots: Vec::new(),
            members: vec![Vec::new(); nc],
            class_bits: vec![Bits::ZERO; nc],
            invoked: vec![0; nc],
            open_guards: Bits::ZERO,
            read_bits: FxMap::default(),
            sold_out_bits: BTreeMap::new(),
            slot_lo: Vec::new(),
            slot_hi: Vec::new(),
            arena: Vec::new(),
            trace: false,
            visited: FxSet::default(),
            stats: Stats::default(),
        }
    }

    #[inline]
    pub(crate) fn tick(&mut self) -> Result<(), Stop> {
        self.clock += 1;
        if self.clock % CLOCK_EVERY == 0 {
            if let Some(d) = self.deadline {
                if Instant::now() >= d {
                    return Err(Stop);
                }
            }
        }
        Ok(())
    }

    /// Unknown ops of class c used in cfg, and called so far.
    #[inline]
    pub(crate) fn used(&self, cfg: &Cfg<W, U>, c: usize) -> u32 {
        let u = self.p.unknown_index[c];
        if u < 0 {
            0
        } else {
            cfg.used[u as usize]
        }
    }

    // -- the sweep ---------------------------------------------------------------------------

    pub(crate) fn sweep(&mut self, trace: bool, stop_at: Option<usize>) -> Result<Swept, Stop> {
        self.trace = trace;
        let p = self.p;
        let mut frontier: Vec<Node<W, U>> =
            vec![(Cfg { stock: p.init, e: Bits::ZERO, g: Bits::ZERO, used: [0u32; U] }, NO_TRACE)];
        self.stats.events = p.events.len();
        let mut next: Vec<Node<W, U>> = Vec::new();
        for pos in 0..p.events.len() {
            self.tick()?;
            let ev = p.events[pos];
            if ev >= 0 {
                let i = ev as usize;
                match p.kind[i] {
                    UNKNOWN_EFFECT => self.invoked[p.op_class[i] as usize] += 1,
                    k => {
                        let slot = self.open_op(i);
                        if k == GUARD {
                            let (lo, hi) = (p.guard_lo[i], p.guard_hi[i]);
                            for node in frontier.iter_mut() {
                                let s = node.0.stock;
                                if lo <= s && s <= hi {
                                    node.0.g.set(slot);
                                    if trace {
                                        self.arena.push((i as u32, s, s, node.1));
                                        node.1 = (self.arena.len() - 1) as u32;
                                    }
                                }
                            }
                        }
                    }
                }
                continue;
            }
            let a = !ev as usize;
            if stop_at == Some(pos) {
                return Ok(self.evidence(&frontier, a));
            }
            if self.slot_of[a] < 0 {
                return Ok(Swept::Failed(pos)); // returned before its call
            }
            let slot = self.slot_of[a] as usize;
            let is_guard = p.kind[a] == GUARD;
            next.clear();
            for &(cfg, tr) in frontier.iter() {
                let done = if is_guard { cfg.g.has(slot) } else { cfg.e.has(slot) };
                if done {
                    let mut c = cfg;
                    c.e.clear(slot);
                    c.g.clear(slot);
                    next.push((c, tr));
                } else {
                    self.alternatives(&cfg, tr, a, &mut next)?;
                }
            }
            self.close_op(a);
            dedupe(&mut next);
            frontier = self.prune(&next, pos)?;
            if frontier.is_empty() {
                return Ok(Swept::Failed(pos));
            }
            self.stats.max_frontier = self.stats.max_frontier.max(frontier.len());
        }
        Ok(Swept::Done)
    }

    pub(crate) fn open_op(&mut self, i: usize) -> usize {
        let p = self.p;
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                self.slot_op.push(-1);
                self.slot_lo.push(0);
                self.slot_hi.push(0);
                self.slot_op.len() - 1
            }
        };
        self.slot_of[i] = slot as i64;
        self.slot_op[slot] = i as i64;
        if p.kind[i] == EFFECT {
            let c = p.op_class[i] as usize;
            let key = (p.ret_time[i], i as u32, slot as u32);
            let at = self.members[c].partition_point(|m| *m < key);
            self.members[c].insert(at, key);
            self.class_bits[c].set(slot);
            return slot;
        }
        let (lo, hi) = (p.guard_lo[i], p.guard_hi[i]);
        self.slot_lo[slot] = lo;
        self.slot_hi[slot] = hi;
        self.open_guards.set(slot);
        let index = if lo == hi {
            self.read_bits.entry(hi).or_insert(Bits::ZERO)
        } else {
            self.sold_out_bits.entry(hi).or_insert(Bits::ZERO)
        };
        index.set(slot);
        slot
    }

    pub(crate) fn close_op(&mut self, i: usize) {
        let p = self.p;
        let slot = self.slot_of[i] as usize;
        if p.kind[i] == EFFECT {
            let c = p.op_class[i] as usize;
            let key = (p.ret_time[i], i as u32, slot as u32);
            let at = self.members[c].partition_point(|m| *m < key);
            self.members[c].remove(at);
            self.class_bits[c].clear(slot);
        } else {
            self.open_guards.clear(slot);
            let hi = self.slot_hi[slot];
            if self.slot_lo[slot] == hi {
                let b = self.read_bits.get_mut(&hi).expect("open read indexed");
                b.clear(slot);
                if b.is_zero() {
                    self.read_bits.remove(&hi);
                }
            } else {
                let b = self.sold_out_bits.get_mut(&hi).expect("open sold_out indexed");
                b.clear(slot);
                if b.is_zero() {
                    self.sold_out_bits.remove(&hi);
                }
            }
        }
        self.free_slots.push(slot);
        self.slot_of[i] = -1;
        self.slot_op[slot] = -1;
    }

    /// Slots of the open guards that `stock` satisfies.
    #[inline]
    pub(crate) fn satisfied(&self, stock: i64) -> Bits<W> {
        let mut bits = self.read_bits.get(&stock).copied().unwrap_or(Bits::ZERO);
        for (_, more) in self.sold_out_bits.range(stock..) {
            bits = bits.or(more);
        }
        bits
    }
}
