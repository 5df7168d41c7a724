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

This module is the entry point; each family of findings is its own module in `checkers/stock/`
(`oversold`, `reads`, `orders`, `leaks`), and what they share (the per-item columns, the prefix-sum
timelines, the proof) is `checkers/stock/common.py`.
"""

from __future__ import annotations

from typing import Any

from checkers.history import INVOKE, NEMESIS, OK, Event, HistoryError, Operation
from checkers.result import Finding
from checkers.stock.common import (
    BUY,
    DUPLICATE_ORDER,
    FINDING_KINDS,
    FOREVER,
    LOST_ORDER,
    MAX_PROOF_EVENTS,
    MAYBE_SOLD,
    NEGATIVE_READ,
    NO_EFFECT,
    ORDERS,
    OVERSOLD,
    PHANTOM_ORDER,
    PHANTOM_READ,
    READ,
    RESET,
    RESTOCK,
    SOLD,
    SOLD_ACK,
    SOLD_OUT,
    STALE_READ,
    STOCK_CREATED,
    STOCK_LEAK,
    Item,
    first_reset_events,
    history_by_item,
    is_int,
)
from checkers.stock.leaks import quiescence_findings
from checkers.stock.orders import order_findings
from checkers.stock.oversold import oversold_at_a_moment, oversold_in_total
from checkers.stock.reads import read_findings

__all__ = [
    "BUY",
    "DUPLICATE_ORDER",
    "FINDING_KINDS",
    "FOREVER",
    "LOST_ORDER",
    "MAX_PROOF_EVENTS",
    "MAYBE_SOLD",
    "NEGATIVE_READ",
    "NO_EFFECT",
    "ORDERS",
    "OVERSOLD",
    "PHANTOM_ORDER",
    "PHANTOM_READ",
    "READ",
    "RESET",
    "RESTOCK",
    "SOLD",
    "SOLD_ACK",
    "SOLD_OUT",
    "STALE_READ",
    "STOCK_CREATED",
    "STOCK_LEAK",
    "check_item",
    "check_stock",
    "initial_stock",
]


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
        if not isinstance(items, dict) or not all(isinstance(k, str) and is_int(v) for k, v in items.items()):
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
      below / above initial + restocked - persisted orders' qty (a range, see `checkers.stock.leaks`).
    """
    reset_events = first_reset_events(ops)
    findings: list[Finding] = []
    for name, history in sorted(history_by_item(ops).items()):
        findings.extend(check_item(Item(name, init.get(name, 0), history, reset_events)))
    return findings


def check_item(item: Item) -> list[Finding]:
    """Every family on one item, in the order `check_stock` promises."""
    persisted = item.final_orders()
    findings = oversold_at_a_moment(item)
    if persisted is not None:
        findings.extend(oversold_in_total(item, persisted))
    findings.extend(read_findings(item))
    if persisted is not None:
        findings.extend(order_findings(item, persisted))
        findings.extend(quiescence_findings(item, persisted))
    return findings
