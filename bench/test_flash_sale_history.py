"""The generated flash-sale histories are what the benchmarks assume: well-formed and valid.

Part of the default test run (pyproject's testpaths); alone: `.venv/bin/pytest bench/`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from flash_sale_history import generate

from checkers.history import Event, pair_operations
from checkers.stock_checker import check_stock, initial_stock
from checkers.stock_linearizability import check_stock_linearizability


def events_of(raw: list[dict[str, Any]]) -> list[Event]:
    return [
        Event(
            index=e["index"],
            time=e["time"],
            type=e["type"],
            process=e["process"],
            f=e["f"],
            value=e["value"],
            error=e.get("error"),
            line=e["index"] + 1,
        )
        for e in raw
    ]


def test_shape_reset_first_final_reads_last_times_increase() -> None:
    raw = list(generate(2000, seed=1, items=2))
    assert [(e["type"], e["f"]) for e in raw[:2]] == [("invoke", "reset"), ("ok", "reset")]
    assert [(e["type"], e["f"], e["value"]["item"]) for e in raw[-8:] if e["type"] == "ok"] == [
        ("ok", "read", "sku-1"),
        ("ok", "read", "sku-2"),
        ("ok", "orders", "sku-1"),
        ("ok", "orders", "sku-2"),
    ]
    assert [e["index"] for e in raw] == list(range(len(raw)))
    assert all(a["time"] < b["time"] for a, b in zip(raw, raw[1:], strict=False))
    ops = pair_operations(events_of(raw))
    assert len(ops) == 2000 + 1 + 4
    assert all(op.complete_index is not None for op in ops)


def test_info_retires_the_process_and_rate_is_about_as_asked() -> None:
    raw = list(generate(20000, seed=2, unknown_rate=0.05))
    retired: set[int] = set()
    for e in raw:
        assert e["process"] not in retired, "a process invoked again after an info completion"
        if e["type"] == "info":
            retired.add(e["process"])
    completions = Counter(e["type"] for e in raw if e["type"] != "invoke")
    rate = completions["info"] / (completions["info"] + completions["ok"])
    assert 0.035 < rate < 0.06
    assert {e["f"] for e in raw if e["type"] == "info"} <= {"buy", "read"}


@pytest.mark.parametrize("seed,items", [(3, 1), (4, 1), (5, 3)])
def test_stock_is_conserved_and_orders_match(seed: int, items: int) -> None:
    raw = list(generate(5000, seed=seed, items=items))
    init = raw[0]["value"]["items"]
    restocked: Counter[str] = Counter()
    buys: dict[str, dict[str, Any]] = {}
    sold_ok: set[str] = set()
    info_orders: set[str] = set()
    outcomes: Counter[str] = Counter()
    for e in raw:
        v = e["value"]
        if e["f"] == "restock" and e["type"] == "ok":
            restocked[v["item"]] += v["qty"]
        elif e["f"] == "buy" and e["type"] == "invoke":
            buys[v["order"]] = v
        elif e["f"] == "buy" and e["type"] == "ok":
            outcomes[v["outcome"]] += 1
            if v["outcome"] == "sold":
                sold_ok.add(v["order"])
        elif e["f"] == "buy" and e["type"] == "info":
            info_orders.add(v["order"])
    final_stock = {
        e["value"]["item"]: e["value"]["stock"] for e in raw if e["f"] == "read" and e["type"] == "ok"
    }
    orders = {
        e["value"]["item"]: e["value"]["orders"] for e in raw if e["f"] == "orders" and e["type"] == "ok"
    }
    assert outcomes["sold"] > 100 and outcomes["sold_out"] > 100
    for item, ids in orders.items():
        assert len(ids) == len(set(ids))
        assert all(buys[o]["item"] == item for o in ids)
        sold_units = sum(buys[o]["qty"] for o in ids)
        assert final_stock[item] == init[item] + restocked[item] - sold_units >= 0
    persisted = {o for ids in orders.values() for o in ids}
    assert sold_ok <= persisted
    took_effect = info_orders & persisted
    assert took_effect and info_orders - took_effect, "info buys should both take effect and not"


def test_search_free_stock_checkers_find_nothing() -> None:
    raw = list(generate(20000, seed=6))
    events = events_of(raw)
    init = initial_stock(events)
    assert init == {"sku-1": 100}
    assert check_stock(pair_operations(events), init) == []


def test_linearizable_by_the_stock_search() -> None:
    raw = list(generate(300, seed=8, processes=10))
    events = events_of(raw)
    ops = pair_operations(events)
    result = check_stock_linearizability(ops, initial_stock(events), 30)
    assert result.valid is True


def test_same_seed_same_history_other_seed_differs() -> None:
    assert list(generate(500, seed=9)) == list(generate(500, seed=9))
    assert list(generate(500, seed=9)) != list(generate(500, seed=10))
