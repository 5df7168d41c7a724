"""The one interface between a linearizability search and what it checks (as in Porcupine).

A model knows nothing of Redis or histories on disk; the search knows nothing of stock. States
must be hashable (the search caches (linearized set, state) pairs).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from checkers.history import Operation


class Model:
    """Sequential specification of an object.

    `step(state, op)` returns (legal, next_state). For an op with unknown outcome (`op.unknown`,
    output None) it must accept any output: it returns the state the op leaves if it took effect.
    """

    name: str = "model"

    def __init__(self, init: Any = None) -> None:
        self.init_value = init

    def init(self, key: str = "") -> Hashable:
        """Initial state of the partition named `key` (see `partition`)."""
        raise NotImplementedError

    def step(self, state: Hashable, op: Operation) -> tuple[bool, Hashable]:
        raise NotImplementedError

    def partition(self, ops: list[Operation]) -> list[tuple[str, list[Operation]]]:
        """Split into independent, keyed sub-histories (P-compositionality).

        Default: one partition with key "". Ops the model does not check (e.g. a final `orders`
        read for the stock model) are left out here.
        """
        return [("", ops)]

    def step_key(self, op: Operation) -> Hashable | None:
        """Ops with equal keys have the same effect from every state (e.g. two timed-out buys of
        the same qty with different order ids): the search tries only one of them at a time.
        None: the op is compared by (f, input)."""
        return None

    def describe_operation(self, op: Operation) -> str:
        out = "?" if op.unknown else repr(op.output)
        return f"{op.f}({op.input!r}) -> {out}"

    def describe_state(self, state: Hashable) -> str:
        return repr(state)
