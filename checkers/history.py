"""History entries and the operations they pair into.

A history is a list of `Event`s (one line each: an invocation or a completion, Jepsen style).
Checkers work on `Operation`s: an invocation paired with its completion. Everything a checker
reports points back to event indices, so a finding can be traced to the exact lines of the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from checkers.gc_pause import gc_paused

INVOKE = "invoke"
OK = "ok"
FAIL = "fail"
INFO = "info"
EVENT_TYPES = (INVOKE, OK, FAIL, INFO)
NEMESIS = "nemesis"


class HistoryError(ValueError):
    """Malformed input: carries the file and line so the CLI can print `file:line: cause`."""

    def __init__(self, file: str, line: int, cause: str) -> None:
        super().__init__(f"{file}:{line}: {cause}")
        self.file = file
        self.line = line
        self.cause = cause


@dataclass(slots=True)
class Event:
    """One history line. `time` is ns since the run began (monotonic); `line` is the source line."""

    index: int
    time: int
    type: str
    process: int | str
    f: str
    value: Any = None
    node: str | None = None
    error: str | None = None
    line: int = 0

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "index": self.index,
            "time": self.time,
            "type": self.type,
            "process": self.process,
            "f": self.f,
            "value": self.value,
        }
        if self.node is not None:
            d["node"] = self.node
        if self.error is not None:
            d["error"] = self.error
        return d


@dataclass(slots=True)
class Operation:
    """An invocation paired with its completion.

    status: "ok" (happened, output known), "fail" (certainly did not happen) or "info"
    (unknown: may take effect at any time after `call`, or never; `ret` is None and `output` None).
    `call`/`ret` are times in ns; `id` is the position in the list of operations.
    """

    id: int
    process: int | str
    f: str
    input: Any
    output: Any
    status: str
    call: int
    ret: int | None
    invoke_index: int
    complete_index: int | None = None
    node: str | None = None
    meta: dict[str, Any] | None = None  # e.g. {"error": ...}; None for most ops (1M dicts cost)

    @property
    def unknown(self) -> bool:
        return self.status == INFO

    @property
    def error(self) -> str | None:
        return None if self.meta is None else self.meta.get("error")


def pair_operations(events: Iterable[Event], file: str = "<history>") -> list[Operation]:
    """Pair invocations with completions by process (client ops only; nemesis ops are skipped).

    An invocation never completed becomes an unknown (`info`) operation. A completion without an
    invocation, or a second invocation on a busy process, is malformed input.
    """
    with gc_paused():
        return _pair(events, file)


def _pair(events: Iterable[Event], file: str) -> list[Operation]:
    ops: list[Operation] = []
    open_by_process: dict[int | str, Operation] = {}
    for ev in events:
        if ev.process == NEMESIS:
            continue
        if ev.type == INVOKE:
            if ev.process in open_by_process:
                prev = open_by_process[ev.process]
                raise HistoryError(
                    file,
                    ev.line,
                    f"process {ev.process} invoked again while its op at index "
                    f"{prev.invoke_index} is still open",
                )
            op = Operation(len(ops), ev.process, ev.f, ev.value, None, INFO, ev.time, None, ev.index, None, ev.node)
            ops.append(op)
            open_by_process[ev.process] = op
        else:
            op = open_by_process.pop(ev.process, None)
            if op is None:
                raise HistoryError(
                    file, ev.line, f"{ev.type} completion for process {ev.process} with no open invocation"
                )
            if ev.f != op.f:
                raise HistoryError(
                    file, ev.line, f"completion f {ev.f!r} does not match invocation f {op.f!r}"
                )
            op.complete_index = ev.index
            if ev.error is not None:
                op.meta = {"error": ev.error}
            if ev.type == INFO:
                op.status = INFO
                op.ret = None
                op.output = None
            else:
                op.status = ev.type
                op.ret = ev.time
                op.output = ev.value
    return ops
