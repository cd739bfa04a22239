"""Walk the session's transition table: every phase x event is handled or explicitly
ignored, every phase is reached by the sample flow (the transferring phase, which needs a
transfer node with ``on_failure``, by a small flow: the sample has no transfer node), an
ignored event changes nothing, and the docs show the same table."""

import copy
from pathlib import Path

import pytest
from ivr_harness import IvrHarness, luhn_complete, make_call, tiny_flow

from branchline.ivr import (
    AgentCallEnded,
    CallerHungUp,
    Digit,
    HostReplied,
    MessageRecorded,
    Phase,
    PlaybackFinished,
    QueueOutcome,
    Session,
    TimerFired,
    Trace,
    TransferOutcome,
    sample_flow,
    sample_prompts,
)
from branchline.ivr._events import EVENT_TYPES
from branchline.ivr._session import IGNORE, TABLE, describe_table

SAMPLES = {
    Digit: Digit("5"), PlaybackFinished: PlaybackFinished(999), TimerFired: TimerFired("nope"),
    HostReplied: HostReplied(999, "ok", {}), QueueOutcome: QueueOutcome("answered", "a1"),
    AgentCallEnded: AgentCallEnded(), MessageRecorded: MessageRecorded(3.0),
    TransferOutcome: TransferOutcome("failed", "busy"), CallerHungUp: CallerHungUp(),
}
TRANSFER_FLOW = tiny_flow({"go": {"kind": "transfer", "target": "95566", "on_failure": "agent"}})


def test_every_phase_and_event_is_in_the_table():
    assert set(TABLE) == set(Phase)
    for phase, row in TABLE.items():
        assert set(row) == set(EVENT_TYPES), phase
        for handler in row.values():
            assert handler == IGNORE or callable(getattr(Session, handler))


def _snapshots():
    """A session copied the first time it is seen in each phase, from sample-flow calls."""
    seen: dict[Phase, Session] = {}
    card = luhn_complete("622588013765123")
    scripts = [
        ([(1.0, "11"), (3.0, card + "#"), (12.0, "1"), (15.0, "975312")], {}),  # balance
        ([(1.0, "1"), (3.0, "0")], {}),                                          # a person
        ([(1.0, "1"), (3.0, "0"), (6.0, "1")],                                   # busy: message
         {"queue": lambda e: [(1.0, QueueOutcome("overflow"))]}),
    ]
    flows = [(sample_flow(), sample_prompts())] * len(scripts) + [(TRANSFER_FLOW, None)]
    scripts.append(([], {}))  # transferring, then failed: to the queue
    for (keys, extra), (flow, prompts) in zip(scripts, flows, strict=True):
        h = IvrHarness(flow, prompts=prompts, **extra)
        h.start()
        for at, text in keys:
            h.keys(text, at=at)
        seen.setdefault(h.session.phase, copy.deepcopy(h.session))
        while h.step():
            seen.setdefault(h.session.phase, copy.deepcopy(h.session))
    return seen


SNAPSHOTS = _snapshots()


def test_the_sample_flow_and_a_transfer_reach_every_phase():
    assert set(SNAPSHOTS) == set(Phase)


@pytest.mark.parametrize(("phase", "event_type"),
                         [(p, e) for p in Phase for e in EVENT_TYPES if TABLE[p][e] == IGNORE])
def test_an_ignored_event_changes_nothing_but_the_trace(phase, event_type):
    session = copy.deepcopy(SNAPSHOTS[phase])
    before = copy.deepcopy(session.__dict__)
    actions = session.handle(SAMPLES[event_type], 1000.0)
    if phase is Phase.ENDED:
        assert actions == []
    else:
        assert len(actions) == 1 and isinstance(actions[0], Trace)
        assert actions[0].what == "ignored"
        assert "5" not in actions[0].detail          # a key is never traced when ignored
    assert session.__dict__.keys() == before.keys()
    assert {k: v for k, v in session.__dict__.items() if k != "flow"} == \
        {k: v for k, v in before.items() if k != "flow"}


def test_docs_show_the_same_table():
    docs = Path(__file__).resolve().parents[2] / "docs" / "ivr.md"
    assert describe_table() in docs.read_text()


def test_a_fresh_session_ignores_events_before_start():
    session = Session(sample_flow(), make_call(), 0.0)
    assert session.handle(Digit("1"), 0.0) == [Trace("ignored", "", "Digit before start", 0.0)]
