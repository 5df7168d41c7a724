"""A compare-and-set register: the model of Porcupine's and Knossos's etcd tests."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from checkers.history import Operation
from checkers.model import Model
from checkers.models.register import READ, WRITE, describe_value, freeze, reject_unsupported

CAS = "cas"


def cas_arguments(op: Operation) -> tuple[Hashable, Hashable]:
    """The `[old, new]` pair of a cas, frozen; anything else is malformed input."""
    value: Any = op.input
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(
            f"cas op {op.id} (invoke index {op.invoke_index}) needs input [old, new], got {value!r}"
        )
    return freeze(value[0]), freeze(value[1])


class CasRegisterModel(Model):
    """read / write / cas([old, new]) on one register that starts at `init` (default nil).

    An ok cas happened, so the register held `old`. A failed cas is excluded by the search (it
    did not happen); an unknown cas took effect only if the register held `old`.
    """

    name = "cas-register"

    def init(self, key: str = "") -> Hashable:
        return freeze(self.init_value)

    def partition(self, ops: list[Operation]) -> list[tuple[str, list[Operation]]]:
        reject_unsupported(self, ops, (READ, WRITE, CAS))
        for op in ops:
            if op.f == CAS:
                cas_arguments(op)
        return [("", ops)]

    def step(self, state: Hashable, op: Operation) -> tuple[bool, Hashable]:
        f = op.f
        if f == WRITE:
            return True, freeze(op.input)
        if f == CAS:
            old, new = cas_arguments(op)
            if state == old:
                return True, new
            # An unknown cas may have run and failed: legal, no effect.
            return op.unknown, state
        if op.unknown:
            return True, state
        return freeze(op.output) == state, state

    def describe_operation(self, op: Operation) -> str:
        suffix = " -> ?" if op.unknown else ""
        if op.f == WRITE:
            return f"write({describe_value(freeze(op.input))}){suffix}"
        if op.f == CAS:
            old, new = cas_arguments(op)
            return f"cas({describe_value(old)} -> {describe_value(new)}){suffix}"
        return f"read() -> {'?' if op.unknown else describe_value(freeze(op.output))}"

    def describe_state(self, state: Hashable) -> str:
        return describe_value(state)
