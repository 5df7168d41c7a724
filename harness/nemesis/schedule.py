"""A seeded schedule of fault and heal windows, computed before the run starts.

Like Jepsen's interval nemesis: alternate a healed gap and a fault window, each of a length
drawn around a mean. The schedule is a plain value (saved in run.json) so a rerun with the
same seed and settings injects the same faults at the same offsets into the chaos window.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

FAULTS = ("partition", "latency", "pause", "kill")


@dataclass(slots=True)
class FaultWindow:
    fault: str
    target: str  # an instance name ("n1"), "redis", or "n1:redis" / "n1:postgres" for a link
    start_s: float
    end_s: float
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class NemesisConfig:
    faults: list[str]
    fault_s: float = 4.0  # mean length of a fault window
    heal_s: float = 2.0  # mean length of a healed gap between windows
    first_s: float = 1.0  # healed lead-in, so the history has a fault-free start
    latency_ms: int = 300
    jitter_ms: int = 150
    pause_targets: str = "instances"  # "instances", "redis" or "both"
    kill_targets: str = "instances"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _draw(rng: random.Random, mean: float) -> float:
    return round(rng.uniform(0.5 * mean, 1.5 * mean), 3)


def _targets(fault: str, config: NemesisConfig, instances: list[str], rng: random.Random) -> tuple[str, dict]:
    if fault == "partition":
        return f"{rng.choice(instances)}:{rng.choice(['redis', 'postgres'])}", {}
    if fault == "latency":
        params = {"latency_ms": config.latency_ms, "jitter_ms": config.jitter_ms}
        return f"{rng.choice(instances)}:{rng.choice(['redis', 'postgres'])}", params
    choice = config.pause_targets if fault == "pause" else config.kill_targets
    pool = {"instances": instances, "redis": ["redis"], "both": [*instances, "redis"]}[choice]
    return rng.choice(pool), {}


def build_schedule(config: NemesisConfig, instances: list[str], chaos_s: float, seed: int) -> list[FaultWindow]:
    """Windows inside [0, chaos_s); each ends before the chaos window does (then everything heals)."""
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
        length = _draw(rng, config.fault_s)
        if t + length > chaos_s - 0.5:
            break
        fault = rng.choice(faults)
        target, params = _targets(fault, config, instances, rng)
        windows.append(FaultWindow(fault, target, round(t, 3), round(t + length, 3), params))
        t += length + _draw(rng, config.heal_s)
    return windows
