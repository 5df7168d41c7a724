"""Freeze candidate instances (or Redis) for the window, then resume them: a GC pause or a hung VM.

The paused process keeps its locks and connections; when it resumes it carries on with what it
read before the pause — exactly what breaks a lock whose TTL ran out meanwhile. Pause windows
are short and many: a pause only breaks a lease if it outlives the lease's TTL (1 s by default
in the candidates), and only if it catches a holder inside its read-check-write, so each pause
is drawn just over a typical TTL, on a random subset of the instances (never all: one keeps
selling the units the frozen holders read).
"""

from __future__ import annotations

import random
from typing import Any

from harness.nemesis.config import FaultWindow, NemesisConfig, draw, process_target
from harness.stack.stack import Stack


class PauseNemesis:
    name = "pause"
    description = "freeze instances (or Redis) just over a lock's TTL, then resume them"
    defaults: dict[str, Any] = {}

    def length(self, config: NemesisConfig, rng: random.Random) -> float:
        return draw(rng, config.pause_s, 0.25)

    def plan(self, config: NemesisConfig, instances: list[str], rng: random.Random) -> tuple[str, dict[str, Any]]:
        return process_target(config.pause_targets, instances, rng), config.fault_params(self.name, self.defaults)

    async def start(self, stack: Stack, window: FaultWindow) -> dict[str, Any]:
        node = stack.node(window.target)
        await node.pause()
        return {"action": "pause", **node.describe()}

    async def stop(self, stack: Stack, window: FaultWindow) -> dict[str, Any]:
        await stack.node(window.target).resume()
        return {"action": "resume"}

    async def heal(self, stack: Stack) -> None:
        for node in stack.nodes().values():
            if node.running:
                await node.resume()


FAULTS = [PauseNemesis()]
