"""Pause the instance that holds a lock, for longer than the lease, then resume it.

A random pause breaks a lease only when it lands inside a holder's read-to-write window, one
Redis round trip wide; this fault waits for a holder (harness/nemesis/holders.py: the instance
that says so in /health, else the one with the oldest buy in flight) and freezes it on purpose.
Its lease runs out while it is frozen, the others sell what it read, and when it resumes it
writes back a stock computed before they did.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from harness.nemesis.config import FaultWindow, NemesisConfig, draw
from harness.nemesis.fault import RunView
from harness.nemesis.holders import find_holders, wait_for_op
from harness.nemesis.pause_nemesis import PauseNemesis
from harness.stack.stack import Stack

HOLDER = "holder"  # the window's target until it starts


class PauseHolderNemesis(PauseNemesis):
    name = "pause-holder"
    description = "wait for an instance holding a lock, freeze it past its lease (pause_s), then resume it"
    # The rush after a restock is over in tens of milliseconds, sooner than a restock's answer
    # comes back: so the hunt starts when a restock is sent (rush_delay_ms None: the window does
    # not wait for the answer), on up to N-1 holders.
    defaults: dict[str, Any] = {"wait_ms": 1000, "threshold_ms": 3, "holders": 2, "rush_delay_ms": None,
                                "restock_wait_ms": 4000}  # fmt: skip

    def length(self, config: NemesisConfig, rng: random.Random) -> float:
        return draw(rng, config.pause_s, 0.25)

    def plan(self, config: NemesisConfig, instances: list[str], rng: random.Random) -> tuple[str, dict[str, Any]]:
        return HOLDER, config.fault_params(self.name, self.defaults)

    async def resolve(self, stack: Stack, view: RunView, window: FaultWindow) -> FaultWindow | None:
        p = window.params
        if p["restock_wait_ms"]:
            await wait_for_op(view, "restock", p["restock_wait_ms"] / 1000)
        found = await find_holders(stack, view, p["wait_ms"] / 1000, p["threshold_ms"] / 1000, int(p["holders"]))
        return dataclasses.replace(window, target=",".join(found)) if found else None


FAULTS = [PauseHolderNemesis()]
