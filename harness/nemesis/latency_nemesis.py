"""Slow one instance's link: Toxiproxy `latency` toxic with jitter, both directions."""

from __future__ import annotations

import contextlib
from typing import Any

from harness.nemesis.fault import link_proxy
from harness.nemesis.schedule import FaultWindow
from harness.stack.local_stack import LocalStack
from harness.stack.toxiproxy_client import NotFound

STREAMS = ("upstream", "downstream")


def toxic_name(stream: str) -> str:
    return f"oversell-latency-{stream}"


class LatencyNemesis:
    name = "latency"

    async def start(self, stack: LocalStack, window: FaultWindow) -> dict[str, Any]:
        proxy = link_proxy(stack, window.target)
        latency = int(window.params.get("latency_ms", 300))
        jitter = int(window.params.get("jitter_ms", 150))
        for stream in STREAMS:
            await stack.toxiproxy.add_toxic(
                proxy, "latency", {"latency": latency, "jitter": jitter}, stream=stream, name=toxic_name(stream)
            )
        return {"proxy": proxy, "latency_ms": latency, "jitter_ms": jitter, "streams": list(STREAMS)}

    async def stop(self, stack: LocalStack, window: FaultWindow) -> dict[str, Any]:
        proxy = link_proxy(stack, window.target)
        for stream in STREAMS:
            with contextlib.suppress(NotFound):
                await stack.toxiproxy.remove_toxic(proxy, toxic_name(stream))
        return {"proxy": proxy}
