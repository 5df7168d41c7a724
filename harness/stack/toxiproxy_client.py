"""Async client for the Toxiproxy 2.x HTTP API (aiohttp).

Why not toxiproxy-python: it is synchronous (it would block the event loop that records the
history), has no timeouts (a SIGSTOPped Toxiproxy would hang the harness forever), ignores 5xx
answers, and its `populate` recreates proxies, cutting every open connection. This client has one
time limit per call, maps every non-2xx answer to a typed error, and never retries a request that
may have taken effect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

DEFAULT_TIMEOUT = 5.0
STREAMS = ("upstream", "downstream")


class ToxiproxyError(Exception):
    """A call failed: `status` is the HTTP status (None when no answer came), `message` Toxiproxy's."""

    def __init__(self, status: int | None, message: str, method: str = "", path: str = "") -> None:
        where = f"{method} {path}: " if method else ""
        code = f"{status} " if status is not None else ""
        super().__init__(f"toxiproxy {where}{code}{message}")
        self.status = status
        self.message = message
        self.method = method
        self.path = path


class NotFound(ToxiproxyError):
    """404: no such proxy or toxic."""


class Conflict(ToxiproxyError):
    """409: a proxy or toxic with that name already exists."""


class ToxiproxyTimeout(ToxiproxyError, TimeoutError):
    """No answer within the time limit (Toxiproxy paused, or overloaded). The call may have taken effect."""


class ToxiproxyUnavailable(ToxiproxyError):
    """Could not connect (Toxiproxy not running): the call certainly did not take effect."""


@dataclass(frozen=True, slots=True)
class Toxic:
    """An active toxic. `stream` is "upstream" (client to server) or "downstream" (server to client)."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Toxic:
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            stream=str(data.get("stream", "downstream")),
            toxicity=float(data.get("toxicity", 1.0)),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True, slots=True)
class Proxy:
    """A proxy: `listen` is the address Toxiproxy accepts on (the real port when created with port 0)."""

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: list[Toxic] = field(default_factory=list)

    @property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Proxy:
        return cls(
            name=str(data["name"]),
            listen=str(data["listen"]),
            upstream=str(data["upstream"]),
            enabled=bool(data.get("enabled", True)),
            toxics=[Toxic.from_json(t) for t in data.get("toxics") or []],
        )


def _error_for(status: int, message: str, method: str, path: str) -> ToxiproxyError:
    kind = {404: NotFound, 409: Conflict}.get(status, ToxiproxyError)
    return kind(status, message, method, path)


class ToxiproxyClient:
    """`async with ToxiproxyClient("http://127.0.0.1:8474", timeout=2) as tp: await tp.disable("x")`."""

    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._update_method = "PATCH"  # 2.6+; older 2.x servers only accept POST (we fall back on 405)

    async def __aenter__(self) -> ToxiproxyClient:
        self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # No keep-alive: after Toxiproxy is killed or restarted a pooled connection would be dead,
            # and a loopback connect per call costs nothing next to the faults we inject.
            connector = aiohttp.TCPConnector(force_close=True)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One HTTP call; returns the decoded JSON (or text, or None for an empty body)."""
        session = self._open()
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with session.request(method, self.base_url + path, json=body, timeout=timeout) as resp:
                text = await resp.text()
                status = resp.status
        except TimeoutError as exc:
            raise ToxiproxyTimeout(None, f"no answer within {self.timeout}s", method, path) from exc
        except aiohttp.ClientConnectorError as exc:
            raise ToxiproxyUnavailable(
                None, f"cannot connect to {self.base_url} ({exc.os_error})", method, path
            ) from exc
        except aiohttp.ClientError as exc:
            raise ToxiproxyError(None, f"{type(exc).__name__}: {exc}", method, path) from exc
        data: Any = None
        if text:
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                data = text
        if status >= 300:
            message = data.get("error", text) if isinstance(data, dict) else (text.strip() or "no message")
            raise _error_for(status, str(message), method, path)
        return data

    @staticmethod
    def _name(name: str) -> str:
        return quote(name, safe="")

    # --- server --------------------------------------------------------------------------------

    async def version(self) -> str:
        """2.12 answers {"version": "..."}; older 2.x servers answer the bare string."""
        data = await self._request("GET", "/version")
        if isinstance(data, dict):
            return str(data.get("version", ""))
        return str(data).strip()

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic (heals all faults at once)."""
        await self._request("POST", "/reset")

    # --- proxies -------------------------------------------------------------------------------

    async def proxies(self) -> dict[str, Proxy]:
        data = await self._request("GET", "/proxies")
        return {name: Proxy.from_json(p) for name, p in (data or {}).items()}

    async def create_proxy(self, name: str, listen: str, upstream: str, enabled: bool = True) -> Proxy:
        """`listen` may use port 0: the answer carries the port Toxiproxy bound. Conflict if it exists."""
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        return Proxy.from_json(await self._request("POST", "/proxies", body))

    async def get_proxy(self, name: str) -> Proxy:
        return Proxy.from_json(await self._request("GET", f"/proxies/{self._name(name)}"))

    async def _update(self, path: str, body: dict[str, Any]) -> Any:
        """PATCH (2.6+, POST is deprecated there); on 405 remember that this server wants POST."""
        if self._update_method == "PATCH":
            try:
                return await self._request("PATCH", path, body)
            except ToxiproxyError as exc:
                if exc.status != 405:
                    raise
                self._update_method = "POST"
        return await self._request("POST", path, body)

    async def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> Proxy:
        """Change only the given fields. Changing `listen`/`upstream` or disabling closes open connections."""
        body: dict[str, Any] = {}
        if listen is not None:
            body["listen"] = listen
        if upstream is not None:
            body["upstream"] = upstream
        if enabled is not None:
            body["enabled"] = enabled
        return Proxy.from_json(await self._update(f"/proxies/{self._name(name)}", body))

    async def enable(self, name: str) -> Proxy:
        return await self.update_proxy(name, enabled=True)

    async def disable(self, name: str) -> Proxy:
        """Closes the listener and every open connection: clients see a reset or EOF, then refusals."""
        return await self.update_proxy(name, enabled=False)

    async def delete_proxy(self, name: str) -> None:
        await self._request("DELETE", f"/proxies/{self._name(name)}")

    # --- toxics --------------------------------------------------------------------------------

    async def toxics(self, proxy: str) -> list[Toxic]:
        data = await self._request("GET", f"/proxies/{self._name(proxy)}/toxics")
        return [Toxic.from_json(t) for t in data or []]

    async def add_toxic(
        self,
        proxy: str,
        type: str,
        attributes: dict[str, Any] | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
        name: str | None = None,
    ) -> Toxic:
        """Add a toxic; it applies to open connections too. Default name (Toxiproxy's): "{type}_{stream}"."""
        if stream not in STREAMS:
            raise ValueError(f"stream must be one of {STREAMS}, not {stream!r}")
        body: dict[str, Any] = {
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attributes or {},
        }
        if name is not None:
            body["name"] = name
        return Toxic.from_json(await self._request("POST", f"/proxies/{self._name(proxy)}/toxics", body))

    async def update_toxic(
        self,
        proxy: str,
        toxic: str,
        attributes: dict[str, Any] | None = None,
        toxicity: float | None = None,
    ) -> Toxic:
        body: dict[str, Any] = {}
        if attributes is not None:
            body["attributes"] = attributes
        if toxicity is not None:
            body["toxicity"] = toxicity
        path = f"/proxies/{self._name(proxy)}/toxics/{self._name(toxic)}"
        return Toxic.from_json(await self._update(path, body))

    async def remove_toxic(self, proxy: str, toxic: str) -> None:
        await self._request("DELETE", f"/proxies/{self._name(proxy)}/toxics/{self._name(toxic)}")
