"""oversold: more units acknowledged sold than could ever have been in stock.

Two findings, each with its own evidence: at a moment (the sales acknowledged by some time t
against the initial stock and the restocks invoked by t), and in total (adding the persisted
orders whose buys' outcome was unknown, against every ok or unknown restock).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from functools import partial
from operator import and_

from checkers.result import Finding
from checkers.stock.common import (
    MAYBE_SOLD,
    OVERSOLD,
    Item,
    Persisted,
    Proof,
    Timeline,
    ack_event,
    count_text,
    op_events,
    positions_of,
    ret_of,
    units_text,
)


def oversold_at_a_moment(item: Item) -> list[Finding]:
    """The earliest time t at which the sales acknowledged by t exceed initial + restocks invoked by t.

    Every sale acknowledged by t took effect by t; a restock invoked after t cannot have taken
    effect before t (one invoked at t is concurrent and may have), and stock never goes below 0,
    so no execution explains the excess. The sold total only steps up at an acknowledgement, so
    t ranges over the acknowledgements' returns. Those returns cut into runs that see the same
    restocks; within a run the first crossing is one bisect of the sold prefix sums, so this costs
    O(restocks x log sales) beyond the sorted acknowledgements.
    """
    acks = item.sold_acks
    if not acks.ops:
        return []
    restocks = item.history.restocks
    invoked = Timeline(restocks, range(len(restocks.ops)), restocks.call)
    # acks[starts[k]:starts[k + 1]] returned at or after the call of the k-th restock (by call), before the next's
    starts = [0, *map(partial(bisect_left, acks.times), invoked.times), len(acks.ops)]
    j = k = -1
    worst = 0
    for seen in range(len(starts) - 1):
        lo, hi = starts[seen], starts[seen + 1]
        if lo >= hi:
            continue
        available = item.initial + invoked.prefix[seen]
        worst = max(worst, acks.prefix[hi] - available)
        first = max(lo, bisect_right(acks.prefix, available) - 1)  # first ack whose running total passes
        if j < 0 and first < hi:
            j, k = first, seen
    if j < 0:
        return []
    sold, n_sold, restocked = acks.prefix[j + 1], j + 1, invoked.prefix[k]
    available = item.initial + restocked
    excess = sold - available
    crossed, at = acks.ops[j], acks.times[j]
    proof = Proof().add(item.reset_events).add([ack_event(crossed)])
    proof.add(invoked.invoke_events(k), total=k)
    proof.add(acks.ack_events(n_sold), total=n_sold)
    return [
        proof.finding(
            OVERSOLD,
            item.name,
            f"{item.name}: when the sale at event {crossed.complete_index} was acknowledged, "
            f"{units_text(sold)} had been acknowledged sold ({count_text(n_sold, 'sale')} returned by then), but at "
            f"most {available} could have been available (initial {item.initial} + {restocked} restocked by "
            f"the {count_text(k, 'restock')} invoked by then, ok or unknown): oversold by {excess} at that moment"
            + (f", by up to {worst} later" if worst > excess else ""),
            {
                "sold": sold,
                "available": available,
                "initial": item.initial,
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


def oversold_in_total(item: Item, persisted: Persisted) -> list[Finding]:
    """Units acknowledged sold, plus units of persisted orders whose buy's outcome was unknown,
    beyond initial + every restock that may have happened (ok or unknown).

    A persisted order is a sale (docs/protocol.md); only one whose buy may have sold (unknown, or
    an ok answer that is neither sold nor sold_out), invoked by the orders read's return, counts
    here, once per order id at its smallest qty. A persisted id that no such buy explains is a
    phantom-order finding, not a sale. Only raised when such orders exist: without them the total
    is the last acknowledgement's moment, which `oversold_at_a_moment` already covers.
    """
    history, buys = item.history, item.history.buys
    buy_order = history.buy_order
    final = persisted.op
    acked = set(map(buy_order.__getitem__, item.sold_acks.positions))
    unacked = persisted.unique - acked - {None}
    if not unacked:
        return []
    may_have_sold = map(MAYBE_SOLD.__eq__, history.buy_effect)
    invoked_in_time = map(ret_of(final).__ge__, buys.call)
    in_orders = map(unacked.__contains__, buy_order)
    positions = positions_of(map(and_, map(and_, may_have_sold, invoked_in_time), in_orders))
    if not positions:
        return []
    # one buy per order id, the one with the smallest qty (later dict entries win)
    positions.sort(key=buys.amount.__getitem__, reverse=True)
    by_order = dict(zip(map(buy_order.__getitem__, positions), positions, strict=True))
    counted = sorted(by_order.values(), key=buys.call.__getitem__)
    unknown_units = sum(map(buys.amount.__getitem__, counted))
    acked_units = item.sold_acks.prefix[-1]
    restocks = history.restocks
    restocked = sum(restocks.amount)
    limit = item.initial + restocked
    sold = acked_units + unknown_units
    if sold <= limit:
        return []
    proof = Proof().add(item.reset_events).add(op_events(final))
    proof.add((e for i in counted for e in op_events(buys.ops[i])), total=None)
    proof.add(map(ack_event, restocks.ops), total=len(restocks.ops))
    n_acks = len(item.sold_acks.ops)
    proof.add(item.sold_acks.ack_events(n_acks), total=n_acks)
    where = f"the orders read at events {final.invoke_index}-{final.complete_index}"
    return [
        proof.finding(
            OVERSOLD,
            item.name,
            f"{item.name}: {units_text(sold)} sold in all ({acked_units} acknowledged sold in {count_text(n_acks, 'sale')} + "
            f"{unknown_units} in {count_text(len(counted), 'order')} persisted in {where} whose buys' outcome was unknown), "
            f"but at most {limit} were ever available (initial {item.initial} + restocked {restocked}, every "
            f"ok or unknown restock): oversold by {sold - limit}",
            {
                "sold": sold,
                "available": limit,
                "initial": item.initial,
                "restocked": restocked,
                "oversold_by": sold - limit,
                "acknowledged": acked_units,
                "persisted_unknown": unknown_units,
                "persisted_unknown_orders": sorted(map(str, by_order))[:20],
                "orders_read_event": final.complete_index,
            },
        )
    ]
