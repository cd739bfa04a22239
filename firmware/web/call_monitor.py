"""The runtime's side of whisper, barge and take-over from the page (``RuntimeLink.monitor``).

A supervisor on the wallboard acts on a call from their own phone, the station
``call_control.supervisors`` gives their web account, exactly as the keypad codes do there
(firmware/calls/station_codes.py)::

    action      the phone                              then
    whisper     off hook with dial tone, or already   the agent hears the supervisor
    barge       monitoring this call                  all three talk
    take_over   (as above; joins as a listener first) the agent leaves, the supervisor keeps
                                                      the caller
    leave       monitoring this call                  the phone leaves the call (busy tone)

``request_monitor(link, call_id, action, who, admin)`` runs on a web thread: it checks what it
can without the loop (the call is up and talking to an agent, ``who`` may monitor it, ``who``
has a station; for ``leave`` only the station), queues a ``MonitorRequest`` for
``RuntimeLink.pump`` and waits at most a second for the loop's answer; a request the loop has
not taken by then is withdrawn, never applied late. ``MonitorRequest.apply(app, now)`` runs
on the loop thread. Refusals are ``Refused`` with what would be right (pick up the phone
first, hang up another call...).
Audit: ``CallControl`` writes each monitor session's entry, with its duration, when it ends
or changes mode, and the take-over's; the request itself is audited here as it is accepted.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from branchline.config.web.link import Refused
from branchline.firmware.calls.conversation import MonitorMode
from branchline.firmware.calls.stations import StationState
from branchline.firmware.web.listen import monitored_call

__all__ = ["ACTIONS", "MonitorRequest", "request_monitor"]

ACTIONS = ("whisper", "barge", "take_over", "leave")
_MODES = {"whisper": MonitorMode.WHISPER, "barge": MonitorMode.BARGE}
_ANSWER_S = 1.0


@dataclass(eq=False)
class MonitorRequest:
    call_id: str
    action: str
    who: str
    station: str
    refusal: tuple[str, str] | None = None  # (code, message) once the loop refused it
    _done: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _withdrawn: bool = False

    def apply(self, app, now: float) -> None:
        with self._lock:
            if self._withdrawn:
                return
            try:
                self.refusal = _apply(app, self, now)
            finally:
                self._done.set()

    def wait(self, timeout: float) -> bool:
        """True once the loop has answered; False (and withdrawn) if it did not in time."""
        if self._done.wait(timeout):
            return True
        with self._lock:
            self._withdrawn = not self._done.is_set()
            return not self._withdrawn


def request_monitor(link, call_id: str, action: str, who: str, admin: bool) -> dict:
    if action not in ACTIONS:
        raise Refused(f"call {call_id}: action {action!r}; use one of {', '.join(ACTIONS)}",
                      code="bad_action")
    # Leaving takes only your own phone out: the call need not be talking to an agent still.
    agent = None if action == "leave" else monitored_call(link, call_id, who, admin)["agent"]
    supervisor = link.app.config.document.call_control.supervisor(who)
    if supervisor is None:
        raise Refused(f"{who} has no phone: {action} works from the station "
                      "call_control.supervisors gives your user; an admin adds you there",
                      code="no_station")
    request = MonitorRequest(call_id, action, who, supervisor.station)
    link._commands.put(request)  # applied by RuntimeLink.pump on the loop thread
    if not request.wait(_ANSWER_S):
        raise Refused("the appliance did not take the request within a second; try again",
                      code="busy")
    if request.refusal is not None:
        code, message = request.refusal
        raise Refused(message, code=code)
    whose = f" agent {agent}" if agent else ""
    link.audit(who, f"call {call_id}: {action.replace('_', ' ')} (page){whose} from "
                    f"{supervisor.station}", "")
    return {"call_id": call_id, "action": action, "station": supervisor.station}


def _apply(app, r: MonitorRequest, now: float) -> tuple[str, str] | None:
    call = app.by_id.get(r.call_id)
    control = getattr(call, "control", None)
    if control is None or control.conv.over:
        return "call_over", f"call {r.call_id} has ended"
    station = next((s for s in app.stations.values() if s.name == r.station), None)
    if station is None or station.broken:
        return "no_station", (f"station {r.station} (call_control.supervisors, {r.who}) is not "
                              "a working station of this board; an admin corrects it")
    monitoring = station.call is call and station.port in control.conv.monitors
    if r.action == "leave":
        if station.call is call and not monitoring:
            return "not_monitoring", (f"your phone at {r.station} has call {r.call_id} (taken "
                                      "over): hang it up to end the call")
        if not monitoring:
            return "not_monitoring", f"your phone at {r.station} is not in call {r.call_id}"
        control.hung_up(station.port, now)
        station.left_call()
        return None
    if not monitoring:
        if not station.off_hook:
            return "phone_on_hook", (f"pick up your phone at {r.station} (dial tone), then "
                                     "press the button again")
        if station.state is not StationState.KEYPAD:
            return "phone_busy", (f"your phone at {r.station} is in another call; hang it up, "
                                  "pick it up again, then press the button again")
    if r.action == "take_over":
        if not monitoring:
            if not control.monitor(station.port, r.who, MonitorMode.LISTEN, now):
                return _not_now(r)
            station.attach(call)
        return None if control.take_over(station.port, now) else _not_now(r)
    if not control.monitor(station.port, r.who, _MODES[r.action], now):
        return _not_now(r)
    if not monitoring:
        station.attach(call)
    return None


def _not_now(r: MonitorRequest) -> tuple[str, str]:
    return "not_now", (f"call {r.call_id}: {r.action.replace('_', ' ')} is not possible now "
                       "(a transfer is ringing, or your phone is a party of the call)")
