"""SIGSTOP a candidate instance (or Redis) for the window, then SIGCONT: a GC pause or a hung VM.

The paused process keeps its locks and connections; when it resumes it carries on with what it
read before the pause — exactly what breaks a lock whose TTL ran out meanwhile.
"""

from __future__ import annotations

from typing import Any

from harness.nemesis.schedule import FaultWindow
from harness.stack.local_stack import LocalStack


class PauseNemesis:
    name = "pause"

    async def start(self, stack: LocalStack, window: FaultWindow) -> dict[str, Any]:
        await stack.pause(window.target)
        return {"signal": "SIGSTOP", "pid": stack.process(window.target).pid}

    async def stop(self, stack: LocalStack, window: FaultWindow) -> dict[str, Any]:
        await stack.resume(window.target)
        return {"signal": "SIGCONT"}
