"""The SIP board: trunk channels and agent phones over SIP, as ports of the Board model.

``SipBoard(channels, trunks, phones, password_for=..., secret=...)`` joins a ``UserAgent``
behind a ``SipEndpoint`` (signalling) and one ``RtpEngine`` (media) into a ``Board``:

    ports     sip1..sipN (PortKind.SIP, one per channel), then one station (PortKind.FXS)
              per phone account, named as the account's station
    tick(now) ep.poll(0); the agent's events become port events; rtp.receive(); rtp.rtcp()
    read_block / write_block   rtp.read / rtp.write: one kernel call each, every port at once

A call in. An INVITE from a trunk's address (``SipTrunk.sources``: a peer, or the registrar a
trunk registers with) takes a free channel: one whose line number (``numbers``: channel ->
dialled number, from the document's ``lines``) is the Request-URI's user, else one with no
line number; none free is 486, no channel for the number 404. It rings (180) and raises
``Ring`` then ``CallerId`` (the From's user; ``anonymous``/no user -> number absent, private or
unavailable). ``answer(port)`` opens the channel's RTP as the offer asks and sends 200 with our
SDP; the caller's BYE or CANCEL raises ``FarEndHangup(signal=SIGNALLING)``; ``hang_up(port)``
ends the call whatever its state (reject, CANCEL or BYE).

A call out (callbacks): ``dial(port, number)`` places an INVITE on the outbound trunk (the
first with an address that, if it registers, is registered now) only if the
``OutboundPolicy`` allows the number; its 200 raises ``FarEndAnswered``, a failure or the far
end's BYE ``FarEndHangup``. A refused number is counted (``counters["dial_refused"]``) and
fails like a busy line. ``can_dial(port, number)`` says beforehand whether it would be placed,
so a dialler can take an analog line instead.

Stations. A phone registers its account with digest at the board's registrar (challenged with
``digest_algorithms``, in that order; its INVITEs too); until it has a live binding its
station is out of service (``PortOutOfService(reason="unregistered")`` on the first tick,
``PortInService`` when it registers). ``ring(port)`` INVITEs the phone at its
binding; its 200 raises ``OffHook``, its BYE ``OnHook``; ``stop_ring`` CANCELs. A phone that
calls in (any number; it authenticates with its account) goes ``OffHook`` at once, as an
analog phone lifted to key a code, and ``OnHook`` at its BYE. Its hold, transfer and second
(consult) calls are ``phone_control``'s (hw/sip/phones.py).

Keys. RFC 4733 events come from ``rtp.receive()`` as ``DtmfEvent``s of their channel. The
media loop hands its own receiver's keys to ``dtmf_events``, which keeps, per channel, the
in-band ones or the RFC 4733 ones by the trunk's ``dtmf`` mode: ``rfc4733``, ``inband``, or
``auto`` (RFC 4733 when the call negotiated telephone-event, else in-band); so a peer that
sends both is not heard twice.

Clocks: event times are the ``now`` given to ``tick``; the SIP and RTP timers run on
``clock`` (monotonic seconds), since their peers are real.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from branchline.hw.ports import (
    ABSENT_PRIVATE,
    ABSENT_UNAVAILABLE,
    BLOCK_SAMPLES,
    CN_STATION_RING,
    CallerId,
    ClearSignal,
    ClockError,
    FarEndAnswered,
    FarEndHangup,
    OffHook,
    OnHook,
    Port,
    PortError,
    PortInService,
    PortKind,
    PortOutOfService,
    Ring,
    check_block,
)
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.board_trunks import TRANSFER_MODES, TrunkOperations
from branchline.hw.sip.calls import (
    CallAnswered,
    CallEnded,
    IncomingCall,
    MediaChanged,
    TransferProgress,
)
from branchline.hw.sip.digest import DigestClient
from branchline.hw.sip.driver import SipEndpoint
from branchline.hw.sip.errors import SdpError, UsageError
from branchline.hw.sip.guard import OutboundPolicy, ScannerGuard
from branchline.hw.sip.phones import PhoneControl
from branchline.hw.sip.registrar import PhoneRegistered, PhoneUnregistered, Registrar
from branchline.hw.sip.registration import Registration, RegistrationChanged
from branchline.hw.sip.rtp import PCMA, RtpEngine
from branchline.hw.sip.sdp import Session, answer

__all__ = ["CODECS", "DTMF_MODES", "SipBoard", "SipPhone", "SipTrunk"]

DTMF_MODES = ("rfc4733", "inband", "auto")
_WITHHELD = {"anonymous", "restricted", "unavailable", "unknown", "private"}
_OUR_OFFER = (PCMA, 101, 20)  # sdp.offer's first codec, event type and ptime
_REGISTERED = ("registered", "refreshing")
CODECS = ("PCMA", "PCMU")  # A-law first: the law of E1 and of the networks in China


@dataclass(frozen=True, slots=True)
class SipTrunk:
    """A trunk: where its calls come from, where ours go, how it registers, its DTMF mode,
    the codecs it takes in our order of preference (answers and offers follow it), how its
    callers are transferred out (REFER, or a second call bridged: board_trunks.py)."""

    name: str
    sources: frozenset[str] = frozenset()  # addresses its INVITEs may come from
    address: tuple[str, int] | None = None  # where dial() sends INVITEs
    user: str | None = None                 # registers as, when it has credentials
    credentials: DigestClient | None = field(default=None, repr=False)
    register: bool = False
    dtmf: str = "auto"
    codecs: tuple[str, ...] = CODECS
    transfer: str = "bridge"

    def __post_init__(self):
        if self.transfer not in TRANSFER_MODES:
            raise UsageError(f"trunk {self.name!r}: transfer={self.transfer!r}; expected one "
                             f"of {', '.join(TRANSFER_MODES)}")
        if not self.codecs or any(c not in CODECS for c in self.codecs) or \
                len(set(self.codecs)) < len(self.codecs):
            raise UsageError(f"trunk {self.name!r}: codecs={self.codecs!r}; expected some of "
                             f"{', '.join(CODECS)}, each once")
        if self.dtmf not in DTMF_MODES:
            raise UsageError(f"trunk {self.name!r}: dtmf={self.dtmf!r}; expected one of "
                             f"{', '.join(DTMF_MODES)}")
        if self.register and (self.address is None or self.credentials is None):
            raise UsageError(f"trunk {self.name!r} registers: it needs an address and "
                             "credentials")


@dataclass(frozen=True, slots=True)
class SipPhone:
    """An agent's phone account: the station it is, the extension it registers as."""

    station: str
    user: str


@dataclass(slots=True)
class _Line:
    call_id: str | None = None
    state: str = "idle"  # ringing_in, talking, dialling, ringing_phone
    opened: tuple | None = None  # (payload type, telephone-event, ptime) RTP was opened with
    local: tuple | None = None  # (host, port) RTP is bound to
    trunk: SipTrunk | None = None


class SipBoard(TrunkOperations):
    """See the module docstring."""

    def __init__(self, channels: int, trunks=(), phones=(), *, password_for, secret: bytes,
                 realm: str = "branchline", host: str = "127.0.0.1", port: int = 0,
                 rtp_host: str | None = None, rtp_ports: tuple[int, int] | None = None,
                 numbers: dict[int, str] | None = None, allow=None, tcp: bool = True,
                 digest_algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
                 clock=time.monotonic):
        if channels < 1:
            raise UsageError(f"SipBoard: channels={channels!r}; expected at least 1")
        self.trunks = tuple(trunks)
        self.phones = tuple(phones)
        ports = [Port(i, PortKind.SIP, f"sip{i + 1}", ClearSignal.SIGNALLING)
                 for i in range(channels)]
        ports += [Port(channels + i, PortKind.FXS, p.station) for i, p in enumerate(phones)]
        self._ports = tuple(ports)
        self._channels = channels
        self._station_of = {p.user: channels + i for i, p in enumerate(phones)}
        self.numbers = dict(numbers or {})
        self._clock = clock
        self.counters: dict[str, int] = {}
        self.guard = ScannerGuard()
        self.policy = OutboundPolicy(allow)
        self.registrar = Registrar(realm, secret, password_for, guard=self.guard,
                                   algorithms=tuple(digest_algorithms))
        trusted = {s for t in self.trunks for s in t.sources}
        trusted |= {t.address[0] for t in self.trunks if t.address is not None}
        self.endpoint = SipEndpoint(
            lambda h, p: UserAgent(h, p, trusted=trusted, outbound=self.policy,
                                   guard=self.guard, registrar=self.registrar),
            host, port, tcp=tcp, clock=clock)
        self.agent: UserAgent = self.endpoint.agent
        self.address = self.endpoint.address
        self._rtp_host = rtp_host or self.address[0]
        self._rtp_ports = rtp_ports
        try:
            self.rtp = RtpEngine(len(ports), clock=clock)
        except BaseException:
            self.endpoint.close()
            raise
        for trunk in self.trunks:
            if trunk.register:
                host_, port_ = trunk.address
                self.agent.add_registration(Registration(
                    trunk.name, trunk.user or trunk.credentials.username, host_,
                    [(host_, port_, "udp")], trunk.credentials,
                    f"sip:{trunk.user or trunk.credentials.username}@{self.address[0]}:"
                    f"{self.address[1]}"))
        self._lines = [_Line() for _ in ports]
        self._by_call: dict[str, int] = {}
        self._out_of_service: set[int] = set()
        self._events: list = []
        self._keys: list = []
        self._inband = np.ones(len(ports), dtype=bool)
        self._now: float | None = None
        self._ended_stats: dict[int, object] = {}  # port -> RtpStats of its last call
        self._rtp_ended = {"lost": 0, "late": 0}  # counted over calls that have ended
        self._freed: set[int] = set()  # channels released since this tick began
        self._refers_waiting: dict[str, str] = {}  # call id -> REFER target, sent at its ACK
        self.phone_control = PhoneControl(self)

    # --- the Board ------------------------------------------------------------------------

    @property
    def ports(self) -> tuple[Port, ...]:
        return self._ports

    def tick(self, now: float) -> list:
        if self._now is not None and now < self._now:
            raise ClockError(f"SipBoard.tick({now}): time went back from {self._now}")
        first = self._now is None
        self._now = now
        if first:
            self._start(now)
        self._freed.clear()
        self.endpoint.poll(0)
        agent = self.agent
        while agent.events:
            self._sip_event(agent.events.popleft(), now)
        self._keys = self.rtp.receive()
        self.rtp.rtcp()
        events, self._events = self._events, []
        return events

    def read_block(self) -> np.ndarray:
        block = np.empty((len(self._ports), BLOCK_SAMPLES), dtype=np.int16)
        self.rtp.read(block)
        return block

    def write_block(self, block: np.ndarray) -> None:
        check_block(block, len(self._ports), "SipBoard.write_block")
        self.rtp.write(block)

    def dtmf_events(self, detected: list) -> list:
        """The in-band keys of channels that listen in-band, and the RFC 4733 keys of the
        others received since the last call (see the module docstring)."""
        inband = self._inband
        keys = [k for k in detected if inband[k.channel]]
        keys += [k for k in self._keys if not inband[k.channel]]
        self._keys = []
        return keys

    def answer(self, port: int) -> None:
        line = self._trunk_line(port, "answer")
        if line.state != "ringing_in":
            raise PortError(f"SipBoard.answer({port}): no call rings on {self._ports[port].name}"
                            "; a SIP channel is not seized: place a call with dial()")
        call = self.agent.calls[line.call_id]
        codecs = line.trunk.codecs if line.trunk is not None else CODECS
        media = None
        if call.invite.body:
            try:
                _, media = answer(Session.parse(call.invite.body), self._rtp_host, 1, 0,
                                  prefer=codecs)
            except SdpError:
                media = None
        local = self._open(port, media)
        self._send(self.agent.answer(line.call_id, self._clock(), media_address=local,
                                     codecs=codecs))
        line.state = "talking"

    def hang_up(self, port: int) -> None:
        line = self._trunk_line(port, "hang_up")
        self._drop(port, line)

    def dial(self, port: int, number: str, purpose: str = "call") -> bool:
        """Call ``number`` from trunk channel ``port`` (``purpose`` "call" for a callback,
        "transfer" for a transferred caller's outside leg); True (a SIP channel always dials
        by signalling). The outcome comes as FarEndAnswered or FarEndHangup."""
        line = self._trunk_line(port, "dial")
        if line.state != "idle":
            raise PortError(f"SipBoard.dial({port}): {self._ports[port].name} is in use")
        trunk = self._outbound_trunk()
        if trunk is None or not self.policy.permits(number, purpose):
            self._count("dial_refused")
            self._events.append(FarEndHangup(port, self._now or 0.0, ClearSignal.SIGNALLING))
            return True
        local = self._open(port, None)
        call_id, out = self.agent.invite(number, trunk.address, self._clock(),
                                         media_address=local, credentials=trunk.credentials,
                                         from_user=trunk.user or "branchline",
                                         codecs=trunk.codecs, purpose=purpose)
        self._bind(port, call_id, "dialling", trunk)
        self._send(out)
        return True

    def can_dial(self, port: int, number: str, purpose: str = "call") -> bool:
        """Whether ``dial(port, number, purpose)`` would place the call: the channel is
        idle, a trunk can carry it out and the outbound rule allows the number."""
        return (self._trunk_line(port, "can_dial").state == "idle"
                and self._outbound_trunk() is not None
                and self.policy.permits(number, purpose))

    def ring(self, port: int, cadence=CN_STATION_RING) -> None:
        user = self._station_user(port, "ring")
        line = self._lines[port]
        if line.state != "idle" or port in self._out_of_service:
            return
        local = self._open(port, None)
        try:
            call_id, out = self.agent.call_station(user, self._clock(), media_address=local)
        except UsageError:  # its registration ran out since the last tick
            self.rtp.close(port)
            line.opened = None
            return
        self._bind(port, call_id, "ringing_phone", None)
        self._send(out)

    def stop_ring(self, port: int) -> None:
        self._station_user(port, "stop_ring")
        line = self._lines[port]
        if line.state == "ringing_phone":
            self._drop(port, line)

    def close(self) -> None:
        self.phone_control.close()
        for port, line in enumerate(self._lines):
            if line.call_id is not None:
                self._drop(port, line)
        for name, registration in self.agent.registrations.items():
            if registration.state not in ("idle", "unregistering"):  # idle: never started
                self._send(self.agent.unregister(name, self._clock()))
        for port in range(len(self._ports)):
            if self._lines[port].opened is not None:
                self.rtp.close(port)
        self.endpoint.close()

    # --- what the page and /metrics read --------------------------------------------------

    def status(self) -> dict:
        now = self._clock()
        return {
            "trunks": {name: r.status for name, r in self.agent.registrations.items()},
            "phones": {p.station: self.agent.reachable(p.user, now) for p in self.phones},
            "guard": self.guard.metrics(now),
            "counters": {**self.agent.counters, **self.counters},
            "rtp": self._rtp_totals(),
            "clock": now,  # what the registrations' and bindings' times are on
        }

    def call_quality(self, port: int):
        """The RTP statistics (loss, jitter, E-model R and MOS) of the call on ``port``, or of
        the last call that ended there (kept until the port's next call, so the call's record
        can take them after the hang-up); None when the port has had no media."""
        if self._lines[port].opened is not None:
            return self.rtp.stats(port)
        return self._ended_stats.get(port)

    def _rtp_totals(self):
        live = self.rtp.totals()
        return {kind: self._rtp_ended[kind] + live[kind] for kind in ("lost", "late")}

    # --- inside ---------------------------------------------------------------------------

    def _start(self, now):
        for name in self.agent.registrations:
            self._send(self.agent.register(name, self._clock()))
        for user, port in self._station_of.items():
            if not self.agent.reachable(user, self._clock()):
                self._out_of_service.add(port)
                self._events.append(PortOutOfService(port, now, "unregistered"))

    def _sip_event(self, event, now):
        if self.phone_control.take(event, now):
            return
        match event:
            case IncomingCall():
                self._incoming(event, now)
            case CallAnswered():
                port = self._by_call.get(event.call_id)
                if port is not None:
                    self._answered(port, event.media, now)
                    self._refer_after_ack(event.call_id, port, now)
            case MediaChanged():
                port = self._by_call.get(event.call_id)
                if port is not None and self._lines[port].opened is not None:
                    self._media(port, event.media)
            case CallEnded():
                port = self._by_call.pop(event.call_id, None)
                if port is not None:
                    self._ended(port, now)
            case PhoneRegistered():
                port = self._station_of.get(event.binding.user)
                if port in self._out_of_service:
                    self._out_of_service.discard(port)
                    self._events.append(PortInService(port, now))
            case PhoneUnregistered():
                port = self._station_of.get(event.user)
                if port is not None and port not in self._out_of_service and \
                        not self.agent.reachable(event.user, self._clock()):
                    self._out_of_service.add(port)
                    self._events.append(PortOutOfService(port, now, "unregistered"))
            case RegistrationChanged():
                self._count(f"trunk_{event.status.state}")
            case TransferProgress():
                self._transfer_progress(event, now)

    def _outbound_trunk(self):
        """The first trunk with an address to send INVITEs to; one that registers only while
        its registration is live (the carrier refuses calls from an unregistered account)."""
        for trunk in self.trunks:
            if trunk.address is None:
                continue
            if not trunk.register or \
                    self.agent.registrations[trunk.name].state in _REGISTERED:
                return trunk
        return None

    def _incoming(self, event, now):
        clock = self._clock()
        if event.account is not None:
            port = self._station_of.get(event.account)
            line = None if port is None else self._lines[port]
            if line is not None and line.state != "idle" and \
                    self.phone_control.second_call(port, event, now):
                return
            if line is None or line.state != "idle" or port in self._out_of_service:
                self._send(self.agent.reject(event.call_id, clock, 486))
                return
            media = self._offered(event.call_id)
            local = self._open(port, media)
            self._bind(port, event.call_id, "talking", None)
            self._send(self.agent.answer(event.call_id, clock, media_address=local))
            self._events.append(OffHook(port, now))
            return
        trunk = next((t for t in self.trunks if event.source[0] in t.sources
                      or (t.address is not None and t.address[0] == event.source[0])), None)
        port, status = self._free_channel(event.callee)
        if port is None:
            self._count(f"incoming_{status}")
            self._send(self.agent.reject(event.call_id, clock, status))
            return
        self._bind(port, event.call_id, "ringing_in", trunk)
        self._send(self.agent.ring(event.call_id, clock))
        self._events.append(Ring(port, now, 1))
        self._events.append(_caller_id(port, now, event.caller))

    def _free_channel(self, callee):
        numbered = [c for c, n in self.numbers.items() if n == callee]
        candidates = numbered or [c for c in range(self._channels) if c not in self.numbers]
        if not candidates:
            return None, 404
        # A channel freed in this tick waits for the next: the appliance has yet to see the
        # old call's hang-up, and its hang_up(port) must not reach a new call.
        free = [c for c in candidates if self._lines[c].state == "idle" and c not in self._freed]
        return (free[0], 0) if free else (None, 486)

    def _answered(self, port, media, now):
        line = self._lines[port]
        if media is not None:
            self._media(port, media)
        if line.state == "dialling":
            line.state = "talking"
            self._events.append(FarEndAnswered(port, now))
        elif line.state == "ringing_phone":
            line.state = "talking"
            self._events.append(OffHook(port, now))

    def _ended(self, port, now):
        line = self._lines[port]
        state = line.state
        self._release(port, line)
        if port < self._channels:
            if state in ("ringing_in", "talking", "dialling"):
                self._events.append(FarEndHangup(port, now, ClearSignal.SIGNALLING))
        elif state == "talking":
            self._events.append(OnHook(port, now))

    def _offered(self, call_id):
        call = self.agent.calls[call_id]
        if not call.invite.body:
            return None
        try:
            return answer(Session.parse(call.invite.body), self._rtp_host, 1, 0)[1]
        except SdpError:
            return None

    def _open(self, port, media):
        """Open the port's RTP for ``media`` (or for our own offer) and say where it is."""
        line = self._lines[port]
        if line.opened is not None:
            self.rtp.close(port)
        pt, event, ptime = _OUR_OFFER
        remote = None
        if media is not None:
            pt, event, ptime = media.payload_type, media.telephone_event, media.ptime
            remote = (media.address, media.port)
        kwargs = {"ports": self._rtp_ports} if self._rtp_ports else {}
        local = self.rtp.open(port, host=self._rtp_host, payload_type=pt, telephone_event=event,
                              ptime=ptime, **kwargs)
        line.opened, line.local = (pt, event, ptime), tuple(local)
        if remote is not None:
            self._remote(port, remote)
            self.rtp.set_direction(port, media.direction)
        self._listen(port, line, event)
        return local

    def _media(self, port, media):
        """The media the call settled on: reopen RTP on the same port if the codec, event
        type or packet size differ from what it was opened with; else point it."""
        line = self._lines[port]
        wanted = (media.payload_type, media.telephone_event, media.ptime)
        if line.opened != wanted:
            self.rtp.close(port)
            host, local_port = line.local  # the port the peer was told
            self.rtp.open(port, host=host, port=local_port, payload_type=wanted[0],
                          telephone_event=wanted[1], ptime=wanted[2])
            line.opened = wanted
        self._remote(port, (media.address, media.port))
        self.rtp.set_direction(port, media.direction)
        self._listen(port, line, media.telephone_event)

    def _remote(self, port, remote):
        try:
            self.rtp.set_remote(port, remote)
        except UsageError:  # a hostname or 0.0.0.0: symmetric RTP answers whoever sends
            self._count("media_address_unusable")

    def _listen(self, port, line, telephone_event):
        mode = line.trunk.dtmf if line.trunk is not None else "auto"
        self._inband[port] = mode == "inband" or (mode == "auto" and telephone_event is None)

    def _bind(self, port, call_id, state, trunk):
        self._ended_stats.pop(port, None)
        line = self._lines[port]
        line.call_id, line.state, line.trunk = call_id, state, trunk
        self._by_call[call_id] = port

    def _drop(self, port, line):
        if line.call_id is not None:
            call = self.agent.calls.get(line.call_id)
            if call is not None and call.state not in ("ended", "ending"):
                self._send(self.agent.hangup(line.call_id, self._clock()))
            self._by_call.pop(line.call_id, None)
        self._release(port, line)

    def _release(self, port, line):
        if line.opened is not None:
            stats = self._ended_stats[port] = self.rtp.stats(port)
            self._rtp_ended["lost"] += stats.lost
            self._rtp_ended["late"] += stats.late
            self.rtp.close(port)
        line.call_id, line.state, line.opened, line.trunk = None, "idle", None, None
        self._inband[port] = True
        self._freed.add(port)

    def _trunk_line(self, port, what):
        if not isinstance(port, int) or not 0 <= port < self._channels:
            raise PortError(f"SipBoard.{what}({port!r}): not a SIP channel; channels are "
                            f"0..{self._channels - 1}")
        return self._lines[port]

    def _station_user(self, port, what):
        if not isinstance(port, int) or not self._channels <= port < len(self._ports):
            raise PortError(f"SipBoard.{what}({port!r}): not a phone station; stations are "
                            f"{self._channels}..{len(self._ports) - 1}")
        return self.phones[port - self._channels].user

    def _send(self, outgoing):
        self.endpoint.send(outgoing)

    def _count(self, what):
        self.counters[what] = self.counters.get(what, 0) + 1


def _caller_id(port, now, user):
    """The From's user as caller ID; a withheld or missing one gives its absence reason."""
    if not user:
        return CallerId(port, now, None, number_absent=ABSENT_UNAVAILABLE)
    if user.lower() in _WITHHELD:
        return CallerId(port, now, None, number_absent=ABSENT_PRIVATE)
    return CallerId(port, now, user)
