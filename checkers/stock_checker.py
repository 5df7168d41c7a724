"""Stock-specific checkers that need no search: bounds from prefix sums, O(n log n).

A linearizability search can time out on a long history; these checks cannot, and each finding
is a plain arithmetic argument over the history's event indices that a human can re-do by hand.
Every bound is *sound*: it only flags what no linearizable (and, for the order checks, no
order-persisting) execution could produce, counting unknown (`info`) ops both ways.

Real-time order, same rule as the linearizability engine: op `a` precedes op `b` only when
`a.ret < b.call`. An op that returned at time t and one invoked at time t are concurrent.
An unknown op has no return: it may take effect at any time after its call, or never.

Buys are idempotent by order id, so a sold acknowledgement counts once per order id.
Only the first ok `reset` gives the initial stock (`init`); resets are expected only at the start.

Speed: a 1M-op history must check in seconds, so each item's ops are turned into columns (plain
lists of ints) and the per-op work runs in C (`map`, `bisect`, `accumulate`); building a tuple or
object per op would also wake the cyclic garbage collector over the whole history, repeatedly.
"""

from __future__ import annotations

import sys
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import accumulate, chain, compress, count
from operator import and_, attrgetter, gt, lt, or_, sub
from typing import Any

from checkers.history import FAIL, INVOKE, NEMESIS, OK, Event, HistoryError, Operation
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


def initial_stock(events: list[Event], file: str = "<history>") -> dict[str, int] | None:
    """Initial stock per item from the first ok `reset` (its value, else its invocation's)."""
    invoked: dict[int | str, Any] = {}
    for ev in events:
        if ev.f != RESET or ev.process == NEMESIS:
            continue
        if ev.type == INVOKE:
            invoked[ev.process] = ev.value
            continue
        if ev.type != OK:
            continue
        value = ev.value if isinstance(ev.value, dict) and "items" in ev.value else invoked.get(ev.process)
        items = value.get("items") if isinstance(value, dict) else None
        if not isinstance(items, dict) or not all(
            isinstance(k, str) and _is_int(v) for k, v in items.items()
        ):
            raise HistoryError(file, ev.line, 'reset needs a value {"items": {item: integer stock}}')
        return dict(items)
    return None


def check_stock(ops: list[Operation], init: dict[str, int]) -> list[Finding]:
    """All search-free stock findings, item by item (sorted), in a fixed kind order per item.

    `init` is the stock per item after the reset (a missing item starts at 0). Per item:
    - oversold, at a moment: the earliest acknowledgement at whose return t the units acknowledged
      `sold` by t > initial + restocks invoked by t (ok or unknown); stock can never go below 0.
    - negative-read: an ok read below 0.
    - stale-read: an ok read above initial + restocks invoked by its return (ok or unknown)
      - units acknowledged `sold` before its call.
    - phantom-read: an ok read below initial + restocks acknowledged before its call - units of
      buys invoked by its return that may have sold (ok `sold` or unknown).
    With a final `orders` read (the ok one invoked last):
    - oversold, in total: units acknowledged `sold` + units of persisted orders whose buy's outcome
      was unknown (a persisted order is a sale; its time is unknown, so it counts only here) >
      initial + every ok or unknown restock. Persisted ids no buy may have sold are phantom orders,
      never counted as sales.
    - lost-order: a buy acknowledged `sold` before that read began whose id it lacks.
    - phantom-order: a persisted id that no buy invoked by the read's return may have sold.
    - duplicate-order: an id persisted more than once.
    - stock-leak / stock-created: the last read invoked after every ok buy and restock returned,
      below / above initial + restocked - persisted orders' qty (a range, see `_quiescence`).
    """
    reset_events = _reset_events(ops)
    findings: list[Finding] = []
    for item, history in sorted(_history_by_item(ops).items()):
        findings.extend(_ItemChecker(item, init.get(item, 0), history, reset_events).check())
    return findings


@dataclass(slots=True)
class _Ops:
    """Ops of one kind as columns: position i of every list is the same op.

    `amount` is the units a buy or restock moves (its qty), or the units a read saw (its stock).
    `ret` is FOREVER for an op that never returned.
    """

    ops: list[Operation] = field(default_factory=list)
    call: list[int] = field(default_factory=list)
    ret: list[int] = field(default_factory=list)
    amount: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _ItemHistory:
    """One item's ops. Fail ops never happened: failed restocks are dropped and failed buys kept
    aside, only to say why an order they requested should not have been persisted."""

    buys: _Ops = field(default_factory=_Ops)  # ok and unknown
    buy_order: list[Any] = field(default_factory=list)
    buy_effect: list[int] = field(default_factory=list)
    failed_buys: list[Operation] = field(default_factory=list)
    restocks: _Ops = field(default_factory=_Ops)  # ok and unknown
    reads: _Ops = field(default_factory=_Ops)  # ok reads with an integer stock
    orders: list[Operation] = field(default_factory=list)  # ok `orders` reads with a list


def _history_by_item(ops: list[Operation]) -> dict[str, _ItemHistory]:
    """One pass over the ops, each field decoded once (touching each op's dicts once is most of the cost)."""
    items: dict[str, _ItemHistory] = {}
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
            history = items[item] = _ItemHistory()
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
        history.buys.amount = _valid_qtys(history.buys.amount)
        history.restocks.amount = _valid_qtys(history.restocks.amount)
        history.buy_order = _order_keys(history.buy_order)
    return items


def _valid_qtys(qtys: list[Any]) -> list[int]:
    """Units moved: the loader rejects a qty that is not a positive int; here one means 0 units
    (None means the default 1), so prefix sums stay monotone whatever the caller passed."""
    if not qtys or (set(map(type, qtys)) == {int} and min(qtys) > 0):
        return qtys
    return [q if _is_int(q) and q > 0 else (1 if q is None else 0) for q in qtys]


def _reset_events(ops: list[Operation]) -> list[int]:
    for op in ops:
        if op.f == RESET and op.status == OK:
            return [op.complete_index] if op.complete_index is not None else [op.invoke_index]
    return []


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _order_key(x: Any) -> Any:
    """Order ids as compared between buys and the orders read; unhashable junk becomes its repr."""
    return x if isinstance(x, str | int) and not isinstance(x, bool) else repr(x)


def _order_keys(values: list[Any]) -> list[Any]:
    """`_order_key` of each value (None, for a buy without an order id, stays None)."""
    if set(map(type, values)) <= {str, type(None)}:
        return values
    return [None if k is None else _order_key(k) for k in values]


def _ret(op: Operation) -> int:
    return FOREVER if op.ret is None else op.ret


def _op_events(op: Operation) -> list[int]:
    return [op.invoke_index] if op.complete_index is None else [op.invoke_index, op.complete_index]


def _ack_event(op: Operation) -> int:
    """The event that shows the op took effect: its ok, or its invocation when unknown."""
    return op.complete_index if op.status == OK and op.complete_index is not None else op.invoke_index


def _read_name(read: Operation) -> str:
    return f"read at events {read.invoke_index}-{read.complete_index}"


def _positions(mask: Iterable[bool]) -> list[int]:
    """Positions where `mask` is true, in C (`compress`): the per-op loops here must not run in Python."""
    return list(compress(count(), mask))


def _units(n: int) -> str:
    return _count(n, "unit")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class _Proof:
    """History event indices proving a finding, capped at MAX_PROOF_EVENTS in priority order."""

    def __init__(self) -> None:
        self.chosen: set[int] = set()
        self.more = 0

    def add(self, indices: Iterable[int], total: int | None = None) -> _Proof:
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


class _Timeline:
    """Some ops sorted by one time column, with prefix sums of their units: units up to t in O(log n)."""

    def __init__(self, ops: _Ops, positions: Iterable[int], times: list[int]) -> None:
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
        """`_ack_event` of the ops before `stop`, latest first, lazily: a capped proof costs O(cap)."""
        for i in range(stop - 1, -1, -1):
            yield _ack_event(self.ops[i])

    def invoke_events(self, stop: int) -> Iterator[int]:
        for i in range(stop - 1, -1, -1):
            yield self.ops[i].invoke_index


class _ItemChecker:
    """Every finding for one item; `initial` is its stock after the reset."""

    def __init__(self, item: str, initial: int, history: _ItemHistory, reset_events: list[int]) -> None:
        self.item = item
        self.initial = initial
        self.history = history
        self.reset_events = reset_events
        self.sold_acks = _Timeline(history.buys, self._first_ack_per_order(), history.buys.ret)

    def _first_ack_per_order(self) -> list[int]:
        """Buys answered sold, a repeated order id counted at its earliest acknowledgement only."""
        buy_order = self.history.buy_order
        acks = _positions(map(SOLD_ACK.__eq__, self.history.buy_effect))
        orders = list(map(buy_order.__getitem__, acks))
        if len(set(orders)) == len(orders) and None not in orders:
            return acks
        earliest: set[Any] = set()
        keep: list[int] = []
        for i in sorted(acks, key=self.history.buys.ret.__getitem__):
            order = buy_order[i]
            if order is None:
                keep.append(i)
            elif order not in earliest:
                earliest.add(order)
                keep.append(i)
        return keep

    def check(self) -> list[Finding]:
        final_orders = max(self.history.orders, key=lambda op: (op.call, _ret(op)), default=None)
        persisted = None if final_orders is None else _Persisted(final_orders)
        findings = self._oversold_at_a_moment()
        if persisted is not None:
            findings.extend(self._oversold_in_total(persisted))
        findings.extend(self._reads())
        if persisted is not None:
            findings.extend(self._orders(persisted))
            findings.extend(self._quiescence(persisted))
        return findings

    def _oversold_at_a_moment(self) -> list[Finding]:
        """The earliest time t at which the sales acknowledged by t exceed initial + restocks invoked by t.

        Every sale acknowledged by t took effect by t; a restock invoked after t cannot have taken
        effect before t (one invoked at t is concurrent and may have), and stock never goes below 0,
        so no execution explains the excess. The sold total only steps up at an acknowledgement, so
        t ranges over the acknowledgements' returns. Those returns cut into runs that see the same
        restocks; within a run the first crossing is one bisect of the sold prefix sums, so this costs
        O(restocks x log sales) beyond the sorted acknowledgements.
        """
        acks = self.sold_acks
        if not acks.ops:
            return []
        restocks = self.history.restocks
        invoked = _Timeline(restocks, range(len(restocks.ops)), restocks.call)
        # acks[starts[k]:starts[k + 1]] returned at or after the call of the k-th restock (by call), before the next's
        starts = [0, *map(partial(bisect_left, acks.times), invoked.times), len(acks.ops)]
        j = k = -1
        worst = 0
        for seen in range(len(starts) - 1):
            lo, hi = starts[seen], starts[seen + 1]
            if lo >= hi:
                continue
            available = self.initial + invoked.prefix[seen]
            worst = max(worst, acks.prefix[hi] - available)
            first = max(lo, bisect_right(acks.prefix, available) - 1)  # first ack whose running total passes
            if j < 0 and first < hi:
                j, k = first, seen
        if j < 0:
            return []
        sold, n_sold, restocked = acks.prefix[j + 1], j + 1, invoked.prefix[k]
        available = self.initial + restocked
        excess = sold - available
        crossed, at = acks.ops[j], acks.times[j]
        proof = _Proof().add(self.reset_events).add([_ack_event(crossed)])
        proof.add(invoked.invoke_events(k), total=k)
        proof.add(acks.ack_events(n_sold), total=n_sold)
        return [
            proof.finding(
                OVERSOLD,
                self.item,
                f"{self.item}: when the sale at event {crossed.complete_index} was acknowledged, "
                f"{_units(sold)} had been acknowledged sold ({_count(n_sold, 'sale')} returned by then), but at "
                f"most {available} could have been available (initial {self.initial} + {restocked} restocked by "
                f"the {_count(k, 'restock')} invoked by then, ok or unknown): oversold by {excess} at that moment"
                + (f", by up to {worst} later" if worst > excess else ""),
                {
                    "sold": sold,
                    "available": available,
                    "initial": self.initial,
                    "restocked": restocked,
                    "oversold_by": excess,
                    "max_oversold_by": worst,
                    "crossing_event": crossed.complete_index,
                    "crossing_time": at,
                    "sold_at_crossing": sold,
                    "sales": n_sold,
                    "restocks": k,
                },
            )
        ]

    def _oversold_in_total(self, persisted: _Persisted) -> list[Finding]:
        """Units acknowledged sold, plus units of persisted orders whose buy's outcome was unknown,
        beyond initial + every restock that may have happened (ok or unknown).

        A persisted order is a sale (docs/protocol.md); only one whose buy may have sold (unknown, or
        an ok answer that is neither sold nor sold_out), invoked by the orders read's return, counts
        here, once per order id at its smallest qty. A persisted id that no such buy explains is a
        phantom-order finding, not a sale. Only raised when such orders exist: without them the total
        is the last acknowledgement's moment, which `_oversold_at_a_moment` already covers.
        """
        history, buys = self.history, self.history.buys
        buy_order = history.buy_order
        final = persisted.op
        acked = set(map(buy_order.__getitem__, self.sold_acks.positions))
        unacked = persisted.unique - acked - {None}
        if not unacked:
            return []
        may_have_sold = map(MAYBE_SOLD.__eq__, history.buy_effect)
        invoked_in_time = map(_ret(final).__ge__, buys.call)
        in_orders = map(unacked.__contains__, buy_order)
        positions = _positions(map(and_, map(and_, may_have_sold, invoked_in_time), in_orders))
        if not positions:
            return []
        # one buy per order id, the one with the smallest qty (later dict entries win)
        positions.sort(key=buys.amount.__getitem__, reverse=True)
        by_order = dict(zip(map(buy_order.__getitem__, positions), positions, strict=True))
        counted = sorted(by_order.values(), key=buys.call.__getitem__)
        unknown_units = sum(map(buys.amount.__getitem__, counted))
        acked_units = self.sold_acks.prefix[-1]
        restocks = history.restocks
        restocked = sum(restocks.amount)
        limit = self.initial + restocked
        sold = acked_units + unknown_units
        if sold <= limit:
            return []
        proof = _Proof().add(self.reset_events).add(_op_events(final))
        proof.add((e for i in counted for e in _op_events(buys.ops[i])), total=None)
        proof.add(map(_ack_event, restocks.ops), total=len(restocks.ops))
        n_acks = len(self.sold_acks.ops)
        proof.add(self.sold_acks.ack_events(n_acks), total=n_acks)
        where = f"the orders read at events {final.invoke_index}-{final.complete_index}"
        return [
            proof.finding(
                OVERSOLD,
                self.item,
                f"{self.item}: {_units(sold)} sold in all ({acked_units} acknowledged sold in {_count(n_acks, 'sale')} + "
                f"{unknown_units} in {_count(len(counted), 'order')} persisted in {where} whose buys' outcome was unknown), "
                f"but at most {limit} were ever available (initial {self.initial} + restocked {restocked}, every "
                f"ok or unknown restock): oversold by {sold - limit}",
                {
                    "sold": sold,
                    "available": limit,
                    "initial": self.initial,
                    "restocked": restocked,
                    "oversold_by": sold - limit,
                    "acknowledged": acked_units,
                    "persisted_unknown": unknown_units,
                    "persisted_unknown_orders": sorted(map(str, by_order))[:20],
                    "orders_read_event": final.complete_index,
                },
            )
        ]

    def _reads(self) -> list[Finding]:
        """negative-read, stale-read, phantom-read: each ok read against the bounds of its interval."""
        history, initial = self.history, self.initial
        reads, restocks, buys = history.reads, history.restocks, history.buys
        stocks = reads.amount
        restocks_may = _Timeline(restocks, range(len(restocks.ops)), restocks.call)
        restocks_acked = _Timeline(restocks, _positions(map(FOREVER.__ne__, restocks.ret)), restocks.ret)
        may_sell = _Timeline(buys, _positions(map(NO_EFFECT.__ne__, history.buy_effect)), buys.call)
        # Most: every restock invoked by the read's return happened; only sales acked before its call did.
        n_restocks, restocked_most = restocks_may.units_at_or_before(reads.ret)
        n_sold, sold_least = self.sold_acks.units_before(reads.call)
        most = list(map(initial.__add__, map(sub, restocked_most, sold_least)))
        # Least: only restocks acked before its call happened; every sale that may have by its return did.
        n_restocked, restocked_least = restocks_acked.units_before(reads.call)
        n_may_sell, sold_most = may_sell.units_at_or_before(reads.ret)
        least = list(map(initial.__add__, map(sub, restocked_least, sold_most)))
        out_of_bounds = map(or_, map(gt, stocks, most), map(lt, stocks, least))
        flagged = _positions(map(or_, out_of_bounds, map((0).__gt__, stocks)))
        findings: list[Finding] = []
        for i in sorted(flagged, key=lambda i: (reads.call[i], reads.ret[i])):
            read, stock = reads.ops[i], stocks[i]
            if stock < 0:
                findings.append(
                    _Proof()
                    .add(_op_events(read))
                    .finding(
                        NEGATIVE_READ,
                        self.item,
                        f"{self.item}: {_read_name(read)} returned {stock}: stock below zero",
                        {"read": stock},
                    )
                )
            if stock > most[i]:
                proof = _Proof().add(_op_events(read)).add(self.reset_events)
                proof.add(self.sold_acks.ack_events(n_sold[i]), total=n_sold[i])
                proof.add(restocks_may.ack_events(n_restocks[i]), total=n_restocks[i])
                findings.append(
                    proof.finding(
                        STALE_READ,
                        self.item,
                        f"{self.item}: {_read_name(read)} returned {stock}, but at most {most[i]} could be in "
                        f"stock (initial {initial} + up to {restocked_most[i]} restocked - {sold_least[i]} "
                        f"acknowledged sold before the read began)",
                        {
                            "read": stock,
                            "most": most[i],
                            "initial": initial,
                            "restocked_at_most": restocked_most[i],
                            "sold_before": sold_least[i],
                            "above_by": stock - most[i],
                        },
                    )
                )
            if stock < least[i]:
                proof = _Proof().add(_op_events(read)).add(self.reset_events)
                proof.add(restocks_acked.ack_events(n_restocked[i]), total=n_restocked[i])
                proof.add(may_sell.invoke_events(n_may_sell[i]), total=n_may_sell[i])
                findings.append(
                    proof.finding(
                        PHANTOM_READ,
                        self.item,
                        f"{self.item}: {_read_name(read)} returned {stock}, but at least {least[i]} must be in "
                        f"stock (initial {initial} + {restocked_least[i]} restocked before the read began - "
                        f"at most {sold_most[i]} sold before it returned)",
                        {
                            "read": stock,
                            "least": least[i],
                            "initial": initial,
                            "restocked_before": restocked_least[i],
                            "sold_at_most": sold_most[i],
                            "below_by": least[i] - stock,
                        },
                    )
                )
        return findings

    def _orders(self, persisted: _Persisted) -> list[Finding]:
        """lost-order, phantom-order, duplicate-order against the final `orders` read."""
        final = persisted.op
        final_ret = _ret(final)
        where = f"the orders read at events {final.invoke_index}-{final.complete_index}"
        orders_events = _op_events(final)
        history = self.history
        buys, buy_order = history.buys, history.buy_order
        findings: list[Finding] = []
        acked = self.sold_acks.positions
        if not set(map(buy_order.__getitem__, acked)) <= persisted.unique:
            # A sale acknowledged while the orders read was running may land after its snapshot: not lost.
            lost = [
                i
                for i in acked
                if buy_order[i] not in persisted.unique
                and buy_order[i] is not None
                and buys.ret[i] < final.call
            ]
            for i in sorted(lost, key=lambda i: buys.ops[i].invoke_index):
                op = buys.ops[i]
                findings.append(
                    _Proof()
                    .add(_op_events(op))
                    .add(orders_events)
                    .finding(
                        LOST_ORDER,
                        self.item,
                        f"{self.item}: order {buy_order[i]!r} (qty {buys.amount[i]}) was acknowledged sold at "
                        f"event {op.complete_index} but is missing from {where}",
                        {"order": buy_order[i], "qty": buys.amount[i]},
                    )
                )
        # Only a buy that may have sold, invoked before the orders read returned, explains an id.
        may_explain = map(and_, map(NO_EFFECT.__ne__, history.buy_effect), map(final_ret.__ge__, buys.call))
        explained = set(compress(buy_order, may_explain))
        suspects = (persisted.unique - explained) | persisted.repeated()
        if not suspects:
            return findings
        requested: dict[Any, list[Operation]] = {}
        failed = history.failed_buys
        for order, op in chain(
            zip(buy_order, buys.ops, strict=True), zip(_order_keys_of(failed), failed, strict=True)
        ):
            if order in suspects and op.call <= final_ret:
                requested.setdefault(order, []).append(op)
        for oid in (oid for oid in dict.fromkeys(persisted.ids) if oid in suspects):
            buy_ops = sorted(requested.get(oid, []), key=attrgetter("invoke_index"))
            buy_events = [i for op in buy_ops for i in _op_events(op)]
            if oid not in explained:
                answers = sorted({SOLD_OUT if op.status == OK else op.status for op in buy_ops})
                why = f"its buy answered {' and '.join(answers)}" if buy_ops else "no buy requested it"
                findings.append(
                    _Proof()
                    .add(orders_events)
                    .add(buy_events)
                    .finding(
                        PHANTOM_ORDER,
                        self.item,
                        f"{self.item}: order {oid!r} is persisted in {where} but {why}",
                        {"order": oid, "buy_answers": answers, "buys": len(buy_ops)},
                    )
                )
            count = persisted.count(oid)
            if count > 1:
                findings.append(
                    _Proof()
                    .add(orders_events)
                    .add(buy_events)
                    .finding(
                        DUPLICATE_ORDER,
                        self.item,
                        f"{self.item}: order {oid!r} is persisted {count} times in {where}",
                        {"order": oid, "count": count},
                    )
                )
        return findings

    def _quiescence(self, persisted: _Persisted) -> list[Finding]:
        """stock-leak / stock-created: the last read after all known effects vs what the orders explain.

        Quiescent read: an ok read invoked after every buy and restock of the item returned (fail
        ops had no effect; unknown ops never return, so they widen the expected range instead).
        Expected stock = initial + restocked - qty of the persisted orders (each entry counts), widened
        by unknown restocks that may precede the read, and by buys that may fall between the read and
        the orders read in whichever order those two may have run.
        """
        history = self.history
        buys, restocks, reads = history.buys, history.restocks, history.reads
        returned = FOREVER.__gt__
        settled = max(
            max(filter(returned, buys.ret), default=-1), max(filter(returned, restocks.ret), default=-1)
        )
        quiet = [i for i, call in enumerate(reads.call) if call > settled]
        if not quiet:
            return []
        last = max(quiet, key=lambda i: (reads.call[i], reads.ret[i]))
        read, read_ret, stock = reads.ops[last], reads.ret[last], reads.amount[last]
        final = persisted.op
        final_ret = _ret(final)
        # qty of each order id, from its first buy invocation (reversed: the first one wins)
        qty_by_order = dict(zip(reversed(history.buy_order), reversed(buys.amount), strict=True))
        persisted_count = len(persisted.ids)
        persisted_qty = sum(map(qty_by_order.__getitem__, filter(qty_by_order.__contains__, persisted.ids)))
        orders_without_qty = sorted(map(str, persisted.unique.difference(qty_by_order)))
        restocked = sum(q for q, ret in zip(restocks.amount, restocks.ret, strict=True) if ret != FOREVER)
        maybe_restocked = sum(
            q
            for q, call, ret in zip(restocks.amount, restocks.call, restocks.ret, strict=True)
            if ret == FOREVER and call <= read_ret
        )
        # Persisted, yet possibly applied after the read: only unknown buys can still be running then.
        after_read = 0
        if not final_ret < read.call:
            late = {
                history.buy_order[i]
                for i in _positions(map(FOREVER.__eq__, buys.ret))
                if history.buy_order[i] in persisted.unique and buys.call[i] <= final_ret
            }
            after_read = sum(qty_by_order[oid] * persisted.count(oid) for oid in late)
        # Not persisted, yet possibly applied after the orders snapshot and before the read.
        after_orders = 0
        if not read_ret < final.call:
            after_orders = sum(
                qty
                for order, effect, call, ret, qty in zip(
                    history.buy_order, history.buy_effect, buys.call, buys.ret, buys.amount, strict=True
                )
                if effect != NO_EFFECT
                and order not in persisted.unique
                and not ret < final.call
                and call <= read_ret
            )
        low = self.initial + restocked - persisted_qty - after_orders
        high = self.initial + restocked + maybe_restocked - persisted_qty + after_read
        if low <= stock <= high:
            return []
        expected = str(low) if low == high else f"{low}..{high}"
        basis = (
            f"initial {self.initial} + restocked {restocked}"
            + (f" (+ up to {maybe_restocked} unknown)" if maybe_restocked else "")
            + f" - {persisted_qty} in {persisted_count} persisted orders"
        )
        if stock < low:
            kind, units = STOCK_LEAK, low - stock
            what = "leaked (neither in stock nor sold)"
        else:
            kind, units = STOCK_CREATED, stock - high
            what = "created (in stock though sold, or never restocked)"
        proof = _Proof().add(_op_events(read)).add(self.reset_events).add(_op_events(final))
        proof.add(map(_ack_event, restocks.ops), total=len(restocks.ops))
        return [
            proof.finding(
                kind,
                self.item,
                f"{self.item}: quiescent {_read_name(read)} returned {stock}, expected {expected} ({basis}): "
                f"{_units(units)} {what}",
                {
                    "read": stock,
                    "units": units,
                    "expected_low": low,
                    "expected_high": high,
                    "initial": self.initial,
                    "restocked": restocked,
                    "maybe_restocked": maybe_restocked,
                    "persisted_orders": persisted_count,
                    "persisted_qty": persisted_qty,
                    "maybe_after_read_qty": after_read,
                    "maybe_after_orders_qty": after_orders,
                    "orders_without_qty": orders_without_qty,
                },
            )
        ]


class _Persisted:
    """The final `orders` read: its ids in order (repeats kept), as a set, and counts when some repeat."""

    def __init__(self, op: Operation) -> None:
        self.op = op
        self.ids = _order_keys(op.output["orders"])
        self.unique = set(self.ids)
        self.counts = Counter(self.ids) if len(self.unique) < len(self.ids) else None

    def count(self, oid: Any) -> int:
        if self.counts is None:
            return 1 if oid in self.unique else 0
        return self.counts[oid]

    def repeated(self) -> set[Any]:
        return set() if self.counts is None else {oid for oid, n in self.counts.items() if n > 1}


def _order_keys_of(buys: list[Operation]) -> list[Any]:
    return _order_keys([op.input.get("order") for op in buys])
