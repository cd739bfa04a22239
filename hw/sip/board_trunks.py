"""What the SIP board does with a trunk besides carrying calls: a blind transfer of the
trunk's caller by REFER, and a new password taken while running. Mixed into ``SipBoard``.

``refers(port)``: whether the call on trunk channel ``port`` came in on a trunk whose
``transfer`` is ``refer`` (else the runtime bridges a second call: ``dial(..., purpose=
"transfer")``). ``transfer(port, number)`` REFERs the caller to ``sip:number@<the trunk>``
if the outbound rule allows ``number`` as a transfer target (False, counted as
``outbound_refused``, otherwise: nothing is sent); on a call whose 200 is not ACKed yet the
REFER waits for the ACK (RFC 3261 §13.3.1.4). The outcome comes once, as
``TransferEnded(port, time, status)``: the REFER's failure (4xx-6xx, 408 when unanswered),
or the final NOTIFY's sipfrag status (RFC 3515 §2.4.5): 2xx, the far end has the caller,
and the runtime ends our leg with BYE (RFC 5589 §6.1); anything else, the caller is still
ours.

``set_trunk_credentials(name, credentials, register)``: the trunk's digest credentials from
now on (its next INVITE answers challenges with them); a trunk that registers starts a new
registration with them at once, so a changed password needs no restart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from branchline.hw.ports import PortError, PortEvent
from branchline.hw.sip.errors import UsageError
from branchline.hw.sip.outgoing import Refused
from branchline.hw.sip.registration import Registration

__all__ = ["TRANSFER_MODES", "TransferEnded", "TrunkOperations"]

TRANSFER_MODES = ("refer", "bridge")


@dataclass(frozen=True, slots=True)
class TransferEnded(PortEvent):
    """The REFER of the call on ``port`` ended with ``status`` (2xx: the caller is gone)."""

    status: int


class TrunkOperations:
    def refers(self, port: int) -> bool:
        line = self._trunk_line(port, "refers")
        return line.state == "talking" and line.trunk is not None and \
            line.trunk.transfer == "refer"

    def transfer(self, port: int, number: str) -> bool:
        line = self._trunk_line(port, "transfer")
        if line.state != "talking" or line.call_id is None:
            raise PortError(f"SipBoard.transfer({port}): no call is up on "
                            f"{self._ports[port].name}")
        call = self.agent.calls[line.call_id]
        host, port_ = line.trunk.address if line.trunk and line.trunk.address else call.address
        target = f"sip:{number}@{host}:{port_}"
        if call.state == "answering" and self.policy.permits(number, "transfer"):
            # RFC 3261 §13.3.1.4: no request in the dialog before our 200 is ACKed
            self._refers_waiting[line.call_id] = target
            self._count("transfer_refer")
            return True
        try:
            self._send(self.agent.transfer(line.call_id, target, self._clock()))
        except Refused:  # the agent counted it (outbound_refused)
            return False
        except UsageError:  # not a number a SIP URI can hold, or the call is ending
            self._count("transfer_unusable")
            return False
        self._count("transfer_refer")
        return True

    def transfer_refused(self) -> None:
        """Count a transfer the runtime refused by the outbound rule before asking us."""
        self._count("transfer_refused")

    def _refer_after_ack(self, call_id, port, now) -> None:
        target = self._refers_waiting.pop(call_id, None)
        if target is None:
            return
        try:
            self._send(self.agent.transfer(call_id, target, self._clock()))
        except (Refused, UsageError):
            self._events.append(TransferEnded(port, now, 500))

    def set_trunk_credentials(self, name: str, credentials, register: bool) -> None:
        old = next((t for t in self.trunks if t.name == name), None)
        if old is None:
            raise UsageError(f"SipBoard: no trunk {name!r}; trunks are "
                             f"{', '.join(t.name for t in self.trunks) or 'none'}")
        register = register and credentials is not None and old.address is not None
        new = replace(old, credentials=credentials, register=register)
        self.trunks = tuple(new if t is old else t for t in self.trunks)
        for line in self._lines:
            if line.trunk is old:
                line.trunk = new
        self._count("trunk_credentials_changed")
        if not register:
            return
        user = new.user or credentials.username
        host, port = new.address
        self.agent.add_registration(Registration(
            name, user, host, [(host, port, "udp")], credentials,
            f"sip:{user}@{self.address[0]}:{self.address[1]}"))
        if self._now is not None:  # before the first tick, _start registers every trunk
            self._send(self.agent.register(name, self._clock()))

    def _transfer_progress(self, event, now) -> None:
        port = self._by_call.get(event.call_id)
        if port is not None and event.final:
            self._events.append(TransferEnded(port, now, event.status))
