"""The Go Porcupine program reads each format the way the comparison assumes.

Needs `go` (the build uses the module proxy once) and, for the corpus check, ../shared/anchors/porcupine:
skipped without them on a laptop, failed under CI (tests/require.py).
"""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest
from flash_sale_history import generate
from porcupine_cli import ensure_built, run_porcupine

from tests.require import requires_program, requires_shared


@pytest.fixture(scope="module", autouse=True)
def built() -> None:
    requires_program("go", reason="go toolchain not installed")
    ensure_built()


def write(path: Path, events: list[dict]) -> str:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return str(path)


def test_corpus_verdicts_and_op_counts_match_expected_csv() -> None:
    corpus = requires_shared("anchors", "porcupine", "expected.csv").parent
    with open(corpus / "expected.csv", newline="") as f:
        expected = list(csv.DictReader(f))
    for model, prefix in (("etcd", "jepsen/"), ("kv", "kv/")):
        rows = [r for r in expected if r["file"].startswith(prefix)]
        results = run_porcupine(model, [str(corpus / r["file"]) for r in rows], 60)
        got = [(r["verdict"], r["ops"]) for r in results]
        assert got == [(r["expected_verdict"], int(r["ops"])) for r in rows]


def test_stock_valid_history_is_linearizable(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.jsonl", list(generate(400, seed=1, processes=5, unknown_rate=0.1)))
    [result] = run_porcupine("stock", [path], 30)
    assert result["verdict"] == "linearizable"
    assert result["ops"] > 350  # unknown reads and the final orders read are not checked


def test_stock_wrong_read_is_not_linearizable(tmp_path: Path) -> None:
    events = list(generate(400, seed=1, processes=5, unknown_rate=0.1))
    read = next(e for e in events[300:] if e["type"] == "ok" and e["f"] == "read")
    read["value"]["stock"] += 7
    [result] = run_porcupine("stock", [write(tmp_path / "bad.jsonl", events)], 30)
    assert result["verdict"] == "not_linearizable"


def test_stock_oversold_buy_is_not_linearizable(tmp_path: Path) -> None:
    t = iter(range(0, 10_000, 10))
    events = [
        {"type": "invoke", "process": 0, "f": "reset", "value": {"items": {"a": 1}}},
        {"type": "ok", "process": 0, "f": "reset", "value": {"items": {"a": 1}}},
        {"type": "invoke", "process": 1, "f": "buy", "value": {"item": "a", "qty": 1, "order": "x"}},
        {
            "type": "ok",
            "process": 1,
            "f": "buy",
            "value": {"item": "a", "qty": 1, "order": "x", "outcome": "sold"},
        },
        {"type": "invoke", "process": 2, "f": "buy", "value": {"item": "a", "qty": 1, "order": "y"}},
        {
            "type": "ok",
            "process": 2,
            "f": "buy",
            "value": {"item": "a", "qty": 1, "order": "y", "outcome": "sold"},
        },
    ]
    events = [{"index": i, "time": next(t), **e} for i, e in enumerate(events)]
    [bad] = run_porcupine("stock", [write(tmp_path / "oversold.jsonl", events)], 10)
    assert bad["verdict"] == "not_linearizable"
    events[5] = {**events[5], "type": "info", "value": events[4]["value"]}  # unknown: may not have happened
    [unknown] = run_porcupine("stock", [write(tmp_path / "unknown.jsonl", events)], 10)
    assert unknown["verdict"] == "linearizable"
