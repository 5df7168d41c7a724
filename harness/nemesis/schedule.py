"""A seeded schedule of fault and heal windows, computed before the run starts.

Like Jepsen's interval nemesis: alternate a healed gap and a fault window, each of a length
drawn around a mean. The schedule is a plain value (saved in run.json) so a rerun with the
same seed and settings injects the same faults at the same offsets into the chaos window.

Pause windows are short and many: a pause only breaks a lease if it outlives the lease's TTL
(1 s by default in the candidates), and only if it catches a holder inside its read-check-write,
which lasts a millisecond or two. So each pause is drawn just over a typical TTL, and the more
of them there are, the more holders get caught. Like Jepsen's targeters, a pause stops a random
subset of the instances (at least one, never all: one keeps serving and selling), so several
holders can be caught at once and the others sell the units the frozen holders read.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

FAULTS = ("partition", "latency", "pause", "kill")
TARGET_CHOICES = ("instances", "one", "redis", "both")
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
    faults: list[str]
    fault_s: float = 4.0  # mean length of a partition, latency or kill window (drawn in 0.5-1.5 x)
    pause_s: float = 1.6  # mean length of a pause window (drawn in 0.75-1.25 x): just over a 1 s TTL
    heal_s: float = 1.0  # mean length of a healed gap between windows (drawn in 0.5-1.5 x)
    first_s: float = 1.0  # healed lead-in, so the history has a fault-free start
    latency_ms: int = 300
    jitter_ms: int = 150
    # "instances": a random non-empty subset of the instances, never all; "one": one instance;
    # "redis": Redis; "both": Redis or a subset of instances.
    pause_targets: str = "instances"
    kill_targets: str = "one"
    # "rush": a window starts at the first restock after its drawn offset (and after its healed
    # gap), in the buying rush when stock is on hand (a fault while everything is sold out
    # exercises nothing); "random": at the drawn offset.
    timing: str = "rush"
    rush_delay_ms: int = 20  # the start falls uniformly in [0, rush_delay_ms] after the restock

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _draw(rng: random.Random, mean: float, spread: float = 0.5) -> float:
    return round(rng.uniform((1 - spread) * mean, (1 + spread) * mean), 3)


def _subset(instances: list[str], rng: random.Random) -> str:
    """1..N-1 instances (Jepsen's random subset targeter without "all"); 1 when there is only one."""
    size = rng.randint(1, max(1, len(instances) - 1))
    return TARGET_SEPARATOR.join(sorted(rng.sample(instances, size), key=instances.index))


def _process_target(choice: str, instances: list[str], rng: random.Random) -> str:
    if choice not in TARGET_CHOICES:
        raise ValueError(f"nemesis targets {choice!r}: choose from {', '.join(TARGET_CHOICES)}")
    if choice == "one":
        return rng.choice(instances)
    if choice == "redis":
        return "redis"
    if choice == "both" and rng.randrange(len(instances) + 1) == 0:
        return "redis"
    return _subset(instances, rng)


def _targets(fault: str, config: NemesisConfig, instances: list[str], rng: random.Random) -> tuple[str, dict]:
    if fault == "partition":
        return f"{rng.choice(instances)}:{rng.choice(['redis', 'postgres'])}", {}
    if fault == "latency":
        params = {"latency_ms": config.latency_ms, "jitter_ms": config.jitter_ms}
        return f"{rng.choice(instances)}:{rng.choice(['redis', 'postgres'])}", params
    choice = config.pause_targets if fault == "pause" else config.kill_targets
    return _process_target(choice, instances, rng), {}


def _length(fault: str, config: NemesisConfig, rng: random.Random) -> float:
    return _draw(rng, config.pause_s, 0.25) if fault == "pause" else _draw(rng, config.fault_s)


def build_schedule(config: NemesisConfig, instances: list[str], chaos_s: float, seed: int) -> list[FaultWindow]:
    """Windows inside [0, chaos_s); each ends before the chaos window does (then everything heals)."""
    if config.timing not in ("rush", "random"):
        raise ValueError(f"nemesis timing {config.timing!r}: choose rush or random")
    faults = [f for f in config.faults if f != "none"]
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        raise ValueError(f"unknown nemesis {', '.join(unknown)}: choose from {', '.join(FAULTS)} or none")
    if not faults or not instances:
        return []
    rng = random.Random(f"oversell-nemesis-{seed}")
    windows: list[FaultWindow] = []
    t = config.first_s
    while True:
        fault = rng.choice(faults)
        length = _length(fault, config, rng)
        if t + length > chaos_s - 0.5:
            break
        target, params = _targets(fault, config, instances, rng)
        if config.timing == "rush":
            params = {**params, "rush_delay_ms": rng.randint(0, config.rush_delay_ms)}
        windows.append(FaultWindow(fault, target, round(t, 3), round(t + length, 3), params))
        t += length + _draw(rng, config.heal_s)
    return windows
