"""Runs a workload's operations on logical processes, as Jepsen's interpreter does.

The workload (`workloads/`) says what to do; this does it: each process takes its next op,
records the invoke (on disk before the request leaves), sends it to an instance through the
candidate client, and records the completion. Whatever happens to the call — an answer, a
timeout, an exception of the client, a cancellation at the end of a phase — becomes a
completion: `ok`, `fail`, or `info` with the error. A process whose op ended `info` may still
have it in flight, so it is retired and its worker goes on under a fresh process id; nothing is
silently dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from checkers.history import INFO, INVOKE, OK
from harness.nemesis.fault import InFlight
from harness.recorder import HistoryRecorder
from harness.stack.stack import Instance
from workloads.candidate_client import CandidateClient, Outcome
from workloads.flash_sale import HEALTHY, Op

Call = Callable[[CandidateClient, str, dict[str, Any]], Awaitable[Outcome]]

CALLS: dict[str, Call] = {
    "buy": lambda c, url, v: c.buy(url, v["item"], v["qty"], v["order"]),
    "read": lambda c, url, v: c.read(url, v["item"]),
    "restock": lambda c, url, v: c.restock(url, v["item"], v["qty"]),
    "orders": lambda c, url, v: c.orders(url, v["item"]),
    "reset": lambda c, url, v: c.reset(url, v["items"]),
}


class ProcessIds:
    """Jepsen's rule: a process whose op ended `info` is retired; its worker takes a fresh id."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.current = list(range(workers))

    def get(self, worker: int) -> int:
        return self.current[worker]

    def retire(self, worker: int) -> None:
        self.current[worker] += self.workers


class Interpreter:
    """Does ops for `workers` logical processes against `instances`; one per run.

    `healthy()` names the instances a fault touches now (for HEALTHY ops); `call_timeout_s`
    bounds a call that the client's own timeout failed to end (it becomes `info`, "timeout").
    """

    def __init__(
        self,
        recorder: HistoryRecorder,
        client: CandidateClient,
        instances: Sequence[Instance],
        workers: int,
        call_timeout_s: float,
        faulted: Callable[[], set[str]] = set,
    ) -> None:
        self.recorder = recorder
        self.client = client
        self.instances = list(instances)
        self.pids = ProcessIds(workers)
        self.call_timeout_s = call_timeout_s
        self.faulted = faulted
        self._in_flight: dict[int, tuple[str, str, Any, float]] = {}  # invoke index -> node, f, value, sent

    def in_flight(self) -> list[InFlight]:
        """The ops sent and not yet answered, oldest first (what a targeted fault aims at)."""
        now = time.monotonic()
        return [InFlight(node, f, value, now - sent) for node, f, value, sent in self._in_flight.values()]

    def route(self, op: Op) -> Instance:
        if op.instance == HEALTHY:
            faulted = self.faulted()
            serving = [i for i in self.instances if i.name not in faulted] or self.instances
            return serving[op.pick % len(serving)]
        return self.instances[op.instance % len(self.instances)]

    async def invoke(self, worker: int, op: Op) -> Outcome:
        """Record invoke, send, record completion; every way the call can end is a completion."""
        instance = self.route(op)
        process = self.pids.get(worker)
        index = self.recorder.record(INVOKE, process, op.f, op.value, node=instance.name)
        self._in_flight[index] = (instance.name, op.f, op.value, time.monotonic())
        try:
            outcome = await asyncio.wait_for(CALLS[op.f](self.client, instance.base_url, op.value),
                                             timeout=self.call_timeout_s)  # fmt: skip
        except TimeoutError:
            outcome = Outcome(INFO, None, "timeout")
        except asyncio.CancelledError:
            self._complete(worker, process, op, instance, Outcome(INFO, None, "cancelled: the phase ended"))
            raise
        except Exception as e:  # a client bug or an answer it could not take: unknown, never lost
            outcome = Outcome(INFO, None, f"{type(e).__name__}: {e}"[:300])
        finally:
            self._in_flight.pop(index, None)
        self._complete(worker, process, op, instance, outcome)
        return outcome

    def _complete(self, worker: int, process: int, op: Op, instance: Instance, outcome: Outcome) -> None:
        value = outcome.value if outcome.type == OK else op.value
        self.recorder.record(outcome.type, process, op.f, value, node=instance.name, error=outcome.error)
        if outcome.type == INFO:
            self.pids.retire(worker)

    async def run(
        self,
        worker: int,
        ops: Iterable[Op],
        stop: asyncio.Event,
        started: float,
        deadline: float | None = None,
        after: Callable[[Op, Outcome], Any] | None = None,
    ) -> None:
        """One process: do `ops` in order until they end, `stop` is set or `deadline` passes.

        `started` (time.monotonic()) is the zero of the ops' `at_s`; `after` sees each completion.
        """
        for op in ops:
            if stop.is_set() or (deadline is not None and time.monotonic() > deadline):
                return
            if op.at_s is not None:
                wait = started + op.at_s - time.monotonic()
                if wait < 0:
                    continue  # its time passed while the previous op was slow
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
                if stop.is_set():
                    return
            outcome = await self.invoke(worker, op)
            if after is not None:
                after(op, outcome)
            if op.think_s > 0:
                await asyncio.sleep(op.think_s)
