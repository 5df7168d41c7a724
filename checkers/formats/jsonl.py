"""oversell's own history format: JSON Lines, one event a line (see docs/history.md).

Read as a stream, line by line with orjson (a few µs an event, validation included), so
memory holds only what the caller keeps. Every malformed line raises HistoryError naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from checkers.formats.loaded import LoadedHistory
from checkers.formats.model_guess import guess_model
from checkers.formats.show import show
from checkers.formats.stock_shapes import STOCK_OPS, StockShapes
from checkers.gc_pause import gc_paused
from checkers.history import EVENT_TYPES, INFO, INVOKE, NEMESIS, Event, HistoryError

FORMAT = "jsonl"
_EVENT_TYPES = frozenset(EVENT_TYPES)
_REQUIRED = ("index", "time", "type", "process", "f")


class JsonlReader:
    """Iterates the events of one JSONL file; afterwards tells which client `f`s it saw.

    Beyond per-line checks it enforces the two ordering rules of the format: `index` strictly
    increases and `time` never decreases; and Jepsen's process rule: a process whose op ended
    `info` is retired and never invokes again (the op may still be in flight).
    """

    def __init__(self, path: str) -> None:
        self.path = str(path)
        self.client_fs: set[str] = set()
        self.shapes = StockShapes()

    def __iter__(self) -> Iterator[Event]:
        file = self.path
        loads = orjson.loads
        json_error = orjson.JSONDecodeError
        event_types = _EVENT_TYPES
        stock_ops = STOCK_OPS
        check_shape = self.shapes.check
        client_fs = self.client_fs
        retired: dict[int | str, int] = {}  # process -> line of the info that retired it
        last_index = -1
        last_index_line = 0
        last_time = 0
        last_time_line = 0
        seen = False
        with open(file, "rb", buffering=1 << 20) as fh:
            for line, raw in enumerate(fh, 1):
                try:
                    obj = loads(raw)
                    index = obj["index"]
                    time = obj["time"]
                    type_ = obj["type"]
                    process = obj["process"]
                    f = obj["f"]
                except (json_error, KeyError, TypeError):
                    if raw.isspace():
                        continue  # blank lines are allowed (checked only here: they are rare)
                    raise _diagnose(file, line, raw) from None
                # One cheap test for the common, well-formed case; the precise cause comes after.
                if not (
                    type(index) is int
                    and index > last_index
                    and type(time) is int
                    and time >= last_time
                    and type(type_) is str
                    and type_ in event_types
                    and (type(process) is int and process >= 0 or process == NEMESIS)
                    and type(f) is str
                    and f
                ):
                    raise _bad_field(file, line, obj, last_index, last_index_line, last_time, last_time_line)
                value = obj.get("value")
                node = obj.get("node")
                error = obj.get("error")
                if node is not None and type(node) is not str:
                    raise _field_error(file, line, "node", node, "a string")
                if error is not None and type(error) is not str:
                    raise _field_error(file, line, "error", error, "a string")
                if process != NEMESIS:
                    if type_ == INVOKE:
                        if process in retired:
                            raise HistoryError(
                                file,
                                line,
                                f"process {process} was retired by its info completion on line "
                                f"{retired[process]}; a new op needs a new process id",
                            )
                        client_fs.add(f)
                    elif type_ == INFO:
                        retired[process] = line
                    if f in stock_ops:
                        cause = check_shape(type_, process, f, value)
                        if cause is not None:
                            raise HistoryError(file, line, cause)
                last_index = index
                last_index_line = line
                last_time = time
                last_time_line = line
                seen = True
                yield Event(index, time, type_, process, f, value, node, error, line)
        if not seen:
            raise HistoryError(file, 0, "empty file: no events")


def iter_jsonl(path: str) -> Iterator[Event]:
    """Stream the events of an oversell JSONL history (validated as they are read)."""
    return iter(JsonlReader(path))


def load_jsonl(path: str) -> LoadedHistory:
    reader = JsonlReader(path)
    with gc_paused():
        events = list(reader)
    model = guess_model(reader.client_fs, stock_reads=reader.shapes.saw_stock_read)
    return LoadedHistory(
        file=reader.path, format=FORMAT, events=events, default_model=model, default_init=None
    )


def write_jsonl_event(event: Event, out: BinaryIO) -> None:
    """Append one event as a compact JSON line; the caller flushes (and fsyncs) as it sees fit."""
    out.write(orjson.dumps(event.to_json()) + b"\n")


def _diagnose(file: str, line: int, raw: bytes) -> HistoryError:
    """The cause for a line that is not JSON, not an object, or lacks a required field."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        return HistoryError(file, line, f"invalid JSON: {e}")
    if type(obj) is not dict:
        return HistoryError(file, line, f"expected a JSON object, got {_json_kind(obj)}")
    missing = next(k for k in _REQUIRED if k not in obj)
    return HistoryError(file, line, f"missing field {missing!r}")


def _bad_field(
    file: str,
    line: int,
    obj: dict[str, Any],
    last_index: int,
    last_index_line: int,
    last_time: int,
    last_time_line: int,
) -> HistoryError:
    """The precise cause, once the fast test has failed: fields are checked in file order."""
    index, time, type_, process, f = (obj[k] for k in _REQUIRED)
    if type(index) is not int:
        return _field_error(file, line, "index", index, "an integer")
    if index <= last_index:
        return HistoryError(
            file,
            line,
            f"index {index} does not increase (previous event, line {last_index_line}, has index {last_index})",
        )
    if type(time) is not int or time < 0:
        return _field_error(file, line, "time", time, "a non-negative integer (ns)")
    if time < last_time:
        return HistoryError(
            file, line, f"time {time} is before the previous event's time {last_time} (line {last_time_line})"
        )
    if type(type_) is not str or type_ not in _EVENT_TYPES:
        return HistoryError(file, line, f"unknown type {show(type_)}: expected invoke, ok, fail or info")
    if not (type(process) is int and process >= 0 or process == NEMESIS):
        return _field_error(file, line, "process", process, 'a non-negative integer or "nemesis"')
    return _field_error(file, line, "f", f, "a non-empty string")


def _json_kind(obj: Any) -> str:
    if isinstance(obj, list):
        return "an array"
    if isinstance(obj, str):
        return "a string"
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "a boolean"
    return "a number"


def _field_error(file: str, line: int, field: str, value: Any, expected: str) -> HistoryError:
    return HistoryError(file, line, f"field {field!r} must be {expected}, got {show(value)}")
