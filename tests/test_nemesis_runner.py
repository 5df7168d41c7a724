"""The nemesis runner: follows a schedule, records every start and stop, and never hides a failed heal.

The faults here are test faults that record what they were asked to do (the runner's logic is
under test, not a fault's effect: tests/test_audit_runs.py has those on a real stack).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import pytest

from harness.nemesis import registry
from harness.nemesis.config import FaultWindow, NemesisConfig
from harness.nemesis.fault import HealError
from harness.nemesis.nemesis_runner import NemesisRunner
from harness.recorder import HistoryRecorder


class Recording:
    """A fault that logs its calls and fails where told to."""

    def __init__(self, name: str, fail_start: set[str] = frozenset(), fail_stop: set[str] = frozenset(),
                 fail_heal: bool = False) -> None:  # fmt: skip
        self.name = name
        self.description = "records what it is asked to do"
        self.defaults: dict[str, Any] = {}
        self.calls: list[tuple[str, str, float]] = []
        self.fail_start, self.fail_stop, self.fail_heal = fail_start, fail_stop, fail_heal

    def length(self, config: NemesisConfig, rng: random.Random) -> float:
        return 1.0

    def plan(self, config: NemesisConfig, instances: list[str], rng: random.Random) -> tuple[str, dict[str, Any]]:
        return instances[0], {}

    async def start(self, stack: Any, window: FaultWindow) -> dict[str, Any]:
        self.calls.append(("start", window.target, time.monotonic()))
        if window.target in self.fail_start:
            raise RuntimeError(f"cannot start on {window.target}")
        return {"started": window.target}

    async def stop(self, stack: Any, window: FaultWindow) -> dict[str, Any]:
        self.calls.append(("stop", window.target, time.monotonic()))
        if window.target in self.fail_stop:
            raise RuntimeError(f"cannot stop on {window.target}")
        return {}

    async def heal(self, stack: Any) -> None:
        self.calls.append(("heal", "", time.monotonic()))
        if self.fail_heal:
            raise RuntimeError("still broken")


@pytest.fixture
def fault(request):
    made: list[str] = []

    def make(**kw: Any) -> Recording:
        f = Recording(f"test-{request.node.name[:30]}-{len(made)}", **kw)
        registry.register(f)
        made.append(f.name)
        return f

    yield make
    for name in made:
        registry.unregister(name)


def history(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(runner: NemesisRunner) -> None:
    asyncio.run(runner.run(time.monotonic()))


def test_windows_start_and_stop_on_time_and_each_is_recorded_once(tmp_path, fault):
    f = fault()
    schedule = [FaultWindow(f.name, "n1", 0.05, 0.15), FaultWindow(f.name, "n1,n3", 0.25, 0.3)]
    with HistoryRecorder(tmp_path / "h.jsonl") as recorder:
        runner = NemesisRunner(object(), recorder, schedule)
        t0 = time.monotonic()
        run(runner)
    assert [(c[0], c[1]) for c in f.calls] == [("start", "n1"), ("stop", "n1"), ("start", "n1"), ("start", "n3"),
                                               ("stop", "n1"), ("stop", "n3")]  # fmt: skip
    assert f.calls[0][2] - t0 >= 0.05 - 0.01 and f.calls[1][2] - f.calls[0][2] >= 0.1 - 0.01
    events = history(tmp_path / "h.jsonl")
    assert [(e["f"], e["value"]["target"], e["process"], e["type"]) for e in events] == [
        (f"start-{f.name}", "n1", "nemesis", "info"), (f"stop-{f.name}", "n1", "nemesis", "info"),
        (f"start-{f.name}", "n1,n3", "nemesis", "info"), (f"stop-{f.name}", "n1,n3", "nemesis", "info"),
    ]  # fmt: skip
    assert events[2]["value"]["targets"] == {"n1": {"started": "n1"}, "n3": {"started": "n3"}}
    assert runner.active == [] and runner.errors == []


def test_a_start_that_fails_is_recorded_and_the_run_goes_on(tmp_path, fault):
    f = fault(fail_start={"n3"})
    schedule = [FaultWindow(f.name, "n1,n3", 0.0, 0.05), FaultWindow(f.name, "n2", 0.1, 0.15)]
    with HistoryRecorder(tmp_path / "h.jsonl") as recorder:
        runner = NemesisRunner(object(), recorder, schedule)
        run(runner)
    events = history(tmp_path / "h.jsonl")
    assert "cannot start on n3" in events[0]["error"] and "error" not in events[1]
    assert len(events) == 4 and runner.errors == [f"start {f.name} n3: RuntimeError: cannot start on n3"]


def test_a_stop_that_fails_is_recorded_and_raises_heal_error_naming_fault_and_node(tmp_path, fault):
    f = fault(fail_stop={"n2"})
    schedule = [FaultWindow(f.name, "n2", 0.0, 0.05), FaultWindow(f.name, "n1", 0.1, 0.15)]
    with HistoryRecorder(tmp_path / "h.jsonl") as recorder:
        runner = NemesisRunner(object(), recorder, schedule)
        with pytest.raises(HealError) as raised:
            run(runner)
    assert raised.value.fault == f.name and raised.value.node == "n2" and "cannot stop" in raised.value.error
    events = history(tmp_path / "h.jsonl")
    assert [e["f"] for e in events] == [f"start-{f.name}", f"stop-{f.name}"]  # the second window never started
    assert "cannot stop on n2" in events[1]["error"]
    assert runner.active == schedule[:1]  # still in effect, so the healthy routing avoids n2


def test_heal_all_stops_what_is_active_then_heals_each_fault_of_the_run(tmp_path, fault):
    f, g = fault(), fault()
    with HistoryRecorder(tmp_path / "h.jsonl") as recorder:
        runner = NemesisRunner(object(), recorder, [FaultWindow(f.name, "n1", 0.0, 60.0)], faults=[f.name, g.name])

        async def cut_short() -> None:
            task = asyncio.create_task(runner.run(time.monotonic()))
            await asyncio.sleep(0.05)
            assert runner.faulted_nodes() == {"n1"}
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await runner.heal_all()

        asyncio.run(cut_short())
    assert [c[0] for c in f.calls] == ["start", "stop", "heal"] and [c[0] for c in g.calls] == ["heal"]
    assert runner.active == [] and runner.faulted_nodes() == set()


def test_a_heal_that_fails_raises(tmp_path, fault):
    f = fault(fail_heal=True)
    with HistoryRecorder(tmp_path / "h.jsonl") as recorder:
        runner = NemesisRunner(object(), recorder, [], faults=[f.name])
        with pytest.raises(HealError, match="still broken"):
            asyncio.run(runner.heal_all())
