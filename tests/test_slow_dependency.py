"""slow-dependency: a lock holder whose dependency answers slowly outlives its lease, and the lock oversells.

A real audit through the CLI on the local stack (see tests/test_audit_runs.py for the helpers).
"""

from __future__ import annotations

from pathlib import Path

from tests.test_audit_runs import audit, leftovers, nemesis_events, runs_dir, runs_root  # noqa: F401

SHORT = ["--time-limit", "8", "--drain", "3", "--quiesce", "0.5"]


def test_slow_dependency_oversells_the_lock_with_ttl_and_plain_del(runs_dir: Path) -> None:  # noqa: F811
    a = audit(runs_dir, "run", "--strategy", "redis-lock-ttl-del", "--nemesis", "slow-dependency", "--seed", "1", *SHORT)
    assert a.code == 1, a.explain()
    assert "oversold" in a.finding_kinds(), a.results()["findings"][:3]
    schedule = a.run_json()["schedule"]
    assert schedule and {w["fault"] for w in schedule} == {"slow-dependency"}
    for window in schedule:
        targets = window["target"].split(",")
        assert all(t.endswith(":redis") for t in targets) and len(targets) < 3  # never every instance
        assert window["params"]["latency_ms"] == 800
    starts = [e for e in nemesis_events(a.history()) if e["f"] == "start-slow-dependency"]
    assert starts and all("error" not in e for e in starts)
    assert leftovers(a.run_dir, a.seen) == []


def test_slow_dependency_leaves_the_guarded_update_valid(runs_dir: Path) -> None:  # noqa: F811
    a = audit(runs_dir, "run", "--strategy", "pg-guarded-update", "--nemesis", "slow-dependency", "--seed", "1",
              "--fault-param", "slow-dependency.link=postgres", "--fault-param", "slow-dependency.latency_ms=1500",
              *SHORT)  # fmt: skip
    assert a.code == 0, a.explain()
    assert a.results()["findings"] == []
