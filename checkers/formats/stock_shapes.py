"""Shape checks for stock op values, so the stock checkers can trust every field they read.

A malformed buy (qty "2", no order id) must be reported against its line when the history is
loaded, not surface later as a confusing verdict. Only `invoke` and `ok` values are checked:
`fail` and `info` completions carry no result, and may omit the value.
"""

from __future__ import annotations

from typing import Any

from checkers.formats.show import show
from checkers.history import INVOKE, OK

STOCK_OPS = frozenset({"buy", "read", "restock", "reset", "orders"})
BUY_OUTCOMES = ("sold", "sold_out")


def _is_int(x: Any) -> bool:
    return type(x) is int


def _text(value: dict[str, Any], field: str, required: bool = True) -> str | None:
    if field not in value:
        return f"missing {field!r}" if required else None
    if type(value[field]) is not str or not value[field]:
        return f"{field!r} must be a non-empty string"
    return None


def _positive(value: dict[str, Any], field: str, required: bool = True) -> str | None:
    if field not in value:
        return f"missing {field!r}" if required else None
    if not _is_int(value[field]) or value[field] <= 0:
        return f"{field!r} must be a positive integer, got {show(value[field])}"
    return None


def _items(value: dict[str, Any]) -> str | None:
    items = value.get("items")
    if type(items) is not dict:
        return "'items' must be an object of item -> stock"
    for item, stock in items.items():
        if not item:
            return "'items' has an empty item name"
        if not _is_int(stock) or stock < 0:
            return f"'items' stock of {item!r} must be a non-negative integer, got {show(stock)}"
    return None


def _first(*causes: str | None) -> str | None:
    return next((c for c in causes if c is not None), None)


class StockShapes:
    """Checks stock op values event by event; remembers which open reads asked for an item.

    `read` is shared with the register models: a read whose invocation names an item is a stock
    read, and its `ok` must then report an integer `stock` (possibly negative: an oversold
    service may well report that, and it is evidence, not malformed input).
    """

    def __init__(self) -> None:
        self._stock_reads_open: set[int | str] = set()
        self.saw_stock_read = False

    def check(self, type_: str, process: int | str, f: str, value: Any) -> str | None:
        """None if `value` is well formed for this stock event, else a one-line cause.

        The common well-formed cases are tested first in one expression each (this runs for every
        line of a million-op history); the precise cause is worked out only when that test fails.
        """
        if type_ == INVOKE:
            if f == "buy":
                if (
                    type(value) is dict
                    and type(value.get("item")) is str
                    and type(value.get("qty")) is int
                    and type(value.get("order")) is str
                    and value["qty"] > 0
                    and value["item"]
                    and value["order"]
                ):
                    return None
            elif f == "read" and type(value) is dict and type(value.get("item")) is str and value["item"]:
                self._stock_reads_open.add(process)
                self.saw_stock_read = True
                return None
            return self._invoke(process, f, value)
        stock_read = process in self._stock_reads_open
        if stock_read:
            self._stock_reads_open.discard(process)
        if type_ != OK:
            return None  # fail and info completions carry no result
        if f == "buy":
            if (
                type(value) is dict
                and value.get("outcome") in BUY_OUTCOMES
                and type(value.get("item", "-")) is str
                and type(value.get("qty", 1)) is int
                and type(value.get("order", "-")) is str
                and value.get("qty", 1) > 0
                and value.get("item", "-")
                and value.get("order", "-")
            ):
                return None
        elif f == "read" and stock_read:
            if (
                type(value) is dict
                and type(value.get("stock")) is int
                and type(value.get("item", "-")) is str
            ):
                if value.get("item", "-"):
                    return None
        return self._ok(f, value, stock_read)

    def _invoke(self, process: int | str, f: str, value: Any) -> str | None:
        if f == "read":
            if value is None:
                return None  # a register read
            if type(value) is not dict:
                return f'read value must be {{"item": ...}} (stock) or null (register), got {show(value)}'
            self._stock_reads_open.add(process)
            self.saw_stock_read = True
            return _prefix("read", _text(value, "item"))
        if type(value) is not dict:
            return f"{f} value must be an object, got {show(value)}"
        if f == "buy":
            return _prefix(
                "buy", _first(_text(value, "item"), _positive(value, "qty"), _text(value, "order"))
            )
        if f == "restock":
            return _prefix("restock", _first(_text(value, "item"), _positive(value, "qty")))
        if f == "reset":
            return _prefix("reset", _items(value))
        return _prefix("orders", _text(value, "item"))

    def _ok(self, f: str, value: Any, stock_read: bool) -> str | None:
        if f == "read":
            if not stock_read:
                return None
            if type(value) is not dict:
                return f"ok read of an item must be an object with 'stock', got {show(value)}"
            if "stock" not in value:
                return "ok read: missing 'stock'"
            if not _is_int(value["stock"]):
                return f"ok read: 'stock' must be an integer, got {show(value['stock'])}"
            return _prefix("ok read", _text(value, "item", required=False))
        if type(value) is not dict:
            return f"ok {f} value must be an object, got {show(value)}"
        if f == "buy":
            outcome = value.get("outcome")
            if outcome not in BUY_OUTCOMES:
                return f'ok buy: \'outcome\' must be "sold" or "sold_out", got {show(outcome)}'
            return _prefix(
                "ok buy",
                _first(
                    _text(value, "item", required=False),
                    _positive(value, "qty", required=False),
                    _text(value, "order", required=False),
                ),
            )
        if f == "restock":
            return _prefix("ok restock", _first(_text(value, "item"), _positive(value, "qty")))
        if f == "reset":
            return _prefix("ok reset", _items(value))
        orders = value.get("orders")
        if type(orders) is not list or not all(type(o) is str for o in orders):
            return f"ok orders: 'orders' must be a list of order id strings, got {show(orders)}"
        return _prefix("ok orders", _text(value, "item", required=False))


def _prefix(what: str, cause: str | None) -> str | None:
    return None if cause is None else f"{what}: {cause}"
