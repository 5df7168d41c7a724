"""The nemesis schedule: a pure function of the config, the instances, the chaos length and the seed."""

from __future__ import annotations

import pytest

from harness.nemesis.config import NemesisConfig
from harness.nemesis.registry import fault_names, get_fault
from harness.nemesis.schedule import build_schedule

INSTANCES = ["n1", "n2", "n3"]


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another():
    config = NemesisConfig(faults=["pause", "partition", "latency", "kill"])
    one = build_schedule(config, INSTANCES, 30, 4)
    assert one == build_schedule(config, INSTANCES, 30, 4)
    assert one != build_schedule(config, INSTANCES, 30, 5)


@pytest.mark.parametrize("fault", fault_names())
def test_every_fault_plans_windows_inside_the_chaos_with_healed_gaps(fault):
    config = NemesisConfig(faults=[fault])
    windows = build_schedule(config, INSTANCES, 40, 2)
    assert windows, f"{fault}: no window in 40 s"
    assert windows[0].start_s >= config.first_s
    for w in windows:
        assert w.fault == fault and 0 < w.start_s < w.end_s <= 40 - 0.5
        delay = w.params["rush_delay_ms"]  # None: a fault that does not wait for the restock's answer
        assert delay is None or 0 <= delay <= config.rush_delay_ms
        if hasattr(get_fault(fault), "resolve"):
            assert w.targets() and ":" not in w.target  # found when the window starts
            continue
        for target in w.targets():
            node, _, link = target.partition(":")
            assert node in [*INSTANCES, "redis"]
            assert link in ("", "redis", "postgres")
    for a, b in zip(windows, windows[1:], strict=False):
        assert b.start_s - a.end_s >= 0.5 * config.heal_s - 1e-9


def test_pause_windows_are_just_over_a_ttl_and_never_take_every_instance():
    config = NemesisConfig(faults=["pause"], pause_s=1.6, timing="random")
    windows = build_schedule(config, INSTANCES, 200, 9)
    assert all(0.75 * 1.6 - 1e-9 <= w.end_s - w.start_s <= 1.25 * 1.6 + 1e-9 for w in windows)
    assert all(1 <= len(w.targets()) <= 2 for w in windows)
    assert len({w.target for w in windows}) > 3  # a random subset, not always the same
    assert all("rush_delay_ms" not in w.params for w in windows)


def test_fault_params_override_the_defaults_and_choose_the_link():
    config = NemesisConfig(faults=["latency"], params={"latency": {"latency_ms": 900, "link": "postgres"}})
    windows = build_schedule(config, INSTANCES, 60, 1)
    assert all(w.params["latency_ms"] == 900 and w.params["jitter_ms"] == 150 for w in windows)
    assert all(w.target.endswith(":postgres") for w in windows)


def test_targets_follow_the_target_choice():
    redis = build_schedule(NemesisConfig(faults=["kill"], kill_targets="redis"), INSTANCES, 60, 1)
    assert {w.target for w in redis} == {"redis"}
    one = build_schedule(NemesisConfig(faults=["pause"], pause_targets="one"), INSTANCES, 60, 1)
    assert all(w.target in INSTANCES for w in one)


def test_no_fault_or_no_instance_means_no_window_and_unknown_faults_are_refused():
    assert build_schedule(NemesisConfig(faults=[]), INSTANCES, 60, 1) == []
    assert build_schedule(NemesisConfig(faults=["pause"]), [], 60, 1) == []
    with pytest.raises(ValueError, match="frobnicate"):
        build_schedule(NemesisConfig(faults=["frobnicate"]), INSTANCES, 60, 1)
    with pytest.raises(ValueError, match="timing"):
        build_schedule(NemesisConfig(faults=["pause"], timing="sometimes"), INSTANCES, 60, 1)


def test_every_fault_in_the_catalogue_says_what_it_does():
    for name in fault_names():
        fault = get_fault(name)
        assert fault.name == name and fault.description and "\n" not in fault.description
