"""Which format a history file is in, from its content (the first non-blank line), never its name."""

from __future__ import annotations

import re

import orjson

from checkers.formats import jepsen_edn, jsonl, porcupine_etcd, porcupine_kv
from checkers.formats.edn_reader import read_one
from checkers.formats.show import show
from checkers.formats.text_source import iter_text_lines
from checkers.history import HistoryError

FORMAT_NAMES = (jsonl.FORMAT, jepsen_edn.FORMAT, porcupine_etcd.FORMAT, porcupine_kv.FORMAT)
_KV_OPS = ("get", "put", "append")
# `[{"index": 0` but not the EDN `[{"a" :kw}`: a JSON key is followed by ':' and then a value.
_JSON_ARRAY_OF_OBJECTS = re.compile(r'\[\s*\{\s*"(?:[^"\\]|\\.)*"\s*:\s*["\d\[{tfn-]')


def first_line(file: str) -> tuple[int, str] | None:
    """The first line that is neither blank nor an EDN comment, with its number."""
    for line, text in iter_text_lines(file):
        stripped = text.strip()
        if stripped and not stripped.startswith(";"):
            return line, stripped
    return None


def detect_format(file: str) -> str:
    found = first_line(file)
    if found is None:
        raise HistoryError(file, 0, "empty file: no events")
    line, text = found
    if porcupine_etcd.LINE.fullmatch(text):
        return porcupine_etcd.FORMAT
    if text.startswith("{"):
        try:
            if isinstance(orjson.loads(text), dict):
                return jsonl.FORMAT
        except orjson.JSONDecodeError:
            pass
        return _edn_map_format(file, line, text)
    if text.startswith('[{"') or text.startswith('[ {"'):
        raise HistoryError(
            file, line, "unknown history format: a JSON array; oversell's JSONL has one JSON object a line"
        )
    if text.startswith(("[", "(")):
        return jepsen_edn.FORMAT
    raise HistoryError(
        file,
        line,
        f"unknown history format: first line starts {show(text[:40])}; expected JSONL, Jepsen EDN, "
        "a Porcupine etcd log or a Porcupine kv log (or give --format)",
    )


def _edn_map_format(file: str, line: int, text: str) -> str:
    """Porcupine kv maps have `:key` and a get/put/append `:f`; any other op map is Jepsen's."""
    try:
        op = read_one(text, file, line)
    except HistoryError:
        return jepsen_edn.FORMAT  # a map spanning lines, or bad EDN: the EDN loader says which
    if isinstance(op, dict) and "key" in op and op.get("f") in _KV_OPS and "time" not in op:
        return porcupine_kv.FORMAT
    return jepsen_edn.FORMAT
