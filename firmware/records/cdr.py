"""From what happened on a call to its one ``CallRecord``; ACD log entries to rows and back.

``build_record(CallFacts) -> CallRecord`` decides the outcome and the hang-up side:

| outcome | when |
|---|---|
| error | an engine or the runtime failed on this call |
| transferred | the flow transferred the call |
| answered | an agent answered it |
| callback | the caller asked for a call back (or the queue turned it into one) |
| abandoned-in-queue | the caller hung up while waiting for an agent |
| overflowed | a queue sent the call on (max wait, full, nobody logged in) and it then ended |
| self-served | the flow ended the call, or the caller hung up once served (see below) |
| abandoned-in-ivr | the caller hung up in the menus (or while it rang) before being served |

A caller who hangs up in the IVR was served when the host answered them ``ok``, they left a
message, or they reached a ``play`` node: in a bank flow that is where callers get what they
called for (the balance, a loss reference, the opening hours).

Hang-up side: ``caller`` when the far end cleared, ``agent`` when the agent's hang-up ended the
conversation and the flow then ended the call, else ``system``. Host results keep the status
and error code per endpoint, never a returned value (balances are not for the call records).

``acd_row(event, epoch0)`` / ``queue_event(row, epoch0)`` convert the ACD's ``QueueEvent``
(loop time) to the records' ``AcdEvent`` (UTC epoch: loop time + ``epoch0``) and back, so
``kpis_from_log`` can run on what the database holds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from branchline.acd import QueueEvent, QueueEventKind
from branchline.firmware.records.database import AcdEvent, CallRecord, TraceStep
from branchline.firmware.records.types import CallQuality

__all__ = ["CallFacts", "acd_row", "build_record", "call_quality", "queue_event"]


@dataclass(frozen=True, slots=True)
class CallFacts:
    call_id: str
    caller: str
    dialled: str
    port: str
    config_version: int
    rang_at: float  # UTC epoch seconds from here on
    answered_at: float | None
    ended_at: float
    language: str
    traces: tuple
    host: dict
    queue: str | None
    priority_class: str | None
    agent_id: str | None
    wait_s: float
    talk_s: float
    wrap_s: float
    survey: int | None
    recording: str | None
    caller_hung_up: bool
    ended_by_agent: bool
    queued_at_end: bool
    queue_outcomes: tuple[str, ...]
    transferred: bool
    failed: bool
    reason: str
    message: bool
    quality: CallQuality | None = None
    hold_s: float = 0.0


def _outcome(f: CallFacts) -> str:
    if f.failed:
        return "error"
    if f.transferred:
        return "transferred"
    if f.agent_id is not None:
        return "answered"
    if "callback" in f.queue_outcomes:
        return "callback"
    if f.queued_at_end and f.caller_hung_up:
        return "abandoned-in-queue"
    if f.queue_outcomes:
        return "overflowed"
    heard_play = any(t.what == "enter" and t.detail == "play" for t in f.traces)
    served = (f.message or heard_play
              or any(h.get("status") == "ok" for h in f.host.values()))
    if f.caller_hung_up and not served:
        return "abandoned-in-ivr"
    return "self-served"


def _side(f: CallFacts) -> str:
    if f.caller_hung_up:
        return "caller"
    if f.ended_by_agent:
        return "agent"
    return "system"


def build_record(f: CallFacts) -> CallRecord:
    return CallRecord(
        call_id=f.call_id,
        started_at=f.rang_at,
        ended_at=max(f.ended_at, f.rang_at),
        caller=f.caller,
        dialled=f.dialled,
        port=f.port,
        config_version=f.config_version,
        outcome=_outcome(f),
        hangup_side=_side(f),
        hangup_reason=f.reason,
        answered_at=f.answered_at,
        language=f.language,
        ivr_path=tuple(TraceStep(round(t.at, 3), t.what, t.node, t.detail) for t in f.traces),
        host_results=f.host,
        queue=f.queue,
        priority_class=f.priority_class,
        agent_id=f.agent_id,
        wait_seconds=round(f.wait_s, 3),
        talk_seconds=round(f.talk_s, 3),
        wrapup_seconds=round(f.wrap_s, 3),
        survey_score=f.survey,
        recording=f.recording,
        quality=f.quality,
        hold_seconds=round(f.hold_s, 3),
    )


def call_quality(board, port: int) -> CallQuality | None:
    """The media quality of the call that was last on ``port``, if its board has RTP (the SIP
    board keeps a call's statistics after it ends, until the next call on the port)."""
    stats_of = getattr(board, "call_quality", None)
    stats = None if stats_of is None else stats_of(port)
    if stats is None:
        return None
    return CallQuality(loss_percent=stats.loss_percent, jitter_ms=stats.jitter_ms,
                       rtt_ms=stats.rtt_ms, r=stats.r, mos=stats.mos)


_DATA_FIELDS = tuple(f.name for f in fields(QueueEvent)
                     if f.name not in ("time", "kind", "call_id", "queue", "agent_id"))
_DEFAULTS = QueueEvent(0.0, QueueEventKind.ENTERQUEUE)


def acd_row(event: QueueEvent, epoch0: float) -> AcdEvent:
    data = {name: _tidy(getattr(event, name)) for name in _DATA_FIELDS
            if getattr(event, name) != getattr(_DEFAULTS, name)}
    return AcdEvent(at=epoch0 + event.time, name=str(event.kind), call_id=event.call_id or None,
                    queue=event.queue or None, agent=event.agent_id or None, data=data)


def _tidy(value):
    # Durations to the microsecond: float noise such as 22.000000000002547 would otherwise put
    # a 16-digit run in the row, which the records' card-number guard rightly refuses.
    return round(value, 6) if isinstance(value, float) else value


def queue_event(row: AcdEvent, epoch0: float) -> QueueEvent:
    return QueueEvent(time=row.at - epoch0, kind=QueueEventKind(row.name),
                      call_id=row.call_id or "", queue=row.queue or "",
                      agent_id=row.agent or "", **dict(row.data))
