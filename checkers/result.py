"""Verdicts and evidence, as plain values that serialise to JSON and render to HTML."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Verdict = bool | Literal["unknown"]
UNKNOWN: Literal["unknown"] = "unknown"


@dataclass(slots=True)
class LinStep:
    """One operation in a (partial) linearization and the model state after it."""

    op: int  # Operation.id
    state_before: str  # describe_state
    state_after: str


@dataclass(slots=True)
class PartitionResult:
    """Verdict for one P-compositional partition.

    When invalid (or unknown), `linearization` is the longest linearizable prefix found and
    `stuck` the ops that could not come next after it (with the reason the model gave, if any).
    """

    key: str
    ops: list[int]  # Operation.id of every op in the partition
    valid: Verdict
    linearization: list[LinStep] = field(default_factory=list)
    stuck: list[int] = field(default_factory=list)


@dataclass(slots=True)
class LinearizabilityResult:
    valid: Verdict
    model: str
    partitions: list[PartitionResult]
    seconds: float
    engine: str = "generic"
    stats: list[dict[str, int]] = field(default_factory=list)  # per partition, engine figures (bench/)


@dataclass(slots=True)
class Finding:
    """A violation found without search. `events` are history event indices that prove it."""

    kind: str
    item: str | None
    message: str
    events: list[int]
    details: dict[str, Any] = field(default_factory=dict)


def combine(*verdicts: Verdict) -> Verdict:
    """False beats unknown beats True."""
    if any(v is False for v in verdicts):
        return False
    if any(v == UNKNOWN for v in verdicts):
        return UNKNOWN
    return True


def to_json(obj: Any) -> Any:
    return asdict(obj)
