"""The HTML view of a check: one self-contained file, in the spirit of Porcupine's visualization.

Why this shape: a history can hold 100k operations, so the data is embedded once as compact,
column-oriented JSON and drawn on a <canvas> (only the visible window), never as one DOM node per
operation. Everything that comes from a history or a service is untrusted: it only reaches the page
inside that JSON (with `<`, `>` and `&` escaped so no string can close the <script>) or through
`html.escape`, and the script only ever puts it in the page with `textContent` / `fillText`.

The page itself (style and script) is `check_view.html`, shipped beside this module as package
data; its `@@NAME@@` placeholders are filled in one pass, so a value can never fill another.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Hashable
from functools import cache
from importlib.resources import files
from typing import Any

import orjson

from checkers.history import INFO, INVOKE, NEMESIS, Event, Operation
from checkers.model import Model
from checkers.result import Finding, LinearizabilityResult, Verdict, combine

STATUS_CODES = {"ok": 0, "fail": 1, "info": 2}
# How an op's bar is coloured (`cat` column): decided here so the script stays a pure drawing.
CAT_LINEARIZED = 0  # in the linearization found (or in a partition found linearizable)
CAT_PENDING = 1  # in a non-linearizable partition, after the longest linearizable prefix
CAT_STUCK = 2  # could not come next after that prefix: the evidence
CAT_UNCHECKED = 3  # no partition holds it (e.g. the final `orders` read) or no search ran

_PLAIN_MODEL = Model()
_JSON_ESCAPES = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"))
_PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")
TEMPLATE_FILE = "check_view.html"


def render_check_html(
    *,
    title: str,
    events: list[Event],
    ops: list[Operation],
    model: Model | None,
    lin: LinearizabilityResult | None,
    findings: list[Finding],
    command: str | None = None,
) -> str:
    """One HTML file showing the verdict, the timeline of `ops`, the linearization and the findings."""
    verdict = overall_verdict(lin, findings)
    data = view_data(title=title, events=events, ops=ops, model=model, lin=lin, findings=findings)
    data["verdict"] = verdict_word(verdict)
    data["command"] = command
    fields = {
        "TITLE": html.escape(title),
        "VERDICT": verdict_word(verdict),
        "VERDICT_CLASS": {True: "valid", False: "invalid"}.get(verdict, "unknown"),  # type: ignore[arg-type]
        "SUMMARY": html.escape(summary_line(events, ops, model, lin, findings)),
        "COMMAND": command_box(command),
        "DATA": embed_json(data),
    }
    return _PLACEHOLDER.sub(lambda m: fields[m.group(1)], page_template())


@cache
def page_template() -> str:
    """The page around the placeholders: harness/report/check_view.html, read once."""
    return files("harness.report").joinpath(TEMPLATE_FILE).read_text(encoding="utf-8")


def overall_verdict(lin: LinearizabilityResult | None, findings: list[Finding]) -> Verdict:
    """Findings make it invalid; otherwise the search decides (no search: nothing against it)."""
    verdicts: list[Verdict] = [not findings]
    if lin is not None:
        verdicts.append(lin.valid)
    return combine(*verdicts)


def verdict_word(valid: Verdict) -> str:
    return {True: "VALID", False: "INVALID"}.get(valid, "UNKNOWN")  # type: ignore[arg-type]


def summary_line(
    events: list[Event],
    ops: list[Operation],
    model: Model | None,
    lin: LinearizabilityResult | None,
    findings: list[Finding],
) -> str:
    parts = []
    model_name = lin.model if lin is not None else (model.name if model is not None else None)
    if model_name:
        parts.append(f"model {model_name}")
    parts.append(f"{len(ops)} client ops, {len(events)} events")
    if lin is None:
        parts.append("linearizability not checked")
    else:
        bad = [p for p in lin.partitions if p.valid is not True]
        word = {True: "linearizable", False: "NOT linearizable"}.get(lin.valid, "unknown (time limit)")  # type: ignore[arg-type]
        detail = f"{len(bad)} of {len(lin.partitions)} partitions not proven, " if bad else ""
        parts.append(f"{word} ({detail}engine {lin.engine}, {lin.seconds:.3f} s)")
    parts.append(f"{len(findings)} finding{'' if len(findings) == 1 else 's'}")
    return " · ".join(parts)


def command_box(command: str | None) -> str:
    if not command:
        return ""
    return (
        '<div class="cmd"><span class="cmd-label">reproduce</span>'
        f'<code id="cmd">{html.escape(command)}</code>'
        '<button id="copy" type="button">Copy</button></div>'
    )


def embed_json(data: Any) -> str:
    """Compact JSON that is safe inside <script type="application/json">.

    `<`, `>` and `&` only ever occur inside JSON strings, so escaping them everywhere keeps the
    value identical for JSON.parse while no `</script>` or `<!--` can appear in the page.
    """
    try:
        raw = orjson.dumps(data, default=_json_fallback, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # e.g. integers beyond 64 bits from an EDN history
        raw = json.dumps(data, default=_json_fallback, separators=(",", ":"), ensure_ascii=False).encode()
    for char, escaped in _JSON_ESCAPES:
        raw = raw.replace(char, escaped)
    return raw.decode()


def _json_fallback(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


class _Strings:
    """Interns repeated strings (f, states, errors, nodes) so 100k ops do not repeat them."""

    def __init__(self) -> None:
        self.table: list[str] = []
        self.index: dict[str, int] = {}

    def ref(self, s: str | None) -> int:
        if s is None:
            return -1
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.table)
            self.table.append(s)
        return i


def _process_sort_key(p: int | str) -> tuple[int, int, str]:
    return (0, p, "") if isinstance(p, int) else (1, 0, str(p))


def _describe(model: Model | None, op: Operation) -> str:
    try:
        return (model or _PLAIN_MODEL).describe_operation(op)
    except Exception:  # a model may not know ops it does not check (e.g. `orders`)
        return _PLAIN_MODEL.describe_operation(op)


def _describe_init(model: Model | None, key: str) -> str | None:
    if model is None:
        return None
    try:
        state: Hashable = model.init(key)
        return model.describe_state(state)
    except Exception:  # the state is a nicety in the view, never worth failing the report
        return None


def view_data(
    *,
    title: str,
    events: list[Event],
    ops: list[Operation],
    model: Model | None,
    lin: LinearizabilityResult | None,
    findings: list[Finding],
) -> dict[str, Any]:
    """The embedded JSON: column-oriented ops (positions, not ids), nemesis ops, bands, partitions."""
    strings = _Strings()
    position = {op.id: i for i, op in enumerate(ops)}
    time_of = {ev.index: ev.time for ev in events}

    nemesis = nemesis_ops(events)
    processes = sorted({op.process for op in ops}, key=_process_sort_key)
    lanes = (["nemesis"] if nemesis else []) + [str(p) for p in processes]
    lane_of = {p: i + (1 if nemesis else 0) for i, p in enumerate(processes)}

    n = len(ops)
    part_of = [-1] * n
    lin_pos = [0] * n
    state_before = [-1] * n
    state_after = [-1] * n
    category = [CAT_UNCHECKED] * n
    partitions: list[dict[str, Any]] = []
    for p_index, part in enumerate(lin.partitions if lin is not None else []):
        member = [position[i] for i in part.ops if i in position]
        for i in member:
            part_of[i] = p_index
            category[i] = CAT_LINEARIZED if part.valid is True else CAT_PENDING
        for k, step in enumerate(part.linearization):
            i = position.get(step.op)
            if i is None:
                continue
            lin_pos[i] = k + 1
            state_before[i] = strings.ref(step.state_before)
            state_after[i] = strings.ref(step.state_after)
            category[i] = CAT_LINEARIZED
        stuck = [position[i] for i in part.stuck if i in position]
        for i in stuck:
            category[i] = CAT_STUCK
        end_state = (
            part.linearization[-1].state_after if part.linearization else _describe_init(model, part.key)
        )
        partitions.append(
            {
                "key": part.key,
                "valid": part.valid,
                "n": len(member),
                "lin": len(part.linearization),
                "stuck": stuck,
                "state": end_state,
            }
        )

    columns: dict[str, list[Any]] = {
        k: []
        for k in ("id", "lane", "call", "end", "st", "f", "desc", "in", "out", "ii", "ci", "err", "node")
    }
    for op in ops:
        if op.status == INFO:
            end = time_of.get(op.complete_index) if op.complete_index is not None else None
        else:
            end = op.ret if op.ret is not None else op.call
        error = op.error
        columns["id"].append(op.id)
        columns["lane"].append(lane_of[op.process])
        columns["call"].append(op.call)
        columns["end"].append(end)
        columns["st"].append(STATUS_CODES.get(op.status, 2))
        columns["f"].append(strings.ref(op.f))
        columns["desc"].append(_describe(model, op))
        columns["in"].append(op.input)
        columns["out"].append(op.output)
        columns["ii"].append(op.invoke_index)
        columns["ci"].append(op.complete_index)
        columns["err"].append(strings.ref(None if error is None else str(error)))
        columns["node"].append(strings.ref(op.node))
    columns.update(part=part_of, pos=lin_pos, sb=state_before, sa=state_after, cat=category)

    times = [ev.time for ev in events] + [op.call for op in ops]
    t0 = min(times, default=0)
    t1 = max(times, default=0)
    if t1 <= t0:
        t1 = t0 + 1
    return {
        "title": title,
        "model": lin.model if lin is not None else (model.name if model is not None else None),
        "lin": None
        if lin is None
        else {"valid": lin.valid, "engine": lin.engine, "seconds": round(lin.seconds, 6)},
        "t0": t0,
        "t1": t1,
        "events": len(events),
        "lanes": lanes,
        "strs": strings.table,
        "ops": columns,
        "parts": partitions,
        "nem": nemesis,
        "bands": fault_bands(nemesis),
        "findings": [
            {"kind": f.kind, "item": f.item, "message": f.message, "events": f.events, "details": f.details}
            for f in findings
        ],
    }


def nemesis_ops(events: list[Event]) -> list[dict[str, Any]]:
    """Nemesis events paired into ops: an invoke with the next completion of the same f.

    A lone completion (our recorder writes nemesis steps as single `info` events) is an op of
    its own; an invoke that never completes stays open (`e` None: until the end of the history).
    """
    result: list[dict[str, Any]] = []
    open_by_f: dict[str, dict[str, Any]] = {}
    for ev in events:
        if ev.process != NEMESIS:
            continue
        if ev.type == INVOKE:
            op = {"f": ev.f, "value": ev.value, "b": ev.time, "e": None, "ib": ev.index, "ie": None}
            open_by_f[ev.f] = op
            result.append(op)
            continue
        op = open_by_f.pop(ev.f, None)
        if op is None:
            op = {"f": ev.f, "value": ev.value, "b": ev.time, "e": None, "ib": ev.index, "ie": None}
            result.append(op)
        elif ev.value is not None:
            op["value"] = ev.value
        op["e"] = ev.time
        op["ie"] = ev.index
        if ev.error is not None:
            op["error"] = ev.error
    return result


def _start_stop(f: str) -> tuple[str, str] | None:
    """("start", "partition") for "start-partition"; also bare "start"/"stop" (Jepsen's nemeses)."""
    for verb in ("start", "stop"):
        if f == verb:
            return verb, ""
        if f.startswith(verb) and f[len(verb)] in "-_:":
            return verb, f[len(verb) + 1 :]
    return None


def fault_bands(nemesis: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Time windows a fault was (possibly) active: start-X .. the following stop-X, else the op itself.

    A band spans from the start's invocation to the stop's completion, the widest window in which
    the fault may have affected the system. A start never stopped lasts to the end (`e` None).
    """
    bands: list[dict[str, Any]] = []
    open_by_name: dict[str, dict[str, Any]] = {}
    for i, op in enumerate(nemesis):
        kind = _start_stop(op["f"])
        if kind is None:
            bands.append(
                {"name": op["f"], "b": op["b"], "e": op["e"] if op["e"] is not None else op["b"], "nem": [i]}
            )
            continue
        verb, name = kind
        if verb == "start":
            if name in open_by_name:
                continue  # already active: a second start does not open a new window
            band = {"name": name or "fault", "b": op["b"], "e": None, "nem": [i]}
            open_by_name[name] = band
            bands.append(band)
        else:
            band = open_by_name.pop(name, None)
            if band is None:
                continue
            band["e"] = op["e"] if op["e"] is not None else op["b"]
            band["nem"].append(i)
    return bands
