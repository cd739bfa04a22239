"""How records become table rows and back: the INSERT statements, JSON and ISO time columns,
and the card-number guard applied to every text field on the way in (see ``records_guard``).
"""

import datetime
import json

from branchline.firmware.records.errors import RecordRefused
from branchline.firmware.records.guard import E164_MAX_DIGITS, refuse_pan
from branchline.firmware.records.holds import CallHold, hold_row
from branchline.firmware.records.quality import QUALITY_COLUMNS, quality_from_row, quality_params
from branchline.firmware.records.types import (
    AcdEvent,
    AgentStateChange,
    AuditEntry,
    CallOpened,
    CallRecord,
    HangupSide,
    Outcome,
    TraceStep,
)
from branchline.firmware.records.visits import store_call

# Fields made to hold phone numbers (E.164 allows up to 15 digits) are checked for card
# numbers only above that length: a 13-15 digit number with a country code passes Luhn one
# time in ten. Those are the caller and dialled numbers, ACD event data (caller and call-back
# numbers) and the audit diff (configuration text lists VIP and transfer numbers).
PHONE_MIN_PAN = E164_MAX_DIGITS + 1

INSERT_CALL = (
    "INSERT INTO calls (call_id, started_epoch, started_utc, answered_epoch, answered_utc, "
    "ended_epoch, ended_utc, caller, dialled, port, config_version, language, ivr_path, "
    "host_results, queue, priority_class, agent_id, wait_seconds, talk_seconds, "
    "wrapup_seconds, survey_score, recording, outcome, hangup_side, hangup_reason, "
    + ", ".join(QUALITY_COLUMNS) + ", hold_seconds) VALUES (" + ", ".join("?" * 31) + ")"
)
INSERT_EVENT = (
    "INSERT INTO acd_events (at_epoch, at_utc, call_id, queue, agent, name, data) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_STATE = (
    "INSERT INTO agent_states (at_epoch, at_utc, agent, from_state, to_state, reason) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
INSERT_AUDIT = "INSERT INTO audit (at_epoch, at_utc, who, what, diff) VALUES (?, ?, ?, ?, ?)"
# A call answered twice is the same call: the second row changes nothing.
INSERT_OPEN = (
    "INSERT OR IGNORE INTO open_calls (call_id, started_epoch, started_utc, answered_epoch, "
    "answered_utc, caller, dialled, port, config_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Run after every INSERT_CALL, in the same transaction: a recorded call is no longer open.
CLOSE_OPEN = "DELETE FROM open_calls WHERE call_id = ?"
OPEN_COLUMNS = ("call_id, started_epoch, answered_epoch, caller, dialled, port, "
                "config_version")

CALL_COLUMNS = (
    "call_id, started_epoch, ended_epoch, caller, dialled, port, config_version, outcome, "
    "hangup_side, hangup_reason, answered_epoch, language, ivr_path, host_results, queue, "
    "priority_class, agent_id, wait_seconds, talk_seconds, wrapup_seconds, survey_score, "
    "recording, " + ", ".join(QUALITY_COLUMNS) + ", hold_seconds"
)


def row_for(record):
    """The INSERT statement and parameters for one record, after the card-number guard."""
    if isinstance(record, CallRecord):
        return INSERT_CALL, _call_params(record)
    if isinstance(record, AcdEvent):
        where = f"ACD event {record.name!r}"
        data = _to_json(where, "data", record.data)
        for name, value in (("name", record.name), ("call_id", record.call_id),
                            ("queue", record.queue), ("agent", record.agent)):
            refuse_pan(where, name, value or "")
        # ACD events quote phone numbers (the caller entering a queue, a call-back number).
        refuse_pan(where, "data", data, PHONE_MIN_PAN)
        return INSERT_EVENT, (record.at, _utc(record.at), record.call_id, record.queue,
                              record.agent, record.name, data)
    if isinstance(record, AgentStateChange):
        where = f"agent {record.agent!r} state change"
        for name in ("agent", "from_state", "to_state", "reason"):
            refuse_pan(where, name, getattr(record, name))
        return INSERT_STATE, (record.at, _utc(record.at), record.agent,
                              record.from_state, record.to_state, record.reason)
    if isinstance(record, AuditEntry):
        where = f"audit entry by {record.who!r}"
        refuse_pan(where, "who", record.who)
        refuse_pan(where, "what", record.what)
        refuse_pan(where, "diff", record.diff, PHONE_MIN_PAN)
        return INSERT_AUDIT, (record.at, _utc(record.at), record.who, record.what,
                              record.diff)
    if isinstance(record, CallHold):
        return hold_row(record)
    if isinstance(record, CallOpened):
        where = f"call opened {record.call_id!r}"
        for name in ("caller", "dialled"):
            refuse_pan(where, name, getattr(record, name), PHONE_MIN_PAN)
        refuse_pan(where, "port", record.port)
        return INSERT_OPEN, (record.call_id, record.started_at, _utc(record.started_at),
                             record.answered_at, _utc(record.answered_at), record.caller,
                             record.dialled, record.port, record.config_version)
    raise RecordRefused(
        f"call records: cannot store a {type(record).__name__}; give a CallRecord, "
        "AcdEvent, AgentStateChange, AuditEntry, CallOpened or CallHold"
    )


def _utc(epoch):
    if epoch is None:
        return None
    moment = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _to_json(where, field, value):
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise RecordRefused(
            f"{where}: field {field} is not plain JSON ({exc}); give dicts, lists, strings, "
            "finite numbers, booleans and None only"
        ) from None


def _call_params(r):
    where = f"call record {r.call_id!r}"
    path = _to_json(where, "ivr_path", [
        {"at": s.at, "what": s.what, "node": s.node, "detail": s.detail} for s in r.ivr_path])
    hosts = _to_json(where, "host_results", r.host_results)
    for name in ("caller", "dialled"):
        refuse_pan(where, name, getattr(r, name), PHONE_MIN_PAN)
    # The call's own numbers may be quoted in its trace ("call c1 from 8613912345677"): they
    # are stored in clear in their own columns anyway, so they are not taken for cards.
    own_numbers = {_digits(r.caller), _digits(r.dialled)}
    for name, value in (("call_id", r.call_id), ("port", r.port), ("language", r.language),
                        ("ivr_path", path), ("host_results", hosts), ("queue", r.queue),
                        ("priority_class", r.priority_class), ("agent_id", r.agent_id),
                        ("recording", r.recording), ("hangup_reason", r.hangup_reason)):
        refuse_pan(where, name, value or "", allowed=own_numbers)
    return (
        r.call_id, r.started_at, _utc(r.started_at), r.answered_at, _utc(r.answered_at),
        r.ended_at, _utc(r.ended_at), r.caller, r.dialled, r.port, r.config_version,
        r.language, path, hosts, r.queue, r.priority_class, r.agent_id, r.wait_seconds,
        r.talk_seconds, r.wrapup_seconds, r.survey_score, r.recording, r.outcome.value,
        r.hangup_side.value, r.hangup_reason, *quality_params(r.quality), r.hold_seconds,
    )


def store_call_ivr(db, params):
    """Write the IVR rows (``visits.store_call``) of the call whose ``INSERT_CALL``
    parameters are ``params``."""
    store_call(db, params[0], params[1], params[7], params[10], params[8], params[22],
               params[14], json.loads(params[12]))


def _digits(number):
    return "".join(c for c in number if c.isdigit())


def call_from_row(row):
    (call_id, started, ended, caller, dialled, port, version, outcome, side, reason,
     answered, language, path, hosts, queue, priority, agent, wait, talk, wrapup, score,
     recording, *quality, hold) = row
    return CallRecord(
        call_id=call_id, started_at=started, ended_at=ended, caller=caller, dialled=dialled,
        port=port, config_version=version, outcome=Outcome(outcome),
        hangup_side=HangupSide(side), hangup_reason=reason, answered_at=answered,
        language=language,
        ivr_path=tuple(TraceStep(**step) for step in json.loads(path)),
        host_results=json.loads(hosts), queue=queue, priority_class=priority, agent_id=agent,
        wait_seconds=wait, talk_seconds=talk, wrapup_seconds=wrapup, survey_score=score,
        recording=recording, quality=quality_from_row(quality), hold_seconds=hold,
    )


def event_from_row(row):
    at, name, call_id, queue, agent, data = row
    return AcdEvent(at=at, name=name, call_id=call_id, queue=queue, agent=agent,
                    data=json.loads(data))


def opened_from_row(row):
    call_id, started, answered, caller, dialled, port, version = row
    return CallOpened(call_id=call_id, started_at=started, answered_at=answered, caller=caller,
                      dialled=dialled, port=port, config_version=version)


def state_from_row(row):
    at, agent, from_state, to_state, reason = row
    return AgentStateChange(at=at, agent=agent, from_state=from_state, to_state=to_state,
                            reason=reason)
