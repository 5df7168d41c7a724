"""Which model a history's operations imply, so `oversell check FILE` needs no `--model` for the usual cases."""

from __future__ import annotations

from collections.abc import Iterable

STOCK_ONLY_OPS = frozenset({"buy", "restock", "reset", "orders"})
REGISTER_OPS = frozenset({"read", "write"})
CAS_REGISTER_OPS = frozenset({"read", "write", "cas"})
MUTEX_OPS = frozenset({"acquire", "release"})


def guess_model(client_fs: Iterable[str], stock_reads: bool = False) -> str | None:
    """The model named by the set of client `f`s; `stock_reads` says a `read` named an item.

    `read` alone is ambiguous (stock or register), hence the flag.
    """
    fs = frozenset(client_fs)
    if not fs:
        return None
    if stock_reads or fs & STOCK_ONLY_OPS:
        return "stock"
    if fs <= REGISTER_OPS:
        return "register"
    if fs <= CAS_REGISTER_OPS:
        return "cas-register"
    if fs <= MUTEX_OPS:
        return "mutex"
    return None
