"""Scenarios on the engine's public API, one behaviour each."""

import math

import pytest

from branchline.acd import (
    AgentLogout,
    AgentNotReady,
    AgentReady,
    AgentState,
    AgentStateChanged,
    Announce,
    CallArrived,
    Callback,
    CallbackRequested,
    CallbackResult,
    CallEnded,
    CallerLeft,
    CallLeftQueue,
    CallStateError,
    CancelOffer,
    DuplicateCall,
    LeaveReason,
    NoAgents,
    Offer,
    OfferAnswered,
    OfferDeclined,
    OfferMismatch,
    OfferNoAnswer,
    Overflow,
    QueueClosed,
    QueueModel,
    QueueStatus,
    Tick,
    TimeWentBackwards,
    UnknownCall,
    UnknownPriorityClass,
    UnknownQueue,
)

QUIET = {"every_s": 0}


def offers(decisions):
    return [(d.call_id, d.agent_id) for d in decisions if isinstance(d, Offer)]


def left(decisions):
    return [(d.call_id, d.reason) for d in decisions if isinstance(d, CallLeftQueue)]


def test_a_call_goes_to_the_ready_agent_at_once(make_desk, make_agent, general):
    desk = make_desk([general], [make_agent("a", "general")])
    desk.ready(0, "a")
    out = desk.at(1, CallArrived("c1", "general"))
    assert out == [AgentStateChanged("a", "ready", "reserved", ""), Offer("c1", "a", "fxs-a")]
    assert desk.acd.agent_state("a") is AgentState.RESERVED


def test_vip_goes_before_normal_and_first_come_first_served_within_a_class(
        make_desk, make_agent, general):
    desk = make_desk([general], [make_agent("a", "general")])
    desk.at(0, CallArrived("n1", "general"))
    desk.at(1, CallArrived("n2", "general"))
    desk.at(2, CallArrived("v1", "general", "vip"))
    desk.at(3, CallArrived("v2", "general", "vip"))
    order = []
    desk.ready(4, "a")
    for t in range(5, 9):
        call = offers(desk.decisions)[-1][0]
        order.append(call)
        desk.at(t, OfferAnswered(call, "a"))
        desk.at(t + 0.5, CallEnded(call))
    assert order == ["v1", "v2", "n1", "n2"]


def test_aging_bounds_how_long_vips_can_hold_back_a_normal_caller(make_desk, make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, announce=QUIET, classes=[
        {"name": "vip", "priority": 10, "promote_after_s": 600},
        {"name": "normal", "priority": 0, "promote_after_s": 60},
    ])
    desk = make_desk([queue], [make_agent("a", "q")])
    desk.ready(0, "a")
    desk.at(0, CallArrived("v0", "q", "vip"))
    desk.at(0.5, CallArrived("n1", "q", "normal"))
    # VIPs arrive every 5 s; the agent needs 10 s for each: VIPs are always waiting.
    answered_at, talking, t, vip = {}, None, 0.5, 1
    while "n1" not in answered_at:
        offered = offers(desk.decisions)[-1][0]
        if offered != talking:
            answered_at[offered] = t
            desk.at(t, OfferAnswered(offered, "a"))
            talking = offered
        for k in (1, 2):
            desk.at(t + 5 * k - 0.1, CallArrived(f"v{vip}", "q", "vip"))
            vip += 1
        t += 10
        desk.at(t, CallEnded(talking))
    # n1 is promoted at 60 s and goes next, before every VIP still waiting.
    assert 60 <= answered_at["n1"] <= 60.5 + 10
    assert max(answered_at) and sum(1 for c in answered_at if c.startswith("v")) >= 6


def test_ring_no_answer_puts_the_call_back_at_the_head_and_rings_the_next_agent(
        make_desk, make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, announce=QUIET, ring_timeout_s=15)
    desk = make_desk([queue], [make_agent("a", "q"), make_agent("b", "q")])
    desk.ready(0, "a")
    desk.at(1, CallArrived("c1", "q"))
    desk.at(2, CallArrived("c2", "q"))  # waits behind c1
    assert offers(desk.decisions) == [("c1", "a")]
    out = desk.run_until(16)  # a's ring timeout at 16
    assert CancelOffer("c1", "a", "fxs-a") in out
    assert AgentStateChanged("a", "reserved", "not_ready", "no answer") in out
    out = desk.ready(20, "b")
    assert offers(out) == [("c1", "b")], "c1 kept its place ahead of c2"


def test_the_runtimes_no_answer_and_a_decline_also_requeue(make_desk, make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, announce=QUIET)
    desk = make_desk([queue], [make_agent("a", "q"), make_agent("b", "q")])
    desk.ready(0, "a", "b")
    desk.at(1, CallArrived("c1", "q"))
    first = offers(desk.decisions)[-1][1]
    out = desk.at(2, OfferNoAnswer("c1", first))
    second = "b" if first == "a" else "a"
    assert offers(out) == [("c1", second)]
    assert not any(isinstance(d, CancelOffer) for d in out), "the runtime already stopped it"


def test_caller_leaving_while_ringing_frees_the_agent_without_penalty(make_desk, make_agent,
                                                                     general):
    desk = make_desk([general], [make_agent("a", "general")])
    desk.ready(0, "a")
    desk.at(1, CallArrived("c1", "general"))
    out = desk.at(2, CallerLeft("c1"))
    assert out == [CancelOffer("c1", "a", "fxs-a"), CallLeftQueue("c1", LeaveReason.ABANDONED),
                   AgentStateChanged("a", "reserved", "ready", "")]


def test_max_wait_overflows(make_desk, make_agent):
    queue = QueueModel(name="q", announce=QUIET, max_wait_s=60, overflow_target="voicemail")
    desk = make_desk([queue], [make_agent("a", "q")])
    desk.at(0, CallArrived("c1", "q"))
    out = desk.run_until(100)
    assert out == [Overflow("c1", "voicemail"), CallLeftQueue("c1", LeaveReason.TIMEOUT)]


def test_a_full_queue_overflows_at_the_door(make_desk, make_agent):
    queue = QueueModel(name="q", announce=QUIET, max_length=1, overflow_target="queue:q2")
    q2 = QueueModel(name="q2", announce=QUIET)
    desk = make_desk([queue, q2], [make_agent("a", "q")])
    desk.at(0, CallArrived("c1", "q"))
    assert desk.at(1, CallArrived("c2", "q")) == [Overflow("c2", "queue:q2"),
                                                 CallLeftQueue("c2", LeaveReason.FULL)]


def test_a_closed_queue_refuses_callers(make_desk, make_agent, general):
    desk = make_desk([general], [make_agent("a", "general")])
    desk.at(0, QueueStatus("general", open=False))
    assert desk.at(1, CallArrived("c1", "general")) == [
        QueueClosed("c1", "general"), CallLeftQueue("c1", LeaveReason.CLOSED)]


def test_nobody_logged_in_rejects_when_the_queue_says_so(make_desk, make_agent):
    queue = QueueModel(name="q", announce=QUIET, when_no_agents="overflow",
                       overflow_target="operator")
    desk = make_desk([queue], [make_agent("a", "q")])
    assert desk.at(0, CallArrived("c1", "q")) == [
        NoAgents("c1", "q"), Overflow("c1", "operator"), CallLeftQueue("c1", LeaveReason.NO_AGENTS)]


def test_the_last_agent_logging_out_empties_a_queue_that_does_not_let_callers_wait(
        make_desk, make_agent):
    queue = QueueModel(name="q", announce=QUIET, when_no_agents="reject")
    desk = make_desk([queue], [make_agent("a", "q")])
    desk.ready(0, "a")
    desk.at(1, AgentNotReady("a", "meeting"))
    desk.at(2, CallArrived("c1", "q"))
    out = desk.at(3, AgentLogout("a"))
    assert left(out) == [("c1", LeaveReason.NO_AGENTS)]


def test_logout_while_talking_waits_for_the_end_of_wrap_up(make_desk, make_agent):
    queue = QueueModel(name="q", announce=QUIET, wrap_up_s=20)
    desk = make_desk([queue], [make_agent("a", "q")])
    desk.ready(0, "a")
    desk.at(1, CallArrived("c1", "q"))
    desk.at(2, OfferAnswered("c1", "a"))
    assert desk.at(3, AgentLogout("a")) == []
    desk.at(4, CallEnded("c1", by_caller=False))
    assert desk.acd.agent_state("a") is AgentState.WRAP_UP
    desk.at(5, CallArrived("c2", "q"))  # must not be offered to a leaving agent
    out = desk.run_until(30)
    assert out == [AgentStateChanged("a", "wrap_up", "logged_out", "")]
    assert offers(desk.decisions) == [("c1", "a")]


def test_an_agent_in_two_queues_takes_the_most_urgent_call(make_desk, make_agent):
    cards = QueueModel(name="cards", announce=QUIET, wrap_up_s=0)
    loans = QueueModel(name="loans", announce=QUIET, wrap_up_s=0)
    desk = make_desk([cards, loans], [make_agent("a", "cards", "loans")])
    desk.at(0, CallArrived("loan-normal", "loans"))
    desk.at(5, CallArrived("card-vip", "cards", "vip"))
    desk.at(6, CallArrived("card-normal", "cards"))
    desk.ready(10, "a")
    assert offers(desk.decisions) == [("card-vip", "a")]
    desk.at(11, OfferAnswered("card-vip", "a"))
    desk.at(12, CallEnded("card-vip"))
    # Same class: the one further past its 20 s target (arrived first) goes first.
    assert offers(desk.decisions)[-1] == ("loan-normal", "a")


def test_skills_route_a_call_only_to_agents_who_have_them(make_desk, make_agent, general):
    desk = make_desk([general], [make_agent("en", "general", skills={"english": 5}),
                                 make_agent("yue", "general", skills={"cantonese": 8})])
    desk.ready(0, "en")
    desk.at(1, CallArrived("c1", "general", skills=("cantonese",)))
    assert offers(desk.decisions) == []
    desk.ready(2, "yue")
    assert offers(desk.decisions) == [("c1", "yue")]


def test_announcements_give_position_and_an_honest_wait_that_does_not_grow(make_desk,
                                                                          make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, expected_handle_s=120,
                       announce={"every_s": 30})
    desk = make_desk([queue], [make_agent("a", "q"), make_agent("b", "q")])
    desk.ready(0, "a", "b")
    desk.at(1, CallArrived("busy1", "q"))
    desk.at(1, CallArrived("busy2", "q"))
    desk.at(2, OfferAnswered("busy1", "a"))
    desk.at(2, OfferAnswered("busy2", "b"))
    first = desk.at(3, CallArrived("c1", "q"))
    second = desk.at(4, CallArrived("c2", "q"))
    # Position p with 2 agents handling 120 s calls: about p * 120 / 2 s.
    assert first == [Announce("c1", 1, 60)]
    assert second == [Announce("c2", 2, 120)]
    desk.at(5, CallEnded("busy1"))  # a short call lowers the handle-time estimate
    desk.at(6, OfferAnswered("c1", "a"))
    out = [d for d in desk.run_until(34.5) if isinstance(d, Announce)]
    assert len(out) == 1 and out[0].call_id == "c2" and out[0].position == 1
    assert out[0].expected_wait_s <= 120


def test_callback_keeps_the_place_reserves_an_agent_and_retries(make_desk, make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, announce=QUIET,
                       callback={"enabled": True, "retries": 1, "retry_interval_s": 60})
    desk = make_desk([queue], [make_agent("a", "q")])
    desk.at(0, CallArrived("c1", "q"))
    desk.at(1, CallArrived("c2", "q"))
    assert desk.at(2, CallbackRequested("c1", "13800000000")) == []
    assert desk.at(3, CallerLeft("c1")) == [], "the caller hangs up after asking"
    out = desk.ready(10, "a")
    assert Callback("c1", "a", "13800000000") in out, "c1's place is ahead of c2"
    out = desk.at(20, CallbackResult("c1", answered=False))
    # The agent is free again and takes c2; c1 waits for its retry.
    assert offers(out) == [("c2", "a")]
    desk.at(21, OfferAnswered("c2", "a"))
    desk.at(25, CallEnded("c2"))
    out = desk.run_until(80)  # retry due at 80: c1 goes back to the head and dials again
    assert Callback("c1", "a", "13800000000") in out
    out = desk.at(90, CallbackResult("c1", answered=True))
    assert left(out) == [("c1", LeaveReason.CALLBACK)]
    assert desk.acd.agent_state("a") is AgentState.TALKING


def test_callback_gives_up_after_the_last_retry(make_desk, make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, announce=QUIET,
                       callback={"enabled": True, "retries": 0})
    desk = make_desk([queue], [make_agent("a", "q")])
    desk.at(0, CallArrived("c1", "q"))
    desk.at(1, CallbackRequested("c1", "123"))
    desk.ready(2, "a")
    out = desk.at(3, CallbackResult("c1", answered=False))
    assert left(out) == [("c1", LeaveReason.CALLBACK_FAILED)]
    assert desk.acd.agent_state("a") is AgentState.READY


def test_next_deadline_is_the_earliest_live_timer(make_desk, make_agent):
    queue = QueueModel(name="q", announce=QUIET, ring_timeout_s=15, max_wait_s=100)
    desk = make_desk([queue], [make_agent("a", "q")])
    assert desk.acd.next_deadline() is None
    desk.at(0, CallArrived("c1", "q"))
    assert desk.acd.next_deadline() == 100
    desk.ready(1, "a")
    assert desk.acd.next_deadline() == 16
    desk.at(2, OfferAnswered("c1", "a"))
    assert desk.acd.next_deadline() is None, "the answered call's timers are gone"


@pytest.mark.parametrize(
    ("event", "error", "message"),
    [
        (CallArrived("c1", "nope"), UnknownQueue, "queue 'nope' is not configured; queues are: q"),
        (CallArrived("c9", "q", "gold"), UnknownPriorityClass, "has no priority class 'gold'"),
        (CallArrived("c1", "q"), DuplicateCall, "call 'c1' is already in the ACD"),
        (CallerLeft("zz"), UnknownCall, "call 'zz' is not in the ACD"),
        (OfferAnswered("c1", "a"), OfferMismatch,
         "call 'c1' is not offered to agent 'a' (it is waiting)"),
        (CallEnded("c1"), CallStateError, "the call is waiting, not connected"),
        (CallbackRequested("c1", "1"), CallStateError, "does not offer call back"),
        (CallbackResult("c1", True), CallStateError, "no call back is being dialled"),
    ],
)
def test_illegal_events_raise_and_change_nothing(make_desk, make_agent, event, error, message):
    queue = QueueModel(name="q", announce={"every_s": 20}, max_wait_s=300)
    desk = make_desk([queue], [make_agent("a", "q")])
    desk.at(0, CallArrived("c1", "q"))
    before = (len(desk.decisions), len(desk.log), desk.acd.next_deadline(), desk.acd.waiting("q"))
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        desk.at(1, event)
    assert (len(desk.decisions), len(desk.log), desk.acd.next_deadline(),
            desk.acd.waiting("q")) == before


def test_time_must_not_go_back(make_desk, make_agent, general):
    desk = make_desk([general], [make_agent("a", "general")])
    desk.acd.handle(Tick(), 10.0)
    with pytest.raises(TimeWentBackwards, match=r"now=9\.0 is before the previous now=10\.0"):
        desk.acd.handle(Tick(), 9.0)


def test_agent_ready_again_after_no_answer_takes_the_waiting_call(make_desk, make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, announce=QUIET)
    desk = make_desk([queue], [make_agent("a", "q")])
    desk.ready(0, "a")
    desk.at(1, CallArrived("c1", "q"))
    desk.at(2, OfferNoAnswer("c1", "a"))
    assert desk.acd.agent_state("a") is AgentState.NOT_READY
    assert offers(desk.at(3, AgentReady("a"))) == [("c1", "a")]
    assert math.isclose(desk.acd.next_deadline(), 18)


def test_a_decline_makes_the_agent_not_ready_with_its_reason(make_desk, make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, announce=QUIET)
    desk = make_desk([queue], [make_agent("a", "q")])
    desk.ready(0, "a")
    desk.at(1, CallArrived("c1", "q"))
    out = desk.at(2, OfferDeclined("c1", "a"))
    assert out == [AgentStateChanged("a", "reserved", "not_ready", "declined")]
    assert desk.acd.waiting("q") == 1


def test_logout_while_ringing_withdraws_the_offer_and_the_call_goes_to_the_next_agent(
        make_desk, make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, announce=QUIET)
    desk = make_desk([queue], [make_agent("a", "q"), make_agent("b", "q")])
    desk.ready(0, "a")
    desk.ready(1, "b")
    desk.at(2, CallArrived("c1", "q"))  # a has been idle longest
    out = desk.at(3, AgentLogout("a"))
    assert out == [CancelOffer("c1", "a", "fxs-a"),
                   AgentStateChanged("a", "reserved", "logged_out", ""),
                   AgentStateChanged("b", "ready", "reserved", ""), Offer("c1", "b", "fxs-b")]


def test_a_call_back_without_a_result_is_cancelled_by_its_guard(make_desk, make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, announce=QUIET,
                       callback={"enabled": True, "retries": 0, "dial_timeout_s": 50})
    desk = make_desk([queue], [make_agent("a", "q")])
    desk.at(0, CallArrived("c1", "q"))
    desk.at(1, CallbackRequested("c1", "555"))
    desk.ready(2, "a")
    out = desk.run_until(60)
    assert out == [CancelOffer("c1", "a", "fxs-a"),
                   CallLeftQueue("c1", LeaveReason.CALLBACK_FAILED),
                   AgentStateChanged("a", "reserved", "ready", "")]
    with pytest.raises(UnknownCall):
        desk.at(61, CallbackResult("c1", answered=True))


def test_the_wait_told_does_not_grow_when_only_the_handle_time_estimate_grew(make_desk,
                                                                            make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, expected_handle_s=60, announce={"every_s": 100})
    desk = make_desk([queue], [make_agent("a", "q"), make_agent("b", "q")])
    desk.ready(0, "a", "b")
    for call in ("x1", "x2"):
        desk.at(1, CallArrived(call, "q"))
    desk.at(1, OfferAnswered("x1", "a"))
    desk.at(1, OfferAnswered("x2", "b"))
    desk.at(2, CallArrived("c1", "q"))
    desk.at(3, CallArrived("c2", "q"))
    told = [d for d in desk.decisions if isinstance(d, Announce) and d.call_id == "c2"]
    assert told == [Announce("c2", 2, 60)]
    desk.at(90, CallEnded("x1"))  # an 89 s call: the handle-time estimate goes up
    desk.at(91, OfferAnswered("c1", "a"))
    desk.run_until(103)
    told = [d for d in desk.decisions if isinstance(d, Announce) and d.call_id == "c2"]
    assert told[-1].position == 1 and told[-1].expected_wait_s <= 60


def test_a_vip_arriving_ahead_may_make_the_wait_grow(make_desk, make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, expected_handle_s=60, announce={"every_s": 10})
    desk = make_desk([queue], [make_agent("a", "q")])
    desk.ready(0, "a")
    desk.at(0, CallArrived("x", "q"))
    desk.at(0, OfferAnswered("x", "a"))
    assert desk.at(1, CallArrived("c1", "q")) == [Announce("c1", 1, 60)]
    desk.at(2, CallArrived("v1", "q", "vip"))
    out = desk.run_until(11)
    assert Announce("c1", 2, 120) in out, "the position really grew: say so"


def test_the_expected_wait_counts_only_agents_with_the_callers_skills(make_desk, make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, expected_handle_s=60, announce={"every_s": 30})
    desk = make_desk([queue], [make_agent("a", "q", skills={"minnan": 4}), make_agent("b", "q"),
                               make_agent("c", "q")])
    desk.ready(0, "a", "b", "c")
    for call in ("x1", "x2", "x3"):
        desk.at(1, CallArrived(call, "q"))
    for call, agent in (("x1", "a"), ("x2", "b"), ("x3", "c")):
        desk.at(1, OfferAnswered(call, agent))
    assert desk.at(2, CallArrived("m", "q", skills=("minnan",))) == [Announce("m", 1, 60)]
    assert desk.at(2, CallArrived("g", "q")) == [Announce("g", 1, 20)]


def test_nobody_with_the_skill_means_no_estimate(make_desk, make_agent):
    queue = QueueModel(name="q", announce={"every_s": 30})
    desk = make_desk([queue], [make_agent("a", "q")])
    assert desk.at(0, CallArrived("c1", "q", skills=("wealth",))) == [Announce("c1", 1, None)]


def test_a_new_reason_code_while_not_ready_is_recorded(make_desk, make_agent, general):
    desk = make_desk([general], [make_agent("a", "general")])
    desk.ready(0, "a")
    desk.at(1, AgentNotReady("a", "training"))
    assert desk.at(2, AgentNotReady("a", "meal")) == [
        AgentStateChanged("a", "not_ready", "not_ready", "meal")]
