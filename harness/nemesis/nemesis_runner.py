"""Runs a fault schedule against a stack and records every start and stop in the history.

Each action is recorded as a `nemesis` op (type `info`, f `start-<fault>` / `stop-<fault>`) once
it is in effect, with its target and what was done; a failed action is recorded with `error`.
`heal_all` stops whatever is still active, then resets every toxic and resumes every process, so
the final reads always see a healed system.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from checkers.history import INFO, NEMESIS
from harness.nemesis.fault import Fault
from harness.nemesis.kill_nemesis import KillNemesis
from harness.nemesis.latency_nemesis import LatencyNemesis
from harness.nemesis.partition_nemesis import PartitionNemesis
from harness.nemesis.pause_nemesis import PauseNemesis
from harness.nemesis.schedule import FaultWindow
from harness.recorder import HistoryRecorder
from harness.stack.local_stack import LocalStack

FAULT_IMPLEMENTATIONS: dict[str, Fault] = {
    f.name: f for f in (PartitionNemesis(), LatencyNemesis(), PauseNemesis(), KillNemesis())
}


class NemesisRunner:
    def __init__(self, stack: LocalStack, recorder: HistoryRecorder, schedule: list[FaultWindow]) -> None:
        self.stack = stack
        self.recorder = recorder
        self.schedule = schedule
        self.active: list[FaultWindow] = []
        self.errors: list[str] = []

    def _record(self, f: str, window: FaultWindow, detail: dict[str, Any], error: str | None = None) -> None:
        value = {"fault": window.fault, "target": window.target, **window.params, **detail}
        self.recorder.record(INFO, NEMESIS, f, value, error=error)

    async def _start(self, window: FaultWindow) -> None:
        fault = FAULT_IMPLEMENTATIONS[window.fault]
        self.active.append(window)
        try:
            detail = await fault.start(self.stack, window)
        except Exception as e:  # a fault that could not be applied is evidence too
            self.errors.append(f"start {window.fault} {window.target}: {e}")
            self._record(f"start-{window.fault}", window, {}, error=f"{type(e).__name__}: {e}")
            return
        self._record(f"start-{window.fault}", window, detail)

    async def _stop(self, window: FaultWindow) -> None:
        fault = FAULT_IMPLEMENTATIONS[window.fault]
        try:
            detail = await fault.stop(self.stack, window)
        except Exception as e:
            self.errors.append(f"stop {window.fault} {window.target}: {e}")
            self._record(f"stop-{window.fault}", window, {}, error=f"{type(e).__name__}: {e}")
        else:
            self._record(f"stop-{window.fault}", window, detail)
        finally:
            if window in self.active:
                self.active.remove(window)

    async def run(self, chaos_started: float) -> None:
        """Follow the schedule; offsets are seconds from `chaos_started` (time.monotonic())."""
        for window in self.schedule:
            await asyncio.sleep(max(0.0, chaos_started + window.start_s - time.monotonic()))
            await self._start(window)
            await asyncio.sleep(max(0.0, chaos_started + window.end_s - time.monotonic()))
            await self._stop(window)

    async def heal_all(self) -> None:
        """Stop what is active, then make sure: no toxics, every process running and resumed."""
        for window in list(self.active):
            await self._stop(window)
        with contextlib.suppress(Exception):
            await self.stack.toxiproxy.reset()
        for name in ["redis", *[i.name for i in self.stack.instances]]:
            with contextlib.suppress(Exception):
                process = self.stack.process(name)
                if process.running:
                    await self.stack.resume(name)
                else:
                    await self.stack.restart(name, graceful=False)
