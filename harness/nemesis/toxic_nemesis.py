"""Faults on one instance's link to Redis or Postgres, through that link's Toxiproxy proxy.

One fault, its toxic a parameter: each entry below is reachable by name from `--nemesis`.
A `partition` is Toxiproxy's `timeout` toxic at timeout=0 on both streams: bytes are swallowed
and nothing is answered, and open connections hang without a RST, which is what a real
partition does to a client's pool (disabling the proxy would close them: a crash of the peer).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from harness.nemesis.config import FaultWindow, NemesisConfig, draw, link_target
from harness.stack.stack import Stack, link_proxy
from harness.stack.toxiproxy_client import NotFound

BOTH_STREAMS = ("upstream", "downstream")


@dataclass(frozen=True, slots=True)
class ToxicFault:
    """Toxic `toxic` with attributes `attributes(params)` on the window's link, on `streams`."""

    name: str
    toxic: str
    description: str
    attributes: Callable[[dict[str, Any]], dict[str, Any]]
    defaults: dict[str, Any] = field(default_factory=dict)
    streams: tuple[str, ...] = BOTH_STREAMS
    links: tuple[str, ...] = ("redis", "postgres")
    optional_params: ClassVar[tuple[str, ...]] = ("link",)  # "redis", "postgres" or "redis|postgres"

    def length(self, config: NemesisConfig, rng: random.Random) -> float:
        return draw(rng, config.fault_s)

    def plan(self, config: NemesisConfig, instances: list[str], rng: random.Random) -> tuple[str, dict[str, Any]]:
        params = config.fault_params(self.name, self.defaults)
        links = tuple(params["link"].split("|")) if "link" in params else self.links
        return link_target(instances, rng, links), params

    def toxic_name(self, stream: str) -> str:
        return f"oversell-{self.name}-{stream}"

    async def start(self, stack: Stack, window: FaultWindow) -> dict[str, Any]:
        proxy = link_proxy(stack, window.target)
        attributes = self.attributes(window.params)
        for stream in self.streams:
            await stack.toxiproxy.add_toxic(proxy, self.toxic, attributes, stream=stream, name=self.toxic_name(stream))
        return {"proxy": proxy, "toxic": self.toxic, **attributes, "streams": list(self.streams)}

    async def stop(self, stack: Stack, window: FaultWindow) -> dict[str, Any]:
        proxy = link_proxy(stack, window.target)
        for stream in self.streams:
            with contextlib.suppress(NotFound):
                await stack.toxiproxy.remove_toxic(proxy, self.toxic_name(stream))
        return {"proxy": proxy}

    async def heal(self, stack: Stack) -> None:
        """Every toxic of this fault off every instance's proxies (a missing one is already healed)."""
        for instance in stack.endpoints:
            for proxy in instance.proxies.values():
                for stream in self.streams:
                    with contextlib.suppress(NotFound):
                        await stack.toxiproxy.remove_toxic(proxy, self.toxic_name(stream))


FAULTS = [
    ToxicFault("partition", "timeout", "cut one instance's link to Redis or Postgres; open connections hang",
               lambda p: {"timeout": 0}),
    ToxicFault("latency", "latency", "slow one instance's link: latency_ms with jitter_ms, both directions",
               lambda p: {"latency": int(p["latency_ms"]), "jitter": int(p["jitter_ms"])},
               {"latency_ms": 300, "jitter_ms": 150}),
    ToxicFault("timeout", "timeout", "stall one instance's link, then close its connections after timeout_ms",
               lambda p: {"timeout": int(p["timeout_ms"])}, {"timeout_ms": 500}),
    ToxicFault("bandwidth", "bandwidth", "throttle one instance's link to rate_kbs KB/s",
               lambda p: {"rate": int(p["rate_kbs"])}, {"rate_kbs": 1}),
    ToxicFault("reset-peer", "reset_peer", "reset one instance's connections (TCP RST) after timeout_ms",
               lambda p: {"timeout": int(p["timeout_ms"])}, {"timeout_ms": 0}),
    ToxicFault("slow-close", "slow_close", "delay closing one instance's connections by delay_ms",
               lambda p: {"delay": int(p["delay_ms"])}, {"delay_ms": 1000}),
]  # fmt: skip
