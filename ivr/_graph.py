"""A flow as a graph, for the validator: edges with their keys, costs and variables set.

Nodes are qualified names ("main_menu", "card_entry:card"). An edge is one way the call can
move: a menu option (its key), the operator key, an escalation when budgets are spent, a
collect's or host's outcome, a queue's or a failed transfer's next node, a subflow call and its
return. Each edge carries the worst-case seconds it takes (prompts heard in full plus
timeouts; see docs/ivr.md "Validator"), the variables it sets, and the document path of the
field that names its target.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from branchline.ivr._catalog import SAY_ESTIMATE, PromptCatalog
from branchline.ivr._model import (
    INPUT_KINDS,
    RETURN,
    CollectNode,
    Flow,
    MenuNode,
    Prompt,
    Say,
)

READBACK_SECONDS_PER_DIGIT = 0.35  # our estimate for one spoken digit


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str | None  # None: the field names a node that does not exist
    raw: str            # the name as written
    path: str           # document path of the field that names the target
    label: str = ""     # key(s) the caller presses, "(silence)", "<var>" or ""
    seconds: float = 0.0
    sets: frozenset[str] = frozenset()
    escalation: bool = False


@dataclass(slots=True)
class Graph:
    flow: Flow
    paths: dict[str, str] = field(default_factory=dict)  # qualified name -> document path
    edges: dict[str, list[Edge]] = field(default_factory=dict)

    def out(self, name: str) -> list[Edge]:
        return self.edges.get(name, [])

    def reachable(self, start: str) -> set[str]:
        seen = {start}
        todo = [start]
        while todo:
            for edge in self.out(todo.pop()):
                if edge.target is not None and edge.target not in seen:
                    seen.add(edge.target)
                    todo.append(edge.target)
        return seen


def prompt_seconds(prompt: Iterable[str | Say] | None, catalog: PromptCatalog,
                   languages: Iterable[str]) -> float:
    """Worst-case length of a prompt list over ``languages``."""
    langs = list(languages)
    total = 0.0
    for item in prompt or []:
        if isinstance(item, Say):
            total += SAY_ESTIMATE
        else:
            total += max((catalog.seconds(item, lang) for lang in langs), default=0.0)
    return total


def build_graph(flow: Flow, catalog: PromptCatalog, *, older: bool = False) -> Graph:
    """The flow's graph; ``older``: as a caller in the older callers' mode goes through it
    (prompts at their speed, longer timeouts, more repeats, the person key heard first)."""
    graph = Graph(flow)
    langs = flow.languages
    defaults = flow.defaults
    mode = flow.older_callers if older else None
    slow = 1.0 / mode.speed if mode else 1.0
    wait = mode.timeout_factor if mode else 1.0
    extra = mode.extra_repeats if mode else 0

    def secs(prompt: Prompt | None) -> float:
        return prompt_seconds(prompt, catalog, langs) * slow

    # Call sites of each subflow: where its "return" goes (None: the site names no node).
    sites: dict[str, list[tuple[str, str]]] = {}
    for name, _, node in flow.all_nodes():
        if node.kind == "subflow":
            scope = name.split(":", 1)[0] if ":" in name else ""
            sites.setdefault(node.flow, []).append((scope, node.next))

    def return_targets(sub: str, seen: frozenset[str] = frozenset()) -> list[str | None]:
        out: list[str | None] = []
        for scope, nxt in sites.get(sub, []):
            if nxt == RETURN and scope:
                if scope not in seen:
                    out += return_targets(scope, seen | {sub})
            else:
                out.append(flow.resolve(scope, nxt))
        return out

    for name, path, node in flow.all_nodes():
        graph.paths[name] = path
        scope = name.split(":", 1)[0] if ":" in name else ""
        edges: list[Edge] = []

        def add(raw: str | None, field_path: str, *, label: str = "", seconds: float = 0.0,
                sets: frozenset[str] = frozenset(), escalation: bool = False,
                in_scope: str | None = None, _name: str = name, _scope: str = scope,
                _edges: list[Edge] = edges) -> None:
            if raw is None:
                return
            where = _scope if in_scope is None else in_scope
            if raw == RETURN and where:
                for back in return_targets(where):
                    _edges.append(Edge(_name, back, raw, field_path, label, seconds, sets,
                                       escalation))
                return
            _edges.append(Edge(_name, flow.resolve(where, raw), raw, field_path, label,
                               seconds, sets, escalation))

        if isinstance(node, MenuNode | CollectNode) or node.kind == "survey":
            budgets = node.budgets or defaults.budgets
            first = getattr(node, "first_digit_timeout", None) or getattr(node, "timeout", None)
            timeout = (first or defaults.first_digit_timeout) * wait
            inter = (getattr(node, "inter_digit_timeout", None)
                     or defaults.inter_digit_timeout) * wait
            person = secs(mode.person_prompt) if mode and isinstance(node, MenuNode) else 0.0
            long = person + secs(node.prompt)
            short = person + secs(getattr(node, "short_prompt", None) or node.prompt)
            notice = secs(getattr(node, "no_input_prompt", None) or defaults.no_input_prompt)
            silence = long + timeout + (budgets.no_input + extra) * (notice + short + timeout)
        if isinstance(node, MenuNode):
            for key, target in node.options.items():
                wait = inter if any(k != key and k.startswith(key) for k in node.options) else 0
                add(target, f"{path}.options.{key}", label=key, seconds=long + wait)
            if flow.keys.operator:
                # In the older callers' mode the person key is said first: press it then.
                add(flow.operator, "operator", label=flow.keys.operator,
                    seconds=person if mode and mode.person_prompt else long, in_scope="")
            add(node.escalate_to, f"{path}.escalate_to", label="(silence)", seconds=silence,
                escalation=True)
            if node.escalate_to is None:
                add(flow.escalation_target(), "escalate_to" if flow.escalate_to else "operator",
                    label="(silence)", seconds=silence, escalation=True, in_scope="")
        elif isinstance(node, CollectNode):
            typing = long + inter
            if node.confirm:
                typing += (secs(node.confirm_prompt) + secs(node.confirm_options_prompt)
                           + READBACK_SECONDS_PER_DIGIT * node.max_length)
            add(node.next, f"{path}.next", label=f"<{node.var}>", seconds=typing,
                sets=frozenset({node.var}))
            add(node.escalate_to, f"{path}.escalate_to", label="(silence)", seconds=silence,
                escalation=True)
            if node.escalate_to is None:
                add(flow.escalation_target(), "escalate_to" if flow.escalate_to else "operator",
                    label="(silence)", seconds=silence, escalation=True, in_scope="")
        elif node.kind == "survey":
            add(node.next, f"{path}.next", label="1-5", seconds=long)
        elif node.kind == "play":
            add(node.next, f"{path}.next", seconds=secs(node.items))
        elif node.kind == "host":
            results = frozenset(node.results)
            add(node.on_ok, f"{path}.on_ok", seconds=node.timeout, sets=results)
            for code, target in node.on_refused.items():
                add(target, f"{path}.on_refused.{code}", label=code, seconds=node.timeout)
            add(node.on_error, f"{path}.on_error", seconds=node.timeout)
            add(node.on_timeout, f"{path}.on_timeout", seconds=node.timeout)
        elif node.kind == "switch":
            for i, case in enumerate(node.cases):
                add(case.goto, f"{path}.cases.{i}.goto")
            add(node.default, f"{path}.default")
        elif node.kind == "schedule":
            add(node.open, f"{path}.open")
            add(node.closed, f"{path}.closed")
            add(node.holiday, f"{path}.holiday")
        elif node.kind == "language":
            add(node.next, f"{path}.next")
        elif node.kind == "queue":
            for outcome in ("after_call", "on_overflow", "on_callback", "on_closed"):
                add(getattr(node, outcome), f"{path}.{outcome}")
        elif node.kind == "message":
            add(node.next, f"{path}.next", seconds=secs(node.prompt) + node.max_seconds)
        elif node.kind == "transfer":
            add(node.on_failure, f"{path}.on_failure", seconds=secs(node.prompt))
        elif node.kind == "subflow":
            if node.flow in flow.subflows:
                add(flow.subflows[node.flow].start, f"subflows.{node.flow}.start",
                    in_scope=node.flow)
            else:
                edges.append(Edge(name, None, node.flow, f"{path}.flow"))
        graph.edges[name] = edges
    return graph


def is_input(flow: Flow, name: str) -> bool:
    return flow.node(name).kind in INPUT_KINDS


def cycles_without_input(graph: Graph, names: Iterable[str]) -> list[list[str]]:
    """Strongly connected groups of non-input nodes that contain a cycle (Tarjan)."""
    flow = graph.flow
    nodes = [n for n in names if not is_input(flow, n)]
    allowed = set(nodes)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def succ(n: str) -> list[str]:
        return [e.target for e in graph.out(n) if e.target in allowed]

    def strong(v: str) -> None:
        # Iterative Tarjan, so deep flows cannot hit Python's recursion limit.
        work = [(v, iter(succ(v)))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, children = work[-1]
            advanced = False
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ(w))))
                    advanced = True
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    group.append(w)
                    if w == node:
                        break
                if len(group) > 1 or node in succ(node):
                    found.append(sorted(group))

    for n in nodes:
        if n not in index:
            strong(n)
    return sorted(found)


def languages_at(graph: Graph, start: str) -> dict[str, set[str]]:
    """Which languages the caller can have on arriving at each node."""
    flow = graph.flow
    langs: dict[str, set[str]] = {start: {flow.default_language}}
    todo = [start]
    while todo:
        name = todo.pop()
        node = flow.node(name)
        leaving = {node.set} if node.kind == "language" else langs[name]
        for edge in graph.out(name):
            if edge.target is None:
                continue
            have = langs.setdefault(edge.target, set())
            if not leaving <= have:
                have |= leaving
                todo.append(edge.target)
    return langs


def assigned_at(graph: Graph, start: str, reachable: set[str]) -> dict[str, set[str]]:
    """Variables set on every path from ``start`` to each node (a must-analysis)."""
    universe: set[str] = set()
    for edges in graph.edges.values():
        for edge in edges:
            universe |= edge.sets
    state = {n: set(universe) for n in reachable}
    state[start] = set()
    changed = True
    while changed:
        changed = False
        for name in reachable:
            for edge in graph.out(name):
                if edge.target is None or edge.target not in state or edge.target == start:
                    continue
                arriving = state[name] | edge.sets
                narrowed = state[edge.target] & arriving
                if narrowed != state[edge.target]:
                    state[edge.target] = narrowed
                    changed = True
    return state


def cheapest_paths(graph: Graph, start: str, goal: set[str], avoid: set[str] = frozenset()
                   ) -> tuple[float, tuple[str, ...], tuple[str, ...]] | None:
    """Dijkstra by worst-case seconds from ``start`` to any node in ``goal``, not passing
    through ``avoid``: (seconds, key labels, nodes visited). Subflow calls are followed
    with a return stack, so a return goes back to its own call site."""
    flow = graph.flow
    Key = tuple[str, tuple[str, ...]]
    best: dict[Key, float] = {(start, ()): 0.0}
    heap: list[tuple[float, int, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = [
        (0.0, 0, start, (), (start,), ())]
    tie = 1
    while heap:
        cost, _, name, stack, via, keys = heapq.heappop(heap)
        if name in goal:
            return cost, keys, via
        if cost > best.get((name, stack), float("inf")) or (name in avoid and name != start):
            continue
        node = flow.node(name)
        for edge in graph.out(name):
            if edge.target is None:
                continue
            new_stack = stack
            if edge.raw == RETURN and stack:
                if edge.target != stack[-1]:
                    continue
                new_stack = stack[:-1]
            elif node.kind == "subflow":
                scope = name.split(":", 1)[0] if ":" in name else ""
                back = flow.resolve(scope, node.next) if node.next != RETURN else None
                new_stack = (*stack, back) if back else stack
            new = cost + edge.seconds
            if new < best.get((edge.target, new_stack), float("inf")):
                best[(edge.target, new_stack)] = new
                label = (edge.label,) if edge.label else ()
                heapq.heappush(heap, (new, tie, edge.target, new_stack, (*via, edge.target),
                                      keys + label))
                tie += 1
    return None
