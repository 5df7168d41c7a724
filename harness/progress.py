"""Live progress on the terminal: phase, ops/s, ok/fail/info counts, active faults.

On a TTY one line is redrawn in place; otherwise (CI logs) a line is printed every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, TextIO

from checkers.history import FAIL, INFO, OK
from harness.recorder import HistoryRecorder


class Progress:
    def __init__(self, recorder: HistoryRecorder, out: TextIO, interval_s: float | None = None) -> None:
        self.recorder = recorder
        self.out = out
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.interval_s = interval_s if interval_s is not None else (0.5 if self.tty else 5.0)
        self._task: asyncio.Task[Any] | None = None
        self._faults: Callable[[], list[str]] = list
        self._started = time.monotonic()

    def phase(self, name: str) -> None:
        self._clear()
        print(f"[oversell] {name}", file=self.out, flush=True)

    def start(self, faults: Callable[[], list[str]]) -> None:
        self._faults = faults
        self._started = time.monotonic()
        self._task = asyncio.create_task(self._loop())

    def _clear(self) -> None:
        if self.tty:
            self.out.write("\r\x1b[2K")

    def line(self, rate: float) -> str:
        c = self.recorder.counts
        faults = ", ".join(self._faults()) or "none"
        elapsed = time.monotonic() - self._started
        return (
            f"  {elapsed:5.1f}s  {rate:7.1f} ops/s  ok {c.get(OK, 0)}  fail {c.get(FAIL, 0)}  "
            f"info {c.get(INFO, 0)}  faults: {faults}"
        )

    async def _loop(self) -> None:
        last_count, last_t = sum(self.recorder.counts.get(k, 0) for k in (OK, FAIL, INFO)), time.monotonic()
        while True:
            await asyncio.sleep(self.interval_s)
            now = time.monotonic()
            count = sum(self.recorder.counts.get(k, 0) for k in (OK, FAIL, INFO))
            rate = (count - last_count) / max(1e-9, now - last_t)
            last_count, last_t = count, now
            if self.tty:
                self.out.write("\r\x1b[2K" + self.line(rate))
                self.out.flush()
            else:
                print(self.line(rate), file=self.out, flush=True)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
            with contextlib.suppress(Exception):
                self._clear()
                if self.tty:
                    self.out.write("\n")
                self.out.flush()
