"""Linearizability for the stock model only: a sweep over time instead of a search over orders.

The generic engine (`checkers.linearizability`) backtracks over orders and explodes on one hot
item with dozens of concurrent buyers. A stock item is a counter, and that buys a lot. The sweep
itself is compiled (`checkers/native/src/sweep.rs`, built by ./setup.sh into `oversell_native`):
on a flash-sale history every event costs it a few microseconds, and Python cannot do that. This
module turns operations into its columns and its answer into evidence.

Ops, per item (P-compositionality: the partitions of `StockModel.partition`):
- *effects* with a deadline: a sold buy of q (stock -= q, needs stock >= q), a restock (+= q);
- *guards* with a deadline, which change nothing: a read of n (stock == n), a sold_out buy of q
  (stock < q);
- *unknown effects*, no deadline, optional: an unknown buy of q (stock -= q if stock >= q, else
  nothing: so "optionally decrement when stock >= q") and an unknown restock. Unknown reads,
  unknown ops of qty 0 and fail ops constrain nothing and are left out.

Real time: a precedes b only if ret(a) < call(b). At equal times calls are processed before
returns, so ops whose ends touch are concurrent (the generic engine's rule).

The sweep processes call and return events in that order and keeps a *frontier*: every
configuration (stock, open effects linearized, open guards linearized, unknown ops used per
class) that a linearization of the events so far can end in, up to dominance. It is breadth
first: a depth-first walk is faster while its guesses are right, but on a hot item one wrong
early guess costs an exponential backtrack (the previous, depth-first version of this module
answered "unknown" after 60 s on a 100k-op flash-sale history that it now decides in a second).

- Just-in-time: WLOG every op is linearized in a batch just before some return, so only return
  events change configurations. At the return of a, a configuration that linearized a just
  frees its slot; any other runs a small search for batches ending in a.
- Guards are saturated: whenever a configuration's stock satisfies an open guard the guard is
  linearized there (it changes nothing and only removes an obligation).
- Symmetry: effects with the same (delta, precondition) form a class. A step only takes a
  class's first unlinearized member by deadline (any other could swap places with it), and
  unknown ops are only counted (the k used ones of a class are its first k invoked).
- Minimal batches: a batch is cut into segments, each ending where some guard gets saturated;
  after the root and after each segment, a is tried. A segment that moves the stock only in a's
  own direction and holds ops adding up to a's delta is skipped: linearizing a first and those
  ops after the batch reaches every stock the segment reaches, so the shorter batch covers it.
- Pruning, whenever a return leaves several configurations: one with an open guard it can no
  longer reach by that guard's return is dead; y is dropped if x *reaches* it (y is in x's
  closure) or x *dominates* it (same stock after x spends spare unknown ops, x's guards a
  superset, and per class a matching of x's unlinearized open members to y's with deadlines no
  earlier, y's extra work played by x's spare unknown ops, several small ones standing for one
  big one). Both keep every completion of y available to x.

A partition whose frontier empties at the return of op a is not linearizable: the sweep is then
rerun with traces up to that event for the longest linearizable prefix among the configurations
and the ops that could not come next (a, the open ops it left, one spare unknown op per class
that could still change the stock). A time limit makes unfinished partitions "unknown"; so does
a partition with more than 4095 ops open at once or more than 64 classes of unknown ops.
"""

from __future__ import annotations

import time
from array import array
from dataclasses import dataclass

from checkers.gc_pause import gc_paused
from checkers.history import FAIL, INFO, Operation
from checkers.models.stock import BUY, READ, RESTOCK, SOLD, StockModel, validate_stock_op
from checkers.result import UNKNOWN, LinearizabilityResult, LinStep, PartitionResult, combine

try:
    import oversell_native as _native
except ImportError:  # pragma: no cover - ./setup.sh builds it; history_check falls back
    _native = None

# Op kinds as the native sweep numbers them.
_BUY_SOLD, _BUY_SOLD_OUT, _BUY_UNKNOWN, _READ_OK, _READ_UNKNOWN, _RESTOCK_OK, _RESTOCK_UNKNOWN = range(7)
_VALID, _INVALID, _UNDECIDED = 1, 0, 2
MAX_VALUE = 1 << 40  # stocks and qtys are summed in 64-bit integers


def available() -> bool:
    """Is the compiled sweep installed? (./setup.sh builds it; without it the generic engine runs.)"""
    return _native is not None


def check_stock_linearizability(
    ops: list[Operation], init: dict[str, int], time_limit: float | None = None
) -> LinearizabilityResult:
    """Check `ops` against the stock model from `init` (item -> stock, missing items start at 0)."""
    return check_prepared(prepare(ops, init), time_limit)


@dataclass(slots=True)
class PreparedItem:
    """One item's ops and their columns for the native sweep (built while holding the GIL)."""

    key: str
    ops: list[Operation]
    init: int
    kinds: bytes
    amounts: bytes
    calls: bytes
    rets: bytes


@dataclass(slots=True)
class Prepared:
    model: StockModel
    items: list[PreparedItem]


def prepare(ops: list[Operation], init: dict[str, int]) -> Prepared:
    """Partition by item and build the columns: the Python half of a check, so that the native
    half (`check_prepared`) can run on another thread without waiting for the GIL."""
    if _native is None:
        raise RuntimeError("oversell_native is not installed: run ./setup.sh (it builds checkers/native)")
    with gc_paused():
        return _prepare(ops, StockModel(init))


def _prepare(ops: list[Operation], model: StockModel) -> Prepared:
    """One pass over the ops: partition by item (as `StockModel.partition` does, with its checks
    on anything malformed) and build each item's columns."""
    columns: dict[str, _Columns] = {}
    for op in ops:
        f = op.f
        if op.status == FAIL or (f != BUY and f != READ and f != RESTOCK):
            continue
        item = validate_stock_op(op)  # raises on a malformed op
        col = columns.get(item)
        if col is None:
            col = columns[item] = _Columns()
        col.add(op)
    items = []
    for key in sorted(columns):
        col = columns[key]
        item_init = model.init(key)
        assert isinstance(item_init, int)
        if max(abs(item_init), max(map(abs, col.amounts), default=0)) > MAX_VALUE:
            raise ValueError(f"item {key}: a stock or qty beyond ±{MAX_VALUE} is not a stock this checker takes")
        try:
            packed = (array("q", col.amounts).tobytes(), array("q", col.calls).tobytes(), array("q", col.rets).tobytes())
        except OverflowError:
            raise ValueError(f"item {key}: an op time does not fit in 64 bits") from None
        items.append(PreparedItem(key, col.ops, item_init, bytes(col.kinds), *packed))
    return Prepared(model, items)


def check_prepared(prepared: Prepared, time_limit: float | None = None) -> LinearizabilityResult:
    """Run the native sweep on every item; it does not hold the GIL while it searches."""
    assert _native is not None
    started = time.monotonic()
    partitions: list[PartitionResult] = []
    stats: list[dict[str, int]] = []
    describe = prepared.model.describe_state
    for item in prepared.items:
        remaining = None if time_limit is None else max(0.0, time_limit - (time.monotonic() - started))
        verdict, lin, stuck, (events, frontier, searches, nodes) = _native.check_stock_item(
            item.kinds, item.amounts, item.calls, item.rets, item.init, remaining
        )
        stats.append({"events": events, "max_frontier": frontier, "searches": searches, "search_nodes": nodes})
        ops = item.ops
        ids = [op.id for op in ops]
        if verdict == _VALID:
            partitions.append(PartitionResult(item.key, ids, True))
        elif verdict == _UNDECIDED:
            partitions.append(PartitionResult(item.key, ids, UNKNOWN))
        else:
            steps = [LinStep(ops[i].id, describe(before), describe(after)) for i, before, after in lin]
            # stuck: the op whose return no configuration got past first, then the rest
            partitions.append(PartitionResult(item.key, ids, False, steps, [ops[i].id for i in stuck]))
    return LinearizabilityResult(
        valid=combine(*(p.valid for p in partitions)),
        model=prepared.model.name,
        partitions=partitions,
        seconds=time.monotonic() - started,
        engine="stock",
        stats=stats,
    )


class _Columns:
    """An item's ops and, per op: kind, amount (qty, or the stock a read saw), call, return."""

    __slots__ = ("ops", "kinds", "amounts", "calls", "rets")

    def __init__(self) -> None:
        self.ops: list[Operation] = []
        self.kinds: list[int] = []
        self.amounts: list[int] = []
        self.calls: list[int] = []
        self.rets: list[int] = []

    def add(self, op: Operation) -> None:
        """Append one op that `validate_stock_op` accepted."""
        f = op.f
        ret = op.ret
        unknown = op.status == INFO
        if f == BUY:
            kind = _BUY_UNKNOWN if unknown else _BUY_SOLD if op.output["outcome"] == SOLD else _BUY_SOLD_OUT
            amount = op.input["qty"]
        elif f == READ:
            kind = _READ_UNKNOWN if unknown else _READ_OK
            amount = 0 if unknown else op.output["stock"]
        else:
            kind = _RESTOCK_UNKNOWN if unknown else _RESTOCK_OK
            amount = op.input["qty"]
        if not unknown and ret is None:
            raise ValueError(f"op {op.id} (invoke index {op.invoke_index}) is {op.status} but has no return time")
        self.ops.append(op)
        self.kinds.append(kind)
        self.amounts.append(amount)
        self.calls.append(op.call)
        self.rets.append(-1 if ret is None else ret)
