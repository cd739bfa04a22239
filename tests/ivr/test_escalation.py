"""The escalation model of docs/ivr.md, path by path, on a virtual clock.

Prompts last 1 s per item (the harness default), first-digit timeout 5 s, inter-digit 2 s.
"Budget N" means N failures are forgiven (the prompt is played again) and failure N + 1
escalates.
"""

from ivr_harness import IvrHarness, tiny_flow

from branchline.ivr import Enqueue, HangUp, Play, QueueOutcome, Trace

MENU = {"kind": "menu", "prompt": "m", "short_prompt": "m.short",
        "options": {"1": "sub", "2": "bye"}}
SUB = {"kind": "menu", "prompt": "s", "options": {"9": "m"}}


def failures(h, kind):
    return [(t.at, t.detail) for t in h.traces if t.what == kind]


def test_no_input_budget_2_plays_the_menu_3_times_then_escalates():
    h = IvrHarness(tiny_flow({"m": MENU, "sub": SUB}))
    h.start()
    h.run()
    assert failures(h, "no_input") == [(6.0, "no key pressed (no_input 1)"),
                                       (13.0, "no key pressed (no_input 2)"),
                                       (20.0, "no key pressed (no_input 3)")]
    plays = [p.items for p in h.of(Play)]
    assert plays == [("m",), ("silent", "m.short"), ("silent", "m.short")]
    assert Trace("escalate", "m", "no_input budget 2 spent", 20.0) in h.traces
    assert h.of(Enqueue)[0].queue == "general"


def test_budget_0_escalates_on_the_first_failure():
    flow = tiny_flow({"m": {**MENU, "budgets": {"no_input": 0, "invalid": 0}}, "sub": SUB})
    h = IvrHarness(flow)
    h.start()
    h.keys("7", at=0.5)
    h.run()
    assert failures(h, "invalid") == [(0.5, "key '7' is not an option (invalid 1)")]
    assert h.path() == ["m", "agent"]


def test_invalid_budget_escalates_to_the_nodes_own_target():
    flow = tiny_flow({"m": {**MENU, "escalate_to": "bye"}, "sub": SUB})
    h = IvrHarness(flow)
    h.start()
    h.keys("777", at=0.5, gap=3.0)
    h.run()
    assert len(failures(h, "invalid")) == 3
    assert h.path() == ["m", "bye"]
    assert h.terminal == HangUp("bye")


def test_a_valid_entry_resets_the_invalid_count_only():
    h = IvrHarness(tiny_flow({"m": MENU, "sub": SUB}, limits={"total_errors": 20}))
    h.start()
    h.keys("77", at=0.5, gap=3.0)      # invalid 1, invalid 2
    h.keys("1", at=7.0)                 # valid: m's invalid count back to 0
    h.keys("9", at=7.5)                 # back to m
    h.keys("77", at=8.0, gap=3.0)       # invalid 1, invalid 2 again: no escalation yet
    h.run(until=14.5)
    assert [d for _, d in failures(h, "invalid")] == [
        "key '7' is not an option (invalid 1)", "key '7' is not an option (invalid 2)",
        "key '7' is not an option (invalid 1)", "key '7' is not an option (invalid 2)"]
    assert not h.of(Enqueue)
    # Then the caller falls silent: three silences escalate as usual.
    h.run()
    assert [d for _, d in failures(h, "no_input")][-1] == "no key pressed (no_input 3)"
    assert h.of(Enqueue)


def test_no_input_count_survives_a_valid_entry():
    h = IvrHarness(tiny_flow({"m": MENU, "sub": SUB}))
    h.start()
    h.keys("1", at=6.5)                 # after no_input 1 at 6.0: valid, to sub
    h.keys("9", at=7.0)                 # back to m (short prompt)
    h.run()
    assert [d for _, d in failures(h, "no_input")] == [
        "no key pressed (no_input 1)", "no key pressed (no_input 2)",
        "no key pressed (no_input 3)"]
    assert h.path() == ["m", "sub", "m", "agent"]


def test_total_error_budget_escalates_once_then_hangs_up():
    flow = tiny_flow({"m": {**MENU, "budgets": {"no_input": 9, "invalid": 9}}, "sub": SUB,
                      "agent": {"kind": "queue", "queue": "general", "on_overflow": "m"}},
                     limits={"total_errors": 2, "grace_errors": 1})
    h = IvrHarness(flow, queue=lambda e: [(1.0, QueueOutcome("overflow"))])
    h.start()
    h.run()
    escalations = [t.detail for t in h.traces if t.what == "escalate"]
    assert escalations == ["call errors budget spent"]
    assert len(failures(h, "no_input")) == 3 + 2     # 2 forgiven, 3rd escalates; grace 1
    assert h.terminal == HangUp("budget_errors")


def test_time_in_the_ivr_is_bounded_and_queue_time_does_not_count():
    flow = tiny_flow({"m": {**MENU, "budgets": {"no_input": 9, "invalid": 9}}, "sub": SUB},
                     limits={"max_seconds": 30, "grace_seconds": 10, "total_errors": 50})
    h = IvrHarness(flow, queue=lambda e: [(500.0, QueueOutcome("closed"))])
    h.start()
    h.run()
    assert [t.at for t in h.traces if t.what == "escalate"] == [30.0]
    assert h.path()[-1] == "agent"
    # 500 s in the queue, then the queue is closed and there is no next node: hang up.
    assert h.terminal == HangUp("queue_closed")


def test_time_budget_spent_twice_hangs_up():
    flow = tiny_flow({"m": {**MENU, "budgets": {"no_input": 9, "invalid": 9}}, "sub": SUB,
                      "agent": {"kind": "queue", "queue": "general", "on_closed": "m"}},
                     limits={"max_seconds": 30, "grace_seconds": 10, "total_errors": 50})
    h = IvrHarness(flow, queue=lambda e: [(5.0, QueueOutcome("closed"))])
    h.start()
    h.run()
    # 30 s, escalate; 5 s queued (not counted); back in m; 10 s of grace: hang up at 45 s.
    assert h.terminal == HangUp("budget_time")
    assert h.now == 45.0


def test_node_visit_limit_stops_a_caller_going_round_in_circles():
    flow = tiny_flow({"m": {"kind": "menu", "prompt": "m", "options": {"1": "p"}},
                      "p": {"kind": "play", "items": "info", "next": "m"},
                      "agent": {"kind": "queue", "queue": "general", "on_closed": "m"}},
                     limits={"max_visits": 6, "grace_visits": 2})
    h = IvrHarness(flow, queue=lambda e: [(1.0, QueueOutcome("closed"))])
    h.start()
    h.keys("1" * 40, at=0.1, gap=0.1)
    h.run()
    assert [t.detail for t in h.traces if t.what == "escalate"] == ["call visits budget spent"]
    assert h.terminal == HangUp("budget_visits")
    assert len(h.path()) == 6 + 1 + 2 - 1  # 6 visits, the escalation entry, grace 2 minus one


def test_operator_key_reaches_a_person_from_any_menu_and_drops_type_ahead():
    h = IvrHarness(tiny_flow({"m": MENU, "sub": SUB}))
    h.start()
    h.keys("1", at=0.2)
    h.keys("0123", at=0.5, gap=0.05)
    h.run()
    assert h.path() == ["m", "sub", "agent"]
    assert Trace("key", "sub", "operator", 0.5) in h.traces
    # Keys after the hand-off belong to the queue: ignored, traced without the key.
    ignored = [t.detail for t in h.traces if t.what == "ignored"]
    assert ignored == ["Digit in queued"] * 3


def test_type_ahead_left_over_is_dropped_and_traced_masked():
    flow = tiny_flow({"m": {"kind": "menu", "prompt": "m", "options": {"1": "p"}},
                      "p": {"kind": "play", "items": "notice", "barge_in": False,
                            "next": "bye"}})
    h = IvrHarness(flow)
    h.start()
    h.keys("1234", at=0.2, gap=0.05)
    h.run()
    assert h.path() == ["m", "p", "bye"]
    assert [t.detail for t in h.traces if t.what == "dropped"] == [
        "3 key(s) ***: call ended"]


def test_the_documented_timeline_of_a_silent_caller_in_the_sample():
    from branchline.ivr import sample_flow, sample_prompts

    h = IvrHarness(sample_flow(), prompts=sample_prompts())
    h.start()
    h.keys("1", at=0.5)                          # Mandarin; main_menu is entered at 0.5
    h.run(until=60.0)
    rel = [(round(t.at - 0.5, 1), t.what) for t in h.traces
           if t.node == "main_menu" and t.what in ("no_input", "escalate")]
    assert rel == [(13.4, "no_input"), (25.6, "no_input"), (37.9, "no_input"),
                   (37.9, "escalate")]
    assert h.of(Enqueue)[0].queue == "general"


def test_time_budget_during_a_host_wait_cancels_the_request_timer():
    from branchline.ivr import CancelTimer, HostReplied

    flow = tiny_flow({"ask": {"kind": "host", "endpoint": "balance", "timeout": 30,
                              "on_ok": "bye", "on_error": "bye", "on_timeout": "bye"}},
                     limits={"max_seconds": 10})
    h = IvrHarness(flow, host=lambda request: None)
    h.start()
    h.run(until=12.0)
    assert CancelTimer("host") in h.actions
    assert h.path() == ["ask", "agent"]
    # The host answers after the call moved on: ignored and traced, nothing else.
    assert h.session.handle(HostReplied(1, "ok", {}), 12.0) == [
        Trace("ignored", "agent", "HostReplied in queued", 12.0)]


def test_escalation_inside_a_subflow_goes_to_the_flows_target():
    flow = tiny_flow({"call": {"kind": "subflow", "flow": "card", "next": "bye"}},
                     subflows={"card": {"start": "c", "nodes": {
                         "c": {"kind": "collect", "var": "v", "prompt": "enter",
                               "max_length": 4, "budgets": {"no_input": 0},
                               "next": "return"}}}})
    h = IvrHarness(flow)
    h.start()
    h.run()
    assert h.path() == ["call", "card:c", "agent"]


def test_budgets_report_the_call_wide_budgets_as_used_and_limit():
    h = IvrHarness(tiny_flow({"m": MENU, "sub": SUB}, limits={"total_errors": 20}))
    h.start()
    h.keys("7", at=0.5)                 # one invalid key: one error
    h.run(until=3.0)
    budgets = h.session.budgets(h.now)
    assert budgets["errors"] == (1, 20)
    assert budgets["visits"][0] == 1
    assert budgets["ivr_seconds"][0] == 3.0
