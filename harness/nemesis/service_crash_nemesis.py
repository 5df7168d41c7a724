"""Crash an instance in the middle of a buy (SIGKILL), and start it again at the window's end.

The target is found when the window starts (harness/nemesis/holders.py): an instance inside a
critical section, or the one with the oldest buy in flight. A sale cut between its two writes
(stock in Redis, order in Postgres) shows as a leak or an oversell; a lock without a TTL taken
by the dead instance blocks every later sale of its item (the liveness finding).
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from harness.nemesis.config import FaultWindow, NemesisConfig, draw
from harness.nemesis.fault import RunView
from harness.nemesis.holders import find_holders
from harness.nemesis.kill_nemesis import KillNemesis
from harness.stack.stack import Stack

IN_A_BUY = "in-a-buy"  # the window's target until it starts


class ServiceCrashNemesis(KillNemesis):
    name = "service-crash"
    description = "SIGKILL an instance in the middle of a buy; start it again at the window's end"
    defaults: dict[str, Any] = {"wait_ms": 1000, "threshold_ms": 1}

    def length(self, config: NemesisConfig, rng: random.Random) -> float:
        return draw(rng, config.fault_s)

    def plan(self, config: NemesisConfig, instances: list[str], rng: random.Random) -> tuple[str, dict[str, Any]]:
        return IN_A_BUY, config.fault_params(self.name, self.defaults)

    async def resolve(self, stack: Stack, view: RunView, window: FaultWindow) -> FaultWindow | None:
        p = window.params
        found = await find_holders(stack, view, p["wait_ms"] / 1000, p["threshold_ms"] / 1000, 1)
        return dataclasses.replace(window, target=found[0]) if found else None


FAULTS = [ServiceCrashNemesis()]
