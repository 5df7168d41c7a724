"""Porcupine's key-value logs: one EDN map a line, `{:process 0, :type :invoke, :f :get, :key "k", :value nil}`.

Each op becomes an event with f get/put/append and value `{"key": k, "value": v}` (the string
written or read; None for a get's invocation), for the `kv` model, which partitions by key.
Lines carry no times: time = event position.
"""

from __future__ import annotations

from typing import Any

from checkers.formats.edn_reader import plain, read_one
from checkers.formats.loaded import LoadedHistory
from checkers.formats.show import show
from checkers.formats.text_source import iter_text_lines
from checkers.history import EVENT_TYPES, NEMESIS, Event, HistoryError

FORMAT = "porcupine-kv"
OPS = ("get", "put", "append")


def _field(op: dict[Any, Any], name: str, file: str, line: int) -> Any:
    if name not in op:
        raise HistoryError(file, line, f"missing :{name}")
    return op[name]


def parse_op(op: Any, file: str, line: int, index: int) -> Event:
    if not isinstance(op, dict):
        raise HistoryError(file, line, f"expected an EDN map, got {show(plain(op))}")
    process = _field(op, "process", file, line)
    if process == NEMESIS:
        process = NEMESIS
    elif type(process) is not int or process < 0:
        raise HistoryError(
            file, line, f":process must be a non-negative integer or :nemesis, got {show(process)}"
        )
    type_ = _field(op, "type", file, line)
    if not isinstance(type_, str) or type_ not in EVENT_TYPES:
        raise HistoryError(file, line, f"unknown :type {show(type_)}: expected :invoke, :ok, :fail or :info")
    f = _field(op, "f", file, line)
    if process == NEMESIS:
        return Event(index, index, str(type_), process, str(f), plain(op.get("value")), line=line)
    if not isinstance(f, str) or f not in OPS:
        raise HistoryError(file, line, f"unknown :f {show(f)}: expected :get, :put or :append")
    key = _field(op, "key", file, line)
    if type(key) is not str:
        raise HistoryError(file, line, f":key must be a string, got {show(key)}")
    value = plain(op.get("value"))
    if value is not None and type(value) is not str:
        raise HistoryError(file, line, f":value must be a string or nil, got {show(value)}")
    return Event(index, index, str(type_), process, str(f), {"key": key, "value": value}, line=line)


def load_porcupine_kv(path: str) -> LoadedHistory:
    file = str(path)
    events: list[Event] = []
    for line, text in iter_text_lines(file):
        if text.strip():
            events.append(parse_op(read_one(text, file, line), file, line, len(events)))
    if not events:
        raise HistoryError(file, 0, "empty file: no events")
    return LoadedHistory(file=file, format=FORMAT, events=events, default_model="kv", default_init=None)
