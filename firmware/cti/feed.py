"""The CTI feed: the ACD's decisions as call and agent events, and each agent's desk.

``CtiFeed(app)`` wraps ``app.acd.handle`` (as ``LiveBoard`` wraps ``take_log``): after every
event the ACD takes, on the loop thread, it turns the decisions into the events of
``config.web.cti_events`` and keeps them in memory::

    Offer / Callback                 -> offered (the screen pop, firmware/cti/pop.py)
    TransferOffered (accepted)       -> offered, to the colleague rung for the call
    TransferCompleted (accepted)     -> transferred (to_agent, to_queue, detail)
    AgentStateChanged                -> state_changed, then
        reserved -> talking          -> answered
        reserved -> anything else    -> ended (phase offer: not answered, withdrawn)
        talking  -> anything else    -> ended (phase talk, by caller or agent)
    disposition(...) from the page   -> disposition (applied at the loop's next pump)

and follows call control (``app.control_listeners``, firmware/calls/control.py), whichever way
it was asked for (the page, a keypad code, a hook flash)::

    the caller starts hearing the music (hold, consult, blind transfer ringing) -> held
    the music stops and the caller talks to a person again    -> retrieved (that person)
    the music stops because the caller left the agent          -> nothing (transferred or
                                                                  ended says it)
    consulting -> conference                                   -> conferenced

so per call every ``held`` is followed by one ``retrieved``, or by the ``transferred`` /
``ended`` that took the caller away. The agent's desk shows the call's control state
(``call.control``: phase, held, held_since, hold_s, the colleague, the agent in control).

Readers are other threads. Events go into a list that only the loop appends to; readers take
``(first_seq, events)`` with one reference read and slice it (``since``); when the list
passes twice ``keep`` the loop starts a new one with the newest ``keep`` and swaps the
reference. Each agent's desk (state, station, the call on it with its pop, phase and
disposition) is a dict the loop replaces whole, never changes in place. So no lock, and the
loop never waits for a reader. ``listeners`` (the webhook sender's ``offer``) are called on
the loop thread and must not block.

Every event's JSON passes the records' card guard before it is kept: a pop that held a full
card number (a masking bug) goes out without its data, logged. A failure in here is logged and
counted (``cti_errors``); the ACD's decisions go on to the appliance untouched.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from branchline.acd import (
    AgentStateChanged,
    Callback,
    CallEnded,
    IllegalEvent,
    Offer,
    TransferCompleted,
    TransferOffered,
)
from branchline.config.web.cti_events import VERSION
from branchline.firmware.cti.pop import CallerHistory, screen_pop
from branchline.firmware.records.errors import SensitiveDataRefused
from branchline.firmware.records.guard import E164_MAX_DIGITS, refuse_pan

__all__ = ["CtiEvent", "CtiFeed"]

log = logging.getLogger("branchline.cti")

KEEP = 10_000  # events a reconnecting client can still resume from (a branch's busy day)
_ANSWERED_KEEP = 5_000


@dataclass(frozen=True, slots=True)
class CtiEvent:
    stream: str
    seq: int
    type: str
    agent: str | None
    queue: str | None
    text: str  # the event as one line of JSON


@dataclass(slots=True)
class _Call:
    call_id: str
    queue: str
    pop: dict
    phase: str = "offered"  # offered, talking, wrap_up, done
    answered_at: float | None = None
    disposition: dict | None = field(default=None)
    control: dict | None = None  # call control's state, while talking


class CtiFeed:
    """See the module docstring."""

    def __init__(self, app, history: CallerHistory, *, keep: int = KEEP):
        self.app = app
        self.history = history
        self.keep = keep
        self.stream = secrets.token_hex(3)
        self.listeners: list[Callable[[CtiEvent], None]] = []
        self._seq = 0
        self._ring: tuple[int, list[CtiEvent]] = (1, [])
        self._calls: dict[str, _Call] = {}
        self._answered: OrderedDict[str, str] = OrderedDict()  # call id -> agent id
        self._desks: dict[str, dict] = {}
        self._reasons: dict[str, str] = {}
        self._held: dict[str, float] = {}  # call id -> when the caller's hold began
        self._notices: dict[str, dict] = {}  # agent -> the last call-control step refused
        now = app.clock.now()
        for agent in app.config.document.acd.agents:
            self._desk(agent.id, now)
        handle = app.acd.handle

        def handled(event, now):
            decisions = handle(event, now)
            try:
                self._follow(event, decisions, now)
            except Exception:  # the CTI must never take the loop down with it
                app.counters["cti_errors"] += 1
                log.exception("cti: following %r failed", event)
            return decisions

        app.acd.handle = handled

        def controlled(control, before, now):
            try:
                self._control(control, before, now)
            except Exception:
                app.counters["cti_errors"] += 1
                log.exception("cti: following call control of %s failed",
                              control.call.call_id)

        app.control_listeners.append(controlled)
        submit = app.submit_record

        def submitted(record):
            submit(record)
            history.add(record)

        app.submit_record = submitted

    # --- readers (any thread) -------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        return self._seq

    def since(self, after: int) -> tuple[list[CtiEvent], bool]:
        """Events with seq > ``after``, and whether some of them are gone already (a gap)."""
        first, events = self._ring
        start = max(after + 1 - first, 0)
        return events[start:], after + 1 < first

    def desk(self, agent_id: str) -> dict | None:
        return self._desks.get(agent_id)

    def answered_by(self, call_id: str) -> str | None:
        return self._answered.get(call_id)

    # --- the loop's side ------------------------------------------------------------------

    def _follow(self, event, decisions, now: float) -> None:
        match event:
            case TransferOffered():
                call = self.app.by_id.get(event.call_id)
                station = self._station(event.agent_id)
                pop = (screen_pop(call, station, now, self.history) if call is not None
                       else _bare_pop(station))
                self._offer(event.agent_id, event.call_id, pop, now)
            case TransferCompleted():
                holder = next((a for a, c in self._calls.items()
                               if c.call_id == event.call_id and c.phase == "talking"), None)
                queue = self._calls[holder].queue if holder is not None else None
                self.emit("transferred", now, call_id=event.call_id, agent=holder,
                          queue=queue or None, data={"to_agent": event.to_agent,
                                                     "to_queue": event.to_queue,
                                                     "detail": event.detail})
        for d in decisions:
            match d:
                case Offer():
                    call = self.app.by_id.get(d.call_id)
                    pop = (screen_pop(call, d.station, now, self.history) if call is not None
                           else _bare_pop(d.station))
                    self._offer(d.agent_id, d.call_id, pop, now)
                case Callback():
                    pop = _bare_pop(self._station(d.agent_id), d.number)
                    self._offer(d.agent_id, d.call_id, pop, now)
                case AgentStateChanged():
                    self._changed(d, event, now)

    def _control(self, control, before, now: float) -> None:
        shown, call_id = control.shown(), control.call.call_id
        agent = shown.agent_id
        queue = control.call.s.queueing.queue if control.call.s.queueing else None
        station = self._station(agent)
        if shown.held and call_id not in self._held:
            self._held[call_id] = now
            self.emit("held", now, call_id=call_id, agent=agent, queue=queue,
                      data={"station": station, "phase": str(shown.phase)})
        elif not shown.held and call_id in self._held:
            began = self._held.pop(call_id)
            if not shown.over:
                self.emit("retrieved", now, call_id=call_id, agent=agent, queue=queue,
                          data={"station": station, "phase": str(shown.phase),
                                "held_s": round(now - began, 1),
                                "hold_s": round(control.hold_s, 1)})
        if (shown.phase == "conference" and not shown.over
                and (before is None or before.phase != "conference")):
            self.emit("conferenced", now, call_id=call_id, agent=agent, queue=queue,
                      data={"station": station, "colleague": shown.colleague_id})
        state = None if shown.over else {
            "phase": str(shown.phase), "agent": agent, "held": shown.held,
            "held_since": (None if control.held_since is None
                           else round(self.app.wall_epoch(control.held_since), 3)),
            "hold_s": round(control.hold_s, 1), "colleague": shown.colleague_id}
        for who, call in list(self._calls.items()):
            if call.call_id == call_id and call.control != state:
                call.control = state
                self._desk(who, now)

    def _offer(self, agent_id: str, call_id: str, pop: dict, now: float) -> None:
        self._calls[agent_id] = _Call(call_id, pop["queue"], pop)
        self.emit("offered", now, call_id=call_id, agent=agent_id, queue=pop["queue"] or None,
                  data=pop)
        self._desk(agent_id, now)

    def _changed(self, change: AgentStateChanged, event, now: float) -> None:
        agent, old, new = change.agent_id, str(change.old), str(change.new)
        self._reasons[agent] = change.reason
        call = self._calls.get(agent)
        self.emit("state_changed", now, agent=agent,
                  data={"old": old, "new": new, "reason": change.reason,
                        "station": self._station(agent)})
        if call is not None and old == "reserved" and new == "talking":
            call.phase, call.answered_at = "talking", now
            self._answered[call.call_id] = agent
            while len(self._answered) > _ANSWERED_KEEP:
                self._answered.popitem(last=False)
            self._call_event("answered", call, agent, now, {"station": self._station(agent)})
        elif call is not None and old == "reserved":
            self._calls.pop(agent)
            self._call_event("ended", call, agent, now, {
                "phase": "offer", "by": change.reason or "withdrawn", "talk_s": 0.0})
        elif call is not None and old == "talking":
            call.phase = "wrap_up" if new == "wrap_up" else "done"
            by = "agent"
            if isinstance(event, CallEnded) and event.by_caller:
                by = "caller"
            self._call_event("ended", call, agent, now, {
                "phase": "talk", "by": by, "talk_s": round(now - (call.answered_at or now), 1)})
        elif call is not None and old == "wrap_up":
            call.phase = "done"
        self._desk(agent, now)

    def _call_event(self, kind: str, call: _Call, agent: str, now: float, data: dict) -> None:
        self.emit(kind, now, call_id=call.call_id, agent=agent, queue=call.queue or None,
                  data=data)

    def disposed(self, agent_id: str, call_id: str, code: str, notes: str, now: float) -> None:
        """A disposition was stored (loop thread, from the link's command queue)."""
        call = self._calls.get(agent_id)
        queue = None
        if call is not None and call.call_id == call_id:
            call.disposition = {"code": code, "notes": notes}
            queue = call.queue or None
        self.emit("disposition", now, call_id=call_id, agent=agent_id, queue=queue,
                  data={"code": code, "notes": notes})
        self._desk(agent_id, now)

    def notice(self, agent_id: str, notice: dict | None, now: float) -> None:
        """A call-control step from the page was refused by the loop (``notice``: action,
        message) or done (None: the last refusal is forgotten); the desk shows it."""
        if notice is None and agent_id not in self._notices:
            return
        if notice is None:
            del self._notices[agent_id]
        else:
            self._notices[agent_id] = {**notice, "time": round(self.app.wall_epoch(now), 3)}
        self._desk(agent_id, now)

    def emit(self, kind: str, now: float, *, call_id: str | None = None,
             agent: str | None = None, queue: str | None = None, data: dict) -> None:
        self._seq += 1
        body = {"v": VERSION, "stream": self.stream, "seq": self._seq, "type": kind,
                "time": round(self.app.wall_epoch(now), 3), "call_id": call_id,
                "agent": agent, "queue": queue, "data": data}
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        try:
            # Caller numbers (up to 15 digits, E.164) are not card numbers.
            refuse_pan(f"CTI event {self._seq} ({kind})", "data", text, E164_MAX_DIGITS + 1)
        except SensitiveDataRefused as exc:
            self.app.counters["cti_refused"] += 1
            log.error("%s", exc)
            body["data"] = {}
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        event = CtiEvent(self.stream, self._seq, kind, agent, queue, text)
        first, events = self._ring
        events.append(event)
        if len(events) > 2 * self.keep:
            dropped = len(events) - self.keep
            self._ring = (first + dropped, events[dropped:])
        for listener in self.listeners:
            listener(event)

    def _station(self, agent_id: str) -> str:
        try:
            return self.app.acd.agent_station(agent_id)
        except IllegalEvent:
            return ""

    def _desk(self, agent_id: str, now: float) -> None:
        try:
            state = str(self.app.acd.agent_state(agent_id))
        except IllegalEvent:
            return
        old = self._desks.get(agent_id)
        since = old["since"] if old is not None and old["state"] == state else \
            round(self.app.wall_epoch(now), 3)
        call = self._calls.get(agent_id)
        self._desks[agent_id] = {
            "agent": agent_id, "state": state, "since": since,
            "reason": self._reasons.get(agent_id, "") if state == "not_ready" else "",
            "station": self._station(agent_id), "seq": self._seq,
            "notice": self._notices.get(agent_id),
            "call": None if call is None else {
                "call_id": call.call_id, "phase": call.phase, "pop": call.pop,
                "answered_at": (None if call.answered_at is None
                                else round(self.app.wall_epoch(call.answered_at), 3)),
                "disposition": call.disposition,
                "control": call.control if call.phase == "talking" else None},
        }


def _bare_pop(station: str, caller: str = "") -> dict:
    """The pop of a call the appliance holds no session for (a call back being dialled)."""
    return {"caller": caller, "vip": False, "class": None, "language": "", "queue": "",
            "waited_s": 0.0, "path": [], "card": None, "host": [], "calls_today": [],
            "station": station}
