"""The first audit's verdicts, re-measured: each (strategy, nemesis) cell over seeds, one run at a time.

    .venv/bin/python bench/audit_verdicts.py --seeds 1-5 --time-limit 20

Prints, per cell, how many seeds were flagged (exit 1: invalid) against what the strategy's
mechanism predicts, and the wall time; exits 1 when a cell misses its target. Runs go to a
temporary runs folder (kept with --keep) so they never mix with a user's histories/runs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# strategy, nemesis, least flagged out of 5 seeds (scaled to --seeds), most flagged
CELLS = [
    ("pg-read-then-write", "none", 5, 5),
    ("redis-lock-ttl-del", "pause", 4, 5),
    ("redis-lock-ttl-cad", "pause", 4, 5),
    ("pg-guarded-update", "pause,partition,latency", 0, 0),
    ("redis-lua", "pause,partition,latency", 0, 0),
]


def seeds(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="1-5")
    p.add_argument("--time-limit", default="20")
    p.add_argument("--only", help="comma list of strategies")
    p.add_argument("--keep", action="store_true", help="keep the runs folder")
    args = p.parse_args()
    runs = Path(tempfile.mkdtemp(prefix="oversell-verdicts-"))
    runs.chmod(0o711)  # Postgres runs as another user and must traverse it
    chosen = seeds(args.seeds)
    rows, missed = [], []
    started = time.monotonic()
    try:
        for strategy, nemesis, least, most in CELLS:
            if args.only and strategy not in args.only.split(","):
                continue
            flagged, codes = [], []
            for seed in chosen:
                cmd = [sys.executable, "-m", "harness", "run", "--strategy", strategy, "--nemesis", nemesis,
                       "--seed", str(seed), "--time-limit", args.time_limit, "--runs-dir", str(runs)]  # fmt: skip
                code = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
                codes.append(code)
                if code == 1:
                    flagged.append(seed)
                print(f"  {strategy} {nemesis} seed {seed}: exit {code}", file=sys.stderr, flush=True)
            n = len(chosen)
            lo, hi = -(-least * n // 5), most * n // 5
            ok = lo <= len(flagged) <= hi and all(c in (0, 1) for c in codes)
            rows.append((strategy, nemesis, f"{len(flagged)} of {n}", f"{lo}-{hi}", "met" if ok else "MISSED",
                         ",".join(map(str, flagged)) or "-", ",".join(map(str, codes))))  # fmt: skip
            if not ok:
                missed.append(f"{strategy}/{nemesis}")
    finally:
        if not args.keep:
            shutil.rmtree(runs, ignore_errors=True)
    head = ("strategy", "nemesis", "flagged", "target", "result", "seeds flagged", "exit codes")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)))
    print(f"wall time {time.monotonic() - started:.0f} s; seeds {args.seeds}, --time-limit {args.time_limit}")
    if missed:
        print(f"missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
