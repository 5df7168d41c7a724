"""What every fault implements, and the error of a heal that did not take.

A fault knows the `Stack` seam and nothing else: not the checker, not the backend. It plans its
windows from the seed (`length`, `plan`), acts on one target at a time (`start`, `stop`), and
`heal` undoes anything of its kind left on the stack, whatever happened before.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol

from harness.nemesis.config import FaultWindow, NemesisConfig
from harness.stack.stack import Stack


class Fault(Protocol):
    name: str
    description: str  # one line, for `oversell nemeses`
    defaults: dict[str, Any]  # its parameters (--fault-param NAME.KEY=VALUE)

    def length(self, config: NemesisConfig, rng: random.Random) -> float:
        """A window's length in seconds, drawn from the seed."""
        ...

    def plan(self, config: NemesisConfig, instances: list[str], rng: random.Random) -> tuple[str, dict[str, Any]]:
        """A window's target (see FaultWindow.target) and parameters, drawn from the seed."""
        ...

    async def start(self, stack: Stack, window: FaultWindow) -> dict[str, Any]:
        """Apply the fault to the window's one target; return what was done (recorded in the history)."""
        ...

    async def stop(self, stack: Stack, window: FaultWindow) -> dict[str, Any]:
        """Undo it on that target; safe to call when start failed half-way."""
        ...

    async def heal(self, stack: Stack) -> None:
        """Undo every trace of this fault on the whole stack (the heal phase, before the final reads)."""
        ...


@dataclass(frozen=True, slots=True)
class InFlight:
    """A client op sent and not yet answered: which instance, what, and for how long."""

    node: str
    f: str
    value: Any
    age_s: float


class RunView(Protocol):
    """What a targeted fault may see of the run: the ops in flight now (the interpreter's)."""

    def in_flight(self) -> list[InFlight]: ...


class TargetedFault(Fault, Protocol):
    """A fault whose target is found when its window starts (a lock holder, a buy in flight)."""

    async def resolve(self, stack: Stack, view: RunView, window: FaultWindow) -> FaultWindow | None:
        """The window with its target chosen now, or None when none was found in time (skipped)."""
        ...


class HealError(RuntimeError):
    """A fault could not be undone: the run must stop, since nothing after it would be fault-free."""

    def __init__(self, fault: str, node: str, error: str) -> None:
        super().__init__(f"heal of {fault} failed on {node}: {error}")
        self.fault = fault
        self.node = node
        self.error = error
