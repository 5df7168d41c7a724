"""The search-free stock checkers: each finding, its near misses, quiescence and equal timestamps.

Histories are written inline with small builders (times in arbitrary integer units; an op that
returns at t and one invoked at t are concurrent). The example files are checked against
histories/expected-verdicts.json, and an exhaustive linearizability search (small enough here) confirms their verdicts.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest

from checkers.history import Event, HistoryError, Operation, pair_operations
from checkers.result import Finding
from checkers.stock_checker import (
    DUPLICATE_ORDER,
    FINDING_KINDS,
    LOST_ORDER,
    MAX_PROOF_EVENTS,
    NEGATIVE_READ,
    OVERSOLD,
    PHANTOM_ORDER,
    PHANTOM_READ,
    STALE_READ,
    STOCK_CREATED,
    STOCK_LEAK,
    check_stock,
    initial_stock,
)
from tests.paths import EXAMPLES

S = "sku-1"


# --- building histories -------------------------------------------------------------------------


@dataclass
class Spec:
    """One op to write: an invocation at `call`, a completion of type `status` at `ret` (none if None)."""

    process: int
    call: int
    ret: int | None
    f: str
    value: Any
    out: Any = None
    status: str = "ok"


def buy(
    p: int,
    call: int,
    ret: int | None,
    qty: int = 1,
    order: str | None = None,
    outcome: str = "sold",
    status: str = "ok",
    item: str = S,
) -> Spec:
    value = {"item": item, "qty": qty, "order": order or f"o-{p}-{call}"}
    return Spec(p, call, ret, "buy", value, {**value, "outcome": outcome} if status == "ok" else None, status)


def read(p: int, call: int, ret: int | None, stock: int, status: str = "ok", item: str = S) -> Spec:
    return Spec(
        p,
        call,
        ret,
        "read",
        {"item": item},
        {"item": item, "stock": stock} if status == "ok" else None,
        status,
    )


def restock(p: int, call: int, ret: int | None, qty: int, status: str = "ok", item: str = S) -> Spec:
    value = {"item": item, "qty": qty}
    return Spec(p, call, ret, "restock", value, value if status == "ok" else None, status)


def orders(p: int, call: int, ret: int, ids: list[str], item: str = S) -> Spec:
    return Spec(p, call, ret, "orders", {"item": item}, {"item": item, "orders": ids})


@dataclass
class History:
    events: list[Event]
    ops: list[Operation]
    by_spec: dict[int, Operation] = field(default_factory=dict)  # id(spec) -> op

    def op(self, spec: Spec) -> Operation:
        return self.by_spec[id(spec)]


def build(*specs: Spec, init: dict[str, int] | None = None) -> History:
    """Events sorted by time (a completion before an invocation at the same time), reset first."""
    init = {S: 5} if init is None else init
    raw: list[tuple[int, int, int, str, Any, str, int | str, Spec | None]] = [
        (0, 1, 0, "invoke", {"items": init}, "reset", 0, None),
        (1, 0, 1, "ok", {"items": init}, "reset", 0, None),
    ]
    for n, s in enumerate(specs, start=1):
        raw.append((s.call, 1, 2 * n, "invoke", s.value, s.f, s.process, s))
        if s.ret is not None:
            phase = 2 if s.ret == s.call else 0  # a zero-length op still completes after its invocation
            raw.append(
                (
                    s.ret,
                    phase,
                    2 * n + 1,
                    s.status,
                    s.out if s.status == "ok" else s.value,
                    s.f,
                    s.process,
                    None,
                )
            )
    raw.sort(key=lambda r: (r[0], r[1], r[2]))
    events = [
        Event(index=i, time=t, type=typ, process=p, f=f, value=v, line=i + 1)
        for i, (t, _, _, typ, v, f, p, _s) in enumerate(raw)
    ]
    ops = pair_operations(events)
    by_invoke = {op.invoke_index: op for op in ops}
    by_spec = {id(r[7]): by_invoke[i] for i, r in enumerate(raw) if r[7] is not None}
    return History(events, ops, by_spec)


def check(h: History, init: dict[str, int] | None = None) -> list[Finding]:
    return check_stock(h.ops, initial_stock(h.events) if init is None else init)


def kinds(findings: list[Finding]) -> list[str]:
    return [f.kind for f in findings]


def only(findings: list[Finding], kind: str) -> Finding:
    assert kinds(findings) == [kind], [(f.kind, f.message) for f in findings]
    return findings[0]


def of_kind(findings: list[Finding], kind: str) -> Finding:
    """The one finding of `kind` (a quiescent read above every bound is also a stale read, say)."""
    matching = [f for f in findings if f.kind == kind]
    assert len(matching) == 1, [(f.kind, f.message) for f in findings]
    return matching[0]


# --- oversold -----------------------------------------------------------------------------------


def test_oversold_names_reset_restocks_and_acks_up_to_the_crossing() -> None:
    r = restock(9, 2, None, 1, status="info")
    b1, b2, b3 = buy(1, 10, 20), buy(2, 11, 21), buy(3, 12, 22)
    b4, b5 = buy(1, 30, 31), buy(2, 40, 41)
    h = build(r, b1, b2, b3, b4, b5, init={S: 2})
    f = only(check(h), OVERSOLD)
    assert f.item == S
    # the earliest crossing: the fourth acknowledgement, when 4 units were sold out of at most 3
    assert f.details["sold"] == 4 and f.details["available"] == 3 and f.details["oversold_by"] == 1
    assert f.details["max_oversold_by"] == 2  # after the fifth
    crossing = h.op(b4).complete_index
    assert f.details["crossing_event"] == crossing and f.details["sold_at_crossing"] == 4
    acks = [h.op(b).complete_index for b in (b1, b2, b3, b4)]
    assert f.events == sorted([1, h.op(r).invoke_index, *acks])
    assert h.op(b5).complete_index not in f.events
    assert (
        f"when the sale at event {crossing} was acknowledged, 4 units had been acknowledged sold" in f.message
    )
    assert (
        "at most 3 could have been available (initial 2 + 1 restocked by the 1 restock invoked" in f.message
    )
    assert "oversold by 1 at that moment, by up to 2 later" in f.message


def test_oversold_near_miss_unknown_restock_may_have_happened() -> None:
    h = build(
        restock(9, 2, None, 1, status="info"), buy(1, 10, 20), buy(2, 11, 21), buy(3, 12, 22), init={S: 2}
    )
    assert check(h) == []


def test_oversold_failed_restock_does_not_count() -> None:
    h = build(restock(9, 2, 3, 1, status="fail"), buy(1, 10, 20), buy(2, 11, 21), buy(3, 12, 22), init={S: 2})
    assert only(check(h), OVERSOLD).details["available"] == 2


def test_oversold_counts_a_retried_order_id_once() -> None:
    first = buy(1, 10, 12, order="o-1")
    retry = buy(2, 13, 15, order="o-1")
    h = build(first, retry, buy(3, 20, 22, order="o-2"), init={S: 2})
    assert check(h) == []


def test_oversold_counts_qty_and_ignores_sold_out_and_unknown_buys() -> None:
    h = build(
        buy(1, 10, 12, qty=3),
        buy(2, 11, 13, qty=2, outcome="sold_out"),
        buy(3, 14, None, qty=2),
        buy(4, 20, 22, qty=2),
        init={S: 4},
    )
    f = only(check(h), OVERSOLD)
    assert (f.details["sold"], f.details["available"]) == (5, 4)


def test_oversold_at_a_moment_though_a_later_restock_covers_the_total() -> None:
    # 3 sales acknowledged by 22 from 2 units; the restock of 5 is invoked only at 30. The run's
    # total (3 sold of 2 + 5) is fine, but at 22 no execution had more than 2 units to sell.
    b1, b2, b3 = buy(1, 10, 20), buy(2, 11, 21), buy(3, 12, 22)
    late = restock(9, 30, 31, 5)
    h = build(b1, b2, b3, late, buy(4, 40, 41), init={S: 2})
    f = only(check(h), OVERSOLD)
    assert (f.details["sold"], f.details["available"], f.details["restocked"]) == (3, 2, 0)
    assert f.details["crossing_event"] == h.op(b3).complete_index
    assert f.details["crossing_time"] == 22 and f.details["sales"] == 3 and f.details["restocks"] == 0
    assert f.events == sorted([1, *(h.op(b).complete_index for b in (b1, b2, b3))])
    assert h.op(late).invoke_index not in f.events
    assert "initial 2 + 0 restocked by the 0 restocks invoked by then" in f.message


def test_oversold_at_a_moment_near_miss_restock_invoked_before_the_sale_returned() -> None:
    # The restock is invoked at 15, before the third sale returns (22), and returns long after:
    # it may have taken effect in between, so 3 of 2 + 5 is fine at every moment.
    for status, ret in (("ok", 40), ("info", None)):
        h = build(
            restock(9, 15, ret, 5, status=status), buy(1, 10, 20), buy(2, 11, 21), buy(3, 12, 22), init={S: 2}
        )
        assert check(h) == []


def test_oversold_at_a_moment_restock_invoked_as_the_sale_returns_is_concurrent() -> None:
    h = build(buy(1, 10, 20), buy(2, 11, 22), restock(9, 22, 30, 1), init={S: 1})
    assert check(h) == []
    h = build(buy(1, 10, 20), buy(2, 11, 22), restock(9, 23, 30, 1), init={S: 1})
    assert only(check(h), OVERSOLD).details["crossing_time"] == 22


def test_oversold_at_a_moment_counts_acknowledgements_returning_together() -> None:
    b1, b2 = buy(1, 10, 20), buy(2, 11, 20)
    h = build(b1, b2, init={S: 1})
    f = only(check(h), OVERSOLD)
    assert f.details["sold"] == 2 and f.details["sales"] == 2
    assert {h.op(b1).complete_index, h.op(b2).complete_index} <= set(f.events)


def test_oversold_in_total_counts_persisted_orders_of_unknown_buys() -> None:
    # 1 unit acknowledged; two buys time out (one never returns) but both orders are persisted:
    # 3 units sold in all, with at most 2 ever available.
    acked = buy(1, 10, 20, order="o-1")
    timed_out = buy(2, 11, 30, order="o-2", status="info")
    lost = buy(3, 12, None, order="o-3")
    final = orders(0, 100, 101, ["o-1", "o-2", "o-3"])
    h = build(acked, timed_out, lost, final, init={S: 2})
    f = only(check(h), OVERSOLD)
    assert (f.details["sold"], f.details["available"], f.details["oversold_by"]) == (3, 2, 1)
    assert f.details["acknowledged"] == 1 and f.details["persisted_unknown"] == 2
    assert f.details["persisted_unknown_orders"] == ["o-2", "o-3"]
    expected = {1, h.op(final).invoke_index, h.op(final).complete_index, h.op(acked).complete_index}
    expected |= {h.op(timed_out).invoke_index, h.op(timed_out).complete_index, h.op(lost).invoke_index}
    assert set(f.events) == expected
    assert "3 units sold in all (1 acknowledged sold in 1 sale + 2 in 2 orders persisted" in f.message
    assert "at most 2 were ever available (initial 2 + restocked 0" in f.message


def test_oversold_in_total_near_misses() -> None:
    # An unknown buy not persisted did not sell; an unknown restock may have happened.
    h = build(
        buy(1, 10, 20, order="o-1"),
        buy(2, 11, 30, order="o-2", status="info"),
        buy(3, 12, 30, order="o-3", status="info"),
        restock(9, 5, None, 1, status="info"),
        orders(0, 100, 101, ["o-1", "o-2"]),
        init={S: 1},
    )
    assert check(h) == []


def test_oversold_in_total_counts_no_phantom_or_repeated_order() -> None:
    # o-2 answered sold_out, o-3 was never requested: phantom orders, not sales. o-1 is persisted
    # twice and was acknowledged: one sale. o-4 was retried (twice unknown): one sale, its smaller qty.
    h = build(
        buy(1, 10, 20, order="o-1"),
        buy(2, 11, 21, order="o-2", outcome="sold_out"),
        buy(3, 12, 30, qty=2, order="o-4", status="info"),
        buy(4, 13, None, qty=1, order="o-4"),
        orders(0, 100, 101, ["o-1", "o-1", "o-2", "o-3", "o-4"]),
        init={S: 2},
    )
    assert sorted(kinds(check(h))) == [DUPLICATE_ORDER, PHANTOM_ORDER, PHANTOM_ORDER]
    h = build(
        buy(1, 10, 20, order="o-1"),
        buy(3, 12, 30, qty=2, order="o-4", status="info"),
        buy(4, 13, None, qty=2, order="o-4"),
        orders(0, 100, 101, ["o-1", "o-4"]),
        init={S: 2},
    )
    f = only(check(h), OVERSOLD)
    assert (f.details["sold"], f.details["persisted_unknown"]) == (3, 2)


def test_oversold_in_total_ignores_an_unknown_buy_invoked_after_the_orders_read() -> None:
    h = build(
        buy(1, 10, 20, order="o-1"),
        orders(0, 100, 101, ["o-1", "o-2"]),
        buy(2, 110, None, order="o-2"),
        init={S: 1},
    )
    assert kinds(check(h)) == [PHANTOM_ORDER]


def test_both_oversold_findings_when_each_has_its_own_evidence() -> None:
    h = build(
        buy(1, 10, 20, order="o-1"),
        buy(2, 11, 21, order="o-2"),
        buy(3, 12, None, order="o-3"),
        orders(0, 100, 101, ["o-1", "o-2", "o-3"]),
        init={S: 1},
    )
    found = check(h)
    assert kinds(found) == [OVERSOLD, OVERSOLD]
    assert found[0].details["sold"] == 2 and found[1].details["sold"] == 3


def test_proof_is_capped_and_says_how_many_more() -> None:
    specs = [buy(p, 10 * p, 10 * p + 5) for p in range(1, 301)]
    h = build(*specs, init={S: 250})
    f = only(check(h), OVERSOLD)
    # reset + the crossing (251st) ack + the 250 acks before it: 252 events, 100 named
    assert len(f.events) == MAX_PROOF_EVENTS
    assert f.details["more_events"] == 252 - MAX_PROOF_EVENTS
    assert 1 in f.events
    assert h.op(specs[250]).complete_index in f.events  # the crossing ack
    assert h.op(specs[249]).complete_index in f.events  # the acks nearest to it come first
    assert h.op(specs[0]).complete_index not in f.events
    assert h.op(specs[251]).complete_index not in f.events  # after the crossing: not part of the proof


# --- reads --------------------------------------------------------------------------------------


def test_negative_read() -> None:
    r = read(3, 20, 22, -1)
    h = build(buy(1, 10, 15), buy(2, 11, None), r, init={S: 1})
    f = only(check(h), NEGATIVE_READ)
    assert f.events == [h.op(r).invoke_index, h.op(r).complete_index]
    assert f.details == {"read": -1}


def test_stale_read_after_an_acknowledged_sale() -> None:
    b, r = buy(1, 10, 12, qty=2), read(2, 20, 22, 5)
    h = build(b, r)
    f = only(check(h), STALE_READ)
    assert f.details["most"] == 3 and f.details["above_by"] == 2
    assert set(f.events) == {1, h.op(b).complete_index, h.op(r).invoke_index, h.op(r).complete_index}


def test_stale_read_near_miss_concurrent_unknown_restock() -> None:
    # 5 - 2 = 3, yet a read of 6: stale unless the timed-out restock of 3 took effect before it.
    h = build(buy(1, 10, 12, qty=2), restock(3, 15, None, 3, status="info"), read(2, 20, 22, 6))
    assert check(h) == []
    h = build(buy(1, 10, 12, qty=2), restock(3, 15, 16, 3, status="fail"), read(2, 20, 22, 6))
    assert only(check(h), STALE_READ).details["most"] == 3


def test_stale_read_restock_invoked_after_the_read_cannot_explain_it() -> None:
    h = build(buy(1, 10, 12, qty=2), read(2, 20, 22, 6), restock(3, 23, None, 3, status="info"))
    assert only(check(h), STALE_READ).details["restocked_at_most"] == 0
    h = build(buy(1, 10, 12, qty=2), read(2, 20, 22, 6), restock(3, 22, None, 3, status="info"))
    assert check(h) == []  # invoked exactly when the read returned: concurrent


def test_stale_read_equal_timestamps_are_concurrent() -> None:
    # The sale is acknowledged at 12; a read invoked at 12 may still be ordered before it.
    assert check(build(buy(1, 10, 12), read(2, 12, 14, 5))) == []
    assert only(check(build(buy(1, 10, 12), read(2, 13, 14, 5))), STALE_READ).details["most"] == 4


def test_phantom_read_below_every_possible_sale() -> None:
    b, failed, r = buy(1, 10, 12), buy(2, 14, 16, qty=2, status="fail"), read(3, 20, 22, 0)
    h = build(b, failed, r, init={S: 3})
    f = only(check(h), PHANTOM_READ)
    assert f.details["least"] == 2 and f.details["sold_at_most"] == 1
    assert h.op(failed).invoke_index not in f.events
    assert {h.op(r).invoke_index, h.op(r).complete_index, 1} <= set(f.events)


def test_phantom_read_near_misses_unknown_and_concurrent_buys_may_have_sold() -> None:
    assert check(build(buy(1, 10, 12), buy(2, 14, None, qty=2), read(3, 20, 22, 0), init={S: 3})) == []
    assert check(build(buy(1, 10, 12), buy(2, 21, 30, qty=2), read(3, 20, 22, 0), init={S: 3})) == []
    # A sold_out answer took nothing.
    h = build(buy(1, 10, 12), buy(2, 14, 16, qty=2, outcome="sold_out"), read(3, 20, 22, 0), init={S: 3})
    assert kinds(check(h)) == [PHANTOM_READ]


def test_phantom_read_counts_only_restocks_acknowledged_before_the_read() -> None:
    # A restock acked at 10 and a read invoked at 10 are concurrent: a read of 0 is possible.
    assert check(build(restock(1, 5, 10, 5), read(2, 10, 12, 0), init={S: 0})) == []
    f = only(check(build(restock(1, 5, 10, 5), read(2, 11, 12, 0), init={S: 0})), PHANTOM_READ)
    assert f.details["restocked_before"] == 5


def test_reads_of_other_items_and_unknown_reads_are_ignored() -> None:
    h = build(
        buy(1, 10, 12, item="sku-2"),
        read(2, 20, 22, 5),
        read(3, 20, None, 99, status="info"),
        init={S: 5, "sku-2": 1},
    )
    assert check(h) == []


# --- orders -------------------------------------------------------------------------------------


def test_lost_order() -> None:
    b1, b2, o = buy(1, 10, 12, order="o-1"), buy(2, 11, 14, order="o-2"), orders(1, 20, 21, ["o-1"])
    h = build(b1, b2, o)
    f = only(check(h), LOST_ORDER)
    assert f.details == {"order": "o-2", "qty": 1}
    assert f.events == sorted(
        [h.op(b2).invoke_index, h.op(b2).complete_index, h.op(o).invoke_index, h.op(o).complete_index]
    )


def test_lost_order_near_miss_sale_acknowledged_during_the_orders_read() -> None:
    assert check(build(buy(1, 10, 25, order="o-1"), orders(2, 20, 30, []))) == []
    assert check(build(buy(1, 10, 20, order="o-1"), orders(2, 20, 30, []))) == []  # equal: concurrent
    assert kinds(check(build(buy(1, 10, 19, order="o-1"), orders(2, 20, 30, [])))) == [LOST_ORDER]


def test_lost_order_not_for_unknown_or_sold_out_buys() -> None:
    h = build(
        buy(1, 10, None, order="o-1"),
        buy(2, 11, 12, qty=9, order="o-2", outcome="sold_out"),
        orders(3, 20, 21, []),
    )
    assert check(h) == []


def test_phantom_orders_sold_out_failed_and_never_requested() -> None:
    h = build(
        buy(1, 10, 12, order="o-1"),
        buy(2, 14, 16, qty=9, order="o-2", outcome="sold_out"),
        buy(3, 18, 20, order="o-3", status="fail"),
        orders(1, 30, 31, ["o-1", "o-2", "o-3", "o-9"]),
    )
    found = check(h)
    assert kinds(found) == [PHANTOM_ORDER] * 3
    by_order = {f.details["order"]: f for f in found}
    assert by_order["o-2"].details["buy_answers"] == ["sold_out"]
    assert by_order["o-3"].details["buy_answers"] == ["fail"]
    assert by_order["o-9"].details["buys"] == 0 and "no buy requested it" in by_order["o-9"].message


def test_phantom_order_near_misses() -> None:
    # An unknown buy may have sold; a retried id with one failure and one sale is fine.
    h = build(
        buy(1, 10, None, order="o-1"),
        buy(2, 11, 12, order="o-2", status="fail"),
        buy(3, 13, 15, order="o-2"),
        orders(4, 30, 31, ["o-1", "o-2"]),
    )
    assert check(h) == []


def test_phantom_order_buy_invoked_after_the_orders_read_cannot_explain_it() -> None:
    h = build(orders(4, 10, 11, ["o-1"]), buy(1, 12, None, order="o-1"))
    assert kinds(check(h)) == [PHANTOM_ORDER]
    assert check(build(orders(4, 10, 11, ["o-1"]), buy(1, 11, None, order="o-1"))) == []


def test_duplicate_order() -> None:
    h = build(
        buy(1, 10, 12, order="o-1"), buy(2, 11, 14, order="o-2"), orders(1, 20, 21, ["o-1", "o-2", "o-1"])
    )
    f = only(check(h), DUPLICATE_ORDER)
    assert f.details == {"order": "o-1", "count": 2}


def test_the_last_orders_read_is_the_final_one() -> None:
    h = build(buy(1, 10, 12, order="o-1"), orders(2, 5, 6, []), orders(2, 20, 21, ["o-1"]))
    assert check(h) == []


# --- quiescence: stock-leak / stock-created -----------------------------------------------------


def test_stock_leak_timed_out_buy_took_a_unit_without_its_order() -> None:
    r, o = read(1, 40, 41, 2), orders(1, 50, 51, ["o-1"])
    h = build(buy(1, 10, 12, qty=2, order="o-1"), buy(2, 14, 30, order="o-2", status="info"), r, o)
    f = only(check(h), STOCK_LEAK)
    assert (f.details["expected_low"], f.details["expected_high"], f.details["units"]) == (3, 3, 1)
    assert {h.op(r).invoke_index, h.op(r).complete_index, h.op(o).complete_index, 1} <= set(f.events)
    assert "1 unit leaked" in f.message


def test_stock_leak_near_miss_orders_read_first_the_buy_may_land_between() -> None:
    # Orders snapshot first: the timed-out o-2 may have sold after it and before the read.
    h = build(
        buy(1, 10, 12, qty=2, order="o-1"),
        buy(2, 14, 30, order="o-2", status="info"),
        orders(1, 40, 41, ["o-1"]),
        read(1, 50, 51, 2),
    )
    assert check(h) == []


def test_stock_created_order_kept_but_unit_came_back() -> None:
    h = build(
        buy(1, 10, 12, order="o-1"),
        buy(2, 14, 30, order="o-2", status="info"),
        orders(1, 40, 41, ["o-1", "o-2"]),
        read(1, 50, 51, 2),
        init={S: 3},
    )
    f = only(check(h), STOCK_CREATED)
    assert (f.details["expected_high"], f.details["units"]) == (1, 1)


def test_stock_created_near_miss_read_first_the_buy_may_land_between() -> None:
    h = build(
        buy(1, 10, 12, order="o-1"),
        buy(2, 14, 30, order="o-2", status="info"),
        read(1, 40, 41, 2),
        orders(1, 50, 51, ["o-1", "o-2"]),
        init={S: 3},
    )
    assert check(h) == []


def test_quiescence_with_unknown_restock_is_a_range() -> None:
    def hist(stock: int) -> History:
        return build(
            buy(1, 10, 12, order="o-1"),
            restock(2, 11, None, 4, status="info"),
            read(1, 40, 41, stock),
            orders(1, 50, 51, ["o-1"]),
        )

    for stock in (4, 6, 8):
        assert check(hist(stock)) == [], stock
    f = of_kind(check(hist(9)), STOCK_CREATED)
    assert (f.details["expected_low"], f.details["expected_high"], f.details["maybe_restocked"]) == (4, 8, 4)
    assert "expected 4..8" in f.message
    assert of_kind(check(hist(3)), STOCK_LEAK).details["units"] == 1


def test_no_quiescent_read_no_finding() -> None:
    # The read overlaps the last sale: not quiescent, so its 5 is not compared with the 4 expected.
    h = build(buy(1, 10, 42, order="o-1"), read(2, 40, 41, 5), orders(1, 50, 51, ["o-1"]))
    assert check(h) == []


def test_quiescent_read_must_start_strictly_after_the_last_return() -> None:
    # The timed-out o-2 was not persisted and the read comes before the orders read, so a
    # quiescent read must see 5 - 1 = 4; a read concurrent with o-1 may see 3 (o-2 might have sold).
    def hist(read_call: int) -> History:
        return build(
            buy(1, 10, 40, order="o-1"),
            buy(2, 11, None, order="o-2", status="info"),
            read(3, read_call, 45, 3),
            orders(1, 50, 51, ["o-1"]),
        )

    assert check(hist(40)) == []  # invoked when the sale returned: concurrent
    assert only(check(hist(41)), STOCK_LEAK).details["units"] == 1


def test_the_last_quiescent_read_is_compared() -> None:
    h = build(buy(1, 10, 12, order="o-1"), read(2, 20, 21, 0), read(2, 30, 31, 4), orders(1, 50, 51, ["o-1"]))
    found = check(h)
    assert kinds(found) == [PHANTOM_READ]  # the read of 0 is wrong, but not the last quiescent one


def test_failed_ops_neither_count_nor_block_quiescence() -> None:
    h = build(
        buy(1, 10, 12, order="o-1"),
        restock(2, 20, 60, 3, status="fail"),
        buy(3, 30, 60, status="fail"),
        read(1, 40, 41, 4),
        orders(1, 50, 51, ["o-1"]),
    )
    assert check(h) == []
    h = build(
        buy(1, 10, 12, order="o-1"),
        restock(2, 20, 60, 3, status="fail"),
        read(1, 40, 41, 7),
        orders(1, 50, 51, ["o-1"]),
    )
    assert of_kind(check(h), STOCK_CREATED).details["units"] == 3


def test_no_orders_read_no_order_or_quiescence_finding() -> None:
    assert check(build(buy(1, 10, 12), read(1, 20, 21, 4), buy(2, 30, None, status="info"))) == []


def test_quiescence_counts_qty_of_persisted_orders_and_restocks() -> None:
    h = build(
        buy(1, 10, 12, qty=3, order="o-1"),
        restock(2, 13, 14, 5),
        buy(1, 15, 17, qty=2, order="o-2"),
        read(1, 20, 21, 4),
        orders(1, 30, 31, ["o-1", "o-2"]),
        init={S: 4},
    )
    assert check(h) == []


# --- initial stock ------------------------------------------------------------------------------


def ev(i: int, typ: str, f: str, value: Any, process: int | str = 0) -> Event:
    return Event(index=i, time=i, type=typ, process=process, f=f, value=value, line=i + 1)


def test_initial_stock_from_first_ok_reset() -> None:
    events = [
        ev(0, "invoke", "reset", {"items": {S: 1}}),
        ev(1, "fail", "reset", None),
        ev(2, "invoke", "reset", {"items": {S: 2}}),
        ev(3, "ok", "reset", {"items": {S: 2, "sku-2": 0}}),
        ev(4, "invoke", "reset", {"items": {S: 3}}),
        ev(5, "ok", "reset", {"items": {S: 3}}),
    ]
    assert initial_stock(events) == {S: 2, "sku-2": 0}


def test_initial_stock_falls_back_to_the_invocation_value() -> None:
    events = [ev(0, "invoke", "reset", {"items": {S: 7}}), ev(1, "ok", "reset", None)]
    assert initial_stock(events) == {S: 7}


def test_initial_stock_absent_or_malformed() -> None:
    assert (
        initial_stock([ev(0, "invoke", "read", {"item": S}), ev(1, "ok", "read", {"item": S, "stock": 1})])
        is None
    )
    with pytest.raises(HistoryError) as e:
        initial_stock(
            [ev(0, "invoke", "reset", {"items": {S: "5"}}), ev(1, "ok", "reset", {"items": {S: "5"}})],
            file="h.jsonl",
        )
    assert str(e.value).startswith("h.jsonl:2: ")


# --- example files ------------------------------------------------------------------------------


EXPECTED: dict[str, dict[str, Any]] = json.loads((EXAMPLES.parent / "expected-verdicts.json").read_text())


def load_events(name: str) -> list[Event]:
    """Prefer the project's loader; a tiny JSONL reader stands in if it is missing."""
    try:
        from checkers.formats import load_history
    except ImportError:
        lines = (EXAMPLES / name).read_text().splitlines()
        return [
            Event(
                index=d["index"],
                time=d["time"],
                type=d["type"],
                process=d["process"],
                f=d["f"],
                value=d.get("value"),
                node=d.get("node"),
                error=d.get("error"),
                line=n,
            )
            for n, d in ((n, json.loads(line)) for n, line in enumerate(lines, 1) if line.strip())
        ]
    return load_history(str(EXAMPLES / name)).events


def test_expected_json_lists_every_example_and_the_readme_describes_each() -> None:
    files = sorted(p.name for p in EXAMPLES.glob("*.jsonl"))
    assert sorted(EXPECTED) == files
    readme = (EXAMPLES.parent / "README.md").read_text()
    for name in files:
        assert f"`{name}`" in readme, name
    covered = {k for want in EXPECTED.values() for k in want["findings"]}
    assert covered == set(FINDING_KINDS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_findings_and_verdict(name: str) -> None:
    events = load_events(name)
    assert events[0].f == "reset" and events[0].process == 0
    assert 8 <= len(events) <= 40
    ops = pair_operations(events, name)
    init = initial_stock(events)
    assert init is not None
    found = check_stock(ops, init)
    want = EXPECTED[name]
    assert sorted(set(kinds(found))) == sorted(want["findings"])
    for f in found:
        assert f.events and set(f.events) <= {e.index for e in events}
        assert f.item == S
    assert want["valid"] is (not found and linearizable(ops, init))
    if name == "bad-not-linearizable.jsonl":
        assert not found and not linearizable(ops, init)


# --- soundness on generated valid histories -----------------------------------------------------


def linearizable(ops: list[Operation], init: dict[str, int]) -> bool:
    """Exhaustive search over linearization orders, per item (tiny histories only)."""
    items = sorted({op.input["item"] for op in ops if op.f in ("buy", "read", "restock")})
    return all(
        _item_linearizable(
            [
                op
                for op in ops
                if op.f in ("buy", "read", "restock") and op.input["item"] == item and op.status != "fail"
            ],
            init.get(item, 0),
        )
        for item in items
    )


def _item_linearizable(ops: list[Operation], initial: int) -> bool:
    must = frozenset(i for i, op in enumerate(ops) if op.status == "ok")

    def step(op: Operation, stock: int) -> int | None:
        qty = op.input.get("qty", 1)
        if op.f == "restock":
            return stock + qty
        if op.f == "read":
            return stock if op.unknown or op.output["stock"] == stock else None
        if op.unknown:
            return stock - qty if stock >= qty else stock
        if op.output["outcome"] == "sold":
            return stock - qty if stock >= qty else None
        return stock if stock < qty else None

    @cache
    def search(done: frozenset[int], stock: int) -> bool:
        if must <= done:
            return True
        for i, op in enumerate(ops):
            if i in done:
                continue
            # op can go next unless some op not yet placed returned before it was invoked
            if any(
                j not in done and j != i and ops[j].ret is not None and ops[j].ret < op.call for j in must
            ):
                continue
            after = step(op, stock)
            if after is not None and search(done | {i}, after):
                return True
        return False

    return search(frozenset(), initial)


def generate_valid(rnd: random.Random, n_ops: int, slots: int = 4, items: tuple[str, ...] = (S,)) -> History:
    """A correct service's history: each op takes effect at a point inside its interval (times on a
    coarse grid so returns and invocations often coincide); unknown ops took effect or not; every
    sale persists its order; ends with a quiescent read and an orders read per item."""
    stock = {item: rnd.randint(0, 6) for item in items}
    init = dict(stock)
    persisted: dict[str, list[str]] = {item: [] for item in items}
    specs: list[Spec] = []
    process = list(range(1, slots + 1))
    next_process = slots + 1
    step, half = 2, slots  # the ops of one slot are 2 * slots apart: at most touching, never overlapping
    for n in range(n_ops):
        slot = n % slots
        point = 10 + n * step
        call, ret = point - rnd.randint(0, half), point + rnd.randint(0, half)
        item = rnd.choice(items)
        p = process[slot]
        status = rnd.choices(["ok", "info", "fail"], [8, 1, 1])[0]
        kind = rnd.choices(["buy", "read", "restock"], [5, 4, 1])[0]
        applied = status == "ok" or (status == "info" and rnd.random() < 0.5)
        done_at = None if status == "info" and rnd.random() < 0.5 else ret
        if kind == "buy":
            qty, order = rnd.randint(1, 3), f"o-{n}"
            sold = stock[item] >= qty
            if applied and sold:
                stock[item] -= qty
                persisted[item].append(order)
            specs.append(buy(p, call, done_at, qty, order, "sold" if sold else "sold_out", status, item))
        elif kind == "read":
            specs.append(read(p, call, done_at, stock[item], status, item))
        else:
            qty = rnd.randint(1, 3)
            if applied:
                stock[item] += qty
            specs.append(restock(p, call, done_at, qty, status, item))
        if status == "info":
            process[slot], next_process = next_process, next_process + 1
    end = 10 + n_ops * step + 2 * half
    for k, item in enumerate(items):
        read_first = rnd.random() < 0.5
        t_read, t_orders = (end, end + 4) if read_first else (end + 4, end)
        specs.append(read(1000 + k, t_read, t_read + 2, stock[item], item=item))
        specs.append(orders(2000 + k, t_orders, t_orders + 2, persisted[item], item=item))
    return build(*specs, init=init)


def test_generated_valid_histories_have_no_findings() -> None:
    rnd = random.Random(20240611)
    for _ in range(300):
        h = generate_valid(
            rnd, rnd.randint(5, 40), slots=rnd.randint(1, 5), items=(S, "sku-2")[: rnd.randint(1, 2)]
        )
        found = check(h)
        assert found == [], [(f.kind, f.message) for f in found]


def test_generated_valid_histories_are_linearizable() -> None:
    """The generator itself is right (so the test above means something)."""
    rnd = random.Random(7)
    for _ in range(60):
        h = generate_valid(rnd, rnd.randint(3, 9), slots=rnd.randint(1, 3))
        assert linearizable(h.ops, initial_stock(h.events) or {})


def test_dropping_an_acknowledged_order_from_a_generated_history_is_caught() -> None:
    rnd = random.Random(11)
    caught = 0
    for _ in range(100):
        h = generate_valid(rnd, 30, slots=3)
        final = next(op for op in reversed(h.ops) if op.f == "orders")
        acked = {
            op.input["order"]
            for op in h.ops
            if op.f == "buy" and op.status == "ok" and op.output["outcome"] == "sold"
        }
        victim = next((oid for oid in final.output["orders"] if oid in acked), None)
        if victim is None:
            continue
        final.output = {**final.output, "orders": [oid for oid in final.output["orders"] if oid != victim]}
        found = check(h)
        assert LOST_ORDER in kinds(found) and of_kind(found, LOST_ORDER).details["order"] == victim
        caught += 1
    assert caught > 50


def test_a_large_valid_history_has_no_finding() -> None:
    """Speed is bench/'s (bench/scaling.py); here only that a big valid history stays clean."""
    rnd = random.Random(3)
    h = generate_valid(rnd, 40_000, slots=50, items=(S,))
    assert check(h) == []
