"""A run as a plain value (Jepsen's test map): printed, saved as run.json, and rerun from it.

Everything that decides what a run does is here: stack, candidate, workload, nemesis, checker,
time limits and seed. `command()` gives the exact `oversell run` command line that reproduces it.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.nemesis.schedule import NemesisConfig
from workloads.flash_sale import FlashSaleConfig

STRATEGIES = ("pg-read-then-write", "pg-guarded-update", "redis-lua", "redis-lock-ttl-del", "redis-lock-ttl-cad")
CANDIDATES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "candidates"

SPEC_VERSION = 1


@dataclass(slots=True)
class CandidateSpec:
    strategy: str | None  # a built-in strategy, or None with `cmd`
    cmd: str | None = None  # an outside service: template with {port} {redis_url} {postgres_dsn} {instance}
    knobs: dict[str, Any] = field(default_factory=dict)  # the strategy's options, e.g. lock_ttl_ms

    def label(self) -> str:
        return self.strategy or "external"

    def command_template(self, python: str) -> list[str]:
        """argv with placeholders; built-ins run as scripts from fixtures/candidates/."""
        if self.cmd:
            return shlex.split(self.cmd)
        argv = [
            python,
            str(CANDIDATES_DIR / "serve.py"),
            "--strategy",
            str(self.strategy),
            "--port",
            "{port}",
            "--redis-url",
            "{redis_url}",
            "--postgres-dsn",
            "{postgres_dsn}",
        ]
        for key, value in sorted(self.knobs.items()):
            argv += [f"--{key.replace('_', '-')}", str(value)]
        return argv


@dataclass(slots=True)
class RunSpec:
    candidate: CandidateSpec
    workload: FlashSaleConfig
    nemesis: NemesisConfig
    seed: int = 1
    instances: int = 3
    backend: str = "local"
    chaos_s: float = 20.0  # --time-limit: length of the chaos window
    quiesce_s: float = 2.0
    drain_s: float = 10.0  # fault-free sell-out after healing (0: none)
    setup_timeout_s: float = 60.0
    check_time_limit_s: float = 120.0
    redis_persistence: bool = False
    version: int = SPEC_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSpec:
        d = dict(data)
        d["candidate"] = CandidateSpec(**d["candidate"])
        d["workload"] = FlashSaleConfig(**d["workload"])
        d["nemesis"] = NemesisConfig(**d["nemesis"])
        return cls(**d)

    def folder_name(self, stamp: str) -> str:
        nemesis = "+".join(self.nemesis.faults) or "none"
        return f"{stamp}-{self.candidate.label()}-{nemesis}-s{self.seed}"

    def command(self) -> str:
        """The `oversell run` command line that reproduces this run."""
        w, n = self.workload, self.nemesis
        parts = ["oversell", "run"]
        if self.candidate.cmd:
            parts += ["--candidate-cmd", self.candidate.cmd]
        else:
            parts += ["--strategy", str(self.candidate.strategy)]
        parts += [
            "--nemesis", ",".join(n.faults) or "none",
            "--seed", str(self.seed),
            "--time-limit", f"{self.chaos_s:g}",
            "--concurrency", str(w.concurrency),
            "--instances", str(self.instances),
            "--stock", str(w.stock),
        ]  # fmt: skip
        defaults = RunSpec(candidate=self.candidate, workload=FlashSaleConfig(), nemesis=NemesisConfig(faults=[]))
        dw, dn = defaults.workload, defaults.nemesis
        optional = [
            ("--items", w.items, dw.items),
            ("--readers", w.readers, dw.readers),
            ("--max-qty", w.max_qty, dw.max_qty),
            ("--restock-every", w.restock_every_s, dw.restock_every_s),
            ("--restock-qty", w.restock_qty, dw.restock_qty),
            ("--op-timeout", w.op_timeout_s, dw.op_timeout_s),
            ("--fault-s", n.fault_s, dn.fault_s),
            ("--pause-s", n.pause_s, dn.pause_s),
            ("--heal-s", n.heal_s, dn.heal_s),
            ("--pause-targets", n.pause_targets, dn.pause_targets),
            ("--kill-targets", n.kill_targets, dn.kill_targets),
            ("--fault-timing", n.timing, dn.timing),
            ("--quiesce", self.quiesce_s, defaults.quiesce_s),
            ("--drain", self.drain_s, defaults.drain_s),
            ("--check-time-limit", self.check_time_limit_s, defaults.check_time_limit_s),
        ]
        for flag, value, default in optional:
            if value != default:
                parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
        if self.redis_persistence:
            parts.append("--redis-persistence")
        for key, value in sorted(self.candidate.knobs.items()):
            parts += ["--knob", f"{key}={value}"]
        return " ".join(shlex.quote(p) for p in parts)
