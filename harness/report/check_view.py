"""The HTML view of a check: one self-contained file, in the spirit of Porcupine's visualization.

Why this shape: a history can hold 100k operations, so the data is embedded once as compact,
column-oriented JSON and drawn on a <canvas> (only the visible window), never as one DOM node per
operation. Everything that comes from a history or a service is untrusted: it only reaches the page
inside that JSON (with `<`, `>` and `&` escaped so no string can close the <script>) or through
`html.escape`, and the script only ever puts it in the page with `textContent` / `fillText`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Hashable
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
    return _PLACEHOLDER.sub(lambda m: fields[m.group(1)], _TEMPLATE)


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


_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@TITLE@@ — @@VERDICT@@</title>
<style>
:root { --fg:#1d2430; --muted:#5f6b7a; --line:#d8dee6; --bg:#f6f8fa; --panel:#fff; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
header { padding:14px 20px 10px; background:var(--panel); border-bottom:1px solid var(--line); }
h1 { font-size:16px; margin:0 0 6px; font-weight:600; word-break:break-all; }
h2 { font-size:14px; margin:0 0 8px; }
.top { display:flex; gap:14px; align-items:center; flex-wrap:wrap; }
.verdict { font-weight:700; font-size:20px; padding:2px 14px; border-radius:6px; color:#fff; letter-spacing:.04em; }
.verdict.valid { background:#2f9e44; } .verdict.invalid { background:#e03131; } .verdict.unknown { background:#f08c00; }
.summary { color:var(--muted); }
.cmd { margin-top:8px; display:flex; align-items:center; gap:8px; background:#0f1722; color:#e6edf3; border-radius:6px; padding:6px 8px; }
.cmd code { flex:1; font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; white-space:pre-wrap; word-break:break-all; user-select:all; }
.cmd-label { color:#8b949e; font-size:12px; }
.cmd button { background:#2b3645; color:#e6edf3; border:1px solid #445266; border-radius:4px; padding:2px 10px; cursor:pointer; }
main { padding:12px 20px 30px; }
.card { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 12px; margin-bottom:12px; }
.toolbar { display:flex; gap:8px; align-items:center; flex-wrap:wrap; margin-bottom:6px; }
.toolbar button, .toolbar select { font:inherit; font-size:13px; padding:2px 8px; border:1px solid var(--line); background:#fff; border-radius:4px; cursor:pointer; }
.toolbar .hint { color:var(--muted); font-size:12px; margin-left:auto; }
.legend { display:flex; gap:10px; flex-wrap:wrap; font-size:12px; color:var(--muted); }
.sw { display:inline-block; width:18px; height:10px; border-radius:2px; vertical-align:middle; margin-right:4px; border:1px solid rgba(0,0,0,.25); }
#overview { display:block; width:100%; height:44px; border:1px solid var(--line); border-radius:4px; cursor:pointer; margin-bottom:4px; }
#scroller { position:relative; overflow-y:auto; overflow-x:hidden; border:1px solid var(--line); border-radius:4px; }
#chart { position:sticky; top:0; display:block; cursor:grab; outline:none; }
#chart.dragging { cursor:grabbing; }
#tip { position:fixed; pointer-events:none; background:#0f1722; color:#e6edf3; font-size:12px; padding:4px 7px; border-radius:4px; max-width:520px; white-space:pre-wrap; word-break:break-word; display:none; z-index:10; }
.grid { display:grid; grid-template-columns: minmax(0,1fr) minmax(0,1fr); gap:12px; }
@media (max-width: 1000px) { .grid { grid-template-columns: minmax(0,1fr); } }
dl { display:grid; grid-template-columns:max-content minmax(0,1fr); gap:3px 12px; margin:0; }
dt { color:var(--muted); } dd { margin:0; font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px; white-space:pre-wrap; word-break:break-word; }
.empty { color:var(--muted); font-style:italic; }
ul.findings { list-style:none; margin:0; padding:0; max-height:420px; overflow:auto; }
ul.findings li { padding:6px 4px; border-bottom:1px solid var(--line); }
ul.findings li:last-child { border-bottom:0; }
.kind { font-weight:600; color:#c92a2a; }
.item { font-family:ui-monospace,monospace; background:#eef1f5; padding:0 4px; border-radius:3px; margin-left:4px; }
a.ev, a.act { color:#1864ab; text-decoration:none; font-family:ui-monospace,monospace; font-size:12px; margin-right:5px; cursor:pointer; }
a.ev:hover, a.act:hover { text-decoration:underline; }
.evs { margin-top:2px; }
pre.details { margin:4px 0 0; font-size:11.5px; background:#f3f5f8; padding:4px 6px; border-radius:4px; overflow:auto; max-height:160px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:3px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:500; }
td.key { font-family:ui-monospace,monospace; word-break:break-all; }
.v-true { color:#2f9e44; } .v-false { color:#e03131; font-weight:600; } .v-unknown { color:#f08c00; font-weight:600; }
.note { color:var(--muted); font-size:12px; margin-top:4px; }
</style>
</head>
<body>
<header>
<h1>@@TITLE@@</h1>
<div class="top"><span class="verdict @@VERDICT_CLASS@@" id="verdict">@@VERDICT@@</span><span class="summary">@@SUMMARY@@</span></div>
@@COMMAND@@
</header>
<main>
<section class="card">
<div class="toolbar">
<button type="button" id="zoom-in" title="zoom in (+)">+</button>
<button type="button" id="zoom-out" title="zoom out (-)">&minus;</button>
<button type="button" id="fit" title="whole history (0)">fit</button>
<button type="button" id="next-stuck" title="next op that could not be linearized (n)">next stuck</button>
<select id="part-filter" title="dim ops of other partitions"><option value="-1">all partitions</option></select>
<label><input type="checkbox" id="show-path" checked> linearization order</label>
<span class="hint">wheel: zoom · shift+wheel: scroll lanes · drag: pan · click: details</span>
</div>
<div class="legend">
<span><span class="sw" style="background:#4c8fdc"></span>linearized (#order)</span>
<span><span class="sw" style="background:#e03131"></span>could not be linearized next</span>
<span><span class="sw" style="background:#bfd0e3"></span>after the longest prefix</span>
<span><span class="sw" style="background:#aab4bf"></span>not checked</span>
<span><span class="sw" style="background:repeating-linear-gradient(45deg,#e9ecef 0 3px,#adb5bd 3px 5px)"></span>fail (did not happen)</span>
<span><span class="sw" style="background:linear-gradient(90deg,#f7b955,#fff1d6)"></span>info (unknown, open-ended)</span>
<span><span class="sw" style="background:#9c36b5"></span>nemesis op</span>
<span><span class="sw" style="background:rgba(250,82,82,.16)"></span>fault window</span>
</div>
<canvas id="overview"></canvas>
<div id="scroller"><canvas id="chart" tabindex="0"></canvas><div id="spacer"></div></div>
</section>
<div class="grid">
<section class="card"><h2>Selected operation</h2><dl id="detail"></dl><p class="empty" id="detail-empty">Click an operation (or a finding's event) to see it here.</p></section>
<section class="card"><h2 id="findings-title">Findings</h2><ul class="findings" id="findings"></ul></section>
</div>
<section class="card"><h2>Linearizability by partition</h2><div id="parts"></div></section>
</main>
<div id="tip"></div>
<script type="application/json" id="data">@@DATA@@</script>
<script>
(function () {
"use strict";
var D = JSON.parse(document.getElementById("data").textContent);
var O = D.ops, S = D.strs, N = O.call.length;
var LANE_H = 22, AXIS_H = 30, GUTTER = 92, MAX_LIST = 400;
var t0 = D.t0, N_OPEN = O.end.indexOf(null) >= 0 || D.nem.some(function (n) { return n.e === null; });
// Open-ended things (never completed, fault never stopped) run a little past the last event.
var t1 = D.t1 + (N_OPEN ? (D.t1 - t0) * 0.04 : 0), span = t1 - t0;
var nemLane = D.lanes.length && D.nem.length ? 0 : -1;
var COLORS = ["#4c8fdc", "#bfd0e3", "#e03131", "#aab4bf"];
var $ = function (id) { return document.getElementById(id); };
var chart = $("chart"), ctx = chart.getContext("2d"), scroller = $("scroller"), spacer = $("spacer");
var overview = $("overview"), octx = overview.getContext("2d"), tip = $("tip");
var dpr = window.devicePixelRatio || 1;
var viewStart = t0, nsPerPx = 1, cssW = 800, cssH = 300;
var selected = null;          // {t:"o"|"n", i}
var marked = new Set();       // "o12" / "n3": ops a finding points at
var activePart = -1;
var failPattern = null;

function endOf(i) { var e = O.end[i]; return e === null ? t1 : e; }
function str(k) { return k < 0 ? null : S[k]; }
function json(v) { return v === undefined ? "" : JSON.stringify(v); }

// Per-lane op lists sorted by call, with a prefix max of ends so a window can be found by bisection.
var laneOps = [], lanePmax = [], laneTail = [];
(function buildLanes() {
  var L = D.lanes.length, counts = new Int32Array(L), i;
  for (i = 0; i < N; i++) counts[O.lane[i]]++;
  for (var l = 0; l < L; l++) { laneOps.push(new Int32Array(counts[l])); laneTail.push(Infinity); }
  var fill = new Int32Array(L);
  for (i = 0; i < N; i++) { var ln = O.lane[i]; laneOps[ln][fill[ln]++] = i; }
  for (l = 0; l < L; l++) {
    var arr = Array.prototype.slice.call(laneOps[l]);
    arr.sort(function (a, b) { return O.call[a] - O.call[b]; });
    var ops = Int32Array.from(arr), pm = new Float64Array(ops.length), m = -Infinity;
    for (var k = 0; k < ops.length; k++) {
      var o = ops[k];
      m = Math.max(m, endOf(o)); pm[k] = m;
      if (O.st[o] === 2) laneTail[l] = Math.min(laneTail[l], endOf(o));
    }
    laneOps[l] = ops; lanePmax[l] = pm;
  }
})();

function firstEndingAfter(l, t) { // first k with prefix-max end >= t
  var pm = lanePmax[l], lo = 0, hi = pm.length;
  while (lo < hi) { var mid = (lo + hi) >> 1; if (pm[mid] < t) lo = mid + 1; else hi = mid; }
  return lo;
}

function x(t) { return GUTTER + (t - viewStart) / nsPerPx; }
function tAt(px) { return viewStart + (px - GUTTER) * nsPerPx; }
function chartW() { return Math.max(50, cssW - GUTTER); }
function contentH() { return AXIS_H + D.lanes.length * LANE_H + 6; }
function laneY(l) { return AXIS_H + l * LANE_H - scroller.scrollTop; }

function fit() { nsPerPx = span * 1.04 / chartW(); viewStart = t0 - span * 0.02; clampView(); draw(); }
function clampView() {
  var maxNs = span * 3 / chartW();
  nsPerPx = Math.min(Math.max(nsPerPx, 0.02), Math.max(maxNs, 0.02));
  var vis = chartW() * nsPerPx;
  viewStart = Math.min(Math.max(viewStart, t0 - vis * 0.9), t1 - vis * 0.1);
}
function zoomAt(px, factor) {
  var t = tAt(px); nsPerPx *= factor; viewStart = t - (px - GUTTER) * nsPerPx; clampView(); requestDraw();
}

var pending = false;
function requestDraw() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); } }

function resize() {
  dpr = window.devicePixelRatio || 1;
  var oldW = chartW();
  cssW = scroller.clientWidth;
  cssH = Math.min(contentH(), Math.max(240, Math.round(window.innerHeight * 0.6)));
  scroller.style.height = cssH + 2 + "px";
  spacer.style.height = Math.max(0, contentH() - cssH) + "px";
  chart.style.width = cssW + "px"; chart.style.height = cssH + "px";
  chart.width = Math.round(cssW * dpr); chart.height = Math.round(cssH * dpr);
  overview.width = Math.round(overview.clientWidth * dpr); overview.height = Math.round(44 * dpr);
  nsPerPx = nsPerPx * oldW / chartW();
  buildHistogram();
}

function makeFailPattern() {
  var c = document.createElement("canvas"); c.width = c.height = 6;
  var g = c.getContext("2d"); g.fillStyle = "#e9ecef"; g.fillRect(0, 0, 6, 6);
  g.strokeStyle = "#adb5bd"; g.lineWidth = 1.6; g.beginPath(); g.moveTo(0, 6); g.lineTo(6, 0); g.moveTo(-1, 1); g.lineTo(1, -1); g.moveTo(5, 7); g.lineTo(7, 5); g.stroke();
  return ctx.createPattern(c, "repeat");
}

function niceStep(raw) {
  var p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}
function fmtT(ns, step) {
  var a = Math.max(Math.abs(step || ns), 1e-9), u, d;
  if (a >= 1e9) { u = " s"; d = 1e9; } else if (a >= 1e6) { u = " ms"; d = 1e6; } else if (a >= 1e3) { u = " µs"; d = 1e3; } else { u = " ns"; d = 1; }
  var digits = step ? Math.max(0, Math.ceil(-Math.log10(step / d) + 1e-9)) : 3;
  return (ns / d).toFixed(Math.min(digits, 6)) + u;
}
function fmtDur(ns) { return fmtT(ns, null); }

function opColor(i) {
  if (O.cat[i] === 2) return COLORS[2];
  if (O.st[i] === 1) return failPattern;
  if (O.st[i] === 2) return "#f7b955";
  return COLORS[O.cat[i]];
}

function draw() {
  if (!failPattern) failPattern = makeFailPattern();
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, cssW, cssH);
  var vs = viewStart, ve = tAt(cssW);
  var L = D.lanes.length, firstLane = Math.max(0, Math.floor((scroller.scrollTop) / LANE_H)), lastLane = Math.min(L - 1, Math.ceil((scroller.scrollTop + cssH - AXIS_H) / LANE_H));
  // lane stripes
  for (var l = firstLane; l <= lastLane; l++) {
    var y = laneY(l);
    if (l % 2) { ctx.fillStyle = "#f7f9fb"; ctx.fillRect(GUTTER, y, cssW - GUTTER, LANE_H); }
    if (l === nemLane) { ctx.fillStyle = "#f8f0fc"; ctx.fillRect(GUTTER, y, cssW - GUTTER, LANE_H); }
  }
  // fault windows behind everything
  ctx.save(); ctx.beginPath(); ctx.rect(GUTTER, AXIS_H, cssW - GUTTER, cssH - AXIS_H); ctx.clip();
  D.bands.forEach(function (b) {
    var e = b.e === null ? t1 : b.e;
    if (e < vs || b.b > ve) return;
    var x0 = x(b.b), x1 = Math.max(x(e), x0 + 2);
    ctx.fillStyle = "rgba(250,82,82,.13)"; ctx.fillRect(x0, AXIS_H, x1 - x0, cssH - AXIS_H);
    ctx.fillStyle = "rgba(224,49,49,.55)"; ctx.fillRect(x0, AXIS_H, 1, cssH - AXIS_H);
  });
  // the linearization order under the bars (its lines show between them), then the ops
  var path = $("show-path").checked ? pathInView() : null;
  if (path) drawPath(path);
  var focus = activePart >= 0 ? activePart : pathPartition();
  for (l = firstLane; l <= lastLane; l++) drawLane(l, vs, ve, focus);
  if (path) drawStuckLink(path);
  drawMarks(vs, ve);
  ctx.restore();
  drawGutter(firstLane, lastLane);
  drawAxis(vs, ve);
  drawOverview();
}

function drawLane(l, vs, ve, focus) { // ops of partitions other than `focus` are dimmed
  var y = laneY(l) + 4, h = LANE_H - 8;
  if (l === nemLane) { drawNemesis(y, h, vs, ve); return; }
  var ops = laneOps[l];
  if (laneTail[l] < ve) { // unknown ops may take effect any time later: a dashed tail to the end
    ctx.strokeStyle = "rgba(240,140,0,.5)"; ctx.setLineDash([2, 4]); ctx.lineWidth = 1; ctx.beginPath();
    ctx.moveTo(Math.max(x(laneTail[l]), GUTTER), y + h + 1.5); ctx.lineTo(x(t1), y + h + 1.5); ctx.stroke(); ctx.setLineDash([]);
  }
  var lastPx = -1, lastColor = null;
  for (var k = firstEndingAfter(l, vs); k < ops.length; k++) {
    var i = ops[k], c = O.call[i];
    if (c > ve) break;
    var e = endOf(i);
    if (e < vs) continue;
    var x0 = x(c), x1 = x(e), w = Math.max(x1 - x0, 1);
    var color = opColor(i);
    var dim = focus >= 0 && O.part[i] !== focus;
    if (w < 1.5 && !dim && Math.floor(x0) === lastPx && color === lastColor) continue;
    lastPx = Math.floor(x0); lastColor = color;
    ctx.globalAlpha = dim ? 0.3 : 1;
    if (O.st[i] === 2 && O.cat[i] !== 2 && w > 6) {
      var g = ctx.createLinearGradient(x0, 0, x1, 0); g.addColorStop(0, "#f7b955"); g.addColorStop(1, "#fff1d6");
      ctx.fillStyle = g;
    } else ctx.fillStyle = color;
    ctx.fillRect(x0, y, w, h);
    if (w > 4) {
      ctx.lineWidth = 1;
      if (O.st[i] === 2) { ctx.strokeStyle = "#d9480f"; ctx.setLineDash([4, 2]); ctx.strokeRect(x0 + .5, y + .5, w - 1, h - 1); ctx.setLineDash([]); }
      else { ctx.strokeStyle = O.cat[i] === 2 ? "#a51d1d" : "rgba(0,0,0,.28)"; ctx.strokeRect(x0 + .5, y + .5, w - 1, h - 1); }
    }
    if (w > 22) label(i, x0, y, w, h);
    ctx.globalAlpha = 1;
  }
}

function label(i, x0, y, w, h) {
  var pos = O.pos[i], f = str(O.f[i]) || "";
  var text = (pos ? "#" + pos + " " : "") + (w > 140 ? O.desc[i] : f);
  var left = Math.max(x0, GUTTER) + 3, room = x0 + w - left - 3;
  if (room < 10) return;
  ctx.save(); ctx.beginPath(); ctx.rect(left, y, room, h); ctx.clip();
  ctx.fillStyle = O.cat[i] === 2 ? "#fff" : "#10243d"; ctx.font = (pos ? "600 " : "") + "11px system-ui,sans-serif"; ctx.textBaseline = "middle";
  ctx.fillText(text, left, y + h / 2 + 0.5);
  ctx.restore();
}

function drawNemesis(y, h, vs, ve) {
  D.nem.forEach(function (n, j) {
    var e = n.e === null ? t1 : n.e;
    if (e < vs || n.b > ve) return;
    var x0 = x(n.b), w = Math.max(x(e) - x0, 3);
    ctx.fillStyle = "#9c36b5"; ctx.fillRect(x0, y, w, h);
    if (w > 30) {
      ctx.save(); ctx.beginPath(); ctx.rect(x0, y, w, h); ctx.clip();
      ctx.fillStyle = "#fff"; ctx.font = "11px system-ui,sans-serif"; ctx.textBaseline = "middle"; ctx.fillText(n.f, x0 + 3, y + h / 2 + .5); ctx.restore();
    } else if (w <= 3) { // a point in time: label beside it
      ctx.fillStyle = "#862e9c"; ctx.font = "10px system-ui,sans-serif"; ctx.textBaseline = "middle"; ctx.fillText(n.f, x0 + 5, y + h / 2 + .5);
    }
  });
}

function opCenter(i) {
  var c = O.call[i], e = O.st[i] === 2 ? (O.end[i] === null ? c : O.end[i]) : endOf(i);
  return [x((c + e) / 2), laneY(O.lane[i]) + LANE_H / 2];
}
var orderCache = {};
function partOrder(p) {
  if (!orderCache[p]) {
    var arr = [];
    for (var i = 0; i < N; i++) if (O.part[i] === p && O.pos[i] > 0) arr.push(i);
    arr.sort(function (a, b) { return O.pos[a] - O.pos[b]; });
    orderCache[p] = arr;
  }
  return orderCache[p];
}
function pathPartition() {
  if (activePart >= 0) return activePart;
  if (selected && selected.t === "o") return O.part[selected.i];
  return -1;
}
// The order is only readable when few steps are on screen: zoomed out it would be a scribble.
var MAX_PATH_STEPS = 300;
function pathInView() {
  var p = pathPartition();
  if (p < 0) return null;
  var order = partOrder(p), stuck = D.parts[p].stuck, vs = viewStart, ve = tAt(cssW), seen = 0;
  for (var k = 0; k < order.length; k++) {
    var i = order[k];
    if (O.call[i] <= ve && endOf(i) >= vs && ++seen > MAX_PATH_STEPS) return null;
  }
  return { order: order, next: stuck.length && order.length ? stuck[0] : -1 };
}
function drawPath(path) {
  var order = path.order;
  if (order.length < 2) return;
  ctx.strokeStyle = "rgba(16,36,61,.6)"; ctx.lineWidth = 1.3; ctx.beginPath();
  var prev = opCenter(order[0]);
  for (var k = 1; k < order.length; k++) {
    var cur = opCenter(order[k]);
    if (Math.max(prev[0], cur[0]) >= GUTTER && Math.min(prev[0], cur[0]) <= cssW) { ctx.moveTo(prev[0], prev[1]); ctx.lineTo(cur[0], cur[1]); }
    prev = cur;
  }
  ctx.stroke();
}
function drawStuckLink(path) { // from the last op of the longest prefix to the op that cannot follow it
  if (path.next < 0) return;
  var a = opCenter(path.order[path.order.length - 1]), b = opCenter(path.next);
  ctx.strokeStyle = "#e03131"; ctx.setLineDash([4, 3]); ctx.lineWidth = 2; ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke(); ctx.setLineDash([]);
}

function outline(key, color, width) {
  var r = rectOf(key); if (!r) return;
  ctx.strokeStyle = color; ctx.lineWidth = width; ctx.strokeRect(r[0] - 2, r[1] - 2, r[2] + 4, r[3] + 4);
}
function rectOf(key) {
  var t = key[0], i = +key.slice(1), c, e, l;
  if (t === "o") { c = O.call[i]; e = endOf(i); l = O.lane[i]; }
  else { var n = D.nem[i]; c = n.b; e = n.e === null ? t1 : n.e; l = nemLane; }
  var x0 = x(c);
  return [x0, laneY(l) + 4, Math.max(x(e) - x0, 3), LANE_H - 8];
}
function drawMarks(vs, ve) {
  // stuck ops get a marker above them so they stay visible when zoomed out
  D.parts.forEach(function (p) {
    p.stuck.forEach(function (i) {
      var c = O.call[i]; if (c > ve || endOf(i) < vs) return;
      var px = Math.max(x(c), GUTTER), y = laneY(O.lane[i]) + 4;
      ctx.fillStyle = "#e03131"; ctx.beginPath(); ctx.moveTo(px - 4, y - 4); ctx.lineTo(px + 4, y - 4); ctx.lineTo(px, y + 1); ctx.fill();
    });
  });
  marked.forEach(function (k) { outline(k, "#f59f00", 2.5); });
  if (selected) outline(selected.t + selected.i, "#10243d", 2);
}

function drawGutter(firstLane, lastLane) {
  ctx.fillStyle = "#fff"; ctx.fillRect(0, AXIS_H, GUTTER, cssH - AXIS_H);
  ctx.fillStyle = "#eef1f5"; ctx.fillRect(GUTTER - 1, AXIS_H, 1, cssH - AXIS_H);
  ctx.font = "11px ui-monospace,monospace"; ctx.textBaseline = "middle";
  for (var l = firstLane; l <= lastLane; l++) {
    var y = laneY(l) + LANE_H / 2;
    if (y < AXIS_H) continue;
    ctx.fillStyle = l === nemLane ? "#862e9c" : "#5f6b7a";
    var name = l === nemLane ? "nemesis" : "p " + D.lanes[l];
    ctx.save(); ctx.beginPath(); ctx.rect(0, AXIS_H, GUTTER - 6, cssH); ctx.clip(); ctx.fillText(name, 8, y); ctx.restore();
  }
}

function drawAxis(vs, ve) {
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, cssW, AXIS_H);
  ctx.fillStyle = "#d8dee6"; ctx.fillRect(0, AXIS_H - 1, cssW, 1);
  var step = niceStep(nsPerPx * 110);
  ctx.font = "11px system-ui,sans-serif"; ctx.textBaseline = "top"; ctx.fillStyle = "#5f6b7a";
  for (var t = Math.ceil(vs / step) * step; t <= ve; t += step) {
    var px = x(t); if (px < GUTTER) continue;
    ctx.fillStyle = "#c5ccd6"; ctx.fillRect(px, AXIS_H - 7, 1, 7);
    var tl = fmtT(t, step);
    if (px + 3 + ctx.measureText(tl).width < cssW) { ctx.fillStyle = "#5f6b7a"; ctx.fillText(tl, px + 3, 5); }
  }
  D.bands.forEach(function (b) {
    var e = b.e === null ? t1 : b.e; if (e < vs || b.b > ve) return;
    var x0 = Math.max(x(b.b), GUTTER), x1 = Math.min(x(e), cssW);
    ctx.fillStyle = "rgba(224,49,49,.8)"; ctx.fillRect(x0, AXIS_H - 4, Math.max(x1 - x0, 2), 3);
    if (x1 - x0 > 40) { ctx.save(); ctx.beginPath(); ctx.rect(x0, 17, x1 - x0, 12); ctx.clip(); ctx.fillStyle = "#c92a2a"; ctx.fillText(b.name, x0 + 2, 17); ctx.restore(); }
  });
  ctx.fillStyle = "#5f6b7a"; ctx.fillText("process", 8, 12);
}

var hist = null;
function buildHistogram() {
  var w = overview.width, bins = new Float64Array(w), bad = new Uint8Array(w);
  for (var i = 0; i < N; i++) {
    var b = Math.min(w - 1, Math.max(0, Math.floor((O.call[i] - t0) / span * w)));
    bins[b]++; if (O.cat[i] === 2) bad[b] = 1;
  }
  var m = 0; for (i = 0; i < w; i++) m = Math.max(m, bins[i]);
  hist = { bins: bins, bad: bad, max: m || 1 };
}
function drawOverview() {
  var w = overview.width, h = overview.height;
  octx.setTransform(1, 0, 0, 1, 0, 0); octx.clearRect(0, 0, w, h); octx.fillStyle = "#fff"; octx.fillRect(0, 0, w, h);
  D.bands.forEach(function (b) {
    var e = b.e === null ? t1 : b.e, x0 = (b.b - t0) / span * w, x1 = (e - t0) / span * w;
    octx.fillStyle = "rgba(250,82,82,.2)"; octx.fillRect(x0, 0, Math.max(x1 - x0, 2 * dpr), h);
  });
  octx.fillStyle = "#8fb3de";
  for (var i = 0; i < w; i++) if (hist.bins[i]) { var bh = Math.max(1, hist.bins[i] / hist.max * (h - 4)); octx.fillRect(i, h - bh, 1, bh); }
  octx.fillStyle = "#e03131";
  for (i = 0; i < w; i++) if (hist.bad[i]) octx.fillRect(i - dpr, 0, 2 * dpr, h);
  var v0 = (viewStart - t0) / span * w, v1 = (tAt(cssW) - t0) / span * w;
  if (v0 <= 0 && v1 >= w) return; // the whole history is in view: no window to show
  octx.fillStyle = "rgba(16,36,61,.07)"; octx.fillRect(v0, 0, v1 - v0, h);
  octx.strokeStyle = "#10243d"; octx.lineWidth = dpr; octx.strokeRect(v0 + .5, .5, Math.max(v1 - v0, 2) - 1, h - 1);
}

// ---- hit testing and interaction
function hit(px, py) {
  if (px < GUTTER || py < AXIS_H) return null;
  var l = Math.floor((py - AXIS_H + scroller.scrollTop) / LANE_H);
  if (l < 0 || l >= D.lanes.length) return null;
  var t = tAt(px), tol = 3 * nsPerPx;
  if (l === nemLane) {
    var best = null;
    D.nem.forEach(function (n, j) { var e = n.e === null ? t1 : n.e; if (n.b - tol <= t && t <= e + tol) best = j; });
    return best === null ? null : { t: "n", i: best };
  }
  var ops = laneOps[l], pick = -1, pickLen = Infinity;
  var k = firstEndingAfter(l, t - tol);
  for (var steps = 0; k < ops.length && steps < 5000; k++, steps++) {
    var i = ops[k], c = O.call[i]; if (c - tol > t) break;
    var e = endOf(i);
    if (t <= e + tol && e - c < pickLen) { pick = i; pickLen = e - c; }
  }
  return pick < 0 ? null : { t: "o", i: pick };
}

function mousePos(ev) { var r = chart.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; }
var drag = null;
chart.addEventListener("mousedown", function (ev) {
  if (ev.button !== 0) return;
  drag = { x: ev.clientX, y: ev.clientY, vs: viewStart, st: scroller.scrollTop, moved: false };
  chart.classList.add("dragging"); chart.focus(); ev.preventDefault();
});
window.addEventListener("mousemove", function (ev) {
  if (drag) {
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    viewStart = drag.vs - dx * nsPerPx; scroller.scrollTop = drag.st - dy; clampView(); requestDraw();
    tip.style.display = "none"; return;
  }
  if (ev.target !== chart) { tip.style.display = "none"; return; }
  var p = mousePos(ev), h = hit(p[0], p[1]);
  if (!h) { tip.style.display = "none"; chart.style.cursor = ""; return; }
  chart.style.cursor = "pointer";
  tip.textContent = tipText(h);
  tip.style.display = "block";
  tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + "px";
  tip.style.top = ev.clientY + 16 + "px";
});
window.addEventListener("mouseup", function (ev) {
  if (!drag) return;
  var moved = drag.moved; drag = null; chart.classList.remove("dragging");
  if (!moved) { var p = mousePos(ev), h = hit(p[0], p[1]); select(h, false); }
});
chart.addEventListener("mouseleave", function () { tip.style.display = "none"; });
scroller.addEventListener("wheel", function (ev) {
  var unit = ev.deltaMode === 1 ? 16 : ev.deltaMode === 2 ? cssH : 1;
  var dx = ev.deltaX * unit, dy = ev.deltaY * unit;
  ev.preventDefault();
  if (ev.shiftKey) { scroller.scrollTop += dy || dx; return; }
  if (Math.abs(dx) > Math.abs(dy)) { viewStart += dx * nsPerPx; clampView(); requestDraw(); return; }
  zoomAt(mousePos(ev)[0], Math.exp(dy * 0.0022));
}, { passive: false });
scroller.addEventListener("scroll", requestDraw);
chart.addEventListener("keydown", function (ev) {
  var vis = chartW() * nsPerPx, handled = true;
  if (ev.key === "+" || ev.key === "=") zoomAt(GUTTER + chartW() / 2, 1 / 1.5);
  else if (ev.key === "-" || ev.key === "_") zoomAt(GUTTER + chartW() / 2, 1.5);
  else if (ev.key === "0") fit();
  else if (ev.key === "ArrowLeft") { viewStart -= vis * 0.15; clampView(); requestDraw(); }
  else if (ev.key === "ArrowRight") { viewStart += vis * 0.15; clampView(); requestDraw(); }
  else if (ev.key === "ArrowUp") scroller.scrollTop -= LANE_H * 3;
  else if (ev.key === "ArrowDown") scroller.scrollTop += LANE_H * 3;
  else if (ev.key === "n") nextStuck();
  else if (ev.key === "Escape") { marked.clear(); select(null, false); }
  else handled = false;
  if (handled) ev.preventDefault();
});
var ovDrag = false;
function overviewJump(ev) {
  var r = overview.getBoundingClientRect(), t = t0 + (ev.clientX - r.left) / r.width * span;
  viewStart = t - chartW() * nsPerPx / 2; clampView(); requestDraw();
}
overview.addEventListener("mousedown", function (ev) { ovDrag = true; overviewJump(ev); ev.preventDefault(); });
window.addEventListener("mousemove", function (ev) { if (ovDrag) overviewJump(ev); });
window.addEventListener("mouseup", function () { ovDrag = false; });
$("zoom-in").onclick = function () { zoomAt(GUTTER + chartW() / 2, 1 / 1.6); };
$("zoom-out").onclick = function () { zoomAt(GUTTER + chartW() / 2, 1.6); };
$("fit").onclick = fit;
$("show-path").onchange = requestDraw;
$("next-stuck").onclick = nextStuck;
window.addEventListener("resize", function () { resize(); clampView(); draw(); });

function tipText(h) {
  if (h.t === "n") { var n = D.nem[h.i]; return "nemesis " + n.f + (n.value === null || n.value === undefined ? "" : " " + json(n.value)); }
  var i = h.i, lines = [O.desc[i]];
  var st = ["ok", "fail", "info (unknown)"][O.st[i]];
  lines.push(st + (O.st[i] === 2 ? "" : " · " + fmtDur(endOf(i) - O.call[i])) + (O.pos[i] ? " · linearized #" + O.pos[i] : "") + (O.cat[i] === 2 ? " · could not be linearized next" : ""));
  return lines.join("\n");
}

// ---- selection, details, findings
function ensureVisible(keys) {
  if (!keys.length) return;
  var lo = Infinity, hi = -Infinity, lanes = [];
  keys.forEach(function (k) {
    var i = +k.slice(1);
    if (k[0] === "o") { lo = Math.min(lo, O.call[i]); hi = Math.max(hi, O.st[i] === 2 && O.end[i] === null ? O.call[i] : endOf(i)); lanes.push(O.lane[i]); }
    else { var n = D.nem[i]; lo = Math.min(lo, n.b); hi = Math.max(hi, n.e === null ? n.b : n.e); lanes.push(nemLane); }
  });
  var vis = chartW() * nsPerPx, vs = viewStart, ve = viewStart + vis;
  var need = (hi - lo) * 1.25, tooSmall = (hi - lo) / nsPerPx < 6;
  if (need > vis || tooSmall || lo < vs || hi > ve) {
    if (need > vis) nsPerPx = Math.max(need, 1) / chartW();
    else if (tooSmall) nsPerPx = Math.min(nsPerPx, Math.max((hi - lo) * 10, 50) / chartW()); // ~1/10 of the width
    viewStart = (lo + hi) / 2 - chartW() * nsPerPx / 2; clampView();
  }
  var top = Math.min.apply(null, lanes) * LANE_H, bottom = (Math.max.apply(null, lanes) + 1) * LANE_H, room = cssH - AXIS_H;
  if (top < scroller.scrollTop || bottom > scroller.scrollTop + room) scroller.scrollTop = Math.max(0, top - room / 3);
}

function select(h, reveal) {
  selected = h;
  if (h && reveal) ensureVisible([h.t + h.i]);
  showDetail(h);
  requestDraw();
}

function row(dl, name, value) {
  if (value === null || value === undefined || value === "") return;
  var dt = document.createElement("dt"), dd = document.createElement("dd");
  dt.textContent = name; dd.textContent = String(value); dl.appendChild(dt); dl.appendChild(dd);
}
function timeText(t) { return t === null ? "never" : fmtDur(t) + "  (" + t + " ns)"; }

function showDetail(h) {
  var dl = $("detail"); dl.textContent = "";
  $("detail-empty").style.display = h ? "none" : "";
  if (!h) return;
  if (h.t === "n") {
    var n = D.nem[h.i];
    row(dl, "nemesis", n.f); row(dl, "value", json(n.value)); row(dl, "error", n.error);
    row(dl, "start", timeText(n.b)); row(dl, "end", timeText(n.e));
    row(dl, "events", "#" + n.ib + (n.ie === null ? "" : ", #" + n.ie));
    return;
  }
  var i = h.i, st = O.st[i], p = O.part[i];
  row(dl, "operation", O.desc[i]);
  row(dl, "op id", O.id[i] + "  (process " + D.lanes[O.lane[i]] + (O.node[i] >= 0 ? ", node " + str(O.node[i]) : "") + ")");
  row(dl, "status", ["ok", "fail — certainly did not happen", "info — unknown: may take effect any time after its call, or never"][st]);
  row(dl, "f", str(O.f[i]));
  row(dl, "input", json(O.in[i]));
  row(dl, "output", st === 2 ? "unknown" : json(O.out[i]));
  row(dl, "error", str(O.err[i]));
  row(dl, "call", timeText(O.call[i]));
  if (st === 2) row(dl, "completed", O.end[i] === null ? "never (no completion recorded)" : "info at " + timeText(O.end[i]));
  else { row(dl, "return", timeText(O.end[i])); row(dl, "latency", fmtDur(O.end[i] - O.call[i])); }
  row(dl, "events", "invoke #" + O.ii[i] + (O.ci[i] === null ? "" : ", completion #" + O.ci[i]));
  if (p >= 0) {
    var part = D.parts[p], key = part.key === "" ? "(single partition)" : part.key;
    row(dl, "partition", key + " — " + verdictText(part.valid));
    if (O.pos[i]) {
      row(dl, "linearized", "#" + O.pos[i] + " of " + part.lin + (part.valid === true ? "" : " (longest linearizable prefix)"));
      row(dl, "state before", str(O.sb[i])); row(dl, "state after", str(O.sa[i]));
    } else if (O.cat[i] === 2) {
      row(dl, "linearized", "NO — cannot come next after the " + part.lin + "-op prefix");
      row(dl, "state then", part.state);
    } else if (part.valid !== true) row(dl, "linearized", "not reached (after the longest linearizable prefix)");
  } else row(dl, "linearizability", st === 1 ? "excluded (failed ops did not happen)" : "not checked for this op");
}

function verdictText(v) { return v === true ? "linearizable" : v === false ? "NOT linearizable" : "unknown (time limit)"; }

var eventMap = null;
function targetOfEvent(ev) {
  if (!eventMap) {
    eventMap = new Map();
    for (var i = 0; i < N; i++) { eventMap.set(O.ii[i], "o" + i); if (O.ci[i] !== null) eventMap.set(O.ci[i], "o" + i); }
    D.nem.forEach(function (n, j) { eventMap.set(n.ib, "n" + j); if (n.ie !== null) eventMap.set(n.ie, "n" + j); });
  }
  return eventMap.get(ev);
}
function keyToSel(k) { return { t: k[0], i: +k.slice(1) }; }

function link(text, title, onclick) {
  var a = document.createElement("a"); a.className = "act"; a.href = "#"; a.textContent = text; if (title) a.title = title;
  a.addEventListener("click", function (e) { e.preventDefault(); onclick(); });
  return a;
}

function showFinding(f) {
  var keys = [];
  f.events.forEach(function (ev) { var k = targetOfEvent(ev); if (k && keys.indexOf(k) < 0) keys.push(k); });
  marked = new Set(keys);
  ensureVisible(keys.slice(0, 2000));
  if (keys.length) { selected = keyToSel(keys[0]); showDetail(selected); }
  requestDraw();
}

function renderFindings() {
  var ul = $("findings");
  $("findings-title").textContent = "Findings (" + D.findings.length + ")";
  if (!D.findings.length) { var li = document.createElement("li"); li.className = "empty"; li.textContent = "No stock findings."; ul.appendChild(li); return; }
  D.findings.slice(0, MAX_LIST).forEach(function (f) {
    var li = document.createElement("li");
    var head = document.createElement("div");
    var kind = document.createElement("span"); kind.className = "kind"; kind.textContent = f.kind; head.appendChild(kind);
    if (f.item !== null && f.item !== undefined) { var it = document.createElement("span"); it.className = "item"; it.textContent = f.item; head.appendChild(it); }
    head.appendChild(document.createTextNode(" " + f.message + " "));
    head.appendChild(link("show all", "select every operation this finding names", function () { showFinding(f); }));
    li.appendChild(head);
    var evs = document.createElement("div"); evs.className = "evs"; evs.appendChild(document.createTextNode("events: "));
    f.events.slice(0, 40).forEach(function (ev) {
      var k = targetOfEvent(ev);
      if (!k) { var s = document.createElement("span"); s.className = "ev"; s.textContent = "#" + ev + " "; s.title = "no operation for this event"; evs.appendChild(s); return; }
      var a = link("#" + ev, "select the operation of event " + ev, function () { marked = new Set([k]); select(keyToSel(k), true); });
      a.className = "ev"; evs.appendChild(a);
    });
    if (f.events.length > 40) evs.appendChild(document.createTextNode("… +" + (f.events.length - 40) + " more"));
    li.appendChild(evs);
    if (f.details && Object.keys(f.details).length) {
      var det = document.createElement("details"), sum = document.createElement("summary"), pre = document.createElement("pre");
      sum.textContent = "details"; pre.className = "details"; pre.textContent = JSON.stringify(f.details, null, 1);
      det.appendChild(sum); det.appendChild(pre); li.appendChild(det);
    }
    ul.appendChild(li);
  });
  if (D.findings.length > MAX_LIST) { var more = document.createElement("li"); more.className = "note"; more.textContent = (D.findings.length - MAX_LIST) + " more findings not listed."; ul.appendChild(more); }
}

function setPartition(p) {
  activePart = p; $("part-filter").value = String(p);
  if (p >= 0) {
    var part = D.parts[p];
    var ks = part.stuck.length ? part.stuck.map(function (i) { return "o" + i; }) : [];
    if (ks.length) { marked = new Set(ks); select(keyToSel(ks[0]), true); }
  }
  requestDraw();
}

function renderPartitions() {
  var box = $("parts"), sel = $("part-filter");
  if (!D.lin) { box.textContent = "No linearizability search was run for this history."; box.className = "empty"; sel.style.display = "none"; $("next-stuck").style.display = "none"; return; }
  var order = D.parts.map(function (_, i) { return i; });
  var rank = function (v) { return v === false ? 0 : v === true ? 2 : 1; };
  order.sort(function (a, b) { return rank(D.parts[a].valid) - rank(D.parts[b].valid) || a - b; });
  var table = document.createElement("table"), thead = document.createElement("tr");
  ["partition", "verdict", "ops", "linearized", "could not come next", "state after the prefix"].forEach(function (h) { var th = document.createElement("th"); th.textContent = h; thead.appendChild(th); });
  table.appendChild(thead);
  order.slice(0, MAX_LIST).forEach(function (p) {
    var part = D.parts[p], tr = document.createElement("tr");
    var tdk = document.createElement("td"); tdk.className = "key";
    tdk.appendChild(link(part.key === "" ? "(all)" : part.key, "highlight this partition", function () { setPartition(p); }));
    tr.appendChild(tdk);
    var tdv = document.createElement("td"); tdv.className = "v-" + String(part.valid); tdv.textContent = verdictText(part.valid); tr.appendChild(tdv);
    var tdn = document.createElement("td"); tdn.textContent = String(part.n); tr.appendChild(tdn);
    var tdl = document.createElement("td"); tdl.textContent = part.valid === true && !part.lin ? "all" : String(part.lin); tr.appendChild(tdl);
    var tds = document.createElement("td");
    part.stuck.slice(0, 12).forEach(function (i) { tds.appendChild(link("op " + O.id[i], O.desc[i], function () { marked = new Set(["o" + i]); select({ t: "o", i: i }, true); })); });
    if (part.stuck.length > 12) tds.appendChild(document.createTextNode("… +" + (part.stuck.length - 12)));
    tr.appendChild(tds);
    var tdst = document.createElement("td"); tdst.className = "key"; tdst.textContent = part.valid === true ? "" : (part.state === null ? "" : part.state); tr.appendChild(tdst);
    table.appendChild(tr);
    var opt = document.createElement("option"); opt.value = String(p);
    opt.textContent = (part.key === "" ? "(all)" : part.key) + " — " + verdictText(part.valid); sel.appendChild(opt);
  });
  box.appendChild(table);
  if (order.length > MAX_LIST) { var note = document.createElement("p"); note.className = "note"; note.textContent = (order.length - MAX_LIST) + " more partitions (all linearizable or listed above first) not shown."; box.appendChild(note); }
  sel.onchange = function () { setPartition(+sel.value); };
}

var stuckList = null, stuckAt = -1;
function nextStuck() {
  if (!stuckList) { stuckList = []; D.parts.forEach(function (p) { p.stuck.forEach(function (i) { stuckList.push(i); }); }); stuckList.sort(function (a, b) { return O.call[a] - O.call[b]; }); }
  if (!stuckList.length) return;
  stuckAt = (stuckAt + 1) % stuckList.length;
  var i = stuckList[stuckAt]; marked = new Set(["o" + i]); select({ t: "o", i: i }, true);
}

var copy = $("copy");
if (copy) copy.onclick = function () {
  var text = $("cmd").textContent;
  var done = function () { copy.textContent = "Copied"; setTimeout(function () { copy.textContent = "Copy"; }, 1200); };
  if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, fallback); else fallback();
  function fallback() { var r = document.createRange(); r.selectNodeContents($("cmd")); var s = getSelection(); s.removeAllRanges(); s.addRange(r); try { document.execCommand("copy"); done(); } catch (e) { /* selected: copy by hand */ } }
};

renderFindings();
renderPartitions();
if (!D.parts.some(function (p) { return p.stuck.length; })) $("next-stuck").disabled = true;
resize();
fit();
var firstBad = -1;
D.parts.forEach(function (p, i) { if (firstBad < 0 && p.valid === false && p.stuck.length) firstBad = i; });
if (firstBad >= 0) { // start on the evidence: its lane in view, the whole history still shown
  var s0 = D.parts[firstBad].stuck[0], room = cssH - AXIS_H;
  selected = { t: "o", i: s0 }; showDetail(selected);
  if ((O.lane[s0] + 1) * LANE_H > room) scroller.scrollTop = O.lane[s0] * LANE_H - room / 3;
  requestDraw();
}
var linked = /^#op=(\d+)$/.exec(location.hash); // a link to one op: file.html#op=ID
if (linked && O.id.indexOf(+linked[1]) >= 0) { var li0 = O.id.indexOf(+linked[1]); marked = new Set(["o" + li0]); select({ t: "o", i: li0 }, true); }
})();
</script>
</body>
</html>
"""
