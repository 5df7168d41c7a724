"""SIGKILL a candidate instance (or Redis) at the window's start; restart it at its end.

Redis without persistence comes back empty: every acknowledged decrement is lost, as in a
failover to a replica that had not received them.
"""

from __future__ import annotations

from typing import Any

from harness.nemesis.schedule import FaultWindow
from harness.stack.local_stack import LocalStack


class KillNemesis:
    name = "kill"

    async def start(self, stack: LocalStack, window: FaultWindow) -> dict[str, Any]:
        pid = stack.process(window.target).pid
        await stack.kill(window.target)
        return {"signal": "SIGKILL", "pid": pid}

    async def stop(self, stack: LocalStack, window: FaultWindow) -> dict[str, Any]:
        process = stack.process(window.target)
        if process.running:
            return {"restarted": False}
        await stack.restart(window.target, graceful=False)
        return {"restarted": True, "pid": process.pid}
