"""How oversell's stock checkers and Porcupine scale with history length: time and peak memory.

Histories come from bench/flash_sale_history.py (one hot item, 50 processes, ~5% of buys and
reads `info`; valid by construction, so the right answer is "linearizable, no findings").
Each checker runs in its own subprocess, so its peak RSS is its own: the VmHWM high-water mark
of that process (including the interpreter and the loaded history), reported by the child as it
exits and polled by the parent while it runs. (getrusage/wait4's ru_maxrss would not do: on
Linux a child starts from the RSS of the process that forked it.)

- `stock`      checkers.stock_checker.check_stock(ops, initial_stock(events)) (search-free findings)
- `stock-lin`  checkers.stock_linearizability.check_stock_linearizability(ops, init, time_limit)
- `full`       checkers.history_check.check_history(events, "stock", time_limit): what `oversell
               check` runs (pairing, initial stock, both checkers above); its "load" is parsing only
- `porcupine`  Porcupine v1.3.0 with bench/porcupine's stock model (unknown ops return at the end)

"load" is reading + pairing the history (Porcupine: its Go parser), "check" the check alone,
both measured inside the child (start-up excluded), in wall and CPU seconds (CPU is what the
ratios use: on a shared machine wall time also counts waiting for a core).

    .venv/bin/python bench/scaling.py [--sizes 10000,100000,1000000] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flash_sale_history import generate, write_jsonl  # noqa: E402
from porcupine_cli import BENCH_DIR, ROOT, ensure_built, porcupine_command  # noqa: E402

OUT_DIR = BENCH_DIR / "out"
SEED = 7
TARGET_SECONDS = 10.0
TARGET_BYTES = 2 * 1024**3
CHECKERS = ("stock", "stock-lin", "full", "porcupine")


@dataclass(slots=True)
class Measurement:
    size: int
    checker: str
    verdict: str  # linearizable | not_linearizable | unknown | "N findings" | killed ... | error
    load_s: float | None
    load_cpu_s: float | None
    check_s: float | None
    check_cpu_s: float | None
    wall_s: float  # the whole subprocess, start-up included
    peak_rss: int  # bytes
    load_peak_rss: int | None = None  # bytes, once the history was loaded (ours only)


def run_child(checker: str, path: str, time_limit: float) -> dict[str, Any]:
    """Inside the subprocess: load, check, report timings as one JSON object."""
    from checkers.formats import load_history
    from checkers.history import pair_operations
    from checkers.history_check import check_history
    from checkers.stock_checker import check_stock, initial_stock
    from checkers.stock_linearizability import check_stock_linearizability

    wall0, cpu0 = time.perf_counter(), time.process_time()
    loaded = load_history(path)
    if checker == "full":
        # `oversell check`'s path: parsing here, pairing and both stock checkers in check_history
        load_peak = peak_rss_bytes("self")
        wall1, cpu1 = time.perf_counter(), time.process_time()
        result = check_history(loaded.events, "stock", time_limit=time_limit, file=path)
        lin = "unknown" if result.lin is None else verdict_name(result.lin.valid)
        verdict = f"{lin}, {len(result.findings)} findings"
        n_ops = result.client_ops
    else:
        ops = pair_operations(loaded.events, path)
        init = initial_stock(loaded.events, path)
        if init is None:
            raise SystemExit(f"{path}: no reset op, no initial stock")
        load_peak = peak_rss_bytes("self")
        wall1, cpu1 = time.perf_counter(), time.process_time()
        if checker == "stock":
            findings = check_stock(ops, init)
            verdict = f"{len(findings)} findings"
        else:
            lin = check_stock_linearizability(ops, init, time_limit)
            frontier = max((st["max_frontier"] for st in lin.stats), default=0)
            verdict = f"{verdict_name(lin.valid)} (frontier<={frontier})"
        n_ops = len(ops)
    wall2, cpu2 = time.perf_counter(), time.process_time()
    return {
        "verdict": verdict,
        "load_s": wall1 - wall0,
        "load_cpu_s": cpu1 - cpu0,
        "check_s": wall2 - wall1,
        "check_cpu_s": cpu2 - cpu1,
        "load_peak": load_peak,
        "peak_rss": peak_rss_bytes("self"),
        "ops": n_ops,
    }


def verdict_name(valid: Any) -> str:
    return {True: "linearizable", False: "not_linearizable"}.get(valid, "unknown")


def spawn(command: list[str], kill_after: float, mem_cap: int) -> tuple[str, str, float, int, str]:
    """Run `command`: its stdout, stderr, wall seconds, peak RSS seen while polling (bytes), and
    why it was killed ("" if it was not).

    A child whose resident memory passes `mem_cap` bytes is killed, so a runaway search cannot
    take a shared machine down (an address-space rlimit would not do: Go reserves far more
    address space than it touches).
    """
    started = time.perf_counter()
    out_path = OUT_DIR / f".child-{os.getpid()}.out"
    err_path = OUT_DIR / f".child-{os.getpid()}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT)
        deadline = started + kill_after
        killed = ""
        peak = 0
        while True:
            pid, status = os.waitpid(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            rss, hwm = memory_of(str(proc.pid))
            peak = max(peak, hwm)
            if not killed:
                if time.perf_counter() > deadline:
                    killed = f"killed >{kill_after:g}s"
                elif rss > mem_cap:
                    killed = f"killed >{mem_cap / 2**30:g}GiB@{time.perf_counter() - started:.0f}s"
                if killed:
                    proc.kill()
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from reaping it again
    wall = time.perf_counter() - started
    stdout, stderr = out_path.read_text(), err_path.read_text()
    out_path.unlink()
    err_path.unlink()
    return stdout, stderr, wall, peak, killed


def memory_of(pid: str) -> tuple[int, int]:
    """(current RSS, RSS high-water mark) of a process in bytes, from /proc; (0, 0) once it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return rss, hwm


def peak_rss_bytes(pid: str) -> int:
    return memory_of(pid)[1]


def measure_checker(
    checker: str, size: int, path: Path, time_limit: float, kill_after: float, mem_cap: int
) -> Measurement:
    if checker == "porcupine":
        command = porcupine_command("stock", [str(path)], time_limit)
    else:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            checker,
            str(path),
            "--time-limit",
            str(time_limit),
        ]
    stdout, stderr, wall, peak, killed = spawn(command, kill_after, mem_cap)
    if killed:
        return Measurement(size, checker, killed, None, None, None, None, wall, peak)
    try:
        report = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        print(f"  {checker} on {size} ops failed:\n{stderr.strip()[-2000:]}", file=sys.stderr)
        return Measurement(size, checker, "error", None, None, None, None, wall, peak)
    if checker == "porcupine":
        return Measurement(
            size,
            checker,
            report["verdict"],
            report["parse_seconds"],
            report["parse_cpu_seconds"],
            report["seconds"],
            report["cpu_seconds"],
            wall,
            max(peak, report["peak_rss_bytes"]),
        )
    return Measurement(
        size,
        checker,
        report["verdict"],
        report["load_s"],
        report["load_cpu_s"],
        report["check_s"],
        report["check_cpu_s"],
        wall,
        max(peak, report["peak_rss"]),
        report["load_peak"],
    )


def history_file(size: int, seed: int, processes: int = 50, unknown_rate: float = 0.05) -> Path:
    """The generated history for `size` ops, made once and reused (bench/out is gitignored)."""
    path = OUT_DIR / f"flash-{size}-p{processes}-u{unknown_rate:g}-seed{seed}.jsonl"
    if not path.exists():
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        write_jsonl(generate(size, processes=processes, unknown_rate=unknown_rate, seed=seed), str(tmp))
        tmp.rename(path)
    return path


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or theirs <= 0:
        return "-"
    return f"{ours / theirs:.3g}x"


def time_ratio(ours: Measurement, porc: Measurement) -> str:
    """Check CPU-time ratio; "<r" when Porcupine gave up (at its limit or killed) before deciding."""
    if ours.check_cpu_s is None or ours.verdict.startswith("unknown"):
        return "-"
    if porc.check_cpu_s is None:
        return "(porc killed)"
    r = ratio(ours.check_cpu_s, porc.check_cpu_s)
    return "<" + r if porc.verdict == "unknown" else r


def memory_ratio(ours: Measurement, porc: Measurement) -> str:
    """Peak RSS ratio; "<r" when Porcupine was killed for memory (it would have used more)."""
    r = ratio(ours.peak_rss, porc.peak_rss)
    return "<" + r if porc.verdict.startswith("killed") else r


def mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.0f}"


def print_table(rows: list[Measurement]) -> None:
    print("Seconds measured inside each subprocess (start-up excluded): wall and CPU, for loading")
    print("(parse + pair) and for the check alone. MiB: RSS once loaded (ours) and peak RSS. Ratios are")
    print("ours / Porcupine on check CPU time and on peak RSS; '<' marks a bound (Porcupine undecided).")
    print(
        f"{'ops':>9}  {'checker':<10}{'verdict':<26}{'load wall':>10}{'load cpu':>9}{'check wall':>11}"
        f"{'check cpu':>10}{'load MiB':>9}{'peak MiB':>9}  {'cpu vs porc':>12}{'mem vs porc':>12}"
    )
    for size in sorted({r.size for r in rows}):
        group = [r for r in rows if r.size == size]
        porc = next((r for r in group if r.checker == "porcupine"), None)
        for r in group:
            vs_time = vs_mem = ""
            if porc is not None and r is not porc:
                vs_time, vs_mem = time_ratio(r, porc), memory_ratio(r, porc)
            print(
                f"{size:>9}  {r.checker:<10}{r.verdict:<26}{fmt(r.load_s):>10}{fmt(r.load_cpu_s):>9}"
                f"{fmt(r.check_s):>11}{fmt(r.check_cpu_s):>10}{mib(r.load_peak_rss):>9}{mib(r.peak_rss):>9}"
                f"  {vs_time:>12}{vs_mem:>12}"
            )


def met(decided: bool, seconds: float | None) -> str:
    return "met" if decided and seconds is not None and seconds <= TARGET_SECONDS else "NOT met"


def print_targets(rows: list[Measurement]) -> None:
    largest = max(r.size for r in rows)
    print(
        f"\nTargets at {largest} ops (ours): load + check <= {TARGET_SECONDS:g} s, peak <= "
        f"{TARGET_BYTES / 2**30:g} GiB, and a decided verdict"
    )
    for r in rows:
        if r.size != largest or r.checker == "porcupine":
            continue
        decided = not r.verdict.startswith(("unknown", "error", "killed"))
        wall = None if r.load_s is None or r.check_s is None else r.load_s + r.check_s
        cpu = None if r.load_cpu_s is None or r.check_cpu_s is None else r.load_cpu_s + r.check_cpu_s
        print(
            f"  {r.checker:<10} {r.verdict:<24} wall {fmt(wall)} s ({met(decided, wall)}), "
            f"cpu {fmt(cpu)} s ({met(decided, cpu)}), "
            f"peak {r.peak_rss / 2**20:.0f} MiB ({'met' if r.peak_rss <= TARGET_BYTES else 'NOT met'})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--checkers", default=",".join(CHECKERS))
    parser.add_argument("--time-limit", type=float, default=60.0, help="per check, ours and Porcupine's")
    parser.add_argument("--kill-after", type=float, default=600.0, help="hard cap on a subprocess (s)")
    parser.add_argument("--mem-cap-gib", type=float, default=8.0, help="kill a subprocess past this RSS")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--processes", type=int, default=50, help="concurrent processes in the histories")
    parser.add_argument(
        "--unknown-rate", type=float, default=0.05, help="share of buys and reads completing info"
    )
    parser.add_argument("--json", type=Path, help="also write the measurements as JSON here")
    parser.add_argument("--child", choices=("stock", "stock-lin", "full"), help=argparse.SUPPRESS)
    parser.add_argument("history", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child, args.history, args.time_limit)))
        return 0
    checkers = [c for c in args.checkers.split(",") if c]
    if "porcupine" in checkers:
        ensure_built()
    rows: list[Measurement] = []
    for size in (int(s) for s in args.sizes.split(",")):
        path = history_file(size, args.seed, args.processes, args.unknown_rate)
        for checker in checkers:
            mem_cap = int(args.mem_cap_gib * 2**30)
            rows.append(measure_checker(checker, size, path, args.time_limit, args.kill_after, mem_cap))
            r = rows[-1]
            print(f"  measured {size} {checker}: {r.verdict} check {fmt(r.check_s)} s", file=sys.stderr)
    print(
        f"Histories: bench/flash_sale_history.py, one item, {args.processes} processes, "
        f"unknown rate {args.unknown_rate:g}, seed {args.seed}; time limit {args.time_limit:g} s, "
        f"memory cap {args.mem_cap_gib:g} GiB RSS"
    )
    print_table(rows)
    print_targets(rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
