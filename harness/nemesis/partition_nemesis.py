"""Cut one instance's link to Redis or Postgres, both directions, without closing connections.

Modelled with Toxiproxy's `timeout` toxic at timeout=0 on both streams: bytes are swallowed and
nothing is answered, as when packets are dropped; connections already open stay open and hang
(no RST), which is what a real partition does to a client's pool. Disabling the proxy instead
would close connections at once — a crash of the peer, not a partition.
"""

from __future__ import annotations

import contextlib
from typing import Any

from harness.nemesis.fault import link_proxy
from harness.nemesis.schedule import FaultWindow
from harness.stack.local_stack import LocalStack
from harness.stack.toxiproxy_client import NotFound

STREAMS = ("upstream", "downstream")


def toxic_name(stream: str) -> str:
    return f"oversell-partition-{stream}"


class PartitionNemesis:
    name = "partition"

    async def start(self, stack: LocalStack, window: FaultWindow) -> dict[str, Any]:
        proxy = link_proxy(stack, window.target)
        for stream in STREAMS:
            await stack.toxiproxy.add_toxic(proxy, "timeout", {"timeout": 0}, stream=stream, name=toxic_name(stream))
        return {"proxy": proxy, "toxic": "timeout", "timeout": 0, "streams": list(STREAMS)}

    async def stop(self, stack: LocalStack, window: FaultWindow) -> dict[str, Any]:
        proxy = link_proxy(stack, window.target)
        for stream in STREAMS:
            with contextlib.suppress(NotFound):
                await stack.toxiproxy.remove_toxic(proxy, toxic_name(stream))
        return {"proxy": proxy}
