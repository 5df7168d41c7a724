"""Slow the link an instance uses inside its critical section, so its lock holders outlive the lease.

A lock with a TTL is only as safe as its holder is quick: when the dependency used while the
lock is held answers slowly, the lock expires under a holder that goes on to write what it read
before. A pause finds this by luck, when it lands in a window one round trip wide; this fault
makes every holder on the slowed instance outlive its lease. Latency on the replies
(downstream) only: each request still arrives at once, so a read is taken when it is asked and
its write lands one reply later.

Defaults: Redis replies 800 ms late, under the candidates' 1 s Redis read timeout (a longer
delay would only make the calls fail), so lock, read and write take 2.4 s, past the 1 s
lease. `link=postgres` with `latency_ms` above the TTL slows a Postgres call made while a Redis
lock is held (a strategy that writes its order between reading and writing the stock).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from harness.nemesis.config import TARGET_SEPARATOR, NemesisConfig, subset
from harness.nemesis.toxic_nemesis import ToxicFault


@dataclass(frozen=True, slots=True)
class SlowDependency(ToxicFault):
    """On a random subset of the instances (never all): a slowed holder breaks the lock only
    if quick holders elsewhere sell while it still holds what it read."""

    def plan(self, config: NemesisConfig, instances: list[str], rng: random.Random) -> tuple[str, dict[str, Any]]:
        params = config.fault_params(self.name, self.defaults)
        chosen = subset(instances, rng).split(TARGET_SEPARATOR)
        return TARGET_SEPARATOR.join(f"{i}:{params['link']}" for i in chosen), params


FAULTS = [
    SlowDependency(
        "slow-dependency", "latency",
        "slow one instance's replies from a dependency (link) past a lock's TTL: holders outlive their lease",
        lambda p: {"latency": int(p["latency_ms"]), "jitter": 0},
        {"latency_ms": 800, "link": "redis"},
        streams=("downstream",),
    ),
]  # fmt: skip
