"""A seeded flash-sale workload: few items, small stock, many buyers, readers, restock rounds.

The generator only decides *what* to send; the runner decides when and records it. Each worker
draws from its own `random.Random` derived from the run seed, so a rerun with the same seed sends
the same operations per worker (the interleaving still depends on the system under test).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(slots=True)
class FlashSaleConfig:
    items: int = 3
    stock: int = 5
    concurrency: int = 30  # buyer workers
    readers: int = 3  # reader workers
    max_qty: int = 2
    restock_every_s: float = 3.0
    restock_qty: int = 5
    op_timeout_s: float = 1.0
    think_ms: float = 5.0  # pause between a worker's ops, so a few workers do not starve the rest

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def item_names(self) -> list[str]:
        return [f"sku-{i + 1}" for i in range(self.items)]

    def initial_stock(self) -> dict[str, int]:
        return {name: self.stock for name in self.item_names()}


def worker_rng(seed: int, worker: int) -> random.Random:
    """A stream per worker, independent of how many ops other workers managed to send."""
    return random.Random(f"oversell-{seed}-worker-{worker}")


class FlashSaleWorkload:
    def __init__(self, config: FlashSaleConfig, seed: int) -> None:
        self.config = config
        self.seed = seed
        self.items = config.item_names()

    def buy(self, rng: random.Random, worker: int, n: int) -> dict[str, Any]:
        """A buy with an order id unique in the run (idempotency keys must never collide)."""
        return {
            "item": rng.choice(self.items),
            "qty": rng.randint(1, max(1, self.config.max_qty)),
            "order": f"o{self.seed}-w{worker}-{n}",
        }

    def read(self, rng: random.Random) -> dict[str, Any]:
        return {"item": rng.choice(self.items)}

    def restock(self, item: str) -> dict[str, Any]:
        """One item's share of a restock round (every item is restocked at each round)."""
        return {"item": item, "qty": self.config.restock_qty}
