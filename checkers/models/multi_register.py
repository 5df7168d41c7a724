"""Several registers changed by transactions (Knossos's multi-register model)."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

from checkers.history import Operation
from checkers.model import Model
from checkers.models.register import READ, WRITE, describe_value, freeze, reject_unsupported

TXN = "txn"


class FrozenMap:
    """An immutable key -> value mapping with a cached hash, so it can be a search state.

    A key holding nil is absent: `{x: nil}` and `{}` are the same state (and hit the same cache entry).
    """

    __slots__ = ("_items", "_hash")

    def __init__(self, items: dict[Hashable, Hashable] | None = None) -> None:
        self._items = {k: v for k, v in (items or {}).items() if v is not None}
        self._hash = hash(frozenset(self._items.items()))

    def get(self, key: Hashable) -> Hashable:
        return self._items.get(key)

    def with_values(self, writes: dict[Hashable, Hashable]) -> FrozenMap:
        return FrozenMap({**self._items, **writes})

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FrozenMap) and self._hash == other._hash and self._items == other._items

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"


def micro_ops(op: Operation, value: Any) -> list[tuple[str, Hashable, Hashable]]:
    """`[[f, key, value], ...]` as frozen triples; anything else is malformed input."""
    if not isinstance(value, list | tuple):
        raise ValueError(f"txn op {op.id} (invoke index {op.invoke_index}) needs a list of [f, key, value]")
    triples: list[tuple[str, Hashable, Hashable]] = []
    for micro in value:
        if not isinstance(micro, list | tuple) or len(micro) != 3 or micro[0] not in (READ, WRITE):
            raise ValueError(
                f"txn op {op.id} (invoke index {op.invoke_index}): micro-op {micro!r} is not "
                '["read"|"write", key, value]'
            )
        triples.append((micro[0], freeze(micro[1]), freeze(micro[2])))
    return triples


class MultiRegisterModel(Model):
    """Transactions of reads and writes over named registers, applied atomically in order.

    An ok txn is judged by its completion value (reads filled in); an unknown one by its
    invocation (its writes may apply). As in Knossos, a read of nil matches any value: Jepsen
    clients leave a read nil when they do not know what it saw. `init` maps key -> value
    (default {}; a missing key is nil).
    """

    name = "multi-register"

    def __init__(self, init: Any = None) -> None:
        if init is not None and not isinstance(init, dict):
            raise ValueError(f"multi-register init must be an object of key -> value, got {init!r}")
        super().__init__(init)

    def init(self, key: str = "") -> Hashable:
        return FrozenMap({freeze(k): freeze(v) for k, v in (self.init_value or {}).items()})

    def partition(self, ops: list[Operation]) -> list[tuple[str, list[Operation]]]:
        reject_unsupported(self, ops, (TXN,))
        for op in ops:
            micro_ops(op, self._judged_value(op))
        return [("", ops)]

    @staticmethod
    def _judged_value(op: Operation) -> Any:
        return op.input if op.unknown or op.output is None else op.output

    def step(self, state: Hashable, op: Operation) -> tuple[bool, Hashable]:
        assert isinstance(state, FrozenMap)
        writes: dict[Hashable, Hashable] = {}
        for f, key, value in micro_ops(op, self._judged_value(op)):
            if f == WRITE:
                writes[key] = value
            elif value is not None:
                current = writes[key] if key in writes else state.get(key)
                if current != value:
                    return False, state
        return True, state.with_values(writes) if writes else state

    def describe_operation(self, op: Operation) -> str:
        parts = [
            f"{'r' if f == READ else 'w'} {describe_value(k)} {describe_value(v)}"
            for f, k, v in micro_ops(op, self._judged_value(op))
        ]
        return "txn[" + ", ".join(parts) + "]" + (" -> ?" if op.unknown else "")

    def describe_state(self, state: Hashable) -> str:
        assert isinstance(state, FrozenMap)
        return "{" + ", ".join(f"{describe_value(k)}: {describe_value(state.get(k))}" for k in state) + "}"
