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

# Longest wait for work in flight in the instances before the final reads (a sale that retries its
# order insert gives up after 60 s by default; it lands within a second or so of the heal).
SETTLE_LIMIT_S = 70.0
SETTLE_POLL_S = 0.2


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
        # workers: buyers, then readers, then one restocker per item (a round's restocks are
        # concurrent); the final reads use buyer 0's slot under a fresh id
        self.first_restocker = w.concurrency + w.readers
        self.n_workers = self.first_restocker + w.items
        self.pids = ProcessIds(self.n_workers)
        self.recorder = HistoryRecorder(run_dir / "history.jsonl")
        self.progress = Progress(self.recorder, out=out)
        self.stop_event = asyncio.Event()
        self.restocked = asyncio.Condition()
        self.nemesis: NemesisRunner | None = None

    async def next_rush(self) -> None:
        """Wait until the next restock is acknowledged: that item's buying rush starts now."""
        async with self.restocked:
            await self.restocked.wait()

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
        """Buy in a loop through one instance, as a Jepsen worker is bound to its node: when that
        instance stalls, its buyers wait for it while the others keep selling."""
        rng = worker_rng(self.spec.seed, worker)
        think = self.spec.workload.think_ms / 1000
        inst = instances[worker % len(instances)]
        for n in itertools.count():
            if self.stop_event.is_set():
                return
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

    def _serving(self, instances: list[Any]) -> list[Any]:
        """Instances no active fault touches, for back-office restocks (all of them if none).

        A restock lost in a paused or cut-off instance is an unknown op: it would widen every
        supply bound of the checker by its quantity, and it would delay the rush it should start.
        A back office restocks through a healthy node, as a load balancer's health check would
        route it; the restock is still recorded like any op, and buyers go everywhere.
        """
        faulted = self.nemesis.faulted_nodes() if self.nemesis is not None else set()
        return [i for i in instances if i.name not in faulted] or instances

    async def _restocker(self, worker: int, item: str, client: CandidateClient, instances: list[Any]) -> None:
        """Restock one item on a fixed cadence; every item's restocker ticks at the same instants,
        so a round's rushes overlap, and a slow restock of one item delays no other item."""
        rng = worker_rng(self.spec.seed, worker)
        every = self.spec.workload.restock_every_s
        if every <= 0:
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        tick = 1
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=max(0.0, started + tick * every - loop.time()))
            if self.stop_event.is_set():
                return
            serving = self._serving(instances)
            inst = serving[rng.randrange(len(serving))]
            value = self.workload.restock(item)
            outcome = await self._op(worker, "restock", value, inst.name,
                                     lambda u=inst.base_url, v=value: client.restock(u, v["item"], v["qty"]))  # fmt: skip
            if outcome.type == OK:
                async with self.restocked:
                    self.restocked.notify_all()
            tick = max(tick + 1, int((loop.time() - started) / every) + 1)  # skip ticks missed while busy

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
            # pids and ports, on disk even if the run is interrupted before results.json
            write_json(self.run_dir / "stack.json", self.record.stack)
            async with CandidateClient(timeout_s=spec.workload.op_timeout_s) as client:
                await self._phase("reset", self._reset(client, stack))
                await self._phase("chaos", self._chaos(client, stack))
                await self._phase("heal", self._heal())
                await self._phase("drain", self._drain(client, stack))
                await self._phase("quiesce", self._quiesce(client, stack))
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
        tasks += [
            asyncio.create_task(self._restocker(self.first_restocker + i, item, client, instances))
            for i, item in enumerate(self.workload.items)
        ]
        started = time.monotonic()
        rush = self.next_rush if spec.nemesis.timing == "rush" and w.restock_every_s > 0 else None
        nemesis_task = asyncio.create_task(self.nemesis.run(started, rush))
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

    async def _drain(self, client: CandidateClient, stack: LocalStack) -> None:
        """Fault-free sell-out, as a flash sale ends: every unit a fault created becomes an
        oversold unit, and every unit it lost shows as a leak (persisted orders < supply)."""
        limit = self.spec.drain_s
        if limit <= 0:
            return
        deadline = time.monotonic() + limit
        left = set(self.workload.items)
        instances = list(stack.instances)

        async def drainer(worker: int) -> None:
            rng = worker_rng(self.spec.seed + 7919, worker)
            for n in itertools.count(1_000_000):
                if not left or time.monotonic() > deadline:
                    return
                item = rng.choice(sorted(left))
                inst = instances[rng.randrange(len(instances))]
                value = {"item": item, "qty": 1, "order": f"o{self.spec.seed}-w{worker}-{n}"}
                outcome = await self._op(worker, "buy", value, inst.name,
                                         lambda u=inst.base_url, v=value: client.buy(u, v["item"], 1, v["order"]))  # fmt: skip
                if outcome.type == OK and outcome.value["outcome"] == "sold_out":
                    left.discard(item)

        await asyncio.gather(*(drainer(w) for w in range(min(self.spec.workload.concurrency, 10))))

    async def _heal(self) -> None:
        if self.nemesis is not None:
            await self.nemesis.heal_all()

    async def _quiesce(self, client: CandidateClient, stack: LocalStack) -> None:
        """Let the system settle before the final reads: the quiesce delay, then until no instance
        reports work in flight (/health `in_flight`: e.g. a sale that outlived its request's deadline
        and is still recording its order). The final reads must see such work done, or they would
        call its units leaked. Bounded: past SETTLE_LIMIT_S the reads go ahead, noted in results.json.
        """
        await asyncio.sleep(self.spec.quiesce_s)
        deadline = time.monotonic() + SETTLE_LIMIT_S
        while True:
            counts = await asyncio.gather(*(client.in_flight(i.base_url) for i in stack.instances))
            busy = {i.name: n for i, n in zip(stack.instances, counts, strict=True) if n != 0}
            if not busy:
                self.record.unsettled = {}
                return
            if time.monotonic() > deadline:
                self.record.unsettled = busy
                print(f"[oversell] still in flight after {SETTLE_LIMIT_S:g} s: {busy}", file=sys.stderr)
                return
            await asyncio.sleep(SETTLE_POLL_S)

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
