"""A minimal SIP user agent server on the transaction layer: enough to prove the core.

Theory of operation. ``UserAgent.receive(data, source, now)`` takes one datagram and the
address it came from, and returns ``Outgoing(data, address)`` values to send;
``tick(now)`` fires due timers and returns the same; ``deadline`` says when ``tick`` is
next needed. It never reads a clock or opens a socket (hw/sip/udp.py does both).

What it does: answers OPTIONS with 200 (Allow, Accept); answers an INVITE with an SDP offer
we accept (hw/sip/sdp.py) with 100 and then 200 carrying our answer, a To tag and a
Contact, and resends that 200 (T1 doubling up to T2, RFC 3261 §13.3.1.4) until the ACK
comes or 64*T1 passes; an unacceptable offer gets 488. BYE in a dialog gets 200 and ends
the call; BYE or CANCEL outside one gets 481; CANCEL of an INVITE still pending gets 200 and
the INVITE 487. Other methods get 405 with Allow; Require gets 420; a Request-URI that is
not sip/sips gets 416. A malformed request gets the 400 (or 505) that
``response_to_malformed`` builds, when it can be sent anywhere.

Responses go where RFC 3261 §18.2.2 and RFC 3581 (rport) say: the top Via gets
``received`` (the source address, when it differs) and ``rport`` (the source port, when the
client asked for it), and the response is sent to those.

``calls`` maps Call-ID to a ``Call`` (its state, tags and negotiated media); ``counters``
counts what was dropped and why.
"""

import secrets
from dataclasses import dataclass, field, replace

from branchline.hw.sip.errors import ParseError, SdpError
from branchline.hw.sip.message import Request, parse_message, response_for, response_to_malformed
from branchline.hw.sip.sdp import Session, answer
from branchline.hw.sip.transactions import (
    Deliver,
    Send,
    Terminated,
    TimerValues,
    Transaction,
    server_key,
)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"


@dataclass(frozen=True, slots=True)
class Outgoing:
    data: bytes
    address: tuple


@dataclass(slots=True)
class Call:
    call_id: str
    local_tag: str
    remote_tag: str | None
    media: object
    state: str = "answered"  # answered -> confirmed -> ended
    acked: bool = False
    ok: object = None
    resend_at: float | None = None
    resend_every: float = 0.0
    give_up_at: float = 0.0
    end_reason: str = ""


@dataclass
class UserAgent:
    host: str
    port: int
    media_port: int = 0
    user_agent: str = "Branchline"
    timers: TimerValues = field(default_factory=TimerValues)
    calls: dict = field(default_factory=dict)
    counters: dict = field(default_factory=dict)
    _servers: dict = field(default_factory=dict)  # server_key -> (Transaction, reply address)

    @property
    def deadline(self):
        times = [t.deadline for t, _ in self._servers.values() if t.deadline is not None]
        times += [c.resend_at for c in self.calls.values() if c.resend_at is not None]
        return min(times, default=None)

    def receive(self, data, source, now):
        try:
            message = parse_message(data)
        except ParseError as exc:
            self._count("malformed")
            reply = response_to_malformed(data, exc)
            return [] if reply is None else [Outgoing(bytes(reply), source)]
        if not isinstance(message, Request):
            self._count("stray_response")  # we send no requests yet
            return []
        message = _stamp_via(message, source)
        key = server_key(message)
        if key in self._servers:
            t, address = self._servers[key]
            return self._carry_out(key, t, t.receive(message, now), address, now)
        if message.method == "ACK":
            self._ack(message)
            return []
        kind = "ist" if message.method == "INVITE" else "nist"
        t = Transaction(kind, message, reliable=False, timers=self.timers)
        address = _reply_address(message, source)
        self._servers[key] = (t, address)
        return self._carry_out(key, t, t.start(now), address, now)

    def tick(self, now):
        out = []
        for key, (t, address) in list(self._servers.items()):
            if t.deadline is not None and t.deadline <= now:
                out += self._carry_out(key, t, t.tick(now), address, now)
        for call in self.calls.values():
            while call.resend_at is not None and call.resend_at <= now:
                out += self._resend_ok(call, now)
        return out

    def _carry_out(self, key, t, actions, address, now):
        out = []
        for action in actions:
            if isinstance(action, Send):
                out.append(Outgoing(bytes(action.message), address))
            elif isinstance(action, Deliver):
                out += self._request(t, action.message, address, now)
            elif isinstance(action, Terminated):
                self._servers.pop(key, None)
        return out

    def _respond(self, t, response, address, now):
        return self._carry_out(server_key(t.request), t, t.respond(response, now), address, now)

    def _request(self, t, request, address, now):
        method = request.method
        if method == "ACK":  # the ACK of a 2xx that matched the accepted INVITE transaction
            self._ack(request)
            return []
        if request.uri.scheme not in ("sip", "sips"):
            return self._respond(t, response_for(request, 416, to_tag=_tag()), address, now)
        if request.header("Require") and method not in ("ACK", "CANCEL"):
            unsupported = ("Unsupported", request.header("Require"))
            return self._respond(t, response_for(request, 420, to_tag=_tag(),
                                                 headers=[unsupported]), address, now)
        if method == "OPTIONS":
            ok = response_for(request, 200, to_tag=_tag(),
                              headers=self._common(("Accept", "application/sdp")))
            return self._respond(t, ok, address, now)
        if method == "INVITE":
            return self._invite(t, request, address, now)
        if method == "BYE":
            call = self.calls.get(request.call_id)
            if call is None or request.to.tag != call.local_tag or call.state == "ended":
                return self._respond(t, response_for(request, 481), address, now)
            call.state, call.resend_at, call.end_reason = "ended", None, "BYE"
            return self._respond(t, response_for(request, 200), address, now)
        if method == "CANCEL":
            return self._cancel(t, request, address, now)
        return self._respond(t, response_for(request, 405, headers=[("Allow", ALLOW)]),
                             address, now)

    def _invite(self, t, request, address, now):
        out = self._respond(t, response_for(request, 100), address, now)
        if request.to.tag is not None:  # re-INVITE: not in this slice
            return out + self._respond(t, response_for(request, 488), address, now)
        tag = _tag()
        try:
            ours, media = answer(Session.parse(request.body), self.host, self.media_port,
                                 abs(hash(request.call_id)) % 10**9)
        except SdpError as exc:
            self._count(f"sdp_{exc.status}")
            return out + self._respond(t, response_for(request, exc.status, to_tag=tag),
                                       address, now)
        headers = self._common(("Contact", f"<sip:{self.host}:{self.port}>"),
                               ("Content-Type", "application/sdp"))
        ok = replace(response_for(request, 200, to_tag=tag, headers=headers), body=bytes(ours))
        call = Call(request.call_id, tag, request.from_.tag, media, ok=(ok, address),
                    resend_at=now + self.timers.t1, resend_every=self.timers.t1,
                    give_up_at=now + 64 * self.timers.t1)
        self.calls[request.call_id] = call
        return out + self._respond(t, ok, address, now)

    def _resend_ok(self, call, now):
        due = call.resend_at
        if due >= call.give_up_at:
            call.state, call.resend_at, call.end_reason = "ended", None, "no ACK"
            return []
        call.resend_every = min(2 * call.resend_every, self.timers.t2)
        call.resend_at = min(due + call.resend_every, call.give_up_at)
        response, address = call.ok
        return [Outgoing(bytes(response), address)]

    def _ack(self, ack):
        call = self.calls.get(ack.call_id)
        if call is None or ack.to.tag != call.local_tag:
            self._count("stray_ack")
            return
        if call.state == "answered":
            call.state = "confirmed"
        call.acked, call.resend_at = True, None

    def _cancel(self, t, request, address, now):
        invite_key = server_key(Request(headers=request.headers, method="INVITE",
                                        uri=request.uri))
        pending = self._servers.get(invite_key)
        if pending is None or pending[0].state != "proceeding":
            return self._respond(t, response_for(request, 481), address, now)
        invite_t, invite_address = pending
        out = self._respond(t, response_for(request, 200), address, now)
        return out + self._respond(invite_t, response_for(invite_t.request, 487, to_tag=_tag()),
                                   invite_address, now)

    def _common(self, *extra):
        return [("Allow", ALLOW), ("Server", self.user_agent), *extra]

    def _count(self, what):
        self.counters[what] = self.counters.get(what, 0) + 1


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
