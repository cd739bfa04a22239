"""A transfer node with ``on_failure`` in a call's visits: a failed transfer is the node's
exit ("failed") and the next node is its ``on_failure``; a connected one ends the call there
("ended"), as a transfer without ``on_failure`` always did."""

from branchline.firmware.records.types import TraceStep
from branchline.firmware.records.visits import visits


def steps(*rows):
    return [TraceStep(at, what, node, detail) for at, what, node, detail in rows]


def test_a_failed_transfer_leaves_by_failed_to_its_on_failure_node():
    path = steps(
        (0.0, "start", "", "call c1"),
        (0.0, "enter", "go", "transfer"),
        (0.0, "transfer", "go", "to 95566, waiting for the outcome"),
        (0.1, "dial", "transfer", "95566 on sip2"),
        (30.1, "transfer_failed", "transfer", "no answer"),
        (30.1, "transfer", "go", "95566: failed (no answer)"),
        (30.1, "enter", "agent", "queue"),
        (40.0, "queue", "agent", "general: answered by agent 1001"),
        (90.0, "end", "agent", "agent call ended"),
    )
    go, agent = visits(path)
    assert (go.exit, go.next_node, go.seconds) == ("failed", "agent", 30.1)
    assert (agent.exit, agent.kind) == ("answered", "queue")


def test_a_connected_transfer_ends_the_call_at_its_node():
    path = steps(
        (0.0, "start", "", "call c1"),
        (0.0, "enter", "go", "transfer"),
        (0.0, "transfer", "go", "to 95566, waiting for the outcome"),
        (4.0, "transfer", "go", "95566: connected"),
        (4.0, "end", "go", "transfer to 95566"),
    )
    (go,) = visits(path)
    assert (go.exit, go.next_node) == ("ended", "")
