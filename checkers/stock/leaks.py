"""stock-leak / stock-created: the last quiescent read against what the persisted orders explain."""

from __future__ import annotations

from checkers.result import Finding
from checkers.stock.common import (
    FOREVER,
    NO_EFFECT,
    STOCK_CREATED,
    STOCK_LEAK,
    Item,
    Persisted,
    Proof,
    ack_event,
    op_events,
    positions_of,
    read_name,
    ret_of,
    units_text,
)


def quiescence_findings(item: Item, persisted: Persisted) -> list[Finding]:
    """stock-leak / stock-created: the last read after all known effects vs what the orders explain.

    Quiescent read: an ok read invoked after every buy and restock of the item returned (fail
    ops had no effect; unknown ops never return, so they widen the expected range instead).
    Expected stock = initial + restocked - qty of the persisted orders (each entry counts), widened
    by unknown restocks that may precede the read, and by buys that may fall between the read and
    the orders read in whichever order those two may have run.
    """
    history = item.history
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
    final_ret = ret_of(final)
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
            for i in positions_of(map(FOREVER.__eq__, buys.ret))
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
    low = item.initial + restocked - persisted_qty - after_orders
    high = item.initial + restocked + maybe_restocked - persisted_qty + after_read
    if low <= stock <= high:
        return []
    expected = str(low) if low == high else f"{low}..{high}"
    basis = (
        f"initial {item.initial} + restocked {restocked}"
        + (f" (+ up to {maybe_restocked} unknown)" if maybe_restocked else "")
        + f" - {persisted_qty} in {persisted_count} persisted orders"
    )
    if stock < low:
        kind, units = STOCK_LEAK, low - stock
        what = "leaked (neither in stock nor sold)"
    else:
        kind, units = STOCK_CREATED, stock - high
        what = "created (in stock though sold, or never restocked)"
    proof = Proof().add(op_events(read)).add(item.reset_events).add(op_events(final))
    proof.add(map(ack_event, restocks.ops), total=len(restocks.ops))
    return [
        proof.finding(
            kind,
            item.name,
            f"{item.name}: quiescent {read_name(read)} returned {stock}, expected {expected} ({basis}): "
            f"{units_text(units)} {what}",
            {
                "read": stock,
                "units": units,
                "expected_low": low,
                "expected_high": high,
                "initial": item.initial,
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
