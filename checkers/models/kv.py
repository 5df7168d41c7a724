"""Porcupine's key-value model: string values with get, put and append, partitioned by key."""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from checkers.history import Operation
from checkers.model import Model

GET = "get"
PUT = "put"
APPEND = "append"


def key_of(op: Operation) -> str:
    """The key an op touches; a kv op without one is malformed input."""
    value = op.input
    if not isinstance(value, dict) or not isinstance(value.get("key"), str):
        raise ValueError(f'kv op {op.id} (invoke index {op.invoke_index}) needs input {{"key": string, ...}}')
    return value["key"]


def _text(value: Any) -> str:
    """A missing value reads as "" (every key starts empty), as in Porcupine's kv tests."""
    return "" if value is None else str(value)


class KvModel(Model):
    """One string per key: put sets it, append concatenates, an ok get must return it.

    Input `{"key", "value"}`; an ok get's output is `{"value": v}` (a bare string is accepted too).
    `init` maps key -> string; a key not listed (or no init) starts as "".
    """

    name = "kv"

    def __init__(self, init: Any = None) -> None:
        if init is not None and not (
            isinstance(init, dict) and all(isinstance(v, str) for v in init.values())
        ):
            raise ValueError(f"kv init must be an object of key -> string, got {init!r}")
        super().__init__(init)

    def init(self, key: str = "") -> Hashable:
        return (self.init_value or {}).get(key, "")

    def partition(self, ops: list[Operation]) -> list[tuple[str, list[Operation]]]:
        by_key: dict[str, list[Operation]] = {}
        for op in ops:
            if op.f not in (GET, PUT, APPEND):
                raise ValueError(
                    f"model 'kv' cannot check op {op.id} (invoke index {op.invoke_index}): "
                    f"f {op.f!r} is not one of get, put, append"
                )
            by_key.setdefault(key_of(op), []).append(op)
        return sorted(by_key.items())

    @staticmethod
    def _read_value(op: Operation) -> str:
        output = op.output
        return _text(output.get("value") if isinstance(output, dict) else output)

    def step(self, state: Hashable, op: Operation) -> tuple[bool, Hashable]:
        f = op.f
        if f == GET:
            if op.unknown:
                return True, state
            output = op.output
            value = output.get("value") if type(output) is dict else output
            return _text(value) == state, state
        if f == APPEND:
            return True, f"{state}{_text(op.input.get('value'))}"
        return True, _text(op.input.get("value"))

    def describe_operation(self, op: Operation) -> str:
        key = json.dumps(key_of(op))
        if op.f == GET:
            return f"get({key}) -> {'?' if op.unknown else json.dumps(self._read_value(op))}"
        suffix = " -> ?" if op.unknown else ""
        return f"{op.f}({key}, {json.dumps(_text(op.input.get('value')))}){suffix}"

    def describe_state(self, state: Hashable) -> str:
        return json.dumps(state)
