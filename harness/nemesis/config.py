"""What the nemesis is told (`NemesisConfig`, part of the run value) and what it plans (`FaultWindow`).

Plain values: saved in run.json, so a rerun with the same seed injects the same faults at the
same offsets. The helpers here draw lengths and targets for the faults, as Jepsen's targeters do.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.run_fields import opt

TARGET_CHOICES = ("instances", "one", "redis", "both")
TIMINGS = ("rush", "random")
TARGET_SEPARATOR = ","  # several instances in one window: "n1,n3"


@dataclass(slots=True)
class FaultWindow:
    fault: str
    target: str  # instance name(s) ("n1", "n1,n3"), "redis", or "n1:redis" / "n1:postgres" for a link
    start_s: float
    end_s: float
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def targets(self) -> list[str]:
        return self.target.split(TARGET_SEPARATOR)


@dataclass(slots=True)
class NemesisConfig:
    faults: list[str] = field(
        default_factory=list,
        metadata=opt("--nemesis", kind="list", help="comma list of faults (oversell nemeses), or none"),
    )
    fault_s: float = field(default=4.0, metadata=opt(help="mean length of a non-pause fault window (drawn in 0.5-1.5 x)", gt=0))
    pause_s: float = field(default=1.6, metadata=opt(help="mean length of a pause window (drawn in 0.75-1.25 x): just over a 1 s TTL", gt=0))
    heal_s: float = field(default=1.0, metadata=opt(help="mean healed gap between fault windows (drawn in 0.5-1.5 x)", gt=0))
    first_s: float = field(default=1.0, metadata=opt(help="healed lead-in, so the history has a fault-free start", ge=0))
    pause_targets: str = field(
        default="instances",
        metadata=opt(choices=TARGET_CHOICES,
                     help="instances: a random subset (never all); one: one instance; redis; both: redis or a subset"),
    )  # fmt: skip
    kill_targets: str = field(default="one", metadata=opt(choices=TARGET_CHOICES))
    timing: str = field(
        default="rush",
        metadata=opt("--fault-timing", choices=TIMINGS,
                     help="rush: windows start in the buying rush after a restock round; random: anywhere"),
    )  # fmt: skip
    rush_delay_ms: int = field(default=20, metadata=opt(help="a rush window starts uniformly in [0, this] after the restock", ge=0))
    params: dict[str, dict[str, Any]] = field(
        default_factory=dict,
        metadata=opt("--fault-param", kind="fault-params", metavar="FAULT.KEY=VALUE",
                     help="a fault's parameter, e.g. latency.latency_ms=500 (oversell nemeses lists them)"),
    )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def fault_params(self, fault: str, defaults: dict[str, Any]) -> dict[str, Any]:
        """A fault's parameters: its defaults, overridden by `--fault-param FAULT.KEY=VALUE`."""
        return {**defaults, **self.params.get(fault, {})}


def draw(rng: random.Random, mean: float, spread: float = 0.5) -> float:
    return round(rng.uniform((1 - spread) * mean, (1 + spread) * mean), 3)


def subset(instances: list[str], rng: random.Random) -> str:
    """1..N-1 instances (Jepsen's random subset targeter without "all"); 1 when there is only one."""
    size = rng.randint(1, max(1, len(instances) - 1))
    return TARGET_SEPARATOR.join(sorted(rng.sample(instances, size), key=instances.index))


def process_target(choice: str, instances: list[str], rng: random.Random) -> str:
    if choice not in TARGET_CHOICES:
        raise ValueError(f"nemesis targets {choice!r}: choose from {', '.join(TARGET_CHOICES)}")
    if choice == "one":
        return rng.choice(instances)
    if choice == "redis":
        return "redis"
    if choice == "both" and rng.randrange(len(instances) + 1) == 0:
        return "redis"
    return subset(instances, rng)


def link_target(instances: list[str], rng: random.Random, links: tuple[str, ...] = ("redis", "postgres")) -> str:
    """One instance's link to one dependency: "n2:postgres"."""
    return f"{rng.choice(instances)}:{rng.choice(list(links))}"
