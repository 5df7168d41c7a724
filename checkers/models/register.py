"""A read/write register (Porcupine's etcd model without cas), and the value freezing it needs.

States must be hashable, but histories carry JSON values (lists, objects); `freeze` turns them
into tuples so that `[1, 2]` written and `[1, 2]` read compare equal and can key the search cache.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from checkers.history import Operation
from checkers.model import Model

READ = "read"
WRITE = "write"


def freeze(value: Any) -> Hashable:
    """A hashable stand-in for a JSON value: lists become tuples, objects sorted item tuples."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return ("__object__", tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    return value


def describe_value(value: Any) -> str:
    """Values as a reader of the history wrote them: JSON, with nil for a missing value."""
    if value is None:
        return "nil"
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "__object__":
        return "{" + ", ".join(f"{k}: {describe_value(v)}" for k, v in value[1]) + "}"
    if isinstance(value, tuple):
        return "[" + " ".join(describe_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def reject_unsupported(model: Model, ops: list[Operation], fs: tuple[str, ...]) -> None:
    """Fail loudly on an op the model cannot judge, rather than report it as a violation."""
    for op in ops:
        if op.f not in fs:
            raise ValueError(
                f"model {model.name!r} cannot check op {op.id} (invoke index {op.invoke_index}): "
                f"f {op.f!r} is not one of {', '.join(fs)}"
            )


class RegisterModel(Model):
    """A single register: write sets it, an ok read must return it (a nil read must see nil).

    Knossos treats a nil read as "matches anything"; the format loaders turn those into unknown
    reads, so the model itself stays strict.
    """

    name = "register"

    def init(self, key: str = "") -> Hashable:
        return freeze(self.init_value)

    def partition(self, ops: list[Operation]) -> list[tuple[str, list[Operation]]]:
        reject_unsupported(self, ops, (READ, WRITE))
        return [("", ops)]

    def step(self, state: Hashable, op: Operation) -> tuple[bool, Hashable]:
        if op.f == WRITE:
            return True, freeze(op.input)
        if op.unknown:
            return True, state
        return freeze(op.output) == state, state

    def describe_operation(self, op: Operation) -> str:
        if op.f == WRITE:
            return f"write({describe_value(freeze(op.input))})" + (" -> ?" if op.unknown else "")
        return f"read() -> {'?' if op.unknown else describe_value(freeze(op.output))}"

    def describe_state(self, state: Hashable) -> str:
        return describe_value(state)
