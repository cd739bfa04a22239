"""A transfer node's ``on_failure`` on the flow page: the diagram draws the edge with its
label as a secondary way (like a queue's outcomes), and the node's form offers the field as a
choice of node, labelled in both languages, even before it is set."""

from branchline.config.web.diagram.svg import DiagramEdge, diagram_edges
from branchline.config.web.i18n import translator
from branchline.config.web.pages.flow import node_fields
from branchline.config.web.pages.render import KNOWN_FIELDS

FLOW = {"flow": "f", "start": "go", "operator": "agent", "nodes": {
    "go": {"kind": "transfer", "target": "95566", "on_failure": "agent"},
    "agent": {"kind": "queue", "queue": "general"}}}


def test_the_diagram_draws_a_failed_transfer_to_its_node_as_a_secondary_way():
    edges = diagram_edges(FLOW, "", translator("en"))
    assert edges == [DiagramEdge("go", "agent", "not connected", secondary=True)]
    (zh,) = diagram_edges(FLOW, "", translator("zh"))
    assert zh.label == "转接不成功"


def test_the_form_offers_on_failure_as_a_node_choice_set_or_not():
    fields = {f.name: f for f in node_fields(FLOW["nodes"]["go"], "f", [])}
    assert (fields["on_failure"].control, fields["on_failure"].value) == ("target", "agent")
    unset = {f.name: f for f in node_fields({"kind": "transfer", "target": "95566"}, "f", [])}
    assert (unset["on_failure"].control, unset["on_failure"].value) == ("target", None)
    assert "on_failure" in KNOWN_FIELDS
    assert translator("en")("field.on_failure") == "When the transfer fails, go to"
