"""The interpreter: every op it starts ends in the history, whatever the call does.

The candidate here is a small real HTTP server on 127.0.0.1 that answers, hangs, or sends bytes
the client cannot decode; the client and the recorder are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from aiohttp import web

from harness.interpreter import Interpreter
from harness.recorder import HistoryRecorder
from workloads.candidate_client import CandidateClient
from workloads.flash_sale import HEALTHY, Op


@dataclass
class Endpoint:
    name: str
    base_url: str

    @property
    def proxies(self) -> dict[str, str]:
        return {}


async def buy(request: web.Request) -> web.Response:
    body = await request.json()
    if body["order"] == "hang":
        await asyncio.sleep(2)
    if body["order"] == "garbled":
        return web.Response(body=b'{"outcome": "sold\xff\xfe"}', content_type="application/json", charset="utf-8")
    return web.json_response({"outcome": "sold"})


async def serve(handler_names: list[str]) -> tuple[web.AppRunner, list[Endpoint]]:
    app = web.Application()
    app.router.add_post("/buy", buy)
    runner = web.AppRunner(app)
    await runner.setup()
    endpoints = []
    for name in handler_names:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        endpoints.append(Endpoint(name, f"http://127.0.0.1:{port}"))
    return runner, endpoints


def events(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def order(o: str, instance: int = 0) -> Op:
    return Op("buy", {"item": "sku-1", "qty": 1, "order": o}, instance=instance)


def test_answers_timeouts_client_errors_and_cancellations_all_complete(tmp_path):
    path = tmp_path / "history.jsonl"

    async def main() -> None:
        runner, endpoints = await serve(["n1"])
        try:
            async with CandidateClient(timeout_s=0.3) as client, _recorder(path) as recorder:
                interp = Interpreter(recorder, client, endpoints, workers=2, call_timeout_s=5)
                ok = await interp.invoke(0, order("a"))
                assert ok.type == "ok" and interp.pids.get(0) == 0
                timed_out = await interp.invoke(0, order("hang"))
                assert timed_out.type == "info" and timed_out.error == "timeout"
                assert interp.pids.get(0) == 2  # retired: a fresh process id for worker 0
                garbled = await interp.invoke(1, order("garbled"))
                assert garbled.type == "info" and "Decode" in (garbled.error or "")
                assert interp.pids.get(1) == 3
                slow = Interpreter(recorder, client, endpoints, workers=2, call_timeout_s=0.1)
                cut = await slow.invoke(0, order("hang"))  # the harness's own bound, under the client's
                assert cut.type == "info" and cut.error == "timeout"
                task = asyncio.create_task(interp.invoke(0, order("hang")))
                await asyncio.sleep(0.1)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        finally:
            await runner.cleanup()

    asyncio.run(main())
    history = events(path)
    invokes = [e for e in history if e["type"] == "invoke"]
    completions = [e for e in history if e["type"] != "invoke"]
    assert len(invokes) == len(completions) == 5
    assert [c["type"] for c in completions] == ["ok", "info", "info", "info", "info"]
    assert completions[-1]["error"].startswith("cancelled")
    for inv, done in zip(invokes, completions, strict=True):
        assert inv["process"] == done["process"] and inv["node"] == done["node"] == "n1"
        assert done["value"]["order"] == inv["value"]["order"]


class _recorder:
    def __init__(self, path) -> None:
        self.recorder = HistoryRecorder(path)

    async def __aenter__(self) -> HistoryRecorder:
        return self.recorder

    async def __aexit__(self, *exc: object) -> None:
        self.recorder.close()


def test_a_process_runs_its_ops_in_order_skips_missed_ticks_and_routes_around_faults(tmp_path):
    path = tmp_path / "history.jsonl"
    faulted: set[str] = set()

    async def main() -> None:
        runner, endpoints = await serve(["n1", "n2", "n3"])
        try:
            async with CandidateClient(timeout_s=2) as client, _recorder(path) as recorder:
                interp = Interpreter(recorder, client, endpoints, workers=1, call_timeout_s=5,
                                     faulted=lambda: faulted)  # fmt: skip
                faulted.update({"n1", "n3"})
                ops = [Op("buy", {"item": "i", "qty": 1, "order": f"h{k}"}, instance=HEALTHY, pick=k) for k in range(4)]
                await interp.run(0, ops, asyncio.Event(), time.monotonic())
                faulted.clear()
                started = time.monotonic() - 1.0  # the ticks at 0.5 s and 0.9 s have passed
                ticks = [Op("buy", {"item": "i", "qty": 1, "order": f"t{at}"}, at_s=at) for at in (0.5, 0.9, 1.2)]
                seen = []
                await interp.run(0, ticks, asyncio.Event(), started, after=lambda op, o: seen.append(op.value["order"]))
                assert seen == ["t1.2"] and time.monotonic() - started >= 1.2 - 0.01
                stop = asyncio.Event()
                stop.set()
                await interp.run(0, [order("never")], stop, time.monotonic())
        finally:
            await runner.cleanup()

    asyncio.run(main())
    history = events(path)
    healthy = [e["node"] for e in history if e["type"] == "invoke" and e["value"]["order"].startswith("h")]
    assert healthy == ["n2"] * 4
    assert not any(e["value"].get("order") == "never" for e in history)
