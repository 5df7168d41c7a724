"""The generic search: verdicts on hand-written histories, evidence, time limit, partitions.

A brute-force oracle (the definition of linearizability, enumerated) cross-checks the search on
random small histories of every model, since the search's pruning rules are where bugs would hide.
"""

from __future__ import annotations

import random
import time
from functools import cache
from typing import Any

import pytest

from checkers import linearizability
from checkers.history import Operation
from checkers.linearizability import check_linearizability
from checkers.model import Model
from checkers.models import get_model
from checkers.result import UNKNOWN, PartitionResult


class History:
    """Builds a list of Operations; times are small ints, unknown ops have no return."""

    def __init__(self) -> None:
        self.ops: list[Operation] = []

    def add(self, f: str, value: Any, output: Any, call: int, ret: int | None, status: str = "ok") -> int:
        op_id = len(self.ops)
        unknown = status == "info"
        self.ops.append(
            Operation(
                id=op_id,
                process=op_id,
                f=f,
                input=value,
                output=None if unknown else output,
                status=status,
                call=call,
                ret=None if unknown else ret,
                invoke_index=2 * op_id,
                complete_index=None if unknown else 2 * op_id + 1,
            )
        )
        return op_id

    def write(self, value: Any, call: int, ret: int | None, status: str = "ok") -> int:
        return self.add("write", value, value, call, ret, status)

    def read(self, value: Any, call: int, ret: int, status: str = "ok") -> int:
        return self.add("read", None, value, call, ret, status)

    def cas(self, old: Any, new: Any, call: int, ret: int | None, status: str = "ok") -> int:
        return self.add("cas", [old, new], [old, new], call, ret, status)


def only_partition(result: Any) -> PartitionResult:
    assert len(result.partitions) == 1
    return result.partitions[0]


# --- registers ---------------------------------------------------------------------------------


def test_concurrent_write_and_read_may_order_either_way():
    h = History()
    h.write(1, 0, 10)
    h.read(1, 2, 5)
    h.read(None, 3, 4)
    result = check_linearizability(h.ops, get_model("register"))
    assert result.valid is True
    assert result.model == "register"
    assert result.engine == "generic"
    assert only_partition(result).linearization == []


def test_stale_read_is_caught_with_the_prefix_and_the_stuck_read():
    h = History()
    w1 = h.write(1, 0, 1)
    w2 = h.write(2, 2, 3)
    stale = h.read(1, 4, 5)
    part = only_partition(check_linearizability(h.ops, get_model("register")))
    assert part.valid is False
    assert [step.op for step in part.linearization] == [w1, w2]
    assert [(s.state_before, s.state_after) for s in part.linearization] == [("nil", "1"), ("1", "2")]
    assert part.stuck == [stale]
    assert part.ops == [w1, w2, stale]


def test_touching_ops_are_concurrent_but_a_gap_orders_them():
    """Tie rule: a precedes b only if ret(a) < call(b)."""
    touching = History()
    touching.write(1, 0, 5)
    touching.read(None, 5, 6)
    assert check_linearizability(touching.ops, get_model("register")).valid is True
    apart = History()
    apart.write(1, 0, 5)
    apart.read(None, 6, 7)
    assert check_linearizability(apart.ops, get_model("register")).valid is False


def test_failed_ops_did_not_happen():
    h = History()
    h.write(1, 0, 1)
    h.cas(1, 2, 2, 3, status="fail")
    h.write(5, 2, 3, status="fail")
    h.read(1, 4, 5)
    assert check_linearizability(h.ops, get_model("cas-register")).valid is True
    h.read(2, 6, 7)
    assert check_linearizability(h.ops, get_model("cas-register")).valid is False


def test_cas_register_needs_the_old_value():
    h = History()
    h.write(0, 0, 1)
    h.cas(0, 3, 2, 3)
    h.cas(0, 4, 4, 5)
    part = only_partition(check_linearizability(h.ops, get_model("cas-register")))
    assert part.valid is False
    assert part.stuck == [2]
    assert part.linearization[-1].state_after == "3"


def test_unknown_write_may_take_effect_late():
    h = History()
    h.write(0, 0, 1)
    h.cas(0, 5, 2, None, status="info")
    h.read(0, 10, 11)
    h.read(5, 20, 21)
    assert check_linearizability(h.ops, get_model("cas-register")).valid is True


def test_unknown_write_may_never_take_effect():
    h = History()
    h.write(1, 0, 1)
    h.write(2, 2, None, status="info")
    h.read(1, 10, 11)
    h.read(1, 20, 21)
    assert check_linearizability(h.ops, get_model("register")).valid is True


def test_unknown_write_cannot_take_effect_before_its_call():
    h = History()
    h.write(1, 0, 1)
    h.read(2, 2, 5)
    late = h.write(2, 6, None, status="info")
    assert check_linearizability(h.ops, get_model("register")).valid is False
    h.ops[late].call = 5  # now concurrent with the read (touching)
    assert check_linearizability(h.ops, get_model("register")).valid is True


def test_unknown_write_takes_effect_at_most_once():
    h = History()
    h.write(1, 0, 1)
    h.write(2, 2, None, status="info")
    h.read(2, 3, 4)
    h.write(3, 5, 6)
    h.read(2, 7, 8)
    assert check_linearizability(h.ops, get_model("register")).valid is False
    h.write(2, 2, None, status="info")  # a second unknown write of 2 makes it possible
    assert check_linearizability(h.ops, get_model("register")).valid is True


def test_unknown_cas_takes_effect_only_from_its_old_value():
    h = History()
    h.write(1, 0, 1)
    h.cas(7, 3, 2, None, status="info")
    h.read(3, 4, 5)
    assert check_linearizability(h.ops, get_model("cas-register")).valid is False


def test_an_unknown_op_saved_for_later_is_not_pruned_by_a_path_that_spent_it():
    """(c1 c2, {u}) is explored first; (c1 c2, {}) reaches the same state with u still unused."""
    h = History()
    h.write(5, 0, 10)  # c1
    h.cas(7, 5, 1, 10)  # c2: needs 7, which is the initial value, or u's
    h.write(7, 2, None, status="info")  # u
    h.read(7, 20, 21)  # needs u after both
    assert check_linearizability(h.ops, get_model("cas-register", 7)).valid is True


def test_many_distinct_unknown_writes_do_not_cost_two_to_the_k():
    """40 unknown writes all concurrent with a read no write explains: the search must exhaust."""
    h = History()
    h.write(0, 0, 1)
    for value in range(1, 41):
        h.write(value, 1 + value, None, status="info")
    victim = h.read(-1, 100, 101)
    # a search that tried 2**40 subsets would end `unknown` at the limit instead
    part = only_partition(check_linearizability(h.ops, get_model("register"), time_limit=10))
    assert part.valid is False
    assert victim in part.stuck
    h.ops[victim].output = 17
    assert check_linearizability(h.ops, get_model("register"), time_limit=30).valid is True


def test_evidence_states_replay_under_the_model_with_unknown_ops_in_the_prefix():
    h = History()
    h.write(0, 0, 1)
    unknown = h.cas(0, 4, 2, None, status="info")
    h.read(4, 3, 4)
    h.write(1, 5, 6)
    h.read(4, 7, 8)
    model = get_model("cas-register")
    part = only_partition(check_linearizability(h.ops, model))
    assert part.valid is False
    assert unknown in [step.op for step in part.linearization]
    state = model.init()
    for step in part.linearization:
        assert model.describe_state(state) == step.state_before
        legal, state = model.step(state, h.ops[step.op])
        assert legal
        assert model.describe_state(state) == step.state_after
    assert part.stuck == [4]


# --- mutex, multi-register, kv, stock --------------------------------------------------------


def test_mutex_two_holders_at_once_is_not_linearizable():
    h = History()
    h.add("acquire", None, None, 0, 1)
    h.add("acquire", None, None, 2, 3)
    assert check_linearizability(h.ops, get_model("mutex")).valid is False
    h.add("release", None, None, 1, 2)  # a release between them (touching both) fixes it
    assert check_linearizability(h.ops, get_model("mutex")).valid is True


def test_mutex_unknown_release_can_explain_a_later_acquire():
    h = History()
    h.add("acquire", None, None, 0, 1)
    h.add("release", None, None, 2, None, status="info")
    h.add("acquire", None, None, 5, 6)
    assert check_linearizability(h.ops, get_model("mutex")).valid is True


def txn(*micro: list[Any]) -> list[list[Any]]:
    return [list(m) for m in micro]


def test_multi_register_transactions_are_atomic():
    both = txn(["write", "x", 1], ["write", "y", 1])
    reads = txn(["read", "x", None], ["read", "y", None])
    h = History()
    h.add("txn", both, both, 0, 3)
    h.add("txn", reads, txn(["read", "x", 1], ["read", "y", 1]), 1, 2)
    assert check_linearizability(h.ops, get_model("multi-register", {"y": 0})).valid is True
    # A torn read (x new, y old): no order of atomic transactions produces it.
    torn = h.add("txn", reads, txn(["read", "x", 1], ["read", "y", 0]), 1, 2)
    part = only_partition(check_linearizability(h.ops, get_model("multi-register", {"y": 0})))
    assert part.valid is False
    assert torn in part.stuck
    # Knossos: a nil read in the completion matches anything.
    h.ops[torn].output = txn(["read", "x", 1], ["read", "y", None])
    assert check_linearizability(h.ops, get_model("multi-register", {"y": 0})).valid is True


def kv_op(
    h: History, f: str, key: str, value: str | None, call: int, ret: int | None, status: str = "ok"
) -> int:
    output = {"key": key, "value": value}
    return h.add(f, {"key": key, "value": None if f == "get" else value}, output, call, ret, status)


def test_kv_an_invalid_key_makes_the_whole_history_invalid_and_names_that_key():
    h = History()
    kv_op(h, "put", "a", "x", 0, 1)
    kv_op(h, "append", "a", "y", 2, 3)
    kv_op(h, "get", "a", "xy", 4, 5)
    kv_op(h, "put", "b", "p", 0, 1)
    bad_get = kv_op(h, "get", "b", "q", 2, 3)
    result = check_linearizability(h.ops, get_model("kv"), all_partitions=True)
    assert result.valid is False
    verdicts = {p.key: p.valid for p in result.partitions}
    assert verdicts == {"a": True, "b": False}
    (bad,) = [p for p in result.partitions if p.valid is False]
    assert bad.key == "b"
    assert bad.stuck == [bad_get]
    assert [s.op for s in bad.linearization] == [3]  # Operation ids, not positions in the partition


def test_search_stops_at_the_first_invalid_partition(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(linearizability, "SLICE", 2)
    h = History()
    kv_op(h, "put", "a", "x", 0, 1)
    kv_op(h, "get", "a", "nope", 2, 3)
    for i in range(20):
        kv_op(h, "append", "b", str(i), 10 * i, 10 * i + 1)
    stopped = check_linearizability(h.ops, get_model("kv"))
    assert stopped.valid is False
    assert {p.key: p.valid for p in stopped.partitions} == {"a": False, "b": UNKNOWN}
    assert check_linearizability(h.ops, get_model("kv"), all_partitions=True).partitions[1].valid is True


def stock_buy(
    h: History, qty: int, outcome: str | None, call: int, ret: int | None, status: str = "ok"
) -> int:
    value = {"item": "sku-1", "qty": qty, "order": f"o-{len(h.ops)}"}
    return h.add("buy", value, {**value, "outcome": outcome}, call, ret, status)


def stock_read(h: History, stock: int, call: int, ret: int) -> int:
    return h.add("read", {"item": "sku-1"}, {"item": "sku-1", "stock": stock}, call, ret)


def test_stock_oversell_of_the_last_unit_is_not_linearizable():
    h = History()
    stock_buy(h, 1, "sold", 0, 10)
    stock_buy(h, 1, "sold", 1, 9)
    model = get_model("stock", {"sku-1": 1})
    part = only_partition(check_linearizability(h.ops, model))
    assert part.valid is False
    assert part.key == "sku-1"
    assert part.linearization[0].state_before == "stock 1"
    assert part.linearization[0].state_after == "stock 0"
    assert len(part.stuck) == 1
    assert check_linearizability(h.ops, get_model("stock", {"sku-1": 2})).valid is True


def test_stock_sold_out_while_units_remain_is_not_linearizable():
    h = History()
    stock_buy(h, 2, "sold_out", 0, 1)
    assert check_linearizability(h.ops, get_model("stock", {"sku-1": 2})).valid is False
    assert check_linearizability(h.ops, get_model("stock", {"sku-1": 1})).valid is True


def test_stock_unknown_buys_explain_lower_reads_cheaply():
    """60 timed-out buys of 1 unit (distinct order ids): any number of them may have sold."""
    h = History()
    for i in range(60):
        stock_buy(h, 1, None, i, None, status="info")
    stock_read(h, 70, 100, 101)
    stock_read(h, 55, 102, 103)
    model = get_model("stock", {"sku-1": 100})
    # an exponential search would end `unknown` at the limit instead
    assert check_linearizability(h.ops, model, time_limit=10).valid is True
    stock_read(h, 56, 104, 105)  # stock cannot go back up
    assert check_linearizability(h.ops, model, time_limit=10).valid is False


def test_stock_restock_then_buy():
    h = History()
    h.add("restock", {"item": "sku-1", "qty": 3}, {"item": "sku-1", "qty": 3}, 0, 4)
    stock_buy(h, 2, "sold", 1, 2)
    stock_read(h, 1, 5, 6)
    assert check_linearizability(h.ops, get_model("stock", {"sku-1": 0})).valid is True


# --- time limit and edge cases ---------------------------------------------------------------


def test_time_limit_zero_gives_unknown_on_a_nontrivial_history():
    h = History()
    for i in range(10):
        h.write(i, i, i + 5)
        h.read(i, i + 6, i + 7)
    result = check_linearizability(h.ops, get_model("register"), time_limit=0)
    assert result.valid == UNKNOWN
    assert only_partition(result).valid == UNKNOWN
    assert check_linearizability(h.ops, get_model("register"), time_limit=10).valid is True


def test_time_limit_caps_a_hopeless_search():
    """Unknown appends in a kv history are really expensive: the limit must still hold."""
    h = History()
    for i in range(14):
        kv_op(h, "append", "k", chr(97 + i), i, None, status="info")
    kv_op(h, "get", "k", "zz", 50, 51)
    started = time.monotonic()
    result = check_linearizability(h.ops, get_model("kv"), time_limit=0.3)
    assert time.monotonic() - started < 3
    assert result.valid == UNKNOWN
    assert only_partition(result).valid == UNKNOWN


def test_empty_history_and_only_unknown_ops_are_linearizable():
    assert check_linearizability([], get_model("register")).valid is True
    assert check_linearizability([], get_model("register")).partitions[0].ops == []
    h = History()
    h.write(3, 0, None, status="info")
    assert check_linearizability(h.ops, get_model("register"), time_limit=0).valid is True


def test_completed_op_without_return_time_is_malformed():
    h = History()
    h.write(1, 0, 1)
    h.ops[0].ret = None
    with pytest.raises(ValueError, match="op 0 .*no return time"):
        check_linearizability(h.ops, get_model("register"))


# --- cross-check against the definition ------------------------------------------------------


def brute_force(ops: list[Operation], model: Model) -> bool:
    """Linearizability by enumeration: some order of all completed ops and some unknown ones."""
    happened = [op for op in ops if op.status != "fail"]
    for key, part in model.partition(happened):
        required = sum(1 << i for i, op in enumerate(part) if not op.unknown)

        @cache
        def extend(done: int, state: Any, part: list[Operation] = part, required: int = required) -> bool:
            if done & required == required:
                return True
            for i, op in enumerate(part):
                if done >> i & 1:
                    continue
                if any(not done >> x & 1 and not p.unknown and p.ret < op.call for x, p in enumerate(part)):
                    continue  # some op not yet placed finished before this one began
                legal, after = model.step(state, op)
                if legal and extend(done | 1 << i, after):
                    return True
            return False

        if not extend(0, model.init(key)):
            return False
    return True


def random_op(rng: random.Random, model_name: str, i: int) -> tuple[str, Any, Any]:
    """(f, input, output) drawn from small domains so that both verdicts come up often."""
    if model_name in ("register", "cas-register"):
        f = rng.choice(["read", "write", "cas"] if model_name == "cas-register" else ["read", "write"])
        if f == "read":
            return f, None, rng.choice([None, 0, 1, 2])
        value = rng.randint(0, 2) if f == "write" else [rng.randint(0, 2), rng.randint(0, 2)]
        return f, value, value
    if model_name == "mutex":
        return rng.choice(["acquire", "release"]), None, None
    if model_name == "stock":
        f = rng.choice(["buy", "buy", "read", "restock"])
        item = rng.choice("ab")
        if f == "buy":
            value = {"item": item, "qty": rng.randint(1, 2), "order": f"o{i}"}
            return f, value, {**value, "outcome": rng.choice(["sold", "sold_out"])}
        if f == "read":
            return f, {"item": item}, {"item": item, "stock": rng.randint(0, 4)}
        return f, {"item": item, "qty": rng.randint(1, 2)}, {"item": item}
    if model_name == "kv":
        f = rng.choice(["get", "put", "append"])
        key = rng.choice("ab")
        if f == "get":
            return (
                f,
                {"key": key, "value": None},
                {"key": key, "value": rng.choice(["", "x", "y", "xy", "yx"])},
            )
        value = {"key": key, "value": rng.choice("xy")}
        return f, value, value
    micro = [
        [rng.choice(["read", "write"]), rng.choice("xy"), rng.randint(0, 1)] for _ in range(rng.randint(1, 2))
    ]
    invoked = [[f, k, v if f == "write" else None] for f, k, v in micro]
    observed = [[f, k, v if f == "write" else rng.choice([None, v])] for f, k, v in micro]
    return "txn", invoked, observed


INITS: dict[str, Any] = {
    "register": None,
    "cas-register": 0,
    "mutex": None,
    "stock": {"a": 1, "b": 2},
    "kv": None,
    "multi-register": {"x": 0},
}


@pytest.mark.parametrize("model_name", sorted(INITS))
def test_search_agrees_with_brute_force_on_random_histories(model_name: str):
    model = get_model(model_name, INITS[model_name])
    rng = random.Random(f"lin-{model_name}")
    verdicts = {True: 0, False: 0}
    for _ in range(400):
        h = History()
        for i in range(rng.randint(1, 9)):
            f, value, output = random_op(rng, model_name, i)
            call = rng.randint(0, 8)
            status = rng.choices(["ok", "info", "fail"], [6, 3, 1])[0]
            h.add(f, value, output, call, call + rng.randint(0, 4), status)
        expected = brute_force(h.ops, model)
        verdicts[expected] += 1
        result = check_linearizability(h.ops, model, all_partitions=True)
        assert result.valid is expected, [(o.f, o.input, o.output, o.status, o.call, o.ret) for o in h.ops]
        for part in result.partitions:
            if part.valid is False:
                assert part.stuck, "a failed partition names the ops that could not come next"
                placed = [step.op for step in part.linearization]
                assert not set(placed) & set(part.stuck)
                state = model.init(part.key)
                for step in part.linearization:
                    legal, state = model.step(state, h.ops[step.op])
                    assert legal and model.describe_state(state) == step.state_after
    assert min(verdicts.values()) > 50, verdicts
