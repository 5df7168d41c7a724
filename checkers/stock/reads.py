"""negative-read, stale-read, phantom-read: each ok read against the bounds of its interval."""

from __future__ import annotations

from operator import gt, lt, or_, sub

from checkers.result import Finding
from checkers.stock.common import (
    FOREVER,
    NEGATIVE_READ,
    NO_EFFECT,
    PHANTOM_READ,
    STALE_READ,
    Item,
    Proof,
    Timeline,
    op_events,
    positions_of,
    read_name,
)


def read_findings(item: Item) -> list[Finding]:
    """negative-read, stale-read, phantom-read: each ok read against the bounds of its interval."""
    history, initial = item.history, item.initial
    reads, restocks, buys = history.reads, history.restocks, history.buys
    stocks = reads.amount
    restocks_may = Timeline(restocks, range(len(restocks.ops)), restocks.call)
    restocks_acked = Timeline(restocks, positions_of(map(FOREVER.__ne__, restocks.ret)), restocks.ret)
    may_sell = Timeline(buys, positions_of(map(NO_EFFECT.__ne__, history.buy_effect)), buys.call)
    # Most: every restock invoked by the read's return happened; only sales acked before its call did.
    n_restocks, restocked_most = restocks_may.units_at_or_before(reads.ret)
    n_sold, sold_least = item.sold_acks.units_before(reads.call)
    most = list(map(initial.__add__, map(sub, restocked_most, sold_least)))
    # Least: only restocks acked before its call happened; every sale that may have by its return did.
    n_restocked, restocked_least = restocks_acked.units_before(reads.call)
    n_may_sell, sold_most = may_sell.units_at_or_before(reads.ret)
    least = list(map(initial.__add__, map(sub, restocked_least, sold_most)))
    out_of_bounds = map(or_, map(gt, stocks, most), map(lt, stocks, least))
    flagged = positions_of(map(or_, out_of_bounds, map((0).__gt__, stocks)))
    findings: list[Finding] = []
    for i in sorted(flagged, key=lambda i: (reads.call[i], reads.ret[i])):
        read, stock = reads.ops[i], stocks[i]
        if stock < 0:
            findings.append(
                Proof()
                .add(op_events(read))
                .finding(
                    NEGATIVE_READ,
                    item.name,
                    f"{item.name}: {read_name(read)} returned {stock}: stock below zero",
                    {"read": stock},
                )
            )
        if stock > most[i]:
            proof = Proof().add(op_events(read)).add(item.reset_events)
            proof.add(item.sold_acks.ack_events(n_sold[i]), total=n_sold[i])
            proof.add(restocks_may.ack_events(n_restocks[i]), total=n_restocks[i])
            findings.append(
                proof.finding(
                    STALE_READ,
                    item.name,
                    f"{item.name}: {read_name(read)} returned {stock}, but at most {most[i]} could be in "
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
            proof = Proof().add(op_events(read)).add(item.reset_events)
            proof.add(restocks_acked.ack_events(n_restocked[i]), total=n_restocked[i])
            proof.add(may_sell.invoke_events(n_may_sell[i]), total=n_may_sell[i])
            findings.append(
                proof.finding(
                    PHANTOM_READ,
                    item.name,
                    f"{item.name}: {read_name(read)} returned {stock}, but at least {least[i]} must be in "
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
