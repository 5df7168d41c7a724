"""The sequential specification of one inventory item: what every stock strategy must look like.

Each item is an independent object (P-compositionality), so the model partitions by item and a
state is just the item's stock.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from checkers.history import INFO, Operation
from checkers.model import Model

BUY = "buy"
READ = "read"
RESTOCK = "restock"
CHECKED_FS = (BUY, READ, RESTOCK)
SOLD = "sold"
SOLD_OUT = "sold_out"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _malformed(op: Operation, cause: str) -> ValueError:
    return ValueError(f"stock op {op.id} (invoke index {op.invoke_index}, {op.f}): {cause}")


def validate_stock_op(op: Operation) -> str:
    """Check the fields the model reads (once, before the search) and return the item.

    The common, well-formed op takes the first branch only (a 1M-op history is validated in a
    fraction of a second); anything else goes through the precise checks below."""
    value = op.input
    if type(value) is dict:
        item = value.get("item")
        if type(item) is str:
            f = op.f
            known = op.status != INFO
            out = op.output
            if f == READ:
                if not known or (type(out) is dict and type(out.get("stock")) is int):
                    return item
            else:
                qty = value.get("qty")
                if type(qty) is int and qty >= 0 and (
                    not known or f == RESTOCK or (type(out) is dict and out.get("outcome") in (SOLD, SOLD_OUT))
                ):
                    return item
    if not isinstance(value, dict) or not isinstance(value.get("item"), str):
        raise _malformed(op, f'input needs an "item" string, got {value!r}')
    if op.f in (BUY, RESTOCK) and not (_is_int(value.get("qty")) and value["qty"] >= 0):
        raise _malformed(op, f'input needs a non-negative integer "qty", got {value.get("qty")!r}')
    if not op.unknown:
        output = op.output
        if op.f == BUY and not (isinstance(output, dict) and output.get("outcome") in (SOLD, SOLD_OUT)):
            raise _malformed(op, f'an ok buy needs "outcome": "sold" or "sold_out", got {output!r}')
        if op.f == READ and not (isinstance(output, dict) and _is_int(output.get("stock"))):
            raise _malformed(op, f'an ok read needs an integer "stock", got {output!r}')
    return value["item"]


class StockModel(Model):
    """buy(qty) sells if stock >= qty (else sold_out), read returns stock, restock(qty) adds.

    `init` maps item -> initial stock; an item not listed starts at 0. Ops other than
    buy/read/restock (`reset`, the final `orders` read) are not part of the object and are left
    out. An unknown buy either sold (only possible when stock >= qty) or did nothing.
    """

    name = "stock"

    def __init__(self, init: Any = None) -> None:
        if init is not None and not (
            isinstance(init, dict) and all(isinstance(k, str) and _is_int(v) for k, v in init.items())
        ):
            raise ValueError(f"stock init must be an object of item -> integer stock, got {init!r}")
        super().__init__(init)

    def init(self, key: str = "") -> Hashable:
        return (self.init_value or {}).get(key, 0)

    def partition(self, ops: list[Operation]) -> list[tuple[str, list[Operation]]]:
        by_item: dict[str, list[Operation]] = {}
        for op in ops:
            if op.f in CHECKED_FS:
                by_item.setdefault(validate_stock_op(op), []).append(op)
        return sorted(by_item.items())

    def step(self, state: Hashable, op: Operation) -> tuple[bool, Hashable]:
        assert isinstance(state, int)
        f = op.f
        if f == BUY:
            qty = op.input["qty"]
            if op.unknown:
                return True, (state - qty if state >= qty else state)
            if op.output["outcome"] == SOLD:
                return (True, state - qty) if state >= qty else (False, state)
            return state < qty, state
        if f == RESTOCK:
            return True, state + op.input["qty"]
        if op.unknown:
            return True, state
        return op.output["stock"] == state, state

    def step_key(self, op: Operation) -> Hashable:
        """Buys differ in their order ids, but two buys of the same qty step alike (see Model.step_key)."""
        value = op.input
        return (op.f, value.get("item"), value.get("qty"))

    def describe_operation(self, op: Operation) -> str:
        value = op.input
        item = value.get("item") if isinstance(value, dict) else None
        if op.f == BUY:
            outcome = "?" if op.unknown else op.output.get("outcome")
            order = f", order {value['order']}" if value.get("order") is not None else ""
            return f"buy({item}, qty {value.get('qty')}{order}) -> {outcome}"
        if op.f == RESTOCK:
            return f"restock({item}, +{value.get('qty')})" + (" -> ?" if op.unknown else "")
        if op.f == READ:
            return f"read({item}) -> {'?' if op.unknown else op.output.get('stock')}"
        return super().describe_operation(op)

    def describe_state(self, state: Hashable) -> str:
        return f"stock {state}"
