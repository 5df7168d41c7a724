"""The phases of one audit, in one list, each timed: set-up to check.

The runner only wires: the stack backend starts what the run needs, the workload says what to
send, the interpreter sends it and records each op, the nemesis injects faults, and the checker
judges the history file afterwards (the same code path as `oversell check`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from checkers.formats import load_history
from checkers.history import FAIL, OK
from checkers.history_check import HistoryCheck, check_history
from harness.interpreter import Interpreter
from harness.nemesis.config import FaultWindow
from harness.nemesis.nemesis_runner import NemesisRunner
from harness.progress import Progress
from harness.recorder import HistoryRecorder
from harness.run_spec import RunSpec
from harness.stack.backends import make_stack
from harness.stack.stack import Stack, StackRequest
from workloads.candidate_client import CandidateClient, Outcome
from workloads.flash_sale import Drain, FlashSaleWorkload, Op


class RunError(RuntimeError):
    """The run could not do what it must (e.g. the candidate refused the reset)."""


@dataclass(slots=True)
class RunRecord:
    """What happened, beside the history: timings per phase, schedule, nemesis errors."""

    phases: dict[str, float] = field(default_factory=dict)
    schedule: list[FaultWindow] = field(default_factory=list)
    nemesis_errors: list[str] = field(default_factory=list)
    unsettled: dict[str, int | None] = field(default_factory=dict)  # instance -> in-flight work at the final reads
    interrupted: bool = False
    stack: dict[str, Any] = field(default_factory=dict)
    check: HistoryCheck | None = None


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    step: Callable[[AuditRun], Awaitable[None]]
    always: bool = False  # runs after an error or an interruption too


def write_json(path: Path, value: Any) -> None:
    path.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


class AuditRun:
    def __init__(self, spec: RunSpec, run_dir: Path, schedule: list[FaultWindow], runs_root: Path | None = None,
                 out: Any = sys.stderr) -> None:  # fmt: skip
        self.spec = spec
        self.run_dir = run_dir
        self.runs_root = runs_root
        self.record = RunRecord(schedule=schedule)
        self.workload = FlashSaleWorkload(spec.workload, spec.seed, spec.instances)
        self.recorder = HistoryRecorder(run_dir / "history.jsonl")
        self.progress = Progress(self.recorder, out=out)
        self.nemesis: NemesisRunner | None = None
        self._stack: Stack | None = None
        self._interpreter: Interpreter | None = None
        self._client_scope = contextlib.AsyncExitStack()
        self._rush = asyncio.Event()

    @property
    def stack(self) -> Stack:
        assert self._stack is not None, "the setup phase makes the stack"
        return self._stack

    @property
    def interpreter(self) -> Interpreter:
        assert self._interpreter is not None, "the setup phase makes the interpreter"
        return self._interpreter

    async def execute(self) -> RunRecord:
        """Every phase in order; after a failure only the `always` ones, then the failure is raised."""
        failure: BaseException | None = None
        for phase in PHASES:
            if failure is not None and not phase.always:
                continue
            started = time.monotonic()
            self.progress.phase(phase.name)
            try:
                await phase.step(self)
            except (asyncio.CancelledError, KeyboardInterrupt) as e:
                self.record.interrupted = True
                failure = failure or e
            except BaseException as e:
                failure = failure or e
            finally:
                self.record.phases[phase.name] = round(time.monotonic() - started, 3)
        if failure is not None:
            raise failure
        return self.record

    # --- the phases ------------------------------------------------------------------------------

    async def setup(self) -> None:
        spec = self.spec
        request = StackRequest(
            run_dir=self.run_dir, instances=spec.instances, candidate=spec.candidate.launch(),
            redis_persistence=spec.redis_persistence, ready_timeout_s=spec.setup_timeout_s, runs_root=self.runs_root,
        )  # fmt: skip
        self._stack = make_stack(spec.backend, request)
        await self._stack.start()
        self.record.stack = self._stack.describe()
        # pids and ports, on disk even if the run is interrupted before results.json
        write_json(self.run_dir / "stack.json", self.record.stack)
        client = await self._client_scope.enter_async_context(CandidateClient(timeout_s=spec.workload.op_timeout_s))
        self._interpreter = Interpreter(
            self.recorder, client, self._stack.endpoints, self.workload.workers,
            call_timeout_s=spec.workload.op_timeout_s + spec.stop_grace_s, faulted=self._faulted,
        )  # fmt: skip
        self.nemesis = NemesisRunner(self._stack, self.recorder, self.record.schedule, spec.nemesis.faults,
                                     view=self._interpreter)  # fmt: skip

    async def reset(self) -> None:
        outcome = await self.interpreter.invoke(0, self.workload.reset())
        if outcome.type != OK:
            raise RunError(f"the candidate did not accept POST /reset on {self.stack.endpoints[0].base_url}: {outcome.error}")

    async def chaos(self) -> None:
        """Buyers, readers and restockers for `chaos_s`, the nemesis beside them."""
        spec = self.spec
        assert self.nemesis is not None
        stop = asyncio.Event()
        started = time.monotonic()
        tasks = [
            asyncio.create_task(self.interpreter.run(worker, ops, stop, started, after=self._after_chaos_op))
            for worker, ops in self.workload.chaos_streams()
        ]
        rush = self._next_rush if spec.nemesis.timing == "rush" and spec.workload.restock_every_s > 0 else None
        nemesis_stop = asyncio.Event()
        nemesis_task = asyncio.create_task(self.nemesis.run(started, rush, nemesis_stop))
        nemesis = self.nemesis
        self.progress.start(lambda: [f"{w.fault} {w.target}" for w in nemesis.active])
        try:
            await asyncio.wait([nemesis_task], timeout=spec.chaos_s)
            if not nemesis_task.done() or nemesis_task.exception() is None:
                await asyncio.sleep(max(0.0, started + spec.chaos_s - time.monotonic()))
        finally:
            stop.set()
            nemesis_stop.set()
            self._rush.set()
            # the fault action under way finishes (a restart waits for its node to answer), then
            # the schedule ends; only one that outlives the set-up timeout is cut off
            await asyncio.wait([nemesis_task], timeout=spec.setup_timeout_s + spec.stop_grace_s)
            nemesis_task.cancel()
            await asyncio.wait([nemesis_task])
            # workers finish the op in flight (bounded by the client timeout), then stop; an op
            # still in flight past that is cancelled, and completes `info`
            await self._finish(tasks, spec.workload.op_timeout_s + spec.stop_grace_s)
            self.progress.stop()
        if not nemesis_task.cancelled() and nemesis_task.exception() is not None:
            raise nemesis_task.exception()  # type: ignore[misc]

    async def heal(self) -> None:
        if self.nemesis is not None:
            await self.nemesis.heal_all()

    async def drain(self) -> None:
        """Fault-free sell-out, as a flash sale ends (see workloads.flash_sale.Drain)."""
        if self.spec.drain_s <= 0:
            return
        drain = Drain(self.workload)
        started = time.monotonic()
        deadline = started + self.spec.drain_s
        never = asyncio.Event()

        def after(op: Op, outcome: Outcome) -> None:
            drain.update(op, outcome.type, outcome.value)

        tasks = [asyncio.create_task(self.interpreter.run(w, drain.ops(w), never, started, deadline, after))
                 for w in drain.workers]  # fmt: skip
        await self._finish(tasks, None)

    async def quiesce(self) -> None:
        """Let the system settle before the final reads: the quiesce delay, then until no instance
        reports work in flight (/health `in_flight`: e.g. a sale that outlived its request's deadline
        and is still recording its order). The final reads must see such work done, or they would
        call its units leaked. Bounded by `settle_limit_s`: past it the reads go ahead, noted in
        results.json.
        """
        spec = self.spec
        await asyncio.sleep(spec.quiesce_s)
        deadline = time.monotonic() + spec.settle_limit_s
        client, instances = self.interpreter.client, self.stack.endpoints
        while True:
            counts = await asyncio.gather(*(client.in_flight(i.base_url) for i in instances))
            busy = {i.name: n for i, n in zip(instances, counts, strict=True) if n != 0}
            if not busy:
                self.record.unsettled = {}
                return
            if time.monotonic() > deadline:
                self.record.unsettled = busy
                print(f"[oversell] still in flight after {spec.settle_limit_s:g} s: {busy}", file=sys.stderr)
                return
            await asyncio.sleep(spec.settle_poll_s)

    async def final_reads(self) -> None:
        """After quiescence: stock and persisted orders of every item, by a fresh process."""
        worker = 0  # the buyer 0 slot, under a fresh id: every worker is stopped by now
        self.interpreter.pids.retire(worker)
        for op in self.workload.final_reads():
            outcome = await self.interpreter.invoke(worker, op)
            if op.f == "orders" and outcome.type == FAIL:
                raise RunError(f"final orders read refused by {self.stack.endpoints[0].base_url}: {outcome.error}")

    async def teardown(self) -> None:
        if self.nemesis is not None:
            self.record.nemesis_errors = list(self.nemesis.errors)
        self.progress.stop()
        try:
            await self._client_scope.aclose()
            if self._stack is not None:
                await asyncio.shield(self._stack.stop())
        finally:
            self.recorder.close()

    async def check(self) -> None:
        """The recorded history, read back from disk and judged as `oversell check` would."""
        history = self.run_dir / "history.jsonl"
        loaded = load_history(str(history))
        self.record.check = check_history(loaded.events, "stock", time_limit=self.spec.check_time_limit_s,
                                          file=str(history))  # fmt: skip

    # --- helpers ---------------------------------------------------------------------------------

    def _faulted(self) -> set[str]:
        return self.nemesis.faulted_nodes() if self.nemesis is not None else set()

    async def _next_rush(self) -> None:
        """Wait until the next restock is acknowledged: that item's buying rush starts now."""
        await self._rush.wait()

    def _after_chaos_op(self, op: Op, outcome: Outcome) -> None:
        if op.f == "restock" and outcome.type == OK:
            self._rush.set()
            self._rush = asyncio.Event()

    @staticmethod
    async def _finish(tasks: list[asyncio.Task[None]], timeout: float | None) -> None:
        """Wait for the processes; cancel those still busy after `timeout`; raise what one raised."""
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for t in pending:
            t.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError):
                raise r


PHASES: tuple[Phase, ...] = (
    Phase("setup", AuditRun.setup),
    Phase("reset", AuditRun.reset),
    Phase("chaos", AuditRun.chaos),
    Phase("heal", AuditRun.heal),
    Phase("drain", AuditRun.drain),
    Phase("quiesce", AuditRun.quiesce),
    Phase("final reads", AuditRun.final_reads),
    Phase("teardown", AuditRun.teardown, always=True),
    Phase("check", AuditRun.check),
)
