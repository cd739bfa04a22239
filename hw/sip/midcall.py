"""A call once it is up, mixed into ``UserAgent``: the peer's in-dialog requests, our
re-INVITEs for hold and resume (RFC 3264 §8.4) with 491 glare (RFC 3261 §14.1), session
timers (RFC 4028), REFER and its NOTIFYs (RFC 3515), and the per-call timers.

A phone's own buttons. A station's phone holds and resumes by re-INVITE (``MediaChanged``
with ``remote_hold``; our answer mirrors its direction: sendonly -> recvonly, inactive ->
inactive). Its REFER (blind, or attended with ``Replaces`` in the Refer-To, RFC 3891) becomes
``TransferRequested`` and waits for the board: ``accept_transfer`` sends 202 and the first
NOTIFY (100 Trying), ``transfer_outcome`` the last one (a sipfrag status line, subscription
terminated), ``refuse_transfer`` a 403 (or the status given). One REFER at a time per call
(another gets 491); a REFER from a caller or trunk gets 405.

Per-call timers live in ``call.due`` (name -> [time, interval]): ``ok`` resends our 2xx until
its ACK (T1 doubling to T2), ``no_ack`` gives up on it after 64*T1 and sends BYE, ``glare``
retries a re-INVITE refused with 491 (2.1-4 s if we placed the call, else 0-2 s), ``refresh``
sends the session refresh (UPDATE when the peer allows it, else a re-INVITE with the same
SDP version) at half the interval, and ``expire`` sends BYE shortly before the session
expires (interval - min(32, interval/3), RFC 4028 §10) when the peer was to refresh.

Session timers: an INVITE we answer may carry Session-Expires (below our Min-SE: 422); our
answer names the refresher (the peer when it supports ``timer``, else us) and we refresh
even for a peer that does not know RFC 4028, since a re-INVITE is plain RFC 3261. Our own
INVITE asks for ``session_expires`` with us as refresher unless the answer says otherwise;
a 2xx without Session-Expires means no timer.
"""

from dataclasses import replace
from urllib.parse import unquote

from branchline.hw.sip.calls import (
    ALLOW,
    IGNORE,
    SUPPORTED,
    MediaChanged,
    Outgoing,
    TransferProgress,
    TransferRequested,
)
from branchline.hw.sip.dialog import record_route
from branchline.hw.sip.errors import ParseError, SdpError, UsageError
from branchline.hw.sip.message import REASONS, Request, response_for
from branchline.hw.sip.outgoing import Refused
from branchline.hw.sip.sdp import Session, accept_answer
from branchline.hw.sip.uri import Address, Uri


class MidCall:
    def hold(self, call_id, now):
        """Put the call on hold: a re-INVITE offering sendonly (RFC 3264 §8.4)."""
        return self._reoffer(call_id, "hold", now)

    def resume(self, call_id, now):
        return self._reoffer(call_id, "resume", now)

    def transfer(self, call_id, target, now):
        """Blind transfer (RFC 3515): REFER the peer to ``target`` (a SIP URI), if allowed."""
        call = self._call(call_id, "transfer")
        try:
            uri = Uri.parse(target)
        except ParseError as exc:
            raise UsageError(f"transfer target {target!r}: {exc}") from exc
        if not self.outbound.permits(uri.user, "transfer"):
            self._count("outbound_refused")
            raise Refused(f"the outbound policy does not allow a transfer to {uri.user!r}")
        self._move(call, "transfer")
        headers = [("Refer-To", f"<{uri}>"), ("Referred-By", f"<{call.dialog.local_uri}>"),
                   ("Contact", self._contact())]
        return self._in_dialog(call, "REFER", now, self._on_refer_answer, headers)

    def accept_transfer(self, call_id, now):
        """Take the phone's REFER: 202, then NOTIFY 100 Trying (RFC 3515 §2.4.5)."""
        call, refer = self._pending_refer(call_id)
        out = self._respond(refer, response_for(refer, 202, headers=[
            ("Contact", self._contact())]), now)
        return out + self._refer_notify(call, 100, now)

    def refuse_transfer(self, call_id, now, status=403):
        call, refer = self._pending_refer(call_id)
        call.refer = None
        return self._respond(refer, response_for(refer, status), now)

    def transfer_outcome(self, call_id, status, now):
        """The accepted REFER's last NOTIFY: ``status`` as its sipfrag (200: done)."""
        call, _ = self._pending_refer(call_id)
        out = self._refer_notify(call, status, now)
        call.refer = None
        return out

    def _pending_refer(self, call_id):
        call = self.calls.get(call_id)
        if call is None or call.refer is None:
            raise UsageError(f"call {call_id!r} has no REFER waiting for an answer")
        return call, call.refer

    def _incoming_refer(self, call, request, now):
        if call.station is None:
            return self._respond(request, response_for(request, 405, headers=[
                ("Allow", ALLOW)]), now)
        if call.refer is not None:
            return self._respond(request, response_for(request, 491), now)
        try:
            target, replaces = refer_target(request.header("Refer-To"))
        except ParseError as exc:
            return self._respond(request, response_for(
                request, 400, f"Bad Request ({exc})"[:200]), now)
        call.refer = request
        self.events.append(TransferRequested(call.call_id, target, replaces))
        return []

    def _refer_notify(self, call, status, now):
        if call.state != "confirmed":
            return []  # the phone hung up first: there is no dialog to notify in
        final = status >= 200
        headers = [("Event", f"refer;id={call.refer.cseq.number}"),
                   ("Subscription-State",
                    "terminated;reason=noresource" if final else "active;expires=60"),
                   ("Contact", self._contact()),
                   ("Content-Type", "message/sipfrag;version=2.0")]
        body = f"SIP/2.0 {status} {REASONS.get(status, 'Unknown')}\r\n".encode()
        return self._in_dialog(call, "NOTIFY", now, lambda call, response, when: [],
                               headers, body)

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
        if method == "REFER":
            return self._incoming_refer(call, request, now)
        if method == "INVITE" and (call.reinvite is not None or call.their_reinvite):
            # RFC 3261 §14.2: glare (491) when ours is pending, 500 while theirs is unACKed
            status = 491 if call.reinvite is not None else 500
            return self._respond(request, response_for(
                request, status, headers=[("Retry-After", "1")] if status == 500 else []), now)
        return self._target_refresh(call, request, now)

    def _target_refresh(self, call, request, now):
        """A re-INVITE or UPDATE from the peer: new offer, new target, session refresh."""
        call.dialog.update_target(request)
        expires = session_expires(request)
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
        headers = [("Contact", self._contact()), *record_route(request), *self._common(),
                   *self._timer_headers(call, response=True)]
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

    def _on_refer_answer(self, call, response, now):
        if response is None:
            self.events.append(TransferProgress(call.call_id, 408, True))
        elif response.status >= 200:
            self.events.append(TransferProgress(call.call_id, response.status,
                                                response.status >= 300))
        return []

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
                                   [("Contact", self._contact()),
                                    *self._timer_headers(call, response=False)])
        if why != "refresh":
            call.sdp_version += 1
        hold = call.local_hold if why == "refresh" else why == "hold"
        call.our_offer = self._offer(call, hold)
        headers = [("Contact", self._contact()), ("Allow", ALLOW), ("Supported", SUPPORTED),
                   ("Content-Type", "application/sdp"),
                   *self._timer_headers(call, response=False)]
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

    def _negotiate_timer(self, call, message, uas):
        """Settle the interval and the refresher from a request we answer or a 2xx we got."""
        expires = session_expires(message)
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

    def _timer_headers(self, call, response):
        """Session-Expires for a request we send (``response`` False) or a response we send.
        RFC 4028 names the refresher by its role in this transaction, not in the dialog."""
        if not call.session_expires:
            return []
        we = "uas" if response else "uac"
        they = "uac" if response else "uas"
        who = we if call.refresher in ("us", None) else they
        headers = [("Session-Expires", f"{call.session_expires};refresher={who}")]
        if response and who == "uac":  # §9: the UAC must refresh, so it must support timer
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
            return self._resend_ok(call, call.ok[0], now)
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

    def _resend_ok(self, call, ok, now):
        """The 2xx again, through its INVITE server transaction (Accepted keeps it 64*T1)."""
        t = self._invite_server(call.call_id, ok.cseq.number)
        return [] if t is None else self._respond(t.request, ok, now)


def session_expires(message):
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


def refer_target(value):
    """(user, replaces) from a Refer-To value: the URI's user, and the dialog its Replaces
    header names as (Call-ID, to-tag, from-tag) or None. ParseError when it has neither a SIP
    URI with a user nor a well-formed Replaces (RFC 3891 §6.1)."""
    if not value:
        raise ParseError("REFER without Refer-To")
    value = value.strip()
    # A phone may leave out the <...> a URI with headers needs (RFC 3261 §20): a Refer-To
    # is one URI, so there is nothing else its '?' could mean.
    bare = "?" in value and not value.startswith(("<", '"'))
    uri = Uri.parse(value) if bare else Address.parse(value).uri
    if uri.scheme not in ("sip", "sips") or not uri.user:
        raise ParseError(f"Refer-To {value!r} is not a SIP URI with a user")
    replaces = None
    for item in uri.headers.split("&") if uri.headers else ():
        name, _, text = item.partition("=")
        if name.strip().lower() != "replaces":
            continue
        call_id, *params = unquote(text).split(";")
        tags = dict(p.strip().partition("=")[::2] for p in params)
        if not call_id.strip() or "to-tag" not in tags or "from-tag" not in tags:
            raise ParseError(f"Refer-To {value!r}: Replaces needs a Call-ID, to-tag and "
                             "from-tag")
        replaces = (call_id.strip(), tags["to-tag"], tags["from-tag"])
    return unquote(uri.user), replaces
