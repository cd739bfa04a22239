"""At start, before any call: give a record to every call the last run lost, close what it
left open.

A run that dies (SIGKILL, power cut, watchdog) loses what only its memory held: the calls that
were up, their queue places, pending call backs, the agents' states. What it had made durable
says who they were:

* ``open_calls``: a call is written there when it is answered (``CallOpened``) and removed by
  its ``CallRecord`` in the same transaction, so a row left there is a call that never got
  its record, even one that died before reaching a queue;
* the ACD log: a call with events and no record; a queue entry whose last event neither ends
  it (answered and completed, abandoned, timed out, given up) nor hands it to a call back;
* ``recordings/``: a conversation recording whose call has no record.

Only the traces of runs that are gone: an appliance may share the data directory with one
that is running (``branchline call`` beside ``branchline run``), whose calls are up, not lost.
A call id is ``<boot>-<serial>``; the run ``<boot>`` is gone when no process holds its lock
(runs.py). ``reconcile(records, data_dir, own=boot)`` works under the data directory's
reconcile lock and writes, in one transaction:

* a ``CallRecord`` for each such call: outcome ``answered`` if an agent had answered it
  (CONNECT in the log), else ``appliance-restarted``; hang-up side ``system``, reason
  ``appliance_restarted``; its recording attached if one is on disk;
* an ``APPLIANCERESTART`` event closing each open queue entry (reason ``waiting``,
  ``talking`` or ``callback``), so the log and the KPIs computed from it agree with the
  records;
* an agent state change to ``logged_out`` (and its ``AGENTSTATE`` event) for every agent the
  log leaves logged in: the new run starts with everyone logged out. Agent states do not name
  their run, so this waits for a start when no other run is alive (a live one's agents are
  logged in for real).

Then the lock files of the dead runs are removed: their traces are reconciled.

Times: a lost call ends at the last moment its run is known to have been alive (the latest
time the records hold for call ids of that run, ``<boot>-<serial>``), never earlier than its
own last trace; durations are therefore what the records can prove. Running it twice writes
nothing the second time: every call it touched has a record, every entry it closed ends in
``APPLIANCERESTART``, every agent it touched is logged out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from branchline.acd import QueueEventKind as K
from branchline.config.data_dir import DataDir
from branchline.firmware.records.database import (
    AcdEvent,
    AgentStateChange,
    CallOpened,
    CallRecord,
    HangupSide,
    Outcome,
    Records,
    TraceStep,
)
from branchline.firmware.records.runs import Runs

__all__ = ["REASON", "Reconciled", "reconcile"]

REASON = "appliance_restarted"
# Queue events after which the call is no longer in a queue nor waiting for a call back.
_FINISHED = (K.COMPLETECALLER, K.COMPLETEAGENT, K.ABANDON, K.EXITWITHTIMEOUT, K.EXITEMPTY,
             K.JOINEMPTY, K.FULL, K.CLOSED, K.APPLIANCERESTART)
_CALLBACK = (K.EXITWITHKEY, K.CALLBACKDIAL, K.CALLBACKFAILED)
_TALKING = (K.CONNECT, K.CALLBACKCONNECT)


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What one reconciliation wrote."""

    calls: tuple[str, ...] = ()  # call ids given a record
    entries_closed: int = 0
    agents_logged_out: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.calls or self.entries_closed or self.agents_logged_out)


def reconcile(records: Records, data_dir: Path | DataDir, own: str | None = None
              ) -> Reconciled:
    """See the module docstring; ``own`` is the calling run's boot id. Returns what was
    written (nothing: a falsy ``Reconciled``)."""
    with Runs(data_dir, own=own) as runs:
        done = _reconcile(records, DataDir.of(data_dir).root, runs)
        runs.forget_dead()
    return done


def _boot(call_id: str) -> str:
    return call_id.split("-", 1)[0]  # a call back's leg is "<boot>-<serial>-cb<n>"


def _reconcile(records: Records, data_dir: Path, runs: Runs) -> Reconciled:
    opened = {o.call_id: o for o in records.open_calls() if runs.dead(_boot(o.call_id))}
    from_log = [c for c in records.unfinished_event_calls(str(k) for k in _FINISHED)
                if runs.dead(_boot(c))]
    recordings = {c: path for c, path in _recordings(data_dir).items() if runs.dead(_boot(c))}
    candidates = list(dict.fromkeys([*opened, *from_log]))
    with_record = records.recorded([*candidates, *recordings])
    lost_recordings = [c for c in recordings if c not in with_record and c not in opened
                       and c not in from_log]
    last_alive: dict[str, float | None] = {}
    out: list = []
    calls, closed = [], 0
    for call_id in candidates:
        events = records.call_events(call_id)
        boot = _boot(call_id) + "-"
        if boot not in last_alive:
            last_alive[boot] = records.last_moment(boot)
        end = max([last_alive[boot] or 0.0, *(e.at for e in events),
                   *((opened[call_id].answered_at,) if call_id in opened else ())])
        entry = _close_entry(call_id, events, end)
        if entry is not None:
            out.append(entry)
            closed += 1
        if call_id not in with_record:
            out.append(_record(call_id, opened.get(call_id), events, end,
                               recordings.get(call_id)))
            calls.append(call_id)
    for call_id in lost_recordings:
        path = recordings[call_id]
        moment = (data_dir / path).stat().st_mtime
        out.append(_record(call_id, None, [], moment, path))
        calls.append(call_id)
    agents = () if runs.others_alive else _log_out_agents(records, out)
    records.append_many(out)
    return Reconciled(tuple(calls), closed, agents)


def _close_entry(call_id: str, events: list[AcdEvent], end: float) -> AcdEvent | None:
    """The APPLIANCERESTART event that closes this call's queue entry, if it is open."""
    queue_events = [e for e in events if e.name not in (K.AGENTSTATE, K.RINGNOANSWER,
                                                        K.RINGCANCELED)]
    if not queue_events:
        return None
    last = queue_events[-1]
    name = K(last.name)
    if name in _FINISHED or (name is K.CALLBACKFAILED and last.data.get("reason") == "gave up"):
        return None
    entered = next((e for e in queue_events if e.name == K.ENTERQUEUE), None)
    start = entered.at if entered is not None else queue_events[0].at
    data = {"priority_class": (entered.data.get("priority_class", "") if entered else "")}
    if name in _TALKING:
        data |= {"reason": "talking", "talk_s": round(end - last.at, 6),
                 "wait_s": last.data.get("wait_s", 0.0)}
    elif name in _CALLBACK:
        data |= {"reason": "callback", "wait_s": round(end - start, 6)}
    else:
        data |= {"reason": "waiting", "wait_s": round(end - start, 6)}
    return AcdEvent(end, str(K.APPLIANCERESTART), call_id=call_id, queue=last.queue,
                    agent=last.agent if name in _TALKING else None,
                    data={k: v for k, v in data.items() if v not in ("", 0.0)})


def _record(call_id: str, opened: CallOpened | None, events: list[AcdEvent], end: float,
            recording: str | None) -> CallRecord:
    entered = next((e for e in events if e.name == K.ENTERQUEUE), None)
    connect = next((e for e in events if e.name == K.CONNECT), None)
    started = opened.started_at if opened else min([e.at for e in events] or [end])
    left = next((e.at for e in events if e.name not in (K.ENTERQUEUE, K.AGENTSTATE,
                                                          K.RINGNOANSWER, K.RINGCANCELED)),
                end)
    return CallRecord(
        call_id=call_id, started_at=started, ended_at=max(end, started),
        caller=(opened.caller if opened else entered.data.get("detail", "") if entered else ""),
        dialled=opened.dialled if opened else "", port=opened.port if opened else "",
        config_version=opened.config_version if opened else 0,
        outcome=Outcome.ANSWERED if connect is not None else Outcome.APPLIANCE_RESTARTED,
        hangup_side=HangupSide.SYSTEM, hangup_reason=REASON,
        answered_at=opened.answered_at if opened else None,
        ivr_path=(TraceStep(round(end, 3), "restart", "",
                            "record written at the next start from what was durable"),),
        queue=entered.queue if entered else None,
        priority_class=(entered.data.get("priority_class") or None) if entered else None,
        agent_id=connect.agent if connect is not None else None,
        wait_seconds=round(max(0.0, left - entered.at), 3) if entered else 0.0,
        talk_seconds=round(max(0.0, end - connect.at), 3) if connect is not None else 0.0,
        recording=recording,
    )


def _log_out_agents(records: Records, out: list) -> tuple[str, ...]:
    """Log out (in the log and the state history) every agent the records leave logged in."""
    latest = records.latest_agent_states()
    open_agents = {a: s for a, s in latest.items() if s.to_state != "logged_out"}
    if not open_agents:
        return ()
    moment = max(records.last_moment() or 0.0, *(s.at for s in open_agents.values()))
    for agent, state in sorted(open_agents.items()):
        out.append(AgentStateChange(moment, agent, state.to_state, "logged_out", REASON))
        out.append(AcdEvent(moment, str(K.AGENTSTATE), agent=agent,
                            data={"old_state": state.to_state, "new_state": "logged_out",
                                  "reason": REASON}))
    return tuple(sorted(open_agents))


def _recordings(data_dir: Path) -> dict[str, str]:
    """Conversation recordings on disk by call id (messages left aside: a message belongs to
    a call that also has open_calls or log traces), as paths relative to ``data_dir``."""
    found = {}
    root = DataDir.of(data_dir).recordings
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".wav") and not name.endswith("-message.wav"):
                relative = (Path(folder) / name).relative_to(data_dir)
                found[name[:-4]] = relative.as_posix()
    return found
