"""A generic linearizability checker: Wing & Gong's search with Lowe's cache, as in Porcupine.

Per partition (`Model.partition`, P-compositionality) the search walks a doubly-linked list of
the completed ops' call and return entries sorted by time. At a call entry it tries to
linearize that op next (the model must accept it); at a return entry it has run out of
candidates (that op had to come by now) and backtracks. A cache of configurations already
explored keeps it from repeating work.

Semantics and choices:

- `fail` ops certainly did not happen and are left out before partitioning.
- Real-time order: a precedes b only if ret(a) < call(b). At equal times call entries sort
  before return entries, so ops whose ends touch are concurrent (a tie proves no order).
- Unknown ops (`status == "info"`, no return) may take effect at any point after their call, or
  never. They have no return entry, so they never force a backtrack, and the search succeeds
  as soon as every completed op is linearized. They are kept off the entry list: at a
  configuration, the unknown ops available are those called no later than the first pending
  return (an unknown op called after every completed op returned is never considered).
  To keep k unknown ops from costing 2^k:
  * an unknown op is never linearized where its step leaves the state unchanged (an unknown
    read, a cas whose `old` does not match): skipping it loses nothing, it stays available;
  * ops whose steps are identical (same `step_key`: by default f and input; a model may define
    `step_key(op)`, see `Model.step_key`) are interchangeable, so unknown ones are linearized only
    in call order;
  * the cache is a subsumption cache: a configuration is (completed ops linearized, state,
    unknown ops linearized), and one is pruned when an explored configuration has the same
    completed set and state and a *subset* of its unknown ops linearized (fewer used up means
    more still available, so that one can do everything this one can);
  * for subsumption to bite, unknown ops are explored breadth-first: a search frame (one
    completed set) holds a queue of (unknown set, state) nodes, tries the completed
    candidates from each node in turn, and only then queues the nodes one more unknown op
    reaches from it. Configurations with fewer unknown ops are thus met first, so k unknown
    writes of distinct values cost about k^2 steps instead of 2^k.
- Steps are memoised per (op, state) and states interned to small ints, so the model is
  called once per distinct pair and the hot loop only touches ints, lists and dicts.
- Partitions are searched round-robin, a slice of iterations each, and (as Porcupine does)
  the search stops at the first partition found not linearizable: the verdict is then known,
  and partitions still undecided are reported "unknown". `all_partitions=True` decides every
  partition instead.
- Evidence for a failed (or undecided) partition: the longest linearizable prefix found,
  measured in completed ops, and the candidates at that point, i.e. the ops that could not
  come next (unlinearized completed ops whose call precedes the first pending return, and
  available unknown ops that would change the state there).
- The time limit is a deadline shared by all partitions, read between slices; partitions not
  decided by then are "unknown".
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Generator, Hashable

from checkers.history import FAIL, Operation
from checkers.model import Model
from checkers.result import UNKNOWN, LinearizabilityResult, LinStep, PartitionResult, Verdict, combine

SLICE = 4096  # search iterations a partition runs before the next one's turn and a clock read

# A node of a frame's queue: (unknown set, state id, parent node index, unknown op that led here).
Node = tuple[int, int, int, int]
# A suspended frame: (completed set, its node queue, node index, next entry, entered by op, from node).
Frame = tuple[int, list[Node], int, int, int, int]


def step_key(model: Model, op: Operation) -> Hashable:
    """`Model.step_key`, or (f, input) when the model gives none."""
    key = model.step_key(op)
    return (op.f, repr(op.input)) if key is None else key


def check_linearizability(
    ops: list[Operation],
    model: Model,
    time_limit: float | None = None,
    *,
    all_partitions: bool = False,
) -> LinearizabilityResult:
    """Check `ops` against `model`; `time_limit` seconds (None: no limit) over all partitions."""
    started = time.monotonic()
    deadline = None if time_limit is None else started + time_limit
    happened = [op for op in ops if op.status != FAIL]
    searches = [PartitionSearch(key, part_ops, model) for key, part_ops in model.partition(happened)]
    pending = [search for search in searches if search.verdict is None]
    while pending and (deadline is None or time.monotonic() < deadline):
        undecided: list[PartitionSearch] = []
        for search in pending:
            search.advance()
            if search.verdict is None:
                undecided.append(search)
            elif search.verdict is False and not all_partitions:
                undecided = []
                break
        pending = undecided
    partitions = [search.result() for search in searches]
    return LinearizabilityResult(
        valid=combine(*(p.valid for p in partitions)),
        model=model.name,
        partitions=partitions,
        seconds=time.monotonic() - started,
        engine="generic",
    )


class PartitionSearch:
    """The search over one partition, run a slice at a time by `advance`.

    Local op index j: completed ops are 0..nc-1 (bit j of the completed set), unknown ops
    nc..n-1 in call order (bit j-nc of the unknown set).
    """

    def __init__(self, key: str, ops: list[Operation], model: Model) -> None:
        self.key = key
        self.all_ops = ops
        self.model = model
        for op in ops:
            if not op.unknown and op.ret is None:
                raise ValueError(
                    f"op {op.id} (invoke index {op.invoke_index}) is {op.status} but has no return time"
                )
        self.completed = [op for op in ops if not op.unknown]
        self.unknown = sorted((op for op in ops if op.unknown), key=lambda op: op.call)
        self.ops = self.completed + self.unknown
        self.states: list[Hashable] = []
        self.state_ids: dict[Hashable, int] = {}
        self.memo: list[dict[int, tuple[bool, int]]] = [{} for _ in self.ops]
        # caches[state id]: completed set -> the unknown sets explored with it.
        self.caches: list[dict[int, list[int]]] = []
        # The entry list (see `search`), kept here for `record`.
        self.nxt: list[int] = []
        self.is_call: list[bool] = []
        self.entry_op: list[int] = []
        self.avail_at: list[int] = []
        # Evidence: a snapshot of the deepest configuration reached (see `record`).
        self.best_depth = -1
        self.best: tuple[list[Frame], list[Node], int, int, list[int], int] | None = None
        self.verdict: Verdict | None = True if not self.completed else None
        self.slices: Generator[None, None, None] | None = None

    def advance(self) -> None:
        """Run one slice of the search; sets `verdict` once the partition is decided."""
        if self.slices is None:
            self.slices = self.search()
        try:
            next(self.slices)
        except StopIteration:
            pass

    def result(self) -> PartitionResult:
        ids = [op.id for op in self.all_ops]
        valid: Verdict = UNKNOWN if self.verdict is None else self.verdict
        if valid is True:
            return PartitionResult(self.key, ids, True)
        prefix, stuck = self.evidence()
        describe = self.model.describe_state
        states = self.states
        steps = [
            LinStep(self.ops[j].id, describe(states[before]), describe(states[after]))
            for j, before, after in prefix
        ]
        return PartitionResult(self.key, ids, valid, steps, [self.ops[j].id for j in stuck])

    def intern(self, state: Hashable) -> int:
        """A small int for `state`, each new one with an empty cache slot."""
        sid = self.state_ids.get(state)
        if sid is None:
            sid = len(self.states)
            self.state_ids[state] = sid
            self.states.append(state)
            self.caches.append({})
        return sid

    def step(self, j: int, sid: int) -> tuple[bool, int]:
        outcome = self.memo[j].get(sid)
        if outcome is None:
            legal, after = self.model.step(self.states[sid], self.ops[j])
            outcome = (True, self.intern(after)) if legal else (False, sid)
            self.memo[j][sid] = outcome
        return outcome

    def search(self) -> Generator[None, None, None]:
        """The iterative search; yields every SLICE iterations, sets `verdict` at the end.

        The top frame lives in locals: `lc` (completed set), `closure` (its queue of nodes
        (unknown set, state, parent node, unknown op that led here)), `ci` (the node being
        expanded, whose unknown set and state are `u_set`, `sid`), `entry` (the next entry to
        try from it) and how the frame was entered (`via_j` from node `via_ci` of the frame
        below). `stack` holds the frames below.
        """
        ops = self.ops
        nc = len(self.completed)
        unknown_calls = [op.call for op in self.unknown]
        # Entries sorted by (time, calls before returns, op): ids 1..E, head 0, tail E+1.
        raw = [(op.call, 0, j) for j, op in enumerate(self.completed)]
        raw += [(op.ret or 0, 1, j) for j, op in enumerate(self.completed)]
        raw.sort()
        size = len(raw) + 2
        tail = size - 1
        is_call = [False] * size
        entry_op = [-1] * size
        avail_at = [0] * size  # at a return entry: how many unknown ops were called by then
        call_entry = [0] * nc
        ret_entry = [0] * nc
        for e, (t, kind, j) in enumerate(raw, start=1):
            entry_op[e] = j
            if kind == 0:
                is_call[e] = True
                call_entry[j] = e
            else:
                ret_entry[j] = e
                avail_at[e] = bisect_right(unknown_calls, t)
        nxt = list(range(1, size + 1))
        prv = list(range(-1, size - 1))
        self.nxt, self.is_call, self.entry_op, self.avail_at = nxt, is_call, entry_op, avail_at
        bits = [1 << j for j in range(nc)]
        ubits = [1 << u for u in range(len(self.unknown))]
        # Interchangeable unknown ops go in call order: twin[u] is the bit of the previous one.
        twin = [0] * len(self.unknown)
        last_of_key: dict[Hashable, int] = {}
        for u, op in enumerate(self.unknown):
            key = step_key(self.model, op)
            twin[u] = last_of_key.get(key, 0)
            last_of_key[key] = ubits[u]

        memo = self.memo
        model_step = self.model.step
        states = self.states
        state_ids = self.state_ids
        caches = self.caches
        sid = self.intern(self.model.init(self.key))
        caches[sid][0] = [0]
        lc = 0
        u_set = 0
        closure: list[Node] = [(0, sid, -1, -1)]
        ci = 0
        via_j = -1
        via_ci = -1
        stack: list[Frame] = []
        remaining = nc
        budget = SLICE
        entry = nxt[0]
        self.record(0, stack, closure, via_j, via_ci)
        while True:
            budget -= 1
            if budget <= 0:
                yield
                budget = SLICE
            if is_call[entry]:
                e = entry
                entry = nxt[e]
                j = entry_op[e]
                outcome = memo[j].get(sid)
                if outcome is None:
                    legal, after = model_step(states[sid], ops[j])
                    if legal:
                        nsid = state_ids.get(after)
                        if nsid is None:
                            nsid = len(states)
                            state_ids[after] = nsid
                            states.append(after)
                            caches.append({})
                        outcome = (True, nsid)
                    else:
                        outcome = (False, sid)
                    memo[j][sid] = outcome
                if not outcome[0]:
                    continue
                nsid = outcome[1]
                nlc = lc | bits[j]
                cache = caches[nsid]
                seen = cache.get(nlc)
                if seen is None:
                    cache[nlc] = [u_set]
                else:
                    subsumed = False
                    for other in seen:
                        if other | u_set == u_set:
                            subsumed = True
                            break
                    if subsumed:
                        continue
                    seen.append(u_set)
                # Linearize j next: push a frame, unlink j's entries, start from the new state.
                stack.append((lc, closure, ci, entry, via_j, via_ci))
                p = prv[e]
                q = nxt[e]
                nxt[p] = q
                prv[q] = p
                r = ret_entry[j]
                p = prv[r]
                q = nxt[r]
                nxt[p] = q
                prv[q] = p
                remaining -= 1
                if remaining == 0:
                    self.verdict = True
                    return
                lc = nlc
                sid = nsid
                closure = [(u_set, nsid, -1, -1)]
                ci = 0
                via_j = j
                via_ci = stack[-1][2]
                entry = nxt[0]
                if nc - remaining > self.best_depth:
                    self.record(nc - remaining, stack, closure, via_j, via_ci)
                continue
            if entry == tail:  # pragma: no cover - a pending completed op keeps its return entry
                raise AssertionError("linearizability search ran off the entry list")
            # A pending return: no completed op can come next from this node. Queue the nodes
            # one more unknown op reaches from it, then move on to the next node.
            avail = avail_at[entry]
            if avail:
                budget -= avail
                for u in range(avail):
                    ub = ubits[u]
                    if u_set & ub or u_set & twin[u] != twin[u]:
                        continue
                    j = nc + u
                    outcome = memo[j].get(sid)
                    if outcome is None:
                        outcome = self.step(j, sid)
                    nsid = outcome[1]
                    if not outcome[0] or nsid == sid:
                        continue
                    nu_set = u_set | ub
                    cache = caches[nsid]
                    seen = cache.get(lc)
                    if seen is None:
                        cache[lc] = [nu_set]
                    else:
                        subsumed = False
                        for other in seen:
                            if other | nu_set == nu_set:
                                subsumed = True
                                break
                        if subsumed:
                            continue
                        seen.append(nu_set)
                    closure.append((nu_set, nsid, ci, j))
            ci += 1
            if ci < len(closure):
                u_set, sid = closure[ci][0], closure[ci][1]
                entry = nxt[0]
                continue
            # This frame is exhausted: undo the completed op that led to it.
            if not stack:
                self.verdict = False
                return
            r = ret_entry[via_j]
            nxt[prv[r]] = r
            prv[nxt[r]] = r
            e = call_entry[via_j]
            nxt[prv[e]] = e
            prv[nxt[e]] = e
            remaining += 1
            lc, closure, ci, entry, via_j, via_ci = stack.pop()
            u_set, sid = closure[ci][0], closure[ci][1]

    def record(self, depth: int, stack: list[Frame], closure: list[Node], via_j: int, via_ci: int) -> None:
        """Remember the deepest configuration cheaply; `evidence` rebuilds it when asked."""
        self.best_depth = depth
        entry = self.nxt[0]
        candidates: list[int] = []
        while self.is_call[entry]:
            candidates.append(self.entry_op[entry])
            entry = self.nxt[entry]
        self.best = (stack[:], closure, via_j, via_ci, candidates, self.avail_at[entry])

    def evidence(self) -> tuple[list[tuple[int, int, int]], list[int]]:
        """The deepest prefix as (op, state before, state after), and the ops that could not come next."""
        if self.best is None:
            return [], []
        stack, closure, via_j, via_ci, candidates, avail = self.best
        closures = [frame[1] for frame in stack] + [closure]
        entered = [(frame[4], frame[5]) for frame in stack[1:]] + ([(via_j, via_ci)] if stack else [])
        prefix: list[tuple[int, int, int]] = []
        for below, above, (j, node) in zip(closures[:-1], closures[1:], entered, strict=True):
            chain: list[tuple[int, int, int]] = []
            k = node
            while k > 0:
                _, after, parent, u = below[k]
                chain.append((u, below[parent][1], after))
                k = parent
            prefix.extend(reversed(chain))
            prefix.append((j, below[node][1], above[0][1]))
        u_set, sid = closure[0][0], closure[0][1]
        stuck = list(candidates)
        nc = len(self.completed)
        for u in range(avail):
            if not u_set >> u & 1:
                legal, after = self.step(nc + u, sid)
                if legal and after != sid:
                    stuck.append(nc + u)
        return prefix, stuck
