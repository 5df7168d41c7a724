"""Pid files under the run folder (`pids/NAME.pid`): enough to find and safely kill a process later.

Each file is one JSON object: the pid, its start time and boot id (identity, safe against pid reuse),
argv, and the harness process that owns it (so a live run's processes are never reaped by another run).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.stack import procfs


@dataclass(frozen=True, slots=True)
class Owner:
    """The harness process that started a managed process; dead owner + live process = leftover."""

    pid: int
    start_ticks: int

    @classmethod
    def current(cls) -> Owner:
        stat = procfs.read_stat(os.getpid())
        return cls(pid=os.getpid(), start_ticks=stat.start_ticks if stat else -1)

    def alive(self) -> bool:
        return procfs.is_alive(self.pid, self.start_ticks)


@dataclass(frozen=True, slots=True)
class PidRecord:
    """The content of one pid file."""

    name: str
    pid: int
    pgid: int
    start_ticks: int
    boot_id: str
    argv: list[str]
    owner: Owner
    log: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PidRecord:
        owner = data["owner"]
        return cls(
            name=str(data["name"]),
            pid=int(data["pid"]),
            pgid=int(data["pgid"]),
            start_ticks=int(data["start_ticks"]),
            boot_id=str(data["boot_id"]),
            argv=[str(a) for a in data["argv"]],
            owner=Owner(pid=int(owner["pid"]), start_ticks=int(owner["start_ticks"])),
            log=str(data.get("log", "")),
            extra=dict(data.get("extra", {})),
        )

    def same_process_running(self) -> bool:
        """The recorded process is still alive and is still the one we started (not a reused pid)."""
        return (
            self.boot_id == procfs.boot_id()
            and procfs.is_alive(self.pid, self.start_ticks)
            and procfs.cmdline_matches(self.pid, self.argv)
        )


def write_pid_file(path: Path, record: PidRecord) -> None:
    """Atomic (write then rename): a crash never leaves a half-written pid file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record.to_json(), indent=1) + "\n")
    os.replace(tmp, path)


def read_pid_file(path: Path) -> PidRecord:
    """Raises ValueError (or OSError) on a file that is not ours."""
    try:
        return PidRecord.from_json(json.loads(path.read_text()))
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not an oversell pid file ({exc})") from exc
