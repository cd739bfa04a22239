"""The SIP user agent: transactions, dialogs, calls, registration, the registrar and the guard.

Theory of operation (sans-I/O, like the IVR and ACD engines)::

    ua = UserAgent(host, port, trusted={"10.0.0.2"}, outbound=OutboundPolicy(allow))
    out = ua.receive(data, source, now, transport="udp")   # one datagram or framed message
    out = ua.tick(now)                                     # every timer due by now
    ua.deadline                                            # when tick is next due
    ua.events                                              # a deque the board drains
    out = ua.ring(call_id, now) / ua.answer(...) / ua.reject(...) / ua.hangup(...)
    call_id, out = ua.invite(number, address, now, ...)    # an outgoing call
    out = ua.hold(...) / ua.resume(...) / ua.transfer(...) / ua.qualify(...)
    out = ua.register(name, now) / ua.unregister(name, now)

Every call returns ``Outgoing(data, address, transport)`` values for the driver to send; the
agent never reads a clock or opens a socket (hw/sip/driver.py does both). Events for the
board (``IncomingCall``, ``CallRinging``, ``CallAnswered``, ``MediaChanged``, ``CallEnded``,
``TransferProgress``, ``Qualified``, ``RegistrationChanged``, ``PhoneRegistered``,
``PhoneUnregistered``) are appended to ``events``.

Layers: requests and responses go through the RFC 3261 §17 transactions (transactions.py);
a call's state changes only through ``CALL_TABLE`` (calls.py); in-dialog requests are built
by its ``Dialog`` (dialog.py); a trunk account's registration is a ``Registration``
(registration.py); agent phones register with the ``Registrar`` (registrar.py). This module
holds the transport side, the server and client transaction tables and the calls we answer;
the calls we place are in outgoing.py, a call once it is up (re-INVITE, UPDATE, session
timers, REFER) in midcall.py, both mixed into ``UserAgent``.

Security (hw/sip/guard.py): a request from a source the ``guard`` blocks is dropped (or
answered 403); an INVITE is taken from a ``trusted`` source (a trunk's address) or from a
station that authenticates with digest as a registrar account; anything else gets 403 and
counts as an unknown-user probe. ``invite`` and ``transfer`` place calls only to numbers the
``outbound`` policy allows (``Refused`` otherwise). A REFER is taken only from a station's
phone (``TransferRequested``; the board decides, midcall.py); from anyone else it gets 405:
a caller never transfers itself.

Responses go where RFC 3261 §18.2.2 and RFC 3581 say (Via ``received``/``rport``) over UDP, and
back on the connection a request came on over TCP. A request over 1300 bytes goes by TCP when
the driver has it (RFC 3261 §18.1.1), unless its target URI says ``transport=udp``.
"""

import random
import secrets
from collections import deque
from dataclasses import dataclass, replace

from branchline.hw.sip.calls import (
    ALLOW,
    CALL_TABLE,
    IGNORE,
    SUPPORTED,
    TU_EVENTS,
    Call,
    CallAnswered,
    CallEnded,
    IncomingCall,
    Outgoing,
    Qualified,
)
from branchline.hw.sip.dialog import Dialog, new_tag, record_route
from branchline.hw.sip.digest import DigestServer
from branchline.hw.sip.errors import ParseError, PeerError, SdpError, UsageError
from branchline.hw.sip.guard import OutboundPolicy
from branchline.hw.sip.message import (
    Request,
    Response,
    parse_message,
    response_for,
    response_to_malformed,
)
from branchline.hw.sip.midcall import MidCall, session_expires
from branchline.hw.sip.outgoing import OutgoingCalls
from branchline.hw.sip.registration import Register, RegistrationChanged
from branchline.hw.sip.sdp import Session, answer, offer
from branchline.hw.sip.timers import TimerHeap, TimerTable
from branchline.hw.sip.transactions import (
    Deliver,
    Send,
    Terminated,
    TimedOut,
    TimerValues,
    Transaction,
    TransportFailed,
    client_key,
    server_key,
)
from branchline.hw.sip.uri import Uri

MTU_LIMIT = 1300  # RFC 3261 §18.1.1: larger requests go by a congestion-controlled transport
# How long an ended call stays in ``calls`` (the board and the page read how it ended); later
# requests for it get 481, as for any unknown dialog. 64*T1 is what a peer retransmits for.
FORGET_AFTER_T1 = 64


@dataclass(slots=True)
class _Client:
    t: Transaction
    address: tuple
    transport: str
    handler: object  # handler(response or None, now) -> [Outgoing]


class UserAgent(OutgoingCalls, MidCall):
    def __init__(self, host, port, media_port=0, user_agent="Branchline", timers=None,
                 trusted=(), outbound=None, guard=None, registrar=None,
                 session_expires=1800, min_se=90, rng=None, tcp=False):
        self.host, self.port = host, port
        self.media_port = media_port
        self.user_agent = user_agent
        self.timers = timers or TimerValues()
        self.trusted = frozenset(trusted)
        self.outbound = outbound or OutboundPolicy()
        self.guard = guard
        self.registrar = registrar
        self.session_expires, self.min_se = session_expires, min_se
        self.tcp = tcp
        # Every timer below (transactions, calls, registrations, the registrar's bindings) is on
        # one heap: a tick costs what is due, not what exists (timers.py).
        self._timers = TimerHeap()
        self.calls = _Calls(self._track_call)
        self._ended = []  # calls ended since the last receive or tick: forgotten 64*T1 on
        self._forget = TimerTable()  # call_id -> (when, call)
        self._timers.attach(self._forget, self._forget_call)
        self.registrations = {}
        self.peers = {}  # qualify name -> Qualified
        self.events = deque()
        self.counters = {}
        self._rng = rng or random.Random()
        self._servers = {}  # server_key -> (Transaction, reply address, transport)
        self._invites = {}  # (Call-ID, CSeq number) -> server_key of an INVITE's transaction
        self._clients = {}  # client_key -> _Client
        self._station_digest = None if registrar is None else DigestServer(
            registrar.realm, registrar.secret, algorithms=registrar.algorithms)
        self._registrar_due = TimerTable()  # "expiry" -> (the registrar's deadline,)
        self._timers.attach(self._registrar_due, self._expire_bindings)
        self._watch_registrar()

    # ---- the driver's side -------------------------------------------------------------

    @property
    def deadline(self):
        return self._timers.deadline

    def receive(self, data, source, now, transport="udp"):
        out = self._receive(data, source, now, transport)
        if self._ended:
            self._forget_ended(now)
        return out

    def tick(self, now):
        """Fire every timer due by ``now``, earliest first; only those are touched."""
        out = []
        for fire, name in self._timers.due(now):
            out += fire(name, now)
        if self._ended:
            self._forget_ended(now)
        return out

    def _receive(self, data, source, now, transport):
        source = tuple(source)
        verdict = "pass" if self.guard is None else self.guard.verdict(source[0], now)
        if verdict == "drop" and bytes(data[:4]) != b"ACK ":  # ACKs end what was answered
            self._count("blocked_dropped")
            return []
        try:
            message = parse_message(data)
        except ParseError as exc:
            self._count("malformed")
            reply = response_to_malformed(data, exc)
            return [] if reply is None else [Outgoing(bytes(reply), source, transport)]
        if isinstance(message, Response):
            return self._response(message, now)
        message = _stamp_via(message, source)
        address = source if transport != "udp" else _reply_address(message, source)
        key = server_key(message)
        if verdict != "pass" and (message.method != "ACK" or key not in self._servers):
            self._count("blocked_forbidden" if verdict == "forbid" else "blocked_dropped")
            if verdict == "drop" or message.method == "ACK":
                return []
            return [Outgoing(bytes(response_for(message, 403)), address, transport)]
        if key in self._servers:
            t, address, transport = self._servers[key]
            return self._carry_server(key, t, t.receive(message, now), now)
        if message.method == "ACK":
            return self._ack(message, now)
        kind = "ist" if message.method == "INVITE" else "nist"
        t = Transaction(kind, message, reliable=transport != "udp", timers=self.timers)
        self._servers[key] = (t, address, transport)
        if kind == "ist":
            self._invites.setdefault((message.call_id, message.cseq.number), key)
        self._timers.attach(t.armed, lambda _, when: self._carry_server(
            key, t, t.tick(when), when))
        return self._carry_server(key, t, t.start(now), now, source)

    def transport_failed(self, address, now):
        """The driver could not reach ``address`` by TCP: its transactions fail."""
        out = []
        for key, client in list(self._clients.items()):
            if client.address == tuple(address) and client.transport != "udp":
                out += self._carry_client(key, client, client.t.transport_error(now), now)
        return out

    # ---- the board's side: calls -------------------------------------------------------

    def ring(self, call_id, now, early_media=False, media_address=None):
        """180 Ringing, or 183 Session Progress with our SDP answer for early media."""
        call = self._call(call_id, "ring")
        if media_address is not None:
            call.media_address = tuple(media_address)
        if early_media:
            _need_media(call.media_address)
        self._move(call, "ring")
        body, headers = b"", [("Contact", self._contact()), *record_route(call.invite)]
        if early_media:
            body = bytes(self._answer_offer(call))
            headers.append(("Content-Type", "application/sdp"))
        status = 183 if early_media else 180
        reply = replace(response_for(call.invite, status, to_tag=call.local_tag,
                                     headers=headers), body=body)
        return self._respond(call.invite, reply, now)

    def answer(self, call_id, now, media_address=None, codecs=None):
        """200 OK with our SDP answer (or offer, to an INVITE without one), resent until ACK;
        ``codecs``: the ones we take, in our order of preference (default PCMA, PCMU)."""
        call = self._call(call_id, "answer")
        if media_address is not None:
            call.media_address = tuple(media_address)
        if codecs is not None:
            call.codecs = tuple(codecs)
        _need_media(call.media_address)
        try:
            if call.invite.body:
                body = bytes(self._answer_offer(call))
            else:
                call.sdp_version += 1
                call.our_offer = self._offer(call)
                body = bytes(call.our_offer)
        except SdpError as exc:
            return self.reject(call_id, now, exc.status)
        self._move(call, "answer")
        headers = [("Contact", self._contact()), *record_route(call.invite),
                   ("Content-Type", "application/sdp"), *self._common(),
                   *self._timer_headers(call, response=True)]
        ok = replace(response_for(call.invite, 200, to_tag=call.local_tag, headers=headers),
                     body=body)
        return self._send_ok(call, ok, call.invite.cseq.number, now)

    def reject(self, call_id, now, status=486):
        call = self._call(call_id, "reject")
        if not 300 <= status <= 699:
            raise UsageError(f"a call is rejected with a status from 300 to 699, not {status}")
        self._move(call, "reject")
        self._end(call, "rejected", status)
        return self._respond(call.invite, response_for(call.invite, status,
                                                       to_tag=call.local_tag), now)

    def hangup(self, call_id, now):
        """End the call whatever its state: reject, CANCEL or BYE, as the state calls for."""
        call = self._call(call_id, "hangup")
        state = call.state
        self._move(call, "hangup")
        if state in ("incoming", "early"):
            self._end(call, "hangup", 480)
            return self._respond(call.invite, response_for(call.invite, 480,
                                                           to_tag=call.local_tag), now)
        if state == "answering":
            call.bye_after_ack = True
            return []
        if state in ("calling", "proceeding", "cancelling"):
            call.end_reason = "hangup"
            return self._cancel(call, now) if state == "proceeding" else []
        if state == "confirmed":
            return self._bye(call, "hangup", now)
        return []

    def qualify(self, name, address, now, uri=None, transport="udp"):
        """OPTIONS to a peer; ``Qualified`` tells whether it answered, and how fast."""
        target = Uri.parse(uri or f"sip:{address[0]}:{address[1]}")
        fields = [("Max-Forwards", "70"),
                  ("From", f"<sip:qualify@{self.host}:{self.port}>;tag={new_tag()}"),
                  ("To", f"<{target}>"), ("Call-ID", secrets.token_hex(12)),
                  ("CSeq", "1 OPTIONS"), ("Accept", "application/sdp")]
        request = Request(headers=tuple(fields), method="OPTIONS", uri=target)

        def handler(response, when):
            if response is not None and response.status < 200:
                return []
            result = Qualified(name, tuple(address), response is not None,
                               None if response is None else when - now)
            self.peers[name] = result
            self.events.append(result)
            return []
        return self._send_request(request, tuple(address), transport, now, handler)

    # ---- the board's side: registration ------------------------------------------------

    def add_registration(self, registration):
        self.registrations[registration.name] = registration
        self._timers.attach(registration.timers, lambda _, now: self._registration(
            registration.tick(now), now))

    def register(self, name, now):
        return self._registration(self.registrations[name].start(now), now)

    def unregister(self, name, now):
        return self._registration(self.registrations[name].stop(now), now)

    def reachable(self, user, now):
        """Where the board reaches a station's phone: its live registrar bindings."""
        return [] if self.registrar is None else self.registrar.lookup(user, now)

    # ---- server side -------------------------------------------------------------------

    def _carry_server(self, key, t, actions, now, source=None):
        out = []
        _, address, transport = self._servers.get(key, (t, None, "udp"))
        for action in actions:
            if isinstance(action, Send):
                out.append(Outgoing(bytes(action.message), address, transport))
            elif isinstance(action, Deliver):
                if isinstance(action.message, Request) and action.message.method == "ACK":
                    out += self._ack(action.message, now)
                else:
                    out += self._request(t, action.message, source or address, transport, now)
            elif isinstance(action, TimedOut | TransportFailed):
                call = self.calls.get(t.request.call_id)
                if call is not None and t.kind == "ist" and call.invite is t.request:
                    out += self._event(call, "timeout", now, "timeout")
            elif isinstance(action, Terminated):
                self._servers.pop(key, None)
                if t.kind == "ist":
                    invite = (t.request.call_id, t.request.cseq.number)
                    if self._invites.get(invite) == key:
                        del self._invites[invite]
        return out

    def _invite_server(self, call_id, cseq):
        """The server transaction of the INVITE with this Call-ID and CSeq number, or None
        (a lookup: the 2xx resends of many calls must not scan every transaction)."""
        entry = self._servers.get(self._invites.get((call_id, cseq)))
        return None if entry is None else entry[0]

    def _respond(self, request, response, now):
        key = server_key(request)
        entry = self._servers.get(key)
        if entry is None:
            return []
        return self._carry_server(key, entry[0], entry[0].respond(response, now), now)

    def _request(self, t, request, source, transport, now):
        method = request.method
        reply = self._refusal(request)
        if reply is not None:
            return self._respond(request, reply, now)
        if method == "OPTIONS":
            return self._respond(request, response_for(request, 200, to_tag=new_tag(), headers=[
                *self._common(), ("Accept", "application/sdp")]), now)
        if method == "REGISTER":
            if self.registrar is None:
                return self._respond(request, response_for(request, 405, headers=[
                    ("Allow", ALLOW)]), now)
            response, events = self.registrar.handle(request, source, transport, now)
            self._watch_registrar()
            self.events.extend(events)
            return self._respond(request, response, now)
        if method == "CANCEL":
            return self._incoming_cancel(request, now)
        if method == "INVITE" and request.to.tag is None:
            return self._incoming_invite(request, source, transport, now)
        if method in ("INVITE", "BYE", "UPDATE", "NOTIFY", "REFER"):
            return self._in_dialog_request(request, now)
        return self._respond(request, response_for(request, 405, headers=[("Allow", ALLOW)]),
                             now)

    def _refusal(self, request):
        if request.uri.scheme not in ("sip", "sips"):
            return response_for(request, 416, to_tag=new_tag())
        require = [r.strip() for r in request.header_list("Require")]
        unknown = [r for r in require if r != "timer"]
        if unknown and request.method not in ("ACK", "CANCEL"):
            return response_for(request, 420, to_tag=new_tag(),
                                headers=[("Unsupported", ", ".join(unknown))])
        return None

    def _incoming_invite(self, request, source, transport, now):
        account = None
        # A phone on the trunk's address (all on one host, or behind one NAT) still proves
        # its account: a call from a station must not pass as a caller's.
        user = request.from_.uri.user
        station = self.registrar is not None and user is not None and \
            self.registrar.password_for(user) is not None
        if source[0] not in self.trusted or station:
            account, refusal = self._authenticate(request, source, now)
            if refusal is not None:
                return self._respond(request, refusal, now)
        expires = session_expires(request)
        if expires is not None and expires[0] < self.min_se:
            return self._respond(request, response_for(
                request, 422, to_tag=new_tag(), headers=[("Min-SE", str(self.min_se))]), now)
        out = self._respond(request, response_for(request, 100), now)
        try:
            offered = Session.parse(request.body) if request.body else None
            tag = new_tag()
            call = Call(request.call_id, "uas", "incoming", request, tuple(source), transport,
                        local_tag=tag, media_address=(self.host, self.media_port),
                        session_id=self._rng.randrange(1, 10**9))
            call.sdp_version = call.session_id
            if offered is not None:
                answer(offered, self.host, 1, 0)  # refuse what we cannot take before ringing
            call.dialog = Dialog.uas(request, tag, transport)
        except SdpError as exc:
            self._count(f"sdp_{exc.status}")
            return out + self._respond(request, response_for(request, exc.status,
                                                             to_tag=new_tag()), now)
        except ParseError:
            return out + self._respond(request, response_for(
                request, 400, "Bad Request (no usable Contact)", to_tag=new_tag()), now)
        call.peer_allows_update = "UPDATE" in (request.header("Allow") or "").upper()
        call.station = account
        self._negotiate_timer(call, request, uas=True)
        self.calls[call.call_id] = call
        self.events.append(IncomingCall(call.call_id, request.from_.uri.user, request.uri.user,
                                        tuple(source), account))
        return out

    def _authenticate(self, request, source, now):
        """(account, None) for a station that proved who it is, else (None, the refusal)."""
        user = request.from_.uri.user
        known = self.registrar is not None and user is not None and \
            self.registrar.password_for(user) is not None
        if not known:
            if self.guard is not None:
                self.guard.unknown_user(source[0], now)
            self._count("invite_refused")
            return None, response_for(request, 403, to_tag=new_tag())
        credentials = request.header("Authorization")
        if credentials is None:
            return None, response_for(request, 401, to_tag=new_tag(), headers=[
                ("WWW-Authenticate", c) for c in self._station_digest.challenges(now)])
        try:
            verdict = self._station_digest.verify(credentials, "INVITE",
                                                  self.registrar.password_for, now)
        except PeerError:
            verdict = None
        if verdict is not None and verdict.stale:
            return None, response_for(request, 401, to_tag=new_tag(), headers=[
                ("WWW-Authenticate", c) for c in self._station_digest.challenges(now, True)])
        if verdict is None or not verdict.ok or verdict.username != user:
            if self.guard is not None:
                self.guard.auth_failed(source[0], now)
            self._count("invite_refused")
            return None, response_for(request, 403, to_tag=new_tag())
        return user, None

    def _incoming_cancel(self, request, now):
        invite_key = server_key(replace(request, method="INVITE"))
        pending = self._servers.get(invite_key)
        if pending is None:
            return self._respond(request, response_for(request, 481), now)
        out = self._respond(request, response_for(request, 200), now)
        call = self.calls.get(request.call_id)
        if pending[0].state == "proceeding" and call is not None and \
                CALL_TABLE[(call.state, "cancel")] != IGNORE:
            self._move(call, "cancel")
            self._end(call, "cancelled", 487)
            out += self._respond(call.invite, response_for(call.invite, 487,
                                                           to_tag=call.local_tag), now)
        return out

    def _send_ok(self, call, ok, cseq, now, request=None):
        """Send a 2xx to an INVITE and keep resending it until the ACK (RFC 3261 §13.3.1.4)."""
        call.ok = (ok, cseq)
        if call.transport == "udp":
            call.due["ok"] = [now + self.timers.t1, self.timers.t1]
        call.due["no_ack"] = [now + 64 * self.timers.t1, 0.0]
        return self._respond(request or call.invite, ok, now)

    def _ack(self, ack, now):
        call = self.calls.get(ack.call_id)
        if call is None or call.ok is None or ack.to.tag != call.local_tag or \
                ack.cseq.number != call.ok[1]:
            self._count("stray_ack")
            return []
        call.ok = None
        call.due.pop("ok", None)
        call.due.pop("no_ack", None)
        if call.their_reinvite:
            call.their_reinvite = False
            if ack.body and call.our_offer is not None:
                before = (call.media, call.remote_hold)
                self._settle(call, ack.body)
                self._media_event(call, before)
            return []
        if ack.body and call.our_offer is not None:
            self._settle(call, ack.body)
        self._move(call, "ack")
        self.events.append(CallAnswered(call.call_id, call.media))
        self._arm_session_timer(call, now)
        if call.bye_after_ack:
            return self._bye(call, "hangup", now)
        return []

    # ---- client side -------------------------------------------------------------------

    def _send_request(self, request, address, transport, now, handler, via=None):
        if via is None:
            if transport == "udp" and self.tcp and request.uri.param("transport") != "udp" \
                    and len(bytes(request)) + 120 > MTU_LIMIT:
                transport = "tcp"
            via = f"SIP/2.0/{transport.upper()} {self.host}:{self.port};branch=z9hG4bK" \
                  f"{secrets.token_hex(8)};rport"
        kept = tuple(h for h in request.headers if h[0] != "Via")
        request = replace(request, headers=(("Via", via), *kept))
        kind = "ict" if request.method == "INVITE" else "nict"
        t = Transaction(kind, request, reliable=transport != "udp", timers=self.timers)
        key = client_key(request)
        client = _Client(t, tuple(address), transport, handler)
        self._clients[key] = client
        self._timers.attach(t.armed, lambda _, when: self._carry_client(
            key, client, t.tick(when), when))
        return self._carry_client(key, client, t.start(now), now)

    def _carry_client(self, key, client, actions, now):
        out, then = [], []  # the transaction's own ACK leaves before what the TU sends next
        for action in actions:
            if isinstance(action, Send):
                out.append(Outgoing(bytes(action.message), client.address, client.transport))
            elif isinstance(action, Deliver):
                then += client.handler(action.message, now)
            elif isinstance(action, TimedOut | TransportFailed):
                then += client.handler(None, now)
            elif isinstance(action, Terminated):
                self._clients.pop(key, None)
        return out + then

    def _response(self, response, now):
        try:
            key = client_key(response)
        except ParseError:
            return []
        client = self._clients.get(key)
        if client is None:
            self._count("stray_response")
            return []
        return self._carry_client(key, client, client.t.receive(response, now), now)

    # ---- helpers -----------------------------------------------------------------------

    def _call(self, call_id, event):
        call = self.calls.get(call_id)
        if call is None:
            raise UsageError(f"no call {call_id!r}")
        if event in TU_EVENTS and (call.state, event) not in CALL_TABLE:
            allowed = sorted(e for (s, e) in CALL_TABLE if s == call.state and e in TU_EVENTS)
            raise UsageError(f"call {call_id!r} in state {call.state!r} cannot take {event!r};"
                             f" it takes {allowed}")
        return call

    def _move(self, call, event):
        nxt = CALL_TABLE.get((call.state, event))
        if nxt is None:
            raise UsageError(f"call {call.call_id!r} in state {call.state!r} cannot take "
                             f"{event!r}")
        if nxt != IGNORE:
            call.state = nxt
        return nxt

    def _event(self, call, event, now, reason, status=None):
        """A peer or clock event; the call ends with ``reason`` if the table says so."""
        if self._move(call, event) != IGNORE and call.state == "ended":
            self._end(call, reason, status)
        return []

    def _end(self, call, reason, status=None):
        call.due.clear()
        call.ok = None
        call.state = "ended"
        call.end_reason, call.end_status = reason, status
        self.events.append(CallEnded(call.call_id, reason, status))
        self._ended.append(call)

    def _answer_offer(self, call, offered=None):
        offered = offered or Session.parse(call.invite.body)
        host, port = call.media_address
        ours, call.media = answer(offered, host, port, call.session_id, prefer=call.codecs,
                                  hold=call.local_hold, version=call.sdp_version)
        direction = (offered.media[0].direction if offered.media else None) or offered.direction
        call.remote_hold = direction in ("sendonly", "inactive")
        return ours

    def _offer(self, call, hold=None):
        hold = call.local_hold if hold is None else hold
        direction = "sendonly" if hold else "sendrecv"
        if hold and call.remote_hold:
            direction = "inactive"
        elif not hold and call.remote_hold:
            direction = "recvonly"
        host, port = call.media_address
        return offer(host, port, call.session_id, codecs=call.codecs, direction=direction,
                     version=call.sdp_version)

    def _registration(self, actions, now):
        out = []
        for action in actions:
            if isinstance(action, Register):
                reg = self.registrations[action.name]
                out += self._send_request(action.request, action.address, action.transport,
                                          now, self._registration_handler(reg))
            elif isinstance(action, RegistrationChanged):
                self.events.append(action)
        return out

    def _registration_handler(self, reg):
        def handler(response, now):
            if response is None:
                return self._registration(reg.on_timeout(now), now)
            return self._registration(reg.on_response(response, now), now)
        return handler

    def _contact(self):
        return f"<sip:branchline@{self.host}:{self.port}>"

    def _common(self):
        return [("Allow", ALLOW), ("Supported", SUPPORTED), ("Server", self.user_agent)]

    def _count(self, what):
        self.counters[what] = self.counters.get(what, 0) + 1

    # ---- timers ------------------------------------------------------------------------

    def _track_call(self, call):
        def fire(name, now):
            if self.calls.get(call.call_id) is not call:  # replaced under its Call-ID
                return []
            return self._call_timer(call, name, now)
        self._timers.attach(call.due, fire)

    def _forget_ended(self, now):
        for call in self._ended:
            self._forget[call.call_id] = (now + FORGET_AFTER_T1 * self.timers.t1, call)
        self._ended.clear()

    def _forget_call(self, call_id, now):
        _, call = self._forget.pop(call_id)
        if self.calls.get(call_id) is call and call.state == "ended":
            del self.calls[call_id]
        return []

    def _watch_registrar(self):
        """Keep one heap entry at the registrar's deadline (its earliest binding expiry)."""
        deadline = None if self.registrar is None else self.registrar.deadline
        current = self._registrar_due.get("expiry")
        if deadline is None:
            self._registrar_due.pop("expiry", None)
        elif current is None or current[0] != deadline:
            self._registrar_due["expiry"] = (deadline,)

    def _expire_bindings(self, name, now):
        del self._registrar_due[name]
        self.events.extend(self.registrar.expire(now))
        self._watch_registrar()
        return []


class _Calls(dict):
    """Call-ID -> Call: a call stored here has its timers (``call.due``) on the agent's heap,
    whichever module made it."""

    __slots__ = ("_track",)

    def __init__(self, track):
        super().__init__()
        self._track = track

    def __setitem__(self, call_id, call):
        dict.__setitem__(self, call_id, call)
        self._track(call)


def _need_media(media_address):
    if not media_address[1]:
        raise UsageError("a call needs our RTP port: give media_address (or media_port)")


def _stamp_via(request, source):
    """RFC 3261 §18.2.1 and RFC 3581 §4: note where the request really came from."""
    vias = request.header_list("Via")
    top = request.vias[0]
    params = {}
    if top.host != source[0]:
        params["received"] = source[0]
    if top.param("rport") == "":
        params["rport"] = str(source[1])
    if not params:
        return request
    stamped = [str(top.with_params(**params)), *vias[1:]]
    first = next(i for i, (n, _) in enumerate(request.headers) if n == "Via")
    headers = [h for h in request.headers if h[0] != "Via"]
    headers[first:first] = [("Via", v) for v in stamped]
    return replace(request, headers=tuple(headers))


def _reply_address(request, source):
    top = request.vias[0]
    host = top.param("received") or top.host
    port = top.param("rport") or top.port or 5060
    return host, int(port)
