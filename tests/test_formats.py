"""History formats: readers, detection, EDN export, and the exact line of every malformed input."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pytest

from checkers.formats import LOADERS, detect_format, iter_jsonl, load_history, write_edn, write_jsonl_event
from checkers.formats.edn_reader import Keyword, plain, read_edn
from checkers.history import FAIL, INFO, INVOKE, NEMESIS, OK, Event, HistoryError, pair_operations
from tests.paths import ANCHORS
from tests.require import requires_shared

# --- samples ---------------------------------------------------------------------------------


def jl(*events: dict) -> str:
    """JSONL text for events given without index/time (assigned in order)."""
    lines = []
    for i, e in enumerate(events):
        lines.append(orjson.dumps({"index": i, "time": i * 1000, **e}).decode())
    return "\n".join(lines) + "\n"


STOCK_JSONL = jl(
    {"type": "invoke", "process": 0, "f": "reset", "value": {"items": {"sku-1": 2}}},
    {"type": "ok", "process": 0, "f": "reset", "value": {"items": {"sku-1": 2}}},
    {
        "type": "invoke",
        "process": 0,
        "f": "buy",
        "value": {"item": "sku-1", "qty": 1, "order": "o-1"},
        "node": "n1",
    },
    {"type": "invoke", "process": 1, "f": "read", "value": {"item": "sku-1"}},
    {"type": "info", "process": "nemesis", "f": "start-partition", "value": {"targets": ["n1"]}},
    {
        "type": "ok",
        "process": 0,
        "f": "buy",
        "value": {"item": "sku-1", "qty": 1, "order": "o-1", "outcome": "sold"},
    },
    {"type": "ok", "process": 1, "f": "read", "value": {"item": "sku-1", "stock": 1}},
    {"type": "invoke", "process": 1, "f": "restock", "value": {"item": "sku-1", "qty": 3}},
    {"type": "info", "process": 1, "f": "restock", "error": "timeout"},
    {"type": "invoke", "process": 0, "f": "orders", "value": {"item": "sku-1"}},
    {"type": "ok", "process": 0, "f": "orders", "value": {"item": "sku-1", "orders": ["o-1"]}},
)

EDN_PER_LINE = """\
{:process 0, :type :invoke, :f :write, :value 1, :time 10}
{:process 1, :type :invoke, :f :read, :value nil, :time 20}
{:process 0, :type :ok, :f :write, :value 1, :time 30}
{:process 1, :type :ok, :f :read, :value nil, :time 40}
{:process 2, :type :invoke, :f :cas, :value [1 2], :time 50}
{:process 2, :type :fail, :f :cas, :value [1 2], :time 60, :error :mismatch}
{:process :nemesis, :type :info, :f :start, :value nil, :time 70}
"""

EDN_VECTOR = """\
; a Knossos history
[{:process 0, :type :invoke, :f :acquire, :value nil}
 {:process 0, :type :ok, :f :acquire, :value nil}
 {:process 1, :type :invoke, :f :release, :value nil}
 {:process 1, :type :info, :f :release, :value nil}]
"""

ETCD_LOG = (
    "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"
    "INFO  jepsen.util - 1\t:invoke\t:write\t3\n"
    "INFO  jepsen.util - 0\t:ok\t:read\tnil\n"
    "INFO  jepsen.util - 1\t:ok\t:write\t3\n"
    "INFO  jepsen.util - 2\t:invoke\t:cas\t[3 4]\n"
    "INFO  jepsen.util - 2\t:fail\t:cas\t[3 4]\n"
    "INFO  jepsen.util - 3\t:invoke\t:read\tnil\n"
    "INFO  jepsen.util - 3\t:fail\t:read\tnil\n"
    "INFO  jepsen.util - 4\t:invoke\t:cas\t[3 1]\n"
    "INFO  jepsen.util - 4\t:info\t:cas\t:timed-out\n"
)

KV_LOG = """\
{:process 0, :type :invoke, :f :put, :key "a", :value "x"}
{:process 1, :type :invoke, :f :get, :key "a", :value nil}
{:process 0, :type :ok, :f :put, :key "a", :value "x"}
{:process 1, :type :ok, :f :get, :key "a", :value "x"}
{:process 0, :type :invoke, :f :append, :key "b", :value "y"}
{:process 0, :type :ok, :f :append, :key "b", :value "y"}
"""


def write(tmp_path: Path, text: str, name: str = "history.txt") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def error_of(path: str, fmt: str | None = None) -> HistoryError:
    with pytest.raises(HistoryError) as info:
        load_history(path, fmt)
    return info.value


# --- loading each format ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fmt", "model", "n_events"),
    [
        (STOCK_JSONL, "jsonl", "stock", 11),
        (EDN_PER_LINE, "jepsen-edn", "cas-register", 7),
        (EDN_VECTOR, "jepsen-edn", "mutex", 4),
        (ETCD_LOG, "porcupine-etcd", "cas-register", 10),
        (KV_LOG, "porcupine-kv", "kv", 6),
    ],
    ids=["jsonl", "edn-lines", "edn-vector", "etcd", "kv"],
)
def test_detects_and_loads_each_format(tmp_path, text, fmt, model, n_events):
    path = write(tmp_path, text, name="no-hint.dat")  # detection must not rely on the name
    assert detect_format(path) == fmt
    loaded = load_history(path)
    assert loaded.format == fmt
    assert loaded.default_model == model
    assert loaded.default_init is None
    assert len(loaded.events) == n_events
    assert [e.index for e in loaded.events] == sorted({e.index for e in loaded.events})
    assert all(a.time <= b.time for a, b in zip(loaded.events, loaded.events[1:], strict=False))
    assert load_history(path, fmt).events == loaded.events


def test_jsonl_fields_and_pairing(tmp_path):
    loaded = load_history(write(tmp_path, STOCK_JSONL))
    buy = loaded.events[2]
    assert (buy.index, buy.time, buy.type, buy.process, buy.f, buy.node, buy.line) == (
        2,
        2000,
        INVOKE,
        0,
        "buy",
        "n1",
        3,
    )
    assert loaded.events[4].process == NEMESIS
    assert loaded.events[8].error == "timeout" and loaded.events[8].value is None
    ops = pair_operations(loaded.events, loaded.file)
    assert [(o.f, o.status) for o in ops] == [
        ("reset", OK),
        ("buy", OK),
        ("read", OK),
        ("restock", INFO),
        ("orders", OK),
    ]


def test_jsonl_allows_blank_lines_and_counts_them(tmp_path):
    lines = STOCK_JSONL.splitlines()
    path = write(tmp_path, "\n" + lines[0] + "\n\n   \n" + lines[1] + "\n")
    events = list(iter_jsonl(path))
    assert [e.line for e in events] == [2, 5]


def test_iter_jsonl_streams_line_by_line(tmp_path):
    path = write(tmp_path, STOCK_JSONL.splitlines()[0] + "\n{not json\n")
    events = iter_jsonl(path)
    first = next(events)  # yielded before the malformed line is read
    assert first.f == "reset"
    with pytest.raises(HistoryError) as info:
        next(events)
    assert info.value.line == 2


def test_register_history_in_jsonl(tmp_path):
    text = jl(
        {"type": "invoke", "process": 0, "f": "write", "value": 1},
        {"type": "ok", "process": 0, "f": "write", "value": 1},
        {"type": "invoke", "process": 0, "f": "read", "value": None},
        {"type": "ok", "process": 0, "f": "read", "value": 1},
    )
    loaded = load_history(write(tmp_path, text))
    assert loaded.default_model == "register"
    assert loaded.events[3].value == 1


def test_jepsen_edn_semantics(tmp_path):
    loaded = load_history(write(tmp_path, EDN_PER_LINE))
    e = loaded.events
    assert [x.time for x in e] == [10, 20, 30, 40, 50, 60, 70]  # :time kept
    assert e[3].type == INFO, "an ok read of nil matches any value: unknown result"
    assert e[2].type == OK and e[2].value == 1
    assert e[4].value == [1, 2] and e[5].type == FAIL and e[5].error == "mismatch"
    assert e[6].process == NEMESIS and e[6].f == "start"
    assert all(type(x.f) is str and type(x.type) is str for x in e)  # no Keyword leaks out
    ops = pair_operations(e)
    assert [(o.f, o.status) for o in ops] == [("write", OK), ("read", INFO), ("cas", FAIL)]


def test_jepsen_edn_vector_lines_and_position_times(tmp_path):
    loaded = load_history(write(tmp_path, EDN_VECTOR))
    assert [e.line for e in loaded.events] == [2, 3, 4, 5]
    assert [e.time for e in loaded.events] == [0, 1, 2, 3]  # no :time: positions keep the order
    assert loaded.events[3].type == INFO


def test_jepsen_edn_decreasing_times_fall_back_to_positions(tmp_path):
    text = EDN_PER_LINE.replace(":time 30", ":time 5")
    assert [e.time for e in load_history(write(tmp_path, text)).events] == list(range(7))


def test_porcupine_etcd_semantics(tmp_path):
    loaded = load_history(write(tmp_path, ETCD_LOG))
    ops = pair_operations(loaded.events)
    by_process = {o.process: o for o in ops}
    assert by_process[0].status == OK and by_process[0].input is None and by_process[0].output is None
    assert by_process[1].input == 3 and by_process[1].status == OK
    assert by_process[2].status == FAIL and by_process[2].input == [3, 4], "a failed cas did not happen"
    assert by_process[3].status == INFO, "a failed read has an unknown outcome"
    assert by_process[4].status == INFO and by_process[4].input == [3, 1]
    assert by_process[4].error == "timed-out"
    assert [e.line for e in loaded.events] == list(range(1, 11))


def test_porcupine_kv_values(tmp_path):
    loaded = load_history(write(tmp_path, KV_LOG))
    e = loaded.events
    assert e[1].f == "get" and e[1].value == {"key": "a", "value": None}
    assert e[3].value == {"key": "a", "value": "x"}
    assert e[4].value == {"key": "b", "value": "y"} and e[4].f == "append"


# --- malformed input: every kind, with its line ----------------------------------------------

GOOD = '{"index": 0, "time": 0, "type": "invoke", "process": 0, "f": "write", "value": 1}'


def ev(**fields: object) -> str:
    base: dict[str, object] = {"index": 1, "time": 5, "type": "ok", "process": 0, "f": "write", "value": 1}
    base.update(fields)
    return orjson.dumps({k: v for k, v in base.items() if v != "<drop>"}).decode()


@pytest.mark.parametrize(
    ("second_line", "cause"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object, got an array"),
        ('"text"', "expected a JSON object, got a string"),
        (ev(index="<drop>"), "missing field 'index'"),
        (ev(time="<drop>"), "missing field 'time'"),
        (ev(type="<drop>"), "missing field 'type'"),
        (ev(process="<drop>"), "missing field 'process'"),
        (ev(f="<drop>"), "missing field 'f'"),
        (ev(index="1"), "field 'index' must be an integer"),
        (ev(index=True), "field 'index' must be an integer"),
        (ev(index=0), "index 0 does not increase"),
        (ev(time=1.5), "field 'time' must be a non-negative integer"),
        (ev(time=-1), "field 'time' must be a non-negative integer"),
        (ev(type="done"), "unknown type 'done'"),
        (ev(type=3), "unknown type 3"),
        (ev(process="p1"), "field 'process' must be a non-negative integer or \"nemesis\""),
        (ev(process=-2), "field 'process'"),
        (ev(process=None), "field 'process'"),
        (ev(f=7), "field 'f' must be a non-empty string"),
        (ev(f=""), "field 'f' must be a non-empty string"),
        (ev(node=3), "field 'node' must be a string"),
        (ev(error=["x"]), "field 'error' must be a string"),
    ],
)
def test_malformed_jsonl_names_the_line(tmp_path, second_line, cause):
    path = write(tmp_path, GOOD + "\n\n" + second_line + "\n")
    err = error_of(path, "jsonl")
    assert err.line == 3
    assert cause in err.cause
    assert str(err) == f"{path}:3: {err.cause}" and "\n" not in str(err)


def test_decreasing_time_names_the_line(tmp_path):
    good = GOOD.replace('"time": 0', '"time": 50')
    err = error_of(write(tmp_path, good + "\n" + ev(time=10) + "\n"), "jsonl")
    assert (err.line, err.cause) == (2, "time 10 is before the previous event's time 50 (line 1)")


def test_equal_times_are_allowed(tmp_path):
    assert len(list(iter_jsonl(write(tmp_path, GOOD + "\n" + ev(time=0) + "\n")))) == 2


def buy(**value: object) -> dict:
    v: dict[str, object] = {"item": "sku-1", "qty": 1, "order": "o-1"}
    v.update(value)
    return {k: x for k, x in v.items() if x != "<drop>"}


@pytest.mark.parametrize(
    ("f", "value", "cause"),
    [
        ("buy", buy(item="<drop>"), "buy: missing 'item'"),
        ("buy", buy(item=5), "buy: 'item' must be a non-empty string"),
        ("buy", buy(qty=0), "buy: 'qty' must be a positive integer, got 0"),
        ("buy", buy(qty="2"), "buy: 'qty' must be a positive integer"),
        ("buy", buy(qty=True), "buy: 'qty' must be a positive integer"),
        ("buy", buy(order="<drop>"), "buy: missing 'order'"),
        ("buy", "sku-1", "buy value must be an object"),
        ("buy", None, "buy value must be an object"),
        ("read", {"sku": "sku-1"}, "read: missing 'item'"),
        ("read", "sku-1", "read value must be"),
        ("restock", {"item": "sku-1", "qty": -1}, "restock: 'qty' must be a positive integer"),
        ("restock", {"qty": 1}, "restock: missing 'item'"),
        ("reset", {"items": {"sku-1": -1}}, "reset: 'items' stock of 'sku-1' must be a non-negative integer"),
        ("reset", {"items": [1]}, "reset: 'items' must be an object"),
        ("orders", {}, "orders: missing 'item'"),
    ],
)
def test_malformed_stock_invocations(tmp_path, f, value, cause):
    text = (
        GOOD
        + "\n"
        + orjson.dumps(
            {"index": 1, "time": 1, "type": "invoke", "process": 1, "f": f, "value": value}
        ).decode()
    )
    err = error_of(write(tmp_path, text), "jsonl")
    assert err.line == 2 and cause in err.cause


@pytest.mark.parametrize(
    ("f", "invoke_value", "ok_value", "cause"),
    [
        ("buy", buy(), buy(), 'ok buy: \'outcome\' must be "sold" or "sold_out", got None'),
        ("buy", buy(), buy(outcome="maybe"), "ok buy: 'outcome' must be"),
        ("buy", buy(), None, "ok buy value must be an object"),
        ("read", {"item": "sku-1"}, {"item": "sku-1"}, "ok read: missing 'stock'"),
        ("read", {"item": "sku-1"}, {"item": "sku-1", "stock": "3"}, "ok read: 'stock' must be an integer"),
        ("read", {"item": "sku-1"}, 3, "ok read of an item must be an object"),
        ("restock", {"item": "sku-1", "qty": 2}, {"item": "sku-1"}, "ok restock: missing 'qty'"),
        (
            "orders",
            {"item": "sku-1"},
            {"item": "sku-1", "orders": ["o-1", 2]},
            "ok orders: 'orders' must be a list",
        ),
        ("orders", {"item": "sku-1"}, {"item": "sku-1"}, "ok orders: 'orders' must be a list"),
    ],
)
def test_malformed_stock_completions(tmp_path, f, invoke_value, ok_value, cause):
    text = jl(
        {"type": "invoke", "process": 0, "f": "write", "value": 1},
        {"type": "invoke", "process": 1, "f": f, "value": invoke_value},
        {"type": "ok", "process": 1, "f": f, "value": ok_value},
    )
    err = error_of(write(tmp_path, text), "jsonl")
    assert err.line == 3 and cause in err.cause


def test_stock_values_that_are_evidence_not_malformed(tmp_path):
    text = jl(
        {"type": "invoke", "process": 0, "f": "read", "value": {"item": "sku-1"}},
        {"type": "ok", "process": 0, "f": "read", "value": {"item": "sku-1", "stock": -2}},  # oversold
        {"type": "invoke", "process": 0, "f": "buy", "value": buy()},
        {"type": "fail", "process": 0, "f": "buy"},  # fail/info may omit the value
        {"type": "invoke", "process": 0, "f": "buy", "value": buy(order="o-2")},
        {"type": "ok", "process": 0, "f": "buy", "value": {"outcome": "sold_out"}},
    )
    loaded = load_history(write(tmp_path, text))
    assert loaded.events[1].value["stock"] == -2
    assert loaded.events[3].value is None


def test_retired_process_cannot_invoke_again(tmp_path):
    text = jl(
        {"type": "invoke", "process": 0, "f": "write", "value": 1},
        {"type": "info", "process": 0, "f": "write"},
        {"type": "invoke", "process": 0, "f": "write", "value": 2},
    )
    err = error_of(write(tmp_path, text), "jsonl")
    assert err.line == 3 and "retired by its info completion on line 2" in err.cause


@pytest.mark.parametrize("text", ["", "\n\n  \n"], ids=["empty", "blank"])
@pytest.mark.parametrize("fmt", [None, *LOADERS])
def test_empty_file(tmp_path, text, fmt):
    err = error_of(write(tmp_path, text), fmt)
    assert err.line == 0 and "empty file" in err.cause


@pytest.mark.parametrize(
    ("text", "line", "cause"),
    [
        ("{:process 0, :type :invoke, :f :read\n", 1, "'{' is never closed"),
        (
            "[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0 :type}]\n",
            2,
            "odd number of forms",
        ),
        ('{:a "unterminated}\n', 1, "unterminated string"),
        ("{:a 1}\n{:b [1 2}\n", 2, "'}' closes '[' opened on line 2"),
        ("{:a 1}\n]\n", 2, "unmatched ']'"),
        ("{:a 12x}\n", 1, "invalid number '12x'"),
        ('{:a "bad \\q escape"}\n', 1, "unknown string escape"),
    ],
)
def test_bad_edn_syntax(tmp_path, text, line, cause):
    err = error_of(write(tmp_path, text), "jepsen-edn")
    assert err.line == line and "bad EDN" in err.cause and cause in err.cause


@pytest.mark.parametrize(
    ("bad", "cause"),
    [
        ("{:process 0, :f :read, :value nil}", "missing :type"),
        ("{:process 0, :type :done, :f :read}", "unknown :type :done"),
        ("{:process 0, :type :invoke}", "missing :f"),
        ("{:type :invoke, :f :read}", "missing :process"),
        ('{:process "p", :type :invoke, :f :read}', ":process must be"),
        ("[1 2]", "expected an op map"),
    ],
)
def test_bad_jepsen_ops(tmp_path, bad, cause):
    err = error_of(write(tmp_path, EDN_PER_LINE.splitlines()[0] + "\n" + bad + "\n"), "jepsen-edn")
    assert err.line == 2 and cause in err.cause


@pytest.mark.parametrize(
    ("bad", "cause"),
    [
        ("INFO  jepsen.util - 0 :invoke :read nil", "bad etcd line"),  # spaces, not tabs
        ("WARN something else", "bad etcd line"),
        ("INFO  jepsen.util - x\t:invoke\t:read\tnil", "process 'x' is neither"),
        ("INFO  jepsen.util - 1\t:begin\t:read\tnil", "unknown type :begin"),
        ("INFO  jepsen.util - 1\t:invoke\t:incr\t1", "unknown op :incr"),
        ("INFO  jepsen.util - 1\t:invoke\t:cas\t3", "cas value must be [old new]"),
        ("INFO  jepsen.util - 1\t:invoke\t:read\t3", "a read is invoked with nil"),
        ("INFO  jepsen.util - 1\t:invoke\t:write\t[1", "bad EDN"),
    ],
)
def test_bad_etcd_lines(tmp_path, bad, cause):
    err = error_of(write(tmp_path, ETCD_LOG.splitlines()[0] + "\n\n" + bad + "\n"), "porcupine-etcd")
    assert err.line == 3 and cause in err.cause


@pytest.mark.parametrize(
    ("bad", "cause"),
    [
        ('{:process 0, :type :invoke, :f :incr, :key "a", :value "1"}', "unknown :f :incr"),
        ('{:process 0, :type :invoke, :f :put, :value "1"}', "missing :key"),
        ('{:process 0, :type :invoke, :f :put, :key 1, :value "1"}', ":key must be a string"),
        ('{:process 0, :type :invoke, :f :put, :key "a", :value 1}', ":value must be a string or nil"),
        ('{:process 0, :type :invoke, :f :put, :key "a"', "bad EDN"),
        ('{:process 0, :type :invoke, :f :put, :key "a"} {:a 1}', "expected one form on the line"),
    ],
)
def test_bad_kv_lines(tmp_path, bad, cause):
    err = error_of(write(tmp_path, KV_LOG.splitlines()[0] + "\n" + bad + "\n"), "porcupine-kv")
    assert err.line == 2 and cause in err.cause


@pytest.mark.parametrize(
    ("fmt", "sample"),
    [("jepsen-edn", EDN_PER_LINE), ("porcupine-kv", KV_LOG), ("porcupine-etcd", ETCD_LOG)],
)
def test_not_utf8(tmp_path, fmt, sample):
    path = tmp_path / "h.txt"
    path.write_bytes(sample.splitlines()[0].encode() + b"\n\xff\n")
    err = error_of(str(path), fmt)
    assert err.line == 2 and "not UTF-8" in err.cause


# --- detection -------------------------------------------------------------------------------


def test_detection_skips_blank_and_comment_lines(tmp_path):
    assert detect_format(write(tmp_path, "\n; comment\n\n" + KV_LOG)) == "porcupine-kv"
    assert detect_format(write(tmp_path, "\n\n" + STOCK_JSONL)) == "jsonl"


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("\n\nhello world\n", "unknown history format: first line starts 'hello world'"),
        ('\n\n[{"index": 0}]\n', "unknown history format: a JSON array"),
    ],
)
def test_unknown_format(tmp_path, text, cause):
    err = error_of(write(tmp_path, text))
    assert err.line == 3 and cause in err.cause


def test_unknown_format_name(tmp_path):
    err = error_of(write(tmp_path, STOCK_JSONL), "csv")
    assert err.line == 0 and "unknown format 'csv'" in err.cause


def test_wrong_explicit_format_is_reported_not_guessed(tmp_path):
    err = error_of(write(tmp_path, ETCD_LOG), "jsonl")
    assert err.line == 1 and "invalid JSON" in err.cause


# --- EDN reader and export -------------------------------------------------------------------


def test_edn_reader_values():
    text = r"""; comment
    {:k :v, "s" "a\"b\n\u0041", :n [1 -2 3N 1.5 2.5M ##Inf], :set #{1 2}, :nil nil, :t true, :f false,
     :list (1 (2)), :c \x, :tag #inst "2024-01-01", #_ :gone #_ 1, :sym foo}"""
    [form] = read_edn(text)
    assert form.line == 2
    value = form.value
    assert value[Keyword("k")] == Keyword("v") and repr(value[Keyword("k")]) == ":v"
    assert value["s"] == 'a"b\nA'
    assert value["n"] == [1, -2, 3, 1.5, 2.5, float("inf")]
    assert value["set"] == frozenset({1, 2})
    assert (value["nil"], value["t"], value["f"]) == (None, True, False)
    assert value["list"] == [1, [2]] and value["c"] == "x" and value["tag"] == "2024-01-01"
    assert "gone" not in value and value["sym"] == "foo"
    assert plain(value)["set"] == [1, 2]


def test_edn_element_lines():
    [form] = read_edn("[{:a 1}\n {:a 2} {:a 3}\n\n {:a\n 4}]")
    assert form.element_lines == [1, 2, 2, 4]


def test_edn_export_round_trips_a_stock_history(tmp_path):
    original = load_history(write(tmp_path, STOCK_JSONL))
    out = io.StringIO()
    write_edn(original.events, out)
    text = out.getvalue()
    assert text.startswith(
        "[{:index 0, :time 0, :type :invoke, :process 0, :f :reset, :value {:items {:sku-1 2}}}"
    )
    assert ":process :nemesis" in text and ':node "n1"' in text and ':error "timeout"' in text
    back = load_history(write(tmp_path, text, "export.edn"))
    assert back.format == "jepsen-edn" and back.default_model == "stock"

    def strip(e: Event) -> tuple:
        return (e.index, e.time, e.type, e.process, e.f, e.value, e.node, e.error)

    assert [strip(e) for e in back.events] == [strip(e) for e in original.events]
    assert [type(e.f) for e in back.events] == [str] * len(back.events)


def test_edn_export_of_odd_values_reads_back(tmp_path):
    value = {"odd key": [1.5, None, True, 'tab\tquote"', {"nested": []}], "9lives": "\x01", "ok": {"a": -3}}
    event = Event(index=0, time=0, type=INVOKE, process=0, f="odd f", value=value)
    out = io.StringIO()
    write_edn([event], out)
    [form] = read_edn(out.getvalue())
    assert plain(form.value[0])["value"] == value and plain(form.value[0])["f"] == "odd f"


def test_edn_export_of_an_etcd_log_keeps_what_edn_can_say(tmp_path):
    original = load_history(write(tmp_path, ETCD_LOG))
    out = io.StringIO()
    write_edn(original.events, out)
    back = load_history(write(tmp_path, out.getvalue(), "etcd.edn"))
    assert back.default_model == "cas-register"
    before = [(o.f, o.status, o.input) for o in pair_operations(original.events)]
    after = [(o.f, o.status, o.input) for o in pair_operations(back.events)]
    # Documented loss: in Knossos EDN an ok read of nil means "value unknown", so it comes back info.
    assert before[0] == ("read", OK, None) and after[0] == ("read", INFO, None)
    assert before[1:] == after[1:]


def test_write_jsonl_event_round_trips(tmp_path):
    events = load_history(write(tmp_path, STOCK_JSONL)).events
    path = tmp_path / "copy.jsonl"
    with open(path, "wb") as out:
        for e in events:
            write_jsonl_event(e, out)
    assert list(iter_jsonl(str(path))) == events


def test_jsonl_parse_speed(tmp_path):
    """A loose bound (about 10x the expected cost) so a slow shared CI box does not flake."""
    n = 50_000
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as out:
        for i in range(n):
            p = i % 20
            value = {"item": "sku-1", "qty": 1, "order": f"o-{i}"}
            out.write(
                orjson.dumps(
                    {
                        "index": 2 * i,
                        "time": 2 * i,
                        "type": "invoke",
                        "process": p,
                        "f": "buy",
                        "value": value,
                    }
                )
                + b"\n"
            )
            value["outcome"] = "sold"
            out.write(
                orjson.dumps(
                    {
                        "index": 2 * i + 1,
                        "time": 2 * i + 1,
                        "type": "ok",
                        "process": p,
                        "f": "buy",
                        "value": value,
                    }
                )
                + b"\n"
            )
    loaded = load_history(str(path))
    assert len(loaded.events) == 2 * n


# --- public anchors --------------------------------------------------------------------------


def anchor_rows() -> list[dict[str, str]]:
    if not (ANCHORS / "expected.csv").exists():
        return []
    with open(ANCHORS / "expected.csv", newline="") as f:
        return list(csv.DictReader(f))


ROWS = anchor_rows()


def test_every_anchor_loads_with_its_op_count():
    """expected.csv's `ops` column counts client invocations (each is one op once paired)."""
    requires_shared("anchors", "porcupine", "expected.csv")
    assert ROWS, f"{ANCHORS / 'expected.csv'} lists no anchor histories"
    for row in ROWS:
        loaded = load_history(str(ANCHORS / row["file"]))
        expected_format = "porcupine-etcd" if row["format"] == "jepsen-etcd-log" else "porcupine-kv"
        assert loaded.format == expected_format, row["file"]
        invocations = sum(1 for e in loaded.events if e.type == INVOKE and e.process != NEMESIS)
        assert invocations == int(row["ops"]), row["file"]
        assert len(pair_operations(loaded.events, loaded.file)) == invocations
