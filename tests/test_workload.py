"""The workload is a pure generator: seed and settings in, operations out, no stack, no clock."""

from __future__ import annotations

import itertools
import subprocess
import sys

from tests.paths import ROOT
from workloads.flash_sale import HEALTHY, Drain, FlashSaleConfig, FlashSaleWorkload


def take(ops, n):
    return list(itertools.islice(ops, n))


def test_the_same_seed_gives_the_same_operations_and_another_seed_others():
    config = FlashSaleConfig()
    one, two = FlashSaleWorkload(config, 7, 3), FlashSaleWorkload(config, 7, 3)
    other = FlashSaleWorkload(config, 8, 3)
    for (w1, s1), (w2, s2), (_, s3) in zip(one.chaos_streams(), two.chaos_streams(), other.chaos_streams(), strict=True):
        assert w1 == w2
        a, b, c = take(s1, 50), take(s2, 50), take(s3, 50)
        assert a == b
        if a and a[0].f != "restock":  # restocks are the same every seed but for their pick
            assert a != c


def test_streams_cover_buyers_readers_and_one_restocker_per_item():
    config = FlashSaleConfig(concurrency=4, readers=2, items=3)
    workload = FlashSaleWorkload(config, 1, 2)
    streams = workload.chaos_streams()
    assert [w for w, _ in streams] == list(range(9)) and workload.workers == 9
    kinds = [next(iter(ops)).f for _, ops in streams]
    assert kinds == ["buy"] * 4 + ["read"] * 2 + ["restock"] * 3


def test_a_buyer_is_bound_to_its_instance_and_its_order_ids_are_unique():
    workload = FlashSaleWorkload(FlashSaleConfig(concurrency=6, max_qty=3), 5, 3)
    orders = set()
    for worker in range(6):
        ops = take(workload.buyer(worker), 200)
        assert {op.instance for op in ops} == {worker % 3}
        assert all(1 <= op.value["qty"] <= 3 and op.value["item"] in workload.items for op in ops)
        assert all(0 <= op.think_s <= 2 * workload.config.think_ms / 1000 for op in ops)
        orders.update(op.value["order"] for op in ops)
    assert len(orders) == 6 * 200


def test_restocks_tick_on_a_fixed_cadence_through_a_healthy_instance():
    workload = FlashSaleWorkload(FlashSaleConfig(restock_every_s=2.5, restock_qty=7), 1, 3)
    ops = take(workload.restocker(40, "sku-2"), 4)
    assert [op.at_s for op in ops] == [2.5, 5.0, 7.5, 10.0]
    assert all(op.instance == HEALTHY and op.value == {"item": "sku-2", "qty": 7} for op in ops)
    assert take(FlashSaleWorkload(FlashSaleConfig(restock_every_s=0), 1, 3).restocker(40, "sku-1"), 1) == []


def test_the_drain_ends_when_every_item_was_answered_sold_out():
    workload = FlashSaleWorkload(FlashSaleConfig(items=2, concurrency=20, drain_workers=4), 3, 3)
    drain = Drain(workload)
    assert drain.workers == [0, 1, 2, 3]
    ops = drain.ops(0)
    first = next(ops)
    assert first.f == "buy" and first.value["qty"] == 1
    assert first.value["order"] == f"o3-w0-{workload.config.drain_order_offset}"
    drain.update(first, "ok", {**first.value, "outcome": "sold"})
    assert drain.left == {"sku-1", "sku-2"}
    drain.update(first, "info", None)  # unknown: nothing learnt
    for item in ("sku-1", "sku-2"):
        op = next(o for o in ops if o.value["item"] == item)
        drain.update(op, "ok", {**op.value, "outcome": "sold_out"})
    assert drain.left == set()
    assert take(ops, 5) == []


def test_the_generator_needs_no_stack():
    code = (
        "import sys; import workloads.flash_sale as w; "
        "list(__import__('itertools').islice(w.FlashSaleWorkload(w.FlashSaleConfig(), 1, 3).buyer(0), 10)); "
        "bad = [m for m in sys.modules if m.startswith(('harness.stack', 'aiohttp', 'redis', 'psycopg'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
