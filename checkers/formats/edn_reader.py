"""A small EDN reader, enough for Jepsen, Knossos and Porcupine histories.

Written here rather than pulled in as a dependency: histories are evidence, so every error must
name the exact line, and keywords must stay distinguishable from strings until a loader decides
what they mean. Supports maps, vectors, lists, sets, keywords, symbols, strings (with escapes),
characters, ints (with `N`), floats (with `M`), `##Inf`/`##NaN`, nil/true/false, `;` comments,
commas as whitespace, `#_` discard and tagged values (`#inst "..."` reads as its string).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from checkers.history import HistoryError


class Keyword(str):
    """`:name` without the colon; a str subclass so loaders can compare it to plain names."""

    __slots__ = ()

    def __repr__(self) -> str:
        return ":" + str.__str__(self)


class Symbol(str):
    """A bare EDN symbol such as `foo` (rare in histories; kept distinct from strings)."""

    __slots__ = ()


@dataclass(slots=True)
class EdnForm:
    """One top-level form and where it starts; for a top-level vector or list, where each element starts."""

    line: int
    value: Any
    element_lines: list[int] | None = None


_DELIM = r"""\s,()\[\]{}";\\"""
_TOKEN = re.compile(
    rf"""
    (?:[\s,]+|;[^\n]*)*
    (?:
      (?P<kw>:[^{_DELIM}]*)
    | (?P<str>"[^"\\]*(?:\\.[^"\\]*)*")
    | (?P<open>\#\{{|[\[({{])
    | (?P<close>[\])}}])
    | (?P<num>[+-]?\d[^{_DELIM}]*)
    | (?P<sym>[^{_DELIM}\#\d:][^{_DELIM}]*)
    | (?P<discard>\#_)
    | (?P<special>\#\#[^{_DELIM}]+)
    | (?P<tag>\#[A-Za-z][^{_DELIM}]*)
    | (?P<char>\\(?:newline|space|tab|return|formfeed|backspace|u[0-9a-fA-F]{{4}}|\S))
    | (?P<end>\Z)
    | (?P<bad>.)
    )
    """,
    re.VERBOSE | re.DOTALL,
)
_INT = re.compile(r"[+-]?\d+N?")
_FLOAT = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?M?")
_STRING_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_ESCAPES = {"t": "\t", "r": "\r", "n": "\n", "\\": "\\", '"': '"', "b": "\b", "f": "\f", "/": "/"}
_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r", "formfeed": "\f", "backspace": "\b"}
_SPECIAL = {"##Inf": math.inf, "##-Inf": -math.inf, "##NaN": math.nan}
_CLOSER = {"[": "]", "(": ")", "{": "}", "#{": "}"}
_CONSTANTS = {"nil": None, "true": True, "false": False}


class _Reader:
    """One pass of a single compiled regex over the text; collections built on an explicit stack.

    Written for speed (a Jepsen history has millions of tokens): the state of the open
    collection lives in local variables, and the parent states on the stack.
    """

    def __init__(self, text: str, file: str, first_line: int) -> None:
        self.text = text
        self.file = file
        self.first_line = first_line
        self._newlines: list[int] | None = None

    def line_of(self, pos: int) -> int:
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        return self.first_line + bisect_right(self._newlines, pos - 1)

    def error(self, pos: int, cause: str) -> HistoryError:
        return HistoryError(self.file, self.line_of(pos), f"bad EDN: {cause}")

    def read(self) -> list[EdnForm]:
        keywords: dict[str, Keyword] = {}
        stack: list[tuple[str, int, list[Any], list[int] | None, list[str]]] = []
        # the open collection ("" = the top level): opener, where it opened, its elements,
        # where each element starts (top level and top-level collections only), pending prefixes
        opener = ""
        open_pos = 0
        items: list[Any] = []
        starts: list[int] | None = []
        prefixes: list[str] = []
        for m in _TOKEN.finditer(self.text):
            kind = m.lastgroup
            child_starts: list[int] | None = None
            if kind == "kw":
                token = m[kind]
                value = keywords.get(token)
                if value is None:
                    if len(token) == 1:
                        raise self.error(m.start(kind), "empty keyword ':'")
                    value = keywords[token] = Keyword(token[1:])
                if starts is None and not prefixes:
                    items.append(value)  # the common case, kept short
                    continue
                start = m.start(kind)
            elif kind == "num":
                token = m[kind]
                value = int(token) if token.isdigit() else self._number(token, m.start(kind))
                if starts is None and not prefixes:
                    items.append(value)
                    continue
                start = m.start(kind)
            elif kind == "str":
                start = m.start(kind)
                value = m[kind][1:-1]
                if "\\" in value:
                    try:
                        value = _unescape(value)
                    except ValueError as e:
                        raise self.error(start, str(e)) from e
            elif kind == "open":
                stack.append((opener, open_pos, items, starts, prefixes))
                opener = m.group(kind)
                open_pos = m.start(kind)
                items = []
                starts = [] if len(stack) == 1 else None
                prefixes = []
                continue
            elif kind == "close":
                start = m.start(kind)
                closer = m.group(kind)
                if not stack:
                    raise self.error(start, f"unmatched {closer!r}")
                if prefixes:
                    raise self.error(start, f"{prefixes[-1]} has no form before {closer!r}")
                if _CLOSER[opener] != closer:
                    raise self.error(
                        start, f"{closer!r} closes {opener!r} opened on line {self.line_of(open_pos)}"
                    )
                value = self._collection(opener, items, open_pos)
                if opener == "[" or opener == "(":
                    child_starts = starts
                start = open_pos
                opener, open_pos, items, starts, prefixes = stack.pop()
            elif kind == "sym":
                token = m.group(kind)
                start = m.start(kind)
                value = _CONSTANTS[token] if token in _CONSTANTS else Symbol(token)
            elif kind == "end":
                break
            elif kind == "discard":
                prefixes.append("#_")
                continue
            elif kind == "tag":
                prefixes.append(m.group(kind))
                continue
            elif kind == "special":
                start = m.start(kind)
                token = m.group(kind)
                if token not in _SPECIAL:
                    raise self.error(start, f"unknown symbolic value {token!r}")
                value = _SPECIAL[token]
            elif kind == "char":
                start = m.start(kind)
                name = m.group(kind)[1:]
                if len(name) == 1:
                    value = name
                elif name[0] == "u" and len(name) == 5:
                    value = chr(int(name[1:], 16))
                else:
                    value = _CHARS[name]
            else:  # bad
                start = m.start(kind)
                char = m.group(kind)
                raise self.error(
                    start, "unterminated string" if char == '"' else f"unexpected character {char!r}"
                )
            # add the value to the open collection, after its pending #_ and tags
            discarded = False
            while prefixes:
                if prefixes.pop() == "#_":
                    discarded = True
                    break
                # a tag (#inst, #uuid, #jepsen.history.Op ...) reads as the value it tags
            if discarded:
                continue
            if starts is not None:
                starts.append(start)
                if not stack:
                    lines = None if child_starts is None else [self.line_of(p) for p in child_starts]
                    value = (value, lines)
            items.append(value)
        if stack:
            raise self.error(open_pos, f"{opener!r} is never closed")
        if prefixes:
            raise self.error(len(self.text), f"{prefixes[-1]} has no form after it")
        return [
            EdnForm(self.line_of(start), value, lines)
            for (value, lines), start in zip(items, starts or [], strict=True)
        ]

    def _number(self, token: str, start: int) -> int | float:
        if _INT.fullmatch(token):
            return int(token.rstrip("N"))
        if _FLOAT.fullmatch(token):
            return float(token.rstrip("M"))
        raise self.error(start, f"invalid number {token!r}")

    def _collection(self, opener: str, items: list[Any], pos: int) -> Any:
        if opener == "[" or opener == "(":
            return items
        if opener == "#{":
            try:
                return frozenset(_hashable(v) for v in items)
            except TypeError as e:
                raise self.error(pos, f"set element cannot be hashed: {e}") from e
        if len(items) % 2:
            raise self.error(pos, f"map has an odd number of forms ({len(items)})")
        try:
            return dict(zip(items[::2], items[1::2], strict=True))
        except TypeError:
            pass
        try:
            return {_hashable(items[i]): items[i + 1] for i in range(0, len(items), 2)}
        except TypeError as e:
            raise self.error(pos, f"map key cannot be hashed: {e}") from e


def _unescape(body: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if len(code) == 5:
            return chr(int(code[1:], 16))
        if code in _ESCAPES:
            return _ESCAPES[code]
        raise ValueError(f"unknown string escape \\{code}")

    return _STRING_ESCAPE.sub(one, body)


def _hashable(value: Any) -> Any:
    """Vectors used as map keys or set elements become tuples; maps cannot be keys."""
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        raise TypeError("a map")
    return value


def read_edn(text: str, file: str = "<edn>", first_line: int = 1) -> list[EdnForm]:
    """Every top-level form of `text`. Malformed input raises HistoryError naming the line."""
    return _Reader(text, file, first_line).read()


def read_one(text: str, file: str, line: int) -> Any:
    """Exactly one form (a history line); anything else is malformed."""
    forms = read_edn(text, file, line)
    if len(forms) != 1:
        raise HistoryError(file, line, f"bad EDN: expected one form on the line, found {len(forms)}")
    return forms[0].value


def plain(value: Any) -> Any:
    """EDN value -> JSON-like value: keywords and symbols become str, sets sorted lists, tuples lists."""
    if isinstance(value, str):
        return str(value) if type(value) is not str else value
    if isinstance(value, dict):
        return {plain_key(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, frozenset):
        items = [plain(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    return value


def plain_key(key: Any) -> Any:
    """Map keys stay hashable: keywords become str, vectors stay tuples."""
    if isinstance(key, str):
        return str(key) if type(key) is not str else key
    if isinstance(key, tuple):
        return tuple(plain_key(k) for k in key)
    return key
