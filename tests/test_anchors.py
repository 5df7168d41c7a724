"""Every public Porcupine anchor history gets the verdict its own project's tests assert."""

from __future__ import annotations

import csv

import pytest

from checkers.formats import load_history
from checkers.history_check import check_history
from tests.paths import ANCHORS
from tests.require import requires_shared


def anchor_rows() -> list[dict[str, str]]:
    if not (ANCHORS / "expected.csv").exists():
        return []
    with open(ANCHORS / "expected.csv", newline="") as f:
        return list(csv.DictReader(f))


ROWS = anchor_rows()


# Without the anchors, one placeholder case that skips (fails under CI) instead of none at all.
@pytest.mark.parametrize("row", ROWS or [None], ids=[r["file"] for r in ROWS] or ["anchors-missing"])
def test_anchor_verdict(row: dict[str, str] | None) -> None:
    requires_shared("anchors", "porcupine", "expected.csv")
    assert row is not None, f"{ANCHORS / 'expected.csv'} lists no anchor histories"
    loaded = load_history(str(ANCHORS / row["file"]))
    assert loaded.default_model is not None
    check = check_history(loaded.events, loaded.default_model, default_init=loaded.default_init, time_limit=120)
    expected = row["expected_verdict"] == "linearizable"
    assert check.valid is expected, f"{row['file']}: got {check.valid}, Porcupine's tests expect {row['expected_verdict']}"
    if not expected:
        bad = [p for p in check.lin.partitions if p.valid is False]
        assert bad and all(p.stuck for p in bad), "a failed check must name the ops that could not come next"
