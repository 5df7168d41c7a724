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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

use crate::bits::Bits;

/// FxHash (rustc's hasher): configurations are hashed millions of times and need no DoS
/// resistance, so SipHash's cost buys nothing here.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

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

type FxBuild = BuildHasherDefault<Fx>;
type FxSet<T> = HashSet<T, FxBuild>;
type FxMap<K, V> = HashMap<K, V, FxBuild>;

pub const BUY_SOLD: u8 = 0;
pub const BUY_SOLD_OUT: u8 = 1;
pub const BUY_UNKNOWN: u8 = 2;
pub const READ_OK: u8 = 3;
pub const READ_UNKNOWN: u8 = 4;
pub const RESTOCK_OK: u8 = 5;
pub const RESTOCK_UNKNOWN: u8 = 6;

const EFFECT: u8 = 0;
const GUARD: u8 = 1;
const UNKNOWN_EFFECT: u8 = 2;
const SKIPPED: u8 = 3;

const NO_NEED: i64 = -(1 << 62);
const NO_LOWER: i64 = -(1 << 62);
const CLOCK_EVERY: u64 = 1024;
const REACH_NODES: usize = 256;
const NO_TRACE: u32 = u32::MAX;

/// One item's operations as columns (position i is the same op in every column).
pub struct Input {
    pub kinds: Vec<u8>,
    /// qty for buys and restocks, the stock seen for reads
    pub amount: Vec<i64>,
    pub call: Vec<i64>,
    /// ignored for unknown ops
    pub ret: Vec<i64>,
    pub init: i64,
}

pub enum Verdict {
    Valid,
    /// linearization prefix as (op, stock before, stock after), and the ops stuck after it (the
    /// op whose return no configuration got past first)
    Invalid { lin: Vec<(usize, i64, i64)>, stuck: Vec<usize> },
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

struct Stop;

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

/// What the ops are, and the order of their events: the same for every configuration.
struct Prepared {
    kind: Vec<u8>,
    op_class: Vec<i32>,
    guard_lo: Vec<i64>,
    guard_hi: Vec<i64>,
    ret_time: Vec<i64>,
    delta: Vec<i64>,
    need: Vec<i64>,
    /// per class, its unknown ops in call order
    class_unknown: Vec<Vec<u32>>,
    /// per class, its position among the classes with unknown ops (the `used` counters), or -1
    unknown_index: Vec<i32>,
    n_unknown_classes: usize,
    max_buy: i64,
    /// op index for a call, !op index for a return
    events: Vec<i64>,
    ret_pos: Vec<u32>,
    /// units that effects called before each position could move the stock down / up
    called_down: Vec<i64>,
    called_up: Vec<i64>,
    init: i64,
    max_open: usize,
}

impl Prepared {
    fn new(input: &Input) -> Self {
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

    fn op_at(&self, pos: usize) -> usize {
        let e = self.events[pos];
        (if e >= 0 { e } else { !e }) as usize
    }
}

/// A configuration: stock, open effects linearized, open guards linearized, unknown ops used
/// per class with unknown ops (the first `used` of them by call). Copied by value: no heap.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Cfg<const W: usize, const U: usize> {
    stock: i64,
    e: Bits<W>,
    g: Bits<W>,
    used: [u32; U],
}

type Node<const W: usize, const U: usize> = (Cfg<W, U>, u32);

/// Moves (counts per class) stored flat: `items[start..end]` is one move.
#[derive(Default)]
struct Moves {
    items: Vec<(usize, u32)>,
    ranges: Vec<(u32, u32)>,
}

impl Moves {
    fn clear(&mut self) {
        self.items.clear();
        self.ranges.clear();
    }
    fn push(&mut self, mv: impl Iterator<Item = (usize, u32)>) {
        let start = self.items.len() as u32;
        self.items.extend(mv);
        self.ranges.push((start, self.items.len() as u32));
    }
    fn get(&self, k: usize) -> &[(usize, u32)] {
        let (a, b) = self.ranges[k];
        &self.items[a as usize..b as usize]
    }
    fn len(&self) -> usize {
        self.ranges.len()
    }
}

/// Per class: unlinearized open known members and spare unknown ops, for one node.
type Avail = Vec<(usize, u32, u32)>;

enum Swept {
    Done,
    Failed(usize),
    Evidence(Vec<(usize, i64, i64)>, Vec<usize>),
}

struct Sweep<'p, const W: usize, const U: usize> {
    p: &'p Prepared,
    deadline: Option<Instant>,
    clock: u64,
    slot_op: Vec<i64>,
    slot_of: Vec<i64>,
    free_slots: Vec<usize>,
    /// per class, its open known members as (return time, op, slot), by deadline
    members: Vec<Vec<(i64, u32, u32)>>,
    class_bits: Vec<Bits<W>>,
    invoked: Vec<u32>,
    open_guards: Bits<W>,
    read_bits: FxMap<i64, Bits<W>>,
    sold_out_bits: BTreeMap<i64, Bits<W>>,
    slot_lo: Vec<i64>,
    slot_hi: Vec<i64>,
    /// persistent linearization traces: (op, stock before, stock after, previous)
    arena: Vec<(u32, i64, i64, u32)>,
    trace: bool,
    visited: FxSet<(Bits<W>, Bits<W>, [u32; U])>,
    stats: Stats,
}

impl<'p, const W: usize, const U: usize> Sweep<'p, W, U> {
    fn new(p: &'p Prepared, deadline: Option<Instant>) -> Self {
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

    fn tick(&mut self) -> Result<(), Stop> {
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

    fn push_trace(&mut self, op: usize, before: i64, after: i64, prev: u32) -> u32 {
        self.arena.push((op as u32, before, after, prev));
        (self.arena.len() - 1) as u32
    }

    /// Unknown ops of class c used in cfg, and called so far.
    #[inline]
    fn used(&self, cfg: &Cfg<W, U>, c: usize) -> u32 {
        let u = self.p.unknown_index[c];
        if u < 0 {
            0
        } else {
            cfg.used[u as usize]
        }
    }

    // -- the sweep ---------------------------------------------------------------------------

    fn sweep(&mut self, trace: bool, stop_at: Option<usize>) -> Result<Swept, Stop> {
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

    fn open_op(&mut self, i: usize) -> usize {
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

    fn close_op(&mut self, i: usize) {
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
    fn satisfied(&self, stock: i64) -> Bits<W> {
        let mut bits = self.read_bits.get(&stock).copied().unwrap_or(Bits::ZERO);
        for (_, more) in self.sold_out_bits.range(stock..) {
            bits = bits.or(more);
        }
        bits
    }

    fn traced(&mut self, mut tr: u32, new_guards: Bits<W>, stock: i64) -> u32 {
        for s in new_guards.ones() {
            tr = self.push_trace(self.slot_op[s] as usize, stock, stock, tr);
        }
        tr
    }

    // -- the search for batches ending in a returning op -----------------------------------------

    /// Append to `out` the configurations (a's slot freed for a guard) that linearize a, not
    /// linearized in `root`, by its return: every node of a search over segments.
    fn alternatives(&mut self, root: &Cfg<W, U>, root_tr: u32, a: usize, out: &mut Vec<Node<W, U>>) -> Result<(), Stop> {
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

    /// Ways to move the stock by `total` in one segment (counts per class), not dominated.
    #[allow(clippy::too_many_arguments)]
    fn moves(&self, avail: &Avail, stock: i64, total: i64, skip_class: i64, sold_out_hi: Option<i64>, mixed: bool, found: &mut Moves) {
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
        let min_up = classes[..n_up].iter().map(|&(c, _, _)| delta[c]).filter(|&d| d > 0).min().unwrap_or(i64::MAX);
        let mut walk = Walk { delta, classes: &classes, can_down: &can_down, can_up: &can_up, counts: &mut counts, end, sold_out_hi, mixed, n_up, min_up, found };
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
    fn deferrable(&self, mv: &[(usize, u32)], a_class: usize) -> bool {
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

    fn one_way_moves(&self, classes: &[(usize, u32, u32)], total: i64, end: i64, sold_out_hi: Option<i64>, found: &mut Moves) {
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
    fn enabling(&self, avail: &Avail, short: i64) -> Vec<Vec<(usize, u32)>> {
        let delta = &self.p.delta;
        let ups: Vec<(usize, u32)> = avail.iter().filter(|&&(c, _, _)| delta[c] > 0).map(|&(c, known, spare)| (c, known + spare)).collect();
        let mut found = Vec::new();
        if ups.is_empty() {
            return found;
        }
        let mut counts = vec![0u32; ups.len()];
        fn walk(j: usize, raised: i64, short: i64, ups: &[(usize, u32)], delta: &[i64], counts: &mut Vec<u32>, found: &mut Vec<Vec<(usize, u32)>>) {
            if raised >= short {
                let chosen: Vec<(usize, u32)> = ups.iter().zip(counts.iter()).filter(|(_, &t)| t > 0).map(|(&(c, _), &t)| (c, t)).collect();
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

    // -- pruning -------------------------------------------------------------------------------

    /// Drop dead configurations (unless all are) and those another one reaches or dominates.
    fn prune(&mut self, alternatives: &[Node<W, U>], pos: usize) -> Result<Vec<Node<W, U>>, Stop> {
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

    // -- evidence ------------------------------------------------------------------------------

    /// The linearization of the configuration with the longest trace, and the ops that could
    /// not come next after it (a, the open ops it left, one spare unknown op per class that
    /// could still change the stock).
    fn evidence(&self, frontier: &[Node<W, U>], a: usize) -> Swept {
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
    /// mixed moves: the smallest restock
    min_up: i64,
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
            let (units, unit) = if small { (down_units - t * d, unit_buy || (d == -1 && t > 0)) } else { (down_units, unit_buy) };
            if self.mixed && unit && units >= self.min_up {
                break;
            }
            self.counts[j] = t as u32;
            self.walk(j + 1, left - t * d, units, unit);
            t += 1;
        }
        self.counts[j] = 0;
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
            let up_total: i64 = self.classes.iter().zip(self.counts.iter()).filter(|(&(c, _, _), _)| delta[c] > 0).map(|(&(c, _, _), &t)| delta[c] * t as i64).sum();
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
        let mut mv: Vec<(usize, u32)> = self.classes.iter().zip(self.counts.iter()).filter(|(_, &t)| t > 0).map(|(&(c, _, _), &t)| (c, t)).collect();
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

fn dedupe<const W: usize, const U: usize>(nodes: &mut Vec<Node<W, U>>) {
    if nodes.len() < 2 {
        return;
    }
    let mut seen: FxSet<Cfg<W, U>> = FxSet::default();
    nodes.retain(|n| seen.insert(n.0));
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
