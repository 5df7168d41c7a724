"""Short real audits through the `oversell` CLI on the local stack (Redis, Postgres, Toxiproxy).

Each test runs the command line as a subprocess into a fresh runs folder, a few seconds of chaos,
and judges what a user would look at: the exit code, results.json, the history and the processes
left on the machine. Nothing is mocked: a strategy that stops overselling, a nemesis that stops
injecting, or a teardown that leaks a process makes one of these fail.

Runs folders are not pytest's tmp_path: a pytest started elsewhere on the machine resets
/tmp/pytest-of-<user> to 0700 and would lock Postgres (run as `postgres` when we are root) out of
its data directory mid-run (see tests/test_local_stack.py).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.stack import procfs
from harness.stack.pidfile import read_pid_file
from tests.paths import ROOT

CLI = [sys.executable, "-m", "harness"]
# Generous: the machine is shared with other audits, and a loaded CI box is slower still.
RUN_TIMEOUT_S = 180.0
SHORT = ["--time-limit", "3", "--drain", "3", "--quiesce", "0.5"]
# redis-lock-ttl-del oversells with no fault at all once its lease is shorter than its critical
# section (two Postgres round trips and a Redis GET/SET through Toxiproxy, a few ms): one item,
# enough stock for a long rush, a 2 ms TTL. Ten seeds out of ten oversold by ~100-220 units.
LOCK_DEL_SHORT_TTL = ["--knob", "lock_ttl_ms=2", "--items", "1", "--stock", "100"]
# Seed 190 with these settings schedules a postgres-link partition, a postgres-link latency and
# a pause of two instances inside 5 s (checked below from run.json, so a changed schedule fails
# loudly instead of silently testing less).
NEMESIS_ARGS = [
    "--nemesis", "pause,partition,latency", "--seed", "190", "--time-limit", "5",
    "--fault-s", "1", "--pause-s", "1", "--heal-s", "0.4", "--fault-timing", "random",
    "--drain", "3", "--quiesce", "0.5",
]  # fmt: skip
LATENCY_FLOOR_NS = 150_000_000  # latency_ms - jitter_ms of the latency fault's defaults


@dataclass
class Audit:
    """One finished CLI run: what it said, where it wrote, and every stack process seen alive."""

    code: int
    run_dir: Path
    stdout: str
    stderr: str
    seen: dict[int, int] = field(default_factory=dict)  # pid -> start ticks

    def results(self) -> dict[str, Any]:
        return dict(json.loads((self.run_dir / "results.json").read_text()))

    def run_json(self) -> dict[str, Any]:
        return dict(json.loads((self.run_dir / "run.json").read_text()))

    def history(self) -> list[dict[str, Any]]:
        return read_history(self.run_dir / "history.jsonl")

    def finding_kinds(self) -> set[str]:
        return {f["kind"] for f in self.results()["findings"]}

    def explain(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"


# --- runs folders and processes --------------------------------------------------------------


@pytest.fixture(scope="module")
def runs_root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="oversell-audits-"))
    path.chmod(0o711)  # Postgres runs as another user and must traverse it
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def runs_dir(runs_root: Path, request: pytest.FixtureRequest) -> Path:
    path = runs_root / request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    path.mkdir()
    path.chmod(0o711)
    return path


def read_history(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def stack_processes(run_dir: Path) -> dict[int, int]:
    """Live processes named by the run's pid files, and all their descendants (postgres backends
    leave the postmaster's process group, so a group is not enough)."""
    found: dict[int, int] = {}
    for pid_file in (run_dir / "pids").glob("*.pid"):
        try:
            record = read_pid_file(pid_file)
        except (OSError, ValueError):
            continue  # being written or removed right now
        if procfs.is_alive(record.pid, record.start_ticks):
            found[record.pid] = record.start_ticks
            found.update(procfs.descendants(record.pid))
    return found


def alive(pids: dict[int, int]) -> list[int]:
    return [pid for pid, ticks in pids.items() if procfs.is_alive(pid, ticks)]


def stopped(pid: int) -> bool:
    stat = procfs.read_stat(pid)
    return stat is not None and stat.state == "T"


def recorded_argvs(run_dir: Path) -> list[list[str]]:
    """The argv of every process stack.json describes (services and candidate instances)."""
    path = run_dir / "stack.json"
    if not path.exists():
        return []
    stack = json.loads(path.read_text())
    procs = [stack[name].get("process") for name in ("redis", "postgres", "toxiproxy")]
    procs += [inst.get("process") for inst in stack["instances"]]
    return [p["argv"] for p in procs if p]


def leftovers(run_dir: Path, seen: dict[int, int]) -> list[str]:
    """Everything of this run still alive: a process seen during the run, a pid file, or any
    process whose working directory or command line is the run's (postgres and its backends,
    redis) or whose argv is one stack.json recorded (candidates, toxiproxy)."""
    run = str(run_dir.resolve())
    argvs = recorded_argvs(run_dir)
    left = [f"pid {pid} seen during the run" for pid in alive(seen)]
    left += [f"pid file {p.name}" for p in (run_dir / "pids").glob("*.pid")]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid() or not procfs.is_alive(int(entry.name)):
            continue
        cmdline = procfs.read_cmdline(int(entry.name)) or []
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            cwd = ""
        if cwd == run or cwd.startswith(run + "/") or any(run in arg for arg in cmdline) or cmdline in argvs:
            left.append(f"pid {entry.name} cwd={cwd} cmdline={' '.join(cmdline)[:200]}")
    return left


def new_run_folder(runs_dir: Path, before: set[Path]) -> Path | None:
    fresh = [p for p in runs_dir.iterdir() if p.is_dir() and p not in before]
    return fresh[0] if len(fresh) == 1 else None


class Running:
    """A CLI run in the background; `poll` records every stack process it sees alive."""

    def __init__(self, runs_dir: Path, args: list[str]) -> None:
        self.runs_dir = runs_dir
        self.before = {p for p in runs_dir.iterdir() if p.is_dir()}
        n = len(list(runs_dir.glob("cli-*.out")))
        self.out_path, self.err_path = runs_dir / f"cli-{n}.out", runs_dir / f"cli-{n}.err"
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [*CLI, *args, "--runs-dir", str(runs_dir)], cwd=ROOT, stdout=out, stderr=err
            )
        self.run_dir: Path | None = None
        self.seen: dict[int, int] = {}

    def poll(self) -> None:
        if self.run_dir is None:
            self.run_dir = new_run_folder(self.runs_dir, self.before)
        if self.run_dir is not None:
            self.seen.update(stack_processes(self.run_dir))

    def wait_for(self, what: str, ready: Any, timeout: float = RUN_TIMEOUT_S) -> None:
        """Poll until `ready()` is true; fail (after killing the run) if the run ends first."""
        deadline = time.monotonic() + timeout
        while not ready():
            self.poll()
            if self.proc.poll() is not None:
                raise AssertionError(f"the run ended before {what}:\n{self.finish().explain()}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"no {what} after {timeout} s:\n{self.finish().explain()}")
            time.sleep(0.1)
        self.poll()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def finish(self, timeout: float = RUN_TIMEOUT_S) -> Audit:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            self.poll()
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"the run did not end within {timeout} s")
            time.sleep(0.1)
        self.poll()
        assert self.run_dir is not None, "the run made no run folder"
        return Audit(
            code=self.proc.returncode,
            run_dir=self.run_dir,
            stdout=self.out_path.read_text(errors="replace"),
            stderr=self.err_path.read_text(errors="replace"),
            seen=self.seen,
        )


def audit(runs_dir: Path, *args: str) -> Audit:
    return Running(runs_dir, list(args)).finish()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


# --- history helpers -------------------------------------------------------------------------


@dataclass
class Op:
    node: str
    f: str
    type: str
    invoke_index: int
    complete_index: int | None
    invoke_ns: int
    complete_ns: int | None


def client_ops(history: list[dict[str, Any]]) -> list[Op]:
    """Pair each client invoke with its completion (one op in flight per process)."""
    pending: dict[Any, dict[str, Any]] = {}
    ops: list[Op] = []
    for e in history:
        if e["process"] == "nemesis":
            continue
        if e["type"] == "invoke":
            pending[e["process"]] = e
            continue
        inv = pending.pop(e["process"])
        ops.append(
            Op(inv.get("node", ""), inv["f"], e["type"], inv["index"], e["index"], inv["time"], e["time"])
        )
    ops += [
        Op(i.get("node", ""), i["f"], "info", i["index"], None, i["time"], None) for i in pending.values()
    ]
    return ops


def nemesis_events(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in history if e["process"] == "nemesis"]


# --- a lost update with no fault -------------------------------------------------------------


@pytest.fixture(scope="module")
def read_then_write(runs_root: Path) -> Audit:
    """pg-read-then-write with no nemesis, shared by the verdict, rerun and teardown tests."""
    runs_dir = runs_root / "read-then-write"
    runs_dir.mkdir()
    runs_dir.chmod(0o711)
    return audit(
        runs_dir, "run", "--strategy", "pg-read-then-write", "--nemesis", "none", "--seed", "1", *SHORT
    )


def test_read_then_write_oversells_with_no_fault(read_then_write: Audit) -> None:
    a = read_then_write
    assert a.code == 1, a.explain()
    results = a.results()
    assert results["valid"] is False and results["interrupted"] is False
    assert "oversold" in a.finding_kinds(), results["findings"][:3]
    oversold = next(f for f in results["findings"] if f["kind"] == "oversold")
    assert oversold["details"]["sold"] > oversold["details"]["available"]
    assert "verdict: INVALID" in a.stdout
    assert a.run_json()["schedule"] == [] and nemesis_events(a.history()) == []


def test_teardown_after_a_run_leaves_no_process(read_then_write: Audit) -> None:
    a = read_then_write
    # the run really had a stack: redis, toxiproxy, three instances, the postmaster and its children
    assert len(a.seen) >= 7, a.seen
    stack = json.loads((a.run_dir / "stack.json").read_text())
    recorded = [stack[s]["process"]["pid"] for s in ("redis", "postgres", "toxiproxy")]
    recorded += [inst["process"]["pid"] for inst in stack["instances"]]
    assert set(recorded) <= set(a.seen)
    assert leftovers(a.run_dir, a.seen) == []
    assert a.results()["phases"]["teardown"] < 30


def test_rerun_repeats_the_run_with_the_same_settings_and_the_same_run_json(read_then_write: Audit) -> None:
    first = read_then_write
    again = audit(first.run_dir.parent, "rerun", str(first.run_dir))
    assert again.run_dir != first.run_dir and again.run_dir.parent == first.run_dir.parent
    assert again.code == first.code == 1, again.explain()
    # run.json holds no time and no path: a rerun writes it byte for byte
    assert (again.run_dir / "run.json").read_bytes() == (first.run_dir / "run.json").read_bytes()
    assert again.results()["command"] == first.results()["command"]
    assert "oversold" in again.finding_kinds()
    assert leftovers(again.run_dir, again.seen) == []


def test_the_printed_command_of_a_failing_run_reproduces_its_run_value(read_then_write: Audit) -> None:
    first = read_then_write
    printed = [line.split("or: ", 1)[1] for line in first.stdout.splitlines() if line.strip().startswith("or: oversell run")]
    assert len(printed) == 1, first.stdout[-2000:]
    words = shlex.split(printed[0])
    assert words[:2] == ["oversell", "run"]
    again = audit(first.run_dir.parent, *words[1:])
    assert again.code == 1, again.explain()
    assert (again.run_dir / "run.json").read_bytes() == (first.run_dir / "run.json").read_bytes()
    phases = list(again.results()["phases"])
    assert sorted(phases) == sorted(["setup", "reset", "chaos", "heal", "drain", "quiesce", "final reads",
                                     "teardown", "check"])  # fmt: skip


# --- a lease shorter than the critical section -----------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_lock_with_ttl_and_plain_del_oversells_when_the_lease_expires_inside(
    runs_dir: Path, seed: int
) -> None:
    a = audit(runs_dir, "run", "--strategy", "redis-lock-ttl-del", "--nemesis", "none", "--seed", str(seed),
              *LOCK_DEL_SHORT_TTL, *SHORT)  # fmt: skip
    assert a.code == 1, a.explain()
    assert "oversold" in a.finding_kinds(), a.results()["findings"][:3]
    assert a.results()["linearizable"] is False
    assert a.run_json()["candidate"]["knobs"] == {"lock_ttl_ms": 2}
    assert leftovers(a.run_dir, a.seen) == []


def test_lock_with_ttl_and_compare_and_delete_still_oversells_when_the_lease_expires_inside(runs_dir: Path) -> None:
    """A safe unlock does not make a lease safe: the write after expiry still lands."""
    a = audit(runs_dir, "run", "--strategy", "redis-lock-ttl-cad", "--nemesis", "none", "--seed", "1",
              *LOCK_DEL_SHORT_TTL, *SHORT)  # fmt: skip
    assert a.code == 1, a.explain()
    assert "oversold" in a.finding_kinds(), a.results()["findings"][:3]
    assert leftovers(a.run_dir, a.seen) == []


# --- a safe strategy under faults ------------------------------------------------------------


def test_guarded_update_survives_faults_and_the_faults_show_in_the_history(runs_dir: Path) -> None:
    a = audit(runs_dir, "run", "--strategy", "pg-guarded-update", *NEMESIS_ARGS)
    assert a.code == 0, a.explain()
    results = a.results()
    assert results["valid"] is True and results["findings"] == [] and results["nemesis_errors"] == []
    schedule = a.run_json()["schedule"]
    assert {w["fault"] for w in schedule} == {"pause", "partition", "latency"}, schedule
    history = a.history()
    nemesis = nemesis_events(history)
    # every window started and stopped, in order, on its target, as info ops
    expected = [(f"{action}-{w['fault']}", w["target"]) for w in schedule for action in ("start", "stop")]
    assert [(e["f"], e["value"]["target"]) for e in nemesis] == expected
    assert all(e["type"] == "info" and "error" not in e for e in nemesis)

    ops = client_ops(history)
    for start, stop in zip(nemesis[::2], nemesis[1::2], strict=True):
        fault, target = start["value"]["fault"], start["value"]["target"]
        nodes = {t.partition(":")[0] for t in target.split(",")}
        if target.endswith(":redis"):
            continue  # this strategy never talks to Redis
        during = [o for o in ops if o.node in nodes and start["index"] < o.invoke_index < stop["index"]]
        assert during, f"no op reached {target} during {fault}"
        early_ok = [o for o in during if o.type == "ok" and o.complete_index is not None and o.complete_index < stop["index"]]  # fmt: skip
        if fault in ("pause", "partition"):
            # a stopped process or a cut link answers nothing until the window ends
            assert early_ok == [], f"{fault} {target}: {early_ok[:3]}"
        else:
            fast = [o for o in early_ok if (o.complete_ns or 0) - o.invoke_ns < LATENCY_FLOOR_NS]
            assert fast == [], f"latency {target}: ops faster than the added latency: {fast[:3]}"
    assert leftovers(a.run_dir, a.seen) == []


def test_redis_lua_survives_pauses_partitions_and_latency(runs_dir: Path) -> None:
    a = audit(runs_dir, "run", "--strategy", "redis-lua", *NEMESIS_ARGS)
    assert a.code == 0, a.explain()
    results = a.results()
    assert results["valid"] is True and results["findings"] == [] and results["nemesis_errors"] == []
    assert {w["fault"] for w in a.run_json()["schedule"]} == {"pause", "partition", "latency"}
    assert leftovers(a.run_dir, a.seen) == []


def test_kill_crashes_an_instance_and_starts_it_again(runs_dir: Path) -> None:
    a = audit(runs_dir, "run", "--strategy", "pg-guarded-update", "--nemesis", "kill", "--fault-s", "1.5",
              "--heal-s", "0.5", "--fault-timing", "random", "--seed", "2", "--time-limit", "5", "--drain", "3",
              "--quiesce", "0.5")  # fmt: skip
    assert a.code == 0, a.explain()
    assert a.results()["findings"] == [] and a.results()["nemesis_errors"] == []
    events = nemesis_events(a.history())
    kills = [e for e in events if e["f"] == "start-kill"]
    restarts = [e for e in events if e["f"] == "stop-kill"]
    assert kills and len(kills) == len(restarts), events
    windows = a.run_json()["schedule"]
    for kill, restart, window in zip(kills, restarts, windows, strict=True):
        assert restart["value"]["restarted"] is True and restart["value"]["pid"] != kill["value"]["pid"]
        target = kill["value"]["target"]
        # until the restart begins (the window's drawn length after the kill), the instance is down
        down_until = kill["time"] + (window["end_s"] - window["start_s"]) * 1e9
        ops = [o for o in client_ops(a.history()) if o.node == target and o.invoke_index > kill["index"]
               and o.complete_ns is not None and o.complete_ns < down_until]  # fmt: skip
        assert ops and all(o.type != "ok" for o in ops), f"{target} answered while killed"
    # the instance answered again after its restart
    last_restart = restarts[-1]
    after = [o for o in client_ops(a.history()) if o.node == last_restart["value"]["target"] and o.type == "ok"
             and o.invoke_index > last_restart["index"]]  # fmt: skip
    assert after
    assert leftovers(a.run_dir, a.seen) == []


class StuckPause:
    """A pause whose resume is refused: the heal of a real paused process fails."""

    name = "stuck-pause"
    description = "pause n2; its resume is refused"
    defaults: dict[str, Any] = {}

    def length(self, config: Any, rng: Any) -> float:
        return 1.0

    def plan(self, config: Any, instances: list[str], rng: Any) -> tuple[str, dict[str, Any]]:
        return "n2", {}

    async def start(self, stack: Any, window: Any) -> dict[str, Any]:
        await stack.node(window.target).pause()
        return {}

    async def stop(self, stack: Any, window: Any) -> dict[str, Any]:
        raise RuntimeError("SIGCONT refused")

    async def heal(self, stack: Any) -> None:
        return None


def test_a_heal_that_fails_stops_the_run_with_255_and_keeps_the_history(runs_dir: Path, capsys) -> None:
    from harness.cli import main
    from harness.nemesis import registry

    registry.register(StuckPause())
    try:
        code = main(["run", "--strategy", "pg-guarded-update", "--nemesis", "stuck-pause", "--fault-timing", "random",
                     "--time-limit", "6", "--runs-dir", str(runs_dir)])  # fmt: skip
    finally:
        registry.unregister("stuck-pause")
    err = capsys.readouterr().err
    assert code == 255, err[-2000:]
    assert "heal of stuck-pause failed on n2: RuntimeError: SIGCONT refused" in err, err[-2000:]
    (run_dir,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    assert not (run_dir / "results.json").exists()
    history = read_history(run_dir / "history.jsonl")
    stop = [e for e in history if e["f"] == "stop-stuck-pause"]
    assert len(stop) == 1 and "SIGCONT refused" in stop[0]["error"]
    assert max(e["time"] for e in history) < 5.5e9  # the chaos stopped at the failed heal, not at its end
    checked = cli("check", str(run_dir / "history.jsonl"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert leftovers(run_dir, {}) == []  # the paused instance was stopped too


# --- Ctrl-C ----------------------------------------------------------------------------------


def test_ctrl_c_mid_fault_stops_everything_and_the_partial_history_checks(runs_dir: Path) -> None:
    run = Running(runs_dir, ["run", "--strategy", "pg-guarded-update", "--nemesis", "pause", "--pause-s", "3",
                             "--fault-timing", "random", "--seed", "3", "--time-limit", "60"])  # fmt: skip

    def pausing() -> bool:
        history = run.run_dir / "history.jsonl" if run.run_dir else None
        return history is not None and history.exists() and b'"start-pause"' in history.read_bytes()

    try:
        run.wait_for("a pause in the history", pausing)
        paused = [pid for pid in alive(run.seen) if stopped(pid)]
        assert paused, "the nemesis said it paused an instance, but no stack process is stopped"
        run.proc.send_signal(signal.SIGINT)
        a = run.finish(timeout=60)
    finally:
        if run.proc.poll() is None:
            run.kill()
    assert a.code == 130, a.explain()
    assert "interrupted" in a.stderr and "oversell check" in a.stderr
    assert not (a.run_dir / "results.json").exists()
    assert len(a.seen) >= 7, a.seen
    assert leftovers(a.run_dir, a.seen) == []

    history = a.run_dir / "history.jsonl"
    assert len(read_history(history)) > 10  # every line is whole JSON, flushed before the exit
    checked = cli("check", str(history))
    assert checked.returncode in (0, 1, 2), checked.stdout + checked.stderr
    # a safe strategy stays valid on a cut-short history: in-flight ops are merely unknown
    assert checked.returncode == 0, checked.stdout


# --- usage -----------------------------------------------------------------------------------


def test_unknown_strategy_is_a_one_line_usage_error(runs_dir: Path) -> None:
    out = cli("run", "--strategy", "no-such-strategy", "--runs-dir", str(runs_dir))
    assert out.returncode == 254
    errors = [line for line in out.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "no-such-strategy" in errors[0], out.stderr
    assert out.stderr.splitlines()[-1] == errors[0]
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert list(runs_dir.iterdir()) == []  # nothing started, no run folder
