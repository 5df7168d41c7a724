"""Jepsen / Knossos EDN histories: one op map a line (history.edn), or one vector of op maps.

Interpretation, made explicit here so models stay simple:
- keywords become strings (`:read` -> "read"), `:process :nemesis` -> "nemesis";
- `:fail` ops certainly did not happen; `:info` ops are unknown;
- an `:ok` read of `nil` matches any value (Knossos): it becomes an `info` completion, i.e. an
  effect-free op whose result is unknown, which constrains nothing;
- `:index` is reassigned by position; `:time` is kept when every op has an integer one and they
  never decrease, else time = position (Knossos itself orders by position, not by `:time`).
"""

from __future__ import annotations

from typing import Any

from checkers.formats.edn_reader import plain, read_edn
from checkers.formats.edn_writer import edn_value
from checkers.formats.loaded import LoadedHistory
from checkers.formats.model_guess import guess_model
from checkers.formats.show import show
from checkers.formats.stock_shapes import STOCK_OPS, StockShapes
from checkers.formats.text_source import read_text
from checkers.history import EVENT_TYPES, INFO, INVOKE, NEMESIS, OK, Event, HistoryError

FORMAT = "jepsen-edn"


def _text(value: Any) -> str:
    """A keyword, symbol or string as a plain str; anything else as its EDN text."""
    if isinstance(value, str):
        return str(value)
    return edn_value(value)


def parse_op(op: Any, file: str, line: int, index: int) -> tuple[Event, Any]:
    """The event for one op map, and its raw `:time` (None when absent)."""
    if not isinstance(op, dict):
        raise HistoryError(file, line, f"expected an op map, got {show(plain(op))}")
    if "type" not in op:
        raise HistoryError(file, line, "missing :type")
    type_ = op["type"]
    if not isinstance(type_, str) or type_ not in EVENT_TYPES:
        raise HistoryError(file, line, f"unknown :type {show(type_)}: expected :invoke, :ok, :fail or :info")
    if "f" not in op:
        raise HistoryError(file, line, "missing :f")
    f = op["f"]
    if not isinstance(f, str) or not f:
        raise HistoryError(file, line, f":f must be a keyword or string, got {show(f)}")
    if "process" not in op:
        raise HistoryError(file, line, "missing :process")
    process = op["process"]
    if process == NEMESIS:
        process = NEMESIS
    elif type(process) is not int or process < 0:
        raise HistoryError(
            file, line, f":process must be a non-negative integer or :nemesis, got {show(process)}"
        )
    node = op.get("node")
    error = op.get("error")
    event = Event(
        index=index,
        time=index,
        type=str(type_),
        process=process,
        f=str(f),
        value=plain(op.get("value")),
        node=None if node is None else _text(node),
        error=None if error is None else _text(error),
        line=line,
    )
    if event.type == OK and event.f == "read" and event.value is None and process != NEMESIS:
        event.type = INFO  # Knossos: a nil read matches any value
    return event, op.get("time")


def _op_forms(text: str, file: str) -> list[tuple[int, Any]]:
    """(line, op) for a file of op maps, or of one vector (or list) of op maps."""
    forms = read_edn(text, file)
    if len(forms) == 1 and isinstance(forms[0].value, list):
        form = forms[0]
        return list(zip(form.element_lines or [], form.value, strict=True))
    return [(form.line, form.value) for form in forms]


def load_jepsen_edn(path: str) -> LoadedHistory:
    file = str(path)
    ops = _op_forms(read_text(file), file)
    if not ops:
        raise HistoryError(file, 0, "empty file: no events")
    events: list[Event] = []
    times: list[Any] = []
    shapes = StockShapes()
    client_fs: set[str] = set()
    for line, op in ops:
        event, time = parse_op(op, file, line, len(events))
        if event.process != NEMESIS:
            if event.type == INVOKE:
                client_fs.add(event.f)
            if event.f in STOCK_OPS:
                cause = shapes.check(event.type, event.process, event.f, event.value)
                if cause is not None:
                    raise HistoryError(file, line, cause)
        events.append(event)
        times.append(time)
    if _usable_times(times):
        for event, time in zip(events, times, strict=True):
            event.time = time
    model = guess_model(client_fs, stock_reads=shapes.saw_stock_read)
    return LoadedHistory(file=file, format=FORMAT, events=events, default_model=model, default_init=None)


def _usable_times(times: list[Any]) -> bool:
    previous = 0
    for t in times:
        if type(t) is not int or t < previous:
            return False
        previous = t
    return True
