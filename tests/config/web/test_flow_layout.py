"""dot as a bounded child process: a layout, and a clear error for each way dot can fail. The
stand-ins for a broken dot are real processes (a Python one-liner), never mocks."""

from __future__ import annotations

import sys

import pytest

from branchline.config.web.diagram.layout import (
    LayoutEdge,
    LayoutError,
    LayoutGraph,
    LayoutNode,
    lay_out,
)

GRAPH = LayoutGraph(
    nodes=(LayoutNode("menu", 176, 62), LayoutNode("info", 176, 62), LayoutNode("agent", 176, 62)),
    columns=(("menu",), ("info", "agent")),
    edges=(LayoutEdge("menu", "info", label=(30, 20)), LayoutEdge("menu", "agent", label=(40, 20)),
           LayoutEdge("info", "agent")))


def stand_in(code: str) -> tuple[str, ...]:
    """A 'dot' that reads the graph, then runs ``code``."""
    return (sys.executable, "-c", f"import sys; sys.stdin.read(); {code}")


def test_dot_places_columns_left_to_right_and_routes_edges_between_the_nodes():
    laid = lay_out(GRAPH)
    (mx, _), (ix, iy), (ax, ay) = (laid.nodes[n] for n in ("menu", "info", "agent"))
    assert ix >= mx + 176 and ax == ix and abs(iy - ay) >= 62
    assert mx >= 0 and max(ix, ax) + 176 <= laid.width + 0.5
    first = laid.edges[0]
    assert len(first.points) % 3 == 1
    assert first.points[0][0] == pytest.approx(mx + 176, abs=1)   # leaves menu's right side
    assert first.label is not None and mx + 176 < first.label[0] < ix
    assert laid.edges[2].label is None


def test_dot_that_does_not_finish_is_stopped_with_a_clear_error():
    # The bound is the point of the test: 0.5 s of a stand-in that never answers.
    with pytest.raises(LayoutError, match=r"did not lay out the diagram \(3 nodes\) within "
                                          r"0\.5 s and was stopped"):
        lay_out(GRAPH, command=stand_in("import time; time.sleep(60)"), timeout_s=0.5)


def test_missing_dot_names_the_package_to_install():
    with pytest.raises(LayoutError, match=r"'/nonexistent/dot', which is not installed: run "
                                          r"scripts/install-system-deps \(apt-get install "
                                          r"graphviz\)"):
        lay_out(GRAPH, command=("/nonexistent/dot",))


def test_a_failing_dot_is_reported_with_what_it_said():
    with pytest.raises(LayoutError, match=r"failed \(exit 3\) and said: syntax error in line 1"):
        lay_out(GRAPH, command=stand_in("sys.stderr.write('syntax error in line 1'); sys.exit(3)"))


def test_output_that_is_not_a_layout_is_refused_and_not_cached():
    broken = stand_in("print('not json')")
    for _ in range(2):
        with pytest.raises(LayoutError, match=r"wrote a layout that cannot be read"):
            lay_out(GRAPH, command=broken)


def test_dot_failing_on_a_label_within_a_column_is_run_again_without_it():
    # dot 2.43 fails like this on some dense flows (test_flow_svg has a real one); here a
    # stand-in fails while the graph holds both labels and is the real dot after.
    graph = LayoutGraph(nodes=GRAPH.nodes, columns=GRAPH.columns,
                        edges=(*GRAPH.edges[:2], LayoutEdge("info", "agent", label=(20, 17))))
    picky = (sys.executable, "-c",
             "import subprocess, sys; src = sys.stdin.read(); "
             "sys.exit('Error: trouble in init_rank') if src.count('<TABLE') == 3 "
             "else sys.exit(subprocess.run(['dot', *sys.argv[1:]], input=src, text=True)"
             ".returncode)")
    laid = lay_out(graph, command=picky)
    (ix, iy), (_, ay) = laid.nodes["info"], laid.nodes["agent"]
    x, y = laid.edges[2].label
    assert ix <= x <= ix + 176 and min(iy, ay) + 62 <= y <= max(iy, ay)   # between the two
    assert laid.edges[0].label is not None and laid.edges[0].label[0] < ix   # dot's own
    with pytest.raises(LayoutError, match=r"failed \(exit 1\) and said: no"):
        lay_out(graph, command=stand_in("sys.exit('no')"))
