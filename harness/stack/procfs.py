"""Process identity from /proc: a pid alone is not an identity, pid + start time (+ boot id) is.

Pids are reused, so before signalling a process we did not spawn in this interpreter (a pid file
left by a crashed run) we check that the pid still has the start time we recorded, in this boot.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of /proc/PID/stat we need: state letter, parent, process group, start time (ticks)."""

    state: str
    ppid: int
    pgid: int
    start_ticks: int


def boot_id() -> str:
    """Changes at every boot, so a start time recorded before a reboot never matches after it."""
    try:
        return (PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def read_stat(pid: int) -> ProcStat | None:
    """None when the process does not exist (or /proc is unreadable)."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    # comm (field 2) is in parentheses and may contain spaces or ')': split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); ppid is field 4, pgrp field 5, starttime field 22.
    return ProcStat(state=fields[0], ppid=int(fields[1]), pgid=int(fields[2]), start_ticks=int(fields[19]))


def read_cmdline(pid: int) -> list[str] | None:
    """argv as the process shows it now (servers like redis rewrite it, see `cmdline_matches`)."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_alive(pid: int, start_ticks: int | None = None) -> bool:
    """True if `pid` exists, is not a zombie and (when given) started at `start_ticks`."""
    stat = read_stat(pid)
    if stat is None or stat.state in ("Z", "X"):
        return False
    return start_ticks is None or stat.start_ticks == start_ticks


def cmdline_matches(pid: int, argv: list[str]) -> bool:
    """Whether the process still looks like `argv`.

    Exact argv, or the same program name in the first word: redis-server and postgres children
    rewrite their title ("/usr/bin/redis-server 127.0.0.1:6379"), keeping the program first.
    """
    current = read_cmdline(pid)
    if not current or not argv:
        return False
    if current == argv:
        return True
    first_word = current[0].split(" ", 1)[0]
    return os.path.basename(first_word) == os.path.basename(argv[0])


def descendants(pid: int) -> list[tuple[int, int]]:
    """(pid, start ticks) of every live descendant of `pid`, parents before children.

    Needed because a process group is not a process tree: postgres backends call setsid(), so a
    signal to the postmaster's group never reaches them.
    """
    children: dict[int, list[tuple[int, int]]] = {}
    try:
        entries = [int(e.name) for e in PROC.iterdir() if e.name.isdigit()]
    except OSError:
        return []
    for child in entries:
        stat = read_stat(child)
        if stat is not None and stat.state not in ("Z", "X"):
            children.setdefault(stat.ppid, []).append((child, stat.start_ticks))
    found: list[tuple[int, int]] = []
    queue = [pid]
    while queue:
        for entry in children.get(queue.pop(0), []):
            found.append(entry)
            queue.append(entry[0])
    return found
