"""lost-order, phantom-order, duplicate-order: the buys against the final `orders` read."""

from __future__ import annotations

from itertools import chain, compress
from operator import and_, attrgetter
from typing import Any

from checkers.history import OK, Operation
from checkers.result import Finding
from checkers.stock.common import (
    DUPLICATE_ORDER,
    LOST_ORDER,
    NO_EFFECT,
    PHANTOM_ORDER,
    SOLD_OUT,
    Item,
    Persisted,
    Proof,
    op_events,
    order_keys_of,
    ret_of,
)


def order_findings(item: Item, persisted: Persisted) -> list[Finding]:
    """lost-order, phantom-order, duplicate-order against the final `orders` read."""
    final = persisted.op
    final_ret = ret_of(final)
    where = f"the orders read at events {final.invoke_index}-{final.complete_index}"
    orders_events = op_events(final)
    history = item.history
    buys, buy_order = history.buys, history.buy_order
    findings: list[Finding] = []
    acked = item.sold_acks.positions
    if not set(map(buy_order.__getitem__, acked)) <= persisted.unique:
        # A sale acknowledged while the orders read was running may land after its snapshot: not lost.
        lost = [
            i
            for i in acked
            if buy_order[i] not in persisted.unique and buy_order[i] is not None and buys.ret[i] < final.call
        ]
        for i in sorted(lost, key=lambda i: buys.ops[i].invoke_index):
            op = buys.ops[i]
            findings.append(
                Proof()
                .add(op_events(op))
                .add(orders_events)
                .finding(
                    LOST_ORDER,
                    item.name,
                    f"{item.name}: order {buy_order[i]!r} (qty {buys.amount[i]}) was acknowledged sold at "
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
        zip(buy_order, buys.ops, strict=True), zip(order_keys_of(failed), failed, strict=True)
    ):
        if order in suspects and op.call <= final_ret:
            requested.setdefault(order, []).append(op)
    for oid in (oid for oid in dict.fromkeys(persisted.ids) if oid in suspects):
        buy_ops = sorted(requested.get(oid, []), key=attrgetter("invoke_index"))
        buy_events = [i for op in buy_ops for i in op_events(op)]
        if oid not in explained:
            answers = sorted({SOLD_OUT if op.status == OK else op.status for op in buy_ops})
            why = f"its buy answered {' and '.join(answers)}" if buy_ops else "no buy requested it"
            findings.append(
                Proof()
                .add(orders_events)
                .add(buy_events)
                .finding(
                    PHANTOM_ORDER,
                    item.name,
                    f"{item.name}: order {oid!r} is persisted in {where} but {why}",
                    {"order": oid, "buy_answers": answers, "buys": len(buy_ops)},
                )
            )
        count = persisted.count(oid)
        if count > 1:
            findings.append(
                Proof()
                .add(orders_events)
                .add(buy_events)
                .finding(
                    DUPLICATE_ORDER,
                    item.name,
                    f"{item.name}: order {oid!r} is persisted {count} times in {where}",
                    {"order": oid, "count": count},
                )
            )
    return findings
