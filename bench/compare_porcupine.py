"""oversell's generic linearizability checker against Porcupine on Porcupine's own test histories.

Corpus: ../shared/anchors/porcupine (beside the repo root): Jepsen etcd logs etcd_000..049
(model cas-register, register starts nil) and the kv logs c01/c10/c50 ok/bad (model kv,
partitioned by key), with the verdicts Porcupine's tests expect in expected.csv.

Both sides are timed *including parsing* of the file and excluding process start-up: ours
in-process around load_history + pair_operations + get_model + check_linearizability, and
Porcupine's as the parse and check times its Go program measures itself (all files of a model
in one process). The totals also give the search alone (parsing excluded on both sides). Each
file is checked once, with the same time limit on both sides. Times are CPU seconds (what the
ratios compare: robust on a shared machine) and wall seconds.

    .venv/bin/python bench/compare_porcupine.py [--time-limit 60] [--json OUT]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from porcupine_cli import ROOT, run_porcupine  # noqa: E402

from checkers.formats import load_history  # noqa: E402
from checkers.history import pair_operations  # noqa: E402
from checkers.linearizability import check_linearizability  # noqa: E402
from checkers.models import get_model  # noqa: E402
from checkers.result import Verdict  # noqa: E402

CORPUS = ROOT.parent / "shared" / "anchors" / "porcupine"
ETCD_FILES = [f"jepsen/etcd_{i:03d}.log" for i in range(50)]
KV_FILES = [f"kv/c{c}-{v}.txt" for c in ("01", "10", "50") for v in ("ok", "bad")]
# Our model name and Porcupine-bench's for each part of the corpus.
SUITES = {"etcd": ("cas-register", "etcd", ETCD_FILES), "kv": ("kv", "kv", KV_FILES)}


@dataclass(slots=True)
class Span:
    """One measured span in wall-clock and CPU seconds (CPU is robust to a shared, busy machine)."""

    wall: float
    cpu: float


@dataclass(slots=True)
class Row:
    suite: str
    file: str
    ops: int
    expected: str
    ours: str
    ours_total: Span  # parse + check
    ours_check: Span
    porcupine: str
    porcupine_total: Span
    porcupine_check: Span

    @property
    def agree(self) -> bool:
        return self.ours == self.porcupine


def verdict_name(valid: Verdict) -> str:
    if valid is True:
        return "linearizable"
    if valid is False:
        return "not_linearizable"
    return "unknown"


def check_ours(path: Path, model_name: str, time_limit: float) -> tuple[str, Span, Span, int]:
    """Our verdict, the span with parsing, the span of the search alone, and the op count."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    loaded = load_history(str(path))
    ops = pair_operations(loaded.events, str(path))
    model = get_model(model_name, None)
    wall1, cpu1 = time.perf_counter(), time.process_time()
    result = check_linearizability(ops, model, time_limit)
    wall2, cpu2 = time.perf_counter(), time.process_time()
    return (
        verdict_name(result.valid),
        Span(wall2 - wall0, cpu2 - cpu0),
        Span(wall2 - wall1, cpu2 - cpu1),
        len(ops),
    )


def expected_verdicts(corpus: Path) -> dict[str, str]:
    with open(corpus / "expected.csv", newline="") as f:
        return {row["file"]: row["expected_verdict"] for row in csv.DictReader(f)}


def run_suite(suite: str, corpus: Path, expected: dict[str, str], time_limit: float) -> list[Row]:
    our_model, porcupine_model, files = SUITES[suite]
    theirs = run_porcupine(porcupine_model, [str(corpus / f) for f in files], time_limit)
    rows = []
    for name, them in zip(files, theirs, strict=True):
        ours, ours_total, ours_check, n_ops = check_ours(corpus / name, our_model, time_limit)
        rows.append(
            Row(
                suite=suite,
                file=name,
                ops=n_ops,
                expected=expected.get(name, "?"),
                ours=ours,
                ours_total=ours_total,
                ours_check=ours_check,
                porcupine=them["verdict"],
                porcupine_total=Span(
                    them["seconds"] + them["parse_seconds"], them["cpu_seconds"] + them["parse_cpu_seconds"]
                ),
                porcupine_check=Span(them["seconds"], them["cpu_seconds"]),
            )
        )
    return rows


def ratio(ours: float, theirs: float) -> str:
    if theirs <= 0:
        return "-"
    r = ours / theirs
    return f"{r:.2f}x" if r < 10 else f"{r:.0f}x"


def short(verdict: str) -> str:
    return {"linearizable": "lin", "not_linearizable": "NOT", "unknown": "unk"}.get(verdict, verdict)


def print_table(rows: list[Row]) -> None:
    print("Per file, parsing included. cpu = CPU seconds, wall = elapsed seconds; ratio = ours / Porcupine.")
    print(
        f"{'file':<22}{'ops':>6}  {'expect':<7}{'ours':<5}{'porc':<5}{'agree':<6}"
        f"{'ours cpu':>10}{'porc cpu':>10}{'ratio':>8}{'ours wall':>11}{'porc wall':>11}{'ratio':>8}"
    )
    for r in rows:
        agree = "yes" if r.agree else "NO"
        o, p = r.ours_total, r.porcupine_total
        print(
            f"{r.file:<22}{r.ops:>6}  {short(r.expected):<7}{short(r.ours):<5}{short(r.porcupine):<5}{agree:<6}"
            f"{o.cpu:>10.4f}{p.cpu:>10.4f}{ratio(o.cpu, p.cpu):>8}"
            f"{o.wall:>11.4f}{p.wall:>11.4f}{ratio(o.wall, p.wall):>8}"
        )


def print_totals(rows: list[Row]) -> None:
    print()
    print("Totals (seconds). 'with parsing' as in the table; 'search only' excludes parsing on both sides.")
    print(
        f"{'':<9}{'files':>6}{'agree':>6}{'=exp':>6}  {'with parsing: ours cpu / porc cpu = ratio':<46}"
        f"{'ours wall / porc wall = ratio':<34}{'search only: ours cpu / porc cpu = ratio'}"
    )
    groups = [(suite, [r for r in rows if r.suite == suite]) for suite in SUITES] + [("overall", rows)]
    for name, group in groups:
        o_cpu = sum(r.ours_total.cpu for r in group)
        p_cpu = sum(r.porcupine_total.cpu for r in group)
        o_wall = sum(r.ours_total.wall for r in group)
        p_wall = sum(r.porcupine_total.wall for r in group)
        o_chk = sum(r.ours_check.cpu for r in group)
        p_chk = sum(r.porcupine_check.cpu for r in group)
        agree = sum(r.agree for r in group)
        as_expected = sum(r.ours == r.expected for r in group)
        with_parsing = f"{o_cpu:.3f} / {p_cpu:.3f} = {ratio(o_cpu, p_cpu)}"
        wall = f"{o_wall:.3f} / {p_wall:.3f} = {ratio(o_wall, p_wall)}"
        search = f"{o_chk:.3f} / {p_chk:.3f} = {ratio(o_chk, p_chk)}"
        print(f"{name:<9}{len(group):>6}{agree:>6}{as_expected:>6}  {with_parsing:<46}{wall:<34}{search}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per file, both checkers")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if not (args.corpus / "expected.csv").exists():
        print(
            f"SKIP: Porcupine corpus not found at {args.corpus} (expected ../shared/anchors/porcupine "
            "beside the repo root)",
            file=sys.stderr,
        )
        return 0
    expected = expected_verdicts(args.corpus)
    rows = [row for suite in SUITES for row in run_suite(suite, args.corpus, expected, args.time_limit)]
    print_table(rows)
    print_totals(rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([{**asdict(r), "agree": r.agree} for r in rows], indent=1))
    return 0 if all(r.agree for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
