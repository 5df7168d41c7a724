"""`oversell check` end to end: verdicts, JSON, HTML, exit codes, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from tests.paths import EXAMPLES, ROOT
from tests.require import requires_shared

EXPECTED = json.loads((EXAMPLES.parent / "expected-verdicts.json").read_text())


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_examples_get_expected_verdicts(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    want = EXPECTED[name]
    code = main(["check", str(EXAMPLES / name), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is want["valid"], out
    assert code == (0 if want["valid"] else 1)
    assert sorted({f["kind"] for f in out["findings"]}) == sorted(set(want["findings"]))
    for f in out["findings"]:
        assert f["events"], f"finding {f['kind']} names no event"
    if not want["valid"]:
        assert out["command"].startswith("oversell check ")


def test_text_output_prints_reproduce_command(capsys: pytest.CaptureFixture[str]) -> None:
    bad = EXAMPLES / "bad-oversold.jsonl"
    assert main(["check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and "oversold" in out
    assert f"reproduce: oversell check {bad} --model stock" in out


def test_many_files_combined_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    goods = [str(EXAMPLES / n) for n, w in EXPECTED.items() if w["valid"]]
    assert goods
    assert main(["check", *goods]) == 0
    assert main(["check", *goods, str(EXAMPLES / "bad-oversold.jsonl")]) == 1


def test_time_limit_zero_is_unknown_on_search(capsys: pytest.CaptureFixture[str]) -> None:
    history = requires_shared("anchors", "porcupine", "kv", "c50-ok.txt")
    code = main(["check", str(history), "--time-limit", "0", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] == "unknown" and code == 2


def test_html_view_of_bad_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "v.html"
    assert main(["check", str(EXAMPLES / "bad-not-linearizable.jsonl"), "--html", str(out)]) == 1
    html = out.read_text()
    assert "<canvas" in html and "INVALID" in html.upper()


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        ('{"index": 0, "time": 0, "type": "invoke", "process": 0, "f": "read", "value": {"item": "a"}}\n{oops\n', ":2:"),
        ('{"index": 0, "time": 0, "type": "bogus", "process": 0, "f": "read", "value": null}\n', ":1:"),
    ],
)
def test_bad_input_exit_254_with_file_and_line(tmp_path: Path, content: str, cause: str) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text(content)
    r = run_cli("check", str(f), "--model", "stock", "--init", '{"a": 1}')
    assert r.returncode == 254
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith(f"{f}{cause}"), r.stderr


def test_usage_errors_exit_254(tmp_path: Path) -> None:
    assert run_cli("check").returncode == 254
    assert run_cli("check", str(EXAMPLES / "good-sequential.jsonl"), "--init", "{nope").returncode == 254
    assert run_cli("check", str(EXAMPLES / "good-sequential.jsonl"), "--model", "nosuch").returncode == 254
    r = run_cli("check", str(tmp_path / "missing.jsonl"))
    assert r.returncode == 254 and "missing.jsonl" in r.stderr


def test_stock_without_initial_stock_is_bad_input(tmp_path: Path) -> None:
    f = tmp_path / "noreset.jsonl"
    f.write_text(
        '{"index": 0, "time": 0, "type": "invoke", "process": 0, "f": "read", "value": {"item": "a"}}\n'
        '{"index": 1, "time": 5, "type": "ok", "process": 0, "f": "read", "value": {"item": "a", "stock": 1}}\n'
    )
    r = run_cli("check", str(f), "--model", "stock")
    assert r.returncode == 254 and "reset" in r.stderr
    r = run_cli("check", str(f), "--model", "stock", "--init", '{"a": 1}')
    assert r.returncode == 0, r.stdout + r.stderr
