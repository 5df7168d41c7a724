"""`oversell check FILE...`: verdict and findings per history file."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import orjson

from checkers.formats import load_history
from checkers.history import HistoryError
from checkers.history_check import CheckSetupError, HistoryCheck, check_history
from checkers.result import UNKNOWN, Verdict, combine, to_json
from harness.exit_codes import EXIT_BAD_INPUT, EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID, UsageError


def add_check_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="history files (format detected from content)")
    p.add_argument("--model", help="stock, register, cas-register, mutex, multi-register, kv (default: from the history)")
    p.add_argument("--init", help="initial state as JSON, e.g. '{\"sku-1\": 5}' for stock")
    p.add_argument("--format", dest="fmt", help="jsonl, jepsen-edn, porcupine-etcd, porcupine-kv (default: detected)")
    p.add_argument("--time-limit", type=float, default=None, metavar="S", help="seconds per file; past it: unknown")
    p.add_argument("--json", action="store_true", help="one JSON object per file on stdout")
    p.add_argument("--html", metavar="OUT", help="write the HTML view (a .html file for one input, else a folder)")
    p.set_defaults(handler=run_check)


def exit_code(valid: Verdict) -> int:
    if valid is True:
        return EXIT_VALID
    if valid is False:
        return EXIT_INVALID
    return EXIT_UNKNOWN


def verdict_word(valid: Verdict) -> str:
    return {True: "VALID", False: "INVALID"}.get(valid, "UNKNOWN")  # type: ignore[arg-type]


def reproduce_command(file: str, model: str, init_arg: str | None, fmt: str | None, time_limit: float | None) -> str:
    parts = ["oversell", "check", file, "--model", model]
    if init_arg is not None:
        parts += ["--init", init_arg]
    if fmt:
        parts += ["--format", fmt]
    if time_limit is not None:
        parts += ["--time-limit", f"{time_limit:g}"]
    return " ".join(shlex.quote(p) for p in parts)


def summary_json(file: str, fmt: str, check: HistoryCheck, command: str, html: str | None) -> dict[str, Any]:
    lin = check.lin
    out: dict[str, Any] = {
        "file": file,
        "format": fmt,
        "valid": check.valid,
        "model": check.model_name,
        "ops": check.client_ops,
        "events": len(check.events),
        "seconds": round(check.seconds, 6),
        "findings": [to_json(f) for f in check.findings],
        "linearizable": None if lin is None else lin.valid,
        "engine": None if lin is None else lin.engine,
        "partitions": []
        if lin is None
        else [
            {"key": p.key, "valid": p.valid, "ops": len(p.ops), "stuck": p.stuck}
            for p in lin.partitions
            if p.valid is not True
        ],
        "command": command,
    }
    if html:
        out["html"] = html
    return out


def print_text(file: str, check: HistoryCheck, command: str, html: str | None) -> None:
    lin = check.lin
    print(
        f"{file}: {verdict_word(check.valid)} (model {check.model_name}, {check.client_ops} ops, "
        f"{check.seconds:.3f} s)"
    )
    for f in check.findings:
        shown = ", ".join(str(i) for i in f.events[:12]) + (" ..." if len(f.events) > 12 else "")
        print(f"  {f.kind}: {f.message} (events {shown})")
    if lin is not None:
        for p in lin.partitions:
            if p.valid is True:
                continue
            key = f" {p.key!r}" if p.key else ""
            if p.valid == UNKNOWN:
                print(f"  linearizability{key}: unknown (time limit reached)")
                continue
            stuck = [check.ops[i] for i in p.stuck[:5]]
            desc = "; ".join(
                f"{check.model.describe_operation(o)} [events {o.invoke_index}"
                f"{'' if o.complete_index is None else ', ' + str(o.complete_index)}]"
                for o in stuck
            )
            print(
                f"  not linearizable{key}: longest linearizable prefix has {len(p.linearization)} of "
                f"{len(p.ops)} ops; cannot come next: {desc}"
            )
    if html:
        print(f"  html: {html}")
    if check.valid is not True:
        print(f"  reproduce: {command}")


def html_path(out: str, file: str, many: bool) -> Path:
    target = Path(out)
    if not many and target.suffix == ".html":
        return target
    return target / (Path(file).name + ".html")


def run_check(args: argparse.Namespace) -> int:
    init = None
    if args.init is not None:
        try:
            init = json.loads(args.init)
        except json.JSONDecodeError as e:
            raise UsageError(f"--init is not valid JSON: {e}") from e
    if args.time_limit is not None and args.time_limit < 0:
        raise UsageError("--time-limit must be >= 0")
    verdicts: list[Verdict] = []
    bad_input = False
    many = len(args.files) > 1
    for file in args.files:
        try:
            loaded = load_history(file, args.fmt)
            model = args.model or loaded.default_model
            if model is None:
                raise CheckSetupError("cannot tell the model from the history: give --model")
            check = check_history(
                loaded.events,
                model,
                init=init,
                default_init=loaded.default_init,
                time_limit=args.time_limit,
                file=file,
            )
        except HistoryError as e:
            print(str(e), file=sys.stderr)
            bad_input = True
            continue
        except CheckSetupError as e:
            print(f"{file}:0: {e}", file=sys.stderr)
            bad_input = True
            continue
        except OSError as e:
            print(f"{file}:0: cannot read: {e.strerror or e}", file=sys.stderr)
            bad_input = True
            continue
        command = reproduce_command(file, model, args.init, args.fmt, args.time_limit)
        html = None
        if args.html:
            from harness.report.check_view import render_check_html

            target = html_path(args.html, file, many)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(
                render_check_html(
                    title=file,
                    events=check.events,
                    ops=check.ops,
                    model=check.model,
                    lin=check.lin,
                    findings=check.findings,
                    command=command,
                ),
                encoding="utf-8",
            )
            html = str(target)
        if args.json:
            sys.stdout.buffer.write(orjson.dumps(summary_json(file, loaded.format, check, command, html)) + b"\n")
            sys.stdout.flush()
        else:
            print_text(file, check, command, html)
        verdicts.append(check.valid)
    if bad_input:
        return EXIT_BAD_INPUT
    return exit_code(combine(*verdicts))
