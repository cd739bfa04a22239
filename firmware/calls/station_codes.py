"""Call control from an analog station: hook flash and the document's ``call_control`` codes.

``flash(station, now)``: an agent talking flashes to hold the caller (dial tone follows); a
flash while held, ringing or talking to a colleague goes back to the caller.
``agent_code(station, keys, now)``: keys an agent keyed while the caller is held or a
colleague is on the line (consult, conference, complete, transfers). A SIP phone's keys (RFC
4733, never heard by the caller) are codes while talking too: a code that needs the caller
held holds first, and resumes if it is refused.
``supervisor_code(station, keys, now)``: keys a supervisor keyed at their own station: off
hook with no call (start monitoring an agent's call) or while monitoring (change the mode, take
over). Each returns True (done), False (refused: the caller beeps three times) or None (the
keys are not a call-control code).

A supervisor is whoever ``call_control.supervisors`` puts at this station; they may monitor
the agents and queues listed there (all, when the lists are empty).
"""

from __future__ import annotations

import logging

from branchline.config.document.call_control import parse_call_code
from branchline.firmware.calls.conversation import MonitorMode, Phase

__all__ = ["agent_code", "flash", "supervisor_code"]

log = logging.getLogger("branchline.stations")

_MONITOR = {"listen": MonitorMode.LISTEN, "whisper": MonitorMode.WHISPER,
            "barge": MonitorMode.BARGE}
_FROM_HOLD = ("consult", "transfer_agent", "transfer_queue", "transfer_outside")
_AGENT_ACTIONS = ("consult", "conference", "complete", "transfer_agent", "transfer_queue",
                  "transfer_outside")


def _control(station):
    control = getattr(station.call, "control", None)
    return control if control is not None and not control.conv.over else None


def controls_keys(station) -> bool:
    """Whether keys at this talking station are call-control codes, not keys for the caller:
    the agent with the caller held or a colleague on the line, or a monitoring supervisor."""
    control = _control(station)
    if control is None:
        return False
    if station.port in control.conv.monitors:
        return True
    # A SIP phone's keys come by RFC 4733, apart from its voice: the caller never hears them,
    # and the phone has no hook to flash, so they are codes even while talking.
    return control.agent_port == station.port and (control.phase is not Phase.TALKING
                                                   or _sip_phone(station))


def _sip_phone(station) -> bool:
    phones = getattr(station.app, "sip_phones", None)
    return phones is not None and phones.owns(station.port)


def flash(station, now: float) -> bool:
    control = _control(station)
    if control is None or control.agent_port != station.port:
        return False
    station.keys = ""
    if control.phase is Phase.TALKING:
        return control.hold(now)
    return control.resume(now)


def agent_code(station, keys: str, now: float) -> bool | None:
    control = _control(station)
    call_control = station.app.config.document.call_control
    keyed = parse_call_code(call_control.codes, keys)
    if keyed is None or keyed.action not in _AGENT_ACTIONS:
        return None
    if control is None or control.agent_port != station.port:
        return False
    if keyed.action in _FROM_HOLD and control.phase is Phase.TALKING and _sip_phone(station):
        held = control.hold(now)  # what a flash would have done first
        done = held and agent_code(station, keys, now)
        if held and not done:
            control.resume(now)
        return done
    match keyed.action:
        case "consult":
            return control.consult(keyed.target, now)
        case "conference":
            return control.conference(now)
        case "complete":
            return control.complete(now)
        case "transfer_agent":
            return control.transfer_agent(keyed.target, now)
        case "transfer_queue":
            queue = call_control.queues.get(keyed.target)
            return queue is not None and control.transfer_queue(queue, now)
    number = call_control.outside.get(keyed.target)
    return number is not None and control.transfer_outside(number, now)


def supervisor_code(station, keys: str, now: float) -> bool | None:
    app = station.app
    call_control = app.config.document.call_control
    keyed = parse_call_code(call_control.codes, keys)
    if keyed is None or keyed.action not in (*_MONITOR, "take_over"):
        return None
    supervisor = call_control.supervisor_at(station.name)
    if supervisor is None:
        return False
    target = next((s for s in app.stations.values() if s.agent_id == keyed.target), None)
    call = target.call if target is not None else None
    control = getattr(call, "control", None)
    if (control is None or control.conv.over or control.agent_port != target.port
            or not supervisor.may_monitor(keyed.target, call.s.queueing.queue)):
        return False
    if station.call is not None and station.call is not call:
        return False  # monitoring another call: hang up first
    if keyed.action == "take_over":
        done = control.take_over(station.port, now)
    else:
        done = control.monitor(station.port, supervisor.user, _MONITOR[keyed.action], now)
    if done:
        station.attach(call)
    return done
