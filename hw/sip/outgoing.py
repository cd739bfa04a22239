"""Calls we place (the UAC side of RFC 3261 §13 and §15), mixed into ``UserAgent``.

``invite`` checks the outbound policy, offers our SDP and starts the INVITE client
transaction; its answers go through ``_on_invite_answer``: a provisional makes an early
dialog (and early media from a 183's SDP) and sends a CANCEL that was waiting for one; a 401
or 407 is answered once with the call's ``DigestClient`` and a 422 raises Session-Expires
to the peer's Min-SE, each as a new INVITE (CSeq + 1, same Call-ID and From tag); a 2xx makes
the dialog, is ACKed by us outside the transaction (and ACKed again when it comes again), and
settles the media. A 2xx that crossed our CANCEL, or carried an answer we cannot use, is
ACKed and then ended with BYE. ``_cancel`` builds the CANCEL RFC 3261 §9.1 asks for: the
INVITE's Via (same branch), Request-URI, Call-ID, From, To, Route and CSeq number.
"""

import secrets
from contextlib import suppress
from dataclasses import replace

from branchline.hw.sip.calls import (
    ALLOW,
    IGNORE,
    SUPPORTED,
    Call,
    CallAnswered,
    CallRinging,
    Outgoing,
)
from branchline.hw.sip.dialog import Dialog, hop_address, new_tag
from branchline.hw.sip.errors import ParseError, PeerError, SdpError, UsageError
from branchline.hw.sip.message import Request
from branchline.hw.sip.sdp import Session, accept_answer
from branchline.hw.sip.uri import Uri


class Refused(UsageError):
    """The outbound policy does not allow this number: no call or transfer is placed."""


class OutgoingCalls:
    def invite(self, number, address, now, from_user="branchline", media_address=None,
               credentials=None, transport="udp", purpose="call", domain=None, codecs=None):
        """Call ``number`` at ``address`` (host, port). Returns (call_id, outgoing).
        ``codecs``: what we offer, in our order of preference (default PCMA, PCMU).

        Raises ``Refused`` unless the outbound policy allows the number for ``purpose``.
        """
        if not self.outbound.permits(number, purpose):
            self._count("outbound_refused")
            raise Refused(f"the outbound policy does not allow calling {number!r} "
                          f"({purpose}); only configured callbacks and transfer targets")
        target = _uri(f"sip:{number}@{domain or f'{address[0]}:{address[1]}'}")
        return self._place(target, address, now, from_user, media_address, credentials,
                           transport, codecs)

    def call_station(self, user, now, from_user="branchline", media_address=None):
        """Ring an agent phone at its newest live registration (RFC 3261 §10: the bound
        Contact is the Request-URI, sent to where the REGISTER came from). A station is ours,
        so the outbound policy is not asked. Returns (call_id, outgoing)."""
        bindings = self.reachable(user, now)
        if not bindings:
            raise UsageError(f"station {user!r} has no live registration")
        binding = bindings[0]
        call_id, out = self._place(_uri(binding.contact), binding.source, now, from_user,
                                   media_address, None, binding.transport)
        self.calls[call_id].station = user
        return call_id, out

    def _place(self, target, address, now, from_user, media_address, credentials, transport,
               codecs=None):
        media_address = tuple(media_address or (self.host, self.media_port))
        if not media_address[1]:
            raise UsageError("a call needs our RTP port: give media_address (or media_port)")
        call_id = secrets.token_hex(12)
        call = Call(call_id, "uac", "calling", None, tuple(address), transport,
                    local_tag=new_tag(), media_address=media_address,
                    session_id=self._rng.randrange(1, 10**9), credentials=credentials,
                    session_expires=self.session_expires)
        call.sdp_version = call.session_id
        if codecs is not None:
            call.codecs = tuple(codecs)
        call.our_offer = self._offer(call)
        from_uri = _uri(f"sip:{from_user}@{self.host}:{self.port}")
        fields = [("Max-Forwards", "70"), ("From", f"<{from_uri}>;tag={call.local_tag}"),
                  ("To", f"<{target}>"), ("Call-ID", call_id), ("CSeq", "1 INVITE")]
        call.invite = Request(headers=tuple(fields), method="INVITE", uri=target)
        self.calls[call_id] = call
        return call_id, self._send_invite(call, now)

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
            with suppress(ParseError):  # no early dialog from this one; the 2xx makes it
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


def _uri(text):
    try:
        return Uri.parse(text)
    except ParseError as exc:
        raise UsageError(f"cannot call {text!r}: {exc}") from exc
