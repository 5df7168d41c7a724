"""History formats: oversell's JSONL, Jepsen/Knossos EDN, Porcupine's etcd and kv logs.

`load_history(path)` detects the format from the content and returns the events with the model
and initial state the source implies; `write_edn` exports any of them as Jepsen EDN;
`iter_jsonl` streams our own format. Layout and semantics: docs/history.md.
"""

from __future__ import annotations

from collections.abc import Callable

from checkers.formats import jepsen_edn, jsonl, porcupine_etcd, porcupine_kv
from checkers.formats.detect import FORMAT_NAMES, detect_format
from checkers.formats.edn_writer import write_edn
from checkers.formats.jsonl import iter_jsonl, write_jsonl_event
from checkers.formats.loaded import LoadedHistory
from checkers.history import HistoryError

LOADERS: dict[str, Callable[[str], LoadedHistory]] = {
    jsonl.FORMAT: jsonl.load_jsonl,
    jepsen_edn.FORMAT: jepsen_edn.load_jepsen_edn,
    porcupine_etcd.FORMAT: porcupine_etcd.load_porcupine_etcd,
    porcupine_kv.FORMAT: porcupine_kv.load_porcupine_kv,
}


def load_history(path: str, fmt: str | None = None) -> LoadedHistory:
    """Parse a history file. `fmt` None: detect it from the first non-blank line.

    Malformed input raises HistoryError(file, line, cause); an unreadable file raises OSError.
    """
    file = str(path)
    if fmt is None:
        fmt = detect_format(file)
    elif fmt not in LOADERS:
        raise HistoryError(file, 0, f"unknown format {fmt!r}: choose from {', '.join(FORMAT_NAMES)}")
    return LOADERS[fmt](file)


__all__ = [
    "FORMAT_NAMES",
    "LOADERS",
    "LoadedHistory",
    "detect_format",
    "iter_jsonl",
    "load_history",
    "write_edn",
    "write_jsonl_event",
]
