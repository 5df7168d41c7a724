"""Targeted faults: the target is found when the window starts, through the candidate protocol alone.

Real audits through the CLI on the local stack (helpers in tests/test_audit_runs.py).
"""

from __future__ import annotations

from pathlib import Path

from tests.test_audit_runs import audit, client_ops, leftovers, nemesis_events, runs_dir, runs_root  # noqa: F401

SHORT = ["--time-limit", "10", "--drain", "3", "--quiesce", "0.5"]


def test_pause_holder_freezes_lock_holders_and_the_lease_oversells(runs_dir: Path) -> None:  # noqa: F811
    a = audit(runs_dir, "run", "--strategy", "redis-lock-ttl-cad", "--nemesis", "pause-holder", "--seed", "1",
              "--time-limit", "12", "--drain", "3", "--quiesce", "0.5")  # fmt: skip
    assert a.code == 1, a.explain()
    assert "oversold" in a.finding_kinds(), a.results()["findings"][:3]
    assert {w["target"] for w in a.run_json()["schedule"]} == {"holder"}
    history = a.history()
    starts = [e for e in nemesis_events(history) if e["f"] == "start-pause-holder"]
    assert starts and all("error" not in e for e in starts)
    for start in starts:
        targets = start["value"]["target"].split(",")
        assert 1 <= len(targets) <= 2 and set(targets) <= {"n1", "n2", "n3"}  # never every instance
    # each pause began while a restock was in flight or just answered: in the rush
    restocks = [e for e in history if e["f"] == "restock" and e["type"] == "invoke"]
    for start in starts:
        before = [r["time"] for r in restocks if r["time"] <= start["time"]]
        assert before and start["time"] - max(before) < 0.5e9, start
    assert leftovers(a.run_dir, a.seen) == []


def test_targeted_faults_leave_the_guarded_update_valid(runs_dir: Path) -> None:  # noqa: F811
    a = audit(runs_dir, "run", "--strategy", "pg-guarded-update", "--nemesis", "pause-holder,service-crash",
              "--seed", "2", "--fault-s", "1.5", *SHORT)  # fmt: skip
    assert a.code == 0, a.explain()
    assert a.results()["findings"] == []
    events = nemesis_events(a.history())
    # this strategy takes no lock and says nothing of `holding`: the oldest buy in flight is the target
    crashes = [e for e in events if e["f"] == "start-service-crash"]
    pauses = [e for e in events if e["f"] == "start-pause-holder"]
    assert crashes or pauses, events
    for crash in crashes:
        target = crash["value"]["target"]
        in_flight = [o for o in client_ops(a.history()) if o.node == target and o.f == "buy"
                     and o.invoke_index < crash["index"] and (o.complete_index or 10**12) > crash["index"]]  # fmt: skip
        assert in_flight, f"{target} was crashed with no buy in flight"
    assert leftovers(a.run_dir, a.seen) == []
