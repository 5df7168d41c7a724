"""The async Toxiproxy client against a real toxiproxy-server, and what toxics do to open connections.

The server is started with `ManagedProcess`; traffic goes through a proxy to a TCP echo server in
this file, so every effect (latency, black hole, close, refusal) is measured on a real socket.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp.web
import pytest

from harness.stack.binaries import StackBinaries
from harness.stack.ports import free_port
from harness.stack.processes import ManagedProcess
from harness.stack.toxiproxy_client import (
    Conflict,
    NotFound,
    ToxiproxyClient,
    ToxiproxyError,
    ToxiproxyTimeout,
    ToxiproxyUnavailable,
)

pytestmark = pytest.mark.timeout(30)

EOF = "EOF"
SILENT = "SILENT"
RESET = "RESET"


@dataclass
class ToxiproxyServer:
    process: ManagedProcess
    url: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToxiproxyServer]:
    binary = StackBinaries.discover().toxiproxy_server
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run ./setup.sh")
    run = tmp_path_factory.mktemp("toxiproxy")
    port = free_port()
    process = ManagedProcess(
        "toxiproxy",
        [str(binary), "-host", "127.0.0.1", "-port", str(port)],
        log_path=run / "logs" / "toxiproxy.log",
        pid_dir=run / "pids",
    )
    process.start()
    url = f"http://127.0.0.1:{port}"

    async def wait_up() -> None:
        deadline = time.monotonic() + 10
        async with ToxiproxyClient(url, timeout=1) as tp:
            while True:
                try:
                    await tp.version()
                    return
                except ToxiproxyError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)

    asyncio.run(wait_up())
    yield ToxiproxyServer(process, url)
    process.stop()


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


@dataclass
class EchoServer:
    """Echoes bytes back and remembers what reached it (to tell upstream from downstream faults)."""

    port: int = 0
    received: bytearray = field(default_factory=bytearray)


@asynccontextmanager
async def echo_server() -> AsyncIterator[EchoServer]:
    state = EchoServer()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(1024):
                state.received.extend(data)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()


@asynccontextmanager
async def proxied_echo(
    server: ToxiproxyServer, name: str
) -> AsyncIterator[tuple[ToxiproxyClient, EchoServer, int]]:
    """A fresh proxy `name` in front of a fresh echo server; deleted afterwards."""
    async with echo_server() as echo, ToxiproxyClient(server.url, timeout=2) as tp:
        proxy = await tp.create_proxy(name, "127.0.0.1:0", f"127.0.0.1:{echo.port}")
        try:
            yield tp, echo, proxy.listen_port
        finally:
            await tp.delete_proxy(name)


async def read_result(reader: asyncio.StreamReader, wait: float) -> bytes | str:
    """What a client sees within `wait` seconds: data, EOF, a reset, or nothing (SILENT)."""
    try:
        data = await asyncio.wait_for(reader.read(1024), wait)
    except TimeoutError:
        return SILENT
    except ConnectionResetError:
        return RESET
    return data or EOF


async def round_trip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes) -> float:
    t0 = time.monotonic()
    writer.write(payload)
    await writer.drain()
    assert await asyncio.wait_for(reader.readexactly(len(payload)), 5) == payload
    return time.monotonic() - t0


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)


# --- API -------------------------------------------------------------------------------------


def test_proxy_lifecycle_and_typed_errors(server: ToxiproxyServer) -> None:
    async def scenario() -> None:
        async with ToxiproxyClient(server.url, timeout=2) as tp:
            assert await tp.version()  # "git" for a `go install` build, "2.12.0" for a release
            created = await tp.create_proxy("crud", "127.0.0.1:0", "127.0.0.1:9")
            assert created.listen_port > 0 and created.enabled
            assert (await tp.get_proxy("crud")).listen == created.listen
            assert "crud" in await tp.proxies()

            with pytest.raises(Conflict) as conflict:
                await tp.create_proxy("crud", "127.0.0.1:0", "127.0.0.1:9")
            assert conflict.value.status == 409 and "exists" in conflict.value.message
            with pytest.raises(NotFound) as missing:
                await tp.get_proxy("no-such-proxy")
            assert missing.value.status == 404

            updated = await tp.update_proxy("crud", upstream="127.0.0.1:10")
            assert updated.upstream == "127.0.0.1:10" and updated.listen == created.listen
            assert (await tp.disable("crud")).enabled is False
            assert (await tp.enable("crud")).enabled is True

            toxic = await tp.add_toxic("crud", "latency", {"latency": 50}, stream="upstream", toxicity=0.5)
            assert (toxic.name, toxic.stream, toxic.toxicity) == ("latency_upstream", "upstream", 0.5)
            with pytest.raises(Conflict):
                await tp.add_toxic("crud", "latency", {"latency": 50}, stream="upstream")
            changed = await tp.update_toxic("crud", "latency_upstream", {"latency": 70})
            assert changed.attributes["latency"] == 70
            assert [t.name for t in await tp.toxics("crud")] == ["latency_upstream"]
            with pytest.raises(ToxiproxyError) as bad:
                await tp.add_toxic("crud", "no-such-toxic-type", {})
            assert bad.value.status == 400 and not isinstance(bad.value, NotFound | Conflict)
            with pytest.raises(NotFound):
                await tp.remove_toxic("crud", "no-such-toxic")
            await tp.remove_toxic("crud", "latency_upstream")
            assert await tp.toxics("crud") == []

            await tp.delete_proxy("crud")
            with pytest.raises(NotFound):
                await tp.delete_proxy("crud")

    run(scenario())


def test_reset_enables_every_proxy_and_removes_every_toxic(server: ToxiproxyServer) -> None:
    async def scenario() -> None:
        async with ToxiproxyClient(server.url, timeout=2) as tp:
            await tp.create_proxy("reset-a", "127.0.0.1:0", "127.0.0.1:9")
            await tp.create_proxy("reset-b", "127.0.0.1:0", "127.0.0.1:9")
            try:
                await tp.add_toxic("reset-a", "timeout", {"timeout": 0})
                await tp.disable("reset-b")
                await tp.reset()
                a, b = await tp.get_proxy("reset-a"), await tp.get_proxy("reset-b")
                assert a.toxics == [] and a.enabled and b.enabled
            finally:
                await tp.delete_proxy("reset-a")
                await tp.delete_proxy("reset-b")

    run(scenario())


def test_a_paused_server_raises_toxiproxy_timeout_within_the_limit(server: ToxiproxyServer) -> None:
    async def scenario() -> None:
        async with ToxiproxyClient(server.url, timeout=0.3) as tp:
            server.process.pause()
            try:
                t0 = time.monotonic()
                with pytest.raises(ToxiproxyTimeout) as timed_out:
                    await tp.version()
                assert time.monotonic() - t0 < 1.5
                assert isinstance(timed_out.value, TimeoutError) and timed_out.value.status is None
            finally:
                server.process.resume()
            assert await tp.version()

    run(scenario())


def test_no_server_raises_toxiproxy_unavailable() -> None:
    async def scenario() -> None:
        async with ToxiproxyClient(f"http://127.0.0.1:{free_port()}", timeout=1) as tp:
            with pytest.raises(ToxiproxyUnavailable):
                await tp.proxies()

    run(scenario())


@asynccontextmanager
async def fake_server(
    handler: Callable[[aiohttp.web.Request], Awaitable[aiohttp.web.Response]],
) -> AsyncIterator[str]:
    app = aiohttp.web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await aiohttp.web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def test_update_falls_back_to_post_on_servers_without_patch_and_5xx_is_an_error() -> None:
    """Toxiproxy before 2.6 only had POST for updates; 2.12 has both, so this one needs a stand-in."""
    methods: list[str] = []

    async def old_server(request: aiohttp.web.Request) -> aiohttp.web.Response:
        methods.append(f"{request.method} {request.path}")
        if request.path == "/version":
            return aiohttp.web.Response(text="2.1.4", content_type="text/plain")
        if request.path == "/reset":
            return aiohttp.web.json_response({"error": "boom", "status": 500}, status=500)
        if request.method == "PATCH":
            return aiohttp.web.Response(status=405)
        body = await request.json()
        return aiohttp.web.json_response(
            {"name": "p", "listen": "127.0.0.1:1", "upstream": "127.0.0.1:2", **body}
        )

    async def scenario() -> None:
        async with fake_server(old_server) as url, ToxiproxyClient(url, timeout=2) as tp:
            assert await tp.version() == "2.1.4"  # plain-text /version of older servers
            assert (await tp.disable("p")).enabled is False
            assert (await tp.enable("p")).enabled is True
            with pytest.raises(ToxiproxyError) as failed:
                await tp.reset()
            assert failed.value.status == 500 and failed.value.message == "boom"

    run(scenario())
    # PATCH tried once, then POST remembered for the rest of the client's life.
    assert methods == [
        "GET /version",
        "PATCH /proxies/p",
        "POST /proxies/p",
        "POST /proxies/p",
        "POST /reset",
    ]


# --- toxics on real connections --------------------------------------------------------------


def test_latency_applies_to_an_open_connection_and_removal_restores_it(server: ToxiproxyServer) -> None:
    async def scenario() -> None:
        async with proxied_echo(server, "latency") as (tp, _echo, port):
            reader, writer = await connect(port)
            assert await round_trip(reader, writer, b"a") < 0.1
            await tp.add_toxic("latency", "latency", {"latency": 300})
            assert 0.29 <= await round_trip(reader, writer, b"b") < 1.0
            await tp.update_toxic("latency", "latency_downstream", {"latency": 100})
            assert 0.09 <= await round_trip(reader, writer, b"c") < 0.28
            await tp.remove_toxic("latency", "latency_downstream")
            assert await round_trip(reader, writer, b"d") < 0.1  # same connection, still healthy
            writer.close()

    run(scenario())


def test_timeout_zero_black_holes_open_and_new_connections_and_removal_closes_them(
    server: ToxiproxyServer,
) -> None:
    async def scenario() -> None:
        async with proxied_echo(server, "blackhole") as (tp, echo, port):
            reader, writer = await connect(port)
            await round_trip(reader, writer, b"a")
            # Downstream only: the request still reaches the server, the answer never comes back.
            await tp.add_toxic("blackhole", "timeout", {"timeout": 0}, stream="downstream", name="cut-down")
            writer.write(b"b")
            assert await read_result(reader, 0.5) == SILENT  # no data, no EOF: the connection hangs
            assert bytes(echo.received) == b"ab"
            # New connections are accepted by Toxiproxy (the handshake is local) and hang the same way.
            new_reader, new_writer = await connect(port)
            new_writer.write(b"n")
            assert await read_result(new_reader, 0.3) == SILENT
            # Upstream too: now nothing reaches the server either.
            await tp.add_toxic("blackhole", "timeout", {"timeout": 0}, stream="upstream", name="cut-up")
            writer.write(b"c")
            await asyncio.sleep(0.3)
            assert b"c" not in echo.received
            # Healing closes every connection that lived through the toxic: the data is gone, not late.
            await tp.remove_toxic("blackhole", "cut-down")
            await tp.remove_toxic("blackhole", "cut-up")
            assert await read_result(reader, 1.0) == EOF
            assert await read_result(new_reader, 1.0) == EOF
            fresh_reader, fresh_writer = await connect(port)
            assert await round_trip(fresh_reader, fresh_writer, b"z") < 0.1
            for w in (writer, new_writer, fresh_writer):
                w.close()

    run(scenario())


def test_timeout_with_a_delay_closes_the_connection_after_it(server: ToxiproxyServer) -> None:
    async def scenario() -> None:
        async with proxied_echo(server, "delayed-cut") as (tp, _echo, port):
            reader, writer = await connect(port)
            await round_trip(reader, writer, b"a")
            await tp.add_toxic("delayed-cut", "timeout", {"timeout": 300})
            t0 = time.monotonic()
            writer.write(b"b")
            assert await read_result(reader, 2.0) == EOF
            assert 0.25 <= time.monotonic() - t0 < 1.0
            writer.close()

    run(scenario())


def test_disable_closes_open_connections_at_once_and_refuses_new_ones(server: ToxiproxyServer) -> None:
    async def scenario() -> None:
        async with proxied_echo(server, "disabled") as (tp, _echo, port):
            reader, writer = await connect(port)
            await round_trip(reader, writer, b"a")
            t0 = time.monotonic()
            await tp.disable("disabled")
            assert await read_result(reader, 1.0) in (EOF, RESET)
            assert time.monotonic() - t0 < 0.5
            with pytest.raises(ConnectionRefusedError):
                await connect(port)
            await tp.enable("disabled")  # same port again
            fresh_reader, fresh_writer = await connect(port)
            assert await round_trip(fresh_reader, fresh_writer, b"z") < 0.1
            writer.close()
            fresh_writer.close()

    run(scenario())


def test_reset_peer_resets_connections(server: ToxiproxyServer) -> None:
    async def scenario() -> None:
        async with proxied_echo(server, "rst") as (tp, _echo, port):
            await tp.add_toxic("rst", "reset_peer", {"timeout": 0}, stream="upstream")
            reader, writer = await connect(port)
            writer.write(b"a")
            assert await read_result(reader, 1.0) in (EOF, RESET)
            writer.close()

    run(scenario())
