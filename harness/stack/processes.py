"""Managed processes: started in their own session, logged to a file, tracked by a pid file, reaped.

Every service of a stack runs as a `ManagedProcess`. Its own session keeps a terminal's Ctrl-C away
from it, so the harness decides when it stops. Pause/resume/kill reach its group *and* every
descendant: postgres backends call setsid() and leave the postmaster's group, so a group signal
alone would miss them. A pid file in the run folder (see `pidfile`) lets `reap_stale` clean up
after a harness that crashed or was SIGKILLed.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.stack import procfs
from harness.stack.errors import StackError
from harness.stack.pidfile import Owner, PidRecord, read_pid_file, write_pid_file

KILL_WAIT_SECONDS = 10.0  # after SIGKILL a process is gone in ms unless stuck in the kernel (D state)


def _signal(pid: int, sig: int, group: bool = False) -> None:
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def signal_tree(pid: int, sig: int, group: bool = True) -> None:
    """Signal `pid` (its whole group when `group`) and every descendant, even those in other sessions."""
    _signal(pid, sig, group)
    for child, ticks in procfs.descendants(pid):
        if procfs.is_alive(child, ticks):
            _signal(child, sig)


def freeze_tree(pid: int, group: bool = True) -> list[tuple[int, int]]:
    """SIGSTOP `pid` and all its descendants; a stopped parent cannot fork, so the tree settles.

    Returns the descendants (pid, start ticks), frozen.
    """
    _signal(pid, signal.SIGSTOP, group)
    stopped: set[int] = set()
    for _ in range(20):  # a child forked just before its parent stopped shows up on the next scan
        tree = procfs.descendants(pid)
        fresh = [(child, ticks) for child, ticks in tree if child not in stopped]
        if not fresh:
            return tree
        for child, ticks in fresh:
            if procfs.is_alive(child, ticks):
                _signal(child, signal.SIGSTOP)
            stopped.add(child)
    return procfs.descendants(pid)


def kill_tree(pid: int, group: bool = True) -> None:
    """SIGKILL `pid`, its group and every descendant: freeze first so nothing escapes by forking."""
    tree = freeze_tree(pid, group)
    _signal(pid, signal.SIGKILL, group)
    for child, ticks in tree:
        if procfs.is_alive(child, ticks):
            _signal(child, signal.SIGKILL)


def _user_kwargs(user: str | None) -> dict[str, Any]:
    """Popen arguments to drop to `user` (root only); nothing when we already are that user."""
    if user is None:
        return {}
    try:
        entry = pwd.getpwnam(user)
    except KeyError as exc:
        raise StackError(
            f"user {user!r} does not exist (install the package that creates it: ./setup.sh)"
        ) from exc
    if os.geteuid() == entry.pw_uid:
        return {}
    if os.geteuid() != 0:
        raise StackError(
            f"cannot run as user {user!r}: only root can switch users (running as uid {os.geteuid()})"
        )
    # group and extra_groups too: otherwise the child keeps root's gid 0 and supplementary groups.
    return {
        "user": entry.pw_uid,
        "group": entry.pw_gid,
        "extra_groups": os.getgrouplist(user, entry.pw_gid),
    }


class ManagedProcess:
    """One long-running process of the stack. Not thread-safe; the harness's event loop owns it."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        pid_dir: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
        stop_whole_tree: bool = True,
        stop_timeout: float = 10.0,
    ) -> None:
        """`stop_whole_tree=False` sends the stop signal to the leader only (postgres: SIGINT to the
        postmaster is a fast shutdown; signalling its backends too would only race with it)."""
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self.pid_path = pid_dir / f"{name}.pid"
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self.stop_whole_tree = stop_whole_tree
        self.stop_timeout = stop_timeout
        self.paused = False
        self.starts = 0
        self._popen: subprocess.Popen[bytes] | None = None
        self._stop_snapshot: list[tuple[int, int]] = []  # descendants when the stop began

    # --- state ---------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def describe(self) -> dict[str, Any]:
        """JSON-able summary for run.json."""
        return {
            "name": self.name,
            "pid": self.pid,
            "running": self.running,
            "argv": self.argv,
            "user": self.user,
            "log": str(self.log_path),
            "pid_file": str(self.pid_path),
            "starts": self.starts,
        }

    def log_tail(self, lines: int = 15) -> str:
        """The end of the log, for error messages that must say why a service did not come up."""
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 8192))
                text = fh.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # --- start ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Spawn the process and write its pid file. Raises StackError when the binary is missing."""
        if self.running:
            raise StackError(f"{self.name} is already running (pid {self.pid})")
        user_kwargs = _user_kwargs(self.user)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        with self.log_path.open("ab") as log:
            log.write(f"--- oversell {stamp} start #{self.starts + 1}: {self.argv}\n".encode())
            log.flush()
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    cwd=self.cwd,
                    start_new_session=True,
                    close_fds=True,
                    **user_kwargs,
                )
            except FileNotFoundError as exc:
                raise StackError(f"{self.name}: binary not found: {self.argv[0]} ({exc.strerror})") from exc
            except PermissionError as exc:
                raise StackError(f"{self.name}: cannot execute {self.argv[0]} ({exc.strerror})") from exc
        self.starts += 1
        self.paused = False
        stat = procfs.read_stat(self._popen.pid)
        record = PidRecord(
            name=self.name,
            pid=self._popen.pid,
            pgid=self._popen.pid,  # start_new_session: the child leads its own session and group
            start_ticks=stat.start_ticks if stat else -1,
            boot_id=procfs.boot_id(),
            argv=self.argv,
            owner=Owner.current(),
            log=str(self.log_path),
        )
        write_pid_file(self.pid_path, record)

    # --- signals -------------------------------------------------------------------------------

    def _require_running(self) -> int:
        if not self.running or self._popen is None:
            raise StackError(f"{self.name} is not running")
        return self._popen.pid

    def send(self, sig: int, whole_tree: bool = True) -> None:
        """Signal the process and (by default) its group and descendants. StackError if not running."""
        pid = self._require_running()
        if whole_tree:
            signal_tree(pid, sig)
        else:
            _signal(pid, sig)

    def pause(self) -> None:
        """SIGSTOP the whole tree: sockets stay open but nothing answers (a GC pause, a hung VM)."""
        freeze_tree(self._require_running())
        self.paused = True

    def resume(self) -> None:
        self.send(signal.SIGCONT)
        self.paused = False

    def _begin_stop(self) -> None:
        pid = self._require_running()
        self._stop_snapshot = procfs.descendants(pid)
        self.send(self.stop_signal, whole_tree=self.stop_whole_tree)
        if self.paused:  # a stopped process cannot act on SIGTERM until continued
            self.send(signal.SIGCONT)
            self.paused = False

    def _kill_tree(self) -> None:
        if self._popen is not None and self._popen.poll() is None:
            kill_tree(self._popen.pid)

    def _after_exit(self) -> None:
        """Right after reaping the leader: kill what is left of its group and of the tree it had
        when the stop began (orphans are re-parented, so they can no longer be found from it)."""
        if self._popen is not None:
            _signal(self._popen.pid, signal.SIGKILL, group=True)
        for child, ticks in self._stop_snapshot:
            if procfs.is_alive(child, ticks):
                _signal(child, signal.SIGKILL)
        self._stop_snapshot = []
        self.paused = False
        self.pid_path.unlink(missing_ok=True)

    # --- sync stop/kill (teardown) ---------------------------------------------------------------

    def _wait(self, timeout: float) -> bool:
        assert self._popen is not None
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self, timeout: float | None = None, signalled: bool = False) -> None:
        """Stop signal, wait, then SIGKILL the tree; reap and remove the pid file. Idempotent.

        `signalled`: the stop signal was already sent (see `stop_all`).
        """
        if self._popen is None:
            return
        if self.running:
            if not signalled:
                self._begin_stop()
            if not self._wait(self.stop_timeout if timeout is None else timeout):
                self._kill_tree()
                if not self._wait(KILL_WAIT_SECONDS):
                    raise StackError(f"{self.name} (pid {self.pid}) survived SIGKILL; its pid file is kept")
        self._after_exit()

    def kill(self) -> None:
        """SIGKILL the whole tree (a crash, no chance to flush) and reap it."""
        if self._popen is None:
            return
        if self.running:
            self._stop_snapshot = procfs.descendants(self._popen.pid)
            self._kill_tree()
            if not self._wait(KILL_WAIT_SECONDS):
                raise StackError(f"{self.name} (pid {self.pid}) survived SIGKILL; its pid file is kept")
        self._after_exit()

    def restart(self) -> None:
        self.stop()
        self.start()

    # --- async stop/kill (faults during a run: never block the event loop) -----------------------

    async def wait_exit(self, timeout: float) -> bool:
        """Poll until the process has exited (and is reaped); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.running:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def stop_async(self, timeout: float | None = None) -> None:
        if self._popen is None:
            return
        if self.running:
            self._begin_stop()
            if not await self.wait_exit(self.stop_timeout if timeout is None else timeout):
                self._kill_tree()
                if not await self.wait_exit(KILL_WAIT_SECONDS):
                    raise StackError(f"{self.name} (pid {self.pid}) survived SIGKILL; its pid file is kept")
        self._after_exit()

    async def kill_async(self) -> None:
        if self._popen is None:
            return
        if self.running:
            self._stop_snapshot = procfs.descendants(self._popen.pid)
            self._kill_tree()
            if not await self.wait_exit(KILL_WAIT_SECONDS):
                raise StackError(f"{self.name} (pid {self.pid}) survived SIGKILL; its pid file is kept")
        self._after_exit()


def stop_all(processes: Sequence[ManagedProcess]) -> list[str]:
    """Stop peers together: signal them all first, then wait for each. Returns the errors."""
    errors: list[str] = []
    signalled: list[ManagedProcess] = []
    for process in processes:
        try:
            if process.running:
                process._begin_stop()
                signalled.append(process)
        except Exception as exc:  # teardown goes on with the others
            errors.append(f"{process.name}: {exc}")
    for process in processes:
        try:
            process.stop(signalled=process in signalled)
        except Exception as exc:  # teardown goes on with the others
            errors.append(f"{process.name}: {exc}")
    return errors


@dataclass(frozen=True, slots=True)
class ReapedProcess:
    """What `reap_stale` did with one pid file: "killed" the leftover, or found it already "gone"."""

    pid_file: Path
    record: PidRecord
    action: str

    def describe(self) -> dict[str, Any]:
        return {
            "pid_file": str(self.pid_file),
            "name": self.record.name,
            "pid": self.record.pid,
            "action": self.action,
        }


def _wait_gone(pid: int, start_ticks: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while procfs.is_alive(pid, start_ticks):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def reap_stale(runs_root: Path, timeout: float = 5.0) -> list[ReapedProcess]:
    """Kill processes that crashed runs under `runs_root` left behind, and remove their pid files.

    Only pid files whose owner (the harness process) is dead are touched, so a run going on in
    parallel keeps its processes. A process is killed only if its pid still has the recorded start
    time, boot id and program: a reused pid belongs to someone else and is left alone.
    """
    reaped: list[ReapedProcess] = []
    if not runs_root.is_dir():
        return reaped
    for path in sorted(runs_root.glob("**/pids/*.pid")):
        try:
            record = read_pid_file(path)
        except (OSError, ValueError):
            continue  # not ours (or unreadable): never act on it
        if record.owner.alive():
            continue
        action = "gone"
        if record.same_process_running():
            stat = procfs.read_stat(record.pid)
            kill_tree(record.pid, group=stat is not None and stat.pgid == record.pid)
            if not _wait_gone(record.pid, record.start_ticks, timeout):
                raise StackError(f"stale {record.name} (pid {record.pid}, from {path}) survived SIGKILL")
            action = "killed"
        path.unlink(missing_ok=True)
        reaped.append(ReapedProcess(pid_file=path, record=record, action=action))
    return reaped
