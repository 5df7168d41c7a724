"""tests/require.py: a missing prerequisite skips on a laptop and fails when `CI` is set.

`outcome` catches both skip and fail, so a helper that skipped where it should fail makes these
tests fail (a bare `pytest.raises(pytest.fail.Exception)` would let the skip through: skipped).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests import paths, require
from tests.require import requires_program, requires_shared, skip_or_fail

SKIP, FAIL = "skip", "fail"


def outcome(call: Callable[[], object]) -> tuple[str, str]:
    """("skip" or "fail", the message) of a call that must do one of the two."""
    try:
        call()
    except pytest.skip.Exception as e:
        return SKIP, str(e.msg)
    except pytest.fail.Exception as e:
        return FAIL, str(e.msg)
    raise AssertionError("neither skipped nor failed")


@pytest.fixture
def laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")


@pytest.fixture
def no_shared(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    absent = tmp_path / "shared"
    monkeypatch.setattr(require, "SHARED", absent)
    return absent


def test_skips_on_a_laptop(laptop: None) -> None:
    assert outcome(lambda: skip_or_fail("no widget")) == (SKIP, "no widget")


def test_an_empty_ci_variable_is_a_laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "")
    assert outcome(lambda: skip_or_fail("no widget")) == (SKIP, "no widget")


def test_fails_under_ci(ci: None) -> None:
    kind, message = outcome(lambda: skip_or_fail("no widget"))
    assert kind == FAIL and message.startswith("no widget") and "CI is set" in message


def test_the_shared_folder_is_the_one_beside_the_project() -> None:
    assert require.SHARED == paths.SHARED == paths.ROOT.parent / "shared"


def test_missing_shared_path_skips_on_a_laptop(laptop: None, no_shared: Path) -> None:
    kind, message = outcome(lambda: requires_shared("anchors", "porcupine", "expected.csv"))
    assert kind == SKIP and str(no_shared / "anchors" / "porcupine" / "expected.csv") in message


def test_missing_shared_path_fails_under_ci(ci: None, no_shared: Path) -> None:
    kind, message = outcome(lambda: requires_shared("anchors", "porcupine", "expected.csv"))
    assert kind == FAIL and str(no_shared / "anchors" / "porcupine" / "expected.csv") in message


@pytest.mark.parametrize("env", ["laptop", "ci"])
def test_present_shared_path_is_returned(env: str, no_shared: Path, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue(env)
    wanted = no_shared / "anchors" / "expected.csv"
    wanted.parent.mkdir(parents=True)
    wanted.write_text("file\n")
    assert requires_shared("anchors", "expected.csv") == wanted


def test_missing_program_skips_on_a_laptop_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    assert outcome(lambda: requires_program("go", reason="go toolchain not installed")) == (
        SKIP,
        "go toolchain not installed",
    )
    monkeypatch.setenv("CI", "1")
    kind, message = outcome(lambda: requires_program("chromium", "chromium-browser"))
    assert kind == FAIL and message.startswith("chromium or chromium-browser not found on PATH")


def test_present_program_is_found_whichever_name_it_has(
    ci: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    program = tmp_path / "chromium-browser"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert requires_program("chromium", "chromium-browser") == str(program)
