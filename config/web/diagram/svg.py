"""A flow drawn as an SVG diagram, on the server, for the flow page and Try it.

    svg = flow_svg(raw_flow, t, scope="", issues={"main_menu": [("error", "...")]},
                   link="/flows/bank?node=", current="main_menu")

``raw_flow`` is the flow as the draft's YAML holds it (a mapping), not the checked
``branchline.ivr.Flow``: the diagram must still draw a draft the models refuse, since that is
exactly when the admin needs to see where the problem is. Fields it cannot read are left out.
``scope`` is "" for the main nodes or a subflow's name (its nodes are named "sub:node").

Layout, layered: a node's column is its distance in edges from the scope's start node
(breadth first, over the callers' main ways first); nodes the start cannot reach get a last
column of their own, drawn dashed. Within the columns Graphviz's dot (``flow_layout``) orders
and places the nodes, routes every edge around them and finds room for every label; we draw
it all in our own look. Edges to a later column carry the key or outcome that takes them;
edges back to the same or an earlier column (a "9 = main menu", a repeat) are dashed and do not
move any node. A queue or transfer node is "a person" and is drawn green; every menu carries
a green chip for the operator key when the flow has one ("0 → person"), which is the
'0 = person' path without a line from every menu. Each node is a link (keyboard-focusable) to
its settings form; ``current`` is highlighted (Try it moves the highlight in the browser by the
node's ``data-node``). When dot cannot lay the flow out, the diagram's place says why and lists
the nodes as links, so every node's settings stay reachable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from html import escape
from typing import Any
from unicodedata import east_asian_width

from markupsafe import Markup

from branchline.config.web.diagram.layout import (
    LayoutEdge,
    LayoutError,
    LayoutGraph,
    LayoutNode,
    Route,
    lay_out,
)
from branchline.config.web.diagram.traffic import NodeMarks, Traffic

__all__ = ["NODE_H", "NODE_W", "Diagram", "DiagramEdge", "Placed", "columns", "diagram_edges",
           "flow_svg", "label_size", "layout"]

log = logging.getLogger(__name__)

NODE_W, NODE_H = 176, 62
PAD = 24
TOP = 20            # room above the top row for the start mark and the issue badges
LABEL_H = 17
LABEL_MARGIN = 8    # free space dot keeps around each label box, beyond the box itself
LABEL_GAP = 3       # between labels stacked in one box
ARROWS = "←→↑↓↺"    # drawn about as wide as a Chinese character
TARGET_FIELDS = ("next", "on_ok", "on_error", "on_timeout", "default", "open", "closed",
                 "holiday", "after_call", "on_overflow", "on_callback", "on_closed",
                 "on_failure", "escalate_to")
PERSON_KINDS = ("queue", "transfer")
QUEUE_OUTCOMES = ("after_call", "on_overflow", "on_callback", "on_closed")
SECONDARY = (*QUEUE_OUTCOMES, "on_failure")  # drawn as not the caller's main way
RETURN = "return"


@dataclass(frozen=True, slots=True)
class DiagramEdge:
    source: str
    target: str   # qualified name; may name a node that does not exist (drawn to nothing)
    label: str    # what the caller does or what happened; "" for a plain "next"
    escalation: bool = False
    secondary: bool = False  # a queue's outcome or an escalation: not the caller's main way


def _nodes(raw_flow: Mapping[str, Any], scope: str) -> dict[str, Mapping[str, Any]]:
    if scope:
        sub = (raw_flow.get("subflows") or {}).get(scope) or {}
        nodes = sub.get("nodes") if isinstance(sub, Mapping) else None
    else:
        nodes = raw_flow.get("nodes")
    if not isinstance(nodes, Mapping):
        return {}
    prefix = f"{scope}:" if scope else ""
    return {f"{prefix}{name}": node for name, node in nodes.items()
            if isinstance(node, Mapping)}


def _start(raw_flow: Mapping[str, Any], scope: str) -> str | None:
    if scope:
        sub = (raw_flow.get("subflows") or {}).get(scope) or {}
        start = sub.get("start") if isinstance(sub, Mapping) else None
        return f"{scope}:{start}" if isinstance(start, str) else None
    start = raw_flow.get("start")
    return start if isinstance(start, str) else None


def diagram_edges(raw_flow: Mapping[str, Any], scope: str, t: Callable[..., str]
                  ) -> list[DiagramEdge]:
    """Every drawn edge of ``scope``, labelled in the translator's language."""
    prefix = f"{scope}:" if scope else ""
    labels = {"on_ok": t("svg.ok"), "on_error": t("svg.error"), "on_timeout": t("svg.timeout"),
              "default": t("svg.otherwise"), "open": t("svg.open"), "closed": t("svg.closed"),
              "holiday": t("svg.holiday"), "after_call": t("svg.after_call"),
              "on_overflow": t("svg.overflow"), "on_callback": t("svg.callback"),
              "on_closed": t("svg.closed"), "on_failure": t("svg.transfer_failed"),
              "escalate_to": t("svg.silence")}
    edges: list[DiagramEdge] = []

    def add(source: str, raw: object, label: str, escalation: bool = False,
            secondary: bool = False) -> None:
        if isinstance(raw, str) and raw != RETURN:
            edges.append(DiagramEdge(source, prefix + raw, label, escalation=escalation,
                                     secondary=secondary or escalation))

    for name, node in _nodes(raw_flow, scope).items():
        kind = node.get("kind")
        options = node.get("options")
        if kind == "menu" and isinstance(options, Mapping):
            for key, target in options.items():
                add(name, target, str(key))
        if kind == "switch" and isinstance(node.get("cases"), list):
            for i, case in enumerate(node["cases"]):
                if isinstance(case, Mapping):
                    add(name, case.get("goto"), t("svg.case", n=i + 1))
        refused = node.get("on_refused")
        if kind == "host" and isinstance(refused, Mapping):
            for code, target in refused.items():
                add(name, target, str(code))  # the host's own word for why it said no
        for field in TARGET_FIELDS:
            if field == "next" and kind == "collect":
                add(name, node.get(field), f"<{node.get('var', '')}>")
            elif field == "next" and kind == "survey":
                add(name, node.get(field), "1-5")
            elif field == "next":
                add(name, node.get(field), "")
            else:
                add(name, node.get(field), labels[field], escalation=field == "escalate_to",
                    secondary=field in SECONDARY)
    return edges


@dataclass(frozen=True, slots=True)
class Placed:
    x: float
    y: float
    column: int
    reachable: bool


def columns(names: Sequence[str], start: str | None, edges: Sequence[DiagramEdge]
            ) -> dict[str, tuple[int, bool]]:
    """Each node's (column, reachable): the breadth-first distance from ``start`` over the
    callers' main ways (keys, next, outcomes of a host or a schedule), then, for nodes only a
    queue outcome, a failed transfer or an escalation reaches, one column after the nearest
    node that leads there; unreachable nodes in a last column."""
    known = set(names)
    out: dict[str, list[DiagramEdge]] = {}
    for edge in edges:
        out.setdefault(edge.source, []).append(edge)
    depth: dict[str, int] = {}
    order: list[str] = []

    def spread(seeds: list[str], secondary: bool) -> None:
        queue = list(seeds)
        while queue:
            here = queue.pop(0)
            for edge in out.get(here, []):
                if (secondary or not edge.secondary) and edge.target in known \
                        and edge.target not in depth:
                    depth[edge.target] = depth[here] + 1
                    order.append(edge.target)
                    queue.append(edge.target)

    if start in known:
        depth[start] = 0
        order.append(start)
        spread([start], secondary=False)
        spread(list(order), secondary=True)
    last = max(depth.values(), default=-1) + 1
    found = {name: (depth[name], True) for name in order}
    found.update((name, (last, False)) for name in names if name not in depth)
    return found


def label_size(text: str) -> tuple[float, float]:
    """The drawn box of an edge label: 12 px bold text, Chinese characters about twice as
    wide as Latin ones."""
    wide = sum(1 for c in text if east_asian_width(c) in "WF" or c in ARROWS)
    return 8 + 7.5 * (len(text) - wide) + 13 * wide, LABEL_H


@dataclass(frozen=True, slots=True)
class Diagram:
    width: float
    height: float
    nodes: dict[str, Placed]
    edges: list[tuple[DiagramEdge, Route]]   # routes and label centres in the SVG's px


def layout(names: Sequence[str], start: str | None, edges: Sequence[DiagramEdge]) -> Diagram:
    """Where each node goes (top left corner, column) and how each drawn edge runs, from
    dot (``flow_layout``). Edges to a node that does not exist are not drawn, nor a node's
    way back to itself (a chip on the node). Raises ``LayoutError``.

    Every edge goes to dot from its left end to its right end, a way back included (drawn
    the other way round): dot 2.43 misplaces the labels of edges that do not constrain the
    columns. It also puts the labels of several edges between the same two nodes, either way,
    on one spot; so they go to dot as one edge whose label box holds all their labels, one
    under the other, each marked with the way it goes when the bundle goes both ways ("→ 2",
    "← 9").
    """
    ranked = columns(names, start, edges)
    by_column: dict[int, list[str]] = {}
    for name in names:
        by_column.setdefault(ranked[name][0], []).append(name)
    bundles: dict[frozenset[str], list[DiagramEdge]] = {}
    for edge in edges:
        if edge.source in ranked and edge.target in ranked and edge.source != edge.target:
            bundles.setdefault(frozenset((edge.source, edge.target)), []).append(edge)
    ends = {}
    for key, bundle in bundles.items():
        first = bundle[0]
        forward = ranked[first.source][0] <= ranked[first.target][0]
        ends[key] = (first.source, first.target) if forward else (first.target, first.source)
    both_ways = {key for key, bundle in bundles.items()
                 if any(e.source != bundle[0].source for e in bundle)}
    graph = LayoutGraph(
        nodes=tuple(LayoutNode(name, NODE_W, NODE_H) for name in names),
        columns=tuple(tuple(by_column[c]) for c in sorted(by_column)),
        edges=tuple(LayoutEdge(
            *ends[key], label=_stacked(b, key in both_ways),
            weight=2 if any(ranked[e.target][0] > ranked[e.source][0] and not e.secondary
                            for e in b) else 1) for key, b in bundles.items()))
    laid = lay_out(graph)

    def moved(point: tuple[float, float]) -> tuple[float, float]:
        return PAD + point[0], PAD + TOP + point[1]

    drawn = []
    for (key, bundle), route in zip(bundles.items(), laid.edges, strict=True):
        stacked = _stacked(bundle, key in both_ways)
        top = moved(route.label)[1] - stacked[1] / 2 + LABEL_MARGIN / 2 \
            if route.label and stacked else 0.0
        for edge in bundle:
            points = tuple(map(moved, route.points))
            if edge.source != ends[key][0]:
                points = points[::-1]
            centre = None
            if edge.label and route.label:
                centre = (PAD + route.label[0], top + LABEL_H / 2)
                top += LABEL_H + LABEL_GAP
                if key in both_ways:
                    edge = replace(edge, label=f"{_heading(points)} {edge.label}")
            drawn.append((edge, Route(points, centre)))
    return Diagram(
        laid.width + 2 * PAD, laid.height + 2 * PAD + TOP,
        {name: Placed(*moved(corner), *ranked[name]) for name, corner in laid.nodes.items()},
        drawn)


def _stacked(bundle: Sequence[DiagramEdge], marked: bool) -> tuple[float, float] | None:
    """The box dot keeps free for a bundle's labels, one above the other, with a margin."""
    sizes = [label_size(f"→ {e.label}" if marked else e.label) for e in bundle if e.label]
    if not sizes:
        return None
    return (max(w for w, _ in sizes) + LABEL_MARGIN,
            sum(h for _, h in sizes) + LABEL_GAP * (len(sizes) - 1) + LABEL_MARGIN)


def _heading(points: Sequence[tuple[float, float]]) -> str:
    dx, dy = points[-1][0] - points[0][0], points[-1][1] - points[0][1]
    if abs(dx) >= abs(dy):
        return "→" if dx > 0 else "←"
    return "↓" if dy > 0 else "↑"


def _detail(node: Mapping[str, Any], t: Callable[..., str]) -> str:
    kind = node.get("kind")
    if kind == "queue":
        return t("svg.queue_detail", queue=node.get("queue", "?"))
    if kind == "host":
        return t("svg.host_detail", endpoint=node.get("endpoint", "?"))
    if kind == "language":
        return t("svg.language_detail", language=node.get("set", "?"))
    if kind == "subflow":
        return f"→ {node.get('flow', '?')}"
    prompt = node.get("prompt", node.get("items"))
    if isinstance(prompt, list):
        prompt = next((p for p in prompt if isinstance(p, str)), "")
    return prompt if isinstance(prompt, str) else ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def flow_svg(raw_flow: Mapping[str, Any], t: Callable[..., str], *, scope: str = "",
             issues: Mapping[str, Sequence[tuple[str, str]]] | None = None,
             link: str | None = None, current: str | None = None,
             traffic: Traffic | None = None) -> Markup:
    """The diagram of one scope of ``raw_flow`` as inline SVG markup; ``traffic`` (the
    menus' funnel, ``flow_traffic``) widens edges by visits and colours nodes by rates."""
    issues = issues or {}
    nodes = _nodes(raw_flow, scope)
    start = _start(raw_flow, scope)
    edges = diagram_edges(raw_flow, scope, t)
    try:
        diagram = layout(list(nodes), start, edges)
    except LayoutError as exc:
        log.warning("flow diagram %s%s: %s", raw_flow.get("flow", ""),
                    f" ({scope})" if scope else "", exc)
        return _unlaid(nodes, t, link, str(exc))
    loops: dict[str, list[str]] = {}
    for edge in edges:
        if edge.source == edge.target:
            loops.setdefault(edge.source, []).append(edge.label)
    keys = raw_flow.get("keys") if isinstance(raw_flow.get("keys"), Mapping) else {}
    operator_key = keys.get("operator", "0") if "operator" in keys else "0"
    placed, width, height = diagram.nodes, diagram.width, diagram.height
    title = escape(t("svg.title", flow=str(raw_flow.get("flow", ""))))
    # A group, not an image: the nodes inside are links a keyboard or screen reader reaches.
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="flow" role="group" '
             f'aria-label="{title}" viewBox="0 0 {width:.0f} {height:.0f}" '
             f'width="{width:.0f}" height="{height:.0f}" data-scope="{escape(scope)}">',
             f"<title>{title}</title>",
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/>'
             "</marker></defs>"]
    labels = []
    for edge, route in diagram.edges:
        cls = ["edge"]
        if placed[edge.target].column <= placed[edge.source].column:
            cls.append("back")
        if edge.escalation:
            cls.append("escalation")
        (x0, y0), *rest = route.points
        d = f"M{x0:.1f},{y0:.1f} C" + " ".join(f"{x:.1f},{y:.1f}" for x, y in rest)
        visits = ""
        if traffic is not None:
            cls.append(traffic.edge_class(edge.source, edge.target))
            visits = f' data-visits="{traffic.visits(edge.source, edge.target)}"'
        parts.append(f'<path class="{" ".join(cls)}" d="{d}" marker-end="url(#arrow)"{visits}/>')
        if edge.label and route.label is not None:
            labels.append((*route.label, edge.label, edge.escalation))
    for lx, ly, text, escalation in labels:
        w, h = label_size(text)
        cls = "edge-label escalation" if escalation else "edge-label"
        parts.append(f'<g class="{cls}"><rect x="{lx - w / 2:.1f}" y="{ly - h / 2:.1f}" '
                     f'width="{w:.1f}" height="{h:.0f}" rx="4"/><text x="{lx:.1f}" '
                     f'y="{ly + 4:.1f}" text-anchor="middle">{escape(text)}</text></g>')
    for name, node in nodes.items():
        parts.append(_node_svg(name, node, placed[name], t, issues.get(name, ()), link,
                               current, start, operator_key, loops.get(name, ()),
                               traffic.node(name) if traffic is not None else None))
    parts.append("</svg>")
    return Markup("".join(parts))


def _unlaid(nodes: Mapping[str, Mapping[str, Any]], t: Callable[..., str], link: str | None,
            problem: str) -> Markup:
    items = "".join(
        f'<li><a href="{escape(link + name)}">{escape(name)}</a></li>' if link is not None
        else f"<li>{escape(name)}</li>" for name in nodes)
    return Markup(f'<div class="diagram-error" role="alert"><p>'
                  f"{escape(t('svg.layout_failed', problem=problem))}</p><ul>{items}</ul></div>")


def _node_svg(name: str, node: Mapping[str, Any], p: Placed, t: Callable[..., str],
              found: Sequence[tuple[str, str]], link: str | None, current: str | None,
              start: str | None, operator_key: object, loops: Sequence[str],
              marks: NodeMarks | None = None) -> str:
    kind = str(node.get("kind", "?"))
    short = name.split(":", 1)[-1]
    classes = ["node", f"kind-{kind}"]
    if kind in PERSON_KINDS:
        classes.append("person")
    if not p.reachable:
        classes.append("unreachable")
    errors = [m for s, m in found if s == "error"]
    warnings = [m for s, m in found if s != "error"]
    if errors:
        classes.append("has-error")
    elif warnings:
        classes.append("has-warning")
    if name == current:
        classes.append("current")
    if marks is not None:
        classes.extend(marks.classes)
    try:
        kind_label = t(f"kind.{kind}")
    except KeyError:
        kind_label = kind
    tip = [f"{short} ({kind_label})"] + [f"⚠ {m}" for m in errors + warnings] \
        + list(marks.lines if marks is not None else ())
    body = [f'<title>{escape(chr(10).join(tip))}</title>',
            f'<rect class="box" x="{p.x:.0f}" y="{p.y:.0f}" width="{NODE_W}" '
            f'height="{NODE_H}" rx="8"/>',
            f'<text class="name" x="{p.x + 10:.0f}" y="{p.y + 20:.0f}">'
            f"{escape(_clip(short, 20))}</text>",
            f'<text class="kind" x="{p.x + 10:.0f}" y="{p.y + 38:.0f}">{escape(kind_label)}'
            f" · {escape(_clip(_detail(node, t), 16))}</text>"]
    if name == start:
        body.append(f'<text class="start" x="{p.x:.0f}" y="{p.y - 6:.0f}">'
                    f"▶ {escape(t('svg.start'))}</text>")
    if kind == "menu" and operator_key:
        body.append(f'<g class="operator-chip"><rect x="{p.x + 8:.0f}" y="{p.y + 44:.0f}" '
                    f'width="74" height="14" rx="7"/><text x="{p.x + 45:.0f}" '
                    f'y="{p.y + 55:.0f}" text-anchor="middle">'
                    f"{escape(str(operator_key))} → {escape(t('svg.person'))}</text></g>")
    if loops:
        # The keys (or outcomes) that come back to this node: "↺ #" for a menu's repeat.
        left = p.x + (88 if kind == "menu" and operator_key else 8)
        text = _clip("↺ " + ", ".join(label for label in loops if label), 12).strip()
        width = min(label_size(text)[0], p.x + NODE_W - 8 - left)
        body.append(f'<g class="loop-chip"><rect x="{left:.0f}" y="{p.y + 44:.0f}" '
                    f'width="{width:.0f}" height="14" rx="7"/><text x="{left + width / 2:.0f}" '
                    f'y="{p.y + 55:.0f}" text-anchor="middle">{escape(text)}</text></g>')
    if kind in PERSON_KINDS:
        body.append(f'<text class="person-mark" x="{p.x + NODE_W - 10:.0f}" '
                    f'y="{p.y + 56:.0f}" text-anchor="end">{escape(t("svg.person"))}</text>')
    if found:
        badge = "error" if errors else "warning"
        body.append(f'<g class="badge {badge}"><circle cx="{p.x + NODE_W - 4:.0f}" '
                    f'cy="{p.y + 4:.0f}" r="11"/><text x="{p.x + NODE_W - 4:.0f}" '
                    f'y="{p.y + 8:.0f}" text-anchor="middle">{len(found)}</text></g>')
    attrs = (f'class="{" ".join(classes)}" data-node="{escape(name)}" '
             f'id="node-{escape(name.replace(":", "--"))}"')
    inner = "".join(body)
    if link is None:
        return f"<g {attrs}>{inner}</g>"
    href = escape(link + name)
    label = escape(t("svg.open_node", node=short, kind=kind_label))
    return f'<a href="{href}" {attrs} aria-label="{label}">{inner}</a>'
