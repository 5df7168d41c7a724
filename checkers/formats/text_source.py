"""Reading the text formats: UTF-8 decoding errors are malformed input, reported with their line."""

from __future__ import annotations

from collections.abc import Iterator

from checkers.history import HistoryError


def iter_text_lines(file: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its newline), streamed."""
    with open(file, "rb") as fh:
        for line, raw in enumerate(fh, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise HistoryError(
                    file, line, f"not UTF-8 text: byte {raw[e.start]:#04x} at column {e.start + 1}"
                ) from None
            yield line, text.rstrip("\r\n")


def read_text(file: str) -> str:
    """The whole file as text (for formats whose forms may span lines)."""
    with open(file, "rb") as fh:
        data = fh.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise HistoryError(file, line, f"not UTF-8 text: byte {data[e.start]:#04x}") from None
