"""The run value is the one source of options: run.json and the printed command both round-trip it exactly."""

from __future__ import annotations

import argparse
import dataclasses
import shlex

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import build_parser, main
from harness.exit_codes import UsageError
from harness.nemesis.registry import fault_names, get_fault, param_names
from harness.run_spec import STRATEGIES, RunSpec, leaves, spec_from_args

JSON_SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)  # fmt: skip
JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                    max_leaves=6)  # fmt: skip
KNOB_KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
COMMAND_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip)


def number(f, option):
    low = option.gt if option.gt is not None else option.ge
    if f.type == "int":
        return st.integers(int(low or 0) + (1 if option.gt is not None else 0) if low is not None else -(10**9), 10**9)
    return st.floats(min_value=low if low is not None else -1e9, max_value=1e9, exclude_min=option.gt is not None,
                     allow_nan=False, allow_infinity=False)  # fmt: skip


@st.composite
def fault_params(draw):
    out = {}
    for fault in draw(st.lists(st.sampled_from(fault_names()), unique=True, max_size=3)):
        names = sorted(param_names(get_fault(fault)))
        if names:
            out[fault] = draw(st.dictionaries(st.sampled_from(names), JSON, min_size=1, max_size=len(names)))
    return out


@st.composite
def specs(draw):
    spec = RunSpec()
    for path, f, option in leaves(RunSpec):
        if path in ("candidate.strategy", "candidate.cmd", "backend", "version"):
            continue
        if option.choices:
            value = draw(st.sampled_from(option.choices))
        elif path == "nemesis.faults":
            value = draw(st.lists(st.sampled_from(fault_names()), unique=True, max_size=4))
        elif path == "nemesis.params":
            value = draw(fault_params())
        elif path == "candidate.knobs":
            value = draw(st.dictionaries(KNOB_KEYS, JSON, max_size=4))
        elif f.type == "bool":
            value = draw(st.booleans())
        else:
            value = draw(number(f, option))
        obj = spec
        *parents, last = path.split(".")
        for part in parents:
            obj = getattr(obj, part)
        setattr(obj, last, value)
    if draw(st.booleans()):
        spec.candidate.strategy = draw(st.sampled_from(STRATEGIES))
    else:
        spec.candidate.cmd = draw(COMMAND_TEXT)
    return spec


def parse(command: str) -> RunSpec:
    words = shlex.split(command)
    assert words[:2] == ["oversell", "run"]
    return spec_from_args(build_parser().parse_args(words[1:]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_run_json_and_the_command_both_give_back_the_same_spec(spec):
    spec.validate()
    text = orjson.dumps(spec.to_json(), option=orjson.OPT_SORT_KEYS)
    again = RunSpec.from_json(orjson.loads(text))
    assert again == spec
    assert orjson.dumps(again.to_json(), option=orjson.OPT_SORT_KEYS) == text
    from_command = parse(spec.command())
    assert from_command == spec
    assert orjson.dumps(from_command.to_json(), option=orjson.OPT_SORT_KEYS) == text
    assert from_command.command() == spec.command()


def test_knobs_keep_their_json_types_in_the_command():
    spec = parse("oversell run --strategy redis-lua --knob x=true --knob n=1000 --knob s='\"1000\"' --knob t=abc "
                 "--knob lock-ttl-ms=5 --knob f=1.5")  # fmt: skip
    assert spec.candidate.knobs == {"x": True, "n": 1000, "s": "1000", "t": "abc", "lock_ttl_ms": 5, "f": 1.5}
    assert "x=true" in spec.command() and "x=True" not in spec.command()
    assert parse(spec.command()) == spec


def test_an_outside_command_keeps_its_knobs():
    spec = parse("oversell run --candidate-cmd './svc --port {port}' --knob mode=fast --knob retries=3")
    assert spec.candidate.cmd == "./svc --port {port}" and spec.candidate.strategy is None
    assert spec.candidate.knobs == {"mode": "fast", "retries": 3}
    assert parse(spec.command()) == spec


def test_every_field_is_an_option_except_the_format_version():
    parser = build_parser()
    run = next(a for a in parser._subparsers._group_actions[0].choices.items() if a[0] == "run")[1]  # type: ignore[union-attr]
    dests = {a.dest for a in run._actions if isinstance(a, argparse.Action)}
    paths = {path for path, _, option in leaves(RunSpec)}
    assert paths - dests == {"version"}
    assert dataclasses.fields(RunSpec)  # the spec is a dataclass: a plain value


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--time-limit", "0"], "--time-limit must be > 0"),
        (["--time-limit", "nan"], "finite"),
        (["--time-limit", "inf"], "finite"),
        (["--pause-s", "-1"], "--pause-s must be > 0"),
        (["--heal-s", "0"], "--heal-s must be > 0"),
        (["--readers", "-1"], "--readers must be >= 0"),
        (["--op-timeout", "0"], "--op-timeout must be > 0"),
        (["--restock-every", "-1"], "--restock-every must be >= 0"),
        (["--quiesce", "-5"], "--quiesce must be >= 0"),
        (["--drain", "-1"], "--drain must be >= 0"),
        (["--stock", "0"], "--stock must be >= 1"),
        (["--check-time-limit", "-1"], "--check-time-limit must be > 0"),
        (["--nemesis", "pause,pause"], "twice"),
        (["--nemesis", "frobnicate"], "frobnicate"),
        (["--fault-param", "latency.nope=1"], "latency takes"),
        (["--fault-param", "nosuch.x=1"], "no such fault"),
        (["--fault-param", "latency"], "KEY=VALUE"),
        (["--knob", "bad key=1"], "--knob"),
        (["--backend", "nope"], "--backend 'nope': choose from local"),
        (["--strategy", "redis-lua", "--candidate-cmd", "x"], "not both"),
        (["--fault-timing", "sometimes"], "choose from rush, random"),
    ],
)
def test_bad_options_are_one_line_usage_errors_with_exit_254(args, needle, capsys, tmp_path):
    with pytest.raises(UsageError, match=None) as raised:
        spec_from_args(build_parser().parse_args(["run", *args]))
    assert needle in str(raised.value)
    code = main(["run", *args, "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 254 and len(err.strip().splitlines()) == 1 and needle in err
    assert list(tmp_path.iterdir()) == []  # nothing started, no run folder


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"seed": "1"}, "seed must be int"),
        ({"seed": True}, "seed must be int"),
        ({"surprise": 1}, "unknown field surprise"),
        ({"workload": {"itemz": 3}}, "unknown field workload.itemz"),
        ({"workload": []}, "workload must be an object"),
        ({"version": 1}, "version 1"),
        ({"chaos_s": -1.0}, "--time-limit must be > 0"),
    ],
)
def test_a_bad_run_json_is_a_usage_error_naming_the_field(data, needle):
    good = RunSpec()
    good.candidate.strategy = "redis-lua"
    base = good.to_json()
    with pytest.raises(UsageError) as raised:
        RunSpec.from_json({**base, **data}, "x/run.json:1")
    assert needle in str(raised.value) and str(raised.value).startswith("x/run.json:1")
