"""Porcupine's Jepsen etcd logs: `INFO  jepsen.util - PROCESS<TAB>:TYPE<TAB>:F<TAB>VALUE` a line.

The loader makes the semantics of these logs explicit so the register models stay simple:
- the register starts as nil (default model `cas-register`, default init None);
- an `ok` read of `nil` saw nil (unlike Knossos EDN, where nil means "value not known");
- a `:fail :read` has an unknown outcome, so it becomes `info`; any `:info` is unknown;
- a `:fail` write or cas did not take effect and stays `fail`.
Inputs follow the register models: write -> the value, cas -> `[old, new]`, read -> None;
an ok read's value is what it saw (None for nil); a keyword on an info/fail line
(`:timed-out`) is the error, not a value. Lines carry no times: time = line position.
"""

from __future__ import annotations

import re
from typing import Any

from checkers.formats.edn_reader import Keyword, plain, read_one
from checkers.formats.loaded import LoadedHistory
from checkers.formats.show import show
from checkers.formats.text_source import iter_text_lines
from checkers.history import EVENT_TYPES, FAIL, INFO, INVOKE, NEMESIS, Event, HistoryError

FORMAT = "porcupine-etcd"
LINE = re.compile(r"INFO\s+jepsen\.util\s+-\s+(\S+)\t:(\S+)\t:(\S+)\t(.*?)\s*")
_INT = re.compile(r"-?\d+")
OPS = ("read", "write", "cas")


def parse_value(text: str, file: str, line: int) -> Any:
    if text == "nil":
        return None
    if _INT.fullmatch(text):
        return int(text)
    return read_one(text, file, line)


def parse_line(text: str, file: str, line: int, index: int) -> Event:
    m = LINE.fullmatch(text)
    if m is None:
        raise HistoryError(
            file,
            line,
            f"bad etcd line {show(text)}: expected 'INFO  jepsen.util - PROCESS<TAB>:TYPE<TAB>:F<TAB>VALUE'",
        )
    proc_text, type_, f, value_text = m.groups()
    if proc_text.isdigit():
        process: int | str = int(proc_text)
    elif proc_text == ":nemesis":
        process = NEMESIS
    else:
        raise HistoryError(
            file, line, f"bad etcd line: process {show(proc_text)} is neither an integer nor :nemesis"
        )
    if type_ not in EVENT_TYPES:
        raise HistoryError(
            file, line, f"bad etcd line: unknown type :{type_} (expected :invoke, :ok, :fail or :info)"
        )
    value = parse_value(value_text, file, line)
    error = None
    if type_ in (INFO, FAIL) and isinstance(value, Keyword):
        value, error = None, str(value)  # `:timed-out`: the reason, not a value
    else:
        value = plain(value)
    if process != NEMESIS:
        if f not in OPS:
            raise HistoryError(file, line, f"bad etcd line: unknown op :{f} (expected :read, :write or :cas)")
        if f == "cas" and error is None and not (isinstance(value, list) and len(value) == 2):
            raise HistoryError(
                file, line, f"bad etcd line: cas value must be [old new], got {show(value_text)}"
            )
        if f == "read" and type_ == INVOKE and value is not None:
            raise HistoryError(
                file, line, f"bad etcd line: a read is invoked with nil, got {show(value_text)}"
            )
        if f == "read" and type_ == FAIL:
            type_ = INFO  # a failed read in these logs may still have been served: unknown outcome
    return Event(
        index=index, time=index, type=type_, process=process, f=f, value=value, error=error, line=line
    )


def load_porcupine_etcd(path: str) -> LoadedHistory:
    file = str(path)
    events: list[Event] = []
    for line, text in iter_text_lines(file):
        if text.strip():
            events.append(parse_line(text, file, line, len(events)))
    if not events:
        raise HistoryError(file, 0, "empty file: no events")
    return LoadedHistory(
        file=file, format=FORMAT, events=events, default_model="cas-register", default_init=None
    )
