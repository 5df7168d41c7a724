"""The one seam between a run and the machinery it runs on: `Stack`, `Node` and `StackRequest`.

The runner, every fault and the candidate client reach Redis, Postgres, Toxiproxy and the
candidate instances only through these protocols; a backend (local processes, containers) is
one implementation of them, picked by name from `harness/stack/backends.py`. Nothing outside
`harness/stack/` knows how a backend starts, signals or addresses what it runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.stack.toxiproxy_client import ToxiproxyClient

# What a node is; faults pick their targets by kind.
INSTANCE = "instance"
REDIS = "redis"
POSTGRES = "postgres"
TOXIPROXY = "toxiproxy"
NODE_KINDS = (INSTANCE, REDIS, POSTGRES, TOXIPROXY)
# The dependencies an instance reaches through a Toxiproxy proxy of its own ("n1:redis").
LINKS = (REDIS, POSTGRES)


@dataclass(frozen=True, slots=True)
class CandidateLaunch:
    """What the candidate instances are: a built-in strategy (and its knobs) or an outside command.

    A backend decides how to run it (a script with this Python, a container image...); the run
    value only says what.
    """

    strategy: str | None
    cmd: str | None = None
    knobs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StackRequest:
    """Everything a backend needs to bring a run's stack up: a plain value, from the run value."""

    run_dir: Path
    instances: int
    candidate: CandidateLaunch | None
    redis_persistence: bool = False
    ready_timeout_s: float = 60.0
    runs_root: Path | None = None  # where leftovers of crashed runs are looked for


@runtime_checkable
class NodeClock(Protocol):
    """A node's clock, where the backend can move it (libfaketime, a clock the service reads)."""

    def offset_s(self) -> float: ...

    async def set_offset(self, seconds: float) -> None: ...


@runtime_checkable
class Node(Protocol):
    """One thing a fault can act on: a candidate instance, Redis, Postgres or Toxiproxy."""

    name: str
    kind: str

    @property
    def running(self) -> bool: ...

    @property
    def clock(self) -> NodeClock | None: ...

    async def pause(self) -> None:
        """Freeze it: its sockets stay open and nothing answers (a GC pause, a hung VM)."""
        ...

    async def resume(self) -> None: ...

    async def kill(self) -> None:
        """Crash it: no chance to flush or say goodbye."""
        ...

    async def start(self) -> None:
        """Start it again after a kill, and wait until it answers."""
        ...

    def describe(self) -> dict[str, Any]:
        """What identifies it now (a pid, a container id), for the history."""
        ...


@runtime_checkable
class Instance(Protocol):
    """A candidate instance as the workload sees it: a name, a URL, its private links."""

    name: str
    base_url: str

    @property
    def proxies(self) -> dict[str, str]:
        """Dependency ("redis", "postgres") -> the Toxiproxy proxy that carries this instance's link."""
        ...


@runtime_checkable
class Stack(Protocol):
    """A running stack. `start` and `stop` are the backend's; `stop` is idempotent and never skipped."""

    backend: str
    logs_dir: Path
    toxiproxy: ToxiproxyClient

    @property
    def endpoints(self) -> Sequence[Instance]:
        """The candidate instances, in order (n1, n2, ...)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def nodes(self) -> dict[str, Node]:
        """Every node a fault can act on, by name ("redis", "postgres", "toxiproxy", "n1", ...)."""
        ...

    def node(self, name: str) -> Node: ...

    def describe(self) -> dict[str, Any]:
        """What runs where, JSON-able (stack.json in the run folder)."""
        ...


def link_proxy(stack: Stack, target: str) -> str:
    """"n1:redis" -> the Toxiproxy proxy carrying instance n1's link to Redis."""
    name, _, link = target.partition(":")
    for instance in stack.endpoints:
        if instance.name == name:
            if link not in instance.proxies:
                raise ValueError(f"link target {target!r}: expected INSTANCE:{'|'.join(LINKS)}")
            return instance.proxies[link]
    raise ValueError(f"link target {target!r}: no instance {name!r}")
