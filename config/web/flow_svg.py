"""A flow drawn as an SVG diagram, on the server, for the flow page and Try it.

    svg = flow_svg(raw_flow, t, scope="", issues={"main_menu": [("error", "...")]},
                   link="/flows/bank?node=", current="main_menu")

``raw_flow`` is the flow as the draft's YAML holds it (a mapping), not the checked
``branchline.ivr.Flow``: the diagram must still draw a draft the models refuse, since that is
exactly when the admin needs to see where the problem is. Fields it cannot read are left out.
``scope`` is "" for the main nodes or a subflow's name (its nodes are named "sub:node").

Layout, layered: a node's column is its distance in edges from the scope's start node
(breadth first); within a column nodes keep the order they were found. Edges to a later column
are curves to the right, labelled with the key or outcome that takes them; edges back to the
same or an earlier column (a "9 = main menu", a repeat) are arcs under the diagram. Nodes the
start cannot reach get a last column of their own, drawn dashed. A queue or transfer node is
"a person" and is drawn green; every menu carries a green chip for the operator key when the
flow has one ("0 → person"), which is the '0 = person' path without a line from every menu.
Each node is a link (keyboard-focusable) to its settings form; ``current`` is highlighted
(Try it moves the highlight in the browser by the node's ``data-node``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

__all__ = ["NODE_H", "NODE_W", "DiagramEdge", "diagram_edges", "flow_svg", "layout"]

NODE_W, NODE_H = 176, 62
COL_GAP, ROW_GAP, PAD = 92, 26, 24
TARGET_FIELDS = ("next", "on_ok", "on_error", "on_timeout", "default", "open", "closed",
                 "holiday", "after_call", "on_overflow", "on_callback", "on_closed",
                 "escalate_to")
PERSON_KINDS = ("queue", "transfer")
QUEUE_OUTCOMES = ("after_call", "on_overflow", "on_callback", "on_closed")
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
              "on_closed": t("svg.closed"), "escalate_to": t("svg.silence")}
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
        for field in TARGET_FIELDS:
            if field == "next" and kind == "collect":
                add(name, node.get(field), f"<{node.get('var', '')}>")
            elif field == "next" and kind == "survey":
                add(name, node.get(field), "1-5")
            elif field == "next":
                add(name, node.get(field), "")
            else:
                add(name, node.get(field), labels[field], escalation=field == "escalate_to",
                    secondary=field in QUEUE_OUTCOMES)
    return edges


@dataclass(frozen=True, slots=True)
class Placed:
    x: float
    y: float
    column: int
    reachable: bool


def layout(names: Sequence[str], start: str | None, edges: Sequence[DiagramEdge]
           ) -> dict[str, Placed]:
    """Columns by breadth-first distance from ``start`` over the callers' main ways (keys,
    next, outcomes of a host or a schedule), then, for nodes only a queue outcome or an
    escalation reaches, one column after the nearest node that leads there; unreachable
    nodes last."""
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

    if start in names:
        depth[start] = 0
        order.append(start)
        spread([start], secondary=False)
        spread(list(order), secondary=True)
    last = max(depth.values(), default=-1) + 1
    columns: dict[int, list[str]] = {}
    for name in order:
        columns.setdefault(depth[name], []).append(name)
    for name in names:
        if name not in depth:
            columns.setdefault(last, []).append(name)
    placed = {}
    for column, members in columns.items():
        for row, name in enumerate(members):
            placed[name] = Placed(PAD + column * (NODE_W + COL_GAP),
                                  PAD + 20 + row * (NODE_H + ROW_GAP), column, name in depth)
    return placed


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
             link: str | None = None, current: str | None = None) -> Markup:
    """The diagram of one scope of ``raw_flow`` as inline SVG markup."""
    issues = issues or {}
    nodes = _nodes(raw_flow, scope)
    start = _start(raw_flow, scope)
    edges = diagram_edges(raw_flow, scope, t)
    placed = layout(list(nodes), start, edges)
    keys = raw_flow.get("keys") if isinstance(raw_flow.get("keys"), Mapping) else {}
    operator_key = keys.get("operator", "0") if "operator" in keys else "0"
    width = max((p.x for p in placed.values()), default=0) + NODE_W + PAD
    bottom = max((p.y for p in placed.values()), default=0) + NODE_H
    forward, back = [], []
    for edge in edges:
        a, b = placed.get(edge.source), placed.get(edge.target)
        if a is None or b is None:
            continue
        (forward if b.column > a.column else back).append((edge, a, b))
    arc_room = 34 + 14 * min(len(back), 12)
    height = bottom + PAD + (arc_room if back else 0)
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
    for edge, a, b in forward:
        x0, y0 = a.x + NODE_W, a.y + NODE_H / 2
        x3, y3 = b.x, b.y + NODE_H / 2
        d = (x3 - x0) / 2
        cls = "edge escalation" if edge.escalation else "edge"
        parts.append(f'<path class="{cls}" d="M{x0:.0f},{y0:.0f} C{x0 + d:.0f},{y0:.0f} '
                     f'{x3 - d:.0f},{y3:.0f} {x3:.0f},{y3:.0f}" marker-end="url(#arrow)"/>')
        if edge.label:
            # The label sits a quarter of the way along, where edges from one node fan out.
            s = 0.25
            lx = (1 - s) ** 3 * x0 + 3 * (1 - s) ** 2 * s * (x0 + d) \
                + 3 * (1 - s) * s * s * (x3 - d) + s ** 3 * x3
            ly = (1 - s) ** 3 * y0 + 3 * (1 - s) ** 2 * s * y0 + 3 * (1 - s) * s * s * y3 \
                + s ** 3 * y3
            labels.append((lx, ly, edge.label, edge.escalation))
    for i, (edge, a, b) in enumerate(back):
        x0, y0 = a.x + NODE_W / 2 + 10, a.y + NODE_H
        x3, y3 = b.x + NODE_W / 2 - 10, b.y + NODE_H
        low = bottom + 22 + 14 * (i % 12)
        cls = "edge back escalation" if edge.escalation else "edge back"
        parts.append(f'<path class="{cls}" d="M{x0:.0f},{y0:.0f} C{x0:.0f},{low:.0f} '
                     f'{x3:.0f},{low:.0f} {x3:.0f},{y3:.0f}" marker-end="url(#arrow)"/>')
        if edge.label:
            labels.append(((x0 + x3) / 2, 0.25 * y0 + 0.75 * low - 2, edge.label,
                           edge.escalation))
    for lx, ly, text, escalation in labels:
        w = 8 + 7.5 * len(text)
        cls = "edge-label escalation" if escalation else "edge-label"
        parts.append(f'<g class="{cls}"><rect x="{lx - w / 2:.0f}" y="{ly - 9:.0f}" '
                     f'width="{w:.0f}" height="17" rx="4"/><text x="{lx:.0f}" y="{ly + 4:.0f}" '
                     f'text-anchor="middle">{escape(text)}</text></g>')
    for name, node in nodes.items():
        parts.append(_node_svg(name, node, placed[name], t, issues.get(name, ()), link,
                               current, start, operator_key))
    parts.append("</svg>")
    return Markup("".join(parts))


def _node_svg(name: str, node: Mapping[str, Any], p: Placed, t: Callable[..., str],
              found: Sequence[tuple[str, str]], link: str | None, current: str | None,
              start: str | None, operator_key: object) -> str:
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
    try:
        kind_label = t(f"kind.{kind}")
    except KeyError:
        kind_label = kind
    tip = [f"{short} ({kind_label})"] + [f"⚠ {m}" for m in errors + warnings]
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
