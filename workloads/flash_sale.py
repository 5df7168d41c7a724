"""A seeded flash-sale workload: few items, small stock, many buyers, readers, restock rounds.

The generator says *what* to do and nothing else, as a Jepsen generator: from the seed and the
run's settings alone (no stack, no clock) it yields each logical process's operations, the
instance each goes to, and the think time after it. `harness/interpreter.py` does them. Each
worker draws from its own `random.Random` derived from the seed, so a rerun with the same seed
sends the same operations per worker (the interleaving still depends on the system under test).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.run_fields import opt

# An op's `instance` when it goes to any instance no fault touches (a back office's restock).
HEALTHY = -1


@dataclass(slots=True)
class FlashSaleConfig:
    items: int = field(default=3, metadata=opt(help="items on sale", ge=1))
    stock: int = field(default=5, metadata=opt(help="initial stock per item", ge=1))
    concurrency: int = field(default=30, metadata=opt(help="concurrent buyers", ge=1))
    readers: int = field(default=3, metadata=opt(help="concurrent stock readers", ge=0))
    max_qty: int = field(default=2, metadata=opt(help="a buy takes 1..max_qty units", ge=1))
    restock_every_s: float = field(default=3.0, metadata=opt("--restock-every", metavar="S",
                                   help="a restock round every S seconds (0: none)", ge=0))  # fmt: skip
    restock_qty: int = field(default=5, metadata=opt(help="units per item per restock round", ge=1))
    op_timeout_s: float = field(default=1.0, metadata=opt("--op-timeout", metavar="S", help="client timeout per op", gt=0))
    think_ms: float = field(default=5.0, metadata=opt(help="mean pause between a worker's ops", ge=0))
    drain_workers: int = field(default=10, metadata=opt(help="buyers of the drain (at most --concurrency)", ge=1))
    drain_seed_offset: int = field(default=7919, metadata=opt(help="the drain's random streams: seed + this"))
    drain_order_offset: int = field(default=1_000_000, metadata=opt(
        help="drain order ids start here, apart from the chaos's", ge=0))  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def item_names(self) -> list[str]:
        return [f"sku-{i + 1}" for i in range(self.items)]

    def initial_stock(self) -> dict[str, int]:
        return {name: self.stock for name in self.item_names()}


@dataclass(frozen=True, slots=True)
class Op:
    """One operation for a logical process: what, where, and when.

    instance: index of the instance to send it to, or HEALTHY for any one no fault touches,
    chosen as `pick` modulo how many there are then. at_s: not before this many seconds into
    the phase; an op whose time has already passed when its process gets to it is skipped (a
    round missed while the previous one was slow). think_s: the pause after it completes.
    """

    f: str
    value: dict[str, Any]
    instance: int = 0
    pick: int = 0
    at_s: float | None = None
    think_s: float = 0.0


def worker_rng(seed: int, worker: int) -> random.Random:
    """A stream per worker, independent of how many ops other workers managed to send."""
    return random.Random(f"oversell-{seed}-worker-{worker}")


class FlashSaleWorkload:
    """The operations of a run, per logical process. Workers: buyers, then readers, then one
    restocker per item (a round's restocks are concurrent)."""

    def __init__(self, config: FlashSaleConfig, seed: int, instances: int) -> None:
        self.config = config
        self.seed = seed
        self.instances = instances
        self.items = config.item_names()

    @property
    def workers(self) -> int:
        return self.config.concurrency + self.config.readers + self.config.items

    def buy(self, rng: random.Random, worker: int, n: int) -> dict[str, Any]:
        """A buy with an order id unique in the run (idempotency keys must never collide)."""
        return {
            "item": rng.choice(self.items),
            "qty": rng.randint(1, max(1, self.config.max_qty)),
            "order": f"o{self.seed}-w{worker}-{n}",
        }

    def _think(self, rng: random.Random) -> float:
        return rng.uniform(0, 2 * self.config.think_ms / 1000)

    def reset(self) -> Op:
        return Op("reset", {"items": self.config.initial_stock()})

    def buyer(self, worker: int) -> Iterator[Op]:
        """Buys through one instance, as a Jepsen worker is bound to its node: when that instance
        stalls, its buyers wait for it while the others keep selling."""
        rng = worker_rng(self.seed, worker)
        for n in itertools.count():
            value = self.buy(rng, worker, n)
            yield Op("buy", value, instance=worker % self.instances, think_s=self._think(rng))

    def reader(self, worker: int) -> Iterator[Op]:
        rng = worker_rng(self.seed, worker)
        while True:
            instance = rng.randrange(self.instances)
            value = {"item": rng.choice(self.items)}
            yield Op("read", value, instance=instance, think_s=self._think(rng))

    def restocker(self, worker: int, item: str) -> Iterator[Op]:
        """Restock one item every `restock_every_s`; every item's restocker ticks at the same
        instants, so a round's rushes overlap, and a slow restock of one item delays no other.

        A back office restocks through a healthy node, as a load balancer's health check would
        route it: a restock lost in a paused or cut-off instance is an unknown op that would widen
        every supply bound of the checker by its quantity and delay the rush it should start.
        """
        every = self.config.restock_every_s
        if every <= 0:
            return
        rng = worker_rng(self.seed, worker)
        for tick in itertools.count(1):
            yield Op("restock", {"item": item, "qty": self.config.restock_qty}, instance=HEALTHY,
                     pick=rng.randrange(2**31), at_s=tick * every)  # fmt: skip

    def chaos_streams(self) -> list[tuple[int, Iterator[Op]]]:
        """(worker, its ops) for every process of the chaos window."""
        c = self.config
        streams = [(w, self.buyer(w)) for w in range(c.concurrency)]
        streams += [(c.concurrency + i, self.reader(c.concurrency + i)) for i in range(c.readers)]
        first_restocker = c.concurrency + c.readers
        streams += [(first_restocker + i, self.restocker(first_restocker + i, item)) for i, item in enumerate(self.items)]
        return streams

    def final_reads(self) -> Iterator[Op]:
        """After quiescence: a stock read and the persisted orders of every item, on the first instance."""
        for item in self.items:
            yield Op("read", {"item": item})
            yield Op("orders", {"item": item})


class Drain:
    """The fault-free sell-out after healing, as a flash sale ends: every unit a fault created
    becomes an oversold unit, and every unit it lost shows as a leak. Its processes stop once each
    item has been answered sold out (`update` is told every completion)."""

    def __init__(self, workload: FlashSaleWorkload) -> None:
        self.workload = workload
        self.left = set(workload.items)

    @property
    def workers(self) -> list[int]:
        c = self.workload.config
        return list(range(min(c.concurrency, c.drain_workers)))

    def ops(self, worker: int) -> Iterator[Op]:
        w = self.workload
        rng = worker_rng(w.seed + w.config.drain_seed_offset, worker)
        for n in itertools.count(w.config.drain_order_offset):
            if not self.left:
                return
            item = rng.choice(sorted(self.left))
            instance = rng.randrange(w.instances)
            yield Op("buy", {"item": item, "qty": 1, "order": f"o{w.seed}-w{worker}-{n}"}, instance=instance)

    def update(self, op: Op, type: str, value: Any) -> None:
        if op.f == "buy" and type == "ok" and isinstance(value, dict) and value.get("outcome") == "sold_out":
            self.left.discard(op.value["item"])
