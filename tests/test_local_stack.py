"""The local stack with real processes: links, faults, teardown, reaping, errors.

Until the real candidate services exist, the candidate is the tiny aiohttp service at the bottom of
this file (`python tests/test_local_stack.py serve ...`): GET /health, and GET /probe which reaches
Redis and Postgres through the instance's own proxies, so a cut link shows up per instance.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.web
import psycopg
import pytest
import redis.asyncio as aioredis

from harness.stack import LocalStack, StackError, procfs
from harness.stack.binaries import StackBinaries
from harness.stack.local_stack import expand
from harness.stack.pidfile import Owner, PidRecord, read_pid_file, write_pid_file
from harness.stack.processes import ManagedProcess, reap_stale

REPO = Path(__file__).resolve().parents[1]
SERVE_ARGS = "{port} {redis_url} {postgres_dsn} {instance}"
CANDIDATE = [sys.executable, str(Path(__file__).resolve()), "serve", *SERVE_ARGS.split()]
CANDIDATE_ENV = {"PYTHONPATH": str(REPO)}  # the service imports this module's imports
PROBE_SECONDS = 1.0


# --- the tiny candidate service --------------------------------------------------------------


def serve(port: int, redis_url: str, postgres_dsn: str, instance: str) -> None:
    """Runs in the candidate process. Fresh connections per probe: a cut link is seen at once."""

    async def check_redis() -> None:
        client = aioredis.Redis.from_url(
            redis_url, socket_timeout=PROBE_SECONDS, socket_connect_timeout=PROBE_SECONDS
        )
        try:
            await client.ping()
        finally:
            await client.aclose()

    async def check_postgres() -> None:
        async with await psycopg.AsyncConnection.connect(postgres_dsn) as conn:
            await conn.execute("SELECT 1")

    async def outcome(check: Any) -> str:
        try:
            await asyncio.wait_for(check(), PROBE_SECONDS)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"[:300]
        return "ok"

    async def health(request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.json_response({"instance": instance, "pid": os.getpid()})

    async def probe(request: aiohttp.web.Request) -> aiohttp.web.Response:
        redis_result, postgres_result = await asyncio.gather(outcome(check_redis), outcome(check_postgres))
        return aiohttp.web.json_response({"redis": redis_result, "postgres": postgres_result})

    app = aiohttp.web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/probe", probe)
    aiohttp.web.run_app(app, host="127.0.0.1", port=port, print=None)


pytestmark = pytest.mark.timeout(60)


@dataclass
class Shared:
    """One stack for the fault tests (starting one costs ~3 s); each test heals what it broke."""

    loop: asyncio.AbstractEventLoop
    stack: LocalStack

    def run(self, coro: Awaitable[Any]) -> Any:
        return self.loop.run_until_complete(coro)


@contextmanager
def stack_root() -> Iterator[Path]:
    """A run root the postgres user can always traverse.

    Not pytest's tmp_path: every pytest that starts resets /tmp/pytest-of-<user> to 0700, which
    would lock Postgres (run as `postgres` when we are root) out of its data dir in mid-test.
    """
    path = Path(tempfile.mkdtemp(prefix="oversell-stack-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def stack_dir() -> Iterator[Path]:
    with stack_root() as path:
        yield path


@pytest.fixture(scope="module")
def shared() -> Iterator[Shared]:
    with stack_root() as root:
        yield from _shared_stack(root)


def _shared_stack(root: Path) -> Iterator[Shared]:
    loop = asyncio.new_event_loop()
    stack = LocalStack(
        root / "runs" / "shared",
        instances=2,
        candidate_cmd=CANDIDATE,
        candidate_env=CANDIDATE_ENV,
        runs_root=root / "runs",
        handle_sigterm=False,
        ready_timeout=20,
        candidate_ready_timeout=20,
    )
    loop.run_until_complete(stack.start())
    try:
        yield Shared(loop, stack)
    finally:
        loop.run_until_complete(stack.stop())
        loop.close()


async def redis_ping(url: str, timeout: float = PROBE_SECONDS) -> bool:
    client = aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(await asyncio.wait_for(client.ping(), timeout))
    finally:
        await client.aclose()


async def pg_value(dsn: str, sql: str) -> Any:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        cur = await conn.execute(sql)
        if cur.description is None:
            return None
        row = await cur.fetchone()
        return row[0] if row else None


async def get_json(url: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.get(url) as resp,
    ):
        assert resp.status == 200, f"GET {url}: {resp.status}"
        return dict(await resp.json())


async def probe(stack: LocalStack, name: str) -> dict[str, Any]:
    return await get_json(stack.instance(name).base_url + "/probe")


BOTH_OK = {"redis": "ok", "postgres": "ok"}


async def probe_until(
    stack: LocalStack, name: str, redis: bool, postgres: bool, within: float = 10.0
) -> bool:
    """Probe until Redis/Postgres reachability (True = ok) is as expected; False if it never was.

    A loaded test machine may need more than one probe's time limit on a healthy link; a cut link
    fails every probe, so it can only match when the cut is real.
    """
    deadline = time.monotonic() + within
    while True:
        result = await probe(stack, name)
        if (result["redis"] == "ok", result["postgres"] == "ok") == (redis, postgres):
            return True
        if time.monotonic() >= deadline:
            print(f"{name} probe: {result}")
            return False
        await asyncio.sleep(0.2)


async def probe_ok(stack: LocalStack, name: str) -> dict[str, Any]:
    assert await probe_until(stack, name, redis=True, postgres=True)
    return BOTH_OK


async def health_ok(base_url: str) -> bool:
    try:
        await get_json(base_url + "/health")
    except (aiohttp.ClientError, TimeoutError):
        return False
    return True


def stack_pids(stack: LocalStack) -> dict[int, int]:
    """pid -> start ticks of every process the stack runs and of all their descendants.

    Descendants, not process groups: postgres backends call setsid() and leave the postmaster's group.
    """
    names = ["redis", "postgres", "toxiproxy", *(i.name for i in stack.instances if i.process)]
    pids: dict[int, int] = {}
    for name in names:
        pid = stack.process(name).pid
        assert pid is not None
        stat = procfs.read_stat(pid)
        assert stat is not None, f"{name} must be alive before teardown"
        pids[pid] = stat.start_ticks
        pids.update(procfs.descendants(pid))
    return pids


def alive(pids: dict[int, int]) -> list[int]:
    return [pid for pid, ticks in pids.items() if procfs.is_alive(pid, ticks)]


def uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


# --- the shared stack ------------------------------------------------------------------------


def test_stack_comes_up_and_reaches_redis_and_postgres_directly_and_through_proxies(shared: Shared) -> None:
    stack = shared.stack

    async def scenario() -> None:
        assert await redis_ping(stack.redis_url)
        assert await pg_value(stack.postgres_dsn, "SELECT current_database()") == "oversell"
        assert await pg_value(stack.postgres_dsn, "SHOW fsync") == "on"
        assert await pg_value(stack.postgres_dsn, "SHOW synchronous_commit") == "on"
        for info in stack.instances:
            assert info.redis_proxy_port not in (stack.redis_port, 0)
            assert await redis_ping(info.redis_url)
            assert await pg_value(info.postgres_dsn, "SELECT 1") == 1
            assert await probe_ok(stack, info.name) == BOTH_OK
        proxies = await stack.toxiproxy.proxies()
        assert sorted(proxies) == ["inst1-postgres", "inst1-redis", "inst2-postgres", "inst2-redis"]

    shared.run(scenario())
    described = json.loads(json.dumps(stack.describe()))  # JSON-able
    assert [i["name"] for i in described["instances"]] == ["n1", "n2"]
    assert described["instances"][0]["proxies"]["redis"]["name"] == "inst1-redis"
    assert described["redis"]["process"]["running"] and described["postgres"]["settings"]["fsync"] == "on"
    assert stack.start_seconds is not None and stack.start_seconds < 20
    if os.geteuid() == 0:  # Postgres refuses root: it must run as the postgres user
        assert uid_of(stack.process("postgres").pid or 0) == pwd.getpwnam("postgres").pw_uid
    for name in ("redis", "postgres", "toxiproxy", "n1", "n2"):
        assert (stack.logs_dir / f"{name}.log").is_file()
        assert read_pid_file(stack.pids_dir / f"{name}.pid").pid == stack.process(name).pid


def test_disabled_redis_proxy_cuts_only_that_instance(shared: Shared) -> None:
    stack = shared.stack

    async def scenario() -> None:
        await stack.toxiproxy.disable("inst1-redis")
        try:
            assert await probe_until(stack, "n1", redis=False, postgres=True)
            assert await probe_until(stack, "n2", redis=True, postgres=True)
            assert await redis_ping(stack.redis_url)  # the harness's direct link is untouched
        finally:
            await stack.toxiproxy.enable("inst1-redis")
        assert await probe_ok(stack, "n1") == BOTH_OK

    shared.run(scenario())


def test_timeout_toxic_on_postgres_proxy_cuts_only_that_instance(shared: Shared) -> None:
    stack = shared.stack

    async def scenario() -> None:
        for stream in ("upstream", "downstream"):
            await stack.toxiproxy.add_toxic("inst2-postgres", "timeout", {"timeout": 0}, stream=stream)
        try:
            cut = await probe(stack, "n2")
            assert cut["postgres"].startswith("TimeoutError"), cut  # a black hole: no error, only silence
            assert await probe_until(stack, "n2", redis=True, postgres=False)
            assert await probe_until(stack, "n1", redis=True, postgres=True)
        finally:
            await stack.toxiproxy.reset()
        assert await probe_ok(stack, "n2") == BOTH_OK

    shared.run(scenario())


def test_pause_and_resume_redis(shared: Shared) -> None:
    stack = shared.stack

    async def scenario() -> None:
        await stack.pause("redis")
        try:
            with pytest.raises((TimeoutError, aioredis.TimeoutError)):
                await redis_ping(stack.redis_url, timeout=0.5)
            assert (await probe(stack, "n1"))["redis"] != "ok"
        finally:
            await stack.resume("redis")
        assert await redis_ping(stack.redis_url)
        assert await probe_ok(stack, "n1") == BOTH_OK

    shared.run(scenario())


def test_pause_freezes_every_postgres_process_and_resume_thaws_the_open_connection(shared: Shared) -> None:
    """Backends call setsid(): a group SIGSTOP alone would leave open connections answering."""
    stack = shared.stack
    postmaster = stack.process("postgres").pid
    assert postmaster is not None

    async def scenario() -> None:
        async with await psycopg.AsyncConnection.connect(stack.postgres_dsn, autocommit=True) as conn:
            backend = (await (await conn.execute("SELECT pg_backend_pid()")).fetchone() or [0])[0]
            assert procfs.read_stat(backend).pgid != procfs.read_stat(postmaster).pgid  # type: ignore[union-attr]
            await stack.pause("postgres")
            try:
                states = {pid: procfs.read_stat(pid).state for pid, _ in procfs.descendants(postmaster)}  # type: ignore[union-attr]
                assert backend in states and set(states.values()) == {"T"}
                assert procfs.read_stat(postmaster).state == "T"  # type: ignore[union-attr]
            finally:
                await stack.resume("postgres")
            assert (await (await conn.execute("SELECT 7")).fetchone() or [0])[0] == 7

    shared.run(scenario())


def test_kill_and_restart_an_instance(shared: Shared) -> None:
    stack = shared.stack
    n1 = stack.instance("n1")
    old_pid = stack.process("n1").pid

    async def scenario() -> None:
        await stack.kill("n1")
        assert not stack.process("n1").running
        assert not (stack.pids_dir / "n1.pid").exists()
        assert not await health_ok(n1.base_url)
        assert await health_ok(stack.instance("n2").base_url)  # only n1 is down
        with pytest.raises(StackError, match="not running"):
            await stack.pause("n1")
        await stack.restart("n1")
        assert await probe_ok(stack, "n1") == BOTH_OK

    shared.run(scenario())
    new_pid = stack.process("n1").pid
    assert new_pid != old_pid and stack.process("n1").starts == 2
    assert read_pid_file(stack.pids_dir / "n1.pid").pid == new_pid
    assert "start #2" in (stack.logs_dir / "n1.log").read_text()


def test_killed_postgres_restarts_with_committed_data(shared: Shared) -> None:
    stack = shared.stack

    async def scenario() -> None:
        await pg_value(stack.postgres_dsn, "CREATE TABLE survives (v int)")
        await pg_value(stack.postgres_dsn, "INSERT INTO survives VALUES (42) RETURNING v")
        await stack.kill("postgres")
        with pytest.raises(psycopg.OperationalError):
            await pg_value(stack.postgres_dsn, "SELECT 1")
        await stack.restart("postgres")  # crash recovery replays the WAL
        assert await pg_value(stack.postgres_dsn, "SELECT v FROM survives") == 42
        assert await probe_ok(stack, "n2") == BOTH_OK

    shared.run(scenario())
    assert "not properly shut down" in (stack.logs_dir / "postgres.log").read_text()


def test_killed_redis_without_persistence_restarts_empty(shared: Shared) -> None:
    stack = shared.stack

    async def scenario() -> None:
        before = aioredis.Redis.from_url(stack.redis_url, socket_timeout=5)
        try:
            await before.set("stock:sku-1", 5)
            await stack.kill("redis")
        finally:
            await before.aclose()
        await stack.restart("redis")
        after = aioredis.Redis.from_url(stack.redis_url, socket_timeout=5)
        try:
            assert await after.get("stock:sku-1") is None  # no AOF, no RDB: the stock is gone
        finally:
            await after.aclose()
        assert await probe_ok(stack, "n1") == BOTH_OK

    shared.run(scenario())


def test_killed_toxiproxy_cuts_every_link_and_restart_recreates_the_proxies(shared: Shared) -> None:
    stack = shared.stack

    async def scenario() -> None:
        before = await stack.toxiproxy.proxies()
        await stack.toxiproxy.add_toxic("inst1-redis", "latency", {"latency": 100})
        await stack.kill("toxiproxy")
        assert (await probe(stack, "n1"))["redis"] != "ok"
        assert (await probe(stack, "n2"))["postgres"] != "ok"
        await stack.restart("toxiproxy")
        after = await stack.toxiproxy.proxies()
        assert {n: p.listen for n, p in after.items()} == {n: p.listen for n, p in before.items()}
        assert all(p.enabled and not p.toxics for p in after.values())  # a restart heals
        for name in ("n1", "n2"):
            assert await probe_ok(stack, name) == BOTH_OK

    shared.run(scenario())


def test_unknown_names_are_stack_errors(shared: Shared) -> None:
    with pytest.raises(StackError, match="no process named 'n9'"):
        shared.run(shared.stack.kill("n9"))


# --- own stacks: teardown, reaping, SIGTERM, errors ------------------------------------------

CRASHED_RUN = """
import os, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from harness.stack.processes import ManagedProcess
run = Path({run!r})
p = ManagedProcess("sleeper", ["sleep", "300"], log_path=run / "logs" / "sleeper.log", pid_dir=run / "pids")
p.start()
print(p.pid, flush=True)
os._exit(0)  # a crash: no stop, the pid file stays behind
"""


def start_crashed_run(run: Path) -> int:
    """A harness process that starts a service and dies without stopping it. Returns the orphan's pid."""
    code = CRASHED_RUN.format(repo=str(REPO), run=str(run))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=True)
    return int(out.stdout.strip())


def test_crashed_run_is_reaped_and_teardown_after_an_exception_leaves_nothing(stack_dir: Path) -> None:
    runs_root = stack_dir / "runs"
    orphan = start_crashed_run(runs_root / "crashed")
    orphan_record = read_pid_file(runs_root / "crashed" / "pids" / "sleeper.pid")
    assert procfs.is_alive(orphan, orphan_record.start_ticks)
    stack = LocalStack(
        runs_root / "now",
        instances=1,
        candidate_cmd=CANDIDATE,
        candidate_env=CANDIDATE_ENV,
        runs_root=runs_root,
    )
    pids: dict[int, int] = {}

    async def scenario() -> None:
        async with stack:
            assert not procfs.is_alive(orphan, orphan_record.start_ticks)  # reaped before starting
            assert not (runs_root / "crashed" / "pids" / "sleeper.pid").exists()
            assert [(r.record.name, r.action) for r in stack.reaped] == [("sleeper", "killed")]
            pids.update(stack_pids(stack))
            raise RuntimeError("the run failed")

    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="the run failed"):
        asyncio.run(scenario())
    assert time.monotonic() - t0 < 25
    assert len(pids) >= 5  # redis, toxiproxy, n1, postmaster and its background processes
    assert alive(pids) == []
    assert list((stack.pids_dir).glob("*.pid")) == []
    assert stack.stop_seconds is not None and stack.stop_seconds < 10


SIGNALLED_RUN = """
import asyncio, json, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from harness.stack import LocalStack, StackTerminated

async def main() -> None:
    async with LocalStack(Path({run!r}), instances=1, runs_root=Path({runs_root!r})) as stack:
        print(json.dumps([stack.process(name).pid for name in ("redis", "postgres", "toxiproxy")]), flush=True)
        await asyncio.sleep(60)

try:
    asyncio.run(main())
except StackTerminated as exc:
    print("terminated:", exc, flush=True)
    sys.exit(143)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


@pytest.mark.parametrize(
    ("sig", "exit_code", "said"),
    [(signal.SIGTERM, 143, "terminated: SIGTERM"), (signal.SIGINT, 130, "interrupted")],
    ids=["SIGTERM", "Ctrl-C"],
)
def test_a_signal_to_the_harness_stops_the_stack_cleanly(
    stack_dir: Path, sig: int, exit_code: int, said: str
) -> None:
    runs_root = stack_dir / "runs"
    code = SIGNALLED_RUN.format(repo=str(REPO), run=str(runs_root / "r"), runs_root=str(runs_root))
    harness = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert harness.stdout is not None
        leaders = json.loads(harness.stdout.readline())
        pids: dict[int, int] = {}
        for pid in leaders:
            pids[pid] = procfs.read_stat(pid).start_ticks  # type: ignore[union-attr]
            pids.update(procfs.descendants(pid))
        assert len(alive(pids)) >= 4  # redis, postgres (+ its backends), toxiproxy
        harness.send_signal(sig)
        assert harness.wait(20) == exit_code
        assert said in harness.stdout.read()
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()
    assert alive(pids) == []
    assert list((runs_root / "r" / "pids").glob("*.pid")) == []


def test_a_missing_binary_is_a_clear_stack_error_and_starts_nothing(tmp_path: Path) -> None:
    found = StackBinaries.discover()
    binaries = StackBinaries(
        redis_server=found.redis_server,
        initdb=found.initdb,
        postgres=found.postgres,
        toxiproxy_server=tmp_path / "nowhere" / "toxiproxy-server",
    )
    stack = LocalStack(tmp_path / "runs" / "r", instances=1, runs_root=tmp_path / "runs", binaries=binaries)
    with pytest.raises(StackError) as error:
        asyncio.run(stack.start())
    message = str(error.value)
    assert f"toxiproxy-server not found at {tmp_path / 'nowhere' / 'toxiproxy-server'}" in message
    assert "./setup.sh" in message and "redis-server" not in message
    assert not (tmp_path / "runs" / "r" / "pids").exists()


def test_a_candidate_that_dies_names_the_instance_and_its_log(stack_dir: Path) -> None:
    cmd = ["sh", "-c", "echo 'cannot reach {redis_url}' >&2; exit 3"]
    stack = LocalStack(stack_dir / "runs" / "r", instances=1, candidate_cmd=cmd, runs_root=stack_dir / "runs")
    with pytest.raises(StackError) as error:
        asyncio.run(stack.start())
    message = str(error.value)
    assert "instance n1 exited (code 3) before it was ready" in message
    assert str(stack_dir / "runs" / "r" / "logs" / "n1.log") in message
    assert "cannot reach redis://127.0.0.1:" in message  # the log's tail is quoted
    assert list((stack_dir / "runs" / "r" / "pids").glob("*.pid")) == []  # torn down after the failure


# --- processes and pid files without a stack -------------------------------------------------


def test_reap_stale_spares_live_owners_and_reused_pids(tmp_path: Path) -> None:
    runs_root = tmp_path / "runs"
    ours = ManagedProcess(
        "mine", ["sleep", "300"], log_path=tmp_path / "mine.log", pid_dir=runs_root / "live" / "pids"
    )
    stranger = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        ours.start()
        stat = procfs.read_stat(stranger.pid)
        assert stat is not None
        # A pid file from a crashed run whose pid now belongs to an unrelated process (wrong start time).
        write_pid_file(
            runs_root / "old" / "pids" / "svc.pid",
            PidRecord(
                name="svc",
                pid=stranger.pid,
                pgid=stranger.pid,
                start_ticks=stat.start_ticks - 1,
                boot_id=procfs.boot_id(),
                argv=["sleep", "300"],
                owner=Owner(pid=2**22 + 1, start_ticks=1),  # above pid_max: certainly dead
            ),
        )
        reaped = reap_stale(runs_root)
        assert [(r.record.name, r.action) for r in reaped] == [("svc", "gone")]
        assert stranger.poll() is None, "a reused pid must never be killed"
        assert ours.running and (runs_root / "live" / "pids" / "mine.pid").exists()  # its owner (us) is alive
        assert not (runs_root / "old" / "pids" / "svc.pid").exists()
    finally:
        ours.stop()
        stranger.kill()
        stranger.wait()
    assert not (runs_root / "live" / "pids" / "mine.pid").exists()


def test_stop_escalates_to_sigkill_and_resumes_a_paused_process(tmp_path: Path) -> None:
    stubborn = ManagedProcess(
        "stubborn",
        ["sh", "-c", "trap '' TERM; sleep 300 & wait"],
        log_path=tmp_path / "stubborn.log",
        pid_dir=tmp_path / "pids",
        stop_timeout=0.5,
    )
    stubborn.start()
    time.sleep(0.2)
    group = [
        pid
        for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
        if (stat := procfs.read_stat(pid)) and stat.pgid == stubborn.pid
    ]
    assert len(group) == 2  # the shell and its sleep
    stubborn.pause()
    t0 = time.monotonic()
    stubborn.stop()
    assert 0.4 < time.monotonic() - t0 < 5
    assert stubborn.returncode == -9
    time.sleep(0.1)
    assert [p for p in group if procfs.is_alive(p)] == []  # the child in the group was swept too


def test_candidate_placeholders() -> None:
    values = {"port": "8080", "redis_url": "redis://x", "instance": "1"}
    assert expand('--port={port} {redis_url} n{instance} ${HOME} {"a": 1}', values) == (
        '--port=8080 redis://x n1 ${HOME} {"a": 1}'
    )
    with pytest.raises(StackError, match="unknown placeholder"):
        expand("{prot}", values)


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    serve(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
