"""Node positions and edge routes for a diagram, from Graphviz's dot (a layered layout).

    graph = LayoutGraph(nodes=(LayoutNode("a", 176, 62), LayoutNode("b", 176, 62)),
                        columns=(("a",), ("b",)),
                        edges=(LayoutEdge("a", "b", label=(30, 17)),))
    laid = lay_out(graph)            # Layout, in px, y down, origin at the top left
    laid.nodes["b"]                  # (x, y) of b's top left corner
    laid.edges[0].points             # a cubic Bezier: the start, then three points a piece
    laid.edges[0].label              # the centre of the label's box, or None

The caller decides the columns (dot's ranks, left to right), every node in one, and gives
each edge from its left end to its right end (or between two nodes of one column); dot orders
the nodes
within a column to cross as few edges as it can, places them, routes every edge as a spline
around the nodes, and reserves room for each label at the size the caller asks (an empty
fixed-size HTML cell: dot never measures our text, so its fonts do not matter). Nothing of our
look goes through dot; the caller draws.

dot runs as a child process (``dot -Tjson``, the graph on stdin), so its CPU time is never the
web service's: the service's thread waits without holding the GIL. It gets ``timeout_s`` of
wall time and is killed after. The graphviz package writes the DOT text (names are ``n0``,
``n1``... so no name of ours needs quoting); its own ``pipe()`` has no timeout, hence our run.

Graphviz 2.43 fails on some dense graphs whose labelled edges join two nodes of one column
(it exits saying "trouble in init_rank" or "triangulation failed"): dot gives such a label a
rank of its own between the two. Then dot runs once more with those labels left out, and
each of them is put on the middle of its edge's route.

A layout depends only on the graph, so it is cached by the graph (least recently used,
``CACHE_SIZE`` graphs, a retry included): the flow page renders the same flow for every node
clicked and Try it for every key, with other badges and another node highlighted, and dot runs
once.

Errors: ``LayoutError`` says what went wrong and the remedy: dot is not installed, it did not
finish in time, it failed, or it wrote something unreadable. Failures are not cached.
"""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from types import MappingProxyType

__all__ = ["CACHE_SIZE", "DOT_COMMAND", "DOT_TIMEOUT_S", "Layout", "LayoutEdge", "LayoutError",
           "LayoutGraph", "LayoutNode", "Route", "lay_out"]

DOT_COMMAND = ("dot",)
# The sample bank flow takes dot well under a second; five leaves room on a busy appliance.
DOT_TIMEOUT_S = 5.0
CACHE_SIZE = 64
POINTS_PER_INCH = 72      # dot's unit: we treat one point as one px
RANK_GAP_PX = 26          # between a column and the labels beside it
NODE_GAP_PX = 20          # between two nodes of a column


class LayoutError(Exception):
    """dot could not lay the diagram out; the message says why and what to do."""


class _DotFailed(LayoutError):
    """dot ran and exited with an error: worth one more try on an easier graph."""


@dataclass(frozen=True, slots=True)
class LayoutNode:
    name: str
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class LayoutEdge:
    source: str
    target: str
    label: tuple[float, float] | None = None   # the label box's (width, height) in px
    weight: int = 1                             # dot keeps heavier edges shorter, straighter


@dataclass(frozen=True, slots=True)
class LayoutGraph:
    nodes: tuple[LayoutNode, ...]
    columns: tuple[tuple[str, ...], ...]        # every node in exactly one, left to right
    edges: tuple[LayoutEdge, ...]


@dataclass(frozen=True, slots=True)
class Route:
    points: tuple[tuple[float, float], ...]
    label: tuple[float, float] | None


@dataclass(frozen=True, slots=True)
class Layout:
    width: float
    height: float
    nodes: Mapping[str, tuple[float, float]]
    edges: tuple[Route, ...]                    # in the order of ``LayoutGraph.edges``


def dot_source(graph: LayoutGraph) -> str:
    """The graph as DOT text, the layout's input."""
    import graphviz  # only when a page draws a diagram

    ids = {node.name: f"n{i}" for i, node in enumerate(graph.nodes)}
    dot = graphviz.Digraph(
        graph_attr={"rankdir": "LR", "newrank": "true", "margin": "0",
                    "ranksep": f"{RANK_GAP_PX / POINTS_PER_INCH:.3f}",
                    "nodesep": f"{NODE_GAP_PX / POINTS_PER_INCH:.3f}"},
        node_attr={"shape": "box", "fixedsize": "true", "label": ""},
        # Our marker draws the arrowhead; without dot's, a route ends on the node's border.
        edge_attr={"dir": "none"})
    for node in graph.nodes:
        dot.node(ids[node.name], width=_inches(node.width), height=_inches(node.height))
    for column in graph.columns:
        with dot.subgraph() as same:
            same.attr(rank="same")
            for name in column:
                same.node(ids[name])
    # Each column must be one rank after the one before, which an edge between them ensures;
    # where there is none (nodes the start cannot reach), an unseen edge that pulls nothing.
    column = {name: c for c, members in enumerate(graph.columns) for name in members}
    linked = {column[edge.source] for edge in graph.edges
              if column[edge.target] == column[edge.source] + 1}
    for c, (before, after) in enumerate(pairwise(graph.columns)):
        if c not in linked:
            dot.edge(ids[before[0]], ids[after[0]], id=f"c{c}", style="invis", weight="0")
    for i, edge in enumerate(graph.edges):
        attrs = {"id": f"e{i}"}
        if edge.label is not None:
            width, height = edge.label
            attrs["label"] = (f'<<TABLE BORDER="0" CELLPADDING="0" CELLSPACING="0"><TR>'
                              f'<TD FIXEDSIZE="TRUE" WIDTH="{width:.0f}" HEIGHT="{height:.0f}">'
                              f"</TD></TR></TABLE>>")
        if edge.weight != 1:
            attrs["weight"] = str(edge.weight)
        dot.edge(ids[edge.source], ids[edge.target], **attrs)
    return dot.source


def lay_out(graph: LayoutGraph, *, command: Sequence[str] | None = None,
            timeout_s: float = DOT_TIMEOUT_S) -> Layout:
    """Where dot puts ``graph``'s nodes, edges and labels (module docstring); ``command``
    runs dot (``DOT_COMMAND`` unless given), with ``-Tjson`` added."""
    return _cached(graph, tuple(command or DOT_COMMAND), timeout_s)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _cached(graph: LayoutGraph, command: tuple[str, ...], timeout_s: float) -> Layout:
    column = {name: c for c, members in enumerate(graph.columns) for name in members}
    flat = {i for i, edge in enumerate(graph.edges)
            if edge.label is not None and column[edge.source] == column[edge.target]}
    try:
        return _dot(graph, command, timeout_s)
    except _DotFailed:
        if not flat:
            raise
    easier = replace(graph, edges=tuple(replace(edge, label=None) if i in flat else edge
                                        for i, edge in enumerate(graph.edges)))
    laid = _dot(easier, command, timeout_s)
    return replace(laid, edges=tuple(replace(route, label=_middle(route.points)) if i in flat
                                     else route for i, route in enumerate(laid.edges)))


def _dot(graph: LayoutGraph, command: tuple[str, ...], timeout_s: float) -> Layout:
    names = tuple(node.name for node in graph.nodes)
    return _parse(_run(dot_source(graph), command, timeout_s, len(names)), names)


def _middle(points: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """The point halfway along a route's middle cubic piece (the route: a start, then three
    points a piece)."""
    piece = (len(points) - 1) // 3 // 2 * 3
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points[piece:piece + 4]
    return (x0 + 3 * x1 + 3 * x2 + x3) / 8, (y0 + 3 * y1 + 3 * y2 + y3) / 8


def _run(source: str, command: tuple[str, ...], timeout_s: float, nodes: int) -> bytes:
    try:
        done = subprocess.run([*command, "-Tjson"], input=source.encode(), capture_output=True,
                              timeout=timeout_s, check=False)
    except FileNotFoundError as exc:
        raise LayoutError(
            f"the diagram needs Graphviz's {command[0]!r}, which is not installed: run "
            "scripts/install-system-deps (apt-get install graphviz)") from exc
    except subprocess.TimeoutExpired as exc:
        raise LayoutError(
            f"Graphviz's {command[0]!r} did not lay out the diagram ({nodes} nodes) within "
            f"{timeout_s:g} s and was stopped; a flow this large reads better split into "
            "subflows") from exc
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip()[:300] or "nothing"
        raise _DotFailed(f"Graphviz's {command[0]!r} failed (exit {done.returncode}) and said: "
                         f"{said}")
    return done.stdout


def _parse(output: bytes, names: tuple[str, ...]) -> Layout:
    try:
        found = json.loads(output)
        left, bottom, right, top = (float(v) for v in found["bb"].split(","))
        nodes = {}
        for obj in found.get("objects", ()):
            if "pos" not in obj:
                continue   # a subgraph
            x, y = _point(obj["pos"])
            w, h = float(obj["width"]) * POINTS_PER_INCH, float(obj["height"]) * POINTS_PER_INCH
            nodes[names[int(obj["name"][1:])]] = (x - left - w / 2, top - y - h / 2)
        edges = []
        ours = (e for e in found.get("edges", ()) if e["id"].startswith("e"))
        for edge in sorted(ours, key=lambda e: int(e["id"][1:])):
            # "s,x,y" and "e,x,y" would be dot's arrowheads, which it does not draw here.
            points = tuple((x - left, top - y) for x, y in
                           (_point(p) for p in edge["pos"].split() if p[:2] not in ("s,", "e,")))
            label = None
            if "lp" in edge:
                lx, ly = _point(edge["lp"])
                label = (lx - left, top - ly)
            edges.append(Route(points, label))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise LayoutError(f"Graphviz's dot wrote a layout that cannot be read ({exc!r}); "
                          "check `dot -V` (Graphviz 2.40 or later is needed)") from exc
    if len(nodes) != len(names):
        raise LayoutError(f"Graphviz's dot placed {len(nodes)} of {len(names)} nodes; "
                          "check `dot -V` (Graphviz 2.40 or later is needed)")
    return Layout(right - left, top - bottom, MappingProxyType(nodes), tuple(edges))


def _point(text: str) -> tuple[float, float]:
    x, y = text.split(",")[-2:]
    return float(x), float(y)


def _inches(px: float) -> str:
    return f"{px / POINTS_PER_INCH:.4f}"
