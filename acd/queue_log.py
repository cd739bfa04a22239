"""The event log in Asterisk's queue_log format, for the reporting tools call centres own.

A line is `epoch|callid|queue|agent|EVENT|data1|data2|...`; missing call, queue or agent is
`NONE`. Event names and their data follow Asterisk's "Queue Logs" documentation
(docs.asterisk.org, Operation > Logging > Queue Logs):

| Branchline event | queue_log line data |
|---|---|
| ENTERQUEUE | url (empty), caller id |
| CONNECT | holdtime s, bridged channel unique id (we give the call id), ring time s |
| COMPLETECALLER / COMPLETEAGENT | holdtime s, call time s, original position |
| ABANDON, EXITWITHTIMEOUT, EXITEMPTY | position, original position, wait s |
| EXITWITHKEY | key, position, original position, wait s |
| JOINEMPTY | (none) |
| RINGNOANSWER, RINGCANCELED | ring time in milliseconds |
| agent logs in / out | ADDMEMBER / REMOVEMEMBER, one line per queue of the agent |
| agent goes not ready / ready again | PAUSE reason / UNPAUSE, one line per queue |

Asterisk has no line for a call refused because the queue is full or closed, for a call back, or
for an entry closed at start after a crash (APPLIANCERESTART); those stay in Branchline's own log.
A call back that connects is not written as CONNECT (the call already left with EXITWITHKEY,
and reports would count it twice); neither are its COMPLETE lines. A transfer (TRANSFER, and
the colleague's CONNECT with reason "transfer") has no line either: the call entered and was
answered once, and its one COMPLETE line comes from its last agent.
"""

from collections.abc import Iterable, Mapping, Sequence

from branchline.acd.eventlog import QueueEvent, QueueEventKind


def _s(seconds: float) -> str:
    return str(round(seconds))


def queue_log_lines(
    log: Iterable[QueueEvent],
    memberships: Mapping[str, Sequence[str]],
    *,
    epoch_offset: float = 0.0,
) -> list[str]:
    """Format `log`; `memberships` maps agent id -> the queues it is in; `epoch_offset` turns
    the engine's clock into Unix time."""
    lines: list[str] = []
    for e in log:
        head = [str(int(e.time + epoch_offset)), e.call_id or "NONE", e.queue or "NONE",
                e.agent_id or "NONE"]
        for event, data in _events(e):
            lines.append("|".join([*head, event, *map(str, data)]))
        if e.kind is QueueEventKind.AGENTSTATE:
            for event, data in _member_events(e):
                for queue in memberships.get(e.agent_id, ()):
                    lines.append("|".join([head[0], "NONE", queue, head[3], event, *data]))
    return lines


def _events(e: QueueEvent) -> list[tuple[str, tuple]]:
    match e.kind:
        case QueueEventKind.ENTERQUEUE:
            return [("ENTERQUEUE", ("", e.detail))]
        case QueueEventKind.CONNECT if e.reason != "transfer":
            return [("CONNECT", (_s(e.wait_s), e.call_id, _s(e.ring_s)))]
        case QueueEventKind.COMPLETECALLER | QueueEventKind.COMPLETEAGENT if e.detail != "callback":
            return [(e.kind.value, (_s(e.wait_s), _s(e.talk_s), e.orig_position))]
        case QueueEventKind.ABANDON | QueueEventKind.EXITWITHTIMEOUT | QueueEventKind.EXITEMPTY:
            return [(e.kind.value, (e.position, e.orig_position, _s(e.wait_s)))]
        case QueueEventKind.EXITWITHKEY:
            return [("EXITWITHKEY", (e.detail, e.position, e.orig_position, _s(e.wait_s)))]
        case QueueEventKind.JOINEMPTY:
            return [("JOINEMPTY", ())]
        case QueueEventKind.RINGNOANSWER | QueueEventKind.RINGCANCELED:
            return [(e.kind.value, (round(e.ring_s * 1000),))]
    return []


def _member_events(e: QueueEvent) -> list[tuple[str, tuple[str, ...]]]:
    """Agent state as Asterisk queue membership: logged in = member, not ready = paused."""
    events = []
    if e.old_state == "logged_out":
        events.append(("ADDMEMBER", ()))
    if e.new_state == "not_ready" and e.old_state != "not_ready":
        events.append(("PAUSE", (e.reason,)))
    if e.old_state == "not_ready" and e.new_state not in ("not_ready", "logged_out"):
        events.append(("UNPAUSE", ("",)))
    if e.new_state == "logged_out":
        events.append(("REMOVEMEMBER", ()))
    return events
