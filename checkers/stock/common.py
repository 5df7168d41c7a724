"""What the stock checker families share: the ops of each item as columns, and the arithmetic tools.

`history_by_item` decodes the history once into per-item columns (`ItemHistory`); `Item` adds what
every family reads (the initial stock, the reset's events, the acknowledged sales as a `Timeline`).
A `Timeline` is the supply (or demand) bound: ops sorted by one time column with prefix sums of
their units. A `Proof` collects the event indices that prove a finding, capped. `Persisted` is the
final `orders` read. Real-time order and the other conventions are in `checkers.stock_checker`.
"""

from __future__ import annotations

import sys
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import accumulate, compress, count
from typing import Any

from checkers.history import FAIL, OK, Operation
from checkers.result import Finding

RESET = "reset"
BUY = "buy"
READ = "read"
RESTOCK = "restock"
ORDERS = "orders"
SOLD = "sold"
SOLD_OUT = "sold_out"

OVERSOLD = "oversold"
NEGATIVE_READ = "negative-read"
STALE_READ = "stale-read"
PHANTOM_READ = "phantom-read"
LOST_ORDER = "lost-order"
PHANTOM_ORDER = "phantom-order"
DUPLICATE_ORDER = "duplicate-order"
STOCK_LEAK = "stock-leak"
STOCK_CREATED = "stock-created"
FINDING_KINDS = (
    OVERSOLD,
    NEGATIVE_READ,
    STALE_READ,
    PHANTOM_READ,
    LOST_ORDER,
    PHANTOM_ORDER,
    DUPLICATE_ORDER,
    STOCK_LEAK,
    STOCK_CREATED,
)

MAX_PROOF_EVENTS = 100
FOREVER = sys.maxsize  # the return time of an op that never returned

# What an ok or unknown buy did, as far as the history says (failed buys are kept apart).
NO_EFFECT = 0  # answered sold_out
MAYBE_SOLD = 1  # unknown outcome (or an ok answer that is neither sold nor sold_out)
SOLD_ACK = 2  # answered sold


@dataclass(slots=True)
class Ops:
    """Ops of one kind as columns: position i of every list is the same op.

    `amount` is the units a buy or restock moves (its qty), or the units a read saw (its stock).
    `ret` is FOREVER for an op that never returned.
    """

    ops: list[Operation] = field(default_factory=list)
    call: list[int] = field(default_factory=list)
    ret: list[int] = field(default_factory=list)
    amount: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ItemHistory:
    """One item's ops. Fail ops never happened: failed restocks are dropped and failed buys kept
    aside, only to say why an order they requested should not have been persisted."""

    buys: Ops = field(default_factory=Ops)  # ok and unknown
    buy_order: list[Any] = field(default_factory=list)
    buy_effect: list[int] = field(default_factory=list)
    failed_buys: list[Operation] = field(default_factory=list)
    restocks: Ops = field(default_factory=Ops)  # ok and unknown
    reads: Ops = field(default_factory=Ops)  # ok reads with an integer stock
    orders: list[Operation] = field(default_factory=list)  # ok `orders` reads with a list


def history_by_item(ops: list[Operation]) -> dict[str, ItemHistory]:
    """One pass over the ops, each field decoded once (touching each op's dicts once is most of the cost)."""
    items: dict[str, ItemHistory] = {}
    for op in ops:
        f = op.f
        if f != BUY and f != READ and f != RESTOCK and f != ORDERS:
            continue
        inp = op.input
        if type(inp) is not dict:
            continue
        item = inp.get("item")
        if type(item) is not str:
            continue
        history = items.get(item)
        if history is None:
            history = items[item] = ItemHistory()
        status = op.status
        ret = FOREVER if op.ret is None else op.ret
        if f == BUY:
            if status == OK:
                out = op.output
                outcome = out.get("outcome") if type(out) is dict else None
                effect = SOLD_ACK if outcome == SOLD else NO_EFFECT if outcome == SOLD_OUT else MAYBE_SOLD
            elif status == FAIL:
                history.failed_buys.append(op)
                continue
            else:
                effect = MAYBE_SOLD
            buys = history.buys
            buys.ops.append(op)
            buys.call.append(op.call)
            buys.ret.append(ret)
            buys.amount.append(inp.get("qty", 1))
            history.buy_order.append(inp.get("order"))
            history.buy_effect.append(effect)
        elif f == READ:
            out = op.output
            if status == OK and type(out) is dict and type(out.get("stock")) is int:
                reads = history.reads
                reads.ops.append(op)
                reads.call.append(op.call)
                reads.ret.append(ret)
                reads.amount.append(out["stock"])
        elif f == RESTOCK:
            if status != FAIL:
                restocks = history.restocks
                restocks.ops.append(op)
                restocks.call.append(op.call)
                restocks.ret.append(ret)
                restocks.amount.append(inp.get("qty", 1))
        elif status == OK and type(op.output) is dict and type(op.output.get("orders")) is list:
            history.orders.append(op)
    for history in items.values():
        history.buys.amount = valid_qtys(history.buys.amount)
        history.restocks.amount = valid_qtys(history.restocks.amount)
        history.buy_order = order_keys(history.buy_order)
    return items


def valid_qtys(qtys: list[Any]) -> list[int]:
    """Units moved: the loader rejects a qty that is not a positive int; here one means 0 units
    (None means the default 1), so prefix sums stay monotone whatever the caller passed."""
    if not qtys or (set(map(type, qtys)) == {int} and min(qtys) > 0):
        return qtys
    return [q if is_int(q) and q > 0 else (1 if q is None else 0) for q in qtys]


def first_reset_events(ops: list[Operation]) -> list[int]:
    for op in ops:
        if op.f == RESET and op.status == OK:
            return [op.complete_index] if op.complete_index is not None else [op.invoke_index]
    return []


def is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def order_key(x: Any) -> Any:
    """Order ids as compared between buys and the orders read; unhashable junk becomes its repr."""
    return x if isinstance(x, str | int) and not isinstance(x, bool) else repr(x)


def order_keys(values: list[Any]) -> list[Any]:
    """`order_key` of each value (None, for a buy without an order id, stays None)."""
    if set(map(type, values)) <= {str, type(None)}:
        return values
    return [None if k is None else order_key(k) for k in values]


def ret_of(op: Operation) -> int:
    return FOREVER if op.ret is None else op.ret


def op_events(op: Operation) -> list[int]:
    return [op.invoke_index] if op.complete_index is None else [op.invoke_index, op.complete_index]


def ack_event(op: Operation) -> int:
    """The event that shows the op took effect: its ok, or its invocation when unknown."""
    return op.complete_index if op.status == OK and op.complete_index is not None else op.invoke_index


def read_name(read: Operation) -> str:
    return f"read at events {read.invoke_index}-{read.complete_index}"


def positions_of(mask: Iterable[bool]) -> list[int]:
    """Positions where `mask` is true, in C (`compress`): the per-op loops here must not run in Python."""
    return list(compress(count(), mask))


def units_text(n: int) -> str:
    return count_text(n, "unit")


def count_text(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class Proof:
    """History event indices proving a finding, capped at MAX_PROOF_EVENTS in priority order."""

    def __init__(self) -> None:
        self.chosen: set[int] = set()
        self.more = 0

    def add(self, indices: Iterable[int], total: int | None = None) -> Proof:
        """Take indices while there is room; `total` (the iterable's length) counts the rest cheaply."""
        seen = 0
        it = iter(indices)
        for i in it:
            if len(self.chosen) >= MAX_PROOF_EVENTS:
                self.more += total - seen if total is not None else 1 + sum(1 for _ in it)
                return self
            seen += 1
            self.chosen.add(i)
        return self

    def finding(self, kind: str, item: str, message: str, details: dict[str, Any]) -> Finding:
        if self.more:
            details["more_events"] = self.more
        return Finding(kind=kind, item=item, message=message, events=sorted(self.chosen), details=details)


class Timeline:
    """Some ops sorted by one time column, with prefix sums of their units: units up to t in O(log n)."""

    def __init__(self, ops: Ops, positions: Iterable[int], times: list[int]) -> None:
        self.positions = sorted(positions, key=times.__getitem__)
        self.ops = list(map(ops.ops.__getitem__, self.positions))
        self.times = list(map(times.__getitem__, self.positions))
        self.prefix = list(accumulate(map(ops.amount.__getitem__, self.positions), initial=0))

    def units_before(self, ts: list[int]) -> tuple[list[int], list[int]]:
        """Per t: how many ops have time < t (ordered before an op invoked at t), and their units."""
        counts = list(map(partial(bisect_left, self.times), ts))
        return counts, list(map(self.prefix.__getitem__, counts))

    def units_at_or_before(self, ts: list[int]) -> tuple[list[int], list[int]]:
        """Per t: how many ops have time <= t (may be ordered before an op that returned at t)."""
        counts = list(map(partial(bisect_right, self.times), ts))
        return counts, list(map(self.prefix.__getitem__, counts))

    def ack_events(self, stop: int) -> Iterator[int]:
        """`ack_event` of the ops before `stop`, latest first, lazily: a capped proof costs O(cap)."""
        for i in range(stop - 1, -1, -1):
            yield ack_event(self.ops[i])

    def invoke_events(self, stop: int) -> Iterator[int]:
        for i in range(stop - 1, -1, -1):
            yield self.ops[i].invoke_index


class Persisted:
    """The final `orders` read: its ids in order (repeats kept), as a set, and counts when some repeat."""

    def __init__(self, op: Operation) -> None:
        self.op = op
        self.ids = order_keys(op.output["orders"])
        self.unique = set(self.ids)
        self.counts = Counter(self.ids) if len(self.unique) < len(self.ids) else None

    def count(self, oid: Any) -> int:
        if self.counts is None:
            return 1 if oid in self.unique else 0
        return self.counts[oid]

    def repeated(self) -> set[Any]:
        return set() if self.counts is None else {oid for oid, n in self.counts.items() if n > 1}


def order_keys_of(buys: list[Operation]) -> list[Any]:
    return order_keys([op.input.get("order") for op in buys])


class Item:
    """One item as every family sees it; `initial` is its stock after the reset."""

    __slots__ = ("name", "initial", "history", "reset_events", "sold_acks")

    def __init__(self, name: str, initial: int, history: ItemHistory, reset_events: list[int]) -> None:
        self.name = name
        self.initial = initial
        self.history = history
        self.reset_events = reset_events
        self.sold_acks = Timeline(history.buys, first_ack_per_order(history), history.buys.ret)

    def final_orders(self) -> Persisted | None:
        """The final `orders` read: the ok one invoked last (None when the history has none)."""
        final = max(self.history.orders, key=lambda op: (op.call, ret_of(op)), default=None)
        return None if final is None else Persisted(final)


def first_ack_per_order(history: ItemHistory) -> list[int]:
    """Buys answered sold, a repeated order id counted at its earliest acknowledgement only."""
    buy_order = history.buy_order
    acks = positions_of(map(SOLD_ACK.__eq__, history.buy_effect))
    orders = list(map(buy_order.__getitem__, acks))
    if len(set(orders)) == len(orders) and None not in orders:
        return acks
    earliest: set[Any] = set()
    keep: list[int] = []
    for i in sorted(acks, key=history.buys.ret.__getitem__):
        order = buy_order[i]
        if order is None:
            keep.append(i)
        elif order not in earliest:
            earliest.add(order)
            keep.append(i)
    return keep
