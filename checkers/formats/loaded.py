"""What every format loader returns: the events plus what the source implies about checking them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checkers.history import Event


@dataclass(slots=True)
class LoadedHistory:
    """A parsed history file.

    `default_model` is the model the source implies (None when it cannot tell: then `--model` is
    needed); `default_init` the initial state it implies (None: the model's own default, e.g. a
    register that starts as nil).
    """

    file: str
    format: str
    events: list[Event]
    default_model: str | None = None
    default_init: Any = None
