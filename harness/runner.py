"""The phases of one audit: set-up, chaos window, heal, quiesce, final reads, teardown, check.

The runner only wires: the stack starts processes, the workload decides what to send, the client
classifies answers, the recorder writes the history, the nemesis injects faults, and the checker
judges the history file afterwards (the same code path as `oversell check`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from checkers.history import FAIL, INFO, INVOKE, OK
from harness.nemesis.nemesis_runner import NemesisRunner
from harness.nemesis.schedule import FaultWindow
from harness.progress import Progress
from harness.recorder import HistoryRecorder
from harness.run_spec import RunSpec
from harness.stack.local_stack import LocalStack
from workloads.candidate_client import CandidateClient, Outcome
from workloads.flash_sale import FlashSaleWorkload, worker_rng


class RunError(RuntimeError):
    """The run could not do what it must (e.g. the candidate refused the reset)."""


@dataclass(slots=True)
class RunRecord:
    """What happened, beside the history: timings per phase, schedule, nemesis errors."""

    phases: dict[str, float] = field(default_factory=dict)
    schedule: list[FaultWindow] = field(default_factory=list)
    nemesis_errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    stack: dict[str, Any] = field(default_factory=dict)


def write_json(path: Path, value: Any) -> None:
    path.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


class ProcessIds:
    """Jepsen's rule: a process whose op ended `info` is retired; its worker takes a fresh id."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.current = list(range(workers))

    def get(self, worker: int) -> int:
        return self.current[worker]

    def retire(self, worker: int) -> None:
        self.current[worker] += self.workers


class AuditRun:
    def __init__(self, spec: RunSpec, run_dir: Path, schedule: list[FaultWindow], out: Any = sys.stderr) -> None:
        self.spec = spec
        self.run_dir = run_dir
        self.record = RunRecord(schedule=schedule)
        self.workload = FlashSaleWorkload(spec.workload, spec.seed)
        w = spec.workload
        # workers: buyers, then readers, then one restocker; final reads use fresh ids after them
        self.n_workers = w.concurrency + w.readers + 1
        self.pids = ProcessIds(self.n_workers)
        self.recorder = HistoryRecorder(run_dir / "history.jsonl")
        self.progress = Progress(self.recorder, out=out)
        self.stop_event = asyncio.Event()
        self.nemesis: NemesisRunner | None = None

    async def _op(
        self, worker: int, f: str, value: dict[str, Any], node: str, call: Callable[[], Awaitable[Outcome]]
    ) -> Outcome:
        """Record invoke, send, record completion. The invoke is on disk before the request leaves."""
        process = self.pids.get(worker)
        self.recorder.record(INVOKE, process, f, value, node=node)
        outcome = await call()
        self.recorder.record(outcome.type, process, f, outcome.value if outcome.type == OK else value,
                             node=node, error=outcome.error)  # fmt: skip
        if outcome.type == INFO:
            self.pids.retire(worker)
        return outcome

    async def _buyer(self, worker: int, client: CandidateClient, instances: list[Any]) -> None:
        rng = worker_rng(self.spec.seed, worker)
        think = self.spec.workload.think_ms / 1000
        for n in itertools.count():
            if self.stop_event.is_set():
                return
            inst = instances[rng.randrange(len(instances))]
            value = self.workload.buy(rng, worker, n)
            url = inst.base_url
            await self._op(worker, "buy", value, inst.name,
                           lambda u=url, v=value: client.buy(u, v["item"], v["qty"], v["order"]))  # fmt: skip
            await asyncio.sleep(rng.uniform(0, 2 * think))

    async def _reader(self, worker: int, client: CandidateClient, instances: list[Any]) -> None:
        rng = worker_rng(self.spec.seed, worker)
        think = self.spec.workload.think_ms / 1000
        while not self.stop_event.is_set():
            inst = instances[rng.randrange(len(instances))]
            value = self.workload.read(rng)
            url = inst.base_url
            await self._op(worker, "read", value, inst.name, lambda u=url, v=value: client.read(u, v["item"]))
            await asyncio.sleep(rng.uniform(0, 2 * think))

    async def _restocker(self, worker: int, client: CandidateClient, instances: list[Any]) -> None:
        rng = worker_rng(self.spec.seed, worker)
        every = self.spec.workload.restock_every_s
        if every <= 0:
            return
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=every)
            if self.stop_event.is_set():
                return
            for value in self.workload.restock_round():
                inst = instances[rng.randrange(len(instances))]
                url = inst.base_url
                await self._op(worker, "restock", value, inst.name,
                               lambda u=url, v=value: client.restock(u, v["item"], v["qty"]))  # fmt: skip

    async def _phase(self, name: str, coro: Awaitable[Any]) -> Any:
        started = time.monotonic()
        self.progress.phase(name)
        try:
            return await coro
        finally:
            self.record.phases[name] = round(time.monotonic() - started, 3)

    async def execute(self) -> RunRecord:
        spec = self.spec
        stack = LocalStack(
            self.run_dir,
            instances=spec.instances,
            candidate_cmd=spec.candidate.command_template(sys.executable),
            redis_persistence=spec.redis_persistence,
            ready_timeout=spec.setup_timeout_s,
            candidate_ready_timeout=spec.setup_timeout_s,
        )
        try:
            await self._phase("setup", stack.start())
            self.record.stack = stack.describe()
            async with CandidateClient(timeout_s=spec.workload.op_timeout_s) as client:
                await self._phase("reset", self._reset(client, stack))
                await self._phase("chaos", self._chaos(client, stack))
                await self._phase("heal", self._heal())
                await self._phase("quiesce", asyncio.sleep(spec.quiesce_s))
                await self._phase("final reads", self._final_reads(client, stack))
        except (asyncio.CancelledError, KeyboardInterrupt):
            self.record.interrupted = True
            raise
        finally:
            if self.nemesis is not None:
                self.record.nemesis_errors = list(self.nemesis.errors)
            self.progress.stop()
            started = time.monotonic()
            await asyncio.shield(stack.stop())
            self.record.phases["teardown"] = round(time.monotonic() - started, 3)
            self.recorder.close()
        return self.record

    async def _reset(self, client: CandidateClient, stack: LocalStack) -> None:
        inst = stack.instances[0]
        url = inst.base_url
        items = self.workload.config.initial_stock()
        outcome = await self._op(0, "reset", {"items": items}, inst.name, lambda: client.reset(url, items))
        if outcome.type != OK:
            raise RunError(f"the candidate did not accept POST /reset on {inst.base_url}: {outcome.error}")

    async def _chaos(self, client: CandidateClient, stack: LocalStack) -> None:
        spec = self.spec
        instances = list(stack.instances)
        self.nemesis = NemesisRunner(stack, self.recorder, self.record.schedule)
        w = spec.workload
        tasks = [asyncio.create_task(self._buyer(i, client, instances)) for i in range(w.concurrency)]
        tasks += [asyncio.create_task(self._reader(w.concurrency + i, client, instances)) for i in range(w.readers)]
        tasks.append(asyncio.create_task(self._restocker(self.n_workers - 1, client, instances)))
        started = time.monotonic()
        nemesis_task = asyncio.create_task(self.nemesis.run(started))
        self.progress.start(lambda: [f"{x.fault} {x.target}" for x in self.nemesis.active] if self.nemesis else [])
        try:
            await asyncio.sleep(spec.chaos_s)
        finally:
            self.stop_event.set()
            nemesis_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await nemesis_task
            # workers finish the op in flight (bounded by the client timeout), then stop
            done, pending = await asyncio.wait(tasks, timeout=spec.workload.op_timeout_s + 5)
            for t in pending:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for t in done:
                if t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]

    async def _heal(self) -> None:
        if self.nemesis is not None:
            await self.nemesis.heal_all()

    async def _final_reads(self, client: CandidateClient, stack: LocalStack) -> None:
        """After quiescence: a stock read and the persisted orders of every item, fresh processes."""
        inst = stack.instances[0]
        url = inst.base_url
        worker = 0  # the buyer 0 slot, under a fresh id: every worker is stopped by now
        self.pids.retire(worker)
        for item in self.workload.items:
            await self._op(worker, "read", {"item": item}, inst.name, lambda i=item: client.read(url, i))
            outcome = await self._op(worker, "orders", {"item": item}, inst.name,
                                     lambda i=item: client.orders(url, i))  # fmt: skip
            if outcome.type == FAIL:
                raise RunError(f"final orders read refused by {inst.base_url}: {outcome.error}")
