"""Every public Porcupine anchor history gets the verdict its own project's tests assert."""

from __future__ import annotations

import csv

import pytest

from checkers.formats import load_history
from checkers.history_check import check_history
from tests.paths import ANCHORS, ANCHORS_MISSING


def anchor_rows() -> list[dict[str, str]]:
    if not (ANCHORS / "expected.csv").exists():
        return []
    with open(ANCHORS / "expected.csv", newline="") as f:
        return list(csv.DictReader(f))


ROWS = anchor_rows()


@pytest.mark.skipif(not ROWS, reason=ANCHORS_MISSING)
@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_anchor_verdict(row: dict[str, str]) -> None:
    loaded = load_history(str(ANCHORS / row["file"]))
    assert loaded.default_model is not None
    check = check_history(loaded.events, loaded.default_model, default_init=loaded.default_init, time_limit=120)
    expected = row["expected_verdict"] == "linearizable"
    assert check.valid is expected, f"{row['file']}: got {check.valid}, Porcupine's tests expect {row['expected_verdict']}"
    if not expected:
        bad = [p for p in check.lin.partitions if p.valid is False]
        assert bad and all(p.stuck for p in bad), "a failed check must name the ops that could not come next"
