"""The HTML view of a check: verdict, embedded ops, escaping of untrusted text, size at 100k ops."""

from __future__ import annotations

import html
import json
import random
import re
from typing import Any

from checkers.history import Event, Operation, pair_operations
from checkers.linearizability import check_linearizability
from checkers.model import Model
from checkers.models import get_model
from checkers.result import Finding, LinearizabilityResult, LinStep, PartitionResult
from harness.report.check_view import fault_bands, nemesis_ops, render_check_html
from tests.require import requires_program

SCRIPT_BREAK = "</script><script>alert(1)</script>"
IMG_XSS = "<img src=x onerror=alert(1)>"


def embedded_data(page: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert m, "no embedded data block"
    return json.loads(m.group(1))


class EventLog:
    """Builds a history the way the recorder writes it (invoke, then completion, per process)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(
        self, time: int, type_: str, process: int | str, f: str, value: Any = None, error: str | None = None
    ) -> int:
        index = len(self.events)
        self.events.append(Event(index, time, type_, process, f, value, error=error, line=index + 1))
        return index


def stock_history() -> tuple[list[Event], list[Operation]]:
    """One item, stock 2: three buys all `sold` (an oversell), a read, a fail, an unknown, a partition."""
    log = EventLog()
    log.add(0, "invoke", 0, "reset", {"items": {"sku-1": 2}})
    log.add(1_000_000, "ok", 0, "reset", {"items": {"sku-1": 2}})
    log.add(2_000_000, "info", "nemesis", "start-partition", {"isolate": ["n1"]})
    for p, (start, end) in enumerate([(3, 9), (4, 12), (10, 15)], start=1):
        order = {"item": "sku-1", "qty": 1, "order": f"o-{p}"}
        log.add(start * 1_000_000, "invoke", p, "buy", order)
        log.add(end * 1_000_000, "ok", p, "buy", {**order, "outcome": "sold"})
    log.add(16_000_000, "invoke", 4, "read", {"item": "sku-1"})
    log.add(18_000_000, "ok", 4, "read", {"item": "sku-1", "stock": 0})
    log.add(5_000_000, "invoke", 5, "buy", {"item": "sku-1", "qty": 1, "order": "o-5"})
    log.add(7_000_000, "fail", 5, "buy", {"item": "sku-1", "qty": 1, "order": "o-5"}, error="conn refused")
    log.add(8_000_000, "invoke", 6, "buy", {"item": "sku-1", "qty": 1, "order": "o-6"})
    log.add(11_000_000, "info", 6, "buy", None, error="timeout")
    log.add(13_000_000, "info", "nemesis", "stop-partition", None)
    log.add(19_000_000, "invoke", 7, "restock", {"item": "sku-1", "qty": 3})
    events = sorted(log.events, key=lambda e: e.time)
    for i, ev in enumerate(events):
        ev.index = i
    return events, pair_operations(events)


def hand_lin(ops: list[Operation]) -> LinearizabilityResult:
    """What the stock search reports for `stock_history`: two buys fit, the third cannot."""
    by = {(o.f, (o.input or {}).get("order")): o.id for o in ops}
    b1, b2, b3 = by[("buy", "o-1")], by[("buy", "o-2")], by[("buy", "o-3")]
    checked = [o.id for o in ops if o.f in ("buy", "read", "restock") and o.status != "fail"]
    return LinearizabilityResult(
        valid=False,
        model="stock",
        partitions=[
            PartitionResult(
                key="sku-1",
                ops=checked,
                valid=False,
                linearization=[LinStep(b1, "2", "1"), LinStep(b2, "1", "0")],
                stuck=[b3],
            )
        ],
        seconds=0.01,
        engine="stock",
    )


def oversold(events: list[Event]) -> Finding:
    sold = [e.index for e in events if e.f == "buy" and e.type == "ok"]
    return Finding("oversold", "sku-1", "3 units sold, only 2 in stock", sold, {"sold": 3, "stock": 2})


def test_verdict_summary_and_command_at_top() -> None:
    events, ops = stock_history()
    page = render_check_html(
        title="hist.jsonl",
        events=events,
        ops=ops,
        model=None,
        lin=hand_lin(ops),
        findings=[oversold(events)],
        command="oversell check hist.jsonl --model stock",
    )
    head = page.split("<main>")[0]
    assert 'class="verdict invalid" id="verdict">INVALID<' in head
    assert "NOT linearizable" in head and "1 finding" in head
    assert '<code id="cmd">oversell check hist.jsonl --model stock</code>' in head
    assert page.count("<script") == 2, "self-contained: only the data block and the inline script"
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page), "no external resources"


def test_valid_and_unknown_verdicts() -> None:
    events, ops = stock_history()
    ok = LinearizabilityResult(True, "stock", [PartitionResult("sku-1", [o.id for o in ops], True)], 0.0)
    assert ">VALID<" in render_check_html(title="t", events=events, ops=ops, model=None, lin=ok, findings=[])
    unknown = LinearizabilityResult("unknown", "stock", [PartitionResult("sku-1", [], "unknown")], 1.0)
    page = render_check_html(title="t", events=events, ops=ops, model=None, lin=unknown, findings=[])
    assert 'class="verdict unknown"' in page and ">UNKNOWN<" in page
    assert 'id="cmd"' not in page, "no command box without a command"


def test_embeds_ops_linearization_and_nemesis() -> None:
    events, ops = stock_history()
    lin = hand_lin(ops)
    data = embedded_data(
        render_check_html(title="t", events=events, ops=ops, model=None, lin=lin, findings=[oversold(events)])
    )
    cols = data["ops"]
    assert len(cols["call"]) == len(ops) == 8
    assert all(len(v) == len(ops) for v in cols.values()), "every column has one entry per op"
    pos = {op.id: i for i, op in enumerate(ops)}
    b1, b2 = (pos[s.op] for s in lin.partitions[0].linearization)
    b3 = pos[lin.partitions[0].stuck[0]]
    assert (cols["pos"][b1], cols["pos"][b2], cols["pos"][b3]) == (1, 2, 0)
    assert data["strs"][cols["sb"][b2]] == "1" and data["strs"][cols["sa"][b2]] == "0"
    assert cols["cat"][b3] == 2 and cols["cat"][b1] == 0
    unknown = next(i for i, o in enumerate(ops) if o.status == "info" and o.complete_index is not None)
    assert cols["st"][unknown] == 2 and cols["end"][unknown] == 11_000_000, "info bar ends at its info event"
    never = next(i for i, o in enumerate(ops) if o.f == "restock")
    assert cols["end"][never] is None, "never completed: open-ended"
    failed = next(i for i, o in enumerate(ops) if o.status == "fail")
    assert cols["st"][failed] == 1 and data["strs"][cols["err"][failed]] == "conn refused"
    assert data["lanes"][0] == "nemesis" and data["lanes"][1:] == [str(p) for p in range(8)]
    assert data["bands"] == [{"name": "partition", "b": 2_000_000, "e": 13_000_000, "nem": [0, 1]}]
    assert data["parts"][0]["stuck"] == [b3] and data["parts"][0]["state"] == "0"
    assert data["findings"][0]["events"] == oversold(events).events
    assert "buy(" in cols["desc"][b1], "descriptions come from the model (default describe here)"


def test_nemesis_pairs_invoke_with_completion_and_unclosed_start_lasts() -> None:
    log = EventLog()
    log.add(10, "invoke", "nemesis", "start-kill", ["n2"])
    log.add(20, "info", "nemesis", "start-kill", {"killed": ["n2"]})
    log.add(30, "info", "nemesis", "start", None)
    log.add(40, "info", "nemesis", "bump-clock", {"n1": 500})
    nem = nemesis_ops(log.events)
    assert [(n["f"], n["b"], n["e"]) for n in nem] == [
        ("start-kill", 10, 20),
        ("start", 30, 30),
        ("bump-clock", 40, 40),
    ]
    assert nem[0]["value"] == {"killed": ["n2"]}
    bands = fault_bands(nem)
    assert [(b["name"], b["b"], b["e"]) for b in bands] == [
        ("kill", 10, None),
        ("fault", 30, None),
        ("bump-clock", 40, 40),
    ]


def test_untrusted_strings_never_appear_raw() -> None:
    events, ops = stock_history()
    evil = SCRIPT_BREAK + IMG_XSS + "&amp;"
    for ev in events:
        if ev.process == 4:
            ev.f = evil
            ev.value = {"item": evil, evil: [evil]}
            ev.error = evil
        if ev.process == "nemesis":
            ev.value = evil
    ops = pair_operations(events)

    class EvilModel(Model):
        name = "stock"

        def describe_operation(self, op: Operation) -> str:
            return f"{op.f} {evil}"

    lin = hand_lin(ops)
    lin.partitions[0].key = evil
    lin.partitions[0].linearization[0].state_before = evil
    finding = Finding(evil, evil, evil, [0, 3], {"why": evil})
    page = render_check_html(
        title=evil,
        events=events,
        ops=ops,
        model=EvilModel(),
        lin=lin,
        findings=[finding],
        command="oversell check " + evil,
    )
    for raw in (SCRIPT_BREAK, IMG_XSS, "</script><script>", "<img"):
        assert raw not in page
    assert page.count("</script>") == 2 and page.count("<script") == 2
    assert html.escape(evil) in page.split("<main>")[0], "title and command shown escaped"
    data = embedded_data(page)
    assert data["findings"][0]["message"] == evil, "escaping keeps the value for the script intact"
    assert data["ops"]["in"][[o.process for o in ops].index(4)][evil] == [evil]
    assert data["title"] == evil and data["parts"][0]["key"] == evil


def test_script_puts_data_in_page_only_as_text() -> None:
    """The drawing code must not hand untrusted strings to the HTML parser."""
    events, ops = stock_history()
    page = render_check_html(title="t", events=events, ops=ops, model=None, lin=None, findings=[])
    script = page.rsplit("<script>", 1)[1]
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert "linearizability not checked" in page


def synthetic_ops(n: int, processes: int = 50) -> tuple[list[Event], list[Operation]]:
    """`n` stock ops over `processes` lanes, with fails, unknowns and a partition every 10k ops."""
    rng = random.Random(7)
    log = EventLog()
    clock = [0] * processes
    for k in range(n):
        p = k % processes
        start = clock[p] + rng.randrange(1_000, 200_000)
        end = start + rng.randrange(50_000, 3_000_000)
        clock[p] = end
        item = f"sku-{k % 20}"
        if k % 10_000 == 0:
            log.add(
                start,
                "info",
                "nemesis",
                "start-partition" if k % 20_000 == 0 else "stop-partition",
                {"n": "n1"},
            )
        if k % 3:
            order = {"item": item, "qty": 1, "order": f"o-{k}"}
            log.add(start, "invoke", p, "buy", order)
            roll = rng.random()
            if roll < 0.02:
                log.add(end, "fail", p, "buy", order, error="refused")
            elif roll < 0.04:
                log.add(end, "info", p, "buy", None, error="timeout")
            else:
                log.add(end, "ok", p, "buy", {**order, "outcome": "sold" if roll < 0.6 else "sold_out"})
        else:
            log.add(start, "invoke", p, "read", {"item": item})
            log.add(end, "ok", p, "read", {"item": item, "stock": rng.randrange(100)})
    events = sorted(log.events, key=lambda e: e.time)
    for i, ev in enumerate(events):
        ev.index = i
    return events, pair_operations(events)


def test_100k_ops_stay_small() -> None:
    """Render time is bench/'s; here the page's size and that every op is in it."""
    events, ops = synthetic_ops(100_000)
    by_item: dict[str, list[int]] = {}
    for o in ops:
        if o.status != "fail":
            by_item.setdefault(o.input["item"], []).append(o.id)
    parts = [
        PartitionResult(
            key, ids, True, [LinStep(i, str(50 - k % 50), str(49 - k % 50)) for k, i in enumerate(ids)]
        )
        for key, ids in sorted(by_item.items())
    ]
    parts[0].valid = False
    parts[0].stuck = [parts[0].linearization.pop().op]
    lin = LinearizabilityResult(False, "stock", parts, 3.0, "stock")
    page = render_check_html(
        title="big", events=events, ops=ops, model=None, lin=lin, findings=[], command="x"
    )
    size = len(page.encode())
    assert size < 40_000_000
    assert len(embedded_data(page)["ops"]["call"]) == 100_000


def test_renders_real_check_results() -> None:
    """Goes through the real search and model, not the hand-built result."""
    events, ops = stock_history()
    model = get_model("stock", {"sku-1": 2})
    lin = check_linearizability(ops, model, 10.0)
    page = render_check_html(title="real", events=events, ops=ops, model=model, lin=lin, findings=[])
    data = embedded_data(page)
    assert lin.valid is False and ">INVALID<" in page
    stuck = [i for p in data["parts"] for i in p["stuck"]]
    assert stuck and all(data["ops"]["cat"][i] == 2 for i in stuck)
    assert any(data["ops"]["pos"]), "the longest prefix is numbered"
    assert data["ops"]["desc"][stuck[0]] == model.describe_operation(ops[stuck[0]])


PROBE = """<script>
window.__alerts = 0; window.alert = function () { window.__alerts++; };
</script>"""
REPORT = """<script>
document.querySelector("#findings a.ev").click();
var out = {alerts: window.__alerts, errors: window.__errors, imgs: document.querySelectorAll("img").length,
  scripts: document.querySelectorAll("script").length, detail: document.getElementById("detail").textContent,
  findings: document.getElementById("findings").textContent, parts: document.getElementById("parts").textContent,
  chart: document.getElementById("chart").width};
var pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>"""


def test_page_runs_in_a_browser_without_errors_or_injection(tmp_path) -> None:
    """Loads the page in headless Chromium and reads back what the script built."""
    import subprocess

    browser = requires_program(
        "chromium", "chromium-browser", reason="chromium not installed (apt-get install -y chromium)"
    )
    events, ops = stock_history()
    evil = SCRIPT_BREAK + IMG_XSS
    for ev in events:
        if ev.process == 4:
            ev.f = evil
            ev.value = {"item": evil}
            ev.error = evil
    ops = pair_operations(events)
    lin = hand_lin(ops)
    lin.partitions[0].key = evil
    finding = Finding("oversold", evil, evil, oversold(events).events, {"why": evil})
    page = render_check_html(
        title=evil,
        events=events,
        ops=ops,
        model=None,
        lin=lin,
        findings=[finding],
        command="oversell check x",
    )
    catch_errors = "<script>window.__errors = []; window.onerror = function (m) { window.__errors.push(String(m)); };</script>"
    page = page.replace("<head>", "<head>" + catch_errors + PROBE, 1).replace(
        "</body>", REPORT + "</body>", 1
    )
    target = tmp_path / "view.html"
    target.write_text(page, encoding="utf-8")
    dom = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1400,900",
            "--dump-dom",
            target.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    ).stdout
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert m, dom[-2000:]
    out = json.loads(html.unescape(m.group(1)))
    assert out["errors"] == [] and out["alerts"] == 0 and out["imgs"] == 0
    assert out["scripts"] == 5, "no script element was injected by the data"
    assert evil in out["findings"], "untrusted text is shown, as text"
    first = finding.events[0]
    assert f"completion #{first}" in out["detail"], "the finding's first event link selected its op"
    assert "NOT linearizable" in out["parts"] and out["chart"] > 0


def test_embed_json_handles_values_orjson_cannot() -> None:
    from harness.report.check_view import embed_json

    text = embed_json({"big": 2**70, "s": SCRIPT_BREAK, "t": ("a", 1), 3: {"x"}})
    assert "<" not in text and ">" not in text
    assert json.loads(text) == {"big": 2**70, "s": SCRIPT_BREAK, "t": ["a", 1], "3": ["x"]}
