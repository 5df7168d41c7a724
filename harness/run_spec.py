"""A run as a plain value (Jepsen's test map): printed, saved as run.json, and rerun from it.

Everything that decides what a run does is here: stack, candidate, workload, nemesis, checker,
time limits and seed, each defined once as a dataclass field whose metadata (`run_fields.opt`)
makes it a command-line option. The `oversell run` parser, the validation and the printed
command that reproduces a run are all derived from these fields, so
`run.json -> RunSpec -> run.json` and `RunSpec -> command -> RunSpec` are both exact.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import orjson

from harness.exit_codes import UsageError
from harness.nemesis.config import NemesisConfig
from harness.run_fields import Option, opt, option_of
from harness.stack.stack import CandidateLaunch
from workloads.flash_sale import FlashSaleConfig

STRATEGIES = ("pg-read-then-write", "pg-guarded-update", "redis-lua", "redis-lock-ttl-del", "redis-lock-ttl-cad")
DEFAULT_STRATEGY = "redis-lua"
SPEC_VERSION = 2
KNOB_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# always in the printed command, so it reads as what the run was; the rest only when not default
ALWAYS_PRINTED = ("candidate.strategy", "candidate.cmd", "nemesis.faults", "seed", "chaos_s")


@dataclass(slots=True)
class CandidateSpec:
    strategy: str | None = field(default=None, metadata=opt(
        choices=STRATEGIES, help=f"a built-in candidate (default {DEFAULT_STRATEGY})"))  # fmt: skip
    cmd: str | None = field(default=None, metadata=opt(
        "--candidate-cmd", help="audit an outside service: command with {port} {redis_url} {postgres_dsn}"))  # fmt: skip
    knobs: dict[str, Any] = field(default_factory=dict, metadata=opt(
        "--knob", kind="knobs", metavar="KEY=VALUE",
        help="a strategy option, e.g. lock_ttl_ms=1000 (docs/strategies.md); JSON values keep their type; "
             "an outside service gets them as OVERSELL_KNOBS"))  # fmt: skip

    def label(self) -> str:
        return self.strategy or "external"

    def launch(self) -> CandidateLaunch:
        return CandidateLaunch(self.strategy, self.cmd, dict(self.knobs))


@dataclass(slots=True)
class RunSpec:
    candidate: CandidateSpec = field(default_factory=CandidateSpec)
    workload: FlashSaleConfig = field(default_factory=FlashSaleConfig)
    nemesis: NemesisConfig = field(default_factory=NemesisConfig)
    seed: int = field(default=1, metadata=opt(help="decides every operation and fault window"))
    instances: int = field(default=3, metadata=opt(help="candidate instances", ge=1))
    backend: str = field(default="local", metadata=opt(help="stack backend (oversell run --help lists them)"))
    chaos_s: float = field(default=20.0, metadata=opt("--time-limit", metavar="S", help="length of the chaos window", gt=0))
    quiesce_s: float = field(default=2.0, metadata=opt("--quiesce", metavar="S", help="settle before the final reads", ge=0))
    drain_s: float = field(default=10.0, metadata=opt("--drain", metavar="S",
                           help="fault-free sell-out after healing, at most S seconds (0: none)", ge=0))  # fmt: skip
    settle_limit_s: float = field(default=70.0, metadata=opt("--settle-limit", metavar="S",
                                  help="wait at most S for work in flight in the instances before the final reads",
                                  ge=0))  # fmt: skip
    settle_poll_s: float = field(default=0.2, metadata=opt("--settle-poll", metavar="S", gt=0))
    stop_grace_s: float = field(default=5.0, metadata=opt("--stop-grace", metavar="S",
                                help="at the end of a phase, ops in flight get their timeout plus S", ge=0))  # fmt: skip
    setup_timeout_s: float = field(default=60.0, metadata=opt("--setup-timeout", metavar="S",
                                   help="each service must answer within S", gt=0))  # fmt: skip
    check_time_limit_s: float = field(default=120.0, metadata=opt("--check-time-limit", metavar="S", gt=0))
    redis_persistence: bool = field(default=False, metadata=opt(help="Redis AOF on (default: no persistence)"))
    version: int = field(default=SPEC_VERSION, metadata=opt(cli=False))

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any, source: str = "run.json") -> RunSpec:
        """Strict: an unknown key or a value of the wrong type is a UsageError naming it."""
        if isinstance(data, dict) and data.get("version", SPEC_VERSION) != SPEC_VERSION:
            raise UsageError(f"{source}: run value version {data.get('version')!r}; this oversell reads {SPEC_VERSION}")
        spec = _build(cls, data, source, "")
        spec.validate(source)
        return spec

    def folder_name(self, stamp: str) -> str:
        nemesis = "+".join(self.nemesis.faults) or "none"
        return f"{stamp}-{self.candidate.label()}-{nemesis}-s{self.seed}"

    def validate(self, source: str = "the run") -> None:
        """Every bound of every option, in one place; a UsageError names the option and the value."""
        from harness.nemesis.registry import fault_names, get_fault, param_names
        from harness.stack.backends import BACKENDS

        for path, f, option in leaves(type(self)):
            value = get(self, path)
            name = option.flag or flag_of(f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise UsageError(f"{source}: {name} must be a finite number (got {value})")
            if option.gt is not None and not value > option.gt:
                raise UsageError(f"{source}: {name} must be > {option.gt:g} (got {value})")
            if option.ge is not None and not value >= option.ge:
                raise UsageError(f"{source}: {name} must be >= {option.ge:g} (got {value})")
            if option.choices and value is not None and value not in option.choices:
                raise UsageError(f"{source}: {name} {value!r}: choose from {', '.join(option.choices)}")
        c = self.candidate
        if c.strategy and c.cmd:
            raise UsageError(f"{source}: give --strategy or --candidate-cmd, not both")
        if not c.strategy and not c.cmd:
            raise UsageError(f"{source}: give --strategy or --candidate-cmd")
        for key, value in c.knobs.items():
            if not KNOB_KEY.match(key):
                raise UsageError(f"{source}: --knob {key!r}: a key is letters, digits and _")
            _finite_json(value, f"{source}: --knob {key}")
        if self.backend not in BACKENDS:
            raise UsageError(f"{source}: --backend {self.backend!r}: choose from {', '.join(BACKENDS)}")
        seen: set[str] = set()
        for fault in self.nemesis.faults:
            if fault not in fault_names():
                raise UsageError(f"{source}: --nemesis {fault}: choose from {', '.join(fault_names())} or none")
            if fault in seen:
                raise UsageError(f"{source}: --nemesis {fault} is given twice")
            seen.add(fault)
        for fault, params in self.nemesis.params.items():
            if fault not in fault_names():
                raise UsageError(f"{source}: --fault-param {fault}: no such fault")
            unknown = sorted(set(params) - param_names(get_fault(fault)))
            if unknown:
                known = ", ".join(sorted(param_names(get_fault(fault)))) or "none"
                raise UsageError(f"{source}: --fault-param {fault}.{unknown[0]}: {fault} takes {known}")
            for key, value in params.items():
                _finite_json(value, f"{source}: --fault-param {fault}.{key}")

    def command(self) -> str:
        """The `oversell run` command line that reproduces this run, exactly."""
        parts = ["oversell", "run"]
        default = RunSpec()
        for path, f, option in leaves(RunSpec):
            value = get(self, path)
            if not option.cli or (path not in ALWAYS_PRINTED and value == get(default, path)):
                continue
            if value is None:
                continue
            parts += _glued(_flag_words(option.flag or flag_of(f.name), option, f, value))
        return " ".join(shlex.quote(p) for p in parts)


# --- the fields as options -----------------------------------------------------------------------


def leaves(cls: type, prefix: str = "") -> list[tuple[str, dataclasses.Field[Any], Option]]:
    """(dotted path, field, option) of every option field, nested configs walked, in order."""
    out = []
    for f in dataclasses.fields(cls):
        if isinstance(f.default_factory, type) and dataclasses.is_dataclass(f.default_factory):
            out += leaves(f.default_factory, f"{prefix}{f.name}.")
        else:
            out.append((f"{prefix}{f.name}", f, option_of(f.metadata)))
    return out


def get(spec: Any, path: str) -> Any:
    for part in path.split("."):
        spec = getattr(spec, part)
    return spec


def flag_of(name: str) -> str:
    return "--" + name.replace("_", "-")


def _kind(f: dataclasses.Field[Any], option: Option) -> str:
    return option.kind or str(f.type).split(" ")[0]


def _number(value: float) -> str:
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def json_arg(value: Any) -> str:
    """A KEY=VALUE value as typed: JSON, but a string stays bare unless it would read as JSON."""
    if isinstance(value, str):
        try:
            orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def parse_json_arg(raw: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw


def _flag_words(flag: str, option: Option, f: dataclasses.Field[Any], value: Any) -> list[str]:
    kind = _kind(f, option)
    if kind == "bool":
        return [flag if value else "--no-" + flag[2:]]
    if kind == "list":
        return [flag, ",".join(value) or "none"]
    if kind == "knobs":
        return [w for key in sorted(value) for w in (flag, f"{key}={json_arg(value[key])}")]
    if kind == "fault-params":
        return [w for fault in sorted(value) for key in sorted(value[fault])
                for w in (flag, f"{fault}.{key}={json_arg(value[fault][key])}")]  # fmt: skip
    if kind == "float":
        return [flag, _number(value)]
    return [flag, str(value)]


def _glued(words: list[str]) -> list[str]:
    """Flag-value pairs; a value that starts with "-" is glued on (argparse would read it as an option)."""
    out: list[str] = []
    for i in range(0, len(words), 2):
        pair = words[i : i + 2]
        out += [f"{pair[0]}={pair[1]}"] if len(pair) == 2 and pair[1].startswith("-") else pair
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per field; unset options are absent from the namespace (defaults come from the spec)."""
    for path, f, option in leaves(RunSpec):
        if not option.cli:
            continue
        flag = option.flag or flag_of(f.name)
        kind = _kind(f, option)
        default = get(RunSpec(), path)
        shown = _flag_words(flag, option, f, default)[1:] if default not in (None, {}) else []
        help_text = " ".join(filter(None, [option.help, f"(default {' '.join(shown)})" if shown else ""]))
        kw: dict[str, Any] = {"dest": path, "default": argparse.SUPPRESS, "help": help_text or None}
        kw["metavar"] = option.metavar or ("|".join(option.choices) if option.choices else f.name.upper())
        if kind == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        elif kind in ("knobs", "fault-params"):
            parser.add_argument(flag, action="append", **kw)
        else:
            kw["type"] = {"int": int, "float": float}.get(kind, str)
            parser.add_argument(flag, **kw)


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    """The spec the options describe: the defaults of RunSpec, overridden by what was given."""
    given = vars(args)
    spec = RunSpec()
    for path, f, option in leaves(RunSpec):
        if path not in given:
            continue
        raw, kind = given[path], _kind(f, option)
        flag = option.flag or flag_of(f.name)
        if kind == "list":
            value: Any = [x.strip() for x in raw.split(",") if x.strip() and x.strip() != "none"]
        elif kind == "knobs":
            value = {key.replace("-", "_"): v for key, v in (_pair(flag, p) for p in raw)}
        elif kind == "fault-params":
            value = {}
            for pair in raw:
                key, v = _pair(flag, pair)
                fault, dot, name = key.partition(".")
                if not dot or not fault or not name:
                    raise UsageError(f"{flag} {pair!r}: expected FAULT.KEY=VALUE")
                value.setdefault(fault, {})[name] = v
        else:
            value = raw
        _set(spec, path, value)
    if spec.candidate.cmd is None and spec.candidate.strategy is None:
        spec.candidate.strategy = DEFAULT_STRATEGY
    spec.validate("oversell run")
    return spec


def _pair(flag: str, pair: str) -> tuple[str, Any]:
    key, sep, raw = pair.partition("=")
    if not sep or not key:
        raise UsageError(f"{flag} {pair!r}: expected KEY=VALUE")
    return key, parse_json_arg(raw)


def _set(spec: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        spec = getattr(spec, part)
    setattr(spec, last, value)


# --- from JSON -----------------------------------------------------------------------------------

_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,), "float": (int, float), "str": (str,), "bool": (bool,),
    "str | None": (str, type(None)), "list[str]": (list,), "dict[str, Any]": (dict,),
    "dict[str, dict[str, Any]]": (dict,),
}  # fmt: skip


def _build(cls: type, data: Any, source: str, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise UsageError(f"{source}: {prefix.rstrip('.') or 'the run'} must be an object")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise UsageError(f"{source}: unknown field {prefix}{unknown[0]} (not a run.json of this oversell version)")
    values: dict[str, Any] = {}
    for name, value in data.items():
        f = known[name]
        if isinstance(f.default_factory, type) and dataclasses.is_dataclass(f.default_factory):
            values[name] = _build(f.default_factory, value, source, f"{prefix}{name}.")
            continue
        allowed = _TYPES.get(str(f.type), (object,))
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise UsageError(f"{source}: {prefix}{name} must be {f.type} (got {value!r:.60})")
        values[name] = float(value) if str(f.type) == "float" else value
    return cls(**values)


def _finite_json(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{where}: must be finite (got {value})")
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        raise UsageError(f"{where}: an integer beyond 64 bits")
    if isinstance(value, list):
        for v in value:
            _finite_json(v, where)
    if isinstance(value, dict):
        for v in value.values():
            _finite_json(v, where)
