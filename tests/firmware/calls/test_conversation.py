"""The conversation table: every phase reachable, every phase x step decided, paths per phase."""

import pytest

from branchline.firmware.calls.conversation import (
    ILLEGAL,
    TABLE,
    Conversation,
    ConversationError,
    Monitor,
    MonitorMode,
    Phase,
    Step,
)

CALLER, AGENT, COLLEAGUE, SUPERVISOR = 0, 4, 5, 7


def test_the_table_decides_every_phase_and_step_and_reaches_every_phase():
    assert set(TABLE) == {(p, s) for p in Phase for s in Step}
    seen, frontier = {Phase.TALKING}, [Phase.TALKING]
    while frontier:
        phase = frontier.pop()
        for (p, _), target in TABLE.items():
            if p is phase and isinstance(target, Phase) and target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(Phase)


@pytest.mark.parametrize(("phase", "step"), [k for k, v in TABLE.items() if v == ILLEGAL])
def test_an_illegal_step_raises_and_changes_nothing(phase, step):
    conv = Conversation(CALLER, AGENT, phase, COLLEAGUE)
    with pytest.raises(ConversationError, match=f"{step.value} is not possible while "
                                                f"{phase.value}"):
        conv.step(step)
    assert (conv.phase, conv.agent, conv.colleague, conv.over) == (phase, AGENT, COLLEAGUE,
                                                                    False)


def heard(conv):
    who = {}
    for p in conv.paths():
        who.setdefault(p.to, set()).add(p.source)
    return who


def test_paths_follow_the_phase():
    conv = Conversation(CALLER, AGENT)
    assert heard(conv) == {CALLER: {AGENT}, AGENT: {CALLER}}
    conv.step(Step.HOLD)
    assert heard(conv) == {}
    conv.ring(COLLEAGUE)
    conv.step(Step.CONSULT)
    assert heard(conv) == {}
    conv.step(Step.ANSWERED)
    assert heard(conv) == {AGENT: {COLLEAGUE}, COLLEAGUE: {AGENT}}
    conv.step(Step.CONFERENCE)
    assert heard(conv) == {CALLER: {AGENT, COLLEAGUE}, AGENT: {CALLER, COLLEAGUE},
                           COLLEAGUE: {CALLER, AGENT}}
    conv.step(Step.AGENT_LEFT)
    assert (conv.agent, conv.colleague) == (COLLEAGUE, None)
    assert heard(conv) == {CALLER: {COLLEAGUE}, COLLEAGUE: {CALLER}}
    conv.end()
    assert conv.paths() == [] and conv.parties() == []


@pytest.mark.parametrize(("mode", "expected", "on_hold"), [
    (MonitorMode.LISTEN, {CALLER: {AGENT}, AGENT: {CALLER}, SUPERVISOR: {CALLER, AGENT}}, {}),
    (MonitorMode.WHISPER, {CALLER: {AGENT}, AGENT: {CALLER, SUPERVISOR},
                           SUPERVISOR: {CALLER, AGENT}}, {AGENT: {SUPERVISOR}}),
    (MonitorMode.BARGE, {CALLER: {AGENT, SUPERVISOR}, AGENT: {CALLER, SUPERVISOR},
                         SUPERVISOR: {CALLER, AGENT}}, {}),
])
def test_monitors(mode, expected, on_hold):
    conv = Conversation(CALLER, AGENT)
    conv.monitors[SUPERVISOR] = Monitor(SUPERVISOR, "wang", mode, 0.0, 0.0)
    assert heard(conv) == expected
    conv.step(Step.HOLD)  # nobody talks: only a whisper still reaches the agent
    assert heard(conv) == on_hold


def test_take_over_makes_the_supervisor_the_agent():
    conv = Conversation(CALLER, AGENT)
    conv.monitors[SUPERVISOR] = Monitor(SUPERVISOR, "wang", MonitorMode.LISTEN, 0.0, 0.0)
    assert conv.take_over(SUPERVISOR) == AGENT
    assert heard(conv) == {CALLER: {SUPERVISOR}, SUPERVISOR: {CALLER}}
    with pytest.raises(ConversationError, match="not monitoring"):
        conv.take_over(AGENT)
