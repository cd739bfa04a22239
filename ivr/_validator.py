"""Checking a flow before it is published.

``validate_flow(flow, *, queues, endpoints, prompts) -> ValidationReport``. The report holds
``errors`` (the flow must not go live), ``warnings`` (the bank's menu rules) and ``routes``
(for the start and every menu: the keys and worst-case seconds to reach a person). Every
issue has ``path`` (the field, like "nodes.main_menu.options.1"), ``message`` (what is wrong)
and ``fix`` (what would be right), so the config page can show it next to the node.

Errors: unknown targets, queues or endpoints; unreachable nodes; nodes with no way out (no
path to a hang-up, transfer or queue); loops without caller input; option keys that collide
with global keys or are a prefix of another option; prompts missing in a language the caller
can have at that node; variables read before every path sets them; unknown caller attributes;
sensitive variables sent to an agent's screen.
Warnings: more than 5 options in a menu; menus nested deeper than 3 below the main menu; a
menu with no key that leads to a person; a main menu that plays anything before its options.
The older callers' settings are checked by ``_older_checks`` (with ``queue_classes``, the
classes of the queues the flow sends callers to, when the caller has them).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from branchline.ivr._catalog import PromptCatalog
from branchline.ivr._conditions import CALLER_ATTRIBUTES
from branchline.ivr._graph import (
    Graph,
    assigned_at,
    build_graph,
    cheapest_paths,
    cycles_without_input,
    languages_at,
)
from branchline.ivr._issue_texts import said
from branchline.ivr._model import (
    PERSON_KINDS,
    TERMINAL_KINDS,
    CollectNode,
    Flow,
    MenuNode,
    Node,
    Say,
)
from branchline.ivr._older_checks import QueueClasses, older_caller_findings

MAX_OPTIONS = 5
MAX_DEPTH = 3


@dataclass(frozen=True, slots=True)
class Issue:
    """``message`` and ``fix`` in English; ``key``, ``fix_key`` and ``params`` say the same
    for a translation (``_issue_texts``), and take no part in comparing issues."""

    path: str
    message: str
    fix: str
    key: str = dataclasses.field(default="", compare=False)
    fix_key: str = dataclasses.field(default="", compare=False)
    params: Mapping[str, object] = dataclasses.field(default_factory=dict, compare=False)


def _issue(path: str, key: str, /, fix_key: str, **params: object) -> Issue:
    return Issue(path, said(key, params), said(fix_key, params), key, fix_key, params)


@dataclass(frozen=True, slots=True)
class PersonRoute:
    """The quickest way from the flow's start to a person, through ``menu`` (None: by any
    way): the keys pressed ("<var>" is an entry, "(silence)" waiting out the budgets), the
    worst-case seconds (every prompt heard in full, timeouts waited) and the nodes passed."""

    menu: str | None
    keys: tuple[str, ...]
    seconds: float
    nodes: tuple[str, ...]
    mode: str = "standard"  # or "older": the older callers' mode (docs/ivr-insight.md)

    def describe(self) -> str:
        keys = ", ".join(self.keys) if self.keys else "no keys"
        where = f"via {self.menu}" if self.menu else "from the start"
        older = "older callers, " if self.mode == "older" else ""
        return (f"{older}{where}: {keys}; at worst {self.seconds:.1f} s "
                f"({' -> '.join(self.nodes)})")


@dataclass(frozen=True, slots=True)
class ValidationReport:
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]
    routes: tuple[PersonRoute, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def _suggest(raw: str, names: list[str], close_key: str = "ivr.fix.did_you_mean",
             list_key: str = "ivr.fix.name_one_of") -> dict[str, object]:
    """The fix for an unknown name: its key and parameters, to pass to ``_issue``."""
    close = difflib.get_close_matches(raw, names, n=1)
    if close:
        return {"fix_key": close_key, "close": close[0]}
    return {"fix_key": list_key,
            "names": ", ".join(sorted(names)[:8]) + (" ..." if len(names) > 8 else "")}


def validate_flow(flow: Flow, *, queues: set[str], endpoints: set[str],
                  prompts: PromptCatalog,
                  queue_classes: Mapping[str, QueueClasses] | None = None) -> ValidationReport:
    errors: list[Issue] = []
    warnings: list[Issue] = []
    graph = build_graph(flow, prompts)
    main_names = list(flow.nodes)

    start = flow.resolve("", flow.start)
    for field, raw in (("start", flow.start), ("operator", flow.operator),
                       ("escalate_to", flow.escalate_to), ("main_menu", flow.main_menu)):
        if raw is not None and flow.resolve("", raw) is None:
            errors.append(_issue(field, "ivr.unknown_node", name=raw,
                                 **_suggest(raw, main_names)))
    main_kind = flow.nodes[flow.main_menu].kind if flow.main_menu in flow.nodes else "menu"
    if main_kind != "menu":
        errors.append(_issue("main_menu", "ivr.main_menu_not_menu", "ivr.fix.main_menu",
                             name=flow.main_menu, kind=main_kind))
    for sub, subflow in flow.subflows.items():
        if subflow.start not in subflow.nodes:
            errors.append(_issue(f"subflows.{sub}.start", "ivr.unknown_node",
                                 name=subflow.start,
                                 **_suggest(subflow.start, list(subflow.nodes))))
    errors += _subflow_recursion(flow)

    for edges in graph.edges.values():
        for edge in edges:
            if edge.target is None and edge.path not in ("operator", "escalate_to"):
                scope = edge.source.split(":", 1)[0] if ":" in edge.source else ""
                names = list(flow.subflows[scope].nodes) if scope else main_names
                if edge.path.endswith(".flow"):
                    errors.append(_issue(edge.path, "ivr.unknown_subflow", name=edge.raw,
                                         **_suggest(edge.raw, list(flow.subflows))))
                else:
                    fixes = (("ivr.fix.did_you_mean_return", "ivr.fix.name_one_of_return")
                             if edge.raw == "return" else ())
                    errors.append(_issue(edge.path, "ivr.unknown_target", name=edge.raw,
                                         **_suggest(edge.raw, names, *fixes)))
    if start is None:
        return ValidationReport(tuple(errors), tuple(warnings), ())

    reachable = graph.reachable(start)
    for name, path, _ in flow.all_nodes():
        if name not in reachable:
            errors.append(_issue(path, "ivr.unreachable", "ivr.fix.link_or_delete"))
    errors += _no_way_out(graph, reachable)
    for group in cycles_without_input(graph, reachable):
        loop = " -> ".join([*group, group[0]])
        errors.append(_issue(graph.paths[group[0]], "ivr.loop_without_input",
                             "ivr.fix.break_loop", loop=loop))
    for name, path, node in flow.all_nodes():
        errors += _node_checks(flow, name, path, node, queues, endpoints)
    errors += _prompt_checks(flow, graph, start, reachable, prompts)
    errors += _variable_checks(flow, graph, start, reachable)
    warnings += _menu_rules(flow, graph, start, reachable, prompts)
    for found in older_caller_findings(flow, graph, start, reachable, prompts, queue_classes):
        (errors if found.error else warnings).append(
            _issue(found.path, found.key, found.fix_key, **found.params))
    routes = _routes(flow, graph, start, reachable)
    if flow.older_callers is not None:
        older = build_graph(flow, prompts, older=True)
        routes += tuple(dataclasses.replace(r, mode="older")
                        for r in _routes(flow, older, start, reachable))
    return ValidationReport(tuple(errors), tuple(warnings), routes)


def _subflow_recursion(flow: Flow) -> list[Issue]:
    calls = {sub: {n.flow for n in s.nodes.values() if n.kind == "subflow"}
             for sub, s in flow.subflows.items()}
    issues = []
    for sub in calls:
        todo, seen = list(calls[sub]), set()
        while todo:
            other = todo.pop()
            if other == sub:
                issues.append(_issue(f"subflows.{sub}", "ivr.subflow_recursion",
                                     "ivr.fix.no_recursion"))
                break
            if other not in seen and other in calls:
                seen.add(other)
                todo += calls[other]
    return issues


def _no_way_out(graph: Graph, reachable: set[str]) -> list[Issue]:
    flow = graph.flow
    exits = {n for n in reachable if flow.node(n).kind in TERMINAL_KINDS + PERSON_KINDS}
    into: dict[str, set[str]] = {}
    for name in reachable:
        for edge in graph.out(name):
            if edge.target is not None:
                into.setdefault(edge.target, set()).add(name)
    leads_out = set(exits)
    todo = list(exits)
    while todo:
        for source in into.get(todo.pop(), ()):
            if source not in leads_out:
                leads_out.add(source)
                todo.append(source)
    return [_issue(graph.paths[n], "ivr.no_way_out", "ivr.fix.lead_to_exit")
            for n in sorted(reachable - leads_out)]


def _node_checks(flow: Flow, name: str, path: str, node: Node, queues: set[str],
                 endpoints: set[str]) -> Iterator[Issue]:
    if isinstance(node, MenuNode):
        active = {k: role for role, k in (("operator", flow.keys.operator),
                                          ("back", flow.keys.back),
                                          ("repeat", flow.keys.repeat)) if k}
        inter = node.inter_digit_timeout or flow.defaults.inter_digit_timeout
        for key in node.options:
            if key[0] in active:
                role = active[key[0]]
                yield _issue(f"{path}.options.{key}", f"ivr.option_collides_{role}",
                             f"ivr.fix.other_key_{role}", key=key, global_key=key[0])
            longer = sorted(k for k in node.options if k != key and k.startswith(key))
            if longer:
                yield _issue(f"{path}.options.{key}", "ivr.option_prefix", "ivr.fix.renumber",
                             key=key, longer=", ".join(map(repr, longer)), seconds=inter)
    if node.kind == "queue" and node.queue not in queues:
        yield _issue(f"{path}.queue", "ivr.unknown_queue", name=node.queue,
                     **_suggest(node.queue, sorted(queues)))
    if node.kind == "host" and node.endpoint not in endpoints:
        yield _issue(f"{path}.endpoint", "ivr.unknown_endpoint", name=node.endpoint,
                     **_suggest(node.endpoint, sorted(endpoints)))
    for field, var in _reads(node, path):
        if var.startswith("caller.") and var not in CALLER_ATTRIBUTES:
            yield _issue(field, "ivr.unknown_caller_attribute", "ivr.fix.use_one_of", name=var,
                         names=", ".join(sorted(CALLER_ATTRIBUTES)))


def _reads(node: Node, path: str) -> Iterator[tuple[str, str]]:
    """(field path, variable) for every variable a node reads."""
    for field, prompt in _prompt_fields(node, path):
        for i, item in enumerate(prompt):
            if isinstance(item, Say) and item.var is not None:
                yield f"{field}.{i}.var", item.var
    if node.kind == "host":
        for key, var in node.body.items():
            yield f"{path}.body.{key}", var
    elif node.kind == "switch":
        for i, case in enumerate(node.cases):
            for var in case.when.variables():
                yield f"{path}.cases.{i}.when", var
    elif node.kind == "queue":
        for i, var in enumerate(node.data):
            yield f"{path}.data.{i}", var


_PROMPT_FIELDS = ("prompt", "short_prompt", "items", "invalid_prompt", "no_input_prompt",
                  "confirm_prompt", "confirm_options_prompt")


def _prompt_fields(node: Node, path: str) -> Iterator[tuple[str, list]]:
    for field in _PROMPT_FIELDS:
        value = getattr(node, field, None)
        if value:
            yield f"{path}.{field}", value


def _uses_default(node: Node, field: str) -> bool:
    return node.kind in ("menu", "collect", "survey") and getattr(node, field, None) is None


def _prompt_checks(flow: Flow, graph: Graph, start: str, reachable: set[str],
                   catalog: PromptCatalog) -> list[Issue]:
    langs_at = languages_at(graph, start)
    missing: dict[tuple[str, str], set[str]] = {}
    for name in sorted(reachable):
        node = flow.node(name)
        langs = langs_at.get(name, set())
        fields = list(_prompt_fields(node, graph.paths[name]))
        for field in ("invalid_prompt", "no_input_prompt"):
            default = getattr(flow.defaults, field)
            if default and _uses_default(node, field):
                fields.append((f"defaults.{field}", default))
        for field, prompt in fields:
            for i, item in enumerate(prompt):
                if isinstance(item, Say):
                    continue
                for lang in langs:
                    if not catalog.has(item, lang):
                        missing.setdefault((f"{field}.{i}", item), set()).add(lang)
    order = {"zh": 0, "yue": 1, "en": 2}
    return [_issue(field, "ivr.prompt_missing_language",
                   "ivr.fix.add_prompt_language" if len(langs) == 1
                   else "ivr.fix.add_prompt_languages", prompt=prompt,
                   languages=", ".join(sorted(langs, key=order.__getitem__)))
            for (field, prompt), langs in sorted(missing.items())]


def _variable_checks(flow: Flow, graph: Graph, start: str, reachable: set[str]) -> list[Issue]:
    assigned = assigned_at(graph, start, reachable)
    sensitive = {n.var for _, _, n in flow.all_nodes() if isinstance(n, CollectNode)
                 and n.sensitive}
    issues = []
    for name in sorted(reachable):
        node = flow.node(name)
        for field, var in _reads(node, graph.paths[name]):
            if var.startswith("caller."):
                continue
            if node.kind == "switch" and _only_is_set(node, var):
                continue
            if var not in assigned[name]:
                issues.append(_issue(field, "ivr.variable_maybe_unset",
                                     "ivr.fix.set_before_read", var=var))
            if node.kind == "queue" and var in sensitive:
                issues.append(_issue(field, "ivr.variable_sensitive",
                                     "ivr.fix.remove_from_data", var=var))
    return issues


def _only_is_set(node: Node, var: str) -> bool:
    def leaves(cond):
        if cond.var is not None:
            yield cond
        for child in (cond.all or []) + (cond.any or []) + ([cond.not_] if cond.not_ else []):
            yield from leaves(child)
    found = [c for case in node.cases for c in leaves(case.when) if c.var == var]
    return bool(found) and all(c.is_set is not None for c in found)


def _menu_rules(flow: Flow, graph: Graph, start: str, reachable: set[str],
                catalog: PromptCatalog) -> list[Issue]:
    issues = []
    person = {n for n in reachable if flow.node(n).kind in PERSON_KINDS}
    for name in sorted(reachable):
        node = flow.node(name)
        if not isinstance(node, MenuNode):
            continue
        path = graph.paths[name]
        if len(node.options) > MAX_OPTIONS:
            issues.append(_issue(f"{path}.options", "ivr.too_many_options",
                                 "ivr.fix.sub_menu", count=len(node.options),
                                 limit=MAX_OPTIONS))
        if not _key_leads_to_person(flow, graph, name, person):
            issues.append(_issue(path, "ivr.no_person_key", "ivr.fix.operator_key"))
    main = flow.main_menu or flow.start
    if main in reachable:
        depth = _menu_depths(flow, graph, main)
        for name, (level, chain) in sorted(depth.items()):
            if level > MAX_DEPTH:
                issues.append(_issue(graph.paths[name], "ivr.menu_too_deep",
                                     "ivr.fix.flatten", level=level,
                                     chain=" -> ".join(chain), limit=MAX_DEPTH))
    if flow.main_menu and isinstance(flow.nodes.get(flow.main_menu), MenuNode):
        prompt = flow.nodes[flow.main_menu].prompt
        if len(prompt) > 1:
            issues.append(_issue(f"nodes.{flow.main_menu}.prompt", "ivr.main_menu_prompts",
                                 "ivr.fix.options_first", count=len(prompt)))
    return issues


def _key_leads_to_person(flow: Flow, graph: Graph, menu: str, person: set[str]) -> bool:
    for edge in graph.out(menu):
        if edge.escalation or edge.target is None:
            continue
        seen, todo = {edge.target}, [edge.target]
        while todo:
            here = todo.pop()
            if here in person:
                return True
            if flow.node(here).kind in ("menu", "collect", "survey"):
                continue
            for nxt in graph.out(here):
                if nxt.target is not None and nxt.target not in seen:
                    seen.add(nxt.target)
                    todo.append(nxt.target)
    return False


def _menu_depths(flow: Flow, graph: Graph, main: str) -> dict[str, tuple[int, list[str]]]:
    """Fewest menus on a path from the main menu to each menu (the main menu is depth 1)."""
    depth = {main: (1, [main])}
    frontier = [main]
    while frontier:
        nxt = []
        for menu in frontier:
            level, chain = depth[menu]
            seen, todo = set(), [e.target for e in graph.out(menu)
                                 if e.target and not e.escalation and e.path != "operator"]
            while todo:
                here = todo.pop()
                if here in seen:
                    continue
                seen.add(here)
                if isinstance(flow.node(here), MenuNode):
                    if here not in depth:
                        depth[here] = (level + 1, [*chain, here])
                        nxt.append(here)
                    continue
                todo += [e.target for e in graph.out(here) if e.target]
        frontier = nxt
    return depth


def _routes(flow: Flow, graph: Graph, start: str, reachable: set[str]
            ) -> tuple[PersonRoute, ...]:
    """From the start straight to a person, then through every menu to a person."""
    person = {n for n in reachable if flow.node(n).kind in PERSON_KINDS}
    routes = []
    found = cheapest_paths(graph, start, person)
    if found is not None:
        routes.append(PersonRoute(None, found[1], round(found[0], 1), found[2]))
    for menu in sorted(n for n in reachable if isinstance(flow.node(n), MenuNode)):
        # Reach the menu without passing a person (a queue's outcomes lead on, but a caller
        # who reached a queue has already reached a person).
        there = cheapest_paths(graph, start, {menu}, avoid=person)
        onward = cheapest_paths(graph, menu, person)
        if there is None or onward is None:
            continue
        routes.append(PersonRoute(menu, there[1] + onward[1], round(there[0] + onward[0], 1),
                                  there[2] + onward[2][1:]))
    return tuple(routes)
