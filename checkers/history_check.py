"""One history in, one verdict out: wires the stock checkers and the linearizability search.

Used by `oversell check` and by `oversell run`, so a run's verdict and a later re-check of its
history can never disagree.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from checkers import stock_linearizability
from checkers.gc_pause import gc_paused
from checkers.history import Event, Operation, pair_operations
from checkers.linearizability import check_linearizability
from checkers.model import Model
from checkers.models import get_model
from checkers.result import UNKNOWN, Finding, LinearizabilityResult, Verdict, combine
from checkers.stock_checker import check_stock, initial_stock

STOCK = "stock"


class CheckSetupError(ValueError):
    """The history cannot be checked as asked (no model, no initial stock, bad --init)."""


@dataclass(slots=True)
class HistoryCheck:
    """Everything a report needs: the verdict, its evidence, and what it was computed from."""

    valid: Verdict
    model_name: str
    model: Model
    init: Any
    events: list[Event]
    ops: list[Operation]
    lin: LinearizabilityResult | None
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def client_ops(self) -> int:
        return len(self.ops)


def resolve_init(model_name: str, events: list[Event], init: Any, default_init: Any) -> Any:
    """The initial state: --init wins, then what the history records, then the format's default."""
    if init is not None:
        return init
    if model_name == STOCK:
        recorded = initial_stock(events)
        if recorded is None:
            raise CheckSetupError(
                "no initial stock: the history has no ok `reset` op; give --init '{\"sku-1\": 5}'"
            )
        return recorded
    return default_init


def check_history(
    events: list[Event],
    model_name: str,
    init: Any = None,
    default_init: Any = None,
    time_limit: float | None = None,
    file: str = "<history>",
    linearizability: bool = True,
) -> HistoryCheck:
    """Check one history. Stock histories get the search-free checkers and the specialised search."""
    with gc_paused():  # see gc_pause: the checkers build millions of acyclic objects
        return _check_history(events, model_name, init, default_init, time_limit, file, linearizability)


def _check_history(
    events: list[Event],
    model_name: str,
    init: Any,
    default_init: Any,
    time_limit: float | None,
    file: str,
    linearizability: bool,
) -> HistoryCheck:
    started = time.monotonic()
    ops = pair_operations(events, file)
    init_value = resolve_init(model_name, events, init, default_init)
    try:
        model = get_model(model_name, init_value)
    except ValueError as e:
        raise CheckSetupError(str(e)) from e
    findings: list[Finding] = []
    lin: LinearizabilityResult | None = None
    if model_name == STOCK:
        if not isinstance(init_value, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in init_value.items()
        ):
            raise CheckSetupError("stock --init must be a JSON object of item -> integer stock")
        if linearizability and stock_linearizability.available():
            # The compiled sweep releases the GIL: the search-free checkers run beside it.
            try:
                prepared = stock_linearizability.prepare(ops, init_value)
            except ValueError as e:
                raise CheckSetupError(str(e)) from e
            remaining = None if time_limit is None else max(0.0, time_limit - (time.monotonic() - started))
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stock-sweep") as pool:
                sweep = pool.submit(stock_linearizability.check_prepared, prepared, remaining)
                findings = check_stock(ops, init_value)
                lin = sweep.result()
        else:
            findings = check_stock(ops, init_value)
            if linearizability:  # the compiled sweep is not built: the generic search is right, only slower
                remaining = None if time_limit is None else max(0.0, time_limit - (time.monotonic() - started))
                lin = check_linearizability(ops, model, remaining)
    elif linearizability:
        try:
            lin = check_linearizability(ops, model, time_limit)
        except ValueError as e:  # an op the model cannot take (e.g. cas under register)
            raise CheckSetupError(f"{e} (model {model_name})") from e
    verdicts: list[Verdict] = [not findings]
    if lin is not None:
        verdicts.append(lin.valid)
    elif linearizability:
        verdicts.append(UNKNOWN)
    return HistoryCheck(
        valid=combine(*verdicts),
        model_name=model_name,
        model=model,
        init=init_value,
        events=events,
        ops=ops,
        lin=lin,
        findings=findings,
        seconds=time.monotonic() - started,
    )
