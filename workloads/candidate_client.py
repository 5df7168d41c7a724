"""Client of the candidate protocol (docs/protocol.md), classifying every answer as Jepsen does.

`ok`: the service answered as the protocol says. `fail`: it certainly did not happen (the TCP
connection was refused, so no request was sent). `info`: anything else — a timeout, a reset
connection, a 5xx, a body we cannot read — may or may not have taken effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from checkers.history import FAIL, INFO, OK

MAX_ERROR_CHARS = 300


@dataclass(slots=True)
class Outcome:
    type: str  # ok | fail | info
    value: Any
    error: str | None = None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "..."


class CandidateClient:
    """One aiohttp session for all instances; a per-request total timeout."""

    def __init__(self, timeout_s: float = 1.0, connect_timeout_s: float = 0.5) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout_s, connect=connect_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> CandidateClient:
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(self, method: str, url: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        assert self._session is not None, "use CandidateClient as an async context manager"
        async with self._session.request(method, url, json=body) as resp:
            text = await resp.text()
            try:
                data = await resp.json(content_type=None) if text else None
            except ValueError:
                data = None
            if data is None:
                data = {"_raw": text}
            return resp.status, data

    async def request(
        self, method: str, url: str, body: dict[str, Any] | None, valid: Any
    ) -> tuple[str, Any, str | None]:
        """Send one request; `valid(status, data)` returns the ok value or None if unexpected."""
        try:
            status, data = await self._call(method, url, body)
        except aiohttp.ClientConnectorError as e:
            # Refused before anything was sent: certainly not applied.
            if isinstance(getattr(e, "os_error", None), ConnectionRefusedError):
                return FAIL, None, _short(f"connection refused: {e}")
            return INFO, None, _short(f"connect error: {e}")
        except TimeoutError:
            return INFO, None, "timeout"
        except aiohttp.ClientError as e:
            return INFO, None, _short(f"{type(e).__name__}: {e}")
        ok_value = valid(status, data)
        if ok_value is None:
            return INFO, None, _short(f"HTTP {status}: {data!r}")
        return OK, ok_value, None

    async def buy(self, base_url: str, item: str, qty: int, order: str) -> Outcome:
        body = {"item": item, "qty": qty, "order": order}

        def valid(status: int, data: Any) -> Any:
            if status == 200 and isinstance(data, dict) and data.get("outcome") in ("sold", "sold_out"):
                return {**body, "outcome": data["outcome"]}
            return None

        t, v, err = await self.request("POST", f"{base_url}/buy", body, valid)
        return Outcome(t, v, err)

    async def read(self, base_url: str, item: str) -> Outcome:
        def valid(status: int, data: Any) -> Any:
            stock = data.get("stock") if isinstance(data, dict) else None
            if status == 200 and isinstance(stock, int) and not isinstance(stock, bool):
                return {"item": item, "stock": stock}
            return None

        t, v, err = await self.request("GET", f"{base_url}/stock/{item}", None, valid)
        return Outcome(t, v, err)

    async def restock(self, base_url: str, item: str, qty: int) -> Outcome:
        body = {"item": item, "qty": qty}

        def valid(status: int, data: Any) -> Any:
            return dict(body) if status == 200 and isinstance(data, dict) and data.get("ok") is True else None

        t, v, err = await self.request("POST", f"{base_url}/restock", body, valid)
        return Outcome(t, v, err)

    async def orders(self, base_url: str, item: str) -> Outcome:
        def valid(status: int, data: Any) -> Any:
            orders = data.get("orders") if isinstance(data, dict) else None
            if status == 200 and isinstance(orders, list) and all(isinstance(o, str) for o in orders):
                return {"item": item, "orders": orders}
            return None

        t, v, err = await self.request("GET", f"{base_url}/orders?item={item}", None, valid)
        return Outcome(t, v, err)

    async def reset(self, base_url: str, items: dict[str, int]) -> Outcome:
        body = {"items": items}

        def valid(status: int, data: Any) -> Any:
            return dict(body) if status == 200 else None

        t, v, err = await self.request("POST", f"{base_url}/reset", body, valid)
        return Outcome(t, v, err)

    async def health(self, base_url: str) -> bool:
        t, _, _ = await self.request("GET", f"{base_url}/health", None, lambda s, d: True if s == 200 else None)
        return t == OK

    async def in_flight(self, base_url: str) -> int | None:
        """Work the service still runs for requests maybe already answered (`in_flight` in /health).

        0 when the service does not report it (the field is optional); None when /health did not
        answer 200, so the caller cannot tell.
        """

        def valid(status: int, data: Any) -> Any:
            if status != 200:
                return None
            n = data.get("in_flight") if isinstance(data, dict) else None
            return {"in_flight": n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 0}

        t, v, _ = await self.request("GET", f"{base_url}/health", None, valid)
        return v["in_flight"] if t == OK else None
