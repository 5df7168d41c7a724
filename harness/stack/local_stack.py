"""The local stack: one Redis, one Postgres, one Toxiproxy, N candidate instances, all on 127.0.0.1.

Each instance reaches Redis and Postgres only through its own pair of Toxiproxy proxies
(`inst{i}-redis`, `inst{i}-postgres`), so a fault can cut one instance's link and leave the others
alone. The harness itself talks to Redis and Postgres directly (`redis_url`, `postgres_dsn`).

    async with LocalStack(run_dir, instances=3, candidate_cmd="python svc.py --port {port} ...") as stack:
        await stack.toxiproxy.disable("inst1-redis")
        await stack.kill("n2"); await stack.restart("n2")

Everything started is stopped in reverse order on exit, on exceptions, on Ctrl-C (asyncio cancels
the task) and on SIGTERM (turned into a cancellation, then `StackTerminated`). Before starting,
processes left by crashed runs under `runs_root` are reaped (their pid files, see `processes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import re
import shlex
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
import psycopg

from harness.stack import postgres_cluster, readiness
from harness.stack.binaries import REPO_ROOT, StackBinaries
from harness.stack.errors import StackError, StackTerminated
from harness.stack.local_node import LocalNode
from harness.stack.pidfile import read_pid_file
from harness.stack.ports import LOOPBACK, free_ports
from harness.stack.processes import ManagedProcess, ReapedProcess, reap_stale, stop_all
from harness.stack.stack import INSTANCE, CandidateLaunch, Node, StackRequest
from harness.stack.toxiproxy_client import ToxiproxyClient

DEFAULT_RUNS_ROOT = REPO_ROOT / "histories" / "runs"
CANDIDATES_DIR = REPO_ROOT / "fixtures" / "candidates"
SERVICES = ("redis", "postgres", "toxiproxy")
PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")  # "{port}", not the shell's "${HOME}"


@dataclass(slots=True)
class InstanceInfo:
    """One candidate instance and its private links. `index` is 1-based: n1 uses inst1-*."""

    name: str
    index: int
    port: int
    base_url: str
    redis_proxy: str
    postgres_proxy: str
    redis_proxy_port: int
    postgres_proxy_port: int
    redis_url: str
    postgres_dsn: str
    process: ManagedProcess | None = None

    @property
    def proxies(self) -> dict[str, str]:
        return {"redis": self.redis_proxy, "postgres": self.postgres_proxy}

    def placeholders(self, run_dir: Path) -> dict[str, str]:
        """What `{...}` in the candidate command and environment expands to for this instance."""
        return {
            "port": str(self.port),
            "redis_url": self.redis_url,
            "postgres_dsn": self.postgres_dsn,
            "instance": str(self.index),
            "name": self.name,
            "run_dir": str(run_dir),
        }

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "index": self.index,
            "port": self.port,
            "base_url": self.base_url,
            "proxies": {
                "redis": {"name": self.redis_proxy, "port": self.redis_proxy_port},
                "postgres": {"name": self.postgres_proxy, "port": self.postgres_proxy_port},
            },
            "redis_url": self.redis_url,
            "postgres_dsn": self.postgres_dsn,
            "process": self.process.describe() if self.process else None,
        }


def expand(template: str, values: Mapping[str, str]) -> str:
    """Replace `{name}` placeholders; an unknown one is a StackError (a typo must not reach the service)."""

    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise StackError(f"unknown placeholder {{{key}}} in candidate command; known: {sorted(values)}")
        return values[key]

    return PLACEHOLDER.sub(one, template)


def split_command(command: str | Sequence[str]) -> list[str]:
    """A string is split like a shell would (without running one); a list is taken as argv."""
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    if not argv:
        raise StackError("candidate command is empty")
    return argv


def candidate_argv(candidate: CandidateLaunch, python: str) -> list[str]:
    """argv with placeholders; built-in strategies run as scripts from fixtures/candidates/ with `python`."""
    if candidate.cmd:
        return shlex.split(candidate.cmd)
    argv = [
        python, str(CANDIDATES_DIR / "serve.py"), "--strategy", str(candidate.strategy),
        "--port", "{port}", "--redis-url", "{redis_url}", "--postgres-dsn", "{postgres_dsn}",
    ]  # fmt: skip
    for key, value in sorted(candidate.knobs.items()):
        argv += [f"--{key.replace('_', '-')}", knob_text(value)]
    return argv


def knob_text(value: Any) -> str:
    """A knob as a service flag: strings as they are, anything else as JSON (true, not True)."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


class LocalStack:
    """Real processes on loopback; see the module docstring. Use with `async with`."""

    backend = "local"

    @classmethod
    def from_request(cls, request: StackRequest) -> LocalStack:
        """The `Stack` of a run: candidate processes started with this interpreter."""
        env: dict[str, str] = {}
        if request.candidate is not None and request.candidate.knobs:
            env["OVERSELL_KNOBS"] = orjson.dumps(dict(request.candidate.knobs), option=orjson.OPT_SORT_KEYS).decode()
        return cls(
            request.run_dir,
            instances=request.instances,
            candidate_cmd=None if request.candidate is None else candidate_argv(request.candidate, sys.executable),
            candidate_env=env,
            redis_persistence=request.redis_persistence,
            runs_root=request.runs_root or DEFAULT_RUNS_ROOT,
            ready_timeout=request.ready_timeout_s,
            candidate_ready_timeout=request.ready_timeout_s,
        )

    def __init__(
        self,
        run_dir: Path,
        instances: int = 3,
        candidate_cmd: str | Sequence[str] | None = None,
        candidate_env: Mapping[str, str] | None = None,
        redis_persistence: bool = False,
        *,
        redis_appendfsync: str = "everysec",
        candidate_cwd: Path | None = REPO_ROOT,
        runs_root: Path = DEFAULT_RUNS_ROOT,
        binaries: StackBinaries | None = None,
        ready_timeout: float = 30.0,
        candidate_ready_timeout: float = 30.0,
        toxiproxy_timeout: float = 5.0,
        handle_sigterm: bool = True,
    ) -> None:
        if instances < 0:
            raise ValueError("instances must be >= 0")
        self.run_dir = Path(run_dir).resolve()
        self.instance_count = instances
        self.candidate_argv = split_command(candidate_cmd) if candidate_cmd is not None else None
        self.candidate_env = dict(candidate_env or {})
        self.candidate_cwd = candidate_cwd
        self.redis_persistence = redis_persistence
        self.redis_appendfsync = redis_appendfsync
        self.runs_root = Path(runs_root).resolve()
        self.binaries = binaries or StackBinaries.discover()
        self.ready_timeout = ready_timeout
        self.candidate_ready_timeout = candidate_ready_timeout
        self.handle_sigterm = handle_sigterm
        self.logs_dir = self.run_dir / "logs"
        self.pids_dir = self.run_dir / "pids"

        self.redis_port = 0
        self.postgres_port = 0
        self.toxiproxy_port = 0
        self.redis_url = ""
        self.postgres_dsn = ""
        self.toxiproxy_url = ""
        self.toxiproxy = ToxiproxyClient("http://127.0.0.1:0", timeout=toxiproxy_timeout)
        self.toxiproxy_version = ""
        self.instances: list[InstanceInfo] = []
        self.reaped: list[ReapedProcess] = []
        self.postgres_chmods: list[str] = []
        self.postgres_socket_dirs = ""
        self.started_at = ""
        self.start_seconds: float | None = None
        self.stop_seconds: float | None = None

        self._services: dict[str, ManagedProcess] = {}
        self._started: list[ManagedProcess] = []  # in start order; teardown walks it backwards
        self._sigterm_received = False
        self._owner_task: asyncio.Task[Any] | None = None
        self._sigterm_installed = False

    # --- context manager -----------------------------------------------------------------------

    async def __aenter__(self) -> LocalStack:
        try:
            await self.start()
        except asyncio.CancelledError:
            if self._sigterm_received:
                self._uncancel()
                raise StackTerminated("SIGTERM during stack start: everything started was stopped") from None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if self._sigterm_received and exc_type is asyncio.CancelledError:
            self._uncancel()
            raise StackTerminated("SIGTERM: the stack was stopped cleanly") from None

    def _uncancel(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()

    # --- start ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bring everything up; on any failure (or cancellation) stop what was started, then raise."""
        if self.started_at:
            raise StackError(
                "a LocalStack starts once; make a new one (with a new run folder) to start again"
            )
        t0 = time.monotonic()
        self.started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        self._install_sigterm_handler()
        try:
            self._prepare()
            await self._start_services()
            await self._create_proxies()
            await self._start_instances()
        except BaseException:
            await self.stop()
            raise
        self.start_seconds = round(time.monotonic() - t0, 3)

    def _prepare(self) -> None:
        """Check binaries, reap leftovers of crashed runs, make sure no live run uses this folder."""
        self.binaries.check()
        self.reaped = reap_stale(self.runs_root)
        if not self.run_dir.is_relative_to(self.runs_root):
            self.reaped += reap_stale(self.run_dir)
        for pid_file in sorted(self.pids_dir.glob("*.pid")):
            try:
                record = read_pid_file(pid_file)
            except (OSError, ValueError) as exc:
                raise StackError(
                    f"run folder {self.run_dir} holds a pid file oversell did not write: {exc}"
                ) from exc
            raise StackError(
                f"run folder {self.run_dir} is in use: {record.name} (pid {record.pid}) of harness pid "
                f"{record.owner.pid} is still running; use another run folder"
            )
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.pids_dir.mkdir(parents=True, exist_ok=True)

    def _process(self, name: str, argv: list[str], **kwargs: Any) -> ManagedProcess:
        return ManagedProcess(
            name, argv, log_path=self.logs_dir / f"{name}.log", pid_dir=self.pids_dir, **kwargs
        )

    def _launch(self, process: ManagedProcess) -> None:
        self._started.append(process)  # before start(): a half-started process is still torn down
        process.start()

    async def _start_services(self) -> None:
        self.redis_port, self.postgres_port, self.toxiproxy_port = free_ports(3)
        self.redis_url = f"redis://{LOOPBACK}:{self.redis_port}/0"
        pg_base = f"postgresql://{postgres_cluster.SUPERUSER}@{LOOPBACK}:{self.postgres_port}"
        self.postgres_dsn = f"{pg_base}/{postgres_cluster.DATABASE}"
        self.toxiproxy_url = f"http://{LOOPBACK}:{self.toxiproxy_port}"
        self.toxiproxy.base_url = self.toxiproxy_url

        redis_dir = self.run_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        redis = self._process("redis", self._redis_argv(redis_dir))
        toxiproxy = self._process(
            "toxiproxy",
            [str(self.binaries.toxiproxy_server), "-host", LOOPBACK, "-port", str(self.toxiproxy_port)],
        )
        self._services.update(redis=redis, toxiproxy=toxiproxy)
        self._launch(redis)
        self._launch(toxiproxy)

        # initdb takes a second or two: Redis and Toxiproxy come up meanwhile.
        pg_root = self.run_dir / "postgres"
        data_dir, socket_dir = pg_root / "data", pg_root / "sock"
        self.postgres_chmods = await asyncio.to_thread(
            postgres_cluster.init_cluster,
            self.binaries.initdb,
            data_dir,
            socket_dir,
            self.logs_dir / "initdb.log",
        )
        self.postgres_socket_dirs = postgres_cluster.socket_dir_setting(socket_dir, self.postgres_port)
        postgres = self._process(
            "postgres",
            postgres_cluster.postgres_argv(
                self.binaries.postgres, data_dir, self.postgres_port, self.postgres_socket_dirs
            ),
            env=postgres_cluster.pg_env(),
            cwd=pg_root,
            user=postgres_cluster.os_user(),
            stop_signal=signal.SIGINT,  # fast shutdown: roll back sessions, checkpoint, exit
            stop_whole_tree=False,  # the postmaster stops its children itself
        )
        self._services["postgres"] = postgres
        self._launch(postgres)

        await asyncio.gather(
            self._wait_service_ready("redis"),
            self._wait_service_ready("toxiproxy"),
            self._wait_postgres_and_create_database(),
        )
        self.toxiproxy_version = await self.toxiproxy.version()

    def _redis_argv(self, redis_dir: Path) -> list[str]:
        argv = [
            str(self.binaries.redis_server),
            "--bind", LOOPBACK,
            "--port", str(self.redis_port),
            "--dir", str(redis_dir),
            "--daemonize", "no",
            "--logfile", "",  # stdout, i.e. logs/redis.log
            "--save", "",  # never RDB snapshots: a restart without AOF starts empty
        ]  # fmt: skip
        if self.redis_persistence:
            argv += ["--appendonly", "yes", "--appendfsync", self.redis_appendfsync]
        else:
            argv += ["--appendonly", "no"]
        return argv

    async def _wait_postgres_and_create_database(self) -> None:
        admin_dsn = self.postgres_dsn.rsplit("/", 1)[0] + "/postgres"
        postgres = self._services["postgres"]
        await readiness.wait_ready(
            postgres, lambda: readiness.postgres_select_one(admin_dsn), self.ready_timeout
        )
        async with await psycopg.AsyncConnection.connect(
            admin_dsn, autocommit=True, connect_timeout=5
        ) as conn:
            # FILE_COPY checkpoints and fsyncs the copy now; 15's default (WAL_LOG) would leave ~4 MB of
            # WAL that every crash recovery in the run's first checkpoint interval replays (seconds).
            # Before 15 there is no STRATEGY option and file copy is the only way.
            strategy = " STRATEGY = FILE_COPY" if conn.info.server_version >= 150000 else ""
            await conn.execute(f'CREATE DATABASE "{postgres_cluster.DATABASE}"{strategy}')

    async def _wait_service_ready(self, name: str) -> None:
        process = self._services[name]
        if name == "redis":
            await readiness.wait_ready(
                process, lambda: readiness.redis_ping(self.redis_url), self.ready_timeout
            )
        elif name == "postgres":
            dsn = self.postgres_dsn
            await readiness.wait_ready(
                process, lambda: readiness.postgres_select_one(dsn), self.ready_timeout
            )
        elif name == "toxiproxy":
            await readiness.wait_ready(process, self.toxiproxy.version, self.ready_timeout)
        else:
            info = self.instance(name)
            await readiness.wait_ready(
                process,
                lambda: readiness.http_health(info.base_url),
                self.candidate_ready_timeout,
                what=f"instance {name}",
            )

    async def _create_proxies(self) -> None:
        """Port 0: Toxiproxy binds and reports the port itself, so no other process can race for it."""
        instance_ports = free_ports(self.instance_count)
        for index in range(1, self.instance_count + 1):
            redis_proxy = await self.toxiproxy.create_proxy(
                f"inst{index}-redis", f"{LOOPBACK}:0", f"{LOOPBACK}:{self.redis_port}"
            )
            pg_proxy = await self.toxiproxy.create_proxy(
                f"inst{index}-postgres", f"{LOOPBACK}:0", f"{LOOPBACK}:{self.postgres_port}"
            )
            port = instance_ports[index - 1]
            self.instances.append(
                InstanceInfo(
                    name=f"n{index}",
                    index=index,
                    port=port,
                    base_url=f"http://{LOOPBACK}:{port}",
                    redis_proxy=redis_proxy.name,
                    postgres_proxy=pg_proxy.name,
                    redis_proxy_port=redis_proxy.listen_port,
                    postgres_proxy_port=pg_proxy.listen_port,
                    redis_url=f"redis://{LOOPBACK}:{redis_proxy.listen_port}/0",
                    postgres_dsn=(
                        f"postgresql://{postgres_cluster.SUPERUSER}@{LOOPBACK}:{pg_proxy.listen_port}"
                        f"/{postgres_cluster.DATABASE}"
                    ),
                )
            )

    async def _recreate_proxies(self) -> None:
        """After a Toxiproxy restart: same names and ports, enabled, no toxics (a restart heals)."""
        for info in self.instances:
            await self.toxiproxy.create_proxy(
                info.redis_proxy, f"{LOOPBACK}:{info.redis_proxy_port}", f"{LOOPBACK}:{self.redis_port}"
            )
            await self.toxiproxy.create_proxy(
                info.postgres_proxy,
                f"{LOOPBACK}:{info.postgres_proxy_port}",
                f"{LOOPBACK}:{self.postgres_port}",
            )

    async def _start_instances(self) -> None:
        if self.candidate_argv is None:
            return
        for info in self.instances:
            values = info.placeholders(self.run_dir)
            argv = [expand(arg, values) for arg in self.candidate_argv]
            env = dict(os.environ)
            env.update(
                OVERSELL_PORT=values["port"],
                OVERSELL_REDIS_URL=info.redis_url,
                OVERSELL_POSTGRES_DSN=info.postgres_dsn,
                OVERSELL_INSTANCE=values["instance"],
                OVERSELL_INSTANCE_NAME=info.name,
            )
            env.update({key: expand(value, values) for key, value in self.candidate_env.items()})
            info.process = self._process(info.name, argv, env=env, cwd=self.candidate_cwd, stop_timeout=5.0)
            self._services[info.name] = info.process
            self._launch(info.process)
        await asyncio.gather(*(self._wait_service_ready(info.name) for info in self.instances))

    # --- stop ----------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop everything started, newest first. Idempotent; blocking on purpose (see `_teardown`)."""
        with contextlib.suppress(Exception):
            await self.toxiproxy.close()
        self._teardown()

    def _teardown(self) -> None:
        """Synchronous so a second Ctrl-C or a cancelled task cannot interrupt it halfway."""
        t0 = time.monotonic()
        errors: list[str] = []
        # The instances are peers: stopped together (each takes a few 100 ms to shut down cleanly).
        instances = [p for p in self._started if p.name not in SERVICES]
        errors += stop_all(instances[::-1])
        self._started = [p for p in self._started if p not in instances]
        while self._started:
            process = self._started.pop()
            try:
                process.stop()
            except Exception as exc:  # keep stopping the others
                errors.append(f"{process.name}: {exc}")
        self._remove_sigterm_handler()
        self.stop_seconds = round(time.monotonic() - t0, 3)
        if errors:
            raise StackError("teardown incomplete: " + "; ".join(errors))

    # --- SIGTERM -------------------------------------------------------------------------------

    def _install_sigterm_handler(self) -> None:
        """SIGTERM cancels the task that owns the stack, so `async with` unwinds through teardown."""
        if not self.handle_sigterm or threading.current_thread() is not threading.main_thread():
            return
        self._owner_task = asyncio.current_task()
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self._on_sigterm)
        except (NotImplementedError, RuntimeError, ValueError):
            return
        self._sigterm_installed = True

    def _remove_sigterm_handler(self) -> None:
        if not self._sigterm_installed:
            return
        self._sigterm_installed = False
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)

    def _on_sigterm(self) -> None:
        self._sigterm_received = True
        task = self._owner_task
        if task is not None and not task.done():
            task.cancel("SIGTERM")
            return
        # Nobody to unwind (the owning task already finished): stop here, then die of SIGTERM as asked.
        try:
            self._teardown()
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    # --- faults --------------------------------------------------------------------------------

    def process(self, name: str) -> ManagedProcess:
        """The process behind "redis", "postgres", "toxiproxy" or an instance name ("n1")."""
        process = self._services.get(name)
        if process is None:
            raise StackError(f"no process named {name!r}; known: {sorted(self._services)}")
        return process

    @property
    def endpoints(self) -> list[InstanceInfo]:
        return self.instances

    def nodes(self) -> dict[str, Node]:
        """Every started process as a `Node`: the services, then the instances in order."""
        return {
            name: LocalNode(self, name, name if name in SERVICES else INSTANCE) for name in self._services
        }

    def node(self, name: str) -> Node:
        self.process(name)  # a StackError naming the known ones
        return LocalNode(self, name, name if name in SERVICES else INSTANCE)

    def instance(self, name: str) -> InstanceInfo:
        for info in self.instances:
            if info.name == name:
                return info
        raise StackError(f"no instance named {name!r}; known: {[i.name for i in self.instances]}")

    async def pause(self, name: str) -> None:
        """SIGSTOP: open connections stay up and time out (a long GC pause, a hung VM)."""
        self.process(name).pause()

    async def resume(self, name: str) -> None:
        self.process(name).resume()

    async def kill(self, name: str) -> None:
        """SIGKILL the process group: a crash without any chance to flush or say goodbye."""
        await self.process(name).kill_async()

    async def restart(self, name: str, graceful: bool = True) -> None:
        """Stop (if running; SIGKILL when not `graceful`), start the same argv, wait until it answers.

        Redis without persistence comes back empty; Postgres runs crash recovery after a kill;
        Toxiproxy comes back with every proxy on its old port, enabled and without toxics.
        """
        process = self.process(name)
        if graceful:
            await process.stop_async()
        else:
            await process.kill_async()
        process.start()
        await self._wait_service_ready(name)
        if name == "toxiproxy":
            await self._recreate_proxies()

    # --- description ---------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What runs where, JSON-able, for run.json."""
        services = {name: p.describe() for name, p in self._services.items() if name in SERVICES}
        return {
            "backend": self.backend,
            "run_dir": str(self.run_dir),
            "runs_root": str(self.runs_root),
            "started_at": self.started_at,
            "start_seconds": self.start_seconds,
            "binaries": self.binaries.describe(),
            "reaped": [r.describe() for r in self.reaped],
            "redis": {
                "url": self.redis_url,
                "port": self.redis_port,
                "persistence": self.redis_persistence,
                "appendfsync": self.redis_appendfsync if self.redis_persistence else None,
                "process": services.get("redis"),
            },
            "postgres": {
                "dsn": self.postgres_dsn,
                "port": self.postgres_port,
                "database": postgres_cluster.DATABASE,
                "superuser": postgres_cluster.SUPERUSER,
                "os_user": postgres_cluster.os_user() or "(harness user)",
                "data_dir": str(self.run_dir / "postgres" / "data"),
                "unix_socket_directories": self.postgres_socket_dirs,
                "settings": dict(postgres_cluster.SETTINGS),
                "chmod_parents": list(self.postgres_chmods),
                "process": services.get("postgres"),
            },
            "toxiproxy": {
                "url": self.toxiproxy_url,
                "port": self.toxiproxy_port,
                "version": self.toxiproxy_version,
                "process": services.get("toxiproxy"),
            },
            "candidate": {
                "argv_template": self.candidate_argv,
                "env_template": self.candidate_env,
                "cwd": str(self.candidate_cwd) if self.candidate_cwd else None,
            },
            "instances": [info.describe() for info in self.instances],
        }
