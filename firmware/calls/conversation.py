"""Who is in one answered call, and who hears whom: a table, and the mix paths it implies.

Theory of operation
-------------------
A call answered by an agent is a ``Conversation`` between the caller's port and the agent's
station, in one ``Phase``. Everything that can happen to it is a ``Step``: the agent holds,
resumes, consults a colleague, makes a conference, completes or cancels; the colleague
answers, does not answer, or hangs up; the agent hangs up. ``TABLE[phase, step]`` is the next
phase, or ``ILLEGAL`` (``ConversationError``, nothing changes). A caller who hangs up ends the
whole conversation in any phase; that is not a step, it is the end (``paths()`` is then empty).

Monitors are apart from the phase: any number of supervisor stations, each listening,
whispering (the agent hears them, the caller does not) or barging (everyone hears them). A
supervisor who takes over becomes the agent party.

``paths()`` derives every mix path from the state alone, so the mix matrix is always what the
state says: after any step the session routes ``paths()`` for the call in one go
(``Mixer.route``), and a party who left is in no path. The groups that talk:

    TALKING           caller <-> agent
    HELD              nobody (the caller hears music on hold; the agent keys a code)
    CONSULT_RINGING   nobody (the colleague's phone rings; the agent hears ringback)
    CONSULTING        agent <-> colleague (the caller on hold)
    CONFERENCE        caller <-> agent <-> colleague
    TRANSFER_RINGING  nobody (the agent left; the colleague's phone rings for the caller)

A listener hears every party in a talking group; a whisperer also is heard by the agent; a
barger joins the agent's group (or, with none, the caller's). With nobody talking (hold,
ringing) a monitor hears nothing; a whisperer still reaches the agent (coaching while the
caller is held), a barger nobody.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from branchline.dsp import MixPath

__all__ = ["ILLEGAL", "TABLE", "Conversation", "ConversationError", "Monitor", "MonitorMode",
           "Phase", "Step"]


class Phase(enum.StrEnum):
    TALKING = "talking"
    HELD = "held"
    CONSULT_RINGING = "consult_ringing"
    CONSULTING = "consulting"
    CONFERENCE = "conference"
    TRANSFER_RINGING = "transfer_ringing"


class Step(enum.StrEnum):
    HOLD = "hold"
    RESUME = "resume"
    CONSULT = "consult"  # ring a colleague (the caller is held)
    BLIND = "blind"  # ring a colleague for the caller; the agent leaves now
    ANSWERED = "answered"  # the colleague picked up
    NO_ANSWER = "no_answer"  # the colleague's phone rang out
    COLLEAGUE_LEFT = "colleague_left"  # the colleague hung up
    CONFERENCE = "conference"
    COMPLETE = "complete"  # the agent hands the caller to the colleague
    AGENT_LEFT = "agent_left"  # the agent hung up


class MonitorMode(enum.StrEnum):
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


ILLEGAL = "illegal"
P, S = Phase, Step
_END = "end"  # the conversation is over (the agent hung up with nobody to hand to)

TABLE: dict[tuple[Phase, Step], Phase | str] = {}
for _phase in Phase:
    for _step in Step:
        TABLE[_phase, _step] = ILLEGAL
TABLE.update({
    (P.TALKING, S.HOLD): P.HELD,
    (P.TALKING, S.BLIND): P.TRANSFER_RINGING,
    (P.TALKING, S.AGENT_LEFT): _END,
    (P.HELD, S.RESUME): P.TALKING,
    (P.HELD, S.CONSULT): P.CONSULT_RINGING,
    (P.HELD, S.BLIND): P.TRANSFER_RINGING,
    (P.HELD, S.AGENT_LEFT): _END,  # a held caller is not left on hold with nobody there
    (P.CONSULT_RINGING, S.ANSWERED): P.CONSULTING,
    (P.CONSULT_RINGING, S.NO_ANSWER): P.TALKING,  # back to the caller
    (P.CONSULT_RINGING, S.RESUME): P.TALKING,  # the agent gave up: the ringing stops
    (P.CONSULT_RINGING, S.AGENT_LEFT): P.TRANSFER_RINGING,  # hanging up while it rings
    (P.CONSULTING, S.RESUME): P.TALKING,  # back to the caller, the colleague released
    (P.CONSULTING, S.CONFERENCE): P.CONFERENCE,
    (P.CONSULTING, S.COMPLETE): P.TALKING,  # the colleague is the agent now
    (P.CONSULTING, S.AGENT_LEFT): P.TALKING,  # the same, by hanging up
    (P.CONSULTING, S.COLLEAGUE_LEFT): P.TALKING,
    (P.CONFERENCE, S.COMPLETE): P.TALKING,
    (P.CONFERENCE, S.AGENT_LEFT): P.TALKING,  # caller and colleague go on
    (P.CONFERENCE, S.COLLEAGUE_LEFT): P.TALKING,
    (P.CONFERENCE, S.HOLD): P.HELD,  # the caller held; the colleague released
    (P.TRANSFER_RINGING, S.ANSWERED): P.TALKING,
    (P.TRANSFER_RINGING, S.NO_ANSWER): _END,  # the session requeues or ends the caller
})
# The colleague takes the agent's place after these (the agent's leg ends).
HANDOVER = {(P.CONSULTING, S.COMPLETE), (P.CONSULTING, S.AGENT_LEFT),
            (P.CONFERENCE, S.COMPLETE), (P.CONFERENCE, S.AGENT_LEFT),
            (P.TRANSFER_RINGING, S.ANSWERED)}


class ConversationError(Exception):
    """A step that the conversation's phase does not allow (the state is unchanged)."""


@dataclass(slots=True)
class Monitor:
    station: int
    supervisor: str
    mode: MonitorMode
    started: float
    mode_started: float


@dataclass(slots=True)
class Conversation:
    """One answered call's parties and phase (see the module docstring)."""

    caller: int
    agent: int | None
    phase: Phase = Phase.TALKING
    colleague: int | None = None
    monitors: dict[int, Monitor] = field(default_factory=dict)
    over: bool = False

    def step(self, step: Step) -> Phase | str:
        """Apply one step; returns the new phase, or "end". Raises ConversationError."""
        if self.over:
            raise ConversationError(f"{step.value}: the conversation is over")
        target = TABLE[self.phase, step]
        if target == ILLEGAL:
            raise ConversationError(f"{step.value} is not possible while {self.phase.value}")
        handover = (self.phase, step) in HANDOVER
        leaving_colleague = step in (S.NO_ANSWER, S.COLLEAGUE_LEFT) or (
            step is S.RESUME and self.phase in (P.CONSULT_RINGING, P.CONSULTING)) or (
            step is S.HOLD and self.phase is P.CONFERENCE)
        if handover:
            self.agent, self.colleague = self.colleague, None
        elif leaving_colleague:
            self.colleague = None
        if step in (S.BLIND, S.AGENT_LEFT) and not handover:
            self.agent = None
        if target == _END:
            self.end()
            return target
        self.phase = target
        return target

    def ring(self, colleague: int) -> None:
        """Name the colleague a CONSULT or BLIND step rings (before the step)."""
        if colleague in (self.caller, self.agent) or colleague in self.monitors:
            raise ConversationError(f"station port {colleague} is in this call already")
        self.colleague = colleague

    def end(self) -> None:
        self.over = True
        self.agent = self.colleague = None
        self.monitors.clear()

    def take_over(self, station: int) -> int | None:
        """The monitoring supervisor at `station` becomes the agent; returns the agent's
        station that leaves (None if there was none)."""
        if station not in self.monitors:
            raise ConversationError(f"station port {station} is not monitoring this call")
        del self.monitors[station]
        left, self.agent = self.agent, station
        if self.phase in (P.CONSULT_RINGING, P.CONSULTING, P.CONFERENCE, P.TRANSFER_RINGING):
            self.colleague = None
        self.phase = P.TALKING
        return left

    def parties(self) -> list[int]:
        """Every port in this call now: caller, agent, colleague, monitors."""
        if self.over:
            return []
        found = [self.caller, self.agent, self.colleague, *self.monitors]
        return [p for p in found if p is not None]

    def groups(self) -> list[set[int]]:
        """The sets of ports that hear each other (see the module docstring)."""
        if self.over:
            return []
        caller, agent, colleague = self.caller, self.agent, self.colleague
        match self.phase:
            case P.TALKING if agent is not None:
                return [{caller, agent}]
            case P.CONSULTING:
                return [{agent, colleague}]
            case P.CONFERENCE:
                return [{caller, agent, colleague}]
        return []

    def paths(self) -> list[MixPath]:
        if self.over:
            return []
        groups = self.groups()
        talking = set().union(*groups) if groups else set()
        for m in self.monitors.values():
            home = next((g for g in groups if self.agent in g), None) or next(
                (g for g in groups if self.caller in g), None)
            if m.mode is MonitorMode.BARGE and home is not None:
                home.add(m.station)
        paths = [MixPath(a, b) for g in groups for a in sorted(g) for b in sorted(g) if a != b]
        for m in self.monitors.values():
            if m.mode is MonitorMode.BARGE:
                continue
            paths += [MixPath(m.station, p) for p in sorted(talking)]
            if m.mode is MonitorMode.WHISPER and self.agent is not None:
                paths.append(MixPath(self.agent, m.station))
        return paths
