"""Build and run the Go `porcupine-bench` program, so every benchmark calls Porcupine the same way."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PORCUPINE_DIR = BENCH_DIR / "porcupine"
PORCUPINE_BIN = PORCUPINE_DIR / "porcupine-bench"


def ensure_built() -> Path:
    """Build the binary when it is missing or older than its sources (needs `go` and the module proxy)."""
    sources = list(PORCUPINE_DIR.glob("*.go")) + [PORCUPINE_DIR / "go.mod", PORCUPINE_DIR / "go.sum"]
    newest = max(p.stat().st_mtime for p in sources)
    if not PORCUPINE_BIN.exists() or PORCUPINE_BIN.stat().st_mtime < newest:
        subprocess.run(["go", "build", "-o", PORCUPINE_BIN.name, "."], cwd=PORCUPINE_DIR, check=True)
    return PORCUPINE_BIN


def porcupine_command(model: str, files: list[str], timeout_s: float) -> list[str]:
    return [str(PORCUPINE_BIN), "-model", model, "-timeout", f"{timeout_s:g}s", *files]


def parse_results(stdout: str) -> list[dict[str, Any]]:
    """One dict per file: file, verdict, seconds (check), parse_seconds, ops[, error]."""
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def run_porcupine(model: str, files: list[str], timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """Check `files` in one process (one Go start-up for all of them)."""
    ensure_built()
    proc = subprocess.run(porcupine_command(model, files, timeout_s), capture_output=True, text=True)
    results = parse_results(proc.stdout)
    if proc.returncode not in (0, 254) or len(results) != len(files):
        raise RuntimeError(f"porcupine-bench failed ({proc.returncode}): {proc.stderr.strip()}")
    return results
