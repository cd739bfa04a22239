"""A SIP station's phone using its own buttons: hold, transfer, a second (consult) call.

``PhoneControl(board)`` is part of the ``SipBoard``; the board hands it every user agent
event first (``take``) and every call a busy station's phone places (``second_call``). What
the phone does becomes a port event, and the appliance answers through the methods below,
in the same tick (firmware/calls/sip_phones.py):

    phone does                          event                       the appliance answers
    re-INVITE sendonly/inactive, then   PhoneHold(held)             (nothing: our SDP answer
      sendrecv (RFC 3264 §8.4)                                       already mirrors it)
    REFER, Refer-To: <sip:user@...>     PhoneTransfer(user)         accept_transfer(port,
    REFER with ?Replaces= its other     PhoneTransfer(user,           status) or
      call (RFC 3891)                     attended=True)              refuse_transfer(port)
    INVITE while in a call              PhoneConsult(number)        take_consult(port) or
                                                                    refuse_consult(port)
    BYE of that second call             PhoneConsultEnded           -
    (the appliance ends it)             -                           end_consult(port)

Media. A station has one RTP channel. While its phone's second call is up, the channel is
reopened on a new local port for that call (so the held first call's packets, if the phone
still sends any, never reach it); when the second call ends it is reopened on the first
call's port and media, which the phone still has.

``hang_up(port)`` ends what the phone has (BYE), ``held(port)`` says whether the phone holds
its first call. A REFER or second call the appliance does not take is refused (403, 486).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from branchline.hw.ports import PhoneConsult, PhoneConsultEnded, PhoneHold, PhoneTransfer
from branchline.hw.sip.calls import CallEnded, MediaChanged, TransferRequested
from branchline.hw.sip.errors import UsageError

__all__ = ["PhoneControl"]

log = logging.getLogger("branchline.sip")


@dataclass(slots=True)
class _Second:
    call_id: str
    answered: bool = False
    first_local: tuple | None = None  # the first call's RTP (host, port), to go back to
    first_opened: tuple | None = None


class PhoneControl:
    """See the module docstring."""

    def __init__(self, board):
        self.board = board
        self._held: dict[int, bool] = {}
        self._second: dict[int, _Second] = {}
        self._second_port: dict[str, int] = {}  # the second call's Call-ID -> port
        self._refer: dict[int, str] = {}  # port -> the Call-ID whose REFER waits

    # --- the board's side -----------------------------------------------------------------

    def take(self, event, now) -> bool:
        """Handle what concerns a phone's buttons; True if the board must do nothing more."""
        board = self.board
        match event:
            case TransferRequested():
                self._transfer(event, now)
                return True
            case MediaChanged() if event.call_id in self._second_port:
                port = self._second_port[event.call_id]
                board._media(port, event.media)
                return True
            case MediaChanged():
                port = board._by_call.get(event.call_id)
                if port is None or port < board._channels:
                    return False
                if self._held.get(port, False) != event.remote_hold:
                    self._held[port] = event.remote_hold
                    board._events.append(PhoneHold(port, now, event.remote_hold))
                return port in self._second  # the RTP serves the second call meanwhile
            case CallEnded() if event.call_id in self._second_port:
                port = self._second_port[event.call_id]
                self._back_to_first(port)
                board._events.append(PhoneConsultEnded(port, now))
                return True
            case CallEnded():
                port = board._by_call.get(event.call_id)
                if port is not None and port >= board._channels:
                    self._held.pop(port, None)
                    self._refer.pop(port, None)
                    if port in self._second:
                        self.end_consult(port)
        return False

    def second_call(self, port, event, now) -> bool:
        """A busy station's phone placed a call: a consult the appliance may take."""
        line = self.board._lines[port]
        if line.state != "talking" or port in self._second or not event.callee:
            return False
        self._second[port] = _Second(event.call_id)
        self._second_port[event.call_id] = port
        self.board._events.append(PhoneConsult(port, now, event.callee))
        return True

    def close(self) -> None:
        for port in list(self._second):
            self.end_consult(port)

    # --- the appliance's side -------------------------------------------------------------

    def held(self, port: int) -> bool:
        return self._held.get(port, False)

    def in_consult(self, port: int) -> bool:
        second = self._second.get(port)
        return second is not None and second.answered

    def accept_transfer(self, port: int, status: int = 200) -> None:
        """202 to the phone's REFER, then the NOTIFY with ``status`` (200: done)."""
        call_id = self._refer.pop(port, None)
        if call_id is None:
            raise UsageError(f"PhoneControl.accept_transfer({port}): no REFER waits there")
        agent, clock = self.board.agent, self.board._clock
        self.board._send(agent.accept_transfer(call_id, clock()))
        self.board._send(agent.transfer_outcome(call_id, status, clock()))

    def refuse_transfer(self, port: int, status: int = 403) -> None:
        call_id = self._refer.pop(port, None)
        if call_id is not None:
            self.board._send(self.board.agent.refuse_transfer(call_id, self.board._clock(),
                                                              status))

    def take_consult(self, port: int) -> None:
        """Answer the phone's second call; the station's RTP serves it from now on."""
        board, second = self.board, self._second.get(port)
        if second is None or second.answered:
            raise UsageError(f"PhoneControl.take_consult({port}): no second call waits there")
        line = board._lines[port]
        media = board._offered(second.call_id)
        second.first_local, second.first_opened = line.local, line.opened
        local = board._open(port, media)
        second.answered = True
        board._send(board.agent.answer(second.call_id, board._clock(), media_address=local))

    def refuse_consult(self, port: int, status: int = 486) -> None:
        second = self._second.get(port)
        if second is None or second.answered:
            return
        self._forget(port)
        self.board._send(self.board.agent.reject(second.call_id, self.board._clock(), status))

    def end_consult(self, port: int) -> None:
        """End the phone's second call (BYE); the RTP goes back to its first call."""
        second = self._second.get(port)
        if second is None:
            return
        call = self.board.agent.calls.get(second.call_id)
        if call is not None and call.state not in ("ended", "ending"):
            self.board._send(self.board.agent.hangup(second.call_id, self.board._clock()))
        self._back_to_first(port)

    def hang_up(self, port: int) -> None:
        """End what the station's phone has: its second call and its call (BYE)."""
        line = self.board._lines[port]
        self.end_consult(port)
        if line.call_id is not None and line.state == "talking":
            self.board._drop(port, line)

    # --- inside ---------------------------------------------------------------------------

    def _transfer(self, event, now):
        board = self.board
        port = board._by_call.get(event.call_id, self._second_port.get(event.call_id))
        ours = {board._lines[port].call_id, self._second[port].call_id} \
            if port is not None and port in self._second else set()
        attended = event.replaces is not None
        if port is None or port < board._channels or port in self._refer or (
                attended and (event.replaces[0] not in ours
                              or event.replaces[0] == event.call_id)):
            log.warning("SIP: REFER to %s refused (403): %s", event.target,
                        "not a station's call" if port is None or port < board._channels
                        else "its Replaces names no other call of this phone" if attended
                        else "a transfer is already under way")
            board._count("refer_refused")
            board._send(board.agent.refuse_transfer(event.call_id, board._clock(), 403))
            return
        self._refer[port] = event.call_id
        board._events.append(PhoneTransfer(port, now, event.target, attended))

    def _back_to_first(self, port):
        board = self.board
        second = self._forget(port)
        if second is None or not second.answered:
            return
        line = board._lines[port]
        first = board.agent.calls.get(line.call_id) if line.call_id else None
        if first is None or first.media is None or second.first_local is None:
            return
        board.rtp.close(port)
        host, local_port = second.first_local
        pt, event, ptime = first.media.payload_type, first.media.telephone_event, \
            first.media.ptime
        try:
            board.rtp.open(port, host=host, port=local_port, payload_type=pt,
                           telephone_event=event, ptime=ptime)
        except UsageError:  # the first call's port was taken meanwhile: the phone hears none
            log.warning("SIP: station %s: RTP port %d is taken; its call has no media",
                        board.ports[port].name, local_port)
            line.opened = None
            return
        line.opened, line.local = (pt, event, ptime), (host, local_port)
        board._remote(port, (first.media.address, first.media.port))
        board.rtp.set_direction(port, first.media.direction)
        board._listen(port, line, event)

    def _forget(self, port):
        second = self._second.pop(port, None)
        if second is not None:
            self._second_port.pop(second.call_id, None)
        return second

