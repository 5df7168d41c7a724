"""Synthetic flash-sale histories that are valid by construction, for benchmarking checkers.

A real run cannot give a 1M-op history whose verdict is known in advance; this does. It
simulates one sequential stock per item and many concurrent processes: each op is invoked,
takes effect at one instant inside its [invoke, completion] interval (at the invoke or at the
completion), then completes. So the history is linearizable, and every stock checker must
find nothing. About `unknown_rate` of the buys and reads complete `info` (a timeout): the
process retires and a new process id takes its slot, as in Jepsen. Such a buy took effect
before its completion, takes effect some ops later, or never does, so checkers must consider
all three. Restocks always complete `ok`.

    python bench/flash_sale_history.py 1000000 /tmp/flash-1m.jsonl --seed 7
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
from collections.abc import Iterator
from typing import Any

import orjson

BUY_QTY_MAX = 2
READ_SHARE = 0.15  # of client ops that are not restocks
DELAY_MAX_TICKS = 400  # how long after its info completion a late buy may still take effect
TICK_NS_MAX = 50_000  # time between two consecutive history events (ns)
TAKE_EFFECT_AT_INVOKE = 0.5  # share of ops that take effect as they are invoked (the rest: at completion)


def item_names(items: int) -> list[str]:
    return [f"sku-{i + 1}" for i in range(items)]


class _Stock:
    """The sequential specification the simulated service follows: one counter per item."""

    def __init__(self, initial: dict[str, int]) -> None:
        self.level = dict(initial)
        self.orders: dict[str, list[str]] = {item: [] for item in initial}

    def apply(self, f: str, value: dict[str, Any]) -> dict[str, Any]:
        """Take the op's effect now and return its ok completion value."""
        item = value["item"]
        if f == "buy":
            qty = value["qty"]
            if self.level[item] >= qty:
                self.level[item] -= qty
                self.orders[item].append(value["order"])
                return {**value, "outcome": "sold"}
            return {**value, "outcome": "sold_out"}
        if f == "read":
            return {"item": item, "stock": self.level[item]}
        self.level[item] += value["qty"]  # restock
        return value


def generate(
    n_ops: int,
    processes: int = 50,
    unknown_rate: float = 0.05,
    seed: int = 0,
    items: int = 1,
    stock: int = 100,
    restock_every: int = 200,
    restock_qty: int = 150,
) -> Iterator[dict[str, Any]]:
    """Yield the events of a valid history: a reset, `n_ops` client ops, then final reads.

    Defaults give one hot item that sells out between restocks (demand is about 1.7x supply),
    so buys answer both `sold` and `sold_out`.
    """
    if n_ops < 0 or processes < 1 or not 0.0 <= unknown_rate <= 1.0 or items < 1:
        raise ValueError("need n_ops >= 0, processes >= 1, 0 <= unknown_rate <= 1, items >= 1")
    rng = random.Random(seed)
    rand = rng.random
    names = item_names(items)
    model = _Stock({name: stock for name in names})

    time = 0
    pid = list(range(processes))  # current process id of each slot (a worker thread)
    busy_f: list[str | None] = [None] * processes  # f of the slot's open op, None when idle
    busy_value: list[dict[str, Any] | None] = [None] * processes
    busy_result: list[dict[str, Any] | None] = [None] * processes  # set once it took effect
    delayed: list[tuple[int, int, dict[str, Any]]] = []  # heap of (tick due, seq, buy value)
    tick = 0
    invoked = 0
    in_flight = 0
    orders_made = 0
    restock_item = 0

    yield {
        "index": 0,
        "time": 0,
        "type": "invoke",
        "process": 0,
        "f": "reset",
        "value": {"items": dict(model.level)},
    }
    time += 1 + int(rand() * TICK_NS_MAX)
    yield {
        "index": 1,
        "time": time,
        "type": "ok",
        "process": 0,
        "f": "reset",
        "value": {"items": dict(model.level)},
    }
    index = 2

    while invoked < n_ops or in_flight:
        slot = int(rand() * processes)
        f = busy_f[slot]
        if f is None and invoked >= n_ops:
            continue
        tick += 1
        time += 1 + int(rand() * TICK_NS_MAX)
        while delayed and delayed[0][0] <= tick:
            model.apply("buy", heapq.heappop(delayed)[2])
        p = pid[slot]
        if f is None:
            invoked += 1
            if restock_every and invoked % restock_every == 0:
                f = "restock"
                value = {"item": names[restock_item % items], "qty": restock_qty}
                restock_item += 1
            else:
                item = names[int(rand() * items)] if items > 1 else names[0]
                if rand() < READ_SHARE:
                    f = "read"
                    value = {"item": item}
                else:
                    f = "buy"
                    orders_made += 1
                    value = {
                        "item": item,
                        "qty": 1 + int(rand() * BUY_QTY_MAX),
                        "order": f"o{seed}-{orders_made}",
                    }
            busy_f[slot] = f
            busy_value[slot] = value
            busy_result[slot] = model.apply(f, value) if rand() < TAKE_EFFECT_AT_INVOKE else None
            in_flight += 1
            yield {"index": index, "time": time, "type": "invoke", "process": p, "f": f, "value": value}
            index += 1
            continue
        value = busy_value[slot]
        result = busy_result[slot]
        busy_f[slot] = None
        in_flight -= 1
        if f != "restock" and rand() < unknown_rate:
            if result is None and f == "buy":
                fate = rand()
                if fate < 1 / 3:
                    model.apply(f, value)
                elif fate < 2 / 3:
                    heapq.heappush(delayed, (tick + 1 + int(rand() * DELAY_MAX_TICKS), index, value))
            pid[slot] = p + processes
            yield {
                "index": index,
                "time": time,
                "type": "info",
                "process": p,
                "f": f,
                "value": value,
                "error": "timeout",
            }
        else:
            if result is None:
                result = model.apply(f, value)
            yield {"index": index, "time": time, "type": "ok", "process": p, "f": f, "value": result}
        index += 1

    for _, _, value in sorted(delayed):
        model.apply("buy", value)
    p = pid[0]
    for f in ("read", "orders"):
        for name in names:
            time += 1 + int(rand() * TICK_NS_MAX)
            yield {
                "index": index,
                "time": time,
                "type": "invoke",
                "process": p,
                "f": f,
                "value": {"item": name},
            }
            time += 1 + int(rand() * TICK_NS_MAX)
            if f == "read":
                done = {"item": name, "stock": model.level[name]}
            else:
                done = {"item": name, "orders": model.orders[name]}
            yield {"index": index + 1, "time": time, "type": "ok", "process": p, "f": f, "value": done}
            index += 2


def write_jsonl(events: Iterator[dict[str, Any]], path: str, batch: int = 4096) -> int:
    """Write events one per line; returns how many. Batched so orjson, not I/O calls, dominates."""
    count = 0
    dumps = orjson.dumps
    with open(path, "wb") as out:
        buf: list[bytes] = []
        for ev in events:
            buf.append(dumps(ev))
            if len(buf) >= batch:
                out.write(b"\n".join(buf) + b"\n")
                count += len(buf)
                buf.clear()
        if buf:
            out.write(b"\n".join(buf) + b"\n")
            count += len(buf)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n_ops", type=int, help="client ops (besides the reset and the final reads)")
    parser.add_argument("out", help="output JSONL file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--processes", type=int, default=50)
    parser.add_argument("--unknown-rate", type=float, default=0.05)
    parser.add_argument("--items", type=int, default=1)
    parser.add_argument("--stock", type=int, default=100)
    parser.add_argument("--restock-every", type=int, default=200)
    parser.add_argument("--restock-qty", type=int, default=150)
    args = parser.parse_args(argv)
    n = write_jsonl(
        generate(
            args.n_ops,
            processes=args.processes,
            unknown_rate=args.unknown_rate,
            seed=args.seed,
            items=args.items,
            stock=args.stock,
            restock_every=args.restock_every,
            restock_qty=args.restock_qty,
        ),
        args.out,
    )
    print(f"{n} events -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
