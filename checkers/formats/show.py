"""Values quoted in error causes, cut short: a `file:line: cause` must stay one short line."""

from __future__ import annotations

from typing import Any


def show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
