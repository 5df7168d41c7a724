"""A node of the local stack: one process, frozen with SIGSTOP, crashed with SIGKILL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.stack.stack import NodeClock

if TYPE_CHECKING:
    from harness.stack.local_stack import LocalStack


class LocalNode:
    """The `Node` of a `LocalStack` process; the stack keeps the process, this only acts on it."""

    def __init__(self, stack: LocalStack, name: str, kind: str) -> None:
        self.stack = stack
        self.name = name
        self.kind = kind

    @property
    def running(self) -> bool:
        return self.stack.process(self.name).running

    @property
    def clock(self) -> NodeClock | None:
        return None  # the local backend does not move clocks yet

    async def pause(self) -> None:
        await self.stack.pause(self.name)

    async def resume(self) -> None:
        await self.stack.resume(self.name)

    async def kill(self) -> None:
        await self.stack.kill(self.name)

    async def start(self) -> None:
        await self.stack.restart(self.name, graceful=False)

    def describe(self) -> dict[str, Any]:
        return {"pid": self.stack.process(self.name).pid}
