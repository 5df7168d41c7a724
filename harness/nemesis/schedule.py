"""A seeded schedule of fault and heal windows, computed before the run starts.

Like Jepsen's interval nemesis: alternate a healed gap and a fault window, each of a length
drawn around a mean. Which fault, how long and on what target come from the fault itself (the
registry), in a fixed order of draws from one seeded stream, so a rerun with the same seed and
settings injects the same faults at the same offsets into the chaos window.
"""

from __future__ import annotations

import random

from harness.nemesis.config import TIMINGS, FaultWindow, NemesisConfig, draw
from harness.nemesis.registry import get_fault


def build_schedule(config: NemesisConfig, instances: list[str], chaos_s: float, seed: int) -> list[FaultWindow]:
    """Windows inside [0, chaos_s); each ends before the chaos window does (then everything heals)."""
    if config.timing not in TIMINGS:
        raise ValueError(f"nemesis timing {config.timing!r}: choose {' or '.join(TIMINGS)}")
    faults = [get_fault(f) for f in config.faults if f != "none"]
    if not faults or not instances:
        return []
    rng = random.Random(f"oversell-nemesis-{seed}")
    windows: list[FaultWindow] = []
    t = config.first_s
    while True:
        fault = rng.choice(faults)
        length = fault.length(config, rng)
        if t + length > chaos_s - 0.5:
            break
        target, params = fault.plan(config, instances, rng)
        if config.timing == "rush":
            params = {"rush_delay_ms": rng.randint(0, config.rush_delay_ms), **params}  # a fault may fix its own
        windows.append(FaultWindow(fault.name, target, round(t, 3), round(t + length, 3), params))
        t += length + draw(rng, config.heal_s)
    return windows
