"""Each model's sequential specification, one step at a time, and the model registry."""

from __future__ import annotations

from typing import Any

import pytest

from checkers.history import Operation
from checkers.models import MODELS, get_model
from checkers.models.multi_register import FrozenMap


def op(f: str, value: Any = None, output: Any = None, status: str = "ok", op_id: int = 0) -> Operation:
    """One operation; unknown ones (status info) get no output and no return time."""
    unknown = status == "info"
    return Operation(
        id=op_id,
        process=0,
        f=f,
        input=value,
        output=None if unknown else output,
        status=status,
        call=0,
        ret=None if unknown else 1,
        invoke_index=2 * op_id,
    )


# --- registry --------------------------------------------------------------------------------


def test_registry_names_every_model():
    assert set(MODELS) == {"stock", "register", "cas-register", "mutex", "multi-register", "kv"}
    for name, model_class in MODELS.items():
        model = get_model(name)
        assert isinstance(model, model_class)
        assert model.name == name


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown model 'queue'.*cas-register.*stock"):
        get_model("queue")


@pytest.mark.parametrize(
    ("name", "init"),
    [
        ("stock", {"a": "five"}),
        ("stock", [1]),
        ("kv", {"a": 1}),
        ("mutex", "locked"),
        ("multi-register", [1]),
    ],
)
def test_bad_init_is_rejected(name: str, init: Any):
    with pytest.raises(ValueError, match="init"):
        get_model(name, init)


# --- register --------------------------------------------------------------------------------


def test_register_read_must_see_the_value_and_nil_must_see_nil():
    model = get_model("register")
    state = model.init()
    assert state is None
    assert model.step(state, op("read", output=None)) == (True, None)
    assert model.step(state, op("read", output=3))[0] is False
    legal, state = model.step(state, op("write", 3))
    assert (legal, state) == (True, 3)
    assert model.step(state, op("read", output=None))[0] is False
    assert model.step(state, op("read", output=3)) == (True, 3)


def test_register_compares_json_values_by_value():
    model = get_model("register", [1, {"b": 2}])
    state = model.init()
    hash(state)
    assert model.step(state, op("read", output=[1, {"b": 2}]))[0] is True
    assert model.step(state, op("read", output=[1, {"b": 3}]))[0] is False
    assert model.describe_state(state) == "[1 {b: 2}]"


def test_register_unknown_ops_accept_any_output():
    model = get_model("register")
    assert model.step(5, op("read", status="info")) == (True, 5)
    assert model.step(5, op("write", 7, status="info")) == (True, 7)


def test_register_rejects_ops_it_cannot_judge():
    with pytest.raises(ValueError, match="op 4 .*'cas'"):
        get_model("register").partition([op("cas", [1, 2], op_id=4)])


def test_register_descriptions():
    model = get_model("register")
    assert model.describe_operation(op("write", "x")) == 'write("x")'
    assert model.describe_operation(op("read", output=None)) == "read() -> nil"
    assert model.describe_operation(op("read", status="info")) == "read() -> ?"
    assert model.describe_state(None) == "nil"


# --- cas-register ----------------------------------------------------------------------------


def test_cas_register_ok_cas_needs_the_old_value():
    model = get_model("cas-register", 1)
    assert model.step(1, op("cas", [1, 2])) == (True, 2)
    assert model.step(3, op("cas", [1, 2]))[0] is False
    assert model.step(None, op("cas", [None, 2])) == (True, 2)


def test_cas_register_unknown_cas_takes_effect_only_on_a_match():
    model = get_model("cas-register")
    assert model.step(1, op("cas", [1, 2], status="info")) == (True, 2)
    assert model.step(3, op("cas", [1, 2], status="info")) == (True, 3)


def test_cas_register_reads_and_writes():
    model = get_model("cas-register")
    assert model.init() is None
    assert model.step(None, op("write", 4)) == (True, 4)
    assert model.step(4, op("read", output=4)) == (True, 4)
    assert model.step(4, op("read", output=None))[0] is False


def test_cas_register_malformed_cas_is_reported_before_the_search():
    with pytest.raises(ValueError, match=r"op 2 .*\[old, new\]"):
        get_model("cas-register").partition([op("cas", [1], op_id=2)])


def test_cas_register_descriptions():
    model = get_model("cas-register")
    assert model.describe_operation(op("cas", [1, None], status="info")) == "cas(1 -> nil) -> ?"
    assert model.describe_operation(op("read", output=2)) == "read() -> 2"


# --- mutex -----------------------------------------------------------------------------------


def test_mutex_acquire_and_release_alternate():
    model = get_model("mutex")
    state = model.init()
    assert state is False
    assert model.step(state, op("release"))[0] is False
    legal, state = model.step(state, op("acquire"))
    assert (legal, state) == (True, True)
    assert model.step(state, op("acquire"))[0] is False
    assert model.step(state, op("release")) == (True, False)
    assert model.describe_state(True) == "locked"
    assert get_model("mutex", True).init() is True


def test_mutex_rejects_other_ops():
    with pytest.raises(ValueError, match="acquire, release"):
        get_model("mutex").partition([op("read")])


# --- multi-register --------------------------------------------------------------------------


def test_multi_register_txn_reads_see_earlier_writes_and_nil_matches_anything():
    model = get_model("multi-register", {"x": 1})
    state = model.init()
    assert model.step(state, op("txn", [["read", "x", None]], [["read", "x", 1]]))[0] is True
    assert model.step(state, op("txn", [["read", "x", None]], [["read", "x", 2]]))[0] is False
    assert model.step(state, op("txn", [["read", "x", None]], [["read", "x", None]]))[0] is True
    txn = op("txn", [["write", "y", 5], ["read", "y", None]], [["write", "y", 5], ["read", "y", 5]])
    legal, after = model.step(state, txn)
    assert legal is True
    assert after == FrozenMap({"x": 1, "y": 5})
    assert model.describe_state(after) == '{"x": 1, "y": 5}'


def test_multi_register_illegal_txn_changes_nothing():
    model = get_model("multi-register")
    state = model.init()
    txn = op("txn", [["write", "x", 1], ["read", "y", None]], [["write", "x", 1], ["read", "y", 3]])
    assert model.step(state, txn) == (False, state)


def test_multi_register_unknown_txn_applies_its_invoked_writes():
    model = get_model("multi-register")
    legal, after = model.step(
        model.init(), op("txn", [["write", "x", 2], ["read", "x", None]], status="info")
    )
    assert legal is True
    assert after.get("x") == 2


def test_multi_register_nil_write_is_the_empty_state():
    assert FrozenMap({"x": None}) == FrozenMap()
    assert hash(FrozenMap({"x": None})) == hash(FrozenMap())
    model = get_model("multi-register", {"x": 1})
    assert model.step(model.init(), op("txn", [["write", "x", None]]))[1] == FrozenMap()


def test_multi_register_malformed_micro_op_is_reported():
    with pytest.raises(ValueError, match="micro-op"):
        get_model("multi-register").partition([op("txn", [["cas", "x", 1]])])


def test_multi_register_description():
    model = get_model("multi-register")
    txn = op("txn", [["write", "x", 1], ["read", "y", None]], [["write", "x", 1], ["read", "y", 2]])
    assert model.describe_operation(txn) == 'txn[w "x" 1, r "y" 2]'


# --- kv --------------------------------------------------------------------------------------


def test_kv_put_append_get():
    model = get_model("kv")
    state = model.init("k")
    assert state == ""
    assert model.step(state, op("get", {"key": "k", "value": None}, {"key": "k", "value": None})) == (
        True,
        "",
    )
    legal, state = model.step(state, op("put", {"key": "k", "value": "a"}))
    legal, state = model.step(state, op("append", {"key": "k", "value": "b"}))
    assert state == "ab"
    assert model.step(state, op("get", {"key": "k"}, {"value": "ab"}))[0] is True
    assert model.step(state, op("get", {"key": "k"}, "ab"))[0] is True
    assert model.step(state, op("get", {"key": "k"}, {"value": "a"}))[0] is False
    assert model.step(state, op("get", {"key": "k"}, status="info")) == (True, "ab")


def test_kv_partitions_by_key_with_per_key_init():
    model = get_model("kv", {"b": "seed"})
    ops = [op("get", {"key": key}, op_id=i) for i, key in enumerate(["b", "a", "b"])]
    assert [(key, [o.id for o in part]) for key, part in model.partition(ops)] == [("a", [1]), ("b", [0, 2])]
    assert model.init("b") == "seed"
    assert model.init("a") == ""


def test_kv_rejects_an_op_without_a_key():
    with pytest.raises(ValueError, match="needs input"):
        get_model("kv").partition([op("put", {"value": "x"})])


def test_kv_descriptions():
    model = get_model("kv")
    assert model.describe_operation(op("append", {"key": "k", "value": "x"})) == 'append("k", "x")'
    assert model.describe_operation(op("get", {"key": "k"}, {"value": "x"})) == 'get("k") -> "x"'
    assert model.describe_state("ab") == '"ab"'


# --- stock -----------------------------------------------------------------------------------


def buy(
    qty: int, outcome: str | None, status: str = "ok", item: str = "sku-1", order: str = "o-1"
) -> Operation:
    value = {"item": item, "qty": qty, "order": order}
    return op("buy", value, None if outcome is None else {**value, "outcome": outcome}, status)


def test_stock_buy_sells_only_what_is_there():
    model = get_model("stock", {"sku-1": 2})
    state = model.init("sku-1")
    assert state == 2
    assert model.step(state, buy(2, "sold")) == (True, 0)
    assert model.step(state, buy(3, "sold"))[0] is False
    assert model.step(state, buy(3, "sold_out")) == (True, 2)
    assert model.step(state, buy(2, "sold_out"))[0] is False


def test_stock_unknown_buy_either_sold_or_did_nothing():
    model = get_model("stock")
    assert model.step(3, buy(2, None, "info")) == (True, 1)
    assert model.step(1, buy(2, None, "info")) == (True, 1)


def test_stock_read_and_restock():
    model = get_model("stock")
    assert model.init("never-reset") == 0
    assert model.step(4, op("read", {"item": "sku-1"}, {"item": "sku-1", "stock": 4})) == (True, 4)
    assert model.step(4, op("read", {"item": "sku-1"}, {"item": "sku-1", "stock": 3}))[0] is False
    assert model.step(4, op("restock", {"item": "sku-1", "qty": 5})) == (True, 9)
    assert model.step(4, op("restock", {"item": "sku-1", "qty": 5}, status="info")) == (True, 9)


def test_stock_partitions_by_item_and_leaves_out_other_ops():
    model = get_model("stock", {"a": 1, "b": 1})
    ops = [
        op("reset", {"items": {"a": 1}}, op_id=0),
        Operation(1, 0, "buy", {"item": "b", "qty": 1, "order": "o"}, {"outcome": "sold"}, "ok", 0, 1, 2),
        Operation(2, 0, "read", {"item": "a"}, {"stock": 1}, "ok", 2, 3, 4),
        Operation(3, 0, "orders", {"item": "a"}, {"orders": []}, "ok", 4, 5, 6),
    ]
    assert [(key, [o.id for o in part]) for key, part in model.partition(ops)] == [("a", [2]), ("b", [1])]


@pytest.mark.parametrize(
    ("operation", "cause"),
    [
        (op("buy", {"item": "a", "order": "o"}, {"outcome": "sold"}), "qty"),
        (op("buy", {"item": "a", "qty": 1}, {"item": "a"}), "outcome"),
        (op("read", {"item": "a"}, {"stock": "3"}), "stock"),
        (op("restock", {"qty": 1}), "item"),
    ],
)
def test_stock_malformed_ops_are_reported_with_their_index(operation: Operation, cause: str):
    with pytest.raises(ValueError, match=f"invoke index 0.*{cause}"):
        get_model("stock").partition([operation])


def test_stock_buys_of_the_same_qty_step_alike():
    model = get_model("stock")
    assert model.step_key(buy(1, None, "info")) is not None
    assert model.step_key(buy(1, None, "info", order="a")) == model.step_key(buy(1, None, "info", order="b"))
    assert model.step_key(buy(1, None, "info")) != model.step_key(buy(2, None, "info"))


def test_stock_descriptions():
    model = get_model("stock")
    assert model.describe_operation(buy(2, "sold", order="o-9")) == "buy(sku-1, qty 2, order o-9) -> sold"
    assert model.describe_operation(buy(2, None, "info")) == "buy(sku-1, qty 2, order o-1) -> ?"
    assert model.describe_operation(op("read", {"item": "x"}, {"stock": 3})) == "read(x) -> 3"
    assert model.describe_operation(op("restock", {"item": "x", "qty": 3})) == "restock(x, +3)"
    assert model.describe_state(7) == "stock 7"
