"""A call's legs in order: who talked to the caller, from when to when, and how it ended.

``call_legs(record, events)`` reads them from what is stored already: the call's ACD log
(``Records.events(..., call_id=...)``) and its call record. Each agent's leg starts at their
CONNECT (the first answer, or a colleague's with reason "transfer") and ends at a TRANSFER
(the agent handed the call on; ``how`` says where to) or at the call's COMPLETE entry. A
TRANSFER to ``supervisor:<user>`` (a take-over) or ``outside:<number>`` (a blind transfer to an
outside number over SIP) starts that leg, which ends with the call. So a transferred call
keeps one record, and its legs list agent A, then agent B (or the outside number).

With the call's holds (``holds.holds_of``), each leg's ``hold_s`` is the time on hold of the
holds that began during it (a hold is the agent's who put the caller on hold, even when it
ends in a colleague's leg, as a blind transfer's does).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from branchline.firmware.records.holds import CallHold
from branchline.firmware.records.types import AcdEvent, CallRecord

__all__ = ["CallLeg", "call_legs"]

_ENDS = {"COMPLETECALLER": "caller_hung_up", "COMPLETEAGENT": "agent_hung_up"}


@dataclass(frozen=True, slots=True)
class CallLeg:
    who: str  # an agent id, "supervisor:<user>" or "outside:<number>"
    started: float  # UTC epoch seconds
    ended: float
    how: str  # "transferred:<where>", "caller_hung_up", "agent_hung_up" or "ended"
    hold_s: float = 0.0


def call_legs(record: CallRecord, events: Iterable[AcdEvent],
              holds: Iterable[CallHold] = ()) -> list[CallLeg]:
    legs = _legs(record, events)
    held = [0.0] * len(legs)
    for hold in holds:
        # The last leg begun by then (a hold begun as a leg ends, as a blind transfer's is,
        # is the leg's that ends).
        mine = [i for i, leg in enumerate(legs) if leg.started <= hold.started_at]
        if mine:
            held[mine[-1]] += hold.seconds
        elif legs:
            held[0] += hold.seconds
    return [CallLeg(leg.who, leg.started, leg.ended, leg.how, round(s, 3))
            for leg, s in zip(legs, held, strict=True)]


def _legs(record: CallRecord, events: Iterable[AcdEvent]) -> list[CallLeg]:
    legs: list[CallLeg] = []
    who: str | None = None
    since = 0.0
    for event in sorted((e for e in events if e.call_id == record.call_id),
                        key=lambda e: e.at):
        if event.name == "CONNECT" and event.agent:
            who, since = event.agent, event.at
        elif event.name == "TRANSFER" and who is not None:
            detail = str(event.data.get("detail", ""))
            legs.append(CallLeg(who, since, event.at, f"transferred:{detail}"))
            who = detail if detail.startswith(("supervisor:", "outside:")) else None
            since = event.at
        elif event.name in _ENDS and who is not None:
            legs.append(CallLeg(who, since, event.at, _ENDS[event.name]))
            who = None
    if who is not None:
        legs.append(CallLeg(who, since, record.ended_at, "ended"))
    return legs
