"""Runs a fault schedule against a stack and records every start and stop in the history.

Each action is recorded as a `nemesis` op (type `info`, f `start-<fault>` / `stop-<fault>`) once
it is in effect, with its target and what was done; a failed action is recorded with `error`.
A window on several instances ("n1,n3") applies the fault to each and is recorded once.
`heal_all` stops whatever is still active, then resets every toxic and resumes every process, so
the final reads always see a healed system.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable
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


def _one_target(window: FaultWindow, target: str) -> FaultWindow:
    return dataclasses.replace(window, target=target)


class NemesisRunner:
    def __init__(self, stack: LocalStack, recorder: HistoryRecorder, schedule: list[FaultWindow]) -> None:
        self.stack = stack
        self.recorder = recorder
        self.schedule = schedule
        self.active: list[FaultWindow] = []
        self.errors: list[str] = []

    def faulted_nodes(self) -> set[str]:
        """Instances (and "redis") an active window touches: a process it stops or a link it cuts."""
        return {t.partition(":")[0] for w in self.active for t in w.targets()}

    def _record(self, f: str, window: FaultWindow, detail: dict[str, Any], error: str | None = None) -> None:
        value = {"fault": window.fault, "target": window.target, **window.params, **detail}
        self.recorder.record(INFO, NEMESIS, f, value, error=error)

    async def _apply(self, action: str, window: FaultWindow) -> tuple[dict[str, Any], list[str]]:
        """Start or stop the fault on each target; the others still go ahead if one fails."""
        fault = FAULT_IMPLEMENTATIONS[window.fault]
        targets = window.targets()
        details: dict[str, Any] = {}
        errors: list[str] = []
        for target in targets:
            one = _one_target(window, target)
            try:
                detail = await (fault.start(self.stack, one) if action == "start" else fault.stop(self.stack, one))
            except Exception as e:  # a fault that could not be applied is evidence too
                errors.append(f"{target}: {type(e).__name__}: {e}")
                continue
            details[target] = detail
        if len(targets) == 1:
            return details.get(targets[0], {}), errors
        return {"targets": details}, errors

    async def _start(self, window: FaultWindow) -> None:
        self.active.append(window)
        detail, errors = await self._apply("start", window)
        if errors:
            self.errors += [f"start {window.fault} {e}" for e in errors]
        self._record(f"start-{window.fault}", window, detail, error="; ".join(errors) or None)

    async def _stop(self, window: FaultWindow) -> None:
        try:
            detail, errors = await self._apply("stop", window)
            if errors:
                self.errors += [f"stop {window.fault} {e}" for e in errors]
            self._record(f"stop-{window.fault}", window, detail, error="; ".join(errors) or None)
        finally:
            if window in self.active:
                self.active.remove(window)

    async def run(self, chaos_started: float, next_rush: Callable[[], Awaitable[None]] | None = None) -> None:
        """Follow the schedule; offsets are seconds from `chaos_started` (time.monotonic()).

        With `next_rush` (rush timing), a window waits after its offset for the next restock
        to be acknowledged, then `rush_delay_ms`, and keeps its drawn length from there. Waiting
        delays the windows after it, so each keeps at least its drawn healed gap before it.
        """
        previous_end_s = 0.0  # drawn end of the previous window
        healed_at = chaos_started  # when the previous window actually ended
        for window in self.schedule:
            not_before = max(chaos_started + window.start_s, healed_at + window.start_s - previous_end_s)
            await asyncio.sleep(max(0.0, not_before - time.monotonic()))
            if next_rush is not None and "rush_delay_ms" in window.params:
                await next_rush()
                await asyncio.sleep(window.params["rush_delay_ms"] / 1000)
            started = time.monotonic()
            await self._start(window)
            await asyncio.sleep(max(0.0, started + (window.end_s - window.start_s) - time.monotonic()))
            await self._stop(window)
            previous_end_s, healed_at = window.end_s, time.monotonic()

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
