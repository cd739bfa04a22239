"""Call control from a SIP agent phone's own buttons: hold, blind and attended transfer.

``SipPhones(app, sip_board)`` turns what a SIP station's phone does (hw/sip/phones.py raises
it as port events) into the same ``CallControl`` operations a hook flash and keypad codes
call at an analog station (firmware/calls/control.py), and answers the phone:

    phone                                  CallControl                      the phone gets
    hold (re-INVITE sendonly/inactive)     hold                             music to the caller
    resume (re-INVITE sendrecv)            resume                           the caller again
    REFER to an extension, agent, queue,   hold if talking, then            202, NOTIFY 200;
      keypad code or allowed outside       transfer_agent / _queue /        403 and a log line
      number                                 _outside                       when refused
    second call to an extension/agent      hold if talking, then consult    200 and ringback,
                                                                            then the colleague
    BYE of that second call                resume (held again if the phone  -
                                           still holds the caller)
    REFER with Replaces (attended)         complete (or, while the          202, NOTIFY 200;
                                           colleague rings, transfer on     the consult call
                                           ring)                            ended (BYE)

A Refer-To or second call's number is, in this order: a phone's extension (the agent logged
in at that station), a ``call_control`` transfer code (``*41{agent}#``, ``*42{digit}#``,
``*43{digit}#``), an agent id, a queue name, a number in ``sip.transfer_targets`` (handed
over as ``*43`` does, firmware/calls/outside.py); anything else is refused with 403 (toll
fraud: nothing is dialled that is not configured).

``settle(now)``, once a tick: a phone's second call whose consult the call control ended (the
colleague hung up or did not answer, the transfer completed) is ended, and a SIP phone left
with nobody (the caller hung up, its call was transferred) is hung up (BYE) instead of
hearing busy tone: no leg stays half open.
"""

from __future__ import annotations

import logging

from branchline.config.document.call_control import parse_call_code
from branchline.firmware.calls.conversation import Phase
from branchline.firmware.calls.stations import StationState
from branchline.hw.ports import PhoneConsult, PhoneConsultEnded, PhoneHold, PhoneTransfer

__all__ = ["SipPhones"]

log = logging.getLogger("branchline.stations")

_CONSULT = (Phase.CONSULT_RINGING, Phase.CONSULTING)


class SipPhones:
    """See the module docstring."""

    def __init__(self, app, sip):
        self.app = app
        self.sip = sip
        self.phones = sip.phone_control if sip is not None else None
        local = {p.name: p.index for p in sip.ports} if sip is not None else {}
        # The appliance's port -> the SIP board's, for the SIP stations only.
        self._local = {p.index: local[p.name] for p in app.board.ports
                       if p.name in local and p.is_station}
        self._consulting: set[int] = set()

    def owns(self, port: int) -> bool:
        """Whether the station at ``port`` is a SIP phone."""
        return port in self._local

    def event(self, event, now: float) -> None:
        port = event.port
        station = self.app.stations.get(port)
        if self.phones is None or station is None or port not in self._local:
            return
        call = station.call
        work = {PhoneHold: self._hold, PhoneTransfer: self._transfer,
                PhoneConsult: self._consult, PhoneConsultEnded: self._consult_ended}
        step = work[type(event)]
        if call is None or getattr(call, "control", None) is None:
            step(station, None, event, now)
        else:
            call.guard(now, lambda: step(station, call.control, event, now))
        # Whatever the step did (a call that failed in it ends), the phone gets an answer.
        local = self._local[port]
        self.phones.refuse_transfer(local, 403)
        self.phones.refuse_consult(local, 486)

    def settle(self, now: float) -> None:
        if self.phones is None:
            return
        for port in list(self._consulting):
            station = self.app.stations[port]
            control = _agent_control(station)
            if control is not None and control.phase in _CONSULT:
                continue
            self._consulting.discard(port)
            self.phones.end_consult(self._local[port])
            if control is not None and control.phase is Phase.TALKING and \
                    self.phones.held(self._local[port]):
                control.hold(now)
        for port, local in self._local.items():
            station = self.app.stations[port]
            if station.state is StationState.CALLER_GONE:
                self.phones.hang_up(local)
                station.hook_on(now)

    # --- what the phone did -------------------------------------------------------------

    def _hold(self, station, control, event, now):
        if control is None or control.agent_port != station.port:
            return
        if event.held and control.phase is Phase.TALKING:
            control.hold(now)
        elif not event.held and control.phase in (Phase.HELD, *_CONSULT):
            control.resume(now)

    def _transfer(self, station, control, event, now):
        local = self._local[station.port]
        if control is None or control.agent_port != station.port:
            return self._refuse(station, event.target, "no call of its own to transfer")
        if event.attended:
            if control.phase in (Phase.CONSULTING, Phase.CONFERENCE):
                done = control.complete(now)
            elif control.phase is Phase.CONSULT_RINGING:
                control.hung_up(station.port, now)  # transfer on ring
                done = True
            else:
                done = False
            if not done:
                return self._refuse(station, event.target, "no consult call to join")
            self.phones.accept_transfer(local)
            self._consulting.discard(station.port)
            self.phones.end_consult(local)
            log.info("station %s: attended transfer by REFER to %s", station.name,
                     event.target)
            return None
        kind, value = self._target(event.target)
        if kind is None:
            return self._refuse(station, event.target, "not an agent, queue or allowed number")
        held_now = control.phase is Phase.TALKING and control.hold(now)
        if kind == "agent":
            done = control.transfer_agent(value, now)
        elif kind == "queue":
            done = control.transfer_queue(value, now)
        else:
            done = control.transfer_outside(value, now)
        if not done:
            if held_now:
                control.resume(now)
            return self._refuse(station, event.target, f"the {kind} {value} cannot take it")
        self.phones.accept_transfer(local)
        log.info("station %s: blind transfer by REFER to %s %s", station.name, kind, value)
        return None

    def _consult(self, station, control, event, now):
        local = self._local[station.port]
        kind, value = self._target(event.number)
        if control is None or control.agent_port != station.port or kind != "agent":
            log.info("station %s: second call to %s refused: %s", station.name, event.number,
                     "not an agent" if kind != "agent" else "no call to consult about")
            self.phones.refuse_consult(local, 404 if kind is None else 403)
            return
        held_now = control.phase is Phase.TALKING and control.hold(now)
        if not control.consult(value, now):
            if held_now:
                control.resume(now)
            self.phones.refuse_consult(local, 486)
            return
        self.phones.take_consult(local)
        self._consulting.add(station.port)

    def _consult_ended(self, station, control, event, now):
        self._consulting.discard(station.port)
        if control is None or control.agent_port != station.port or \
                control.phase not in _CONSULT:
            return
        control.resume(now)  # back to the caller; the colleague is let go
        if self.phones.held(self._local[station.port]):
            control.hold(now)

    # --- inside ---------------------------------------------------------------------------

    def _target(self, target: str):
        """("agent", id), ("queue", name), ("outside", number) or (None, None)."""
        document = self.app.config.document
        for phone in self.sip.phones:
            if phone.user == target:
                station = self.app._station_by_name.get(phone.station)
                agent = station.agent_id if station is not None else None
                return ("agent", agent) if agent is not None else (None, None)
        call_control = document.call_control
        keyed = parse_call_code(call_control.codes, target)
        if keyed is not None:
            match keyed.action:
                case "transfer_agent":
                    return "agent", keyed.target
                case "transfer_queue" if keyed.target in call_control.queues:
                    return "queue", call_control.queues[keyed.target]
                case "transfer_outside" if keyed.target in call_control.outside:
                    return self._outside(call_control.outside[keyed.target])
            return None, None
        if document.agent(target) is not None:
            return "agent", target
        if target in {q.name for q in document.acd.queues}:
            return "queue", target
        return self._outside(target)

    def _outside(self, number):
        sip = self.app.config.document.sip
        allowed = sip is not None and number in sip.transfer_targets
        return ("outside", number) if allowed else (None, None)

    def _refuse(self, station, target, why):
        log.warning("station %s: REFER to %r refused (403): %s", station.name, target, why)
        self.phones.refuse_transfer(self._local[station.port], 403)


def _agent_control(station):
    control = getattr(station.call, "control", None)
    if control is None or control.conv.over or control.agent_port != station.port:
        return None
    return control
