"""Crash a candidate instance (or Redis) at the window's start; start it again at its end.

Redis without persistence comes back empty: every acknowledged decrement is lost, as in a
failover to a replica that had not received them.
"""

from __future__ import annotations

import random
from typing import Any

from harness.nemesis.config import FaultWindow, NemesisConfig, draw, process_target
from harness.stack.stack import Stack


class KillNemesis:
    name = "kill"
    description = "crash an instance (or Redis) with SIGKILL, start it again at the window's end"
    defaults: dict[str, Any] = {}

    def length(self, config: NemesisConfig, rng: random.Random) -> float:
        return draw(rng, config.fault_s)

    def plan(self, config: NemesisConfig, instances: list[str], rng: random.Random) -> tuple[str, dict[str, Any]]:
        return process_target(config.kill_targets, instances, rng), config.fault_params(self.name, self.defaults)

    async def start(self, stack: Stack, window: FaultWindow) -> dict[str, Any]:
        node = stack.node(window.target)
        before = node.describe()
        await node.kill()
        return {"action": "kill", **before}

    async def stop(self, stack: Stack, window: FaultWindow) -> dict[str, Any]:
        node = stack.node(window.target)
        if node.running:
            return {"restarted": False}
        await node.start()
        return {"restarted": True, **node.describe()}

    async def heal(self, stack: Stack) -> None:
        for node in stack.nodes().values():
            if not node.running:
                await node.start()


FAULTS = [KillNemesis()]
