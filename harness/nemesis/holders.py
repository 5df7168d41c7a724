"""Finding the instance most likely to hold a lock right now, through the candidate protocol alone.

An instance that reports `holding` > 0 in its /health (an optional field of the protocol) says
so; one that does not is judged by the buys the harness has in flight to it: the oldest buy past
a threshold is the likeliest to be inside its critical section (a quick sale returns in a few
milliseconds). Random faults find lock bugs by luck; targeted faults use this to find them on
purpose.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from harness.nemesis.fault import RunView
from harness.stack.stack import Instance, Stack

HEALTH_TIMEOUT_S = 0.1  # a paused instance does not answer; do not wait for it


async def _holding(session: aiohttp.ClientSession, instance: Instance) -> int | None:
    """`holding` of the instance's /health, None when it does not say (or does not answer)."""
    try:
        async with session.get(f"{instance.base_url}/health") as resp:
            data = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    n = data.get("holding") if isinstance(data, dict) else None
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def _oldest_buys(view: RunView, names: set[str], threshold_s: float) -> list[str]:
    """Instances with a buy in flight past `threshold_s`, oldest buy first."""
    ages: dict[str, float] = {}
    for op in view.in_flight():
        if op.f == "buy" and op.node in names and op.age_s >= threshold_s:
            ages[op.node] = max(ages.get(op.node, 0.0), op.age_s)
    return sorted(ages, key=lambda n: -ages[n])


async def find_holders(
    stack: Stack, view: RunView, wait_s: float, threshold_s: float, most: int, poll_s: float = 0.002
) -> list[str]:
    """Up to `most` instances that hold a lock (or likely do), polling for at most `wait_s`.

    Never every instance: one must keep serving, to sell what a frozen holder read. When no
    instance says it holds one within `wait_s`, the one with the oldest buy in flight; empty
    when there is no buy in flight either.
    """
    running = [i for i in stack.endpoints if stack.node(i.name).running]
    most = max(1, min(most, len(stack.endpoints) - 1))
    names = {i.name for i in running}
    deadline = time.monotonic() + wait_s
    timeout = aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            counts = await asyncio.gather(*(_holding(session, i) for i in running))
            holders = [i.name for i, n in zip(running, counts, strict=True) if n]
            if holders:
                return holders[:most]
            if all(n is None for n in counts):  # the service does not say: judge by the buys
                likely = _oldest_buys(view, names, threshold_s)
                if likely:
                    return likely[:most]
            if time.monotonic() >= deadline:
                # nobody said it holds a lock: the instance with the oldest buy in flight, if any
                return _oldest_buys(view, names, 0.0)[:most]
            await asyncio.sleep(poll_s)


async def wait_for_op(view: RunView, f: str, wait_s: float, poll_s: float = 0.001) -> bool:
    """Wait until an op `f` is in flight (e.g. a restock: its rush is about to start); False on timeout."""
    deadline = time.monotonic() + wait_s
    while not any(op.f == f for op in view.in_flight()):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(poll_s)
    return True
