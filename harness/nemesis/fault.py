"""What every fault implements: start it on a target, stop it (heal). Knows the stack, not the checker."""

from __future__ import annotations

from typing import Any, Protocol

from harness.nemesis.schedule import FaultWindow
from harness.stack.local_stack import LocalStack


class Fault(Protocol):
    name: str

    async def start(self, stack: LocalStack, window: FaultWindow) -> dict[str, Any]:
        """Apply the fault; return what was done (recorded in the history)."""
        ...

    async def stop(self, stack: LocalStack, window: FaultWindow) -> dict[str, Any]:
        """Heal it; must be safe to call when start failed half-way."""
        ...


def link_proxy(stack: LocalStack, target: str) -> str:
    """"n1:redis" -> the Toxiproxy proxy carrying instance n1's link to Redis."""
    instance, _, link = target.partition(":")
    proxies = stack.instance(instance).proxies
    if link not in proxies:
        raise ValueError(f"link target {target!r}: expected INSTANCE:redis or INSTANCE:postgres")
    return proxies[link]
