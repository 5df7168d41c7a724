"""Linearizability for the stock model only: a sweep over time instead of a search over orders.

The generic engine (`checkers.linearizability`) backtracks over orders and explodes on one hot
item with dozens of concurrent buyers. A stock item is a counter, and that buys a lot.

Ops, per item (P-compositionality: the partitions of `StockModel.partition`):
- *effects* with a deadline: a sold buy of q (stock -= q, needs stock >= q), a restock (+= q);
- *guards* with a deadline, which change nothing: a read of n (stock == n), a sold_out buy of q
  (stock < q);
- *unknown effects*, no deadline, optional: an unknown buy of q (stock -= q if stock >= q, else
  nothing: so "optionally decrement when stock >= q") and an unknown restock. Unknown reads,
  unknown ops of qty 0 and fail ops constrain nothing and are left out.

Real time: a precedes b only if ret(a) < call(b). At equal times calls are processed before
returns, so ops whose ends touch are concurrent (the generic engine's rule). Returns at equal
times are processed in op order, and "deadline" below means that processing order.

The sweep processes call and return events in that order and keeps a *frontier*: a set of
configurations (stock, open effects linearized, open guards linearized, unknown ops used per
class). Open ops are named by small slot numbers, reused after their return, so the sets are
small int bitmasks. A configuration stands for everything it can reach by linearizing open ops
now (its *closure*), so each is only advanced when it must be:

- Just-in-time: WLOG every op is linearized in a batch just before some return, so only return
  events change configurations. At the return of a, a configuration that linearized a just
  frees its slot; any other runs a small search for batches ending in a.
- Guards are saturated: whenever a configuration's stock satisfies an open guard the guard is
  linearized there (it changes nothing and only removes an obligation, so this dominates).
- Symmetry: effects with the same (delta, precondition) form a class, known members ordered by
  deadline, then the class's unknown ops. A step only takes a class's first unlinearized member:
  any other x could swap places with it (same effect, same states) and x's deadline is later.
  The returning op a has the earliest deadline of all, so no op of its class precedes it, and
  unknown ops are only counted (the k used ones of a class are its first k invoked).
- Minimal batches: a batch p1..pk a can be cut after its last guard-saturating step, plus the
  restocks a needs: the cut-off steps are still open after ret(a) and, redone right after it
  (restocks first, then buys: legal since the batch ended at stock >= 0), reach the same
  configuration with at least its guards. So the search emits only at its root, right after a
  guard-saturating step, or where a has just become legal, and only walks on while some open
  guard is still reachable ([stock - open buys, stock + open restocks] over-approximates).
- Pruning, whenever a return leaves several configurations:
  * a configuration with an open guard it can no longer reach by that guard's return, even
    with every effect called by then, is dead;
  * y is dropped if x *reaches* it (y is in x's closure: x can linearize y's extra ops now,
    hitting the guards y has and x lacks), or x *dominates* it (same stock, x's guards a
    superset, and per class a matching of x's unlinearized open members to y's with deadlines
    no earlier, y's unmatched members and unknown ops played by x's spare unknown ops, several
    small ones standing for one big one). Both keep every completion of y available to x.

A partition whose frontier empties at the return of op a is not linearizable: the sweep is then
rerun with traces up to that event for the longest linearizable prefix among the configurations
and the ops that could not come next (a, the open ops it left, one spare unknown op per class
that could still change the stock). A time limit makes unfinished partitions "unknown".
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator
from typing import Any

from checkers.history import FAIL, Operation
from checkers.models.stock import BUY, READ, RESTOCK, SOLD, StockModel
from checkers.result import UNKNOWN, LinearizabilityResult, LinStep, PartitionResult, combine

CLOCK_EVERY = 1024  # events (and search nodes) between deadline checks, a power of two
NO_NEED = -(1 << 62)  # precondition "stock >= NO_NEED": none
NO_LOWER = -(1 << 62)  # lower end of a sold_out guard's interval
REACH_NODES = 256
SEARCH_BUDGET = 64  # search nodes per choice point in the first, budgeted walk  # search nodes one `reaches` check may spend before answering "no"

EFFECT = 0
GUARD = 1
UNKNOWN_EFFECT = 2
SKIPPED = 3

# A configuration: (stock, effect slots linearized, guard slots linearized, unknown used per class).
Config = tuple[int, int, int, tuple[int, ...]]
# A trace is a persistent list of linearization steps: (op id, stock before, stock after, rest).
Trace = tuple[int, int, int, Any] | None
# A search node: a configuration and its trace.
Node = tuple[int, int, int, tuple[int, ...], Trace]


class _Stop(Exception):
    """The deadline passed mid-sweep."""


def check_stock_linearizability(
    ops: list[Operation], init: dict[str, int], time_limit: float | None = None
) -> LinearizabilityResult:
    """Check `ops` against the stock model from `init` (item -> stock, missing items start at 0)."""
    started = time.monotonic()
    deadline = None if time_limit is None else started + time_limit
    model = StockModel(init)
    happened = [op for op in ops if op.status != FAIL]
    partitions = [
        _ItemSweep(key, part_ops, model, deadline).run() for key, part_ops in model.partition(happened)
    ]
    return LinearizabilityResult(
        valid=combine(*(p.valid for p in partitions)),
        model=model.name,
        partitions=partitions,
        seconds=time.monotonic() - started,
        engine="stock",
    )


class _ItemSweep:
    """The sweep over one item's ops. Local op index i is the position in `ops`."""

    def __init__(self, key: str, ops: list[Operation], model: StockModel, deadline: float | None) -> None:
        self.key = key
        self.ops = ops
        self.model = model
        self.deadline = deadline
        self.init_stock: int = model.init(key)  # type: ignore[assignment]
        self.budget: int | None = None  # search nodes per choice point, None: no limit
        self.truncated = False
        self.classify()
        self.order_events()

    def classify(self) -> None:
        """Sort ops into effects (by class), guards (as stock intervals) and unknown effects."""
        ops = self.ops
        n = len(ops)
        self.kind = [SKIPPED] * n
        self.op_class = [-1] * n
        self.guard_lo = [0] * n
        self.guard_hi = [0] * n
        class_of: dict[tuple[int, int], int] = {}
        self.class_delta: list[int] = []
        self.class_need: list[int] = []
        self.class_unknown: list[list[int]] = []  # the class's unknown ops in call order
        for i, op in enumerate(ops):
            if not op.unknown and op.ret is None:
                raise ValueError(f"op {op.id} (invoke index {op.invoke_index}) is {op.status} but has no return time")
            f = op.f
            if f == READ:
                if not op.unknown:
                    self.kind[i] = GUARD
                    self.guard_lo[i] = self.guard_hi[i] = op.output["stock"]
                continue
            qty = op.input["qty"]
            if f == BUY and not op.unknown and op.output["outcome"] != SOLD:
                self.kind[i] = GUARD
                self.guard_lo[i] = NO_LOWER
                self.guard_hi[i] = qty - 1
                continue
            if f == BUY:
                effect = (-qty, qty)
            elif f == RESTOCK:
                effect = (qty, NO_NEED)
            else:  # pragma: no cover - StockModel.partition only passes buy/read/restock
                continue
            if op.unknown and qty == 0:
                continue
            c = class_of.get(effect)
            if c is None:
                c = class_of[effect] = len(self.class_delta)
                self.class_delta.append(effect[0])
                self.class_need.append(effect[1])
                self.class_unknown.append([])
            self.op_class[i] = c
            self.kind[i] = UNKNOWN_EFFECT if op.unknown else EFFECT
        for i in sorted((i for i in range(n) if self.kind[i] == UNKNOWN_EFFECT), key=lambda i: ops[i].call):
            self.class_unknown[self.op_class[i]].append(i)
        self.max_buy = max([-d for d in self.class_delta if d < 0], default=1)
        self.unknown_index = [-1] * len(self.class_delta)  # class -> position in `used`, -1: none
        with_unknown = [c for c in range(len(self.class_delta)) if self.class_unknown[c]]
        for u, c in enumerate(with_unknown):
            self.unknown_index[c] = u
        self.n_unknown_classes = len(with_unknown)

    def order_events(self) -> None:
        """Events in processing order, as op index (call) or ~op index (return), with the stock
        every effect called before each position could move down or up (for dead configurations)."""
        ops = self.ops
        kind = self.kind
        entries = [(op.call, 0, i) for i, op in enumerate(ops) if kind[i] != SKIPPED]
        entries += [(op.ret, 1, i) for i, op in enumerate(ops) if kind[i] == EFFECT or kind[i] == GUARD]
        entries.sort()
        self.event_op = [i if is_return == 0 else ~i for _, is_return, i in entries]
        self.ret_pos = [0] * len(ops)
        down = [0] * (len(entries) + 1)
        up = [0] * (len(entries) + 1)
        moved_down = moved_up = 0
        class_delta = self.class_delta
        op_class = self.op_class
        for pos, (_, is_return, i) in enumerate(entries):
            if is_return:
                self.ret_pos[i] = pos
            elif kind[i] == EFFECT or kind[i] == UNKNOWN_EFFECT:
                delta = class_delta[op_class[i]]
                if delta < 0:
                    moved_down -= delta
                else:
                    moved_up += delta
            down[pos + 1] = moved_down
            up[pos + 1] = moved_up
        self.called_down = down
        self.called_up = up

    # -- driver ------------------------------------------------------------------------------

    def run(self) -> PartitionResult:
        ids = [op.id for op in self.ops]
        if all(op.unknown for op in self.ops):
            return PartitionResult(self.key, ids, True)
        try:
            # First with a budget per search: fast to find a linearization when there is one.
            # A failure only counts if no search was cut short; else redo it without budgets.
            self.budget = SEARCH_BUDGET
            failed_at = self.sweep(trace=False, stop_at=None)
            if failed_at is not None and self.truncated:
                self.budget = None
                failed_at = self.sweep(trace=False, stop_at=None)
        except _Stop:
            return PartitionResult(self.key, ids, UNKNOWN)
        if failed_at is None:
            return PartitionResult(self.key, ids, True)
        try:
            steps, stuck = self.sweep(trace=True, stop_at=failed_at)
        except _Stop:
            return PartitionResult(self.key, ids, False)
        return PartitionResult(self.key, ids, False, steps, stuck)

    # -- the sweep ---------------------------------------------------------------------------

    def reset_open(self) -> None:
        """The open-op state shared by all configurations (empty before the first event)."""
        n_classes = len(self.class_delta)
        self.slot_op: list[int] = []
        self.slot_of = [-1] * len(self.ops)
        self.free_slots: list[int] = []
        self.class_members: list[list[tuple[int, int, int]]] = [[] for _ in range(n_classes)]  # (ret, op, slot)
        self.class_bits = [0] * n_classes
        self.invoked = [0] * n_classes  # unknown ops of the class called so far
        self.open_guards = 0
        self.read_bits: dict[int, int] = {}  # stock value -> slots of open reads of that value
        self.sold_out_bits: dict[int, int] = {}  # highest stock allowed -> slots of open sold_outs
        self.slot_lo: list[int] = []
        self.slot_hi: list[int] = []

    def sweep(self, trace: bool, stop_at: int | None) -> Any:
        """Depth-first walk over the events with one configuration at a time.

        Without `trace`: None if some walk reaches the end (linearizable), else the furthest
        position where the walk failed. With `trace`: the same walk, stopped on first reaching
        `stop_at`, returning the evidence there.
        """
        self.reset_open()
        self.truncated = False  # did a search stop at its budget?
        kind = self.kind
        op_class = self.op_class
        class_delta = self.class_delta
        class_need = self.class_need
        guard_lo = self.guard_lo
        guard_hi = self.guard_hi
        invoked = self.invoked
        event_op = self.event_op
        n_events = len(event_op)
        deadline = self.deadline
        cfg: Config = (self.init_stock, 0, 0, (0,) * self.n_unknown_classes)
        tr: Trace = None
        # Choice points: [return position, configuration before it, its trace, alternatives
        # generator (None until needed), configurations tried after it].
        stack: list[list[Any]] = []
        dead: set[tuple[int, Config]] = set()  # (return position, configuration after it)
        furthest = 0
        pos = 0
        steps = 0
        while pos < n_events:
            steps += 1
            if deadline is not None and not steps & (CLOCK_EVERY - 1) and time.monotonic() >= deadline:
                raise _Stop
            if pos == stop_at:
                return self.evidence(cfg, tr, ~event_op[pos])
            i = event_op[pos]
            if i >= 0:  # a call
                k = kind[i]
                if k == UNKNOWN_EFFECT:
                    invoked[op_class[i]] += 1
                else:
                    bit = self.open_op(i)
                    stock = cfg[0]
                    if k == GUARD and guard_lo[i] <= stock <= guard_hi[i]:
                        cfg = (stock, cfg[1], cfg[2] | bit, cfg[3])
                        if trace:
                            tr = (self.ops[i].id, stock, stock, tr)
                pos += 1
                continue
            a = ~i
            slot = self.slot_of[a]
            if slot < 0:  # returned before its call: nothing can linearize it in time
                nxt = None
            else:
                bit = 1 << slot
                stock, emask, gmask, used = cfg
                is_guard = kind[a] == GUARD
                if (gmask if is_guard else emask) & bit:
                    self.close_op(a)
                    cfg = (stock, emask & ~bit, gmask & ~bit, used)
                    pos += 1
                    continue
                c = op_class[a]
                if not is_guard and stock >= class_need[c]:
                    # a alone is the first minimal batch; others only if a guard is in reach.
                    after = stock + class_delta[c]
                    ngmask = gmask | self.satisfied(after)
                    ntr = self.traced((self.ops[a].id, stock, after, tr), ngmask & ~gmask, after) if trace else None
                    unsat = self.open_guards & ~gmask
                    if unsat and self.in_reach(stock, emask, used, unsat, c):
                        point = [pos, cfg, tr, None, []]
                        self.close_op(a)
                        nxt = (after, emask, ngmask, used), ntr
                        if self.hopeless(nxt[0], pos) or (pos, nxt[0]) in dead:
                            nxt = self.next_alternative(point, dead, trace)
                        else:
                            point[4].append(nxt[0])
                        if nxt is not None:
                            stack.append(point)
                    else:
                        self.close_op(a)
                        nxt = (after, emask, ngmask, used), ntr
                        if unsat and self.hopeless(nxt[0], pos):
                            nxt = None  # a guard fell out of reach: fail now, not at its return
                else:
                    point = [pos, cfg, tr, None, []]
                    self.close_op(a)
                    nxt = self.next_alternative(point, dead, trace)
                    if nxt is not None:
                        stack.append(point)
                if nxt is not None:
                    cfg, tr = nxt
                    pos += 1
                    continue
                self.reopen(a)
            # No configuration gets past this return: back up to the latest untried alternative.
            furthest = max(furthest, pos)
            while True:
                if not stack:
                    return furthest
                point = stack[-1]
                back_to = point[0]
                self.rewind(pos - 1, back_to)
                pos = back_to + 1
                dead.add((back_to, point[4][-1]))
                nxt = self.next_alternative(point, dead, trace)
                if nxt is not None:
                    cfg, tr = nxt
                    break
                stack.pop()
        return None

    def next_alternative(self, point: list[Any], dead: set[tuple[int, Config]], trace: bool) -> tuple[Config, Trace] | None:
        """The next configuration after the return at a choice point worth trying, or None.

        Called with the returning op closed; skips configurations known dead, dead for want of
        reach, or covered by one already tried there (those all failed)."""
        pos, root, root_trace, alternatives, tried = point
        a = ~self.event_op[pos]
        covers = self.covers
        while True:
            self.reopen(a)
            if alternatives is None:
                alternatives = point[3] = self.alternatives(root, root_trace, a, trace)
            item = next(alternatives, None)
            self.close_op(a)
            if item is None:
                return None
            cfg = item[0]
            if (pos, cfg) in dead or cfg in tried or self.hopeless(cfg, pos):
                continue
            if any(covers(other, cfg) for other in tried):
                continue
            tried.append(cfg)
            return item

    def rewind(self, last: int, stop: int) -> None:
        """Undo the open-op changes of events `last`, `last - 1`, ..., `stop + 1`."""
        event_op = self.event_op
        for pos in range(last, stop, -1):
            i = event_op[pos]
            if i >= 0:
                if self.kind[i] == UNKNOWN_EFFECT:
                    self.invoked[self.op_class[i]] -= 1
                else:
                    self.close_op(i)
            else:
                self.reopen(~i)

    def open_op(self, i: int) -> int:
        """Give a called op a slot and enter it in its class or the guard index; returns its bit."""
        if self.free_slots:
            slot = self.free_slots.pop()
        else:
            slot = len(self.slot_op)
            self.slot_op.append(-1)
            self.slot_lo.append(0)
            self.slot_hi.append(0)
        self.slot_of[i] = slot
        self.slot_op[slot] = i
        bit = 1 << slot
        if self.kind[i] == EFFECT:
            c = self.op_class[i]
            bisect.insort(self.class_members[c], (self.ops[i].ret, i, slot))
            self.class_bits[c] |= bit
            return bit
        lo = self.slot_lo[slot] = self.guard_lo[i]
        hi = self.slot_hi[slot] = self.guard_hi[i]
        self.open_guards |= bit
        index = self.read_bits if lo == hi else self.sold_out_bits
        index[hi] = index.get(hi, 0) | bit
        return bit

    def close_op(self, i: int) -> None:
        slot = self.slot_of[i]
        bit = 1 << slot
        if self.kind[i] == EFFECT:
            c = self.op_class[i]
            members = self.class_members[c]
            members.pop(bisect.bisect_left(members, (self.ops[i].ret, i, slot)))
            self.class_bits[c] &= ~bit
        else:
            self.open_guards &= ~bit
            hi = self.slot_hi[slot]
            index = self.read_bits if self.slot_lo[slot] == hi else self.sold_out_bits
            left = index[hi] & ~bit
            if left:
                index[hi] = left
            else:
                del index[hi]
        self.free_slots.append(slot)
        self.slot_of[i] = -1
        self.slot_op[slot] = -1

    def reopen(self, i: int) -> None:
        """Undo `close_op(i)`: its slot is the last one freed."""
        self.open_op(i)

    def satisfied(self, stock: int) -> int:
        """Slots of the open guards that `stock` satisfies."""
        bits = self.read_bits.get(stock, 0)
        for hi, more in self.sold_out_bits.items():
            if stock <= hi:
                bits |= more
        return bits

    def traced(self, tr: Trace, new_guards: int, stock: int) -> Trace:
        """Append the guards just saturated at `stock` to a trace."""
        while new_guards:
            low = new_guards & -new_guards
            tr = (self.ops[self.slot_op[low.bit_length() - 1]].id, stock, stock, tr)
            new_guards ^= low
        return tr

    # -- the search for batches ending in a returning op ---------------------------------------

    def in_reach(self, stock: int, emask: int, used: tuple[int, ...], targets: int, skip_class: int) -> bool:
        """Could linearizing open ops now (none of class `skip_class`) satisfy one of the guards
        `targets`? Over-approximated by [stock - open buys, stock + open restocks]."""
        down = up = 0
        class_delta = self.class_delta
        unknown_index = self.unknown_index
        invoked = self.invoked
        for c, bits in enumerate(self.class_bits):
            if c == skip_class:
                continue
            left = (bits & ~emask).bit_count()
            u = unknown_index[c]
            if u >= 0:
                left += invoked[c] - used[u]
            if left:
                d = class_delta[c]
                if d < 0:
                    down -= d * left
                else:
                    up += d * left
        low = stock - down
        high = stock + up
        slot_lo = self.slot_lo
        slot_hi = self.slot_hi
        while targets:
            lowbit = targets & -targets
            s = lowbit.bit_length() - 1
            if slot_lo[s] <= high and low <= slot_hi[s]:
                return True
            targets ^= lowbit
        return False

    def alternatives(self, root: Config, root_trace: Trace, a: int, trace: bool) -> Iterator[tuple[Config, Trace]]:
        """The configurations (a's slot freed) that linearize a, not yet linearized in `root`,
        by its return: a depth-first search over minimal batches, likeliest first.

        A batch is cut into segments, each ending where some guard gets saturated; inside a
        segment the order is free (restocks first is the most legal), so a search step jumps
        straight to the next saturating stock with some count of ops per class (`moves`).
        After the root and after each segment, a is tried (with the fewest restocks it needs).
        """
        a_bit = 1 << self.slot_of[a]
        keep = ~a_bit
        is_guard = self.kind[a] == GUARD
        a_class = -1 if is_guard else self.op_class[a]
        a_need = NO_NEED if is_guard else self.class_need[a_class]
        deadline = self.deadline
        budget = self.budget
        spent = [0]  # children made by this search, against the budget
        visited: set[tuple[int, int, tuple[int, ...]]] = set()
        node: Node = (*root, root_trace)
        # Depth-first, children generated lazily: a stack of child iterators.
        stack: list[Iterator[Node]] = []
        while True:
            stock, emask, gmask, used, tr = node
            key = (emask, gmask, used)
            if key not in visited:
                visited.add(key)
                if deadline is not None and not len(visited) & (CLOCK_EVERY - 1) and time.monotonic() >= deadline:
                    raise _Stop
                if budget is not None and spent[0] > budget:
                    return
                if is_guard:
                    if gmask & a_bit:
                        yield (stock, emask, gmask & keep, used), tr
                    else:
                        stack.append(self.children(node, a_class, trace, spent))
                else:
                    if stock >= a_need:
                        yield self.finish(node, a, trace)
                    else:
                        for restocks in self.enabling(stock, emask, used, a_need - stock, a_class):
                            yield self.finish(self.apply(node, restocks, trace), a, trace)
                    stack.append(self.children(node, a_class, trace, spent))
            while stack:
                child = next(stack[-1], None)
                if child is not None:
                    node = child
                    break
                stack.pop()
            else:
                return

    def children(self, node: Node, skip_class: int, trace: bool, spent: list[int]) -> Iterator[Node]:
        """The nodes one segment on: to the stock of each guard the node has not saturated.
        Generated lazily, likeliest first: one-way moves (all buys or all restocks) before mixed
        ones; within each, fewer unknown ops, then fewer ops (the nearest guards) first."""
        stock, emask, gmask, used, _ = node
        budget = self.budget
        for mixed in (False, True):
            ranked: list[tuple[tuple[int, int], list[tuple[int, int]]]] = []
            unsat = self.open_guards & ~gmask
            while unsat:
                bit = unsat & -unsat
                unsat ^= bit
                s = bit.bit_length() - 1
                hi = self.slot_hi[s]
                if self.slot_lo[s] == hi:
                    ranked += self.moves(stock, emask, used, hi - stock, skip_class, None, mixed)
                else:
                    for below in range(self.max_buy):
                        ranked += self.moves(stock, emask, used, hi - below - stock, skip_class, hi, mixed)
            ranked.sort(key=lambda item: item[0])
            for _, move in ranked:
                if budget is not None:
                    spent[0] += 1
                    if spent[0] > budget:
                        self.truncated = True
                        return
                child = self.apply(node, move, trace)
                if child[2] != gmask:
                    yield child

    def finish(self, node: Node, a: int, trace: bool) -> tuple[Config, Trace]:
        """Linearize effect a at the end of a batch."""
        stock, emask, gmask, used, tr = node
        after = stock + self.class_delta[self.op_class[a]]
        ngmask = gmask | self.satisfied(after)
        if trace:
            tr = self.traced((self.ops[a].id, stock, after, tr), ngmask & ~gmask, after)
        return (after, emask, ngmask, used), tr

    def apply(
        self, node: Node, move: list[tuple[int, int]], trace: bool
    ) -> Node:
        """Linearize `count` first unlinearized members of each class in `move` (restocks first),
        then saturate the guards at the stock reached."""
        stock, emask, gmask, used, tr = node
        class_delta = self.class_delta
        unknown_index = self.unknown_index
        used_list: list[int] | None = None
        for c, count in move:
            d = class_delta[c]
            for _, i, s in self.class_members[c]:
                if not count:
                    break
                b = 1 << s
                if not emask & b:
                    emask |= b
                    count -= 1
                    if trace:
                        tr = (self.ops[i].id, stock, stock + d, tr)
                    stock += d
            if count:
                u = unknown_index[c]
                if used_list is None:
                    used_list = list(used)
                if trace:
                    for i in self.class_unknown[c][used_list[u] : used_list[u] + count]:
                        tr = (self.ops[i].id, stock, stock + d, tr)
                        stock += d
                else:
                    stock += d * count
                used_list[u] += count
        ngmask = gmask | self.satisfied(stock)
        if trace:
            tr = self.traced(tr, ngmask & ~gmask, stock)
        return stock, emask, ngmask, used if used_list is None else tuple(used_list), tr

    def available(self, emask: int, used: tuple[int, ...], skip_class: int) -> list[tuple[int, int, int]]:
        """(class, unlinearized open known members, spare unknown ops) of every class but one."""
        out: list[tuple[int, int, int]] = []
        unknown_index = self.unknown_index
        invoked = self.invoked
        for c, bits in enumerate(self.class_bits):
            if c == skip_class:
                continue
            known = (bits & ~emask).bit_count()
            u = unknown_index[c]
            spare = invoked[c] - used[u] if u >= 0 else 0
            if known or spare:
                out.append((c, known, spare))
        return out

    def moves(
        self,
        stock: int,
        emask: int,
        used: tuple[int, ...],
        total: int,
        skip_class: int,
        sold_out_hi: int | None,
        mixed: bool,
    ) -> list[tuple[tuple[int, int], list[tuple[int, int]]]]:
        """Ways to move the stock by `total` in one segment: counts per class (a class's known
        members first, then its unknown ops), ranked (unknown ops used, ops used).

        Dropped as dominated: moves with a part that adds up to zero (x could linearize the
        rest now and that part later), moves ending below zero with buys in them (illegal),
        and, toward a sold_out guard, moves that would still satisfy it without one of their buys.
        """
        if total == 0:
            return []
        class_delta = self.class_delta
        classes = self.available(emask, used, skip_class)
        end = stock + total
        if not mixed:
            classes = [item for item in classes if class_delta[item[0]] * total > 0]
            if len(classes) <= 2:
                return self.one_way_moves(classes, total, end, sold_out_hi)
        elif not any(class_delta[item[0]] * total < 0 for item in classes):
            return []
        # Suffix bounds: how far the classes from j on can move the stock down and up.
        n = len(classes)
        can_down = [0] * (n + 1)
        can_up = [0] * (n + 1)
        for j in range(n - 1, -1, -1):
            c, known, spare = classes[j]
            d = class_delta[c]
            reach = d * (known + spare)
            can_down[j] = can_down[j + 1] + (reach if d < 0 else 0)
            can_up[j] = can_up[j + 1] + (reach if d > 0 else 0)
        found: list[tuple[tuple[int, int], list[tuple[int, int]]]] = []
        counts: list[int] = [0] * n

        def walk(j: int, left: int) -> None:
            if j == n:
                if left == 0:
                    self.keep_move(classes, counts, stock + total, sold_out_hi, mixed, found)
                return
            c, known, spare = classes[j]
            d = class_delta[c]
            most = known + spare
            if d == 0:
                walk(j + 1, left)
                return
            # left - t * d must stay within what the classes after j can still move.
            if d > 0:
                first = -((can_up[j + 1] - left) // d)
                last = (left - can_down[j + 1]) // d
            else:
                first = -((can_down[j + 1] - left) // d)
                last = (left - can_up[j + 1]) // d
            first = max(0, first)
            last = min(most, last)
            for t in range(first, last + 1):
                counts[j] = t
                walk(j + 1, left - t * d)
            counts[j] = 0

        walk(0, total)
        return found

    def one_way_moves(
        self, classes: list[tuple[int, int, int]], total: int, end: int, sold_out_hi: int | None
    ) -> list[tuple[tuple[int, int], list[tuple[int, int]]]]:
        """`moves` for one or two classes of the same sign, without the general walk.

        Of two buy (or restock) classes whose sizes divide, a move using unknown ops of the
        small one while the big one still has spare unknown ops is dominated: the same move
        with one big unknown op for those small ones keeps more small ones spare."""
        if not classes or (end < 0 and total < 0):
            return []
        class_delta = self.class_delta
        if len(classes) == 1:
            c, known, spare = classes[0]
            d = class_delta[c]
            t, rest = divmod(total, d)
            if rest or t > known + spare:
                return []
            if sold_out_hi is not None and end - d <= sold_out_hi:
                return []
            return [((max(0, t - known), t), [(c, t)])]
        (c1, known1, spare1), (c2, known2, spare2) = classes
        d1 = class_delta[c1]
        d2 = class_delta[c2]
        if abs(d1) < abs(d2):
            c1, known1, spare1, d1, c2, known2, spare2, d2 = c2, known2, spare2, d2, c1, known1, spare1, d1
        # c1 is the big class. Its count t1 fixes c2's: t2 = (total - t1 * d1) / d2.
        found: list[tuple[tuple[int, int], list[tuple[int, int]]]] = []
        ratio = d1 // d2 if d1 % d2 == 0 else 0
        for t1 in range(min(known1 + spare1, total // d1), -1, -1):
            t2, rest = divmod(total - t1 * d1, d2)
            if rest or t2 > known2 + spare2:
                continue
            if sold_out_hi is not None and (
                (t1 and end - d1 <= sold_out_hi) or (t2 and end - d2 <= sold_out_hi)
            ):
                continue
            unknown1 = max(0, t1 - known1)
            unknown2 = max(0, t2 - known2)
            if ratio and unknown2 >= ratio and unknown1 < spare1:
                continue
            move = [(c, t) for c, t in ((c1, t1), (c2, t2)) if t]
            found.append(((unknown1 + unknown2, t1 + t2), move))
        return found

    def keep_move(
        self,
        classes: list[tuple[int, int, int]],
        counts: list[int],
        end: int,
        sold_out_hi: int | None,
        mixed: bool,
        found: list[tuple[tuple[int, int], list[tuple[int, int]]]],
    ) -> None:
        """Add the move `counts` to `found` unless it is dominated (see `moves`)."""
        class_delta = self.class_delta
        ups = 0  # subset sums of the restocks in the move, as a bitset
        downs = 0
        has_up = has_down = False
        unknown = ops = 0
        for (c, known, _), t in zip(classes, counts, strict=True):
            if not t:
                continue
            d = class_delta[c]
            ops += t
            unknown += max(0, t - known)
            if d > 0:
                has_up = True
            elif d < 0:
                has_down = True
                if sold_out_hi is not None and end - d <= sold_out_hi:
                    return  # still at or below the guard's bound without this buy
        if has_down and end < 0 or mixed != (has_up and has_down):
            return
        if mixed:
            for (c, _, _), t in zip(classes, counts, strict=True):
                d = class_delta[c]
                if not t or not d:
                    continue
                sums = ups if d > 0 else downs
                sums |= 1
                for _ in range(t):
                    sums |= sums << abs(d)
                if d > 0:
                    ups = sums
                else:
                    downs = sums
            if (ups & downs) >> 1:
                return
        move = [(c, t) for (c, _, _), t in zip(classes, counts, strict=True) if t]
        if has_up and has_down:
            move.sort(key=lambda item: -class_delta[item[0]])  # restocks first: the most legal order
        found.append(((unknown, ops), move))

    def enabling(self, stock: int, emask: int, used: tuple[int, ...], short: int, skip_class: int) -> list[list[tuple[int, int]]]:
        """Minimal sets of restocks (counts per class) that raise the stock by at least `short`."""
        ups = [(c, known + spare) for c, known, spare in self.available(emask, used, skip_class) if self.class_delta[c] > 0]
        class_delta = self.class_delta
        found: list[list[tuple[int, int]]] = []
        counts = [0] * len(ups)

        def walk(j: int, raised: int) -> None:
            if raised >= short:
                chosen = [(ups[k][0], t) for k, t in enumerate(counts) if t]
                if all(raised - class_delta[c] < short for c, _ in chosen):
                    found.append(chosen)
                return
            if j == len(ups):
                return
            c, most = ups[j]
            for t in range(0, min(most, -(-(short - raised) // class_delta[c])) + 1):
                counts[j] = t
                walk(j + 1, raised + t * class_delta[c])
            counts[j] = 0

        walk(0, 0)
        found.sort(key=len)
        return found

    # -- pruning -------------------------------------------------------------------------------

    def prune(self, alternatives: list[tuple[Config, Trace]], pos: int) -> list[tuple[Config, Trace]]:
        """Drop dead alternatives (unless all are) and those another one reaches or dominates."""
        alive = [item for item in alternatives if not self.hopeless(item[0], pos)] or alternatives
        winners: list[tuple[Config, Trace]] = []
        covers = self.covers
        for item in alive:
            cfg = item[0]
            if any(covers(w[0], cfg) for w in winners):
                continue
            winners = [w for w in winners if not covers(cfg, w[0])]
            winners.append(item)
        return winners

    def hopeless(self, cfg: Config, pos: int) -> bool:
        """Is some open guard out of reach for good: even every effect open now or called before
        the guard returns could not move the stock into its interval?"""
        stock, emask, gmask, used = cfg
        unsat = self.open_guards & ~gmask
        if not unsat:
            return False
        down = up = 0
        class_delta = self.class_delta
        for c, bits in enumerate(self.class_bits):
            left = (bits & ~emask).bit_count()
            u = self.unknown_index[c]
            if u >= 0:
                left += self.invoked[c] - used[u]
            if left:
                d = class_delta[c]
                if d < 0:
                    down -= d * left
                else:
                    up += d * left
        called_down = self.called_down
        called_up = self.called_up
        while unsat:
            low = unsat & -unsat
            s = low.bit_length() - 1
            unsat ^= low
            by = self.ret_pos[self.slot_op[s]]
            reach_low = stock - down - (called_down[by] - called_down[pos + 1])
            reach_high = stock + up + (called_up[by] - called_up[pos + 1])
            if reach_high < self.slot_lo[s] or self.slot_hi[s] < reach_low:
                return True
        return False

    def covers(self, x: Config, y: Config) -> bool:
        """Can x do everything y can from now on? Then y is redundant."""
        return self.dominates(x, y) or self.reaches(x, y)

    def dominates(self, x: Config, y: Config) -> bool:
        """x first moves to y's stock with spare unknown ops (if it must), then its guards are a
        superset of y's and its open work no harder: per class, Hall's condition for matching
        x's unlinearized open members to y's with deadlines no earlier, and x's spare unknown
        ops cover the move, y's members x has no match for, and y's own unknown ops."""
        sx, ex, gx, ux = x
        sy, ey, gy, uy = y
        move = sy - sx
        if move < 0 and sy < 0:
            return False  # the buys of the move would end below zero
        if gy & ~gx and (not move or gy & ~(gx | self.satisfied(sy))):
            return False
        if not move and ex == ey and ux == uy:
            return True
        class_members = self.class_members
        unknown_index = self.unknown_index
        balance: list[int] = []  # per class: x's unknown ops left over what y's future asks of them
        short = bool(move)
        for c, bits in enumerate(self.class_bits):
            deficit = 0
            if (ex ^ ey) & bits:
                nx = ny = 0
                for _, _, s in class_members[c]:
                    b = 1 << s
                    if not ex & b:
                        nx += 1
                    if not ey & b:
                        ny += 1
                    if nx > ny:
                        return False
                deficit = ny - nx
            u = unknown_index[c]
            need = deficit if u < 0 else deficit + ux[u] - uy[u]
            balance.append(-need)
            if need > 0:
                short = True
        return not short or self.refines(balance, move)

    def refines(self, balance: list[int], move: int) -> bool:
        """Greedy check that x's spare unknown ops (balance > 0) can play the stock `move` and the
        ops it lacks (balance < 0), each by one or more unknown ops of the same sign adding up
        to it (consecutive steps that end at the same stock, only visiting more)."""
        class_delta = self.class_delta
        spare: dict[int, int] = {}
        missing: list[int] = [move] if move else []
        for c, b in enumerate(balance):
            if b > 0:
                spare[class_delta[c]] = spare.get(class_delta[c], 0) + b
            elif b < 0:
                missing.extend([class_delta[c]] * -b)
        missing.sort(key=abs, reverse=True)
        pieces = sorted(spare, key=abs, reverse=True)
        for want in missing:
            left = abs(want)
            for piece in pieces:
                if piece * want <= 0:
                    continue
                size = abs(piece)
                while left >= size and spare[piece]:
                    spare[piece] -= 1
                    left -= size
                if not left:
                    break
            if left:
                return False
        return True

    def reaches(self, x: Config, y: Config) -> bool:
        """Is y in x's closure: can x linearize now exactly the ops y has beyond it, passing
        through stocks that satisfy every guard y has and x lacks? (Small bounded search.)"""
        sx, ex, gx, ux = x
        sy, ey, gy, uy = y
        if ex & ~ey:
            return False
        counts: list[int] = []
        classes: list[int] = []
        diff = ey & ~ex
        for c, bits in enumerate(self.class_bits):
            n = (diff & bits).bit_count()
            u = self.unknown_index[c]
            if u >= 0:
                if ux[u] > uy[u]:
                    return False
                n += uy[u] - ux[u]
            if n:
                classes.append(c)
                counts.append(n)
        if not classes:
            return sx == sy and not gy & ~gx
        class_delta = self.class_delta
        class_need = self.class_need
        targets = gy & ~gx
        if not targets:
            # Restocks first, then buys: legal iff the buys end at stock >= their need - qty.
            return all(class_delta[c] >= 0 for c in classes) or sy >= 0
        satisfied = self.satisfied
        stack: list[tuple[int, tuple[int, ...], int]] = [(sx, tuple(counts), 0)]
        seen: set[tuple[tuple[int, ...], int]] = set()
        while stack and len(seen) < REACH_NODES:
            stock, left, hit = stack.pop()
            if hit == targets and not any(left):
                return True
            for j, c in enumerate(classes):
                if not left[j] or stock < class_need[c]:
                    continue
                nstock = stock + class_delta[c]
                nleft = left[:j] + (left[j] - 1,) + left[j + 1 :]
                nhit = hit | (satisfied(nstock) & targets)
                if (nleft, nhit) not in seen:
                    seen.add((nleft, nhit))
                    stack.append((nstock, nleft, nhit))
        return False

    # -- evidence ------------------------------------------------------------------------------

    def evidence(self, cfg: Config, tr: Trace, a: int) -> tuple[list[LinStep], list[int]]:
        """The configuration's linearization and the ops that could not come next."""
        steps: list[tuple[int, int, int]] = []
        while tr is not None:
            steps.append((tr[0], tr[1], tr[2]))
            tr = tr[3]
        steps.reverse()
        describe = self.model.describe_state
        lin = [LinStep(op_id, describe(before), describe(after)) for op_id, before, after in steps]
        stock, emask, gmask, used = cfg
        stuck = {a}
        for s, i in enumerate(self.slot_op):
            if i >= 0 and not (gmask if self.open_guards >> s & 1 else emask) >> s & 1:
                stuck.add(i)
        for c, unknown in enumerate(self.class_unknown):
            u = self.unknown_index[c]
            if u >= 0 and used[u] < self.invoked[c] and stock >= self.class_need[c]:
                stuck.add(unknown[used[u]])
        return lin, sorted(self.ops[i].id for i in stuck)
