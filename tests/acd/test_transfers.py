"""Transfers in the ACD: consult, blind, to a queue; the call stays one call in the KPIs."""

import pytest

from branchline.acd import (
    AgentLogout,
    AgentNotReady,
    AgentReady,
    AgentState,
    AgentStateError,
    CallArrived,
    CallEnded,
    CallerLeft,
    CallLeftQueue,
    CallStateError,
    CancelOffer,
    LeaveReason,
    Offer,
    OfferAnswered,
    QueueModel,
    TransferAnswered,
    TransferCancelled,
    TransferCompleted,
    TransferOffered,
    kpis_from_log,
)
from branchline.acd.eventlog import QueueEventKind as Kind

S = AgentState


def queues():
    classes = [{"name": "normal", "priority": 0}, {"name": "vip", "priority": 9}]
    return [QueueModel(name="general", wrap_up_s=10, announce={"every_s": 0}, classes=classes,
                       default_class="normal"),
            QueueModel(name="cards", wrap_up_s=10, announce={"every_s": 0}, classes=classes,
                       default_class="normal")]


@pytest.fixture
def desk(make_desk, make_agent):
    d = make_desk(queues(), [make_agent("a", "general"), make_agent("b", "general", "cards"),
                             make_agent("c", "cards")])
    d.ready(0.0, "a", "b", "c")
    d.at(1.0, AgentNotReady("b", "break"))  # so the call goes to a
    d.at(2.0, CallArrived("c1", "general", "vip"))
    d.at(3.0, OfferAnswered("c1", "a"))
    d.at(4.0, AgentNotReady("c", "break"))

    d.at(5.0, AgentReady("b"))
    return d


def state(d, agent):
    return d.acd.agent_state(agent)


def test_consult_then_complete_hands_the_call_over_and_counts_it_once(desk):
    desk.at(10.0, TransferOffered("c1", "b"))
    assert state(desk, "b") is S.RESERVED and state(desk, "a") is S.TALKING
    # A reserved colleague takes no other call.
    assert not [d for d in desk.at(11.0, CallArrived("c2", "general")) if isinstance(d, Offer)]
    desk.at(12.0, TransferAnswered("c1", "b"))
    assert state(desk, "b") is S.TALKING and state(desk, "a") is S.TALKING
    desk.at(20.0, TransferCompleted("c1", to_agent="b"))
    assert state(desk, "a") is S.WRAP_UP and state(desk, "b") is S.TALKING
    desk.at(50.0, CallEnded("c1"))
    assert state(desk, "b") is S.WRAP_UP
    [transfer] = [e for e in desk.log if e.kind is Kind.TRANSFER]
    assert (transfer.agent_id, transfer.talk_s, transfer.detail) == ("a", 17.0, "agent:b")
    [done] = [e for e in desk.log if e.kind is Kind.COMPLETECALLER]
    assert (done.agent_id, done.talk_s) == ("b", 30.0)
    report = kpis_from_log(desk.log, queues(), desk.now)
    general = report.queues["general"]
    assert (general.offered, general.answered, general.completed) == (2, 1, 1)
    assert general.talk_s == 47.0
    assert (report.agents["a"].completed, report.agents["b"].answered,
            report.agents["b"].completed) == (1, 1, 1)
    assert desk.acd.kpis(60.0).queues["general"].answered == 1  # live, the same


def test_a_consultation_cancelled_releases_the_colleague_without_wrap_up(desk):
    desk.at(10.0, TransferOffered("c1", "b"))
    desk.at(12.0, TransferAnswered("c1", "b"))
    desk.at(15.0, TransferCancelled("c1", "b"))
    assert state(desk, "b") is S.READY and state(desk, "a") is S.TALKING
    desk.at(16.0, TransferOffered("c1", "b"))
    desk.at(36.0, TransferCancelled("c1", "b", no_answer=True))
    assert state(desk, "b") is S.NOT_READY  # rang out, as an offer that rings out


def test_blind_transfer_rung_out_goes_back_to_the_queue_with_its_class(desk):
    desk.at(10.0, TransferOffered("c1", "b"))
    desk.at(11.0, TransferCompleted("c1", to_agent="b"))
    assert state(desk, "a") is S.WRAP_UP and state(desk, "b") is S.RESERVED
    out = desk.at(31.0, TransferCancelled("c1", "b", no_answer=True))
    assert state(desk, "b") is S.NOT_READY
    # Back in its queue; a (wrap-up over since 21 s) is ready and is offered it again.
    assert Offer("c1", "a", "fxs-a") in out


def test_a_caller_who_hangs_up_during_a_blind_transfer_frees_the_colleague(desk):
    desk.at(10.0, TransferOffered("c1", "b"))
    desk.at(11.0, TransferCompleted("c1", to_agent="b"))
    out = desk.at(12.0, CallerLeft("c1"))
    assert CallLeftQueue("c1", LeaveReason.ABANDONED) in out
    assert state(desk, "b") is S.READY


def test_a_caller_who_hangs_up_during_a_consultation_frees_both_agents(desk):
    desk.at(10.0, TransferOffered("c1", "b"))
    desk.at(12.0, TransferAnswered("c1", "b"))
    desk.at(14.0, CallEnded("c1"))
    assert state(desk, "a") is S.WRAP_UP and state(desk, "b") is S.READY


def test_transfer_to_a_queue_waits_there_with_its_class(desk):
    desk.at(10.0, TransferCompleted("c1", to_queue="cards"))
    assert state(desk, "a") is S.WRAP_UP
    assert desk.acd.waiting("cards") == 1
    out = desk.at(11.0, AgentNotReady("b"))

    out = desk.at(12.0, AgentReady("c"))
    assert Offer("c1", "c", "fxs-c") in out
    desk.at(13.0, OfferAnswered("c1", "c"))
    desk.at(20.0, CallEnded("c1", by_caller=False))
    report = kpis_from_log(desk.log, queues(), desk.now)
    assert report.queues["general"].answered == 1
    assert report.queues["cards"].offered == report.queues["cards"].answered == 0


def test_a_rung_colleague_who_logs_out_stops_ringing_and_the_call_stays(desk):
    desk.at(10.0, TransferOffered("c1", "b"))
    out = desk.at(11.0, AgentLogout("b"))
    assert CancelOffer("c1", "b", "fxs-b") in out
    assert state(desk, "b") is S.LOGGED_OUT and state(desk, "a") is S.TALKING
    desk.at(12.0, CallEnded("c1"))  # the call still ends normally
    assert state(desk, "a") is S.WRAP_UP


def test_illegal_transfers_change_nothing(desk):
    desk.at(6.0, AgentNotReady("c", "lunch"))
    before = len(desk.log)
    with pytest.raises(AgentStateError, match="not allowed while not_ready"):
        desk.at(10.0, TransferOffered("c1", "c"))
    with pytest.raises(CallStateError, match="call's own agent"):
        desk.at(10.0, TransferOffered("c1", "a"))
    with pytest.raises(CallStateError, match="was not rung for the call"):
        desk.at(10.0, TransferCompleted("c1", to_agent="b"))
    desk.at(11.0, TransferOffered("c1", "b"))
    with pytest.raises(CallStateError, match="ringing 'b' already"):
        desk.at(12.0, TransferOffered("c1", "b"))
    with pytest.raises(CallStateError, match="still rung for the call"):
        desk.at(12.0, TransferCompleted("c1", to_queue="cards"))
    assert state(desk, "c") is S.NOT_READY
    assert len(desk.log) == before + 1  # only b's reservation
