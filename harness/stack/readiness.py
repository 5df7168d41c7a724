"""Waiting for a started service to answer, with a time limit and an error that says where to look.

A readiness check polls the service; if the process exits meanwhile we stop at once and quote its
log, instead of waiting out the whole time limit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp
import psycopg
import redis.asyncio as aioredis

from harness.stack.errors import StackError
from harness.stack.processes import ManagedProcess

POLL_SECONDS = 0.05
ATTEMPT_SECONDS = 2.0


def _log_hint(process: ManagedProcess) -> str:
    tail = process.log_tail()
    return f"; log: {process.log_path}" + (
        f"\n--- last lines of {process.log_path.name}:\n{tail}" if tail else ""
    )


async def wait_ready(
    process: ManagedProcess,
    check: Callable[[], Awaitable[object]],
    timeout: float,
    what: str | None = None,
) -> None:
    """Poll `check()` until it returns without raising; StackError if the process dies or time runs out."""
    what = what or process.name
    deadline = time.monotonic() + timeout
    last_error = "no attempt finished"
    while True:
        if not process.running:
            raise StackError(
                f"{what} exited (code {process.returncode}) before it was ready{_log_hint(process)}"
            )
        try:
            await asyncio.wait_for(check(), min(ATTEMPT_SECONDS, max(0.1, deadline - time.monotonic())))
            return
        except Exception as exc:  # any failure means "not ready yet"; cancellation is not an Exception
            last_error = f"{type(exc).__name__}: {exc}".strip()
        if time.monotonic() >= deadline:
            raise StackError(
                f"{what} did not become ready within {timeout:g}s (last error: {last_error}){_log_hint(process)}"
            )
        await asyncio.sleep(POLL_SECONDS)


async def redis_ping(url: str) -> None:
    client = aioredis.Redis.from_url(
        url, socket_timeout=ATTEMPT_SECONDS, socket_connect_timeout=ATTEMPT_SECONDS
    )
    try:
        if not await client.ping():
            raise RuntimeError("PING did not answer PONG")
    finally:
        await client.aclose()


async def postgres_select_one(dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, connect_timeout=int(ATTEMPT_SECONDS)) as conn:
        await conn.execute("SELECT 1")


async def http_health(base_url: str) -> None:
    timeout = aiohttp.ClientTimeout(total=ATTEMPT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(base_url + "/health") as resp:
        if resp.status != 200:
            raise RuntimeError(f"GET /health answered {resp.status}")
