"""`oversell run` and `oversell rerun`: bring up a stack, attack a strategy, check the history.

The run folder holds run.json (the run as a value, written before anything starts), the
history (append-only, flushed), results.json, report.html and every process's log.
Exit codes as `oversell check` (0 valid, 1 invalid, 2 unknown, 254 usage), 255 when the run
itself could not be carried out, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import sys
from pathlib import Path
from typing import Any

import orjson

from checkers.history import HistoryError
from checkers.history_check import HistoryCheck
from checkers.result import to_json
from harness.check_command import exit_code, verdict_word
from harness.exit_codes import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_RUN_ERROR, UsageError
from harness.nemesis.config import FaultWindow
from harness.nemesis.fault import HealError
from harness.nemesis.registry import faults, param_names
from harness.nemesis.schedule import build_schedule
from harness.run_spec import RunSpec, add_arguments, json_arg, spec_from_args
from harness.runner import AuditRun, RunError, RunRecord, write_json
from harness.stack.errors import StackError, StackTerminated
from harness.stack.local_stack import DEFAULT_RUNS_ROOT

FINDING_KINDS = (
    "oversold", "negative-read", "stale-read", "phantom-read", "lost-order",
    "phantom-order", "duplicate-order", "stock-leak", "stock-created",
)  # fmt: skip


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Every option of the run value (harness/run_spec.py), and where run folders go."""
    add_arguments(p)
    p.add_argument("--runs-dir", default=str(DEFAULT_RUNS_ROOT), help="where run folders are made")
    p.set_defaults(handler=run_run)


def add_rerun_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_folder", metavar="RUN_FOLDER", help="a run folder holding run.json")
    p.add_argument("--runs-dir", default=str(DEFAULT_RUNS_ROOT))
    p.set_defaults(handler=run_rerun)


def add_nemeses_arguments(p: argparse.ArgumentParser) -> None:
    p.set_defaults(handler=run_nemeses)


def new_run_dir(runs_root: Path, spec: RunSpec) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    base = runs_root / spec.folder_name(stamp)
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


def verdict_table(check: HistoryCheck) -> list[str]:
    rows = []
    for kind in FINDING_KINDS:
        found = [f for f in check.findings if f.kind == kind]
        items = sorted({f.item for f in found if f.item})
        rows.append((kind, f"FAIL  {len(found)} finding(s) {', '.join(items)}" if found else "ok"))
    lin = check.lin.valid if check.lin is not None else "unknown"
    rows.append(("linearizable", {True: "ok", False: "FAIL"}.get(lin, "unknown")))  # type: ignore[arg-type]
    width = max(len(k) for k, _ in rows)
    return [f"  {k.ljust(width)}  {v}" for k, v in rows]


def finish(spec: RunSpec, run_dir: Path, record: RunRecord) -> int:
    """Write results.json and report.html from the checked history, print the verdict."""
    from harness.report.check_view import render_check_html

    check = record.check
    assert check is not None, "the check phase ran"
    rerun = f"oversell rerun {run_dir}"
    results = {
        "valid": check.valid,
        "interrupted": record.interrupted,
        "ops": check.client_ops,
        "events": len(check.events),
        "check_seconds": round(check.seconds, 3),
        "findings": [to_json(f) for f in check.findings],
        "linearizable": None if check.lin is None else check.lin.valid,
        "nonlinearizable_items": [] if check.lin is None else [p.key for p in check.lin.partitions if p.valid is False],
        "phases": record.phases,
        "nemesis_errors": record.nemesis_errors,
        "unsettled": record.unsettled,
        "stack": record.stack,
        "command": spec.command(),
        "rerun": rerun,
    }
    write_json(run_dir / "results.json", results)
    (run_dir / "report.html").write_text(
        render_check_html(title=f"{spec.candidate.label()} {run_dir.name}", events=check.events, ops=check.ops,
                          model=check.model, lin=check.lin, findings=check.findings, command=spec.command()),
        encoding="utf-8",
    )  # fmt: skip
    print(f"\nrun folder: {run_dir}")
    print(f"{check.client_ops} ops checked in {check.seconds:.2f} s")
    for line in verdict_table(check):
        print(line)
    for f in check.findings[:10]:
        print(f"  - {f.kind} {f.item or ''}: {f.message}")
    if len(check.findings) > 10:
        print(f"  ... {len(check.findings) - 10} more in results.json")
    if record.nemesis_errors:
        print(f"  nemesis errors: {'; '.join(record.nemesis_errors[:3])}")
    if record.unsettled:
        print(f"  work still in flight at the final reads (instance: count, None = no answer): {record.unsettled}")
    print(f"verdict: {verdict_word(check.valid)}")
    print(f"report: {run_dir / 'report.html'}")
    print(f"rerun: {rerun}")
    print(f"   or: {spec.command()}")
    return exit_code(check.valid)


def run_json(spec: RunSpec, schedule: list[FaultWindow]) -> dict[str, Any]:
    """run.json: the run value, the command that reproduces it and the schedule it draws (no time,
    no path: a rerun writes the same bytes)."""
    return {**spec.to_json(), "command": spec.command(), "schedule": [w.to_json() for w in schedule]}


def execute(spec: RunSpec, runs_root: Path) -> int:
    schedule = build_schedule(spec.nemesis, [f"n{i + 1}" for i in range(spec.instances)], spec.chaos_s, spec.seed)
    run_dir = new_run_dir(runs_root, spec)
    write_json(run_dir / "run.json", run_json(spec, schedule))
    print(f"[oversell] run folder {run_dir}", file=sys.stderr)
    print(f"[oversell] {spec.command()}", file=sys.stderr)
    audit = AuditRun(spec, run_dir, schedule, runs_root=runs_root)
    history = run_dir / "history.jsonl"
    try:
        record = asyncio.run(audit.execute())
    except (KeyboardInterrupt, asyncio.CancelledError, StackTerminated) as e:
        print(f"\noversell: interrupted ({type(e).__name__}); every process was stopped", file=sys.stderr)
        print(f"partial history: {history}\ncheck it with: oversell check {history}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except HealError as e:
        print(f"oversell: run stopped: {e}; every process was stopped", file=sys.stderr)
        print(f"the history so far: {history}\ncheck it with: oversell check {history}", file=sys.stderr)
        return EXIT_RUN_ERROR
    except (StackError, RunError) as e:
        print(f"oversell: run failed: {e}\nrun folder: {run_dir}", file=sys.stderr)
        return EXIT_RUN_ERROR
    except HistoryError as e:
        print(f"oversell: the recorded history does not check: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return finish(spec, run_dir, record)


def run_run(args: argparse.Namespace) -> int:
    return execute(spec_from_args(args), Path(args.runs_dir))


def read_run_json(path: Path) -> RunSpec:
    """The run value of a run folder's run.json; a UsageError naming the file otherwise."""
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as e:
        raise UsageError(f"{path}:0: cannot read: {e.strerror or e}") from e
    except orjson.JSONDecodeError as e:
        raise UsageError(f"{path}:1: not JSON: {e}") from e
    if not isinstance(data, dict):
        raise UsageError(f"{path}:1: not a run.json (an object is expected)")
    return RunSpec.from_json({k: v for k, v in data.items() if k not in ("command", "schedule")}, f"{path}:1")


def run_rerun(args: argparse.Namespace) -> int:
    return execute(read_run_json(Path(args.run_folder) / "run.json"), Path(args.runs_dir))


def run_nemeses(args: argparse.Namespace) -> int:
    """The fault catalogue: name, what it does, its parameters and their defaults."""
    catalogue = faults()
    width = max(len(name) for name in catalogue)
    for name, fault in catalogue.items():
        print(f"{name.ljust(width)}  {fault.description}")
        names = sorted(param_names(fault))
        if names:
            shown = ", ".join(f"{k}={json_arg(fault.defaults[k])}" if k in fault.defaults else f"{k} (optional)"
                              for k in names)  # fmt: skip
            print(f"{''.ljust(width)}  params: {shown}")
    print(f"\nuse: oversell run --nemesis {','.join(list(catalogue)[:2])} [--fault-param FAULT.KEY=VALUE]")
    return 0
