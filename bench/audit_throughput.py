"""How many ops per second an audit records against redis-lua, beside what the service can do.

Three rates, measured one after the other on the same machine:

1. **raw**: the candidate's own capacity without the harness's recording. A LocalStack runs
   redis-lua with 3 instances (behind their Toxiproxy links, as in an audit); CONCURRENCY
   workers of workloads.candidate_client.CandidateClient (aiohttp) send POST /buy round-robin
   over the instances for SECONDS, nothing recorded. Modes: `sell` (stock big enough that every
   buy sells: order lookup, Lua script, order insert) and `sold-out` (stock 0: order lookup and
   script only), each without think time and `paced` with the workload's think time
   (FlashSaleConfig.think_ms: a uniform 0..2x sleep after each op, as the runner's buyers do).
2. **recorded**: a real `oversell run --strategy redis-lua --nemesis none --time-limit SECONDS`
   (its own stack); rate = client ops completed in the chaos window (from the reset's
   completion to SECONDS later) / SECONDS, from its history.jsonl. The run also has readers and
   restockers, so buys alone are given too.
3. **ceiling**: redis-benchmark against the Redis of (1): EVALSHA of the strategy's own Lua
   script (fixtures/candidates/redis_lua.BUY_LUA) on a key with big stock (decrements) and one
   with none (sold out), -c CONCURRENCY.

CPU seconds of the whole process tree (the load generator or `oversell run`, plus every
instance, Redis, Postgres and Toxiproxy) are read from /proc at the start and end of each
window: on a shared 2-core machine, CPU per op is steadier than ops per second.

    .venv/bin/python bench/audit_throughput.py [--seconds 10] [--concurrency 30] [--json OUT]

Everything it starts is stopped: the LocalStack on exit (also on errors and Ctrl-C), and the
`oversell run` subprocess stops its own stack.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402

from harness.stack.local_stack import CANDIDATES_DIR, LocalStack, candidate_argv  # noqa: E402
from harness.stack.stack import CandidateLaunch  # noqa: E402
from workloads.candidate_client import CandidateClient  # noqa: E402
from workloads.flash_sale import FlashSaleConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "bench" / "out"
STRATEGY = "redis-lua"
INSTANCES = 3
BIG_STOCK = 10**12
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CLIENT_FS = ("buy", "read", "restock")


@dataclass(slots=True)
class Window:
    """Ops completed in a measured window, and the CPU the process tree spent in it."""

    name: str
    seconds: float
    ops: int  # every client op completed (buys, reads, restocks)
    buys: int
    outcomes: dict[str, int] = field(default_factory=dict)  # ok-sold / ok-sold_out / info / fail ...
    cpu_s: float | None = None

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds

    @property
    def buys_per_s(self) -> float:
        return self.buys / self.seconds

    @property
    def cpu_ms_per_op(self) -> float | None:
        return None if self.cpu_s is None or not self.ops else 1000 * self.cpu_s / self.ops


@dataclass(slots=True)
class Ceiling:
    name: str
    requests_per_s: float
    cpu_s: float  # redis-benchmark's own CPU (user + system)
    command: str


# --- CPU of a process tree ---------------------------------------------------------------------


def tree_cpu_seconds(root: int) -> float:
    """utime + stime + reaped children's times of `root` and its live descendants, from /proc."""
    parent: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] in ("Z", "X"):
            continue
        pid = int(entry)
        parent[pid] = int(fields[1])
        times[pid] = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    total, queue = 0, [root]
    while queue:
        pid = queue.pop()
        total += times.get(pid, 0)
        queue.extend(children.get(pid, []))
    return total / CLOCK_TICKS


# --- (1) raw capacity and (3) the redis-benchmark ceiling -----------------------------------------


async def raw_window(
    stack: LocalStack, client: CandidateClient, mode: str, think_ms: float, seconds: float, concurrency: int
) -> Window:
    """CONCURRENCY buyers, POST /buy round-robin over the instances, for `seconds`; nothing recorded."""
    stock = BIG_STOCK if mode == "sell" else 0
    item = f"bench-{mode}-{'paced' if think_ms else 'free'}"
    urls = [inst.base_url for inst in stack.instances]
    reset = await client.reset(urls[0], {item: stock})
    if reset.type != "ok":
        raise RuntimeError(f"reset refused: {reset.error}")
    counts: Counter[str] = Counter()
    next_url = itertools.cycle(urls)
    loop = asyncio.get_running_loop()
    deadline = 0.0

    async def buyer(worker: int) -> None:
        rng = random.Random(worker)
        for n in itertools.count():
            if loop.time() >= deadline:
                return
            outcome = await client.buy(next(next_url), item, 1, f"{item}-w{worker}-{n}")
            if loop.time() <= deadline:  # completed inside the window
                key = f"ok-{outcome.value['outcome']}" if outcome.type == "ok" else outcome.type
                counts[key] += 1
            if think_ms:
                await asyncio.sleep(rng.uniform(0, 2 * think_ms / 1000))

    cpu0 = tree_cpu_seconds(os.getpid())
    deadline = loop.time() + seconds
    await asyncio.gather(*(buyer(w) for w in range(concurrency)))
    cpu = tree_cpu_seconds(os.getpid()) - cpu0  # includes the (< 1 op) tail after the deadline
    name = f"raw {mode}" + (f", paced {think_ms:g} ms" if think_ms else "")
    n = sum(counts.values())
    return Window(name, seconds, n, n, dict(counts), cpu)


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


async def evalsha_ceiling(stack: LocalStack, requests: int, concurrency: int) -> list[Ceiling]:
    """redis-benchmark EVALSHA of redis-lua's buy script (with its per-attempt marker key, as the
    strategy calls it), on a decrementing key and a sold-out key."""
    sys.path.insert(0, str(CANDIDATES_DIR))
    from redis_lua import BUY_LUA  # the strategy's script, byte for byte

    redis = aioredis.Redis.from_url(stack.redis_url)
    try:
        sha = await redis.script_load(BUY_LUA)
        await redis.set("stock:bench-evalsha-sell", BIG_STOCK)
        await redis.set("stock:bench-evalsha-soldout", 0)
    finally:
        await redis.aclose()
    out = []
    for name, key in (("sell", "stock:bench-evalsha-sell"), ("sold-out", "stock:bench-evalsha-soldout")):
        argv = [
            "redis-benchmark", "-h", "127.0.0.1", "-p", str(stack.redis_port), "-n", str(requests),
            "-c", str(concurrency), "-q", "-r", "1000000000",
            # as the strategy calls it: the stock key, a fresh per-attempt marker, qty 1, marker lifetime
            "EVALSHA", sha, "2", key, "sale:bench:__rand_int__", "1", "660000",
        ]  # fmt: skip
        cpu0 = children_cpu()
        proc = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=300)
        cpu = children_cpu() - cpu0
        match = re.search(r"([\d.]+) requests per second", proc.stdout.replace("\r", "\n"))
        if proc.returncode != 0 or match is None:
            raise RuntimeError(
                f"redis-benchmark failed ({proc.returncode}): {proc.stdout[-500:]}{proc.stderr}"
            )
        out.append(Ceiling(f"EVALSHA {name}", float(match.group(1)), cpu, " ".join(argv)))
    return out


async def measure_raw(
    work: Path, seconds: float, concurrency: int, requests: int, think_ms: float
) -> tuple[list[Window], list[Ceiling]]:
    stack = LocalStack(
        work / "raw-stack",
        instances=INSTANCES,
        candidate_cmd=candidate_argv(CandidateLaunch(STRATEGY), sys.executable),
        runs_root=work,
    )
    windows: list[Window] = []
    async with stack:
        timeout = FlashSaleConfig().op_timeout_s
        async with CandidateClient(timeout_s=timeout) as client:
            # warm-up, not counted: connections to the instances, their pools, Postgres's caches
            await raw_window(stack, client, "sold-out", 0.0, 1.0, concurrency)
            for think in (0.0, think_ms):
                for mode in ("sell", "sold-out"):
                    windows.append(await raw_window(stack, client, mode, think, seconds, concurrency))
                    print(
                        f"  measured {windows[-1].name}: {windows[-1].ops_per_s:.0f} buys/s", file=sys.stderr
                    )
        ceilings = await evalsha_ceiling(stack, requests, concurrency)
    return windows, ceilings


# --- (2) the recorded rate ---------------------------------------------------------------------


def oversell_command(runs_dir: Path, seconds: float, concurrency: int) -> list[str]:
    return [
        sys.executable, "-m", "harness", "run", "--strategy", STRATEGY, "--nemesis", "none",
        "--time-limit", f"{seconds:g}", "--concurrency", str(concurrency), "--runs-dir", str(runs_dir),
    ]  # fmt: skip


def reset_done(history: Path) -> bool:
    try:
        with open(history, "rb") as f:
            return any(b'"f":"reset"' in line and b'"type":"ok"' in line for line in f)
    except OSError:
        return False


def recorded_window(run_dir: Path, seconds: float) -> Window:
    """Client ops completed from the reset's completion to `seconds` later, from history.jsonl."""
    events = [orjson.loads(line) for line in (run_dir / "history.jsonl").read_bytes().splitlines() if line]
    start = next(e["time"] for e in events if e["f"] == "reset" and e["type"] == "ok")
    end = start + int(seconds * 1e9)
    counts: Counter[str] = Counter()
    ops = buys = 0
    for e in events:
        if e["type"] == "invoke" or e["process"] == "nemesis" or e["f"] not in CLIENT_FS:
            continue
        if not start < e["time"] <= end:
            continue
        ops += 1
        if e["f"] == "buy":
            buys += 1
            counts[f"ok-{e['value']['outcome']}" if e["type"] == "ok" else e["type"]] += 1
        else:
            counts[f"{e['f']}-{e['type']}"] += 1
    return Window("recorded (oversell run)", seconds, ops, buys, dict(counts))


def measure_recorded(work: Path, seconds: float, concurrency: int) -> tuple[Window, dict[str, Any]]:
    """Run `oversell run`; sample its process tree's CPU when the chaos window opens and closes."""
    runs_dir = work / "runs"
    runs_dir.mkdir()
    command = oversell_command(runs_dir, seconds, concurrency)
    log = work / "oversell-run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            cpu_window = sample_chaos_cpu(proc, runs_dir, seconds)
            code = proc.wait(timeout=600)
        finally:
            if proc.poll() is None:  # only on our own error: let it stop its stack (SIGTERM)
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
    [run_dir] = list(runs_dir.iterdir())
    keep = OUT_DIR / "audit-throughput-run"  # the run's evidence, for a look afterwards
    shutil.rmtree(keep, ignore_errors=True)
    keep.mkdir(parents=True)
    for name in ("run.json", "history.jsonl", "results.json"):
        if (run_dir / name).exists():
            shutil.copy(run_dir / name, keep / name)
    window = recorded_window(run_dir, seconds)
    window.cpu_s = cpu_window
    results = (
        json.loads((run_dir / "results.json").read_text()) if (run_dir / "results.json").exists() else {}
    )
    info = {
        "command": "oversell " + " ".join(command[3:]),
        "exit_code": code,
        "verdict": results.get("valid"),
        "phases": results.get("phases"),
        "kept_in": str(keep.relative_to(ROOT)),
        "log_tail": log.read_text()[-1500:] if code not in (0, 1, 2) else "",
    }
    return window, info


def sample_chaos_cpu(proc: subprocess.Popen[bytes], runs_dir: Path, seconds: float) -> float | None:
    """Tree CPU between the reset's completion (seen within ~20 ms) and `seconds` later."""
    while proc.poll() is None:
        histories = list(runs_dir.glob("*/history.jsonl"))
        if histories and reset_done(histories[0]):
            cpu0, t0 = tree_cpu_seconds(proc.pid), time.monotonic()
            time.sleep(max(0.0, t0 + seconds - time.monotonic()))
            return tree_cpu_seconds(proc.pid) - cpu0 if proc.poll() is None else None
        time.sleep(0.02)
    return None


# --- report -------------------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def print_report(recorded: Window, run: dict[str, Any], raw: list[Window], ceilings: list[Ceiling]) -> None:
    print("Rates in ops per second of wall time; cpu = CPU seconds of the whole process tree in the window.")
    print(f"{'window':<32}{'s':>5}{'ops':>8}{'ops/s':>9}{'buys/s':>9}{'cpu s':>8}{'cpu ms/op':>10}  outcomes")
    for w in [recorded, *raw]:
        cpu = "-" if w.cpu_s is None else f"{w.cpu_s:.1f}"
        per_op = w.cpu_ms_per_op
        mix = ", ".join(f"{k} {v}" for k, v in sorted(w.outcomes.items()))
        print(
            f"{w.name:<32}{w.seconds:>5g}{w.ops:>8}{w.ops_per_s:>9.0f}{w.buys_per_s:>9.0f}{cpu:>8}"
            f"{'-' if per_op is None else f'{per_op:.2f}':>10}  {mix}"
        )
    for c in ceilings:
        print(
            f"{'redis-benchmark ' + c.name:<32}{'':>5}{'':>8}{c.requests_per_s:>9.0f}{'':>9}{c.cpu_s:>8.1f}"
        )
    print(f"\noversell run: exit {run['exit_code']}, verdict {run['verdict']}, phases {run['phases']}")
    if run["log_tail"]:
        print(run["log_tail"])
    top = ceilings[0] if ceilings else None
    print("\nRatios, recorded (oversell run) against each raw window: buys/s (wall) and CPU ms per op;")
    print(f"and buys/s against redis-benchmark's {top.name if top else '-'} rate.")
    print(f"{'':<32}{'rec/raw buys/s':>15}{'rec/raw cpu/op':>15}{'/ EVALSHA':>11}")
    for w in [recorded, *raw]:
        same = w is recorded
        rate = "" if same else f"{recorded.buys_per_s / w.buys_per_s:.2f}"
        cpu = (
            ""
            if same or not (recorded.cpu_ms_per_op and w.cpu_ms_per_op)
            else (f"{recorded.cpu_ms_per_op / w.cpu_ms_per_op:.2f}")
        )
        ceiling = "-" if top is None else f"{w.buys_per_s / top.requests_per_s:.4f}"
        print(f"{w.name:<32}{rate:>15}{cpu:>15}{ceiling:>11}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of every measured window")
    parser.add_argument("--concurrency", type=int, default=FlashSaleConfig().concurrency)
    parser.add_argument("--requests", type=int, default=200_000, help="redis-benchmark -n")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON here")
    args = parser.parse_args(argv)
    if shutil.which("redis-benchmark") is None:
        print("redis-benchmark not found (apt package redis-tools)", file=sys.stderr)
        return 254
    think_ms = FlashSaleConfig().think_ms
    print(f"== {os.cpu_count()} CPUs, load average before: {load_average()}")
    work = Path(tempfile.mkdtemp(prefix="oversell-throughput-"))
    try:
        raw, ceilings = asyncio.run(
            measure_raw(work, args.seconds, args.concurrency, args.requests, think_ms)
        )
        print(
            f"== raw and redis-benchmark done, stack stopped; load average {load_average()}", file=sys.stderr
        )
        recorded, run = measure_recorded(work, args.seconds, args.concurrency)
        print(f"== load average after: {load_average()}")
        print_report(recorded, run, raw, ceilings)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(
                json.dumps(
                    {
                        "recorded": asdict(recorded),
                        "run": run,
                        "raw": [asdict(w) for w in raw],
                        "ceilings": [asdict(c) for c in ceilings],
                    },
                    indent=1,
                )
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if run["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
