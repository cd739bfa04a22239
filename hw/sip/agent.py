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
(registration.py); agent phones register with the ``Registrar`` (registrar.py).

Security (hw/sip/guard.py): a request from a source the ``guard`` blocks is dropped (or
answered 403); an INVITE is taken from a ``trusted`` source (a trunk's address) or from a
station that authenticates with digest as a registrar account; anything else gets 403 and
counts as an unknown-user probe. ``invite`` and ``transfer`` place calls only to numbers the
``outbound`` policy allows (``Refused`` otherwise). A REFER from the peer is not taken (405):
a transfer is ours to make, never the caller's.

Responses go where RFC 3261 §18.2.2 and RFC 3581 say (Via ``received``/``rport``) over UDP, and
back on the connection a request came on over TCP. A request over 1300 bytes goes by TCP when
the driver has it (RFC 3261 §18.1.1), unless its target URI says ``transport=udp``.
"""

import random
import secrets
from collections import deque
from dataclasses import dataclass, replace

from branchline.hw.sip.calls import (
    CALL_TABLE,
    IGNORE,
    TU_EVENTS,
    Call,
    CallAnswered,
    CallEnded,
    CallRinging,
    IncomingCall,
    MediaChanged,
    Qualified,
    TransferProgress,
)
from branchline.hw.sip.dialog import Dialog, hop_address
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
from branchline.hw.sip.registration import Register, RegistrationChanged
from branchline.hw.sip.sdp import Session, accept_answer, answer, offer
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

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, NOTIFY"
SUPPORTED = "timer"
MTU_LIMIT = 1300  # RFC 3261 §18.1.1: larger requests go by a congestion-controlled transport


class Refused(UsageError):
    """The outbound policy does not allow this number: no call or transfer is placed."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    data: bytes
    address: tuple
    transport: str = "udp"


@dataclass(slots=True)
class _Client:
    t: Transaction
    address: tuple
    transport: str
    handler: object  # handler(response or None, now) -> [Outgoing]


class UserAgent:
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
        self.calls = {}
        self.registrations = {}
        self.peers = {}  # qualify name -> Qualified
        self.events = deque()
        self.counters = {}
        self._rng = rng or random.Random()
        self._servers = {}  # server_key -> (Transaction, reply address, transport)
        self._clients = {}  # client_key -> _Client
        self._station_digest = None if registrar is None else DigestServer(
            registrar.realm, registrar.secret, algorithms=registrar.algorithms)

    # ---- the driver's side -------------------------------------------------------------

    @property
    def deadline(self):
        times = [t.deadline for t, _, _ in self._servers.values()]
        times += [c.t.deadline for c in self._clients.values()]
        times += [due[0] for call in self.calls.values() for due in call.due.values()]
        times += [r.deadline for r in self.registrations.values()]
        if self.registrar is not None:
            times.append(self.registrar.deadline)
        return min((t for t in times if t is not None), default=None)

    def receive(self, data, source, now, transport="udp"):
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
        return self._carry_server(key, t, t.start(now), now, source)

    def tick(self, now):
        out = []
        for key, (t, _, _) in list(self._servers.items()):
            if t.deadline is not None and t.deadline <= now:
                out += self._carry_server(key, t, t.tick(now), now)
        for key, client in list(self._clients.items()):
            if client.t.deadline is not None and client.t.deadline <= now:
                out += self._carry_client(key, client, client.t.tick(now), now)
        for call in list(self.calls.values()):
            for name, due in sorted(call.due.items(), key=lambda i: i[1][0]):
                if due[0] <= now and call.due.get(name) is due:
                    out += self._call_timer(call, name, now)
        for reg in self.registrations.values():
            out += self._registration(reg.tick(now), now)
        if self.registrar is not None:
            self.events.extend(self.registrar.expire(now))
        return out

    def transport_failed(self, address, now):
        """The driver could not reach ``address`` by TCP: its transactions fail."""
        out = []
        for key, client in list(self._clients.items()):
            if client.address == tuple(address) and client.transport != "udp":
                out += self._carry_client(key, client, client.t.transport_error(now), now)
        return out

    # ---- the board's side: calls -------------------------------------------------------

    def ring(self, call_id, now, early_media=False):
        """180 Ringing, or 183 Session Progress with our SDP answer for early media."""
        call = self._call(call_id, "ring")
        self._move(call, "ring")
        body, headers = b"", [("Contact", self._contact()), *_record_route(call.invite)]
        if early_media:
            body = bytes(self._answer_offer(call))
            headers.append(("Content-Type", "application/sdp"))
        status = 183 if early_media else 180
        reply = replace(response_for(call.invite, status, to_tag=call.local_tag,
                                     headers=headers), body=body)
        return self._respond(call.invite, reply, now)

    def answer(self, call_id, now, media_address=None):
        """200 OK with our SDP answer (or offer, to an INVITE without one), resent until ACK."""
        call = self._call(call_id, "answer")
        if media_address is not None:
            call.media_address = tuple(media_address)
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
        headers = [("Contact", self._contact()), *_record_route(call.invite),
                   ("Content-Type", "application/sdp"), *self._common(),
                   *self._timer_headers(call)]
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

    def invite(self, number, address, now, from_user="branchline", media_address=None,
               credentials=None, transport="udp", purpose="call", domain=None):
        """Call ``number`` at ``address`` (host, port). Returns (call_id, outgoing).

        Raises ``Refused`` unless the outbound policy allows the number for ``purpose``.
        """
        if not self.outbound.permits(number, purpose):
            self._count("outbound_refused")
            raise Refused(f"the outbound policy does not allow calling {number!r} "
                          f"({purpose}); only configured callbacks and transfer targets")
        domain = domain or f"{address[0]}:{address[1]}"
        target = Uri.parse(f"sip:{number}@{domain}")
        call_id = secrets.token_hex(12)
        call = Call(call_id, "uac", "calling", None, tuple(address), transport,
                    local_tag=_tag(), media_address=tuple(media_address or
                                                          (self.host, self.media_port)),
                    session_id=self._rng.randrange(1, 10**9), credentials=credentials,
                    session_expires=self.session_expires)
        call.sdp_version = call.session_id
        call.our_offer = self._offer(call)
        fields = [("Max-Forwards", "70"),
                  ("From", f"<sip:{from_user}@{self.host}:{self.port}>;tag={call.local_tag}"),
                  ("To", f"<{target}>"), ("Call-ID", call_id), ("CSeq", "1 INVITE")]
        call.invite = Request(headers=tuple(fields), method="INVITE", uri=target)
        self.calls[call_id] = call
        return call_id, self._send_invite(call, now)

    def hold(self, call_id, now):
        """Put the call on hold: a re-INVITE offering sendonly (RFC 3264 §8.4)."""
        return self._reoffer(call_id, "hold", now)

    def resume(self, call_id, now):
        return self._reoffer(call_id, "resume", now)

    def transfer(self, call_id, target, now):
        """Blind transfer (RFC 3515): REFER the peer to ``target`` (a SIP URI), if allowed."""
        call = self._call(call_id, "transfer")
        uri = Uri.parse(target)
        if not self.outbound.permits(uri.user, "transfer"):
            self._count("outbound_refused")
            raise Refused(f"the outbound policy does not allow a transfer to {uri.user!r}")
        self._move(call, "transfer")
        headers = [("Refer-To", f"<{uri}>"), ("Referred-By", f"<{call.dialog.local_uri}>"),
                   ("Contact", self._contact())]
        return self._in_dialog(call, "REFER", now, self._on_refer_answer, headers)

    def qualify(self, name, address, now, uri=None, transport="udp"):
        """OPTIONS to a peer; ``Qualified`` tells whether it answered, and how fast."""
        target = Uri.parse(uri or f"sip:{address[0]}:{address[1]}")
        fields = [("Max-Forwards", "70"),
                  ("From", f"<sip:qualify@{self.host}:{self.port}>;tag={_tag()}"),
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
        return out

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
            return self._respond(request, response_for(request, 200, to_tag=_tag(), headers=[
                *self._common(), ("Accept", "application/sdp")]), now)
        if method == "REGISTER":
            if self.registrar is None:
                return self._respond(request, response_for(request, 405, headers=[
                    ("Allow", ALLOW)]), now)
            response, events = self.registrar.handle(request, source, transport, now)
            self.events.extend(events)
            return self._respond(request, response, now)
        if method == "CANCEL":
            return self._incoming_cancel(request, now)
        if method == "INVITE" and request.to.tag is None:
            return self._incoming_invite(request, source, transport, now)
        if method in ("INVITE", "BYE", "UPDATE", "NOTIFY"):
            return self._in_dialog_request(request, now)
        return self._respond(request, response_for(request, 405, headers=[("Allow", ALLOW)]),
                             now)

    def _refusal(self, request):
        if request.uri.scheme not in ("sip", "sips"):
            return response_for(request, 416, to_tag=_tag())
        require = [r.strip() for r in request.header_list("Require")]
        unknown = [r for r in require if r != "timer"]
        if unknown and request.method not in ("ACK", "CANCEL"):
            return response_for(request, 420, to_tag=_tag(),
                                headers=[("Unsupported", ", ".join(unknown))])
        return None

    def _incoming_invite(self, request, source, transport, now):
        account = None
        if source[0] not in self.trusted:
            account, refusal = self._authenticate(request, source, now)
            if refusal is not None:
                return self._respond(request, refusal, now)
        expires = _session_expires(request)
        if expires is not None and expires[0] < self.min_se:
            return self._respond(request, response_for(
                request, 422, to_tag=_tag(), headers=[("Min-SE", str(self.min_se))]), now)
        out = self._respond(request, response_for(request, 100), now)
        try:
            offered = Session.parse(request.body) if request.body else None
            tag = _tag()
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
                                                             to_tag=_tag()), now)
        except ParseError:
            return out + self._respond(request, response_for(
                request, 400, "Bad Request (no usable Contact)", to_tag=_tag()), now)
        call.peer_allows_update = "UPDATE" in (request.header("Allow") or "").upper()
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
            return None, response_for(request, 403, to_tag=_tag())
        credentials = request.header("Authorization")
        if credentials is None:
            return None, response_for(request, 401, to_tag=_tag(), headers=[
                ("WWW-Authenticate", c) for c in self._station_digest.challenges(now)])
        try:
            verdict = self._station_digest.verify(credentials, "INVITE",
                                                  self.registrar.password_for, now)
        except PeerError:
            verdict = None
        if verdict is not None and verdict.stale:
            return None, response_for(request, 401, to_tag=_tag(), headers=[
                ("WWW-Authenticate", c) for c in self._station_digest.challenges(now, True)])
        if verdict is None or not verdict.ok or verdict.username != user:
            if self.guard is not None:
                self.guard.auth_failed(source[0], now)
            self._count("invite_refused")
            return None, response_for(request, 403, to_tag=_tag())
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

    def _in_dialog_request(self, request, now):
        call = self.calls.get(request.call_id)
        dialog = call.dialog if call is not None else None
        if dialog is None or request.to.tag != dialog.local_tag or \
                (dialog.remote_tag is not None and request.from_.tag != dialog.remote_tag) or \
                call.state in ("ended", "incoming", "early"):
            return self._respond(request, response_for(request, 481), now)
        if not dialog.accept_remote(request):
            return self._respond(request, response_for(request, 500, "Server Internal Error "
                                                       "(CSeq out of order)"), now)
        method = request.method
        if method == "BYE":
            out = self._respond(request, response_for(request, 200), now)
            if self._move(call, "bye") != IGNORE:
                self._end(call, "bye")
            return out
        if method == "NOTIFY":
            return self._notify(call, request, now)
        if call.state != "confirmed":
            return self._respond(request, response_for(request, 491 if method == "INVITE"
                                                       else 500), now)
        if method == "INVITE" and (call.reinvite is not None or call.their_reinvite):
            # RFC 3261 §14.2: glare (491) when ours is pending, 500 while theirs is unACKed
            status = 491 if call.reinvite is not None else 500
            return self._respond(request, response_for(
                request, status, headers=[("Retry-After", "1")] if status == 500 else []), now)
        return self._target_refresh(call, request, now)

    def _target_refresh(self, call, request, now):
        """A re-INVITE or UPDATE from the peer: new offer, new target, session refresh."""
        call.dialog.update_target(request)
        expires = _session_expires(request)
        if expires is not None and expires[0] < self.min_se:
            return self._respond(request, response_for(
                request, 422, headers=[("Min-SE", str(self.min_se))]), now)
        before = (call.media, call.remote_hold)
        body = b""
        try:
            if request.body:
                call.sdp_version += 1
                body = bytes(self._answer_offer(call, Session.parse(request.body)))
            elif request.method == "INVITE":
                call.sdp_version += 1
                call.our_offer = self._offer(call)
                body = bytes(call.our_offer)
        except SdpError as exc:
            call.sdp_version -= 1
            return self._respond(request, response_for(request, exc.status), now)
        self._move(call, "reinvite" if request.method == "INVITE" else "update")
        self._negotiate_timer(call, request, uas=True)
        self._arm_session_timer(call, now)
        headers = [("Contact", self._contact()), *_record_route(request), *self._common(),
                   *self._timer_headers(call)]
        if body:
            headers.append(("Content-Type", "application/sdp"))
        ok = replace(response_for(request, 200, headers=headers), body=body)
        self._media_event(call, before)
        if request.method == "INVITE":
            call.their_reinvite = True
            return self._send_ok(call, ok, request.cseq.number, now, request)
        return self._respond(request, ok, now)

    def _notify(self, call, request, now):
        out = self._respond(request, response_for(request, 200), now)
        if (request.header("Event") or "").split(";")[0].strip().lower() != "refer":
            return out
        frag = request.body.split(b"\r\n", 1)[0].split(b" ")
        if len(frag) >= 2 and frag[0].upper() == b"SIP/2.0" and frag[1].isdigit():
            status = int(frag[1])
            done = status >= 200 or "terminated" in (request.header("Subscription-State")
                                                     or "").lower()
            self.events.append(TransferProgress(call.call_id, status, done))
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

    def _send_invite(self, call, now):
        fields = [h for h in call.invite.headers
                  if h[0] not in ("Via", "Contact", "Content-Type", "Session-Expires",
                                  "Min-SE", "Supported", "Allow", "User-Agent")]
        fields += [("Contact", self._contact()), ("Allow", ALLOW), ("Supported", SUPPORTED),
                   ("User-Agent", self.user_agent), ("Content-Type", "application/sdp")]
        if call.session_expires:
            fields += [("Session-Expires", str(call.session_expires)),
                       ("Min-SE", str(self.min_se))]
        call.invite = replace(call.invite, headers=tuple(fields), body=bytes(call.our_offer))
        return self._send_request(call.invite, call.address, call.transport, now,
                                  lambda r, when: self._on_invite_answer(call, r, when))

    def _on_invite_answer(self, call, response, now):
        if response is None:
            return self._event(call, "timeout", now, "timeout")
        status = response.status
        if status < 200:
            return self._provisional(call, response, now)
        if status < 300:
            return self._success(call, response, now)
        if status in (401, 407, 422) and call.retries < 2:
            retried = self._retry_invite(call, response)
            if retried:
                out = self._event(call, "retry", now, "")
                return out + (self._send_invite(call, now) if call.state == "calling" else [])
        reason = "cancelled" if status == 487 else "rejected"
        return self._event(call, "failure", now, reason, status)

    def _retry_invite(self, call, response):
        status = response.status
        headers = [h for h in call.invite.headers
                   if h[0] not in ("Authorization", "Proxy-Authorization")]
        if status == 422:
            minimum = response.header("Min-SE") or ""
            value = minimum.split(";")[0].strip()
            if not value.isdigit():
                return False
            call.session_expires = max(int(value), call.session_expires or 0)
            self.min_se = max(self.min_se, int(value))
        else:
            name = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
            if call.credentials is None or response.header(name) is None:
                return False
            try:
                value = call.credentials.authorize(response.header(name), "INVITE",
                                                   str(call.invite.uri))
            except PeerError:
                return False
            headers.append(("Authorization" if status == 401 else "Proxy-Authorization",
                            value))
        call.retries += 1
        cseq = call.invite.cseq.number + 1
        headers = [(n, f"{cseq} INVITE" if n == "CSeq" else v) for n, v in headers]
        call.invite = replace(call.invite, headers=tuple(headers))
        return True

    def _provisional(self, call, response, now):
        if response.status == 100:
            return []
        out = []
        early = None
        if response.to.tag is not None and call.dialog is None and response.contacts:
            call.dialog = Dialog.uac(call.invite, response, call.transport)
        if response.body and call.our_offer is not None:
            try:
                early = accept_answer(call.our_offer, Session.parse(response.body))
            except SdpError:
                early = None
        if self._move(call, "provisional") == IGNORE:
            return []
        if call.state == "cancelling" and not call.cancel_sent:
            out += self._cancel(call, now)
        self.events.append(CallRinging(call.call_id, response.status, early))
        return out

    def _success(self, call, response, now):
        dialog = call.dialog
        cseq = response.cseq.number
        if dialog is not None and cseq in dialog.acks:  # a retransmitted 2xx: ACK it again
            ack, address, transport = dialog.acks[cseq]
            return [Outgoing(bytes(ack), address, transport)]
        if dialog is None or dialog.remote_tag != response.to.tag:
            try:
                call.dialog = dialog = Dialog.uac(call.invite, response, call.transport)
            except ParseError:
                call.dialog = dialog = Dialog(call.call_id, call.local_tag, response.to.tag,
                                              str(call.invite.from_.uri), str(call.invite.uri),
                                              call.invite.uri, local_cseq=cseq, we_called=True)
        else:
            dialog.update_target(response)
        dialog.local_cseq = max(dialog.local_cseq, cseq)
        out = self._send_ack(call, cseq, now)
        try:
            call.media = accept_answer(call.our_offer, Session.parse(response.body))
        except SdpError:
            call.media = None
        call.our_offer = None
        call.peer_allows_update = "UPDATE" in (response.header("Allow") or "").upper()
        state = call.state
        self._move(call, "success")
        if state == "cancelling" or call.media is None:
            return out + self._bye(call, call.end_reason or "no usable answer", now)
        self._negotiate_timer(call, response, uas=False)
        self._arm_session_timer(call, now)
        self.events.append(CallAnswered(call.call_id, call.media))
        return out

    def _send_ack(self, call, cseq, now):
        dialog = call.dialog
        host, port, transport = hop_address(dialog.next_hop(), call.transport)
        via = f"SIP/2.0/{transport.upper()} {self.host}:{self.port};branch=z9hG4bK" \
              f"{secrets.token_hex(8)};rport"
        ack = dialog.request("ACK", via, cseq=cseq)
        dialog.acks = {cseq: (ack, (host, port), transport)}
        return [Outgoing(bytes(ack), (host, port), transport)]

    def _cancel(self, call, now):
        """CANCEL our INVITE (RFC 3261 §9.1): same Via branch, Request-URI, Call-ID, CSeq."""
        call.cancel_sent = True
        invite = call.invite
        fields = [("Max-Forwards", "70")]
        fields += [(n, v) for n, v in invite.headers if n in ("From", "To", "Call-ID", "Route")]
        fields.append(("CSeq", f"{invite.cseq.number} CANCEL"))
        client = next((c for c in self._clients.values() if c.t.request.method == "INVITE"
                       and c.t.request.call_id == call.call_id), None)
        if client is None:
            return []
        cancel = Request(headers=tuple(fields), method="CANCEL", uri=invite.uri)
        return self._send_request(cancel, client.address, client.transport, now,
                                  lambda r, when: [],
                                  via=client.t.request.header_list("Via")[0])

    def _bye(self, call, reason, now):
        if call.state == "confirmed":
            self._move(call, "hangup")
        call.end_reason = call.end_reason or reason
        call.due.clear()
        return self._in_dialog(call, "BYE", now, self._on_bye_answer)

    def _on_bye_answer(self, call, response, now):
        if response is not None and response.status < 200:
            return []
        self._move(call, "bye_answered")
        if call.state == "ended":
            self._end(call, call.end_reason or "hangup")
        return []

    def _in_dialog(self, call, method, now, on_answer, headers=(), body=b""):
        dialog = call.dialog
        host, port, transport = hop_address(dialog.next_hop(), call.transport)
        request = dialog.request(method, "", headers=headers, body=body)
        return self._send_request(request, (host, port), transport, now,
                                  lambda r, when: on_answer(call, r, when))

    def _on_refer_answer(self, call, response, now):
        if response is None:
            self.events.append(TransferProgress(call.call_id, 408, True))
        elif response.status >= 200:
            self.events.append(TransferProgress(call.call_id, response.status,
                                                response.status >= 300))
        return []

    # ---- re-INVITE: hold, resume, session refresh --------------------------------------

    def _reoffer(self, call_id, why, now):
        call = self._call(call_id, why)
        if call.reinvite is not None or call.their_reinvite:
            raise UsageError(f"call {call_id!r}: an offer is already in progress; "
                             "try again when it is answered")
        if (why == "hold") == call.local_hold:
            raise UsageError(f"call {call_id!r} is {'already' if call.local_hold else 'not'} "
                             "on hold")
        self._move(call, why)
        return self._send_reinvite(call, why, now)

    def _send_reinvite(self, call, why, now):
        call.reinvite = why
        if why == "refresh" and call.peer_allows_update:
            return self._in_dialog(call, "UPDATE", now, self._on_reinvite_answer,
                                   [("Contact", self._contact()), *self._timer_headers(call)])
        if why != "refresh":
            call.sdp_version += 1
        hold = call.local_hold if why == "refresh" else why == "hold"
        call.our_offer = self._offer(call, hold)
        headers = [("Contact", self._contact()), ("Allow", ALLOW), ("Supported", SUPPORTED),
                   ("Content-Type", "application/sdp"), *self._timer_headers(call)]
        return self._in_dialog(call, "INVITE", now, self._on_reinvite_answer, headers,
                               bytes(call.our_offer))

    def _on_reinvite_answer(self, call, response, now):
        why = call.reinvite
        if response is not None and response.status < 200:
            return []
        if response is not None and 200 <= response.status < 300 and \
                response.cseq.method == "INVITE" and why is None:
            return self._success_again(call, response)
        call.reinvite = None
        if response is None or response.status in (408, 481):
            self._move(call, "timeout")
            return self._bye(call, "timeout" if response is None else "gone", now)
        if response.status == 491:  # RFC 3261 §14.1: wait, then try again
            low, high = (2.1, 4.0) if call.dialog.we_called else (0.0, 2.0)
            call.due["glare"] = [now + self._rng.uniform(low, high), 0.0]
            call.retry_offer = why
            return []
        self._move(call, "success" if response.status < 300 else "failure")
        out = []
        if response.status < 300:
            if response.cseq.method == "INVITE":
                out = self._send_ack(call, response.cseq.number, now)
                call.dialog.update_target(response)
                before = (call.media, call.remote_hold)
                if why != "refresh" or response.body:
                    self._settle(call, response.body)
                if why in ("hold", "resume"):
                    call.local_hold = why == "hold"
                self._media_event(call, before, force=why in ("hold", "resume"))
            self._negotiate_timer(call, response, uas=False)
            self._arm_session_timer(call, now)
        call.our_offer = None
        return out

    def _success_again(self, call, response):
        acks = call.dialog.acks if call.dialog else {}
        if response.cseq.number in acks:
            ack, address, transport = acks[response.cseq.number]
            return [Outgoing(bytes(ack), address, transport)]
        return []

    def _settle(self, call, body):
        """Take the answer to our offer. The holder is the side that will not receive
        (RFC 3264 §8.4): the peer holds us if it refuses the media we offered to send."""
        try:
            media = accept_answer(call.our_offer, Session.parse(body))
        except SdpError:
            return
        call.media = media
        if call.our_offer.media[0].direction in ("sendrecv", "sendonly"):
            call.remote_hold = media.direction in ("recvonly", "inactive")

    def _media_event(self, call, before, force=False):
        if force or (call.media, call.remote_hold) != before:
            self.events.append(MediaChanged(call.call_id, call.media, call.local_hold,
                                            call.remote_hold))

    # ---- session timers (RFC 4028) -------------------------------------------------------

    def _negotiate_timer(self, call, message, uas):
        """Settle the interval and the refresher from a request we answer or a 2xx we got."""
        expires = _session_expires(message)
        if expires is None:
            if uas and isinstance(message, Request) and message.method == "INVITE" and \
                    call.session_expires is None:
                call.session_expires, call.refresher = self.session_expires, "us"
            elif not uas:
                call.session_expires = call.refresher = None
            return
        interval, refresher = expires
        supported = "timer" in (message.header("Supported") or "").lower()
        if uas and refresher is None:
            refresher = "uac" if supported else "uas"
        if refresher is None:
            refresher = "uac"
        we_are = "uas" if uas else "uac"
        call.session_expires = interval
        call.refresher = "us" if refresher == we_are else "them"

    def _timer_headers(self, call):
        if not call.session_expires:
            return []
        if call.role == "uas":
            who = "uas" if call.refresher == "us" else "uac"
        else:
            who = "uac" if call.refresher in ("us", None) else "uas"
        headers = [("Session-Expires", f"{call.session_expires};refresher={who}")]
        if who == "uac" and call.role == "uas":
            headers.append(("Require", "timer"))
        return headers

    def _arm_session_timer(self, call, now):
        call.due.pop("refresh", None)
        call.due.pop("expire", None)
        if not call.session_expires or call.state != "confirmed":
            return
        interval = call.session_expires
        if call.refresher == "us":
            call.due["refresh"] = [now + interval / 2, 0.0]
        else:  # RFC 4028 §10: BYE shortly before the expiry if no refresh came
            call.due["expire"] = [now + interval - min(32, interval / 3), 0.0]

    def _call_timer(self, call, name, now):
        due = call.due.pop(name)
        if name == "ok":
            if call.ok is None:
                return []
            interval = min(2 * due[1], self.timers.t2)
            call.due["ok"] = [now + interval, interval]
            return self._resend_ok(call, call.ok[0])
        if name == "no_ack":
            call.ok = None
            call.due.pop("ok", None)
            if call.their_reinvite:
                call.their_reinvite = False
                return self._bye(call, "no ACK", now)
            return self._event(call, "no_ack", now, "no_ack") + self._bye(call, "no ACK", now)
        if name == "refresh":
            if call.reinvite is not None or call.their_reinvite:
                call.due["refresh"] = [now + 1.0, 0.0]
                return []
            return self._send_reinvite(call, "refresh", now)
        if name == "expire":
            return self._event(call, "session_expired", now, "") + \
                self._bye(call, "session_expired", now)
        if name == "glare":
            why, call.retry_offer = call.retry_offer, None
            if call.state != "confirmed" or why is None:
                return []
            if call.reinvite is not None or call.their_reinvite:
                call.retry_offer = why
                call.due["glare"] = [now + 1.0, 0.0]
                return []
            if (why == "hold" and call.local_hold) or (why == "resume" and not call.local_hold):
                return []
            return self._send_reinvite(call, why, now)
        return []

    def _resend_ok(self, call, ok):
        """The 2xx again, through its INVITE server transaction (Accepted keeps it 64*T1)."""
        for t, _, _ in list(self._servers.values()):
            if t.kind == "ist" and t.request.call_id == call.call_id and \
                    t.request.cseq.number == ok.cseq.number:
                return self._respond(t.request, ok, now=t.deadline or 0.0)
        return []

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

    def _answer_offer(self, call, offered=None):
        offered = offered or Session.parse(call.invite.body)
        host, port = call.media_address
        ours, call.media = answer(offered, host, port, call.session_id, hold=call.local_hold,
                                  version=call.sdp_version)
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
        return offer(host, port, call.session_id, direction=direction, version=call.sdp_version)

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


def _session_expires(message):
    """(seconds, refresher or None) from Session-Expires, or None when absent or unusable."""
    value = message.header("Session-Expires")
    if value is None:
        return None
    number, _, params = value.partition(";")
    number = number.strip()
    if not number.isdigit():
        return None
    refresher = None
    for p in params.split(";"):
        name, _, v = p.partition("=")
        if name.strip().lower() == "refresher" and v.strip().lower() in ("uac", "uas"):
            refresher = v.strip().lower()
    return int(number), refresher


def _record_route(request):
    """RFC 3261 §12.1.1: a UAS copies Record-Route into its dialog-forming responses."""
    return [("Record-Route", v) for v in request.header_values("Record-Route")]


def _tag():
    return secrets.token_hex(6)


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
