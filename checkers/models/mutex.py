"""A lock (Knossos's mutex model): the simplest model where an op can be illegal by itself."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from checkers.history import Operation
from checkers.model import Model
from checkers.models.register import reject_unsupported

ACQUIRE = "acquire"
RELEASE = "release"


class MutexModel(Model):
    """acquire is legal only when unlocked, release only when locked (Knossos semantics).

    State is a bool (locked). `init` may be true to start locked; default unlocked. An unknown
    acquire or release can take effect only where it would have been legal.
    """

    name = "mutex"

    def __init__(self, init: Any = None) -> None:
        if init is not None and not isinstance(init, bool):
            raise ValueError(f"mutex init must be true (locked) or false, got {init!r}")
        super().__init__(init)

    def init(self, key: str = "") -> Hashable:
        return bool(self.init_value)

    def partition(self, ops: list[Operation]) -> list[tuple[str, list[Operation]]]:
        reject_unsupported(self, ops, (ACQUIRE, RELEASE))
        return [("", ops)]

    def step(self, state: Hashable, op: Operation) -> tuple[bool, Hashable]:
        if op.f == ACQUIRE:
            return (False, state) if state else (True, True)
        return (True, False) if state else (False, state)

    def describe_operation(self, op: Operation) -> str:
        return f"{op.f}()" + (" -> ?" if op.unknown else "")

    def describe_state(self, state: Hashable) -> str:
        return "locked" if state else "unlocked"
