"""Runs a fault schedule against a stack and records every start and stop in the history.

Each action is recorded as a `nemesis` op (type `info`, f `start-<fault>` / `stop-<fault>`) once
it is in effect, with its target and what was done; a failed action is recorded with `error`.
A window on several instances ("n1,n3") applies the fault to each and is recorded once.
A fault that could not be started is evidence and the run goes on; a fault that could not be
undone is never hidden: the stop is recorded with its error and `HealError` ends the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

from checkers.history import INFO, NEMESIS
from harness.nemesis.config import FaultWindow
from harness.nemesis.fault import HealError, InFlight, RunView
from harness.nemesis.registry import get_fault
from harness.recorder import HistoryRecorder
from harness.stack.stack import Stack


class NemesisRunner:
    def __init__(self, stack: Stack, recorder: HistoryRecorder, schedule: list[FaultWindow],
                 faults: list[str] | None = None, view: RunView | None = None) -> None:  # fmt: skip
        self.stack = stack
        self.view: RunView = view or _NothingInFlight()
        self.recorder = recorder
        self.schedule = schedule
        # the faults whose traces `heal_all` removes: the run's faults, else those scheduled
        self.faults = list(dict.fromkeys(faults if faults is not None else [w.fault for w in schedule]))
        self.active: list[FaultWindow] = []
        self.errors: list[str] = []

    def faulted_nodes(self) -> set[str]:
        """Instances (and "redis") an active window touches: a process it stops or a link it cuts."""
        return {t.partition(":")[0] for w in self.active for t in w.targets()}

    def _record(self, f: str, window: FaultWindow, detail: dict[str, Any], error: str | None = None) -> None:
        value = {"fault": window.fault, "target": window.target, **window.params, **detail}
        self.recorder.record(INFO, NEMESIS, f, value, error=error)

    async def _apply(self, action: str, window: FaultWindow) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Start or stop the fault on each target; the others still go ahead if one fails."""
        fault = get_fault(window.fault)
        targets = window.targets()
        details: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        for target in targets:
            one = dataclasses.replace(window, target=target)
            try:
                detail = await (fault.start(self.stack, one) if action == "start" else fault.stop(self.stack, one))
            except Exception as e:  # a fault that could not be applied is evidence too
                errors.append((target, f"{type(e).__name__}: {e}"))
                continue
            details[target] = detail
        if len(targets) == 1:
            return details.get(targets[0], {}), errors
        return {"targets": details}, errors

    @staticmethod
    def _joined(errors: list[tuple[str, str]]) -> str | None:
        return "; ".join(f"{target}: {error}" for target, error in errors) or None

    async def _start(self, window: FaultWindow) -> None:
        self.active.append(window)
        detail, errors = await self._apply("start", window)
        self.errors += [f"start {window.fault} {t}: {e}" for t, e in errors]
        self._record(f"start-{window.fault}", window, detail, error=self._joined(errors))

    async def _stop(self, window: FaultWindow) -> None:
        detail, errors = await self._apply("stop", window)
        self.errors += [f"stop {window.fault} {t}: {e}" for t, e in errors]
        self._record(f"stop-{window.fault}", window, detail, error=self._joined(errors))
        if errors:
            raise HealError(window.fault, errors[0][0], errors[0][1])
        self.active.remove(window)

    async def run(
        self,
        chaos_started: float,
        next_rush: Callable[[], Awaitable[None]] | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Follow the schedule; offsets are seconds from `chaos_started` (time.monotonic()).

        With `next_rush` (rush timing), a window waits after its offset for the next restock
        to be acknowledged, then `rush_delay_ms`, and keeps its drawn length from there. Waiting
        delays the windows after it, so each keeps at least its drawn healed gap before it.
        `stop` ends the schedule between two actions, never inside one (a restart cut in half
        would leave a node neither down nor known to be up); a window still in effect then
        stays active, and `heal_all` stops it.
        """
        stop = stop or asyncio.Event()
        previous_end_s = 0.0  # drawn end of the previous window
        healed_at = chaos_started  # when the previous window actually ended
        for window in self.schedule:
            not_before = max(chaos_started + window.start_s, healed_at + window.start_s - previous_end_s)
            if await _stopped(stop, not_before - time.monotonic()):
                return
            if next_rush is not None and window.params.get("rush_delay_ms") is not None:
                await next_rush()
                if await _stopped(stop, window.params["rush_delay_ms"] / 1000):
                    return
            resolved = await self._resolve(window)
            started = time.monotonic()  # a targeted fault's window lasts its length from its start
            if resolved is not None:
                await self._start(resolved)
            if await _stopped(stop, started + (window.end_s - window.start_s) - time.monotonic()):
                return
            if resolved is not None:
                await self._stop(resolved)
            previous_end_s, healed_at = window.end_s, time.monotonic()

    async def _resolve(self, window: FaultWindow) -> FaultWindow | None:
        """A targeted fault picks its target now; one that finds none is recorded as skipped."""
        resolve = getattr(get_fault(window.fault), "resolve", None)
        if resolve is None:
            return window
        resolved = await resolve(self.stack, self.view, window)
        if resolved is None:
            self._record(f"skip-{window.fault}", window, {"reason": "no target found in time"})
        return resolved

    async def heal_all(self) -> None:
        """Stop what is active, then have each of the run's faults remove every trace of itself.

        Raises HealError naming the fault and node when anything could not be undone.
        """
        for window in list(self.active):
            await self._stop(window)
        for name in self.faults:
            try:
                await get_fault(name).heal(self.stack)
            except Exception as e:
                self.errors.append(f"heal {name}: {type(e).__name__}: {e}")
                node = getattr(e, "node", None) or "the stack"
                raise HealError(name, node, f"{type(e).__name__}: {e}") from e


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds` unless `stop` is set first; True if it is set."""
    if not stop.is_set() and seconds > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


class _NothingInFlight:
    def in_flight(self) -> list[InFlight]:
        return []
