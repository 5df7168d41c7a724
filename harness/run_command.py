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

from checkers.formats import load_history
from checkers.history import HistoryError
from checkers.history_check import HistoryCheck, check_history
from checkers.result import to_json
from harness.check_command import exit_code, verdict_word
from harness.exit_codes import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_RUN_ERROR, UsageError
from harness.nemesis.schedule import FAULTS, TARGET_CHOICES, NemesisConfig, build_schedule
from harness.run_spec import STRATEGIES, CandidateSpec, RunSpec
from harness.runner import AuditRun, RunError, RunRecord, write_json
from harness.stack.errors import StackError, StackTerminated
from harness.stack.local_stack import DEFAULT_RUNS_ROOT
from workloads.flash_sale import FlashSaleConfig

FINDING_KINDS = (
    "oversold", "negative-read", "stale-read", "phantom-read", "lost-order",
    "phantom-order", "duplicate-order", "stock-leak", "stock-created",
)  # fmt: skip


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    w, n = FlashSaleConfig(), NemesisConfig(faults=[])
    p.add_argument("--strategy", choices=STRATEGIES, help="a built-in candidate (default redis-lua)")
    p.add_argument("--candidate-cmd", help="audit an outside service: command with {port} {redis_url} {postgres_dsn}")
    p.add_argument("--nemesis", default="none", help=f"comma list of {', '.join(FAULTS)}, or none")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--time-limit", type=float, default=20.0, metavar="S", help="length of the chaos window")
    p.add_argument("--concurrency", type=int, default=w.concurrency, help="concurrent buyers")
    p.add_argument("--readers", type=int, default=w.readers, help="concurrent stock readers")
    p.add_argument("--instances", type=int, default=3, help="candidate instances")
    p.add_argument("--stock", type=int, default=w.stock, help="initial stock per item")
    p.add_argument("--items", type=int, default=w.items)
    p.add_argument("--max-qty", type=int, default=w.max_qty)
    p.add_argument("--restock-every", type=float, default=w.restock_every_s, metavar="S")
    p.add_argument("--restock-qty", type=int, default=w.restock_qty)
    p.add_argument("--op-timeout", type=float, default=w.op_timeout_s, metavar="S", help="client timeout per op")
    p.add_argument("--fault-s", type=float, default=n.fault_s, help="mean length of a fault window")
    p.add_argument("--heal-s", type=float, default=n.heal_s, help="mean healed gap between fault windows")
    p.add_argument("--pause-s", type=float, default=n.pause_s, help="mean length of a pause window")
    p.add_argument("--pause-targets", choices=TARGET_CHOICES, default=n.pause_targets,
                   help="instances: a random subset (never all); one: one instance; redis; both: redis or a subset")  # fmt: skip
    p.add_argument("--kill-targets", choices=TARGET_CHOICES, default=n.kill_targets)
    p.add_argument("--fault-timing", choices=("rush", "random"), default=n.timing,
                   help="rush: fault windows start in the buying rush after a restock round; random: anywhere")  # fmt: skip
    p.add_argument("--quiesce", type=float, default=2.0, metavar="S")
    p.add_argument("--drain", type=float, default=10.0, metavar="S",
                   help="fault-free sell-out after healing, at most S seconds (0: none)")  # fmt: skip
    p.add_argument("--check-time-limit", type=float, default=120.0, metavar="S")
    p.add_argument("--redis-persistence", action="store_true", help="Redis AOF on (default: no persistence)")
    p.add_argument("--knob", action="append", default=[], metavar="KEY=VALUE",
                   help="a strategy option, e.g. lock_ttl_ms=1000 (see docs/strategies.md)")  # fmt: skip
    p.add_argument("--runs-dir", default=str(DEFAULT_RUNS_ROOT), help="where run folders are made")
    p.set_defaults(handler=run_run)


def add_rerun_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_folder", metavar="RUN_FOLDER", help="a run folder holding run.json")
    p.add_argument("--runs-dir", default=str(DEFAULT_RUNS_ROOT))
    p.set_defaults(handler=run_rerun)


def parse_knobs(pairs: list[str]) -> dict[str, Any]:
    knobs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--knob {pair!r}: expected KEY=VALUE")
        try:
            knobs[key.replace("-", "_")] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            knobs[key.replace("-", "_")] = raw
    return knobs


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    if args.strategy and args.candidate_cmd:
        raise UsageError("give --strategy or --candidate-cmd, not both")
    faults = [f.strip() for f in args.nemesis.split(",") if f.strip() and f.strip() != "none"]
    bad = [f for f in faults if f not in FAULTS]
    if bad:
        raise UsageError(f"--nemesis {','.join(bad)}: choose from {', '.join(FAULTS)} or none")
    for name in ("concurrency", "instances", "stock", "items", "max_qty"):
        if getattr(args, name) < (0 if name == "stock" else 1):
            raise UsageError(f"--{name.replace('_', '-')} must be positive")
    if args.time_limit <= 0:
        raise UsageError("--time-limit must be > 0")
    candidate = CandidateSpec(
        strategy=None if args.candidate_cmd else (args.strategy or "redis-lua"),
        cmd=args.candidate_cmd,
        knobs=parse_knobs(args.knob),
    )
    workload = FlashSaleConfig(
        items=args.items, stock=args.stock, concurrency=args.concurrency, readers=args.readers,
        max_qty=args.max_qty, restock_every_s=args.restock_every, restock_qty=args.restock_qty,
        op_timeout_s=args.op_timeout,
    )  # fmt: skip
    nemesis = NemesisConfig(
        faults=faults, fault_s=args.fault_s, pause_s=args.pause_s, heal_s=args.heal_s,
        pause_targets=args.pause_targets, kill_targets=args.kill_targets, timing=args.fault_timing,
    )  # fmt: skip
    return RunSpec(
        candidate=candidate, workload=workload, nemesis=nemesis, seed=args.seed, instances=args.instances,
        chaos_s=args.time_limit, quiesce_s=args.quiesce, drain_s=args.drain, check_time_limit_s=args.check_time_limit,
        redis_persistence=args.redis_persistence,
    )  # fmt: skip


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
    """Check the recorded history, write results.json and report.html, print the verdict."""
    from harness.report.check_view import render_check_html

    history = run_dir / "history.jsonl"
    loaded = load_history(str(history))
    check = check_history(loaded.events, "stock", time_limit=spec.check_time_limit_s, file=str(history))
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


def execute(spec: RunSpec, runs_root: Path) -> int:
    run_dir = new_run_dir(runs_root, spec)
    schedule = build_schedule(spec.nemesis, [f"n{i + 1}" for i in range(spec.instances)], spec.chaos_s, spec.seed)
    write_json(run_dir / "run.json", {**spec.to_json(), "command": spec.command(),
                                      "schedule": [w.to_json() for w in schedule]})  # fmt: skip
    print(f"[oversell] run folder {run_dir}", file=sys.stderr)
    print(f"[oversell] {spec.command()}", file=sys.stderr)
    audit = AuditRun(spec, run_dir, schedule)
    try:
        record = asyncio.run(audit.execute())
    except (KeyboardInterrupt, asyncio.CancelledError, StackTerminated) as e:
        history = run_dir / "history.jsonl"
        print(f"\noversell: interrupted ({type(e).__name__}); every process was stopped", file=sys.stderr)
        print(f"partial history: {history}\ncheck it with: oversell check {history}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (StackError, RunError) as e:
        print(f"oversell: run failed: {e}\nrun folder: {run_dir}", file=sys.stderr)
        return EXIT_RUN_ERROR
    try:
        return finish(spec, run_dir, record)
    except HistoryError as e:
        print(f"oversell: the recorded history does not check: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


def run_run(args: argparse.Namespace) -> int:
    return execute(spec_from_args(args), Path(args.runs_dir))


def run_rerun(args: argparse.Namespace) -> int:
    path = Path(args.run_folder) / "run.json"
    try:
        data = orjson.loads(path.read_bytes())
        spec = RunSpec.from_json({k: v for k, v in data.items() if k not in ("command", "schedule")})
    except OSError as e:
        raise UsageError(f"{path}:0: cannot read: {e.strerror or e}") from e
    except (orjson.JSONDecodeError, TypeError, KeyError) as e:
        raise UsageError(f"{path}:1: not a run.json of this oversell version: {e}") from e
    return execute(spec, Path(args.runs_dir))
