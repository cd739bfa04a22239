"""A transfer node's ``on_failure``: the session hands the caller out with
``Transfer(target, returns=True)``, waits in ``transferring`` (keys ignored, the IVR clock
paused), then ends on "connected" or carries the caller on to ``on_failure`` on "failed".
Without ``on_failure`` the transfer ends the session as it always did."""

from ivr_harness import IvrHarness, tiny_flow

from branchline.ivr import (
    CallerHungUp,
    CancelTimer,
    Digit,
    Enqueue,
    HangUp,
    Phase,
    PromptCatalog,
    StartTimer,
    Trace,
    Transfer,
    TransferOutcome,
    validate_flow,
)

TARGET = "95566"


def _flow(**transfer):
    return tiny_flow({
        "menu": {"kind": "menu", "prompt": "hello", "options": {"1": "go"}},
        "go": {"kind": "transfer", "target": TARGET, "on_failure": "agent", **transfer}},
        limits={"max_seconds": 60})


def _at_transfer(flow=None) -> IvrHarness:
    """A caller who pressed 1 at 2 s; no outcome comes unless a test sends one."""
    h = IvrHarness(flow or _flow(), transfer=lambda t: [])
    h.start()
    h.keys("1", at=2.0)
    h.run(until=10.0)
    return h


def test_without_on_failure_the_transfer_still_ends_the_session():
    h = IvrHarness(tiny_flow({"go": {"kind": "transfer", "target": TARGET}}))
    h.start()
    assert h.session.ended
    assert h.terminal == Transfer(TARGET) and not h.terminal.returns
    assert h.traces[-1] == Trace("end", "go", f"transfer to {TARGET}", 0.0)


def test_with_on_failure_the_session_waits_for_the_outcome_with_the_ivr_clock_paused():
    h = _at_transfer()
    session = h.session
    assert session.phase is Phase.TRANSFERRING and not session.ended
    assert h.of(Transfer) == [Transfer(TARGET, returns=True)]
    assert h.terminals == []
    assert "ivr_time" not in h.timers and CancelTimer("ivr_time") in h.actions
    used = session.budgets(2.0)["ivr_seconds"][0]
    assert session.budgets(500.0)["ivr_seconds"][0] == used  # paused while transferring
    assert Trace("transfer", "go", f"to {TARGET}, waiting for the outcome", 2.0) in h.traces


def test_keys_while_transferring_are_ignored_without_the_key():
    h = _at_transfer()
    actions = h.session.handle(Digit("7"), 5.0)
    assert actions == [Trace("ignored", "go", "Digit in transferring", 5.0)]
    assert h.session.phase is Phase.TRANSFERRING


def test_failed_goes_to_on_failure_and_resumes_the_ivr_clock():
    h = _at_transfer()
    used = h.session.budgets(2.0)["ivr_seconds"][0]
    actions = h.session.handle(TransferOutcome("failed", "busy"), 40.0)
    assert actions[0] == Trace("transfer", "go", f"{TARGET}: failed (busy)", 40.0)
    assert StartTimer("ivr_time", 40.0 + 60 - used) in actions
    assert Trace("enter", "agent", "queue", 40.0) in actions
    assert [a.queue for a in actions if isinstance(a, Enqueue)] == ["general"]
    assert h.session.phase is Phase.QUEUED


def test_connected_ends_the_session_without_a_second_transfer():
    h = _at_transfer()
    actions = h.session.handle(TransferOutcome("connected"), 12.0)
    assert actions == [Trace("transfer", "go", f"{TARGET}: connected", 12.0),
                       Trace("end", "go", f"transfer to {TARGET}", 12.0)]
    assert h.session.ended
    assert h.session.handle(TransferOutcome("failed", "late"), 13.0) == []


def test_the_caller_hanging_up_while_transferring_ends_the_session():
    h = _at_transfer()
    actions = h.session.handle(CallerHungUp(), 6.0)
    assert actions[-1] == HangUp("caller_hung_up")
    assert Trace("end", "go", "caller hung up", 6.0) in actions
    assert h.session.ended


def test_an_outcome_outside_the_transferring_phase_is_ignored():
    h = IvrHarness(_flow(), transfer=lambda t: [])
    h.start()
    assert h.session.handle(TransferOutcome("failed", "busy"), 0.5) == [
        Trace("ignored", "menu", "TransferOutcome in prompting", 0.5)]


def test_a_transfer_prompt_plays_first_then_the_transfer_waits():
    h = _at_transfer(_flow(prompt="connecting"))
    assert h.session.phase is Phase.TRANSFERRING
    assert h.of(Transfer) == [Transfer(TARGET, returns=True)]
    assert h.path() == ["menu", "go"]


def test_a_whole_call_through_a_failed_transfer_reaches_an_agent():
    h = IvrHarness(_flow())  # the harness's number does not answer within 30 s
    h.start()
    h.keys("1", at=2.0)
    h.run()
    assert h.path() == ["menu", "go", "agent"]
    assert h.terminal == HangUp("agent_call_ended")
    assert Trace("transfer", "go", f"{TARGET}: failed (no answer)", 32.0) in h.traces
    assert Trace("queue", "agent", "general: answered by agent a1", 37.0) in h.traces


def _report(flow):
    catalog = PromptCatalog({name: {"zh": "好"} for name in ("hello", "bad", "silent")})
    return validate_flow(flow, queues={"general"}, endpoints=set(), prompts=catalog)


def test_an_unknown_on_failure_target_is_an_error_naming_the_node_and_field():
    report = _report(_flow(on_failure="agnet"))
    (issue,) = [i for i in report.errors if i.path == "nodes.go.on_failure"]
    assert issue.message == "unknown target 'agnet'"
    assert "agent" in issue.fix


def test_a_node_reached_only_by_on_failure_is_reachable_and_leads_out():
    flow = tiny_flow({
        "menu": {"kind": "menu", "prompt": "hello", "options": {"1": "go", "2": "bye"}},
        "go": {"kind": "transfer", "target": TARGET, "on_failure": "sorry"},
        "sorry": {"kind": "play", "items": "hello", "next": "agent"}})
    report = _report(flow)
    assert report.ok, report.errors
    # Without the edge, the node would be unreachable: the check sees on_failure.
    alone = tiny_flow({**{n: n_.model_dump(exclude_none=True) for n, n_ in flow.nodes.items()
                          if n in ("menu", "sorry")},
                       "go": {"kind": "transfer", "target": TARGET}}, start="menu")
    assert [i.path for i in _report(alone).errors] == ["nodes.sorry"]


def test_a_failed_transfer_that_comes_straight_back_is_a_loop_without_input():
    flow = tiny_flow({"go": {"kind": "transfer", "target": TARGET, "on_failure": "again"},
                      "again": {"kind": "play", "items": "hello", "next": "go"}})
    paths = [(i.path, i.message) for i in _report(flow).errors]
    assert any("again -> go -> again" in message for _, message in paths), paths
