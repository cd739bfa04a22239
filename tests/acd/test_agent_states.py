"""Walk the agent state table: every state x trigger, through the engine's public events."""

from pathlib import Path

import pytest

from branchline.acd import (
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    AgentState,
    AgentStateError,
    CallArrived,
    CallEnded,
    CallerLeft,
    IllegalEvent,
    OfferAnswered,
    OfferDeclined,
    OfferNoAnswer,
    QueueModel,
    TransferCancelled,
    Trigger,
    WrapUpEnded,
)
from branchline.acd.agent_states import (
    IGNORE,
    ILLEGAL,
    PENDING,
    TABLE,
    render_mermaid,
    render_table,
)

S = AgentState
T = Trigger
DOC = Path(__file__).resolve().parents[2] / "docs" / "acd.md"

# How to bring agent "a" into each state (one queue, wrap-up 30 s, call "c1").
SETUP = {
    S.LOGGED_OUT: [],
    S.NOT_READY: [AgentLogin("a")],
    S.READY: [AgentLogin("a"), AgentReady("a")],
    S.RESERVED: [AgentLogin("a"), AgentReady("a"), CallArrived("c1", "q")],
    S.TALKING: [AgentLogin("a"), AgentReady("a"), CallArrived("c1", "q"), OfferAnswered("c1", "a")],
    S.WRAP_UP: [AgentLogin("a"), AgentReady("a"), CallArrived("c1", "q"),
                OfferAnswered("c1", "a"), CallEnded("c1")],
}

# The event that carries each trigger. RESERVE is the engine's own: a call arriving for the only
# agent; CANCEL is the caller leaving while the agent rings.
EVENT = {
    T.LOGIN: AgentLogin("a"),
    T.LOGOUT: AgentLogout("a"),
    T.READY: AgentReady("a"),
    T.NOT_READY: AgentNotReady("a", "meal"),
    T.RESERVE: CallArrived("c2", "q"),
    T.ANSWER: OfferAnswered("c1", "a"),
    T.DECLINE: OfferDeclined("c1", "a"),
    T.NO_ANSWER: OfferNoAnswer("c1", "a"),
    T.CANCEL: CallerLeft("c1"),
    T.CALL_END: CallEnded("c1"),
    T.WRAP_END: WrapUpEnded("a"),
    T.RELEASE: TransferCancelled("c1", "a"),
}


def _desk(make_desk, make_agent, state):
    desk = make_desk([QueueModel(name="q", wrap_up_s=30, announce={"every_s": 0})],
                     [make_agent("a", "q")])
    for i, event in enumerate(SETUP[state]):
        desk.at(float(i), event)
    assert desk.acd.agent_state("a") is state
    return desk


def test_the_table_covers_every_state_and_trigger():
    assert set(TABLE) == {(s, t) for s in AgentState for t in Trigger}


def test_every_state_is_reachable_from_logged_out():
    seen, frontier = {S.LOGGED_OUT}, [S.LOGGED_OUT]
    while frontier:
        state = frontier.pop()
        for (s, _), outcome in TABLE.items():
            if s is state and isinstance(outcome, AgentState) and outcome not in seen:
                seen.add(outcome)
                frontier.append(outcome)
    assert seen == set(AgentState)


@pytest.mark.parametrize("state", list(AgentState))
@pytest.mark.parametrize("trigger", list(Trigger))
def test_every_state_x_trigger_does_what_the_table_says(make_desk, make_agent, state, trigger):
    desk = _desk(make_desk, make_agent, state)
    outcome = TABLE[state, trigger]
    event = EVENT[trigger]
    before = len(desk.decisions), len(desk.log)
    # Expressible only where the trigger's event reaches the agent: RESERVE needs a ready
    # agent, CANCEL a ringing one; elsewhere the same event means something else (a new call
    # waits, a caller who is not ringing anyone leaves), which other tests cover.
    if trigger is T.RESERVE and state is not S.READY and outcome is ILLEGAL:
        desk.at(10.0, event)
        assert desk.acd.agent_state("a") is state
        return
    # RELEASE lets a consulted colleague go; "a" here is nobody's colleague (test_transfers.py
    # walks it), so the event is refused in every state.
    if (trigger is T.CANCEL and state is not S.RESERVED) or trigger is T.RELEASE:
        with pytest.raises(IllegalEvent):
            desk.at(10.0, event)
        assert desk.acd.agent_state("a") is state
        return
    if outcome is ILLEGAL:
        with pytest.raises(IllegalEvent):
            desk.at(10.0, event)
        assert (len(desk.decisions), len(desk.log)) == before, "an illegal event changed things"
        assert desk.acd.agent_state("a") is state
    elif outcome is IGNORE:
        assert desk.at(10.0, event) == []
        assert desk.acd.agent_state("a") is state
    elif outcome is PENDING:
        assert desk.at(10.0, event) == []
        assert desk.acd.agent_state("a") is state
        desk.at(20.0, CallEnded("c1"))
        desk.run_until(60.0)  # wrap-up runs out: the pending request applies, not READY
        expected = S.LOGGED_OUT if trigger is T.LOGOUT else S.NOT_READY
        assert desk.acd.agent_state("a") is expected
    else:
        desk.at(10.0, event)
        assert desk.acd.agent_state("a") is outcome


def test_an_illegal_agent_event_names_agent_and_state(make_desk, make_agent):
    desk = _desk(make_desk, make_agent, S.LOGGED_OUT)
    with pytest.raises(AgentStateError, match=r"AgentReady for agent 'a': not allowed while "
                                              r"logged_out"):
        desk.at(1.0, AgentReady("a"))


def test_docs_show_the_diagram_and_table_generated_from_the_table():
    text = DOC.read_text()
    assert render_mermaid() in text, "docs/acd.md is stale: paste render_mermaid() output"
    assert render_table() in text, "docs/acd.md is stale: paste render_table() output"
