"""The flow diagram: layered layout by dot, labelled edges whose labels never overlap,
badges, the person path, and a draft the models refuse still draws."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml
from diagram_measure import Drawing, crossings, dense_flow, label_overlaps

from branchline.config.document.loading import default_document_text
from branchline.config.web.diagram import layout as flow_layout
from branchline.config.web.diagram.svg import (
    NODE_W,
    columns,
    diagram_edges,
    flow_svg,
    layout,
)
from branchline.config.web.i18n import translator

T = translator("en")
SVG = "{http://www.w3.org/2000/svg}"


def bank() -> dict:
    return yaml.safe_load(default_document_text())["flows"]["bank"]


def nodes_of(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {el.get("data-node"): el for el in root.iter() if el.get("data-node")}


def test_svg_is_well_formed_with_every_main_node_once_as_a_link():
    flow = bank()
    svg = str(flow_svg(flow, T, link="/flows/bank?node="))
    found = nodes_of(svg)
    assert set(found) == set(flow["nodes"])
    assert all(el.tag == f"{SVG}a" and el.get("href") == f"/flows/bank?node={name}"
               for name, el in found.items())


def test_columns_follow_the_callers_way_from_the_start():
    flow = bank()
    edges = diagram_edges(flow, "", T)
    placed = layout(list(flow["nodes"]), flow["start"], edges).nodes
    column = {name: p.column for name, p in placed.items()}
    assert column["vip_check"] == 0
    assert column["language_menu"] == 1
    assert column["set_zh"] == 2 and column["hours"] == 3 and column["main_menu"] == 4
    assert column["branch_info"] == 5
    # a queue outcome (after_call -> survey) does not pull the survey before the menus
    assert column["survey"] > column["vip_queue"]
    assert all(p.reachable for p in placed.values())


def test_menu_edges_are_labelled_with_their_keys_and_host_outcomes_with_words():
    edges = diagram_edges(bank(), "", T)
    keys = {(e.source, e.target): e.label for e in edges}
    assert keys[("main_menu", "branch_info")] == "3"
    assert keys[("balance_query", "balance_said")] == "ok"
    assert keys[("balance_query", "host_failed")] == "timeout"
    assert keys[("busy_menu", "leave_message")] in ("1", "no key")
    svg = str(flow_svg(bank(), T))
    labels = re.findall(r'<g class="edge-label"><rect[^>]*/><text[^>]*>([^<]*)</text>', svg)
    assert {"1", "2", "3", "ok", "timeout", "otherwise", "open", "closed"} <= set(labels)


def test_issue_badges_count_the_issues_and_colour_the_node():
    svg = str(flow_svg(bank(), T, issues={"main_menu": [("error", "x"), ("warning", "y")],
                                          "info_done": [("warning", "z")]}))
    found = nodes_of(svg)
    assert "has-error" in found["main_menu"].get("class")
    assert "has-warning" in found["info_done"].get("class")
    badge = found["main_menu"].find(f"{SVG}g[@class='badge error']")
    assert badge is not None and badge.find(f"{SVG}text").text == "2"
    assert "x" in found["main_menu"].find(f"{SVG}title").text


def test_the_person_path_is_visible_on_menus_and_queues():
    found = nodes_of(str(flow_svg(bank(), T)))
    assert "person" in found["agent"].get("class")
    chip = found["main_menu"].find(f"{SVG}g[@class='operator-chip']")
    assert chip is not None and chip.find(f"{SVG}text").text == "0 → person"
    assert found["goodbye"].find(f"{SVG}g[@class='operator-chip']") is None


def test_current_node_is_highlighted_and_a_subflow_draws_its_own_nodes():
    flow = bank()
    found = nodes_of(str(flow_svg(flow, T, current="main_menu")))
    assert "current" in found["main_menu"].get("class")
    sub = nodes_of(str(flow_svg(flow, T, scope="card_entry")))
    assert set(sub) == {"card_entry:card"}


def test_a_broken_draft_still_draws_and_marks_unreachable_nodes():
    flow = bank()
    flow["nodes"]["main_menu"]["options"]["5"] = "loans"          # no such node
    flow["nodes"]["orphan"] = {"kind": "hangup"}                   # nothing leads here
    flow["nodes"]["odd"] = {"kind": "menu", "options": "not a mapping"}
    svg = str(flow_svg(flow, T))
    found = nodes_of(svg)
    assert "unreachable" in found["orphan"].get("class")
    placed = layout(list(flow["nodes"]), flow["start"], diagram_edges(flow, "", T)).nodes
    assert columns(list(flow["nodes"]), flow["start"], diagram_edges(flow, "", T))["orphan"] \
        == (placed["orphan"].column, False)
    assert placed["orphan"].column == max(p.column for p in placed.values())
    assert placed["orphan"].x >= placed["main_menu"].x + NODE_W


def test_names_and_labels_are_escaped():
    flow = {"flow": "x", "start": "a", "nodes": {
        "a": {"kind": "menu", "prompt": "<script>", "options": {"1": "b"}},
        "b": {"kind": "hangup", "reason": "&"}}}
    svg = str(flow_svg(flow, T))
    assert "<script>" not in svg
    ET.fromstring(svg)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_label_overlaps_another_or_a_node_on_the_sample_flow(language):
    drawing = Drawing.of(str(flow_svg(bank(), translator(language))))
    assert len(drawing.labels) >= 40
    assert label_overlaps(drawing) == []


@pytest.mark.parametrize(("seed", "menus", "leaves"),
                         [(0, 6, 14), (1, 6, 14), (2, 6, 14), (3, 12, 30)])
def test_no_label_overlaps_on_a_dense_generated_flow(seed, menus, leaves):
    flow = dense_flow(seed, menus, leaves)
    svg = str(flow_svg(flow, T))
    drawing = Drawing.of(svg)
    assert set(drawing.nodes) == set(flow["nodes"])
    assert len(drawing.labels) > 5 * menus
    assert label_overlaps(drawing) == []


@pytest.mark.parametrize(("seed", "menus", "leaves"), [(2, 8, 20), (53, 12, 30)])
def test_a_flow_dot_fails_on_with_labels_within_a_column_still_draws_every_label(
        seed, menus, leaves):
    # Graphviz 2.43 exits with "trouble in init_rank" on these, until those labels go.
    flow = dense_flow(seed, menus, leaves)
    edges = diagram_edges(flow, "", T)
    drawing = Drawing.of(str(flow_svg(flow, T)))
    assert set(drawing.nodes) == set(flow["nodes"])
    assert len(drawing.labels) == sum(1 for e in edges if e.label and e.source != e.target)


def test_every_edge_runs_from_its_source_to_its_target_the_way_back_too():
    flow = bank()
    diagram = layout(list(flow["nodes"]), flow["start"], diagram_edges(flow, "", T))
    backs = 0
    for edge, route in diagram.edges:
        for end, name in ((route.points[0], edge.source), (route.points[-1], edge.target)):
            box = diagram.nodes[name]
            assert box.x - 2 <= end[0] <= box.x + NODE_W + 2, (edge, name, end)
            assert box.y - 2 <= end[1] <= box.y + 62 + 2, (edge, name, end)
        backs += diagram.nodes[edge.target].column <= diagram.nodes[edge.source].column
    assert backs >= 5   # "9 = main menu" and friends


def test_edges_both_ways_between_two_nodes_share_a_route_and_say_their_way():
    flow = {"flow": "x", "start": "a", "nodes": {
        "a": {"kind": "menu", "prompt": "p", "options": {"2": "b", "3": "b"}},
        "b": {"kind": "menu", "prompt": "p", "options": {"9": "a", "#": "b"}}}}
    svg = str(flow_svg(flow, T))
    drawing = Drawing.of(svg)
    texts = sorted(text for text, _ in drawing.labels)
    assert texts == ["← 9", "→ 2", "→ 3"]
    assert label_overlaps(drawing) == []
    assert svg.count('<path class="edge') == 3
    assert len(drawing.edges) == 1 and crossings(drawing) == 0   # one route, drawn 3 times
    # b's "#" comes back to b: a chip on the node, not an edge
    chip = nodes_of(svg)["b"].find(f"{SVG}g[@class='loop-chip']")
    assert chip is not None and chip.find(f"{SVG}text").text == "↺ #"


def test_the_layout_is_cached_by_the_flows_content(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    counting = tmp_path / "counting_dot.py"
    counting.write_text("import subprocess, sys\n"
                        f"open({str(runs)!r}, 'a').write('run\\n')\n"
                        "sys.exit(subprocess.run(['dot', *sys.argv[1:]]).returncode)\n")
    monkeypatch.setattr(flow_layout, "DOT_COMMAND", (sys.executable, str(counting)))
    flow = dense_flow(7)
    for node in ("start", "menu_1", "menu_2"):   # badges and the highlight change, not the layout
        flow_svg(flow, T, current=node, issues={node: [("error", "x")]})
    assert runs.read_text().splitlines() == ["run"]
    flow["nodes"]["menu_1"]["options"]["7"] = "agent"
    flow_svg(flow, T)
    assert runs.read_text().splitlines() == ["run", "run"]


def test_without_dot_the_diagram_says_why_and_still_links_every_node(monkeypatch, caplog):
    monkeypatch.setattr(flow_layout, "DOT_COMMAND", ("/nonexistent/dot",))
    flow = bank()
    html = str(flow_svg(flow, T, link="/flows/bank?node="))
    root = ET.fromstring(html)
    assert root.get("role") == "alert"
    assert "apt-get install graphviz" in root.find("p").text
    assert {a.get("href") for a in root.iter("a")} == \
        {f"/flows/bank?node={name}" for name in flow["nodes"]}
    assert "apt-get install graphviz" in caplog.text
