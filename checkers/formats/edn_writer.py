"""Export any loaded history as Jepsen EDN, so Knossos/Elle/Jepsen tooling can re-check it.

The output is one vector of op maps, one map a line: `:index`, `:time`, `:type` and `:f` as
keywords, `:process` (an int or `:nemesis`), `:value`, and `:node`/`:error` when set. Map keys
that are valid keyword names become keywords (`{:item "sku-1", :qty 1}`), as Clojure code expects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any, TextIO

from checkers.formats.edn_reader import Keyword, Symbol
from checkers.history import NEMESIS, Event

# Conservative: a name any EDN/Clojure reader accepts as `:name` (no leading digit, sign, ':' or '/').
_KEYWORD_NAME = re.compile(r"[A-Za-z*!_?<>=.][A-Za-z0-9*!_?<>=.+\-]*")
_STRING_SPECIAL = re.compile(r'["\\\x00-\x1f]')
_STRING_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _string(s: str) -> str:
    return (
        '"'
        + _STRING_SPECIAL.sub(lambda m: _STRING_ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), s)
        + '"'
    )


def _name(s: str) -> str:
    """A name as a keyword when it can be one, else as a string (both read back as the same str)."""
    return ":" + s if _KEYWORD_NAME.fullmatch(s) else _string(s)


def edn_value(value: Any) -> str:
    """One Python (JSON-like) value as EDN text."""
    if value is None:
        return "nil"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Keyword):
        return ":" + str.__str__(value)
    if isinstance(value, Symbol):
        return str.__str__(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "##NaN"
        if math.isinf(value):
            return "##Inf" if value > 0 else "##-Inf"
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} {edn_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(edn_value(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "#{" + " ".join(edn_value(v) for v in value) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as EDN")


def _key(key: Any) -> str:
    if type(key) is str:
        return _name(key)
    return edn_value(key)


def edn_op(event: Event) -> str:
    """One event as a Jepsen op map."""
    process = ":nemesis" if event.process == NEMESIS else edn_value(event.process)
    parts = [
        f":index {event.index}",
        f":time {event.time}",
        f":type {_name(event.type)}",
        f":process {process}",
        f":f {_name(event.f)}",
        f":value {edn_value(event.value)}",
    ]
    if event.node is not None:
        parts.append(f":node {_string(event.node)}")
    if event.error is not None:
        parts.append(f":error {_string(event.error)}")
    return "{" + ", ".join(parts) + "}"


def write_edn(events: Iterable[Event], out: TextIO) -> None:
    """Write `events` as one EDN vector of op maps, one map a line (streams; nothing is buffered)."""
    out.write("[")
    separator = ""
    for event in events:
        out.write(separator)
        out.write(edn_op(event))
        separator = "\n "
    out.write("]\n")
