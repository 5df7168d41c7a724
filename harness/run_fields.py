"""How a field of the run value becomes a command-line option: its flag, help, kind and bounds.

The run value (`RunSpec` and the configs it holds) is the one place an option is defined; the
CLI parser, the printed rerun command and the validation are all derived from these metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KEY = "oversell"


@dataclass(frozen=True, slots=True)
class Option:
    flag: str | None = None  # default: --field-name
    help: str = ""
    kind: str | None = None  # None: from the field's type; "list" (comma list), "knobs", "fault-params"
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    gt: float | None = None  # must be > gt
    ge: float | None = None  # must be >= ge
    cli: bool = True  # False: in run.json only (e.g. the format version)


def opt(
    flag: str | None = None,
    *,
    help: str = "",
    kind: str | None = None,
    choices: tuple[str, ...] | None = None,
    metavar: str | None = None,
    gt: float | None = None,
    ge: float | None = None,
    cli: bool = True,
) -> dict[str, Any]:
    """`field(default=..., metadata=opt(...))`."""
    return {KEY: Option(flag, help, kind, choices, metavar, gt, ge, cli)}


def option_of(metadata: Any) -> Option:
    return metadata.get(KEY) or Option()
