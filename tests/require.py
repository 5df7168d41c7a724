"""What a test needs that a machine may lack: skipped on a laptop, a failure under CI.

A skip that CI never sees is a test that silently stopped running. So when the environment
variable `CI` is set (non-empty), a missing prerequisite fails the test instead; on a laptop it
is skipped with the reason. Call these at the start of a test (or in a fixture), never as a
module-level `skipif`, which CI would pass without a word.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

from tests.paths import SHARED


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def skip_or_fail(reason: str) -> NoReturn:
    """Skip with `reason`; under CI, fail with it."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so a missing prerequisite is a failure)", pytrace=False)
    pytest.skip(reason)


def requires_shared(*parts: str) -> Path:
    """`../shared/<parts>` (the shared anchors beside the project root), or skip / fail without it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        skip_or_fail(f"{path} not found (../shared beside the project root)")
    return path


def requires_program(*names: str, reason: str | None = None) -> str:
    """The first of `names` found on PATH, or skip / fail without any of them."""
    for name in names:
        found = shutil.which(name)
        if found is not None:
            return found
    skip_or_fail(reason or f"{' or '.join(names)} not found on PATH")
