"""Append-only history recorder: every event is written and flushed as it happens.

Histories are evidence. The recorder opens the file in append mode, never seeks or rewrites,
and flushes (and by default fsyncs every `fsync_every` events) so a crash or Ctrl-C loses
nothing that was recorded. Times are ns since the run began, from the monotonic clock.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from checkers.history import FAIL, INFO, INVOKE, NEMESIS, OK


class HistoryRecorder:
    """Writes our JSONL history format. Not thread-safe; one asyncio loop owns it."""

    def __init__(self, path: Path, fsync_every: int = 256) -> None:
        self.path = path
        # O_EXCL: a history is never reopened and mixed with another run's events.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self._file: BinaryIO = os.fdopen(fd, "ab", buffering=0)
        self._start_ns = time.monotonic_ns()
        self._index = 0
        self._fsync_every = fsync_every
        self.counts: dict[str, int] = {INVOKE: 0, OK: 0, FAIL: 0, INFO: 0}

    def now(self) -> int:
        return time.monotonic_ns() - self._start_ns

    def record(
        self,
        type: str,
        process: int | str,
        f: str,
        value: Any,
        node: str | None = None,
        error: str | None = None,
    ) -> int:
        """Append one event and return its index."""
        event: dict[str, Any] = {
            "index": self._index,
            "time": self.now(),
            "type": type,
            "process": process,
            "f": f,
            "value": value,
        }
        if node is not None:
            event["node"] = node
        if error is not None:
            event["error"] = error
        self._file.write(orjson.dumps(event) + b"\n")
        self._index += 1
        if process != NEMESIS:
            self.counts[type] = self.counts.get(type, 0) + 1
        if self._fsync_every and self._index % self._fsync_every == 0:
            os.fsync(self._file.fileno())
        return event["index"]

    @property
    def events_written(self) -> int:
        return self._index

    def close(self) -> None:
        if not self._file.closed:
            os.fsync(self._file.fileno())
            self._file.close()

    def __enter__(self) -> HistoryRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
