"""The user agent as a server, sans-I/O: datagrams and a virtual clock in, datagrams out."""

import ast
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from branchline.hw.sip import Request, parse_message
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.guard import ScannerGuard
from branchline.hw.sip.registrar import Registrar

PEER = ("127.0.0.1", 5070)
SDP = (b"v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       b"m=audio 40000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n")


def _request(method, branch="z9hG4bK-a1", body=b"", cseq=1, to_tag=None, extra=""):
    to = "<sip:ivr@127.0.0.1:5060>" + (f";tag={to_tag}" if to_tag else "")
    kind = "Content-Type: application/sdp\r\n" if body else ""
    return (f"{method} sip:ivr@127.0.0.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 10.9.9.9:5070;branch={branch};rport\r\n"
            f"From: <sip:caller@127.0.0.1>;tag=c1\r\nTo: {to}\r\nCall-ID: call-1\r\n"
            f"CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
            f"Contact: <sip:caller@127.0.0.1:5070>\r\n{extra}{kind}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _agent():
    return UserAgent("127.0.0.1", 5060, media_port=30000, trusted={"127.0.0.1"})


def _answered(ua, now):
    """Take the IncomingCall event and answer it, as the board does."""
    (event,) = [e for e in ua.events if type(e).__name__ == "IncomingCall"]
    ua.events.clear()
    return ua.answer(event.call_id, now)


def _replies(outgoing):
    return [(parse_message(o.data), o.address) for o in outgoing]


def test_options_answered_at_the_address_the_request_came_from():
    ((reply, address),) = _replies(_agent().receive(_request("OPTIONS"), PEER, 0.0))
    assert reply.status == 200 and address == PEER
    via = reply.vias[0]  # RFC 3581: received and rport say where it really came from
    assert (via.param("received"), via.param("rport")) == ("127.0.0.1", "5070")


def test_invite_answered_with_sdp_then_ack_then_bye():
    ua = _agent()
    replies = _replies(ua.receive(_request("INVITE", body=SDP), PEER, 0.0))
    assert [r.status for r, _ in replies] == [100]
    ((ok, _),) = _replies(_answered(ua, 0.0))
    assert ok.status == 200
    assert b"m=audio 30000 RTP/AVP 8 101" in ok.body and ok.header("Contact")
    tag = ok.to.tag
    assert ua.receive(_request("ACK", branch="z9hG4bK-a2", to_tag=tag), PEER, 0.1) == []
    assert ua.calls["call-1"].state == "confirmed"
    ((bye_ok, _),) = _replies(ua.receive(_request("BYE", "z9hG4bK-a3", cseq=2, to_tag=tag),
                                         PEER, 1.0))
    assert bye_ok.status == 200 and ua.calls["call-1"].state == "ended"


def test_the_200_is_resent_until_the_ack_and_given_up_after_64_t1():
    ua = _agent()
    ua.receive(_request("INVITE", body=SDP), PEER, 0.0)
    _answered(ua, 0.0)
    resent, now = [], 0.0
    while now < 32.0:
        now = ua.deadline
        resent += [(now, r.method if isinstance(r, Request) else r.status)
                   for r, _ in _replies(ua.tick(now))]
    assert [t for t, s in resent if s == 200] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5,
                                                  27.5, 31.5]
    # RFC 3261 §13.3.1.4: no ACK in 64*T1 ends the dialog with a BYE
    assert (32.0, "BYE") in resent and ua.calls["call-1"].state == "ending"
    assert ua.calls["call-1"].end_reason == "no ACK"


def test_a_retransmitted_invite_is_absorbed_not_a_second_call():
    ua = _agent()
    ua.receive(_request("INVITE", body=SDP), PEER, 0.0)
    ((again, _),) = _replies(ua.receive(_request("INVITE", body=SDP), PEER, 0.2))
    assert again.status == 100 and len(ua.calls) == 1  # §17.2.1: the last 1xx again


def test_an_unacceptable_offer_gets_488():
    gsm = SDP.replace(b"RTP/AVP 8 101", b"RTP/AVP 3")
    replies = _replies(_agent().receive(_request("INVITE", body=gsm), PEER, 0.0))
    assert [r.status for r, _ in replies] == [100, 488]


def test_bye_and_cancel_outside_a_dialog_get_481_and_other_methods_405():
    ua = _agent()
    assert _replies(ua.receive(_request("BYE", to_tag="x"), PEER, 0.0))[0][0].status == 481
    assert _replies(ua.receive(_request("CANCEL", "z9hG4bK-c"), PEER, 0.0))[0][0].status == 481
    ((reply, _),) = _replies(ua.receive(_request("SUBSCRIBE", "z9hG4bK-s"), PEER, 0.0))
    assert reply.status == 405 and "BYE" in reply.header("Allow")
    ((reply, _),) = _replies(ua.receive(_request("OPTIONS", "z9hG4bK-r", extra="Require: 100rel"
                                                 "\r\n"), PEER, 0.0))
    assert reply.status == 420 and reply.header("Unsupported") == "100rel"


def test_a_malformed_request_gets_400_and_a_malformed_response_nothing():
    ua = _agent()
    bad = _request("OPTIONS").replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE")
    ((reply, address),) = _replies(ua.receive(bad, PEER, 0.0))
    assert reply.status == 400 and address == PEER
    assert ua.receive(b"SIP/2.0 999 nonsense\r\n\r\n", PEER, 0.0) == []
    assert ua.counters == {"malformed": 2}


CORE = Path(__file__).resolve().parents[3] / "hw" / "sip"
# The thin socket drivers: SIP (driver.py) and, by its owner's design, the RTP media engine
# (rtp.py) that the media loop runs, and the SIP board that owns both (board.py); everything
# else in hw/sip is sans-I/O.
DRIVERS = {"board.py", "driver.py", "rtp.py"}


def test_the_core_is_sans_io_only_the_driver_touches_sockets_and_clocks():
    allowed_third_party = {"numpy"}
    io = {"socket", "select", "selectors", "time", "os", "asyncio", "threading", "subprocess"}
    wrong = []
    for path in sorted(CORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for name in names:
                top = name.split(".")[0]
                if path.name not in DRIVERS and top in io:
                    wrong.append(f"{path.name}: {name}")
                if top == "branchline" and name.split(".")[1] not in ("hw", "dsp"):
                    wrong.append(f"{path.name}: {name}")
                if top not in sys.stdlib_module_names and top != "branchline" \
                        and top not in allowed_third_party:
                    wrong.append(f"{path.name}: {name}")
    assert not wrong


_AUTH = ('Authorization: Digest username="801", realm="branch", nonce="AAAA", uri="sip:x", '
         'response="0123456789abcdef0123456789abcdef", qop=auth, nc=00000001, cnonce="c"\r\n')


def _mutations():
    seeds = [_request("OPTIONS"), _request("INVITE", body=SDP),
             _request("BYE", to_tag="x"), _request("CANCEL"),
             _request("REGISTER", extra=_AUTH + "Expires: 0\r\n"),
             _request("REGISTER", extra="Expires: 30\r\n"),
             _request("INVITE", body=SDP, extra="Session-Expires: 30;refresher=uac\r\n"
                      "Record-Route: <sip:127.0.0.1:5090;lr>\r\n" + _AUTH),
             _request("UPDATE", to_tag="x"), _request("NOTIFY", to_tag="x")]
    return st.tuples(st.sampled_from(seeds), st.lists(
        st.tuples(st.integers(0, 400), st.binary(max_size=4)), max_size=5))


@settings(max_examples=300, deadline=None)
@given(st.lists(_mutations(), min_size=1, max_size=6), st.floats(0, 1))
def test_mangled_datagrams_never_escape_the_agent(datagrams, step):
    guard = ScannerGuard(limit_after=3, block_after=6)
    registrar = Registrar("branch", b"f" * 16, {"801": "pw-801-long"}.get, guard=guard)
    ua = UserAgent("127.0.0.1", 5060, media_port=30000, registrar=registrar, guard=guard)
    now = 0.0
    for seed, edits in datagrams:
        data = bytearray(seed)
        for at, chunk in edits:
            data[at:at + len(chunk)] = chunk
        now += step
        for out in ua.receive(bytes(data), PEER, now) + ua.tick(now):
            assert out.address == PEER and out.data.startswith(b"SIP/2.0 ")

