"""A station phone's REFER, between two of our agents on the virtual network: ``b`` answers a
call from ``a`` as a station's (the account the registrar proved), ``a`` plays the phone.
The REFER waits for the board's decision; 202 and the NOTIFYs, or a refusal, follow it."""

import random

import pytest
from sip_harness import Net

from branchline.hw.sip import ParseError, UsageError
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.calls import IncomingCall, TransferProgress, TransferRequested
from branchline.hw.sip.guard import OutboundPolicy
from branchline.hw.sip.midcall import refer_target

A, B = ("127.0.0.1", 5061), ("127.0.0.2", 5062)


def _take(agent, kind):
    found = [e for e in agent.events if isinstance(e, kind)]
    for e in found:
        agent.events.remove(e)
    return found


def _station_call():
    a = UserAgent(*A, media_port=30000, rng=random.Random(1),
                  outbound=OutboundPolicy(lambda number, purpose: True))
    b = UserAgent(*B, media_port=30002, rng=random.Random(2), trusted={"127.0.0.1"})
    net = Net(a, b)
    call_id, out = a.invite("100", B, 0.0)
    net.send(out, a)
    net.run(0.1)
    (incoming,) = _take(b, IncomingCall)
    # What an INVITE that passed the registrar's digest sets (agent._incoming_invite).
    b.calls[incoming.call_id].station = "801"
    net.send(b.answer(incoming.call_id, net.now), b)
    net.run(1.0)
    return a, b, net, call_id


def _refer(a, net, call_id, refer_to):
    call = a.calls[call_id]
    net.send(a._in_dialog(call, "REFER", net.now, a._on_refer_answer,
                          [("Refer-To", refer_to), ("Contact", a._contact())]), a)
    net.run(net.now + 0.1)


def test_a_phones_refer_waits_for_the_board_then_gets_202_and_notify_sipfrag():
    a, b, net, call_id = _station_call()
    _refer(a, net, call_id, "<sip:802@127.0.0.2>")
    assert _take(b, TransferRequested) == [TransferRequested(call_id, "802", None)]
    assert net.methods()[-1] == "REFER"  # not answered yet: the board decides
    net.send(b.accept_transfer(call_id, net.now), b)
    net.run(net.now + 0.1)
    net.send(b.transfer_outcome(call_id, 200, net.now), b)
    net.run(net.now + 0.1)
    assert _take(a, TransferProgress) == [TransferProgress(call_id, 202, False),
                                          TransferProgress(call_id, 100, False),
                                          TransferProgress(call_id, 200, True)]
    notifies = [m for _, _, m in net.log if getattr(m, "method", None) == "NOTIFY"]
    refer = next(m for _, _, m in net.log if getattr(m, "method", None) == "REFER")
    assert [n.body for n in notifies] == [b"SIP/2.0 100 Trying\r\n", b"SIP/2.0 200 OK\r\n"]
    assert notifies[0].header("Event") == f"refer;id={refer.cseq.number}"
    assert notifies[0].header("Subscription-State") == "active;expires=60"
    assert notifies[1].header("Subscription-State") == "terminated;reason=noresource"
    assert notifies[1].header("Content-Type") == "message/sipfrag;version=2.0"
    assert b.calls[call_id].refer is None
    with pytest.raises(UsageError, match="has no REFER waiting"):
        b.transfer_outcome(call_id, 200, net.now)


def test_a_refused_refer_gets_403_and_a_second_one_meanwhile_491():
    a, b, net, call_id = _station_call()
    _refer(a, net, call_id, "<sip:13800000000@127.0.0.2>")
    _refer(a, net, call_id, "<sip:802@127.0.0.2>")
    assert net.methods()[-2:] == ["REFER", 491]
    assert len(_take(b, TransferRequested)) == 1
    net.send(b.refuse_transfer(call_id, net.now), b)
    net.run(net.now + 0.1)
    assert net.methods()[-1] == 403
    assert _take(a, TransferProgress)[-1] == TransferProgress(call_id, 403, True)
    assert b.calls[call_id].state == "confirmed"


def test_a_refer_from_a_caller_gets_405_and_a_bad_replaces_400():
    a, b, net, call_id = _station_call()
    b.calls[call_id].station = None
    _refer(a, net, call_id, "<sip:802@127.0.0.2>")
    assert net.methods()[-2:] == ["REFER", 405] and not _take(b, TransferRequested)
    b.calls[call_id].station = "801"
    _refer(a, net, call_id, "<sip:802@127.0.0.2?Replaces=abc%3Bto-tag%3D1>")
    reply = net.log[-1][2]
    assert reply.status == 400
    assert "Replaces needs a Call-ID, to-tag and from-tag" in reply.reason


@pytest.mark.parametrize(("value", "expected"), [
    ("<sip:802@h>", ("802", None)),
    ("sip:802@h", ("802", None)),
    ('"Li" <sip:1003@h;transport=udp>', ("1003", None)),
    ("<sip:%2A421%23@h>", ("*421#", None)),
    ("<sip:802@h?Replaces=c%40x%3Bto-tag%3Dt1%3Bfrom-tag%3Df1>", ("802", ("c@x", "t1", "f1"))),
    ("sip:802@h?Replaces=c%3Bfrom-tag%3Df1%3Bto-tag%3Dt1", ("802", ("c", "t1", "f1"))),
])
def test_refer_to_values(value, expected):
    assert refer_target(value) == expected


@pytest.mark.parametrize(("value", "error"), [
    ("", "REFER without Refer-To"),
    ("<tel:+8610>", "is not a SIP URI with a user"),
    ("<sip:h>", "is not a SIP URI with a user"),
    ("<sip:802@h?Replaces=c>", "Replaces needs a Call-ID, to-tag and from-tag"),
])
def test_refer_to_values_refused(value, error):
    with pytest.raises(ParseError, match=error):
        refer_target(value)

