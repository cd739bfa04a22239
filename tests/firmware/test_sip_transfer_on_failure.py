"""The IVR's transfer node with ``on_failure`` on SIP trunk calls, against real peers on
127.0.0.1 (the whole appliance on real time: sim board + SIP board).

- A target not in ``sip.transfer_targets``: refused and counted as before, but the caller is
  not told goodbye: the flow goes on to its ``on_failure`` queue, where an agent's SIP phone
  (our own peer, registered with digest, logged in by RFC 4733 keys) answers; the record is
  an answered call with the refusal and the failure in its path.
- The number is busy (the carrier answers the second call 486): the outside leg is dropped,
  the ringback stops and the caller waits in the queue.
- The number answers: the caller is bridged and the IVR is told, once ("connected"); a
  trunk that takes our REFER (SIPp, tests/hw/sip/scenarios/caller_referred.xml) likewise.
The default (no ``on_failure``) is tests/firmware/test_sip_transfer.py's: the call ends.
"""

import time
from pathlib import Path

from runtime_harness import bank_url, prompts_dir  # noqa: F401 - fixtures
from sip_peers import LOOPBACK, LiveAppliance, Peer, processes, sipp  # noqa: F401

from branchline.acd import AgentState
from branchline.hw.sip.calls import CallAnswered, CallEnded, IncomingCall
from branchline.hw.sip.digest import DigestClient
from branchline.hw.sip.registration import Registration
from branchline.ivr import Phase

SCENARIOS = Path(__file__).parents[1] / "hw" / "sip" / "scenarios"
NUMBER = "075588880001"
CALLER = "13800138000"
TARGET = "95566"
AGENT = "1001"
PHONE_PASSWORD = "gravel-otter-saffron-52"


def _edit(target):
    def edit(document):
        document["flows"]["xfer"] = {
            "flow": "xfer", "start": "go", "operator": "agent", "languages": ["zh"],
            "default_language": "zh", "nodes": {
                "go": {"kind": "transfer", "target": target, "on_failure": "agent"},
                "agent": {"kind": "queue", "queue": "general"}}}
        for name, line in document["lines"].items():
            if name.startswith("sip"):
                line["flow"] = "xfer"
        (agent,) = [a for a in document["acd"]["agents"] if a["id"] == AGENT]
        document["acd"]["agents"] = [{**agent, "station": "desk1"}]
    return edit


def _live(tmp_path, prompts_dir, bank_url, target, trunks=None):  # noqa: F811
    trunks = trunks or {"local": {"sources": [LOOPBACK]}}
    return LiveAppliance(
        tmp_path / "data", prompts_dir, bank_url,
        sip={"listen": f"{LOOPBACK}:0", "channels": 2, "trunks": trunks,
             "transfer_targets": [TARGET], "phones": {"desk1": {"extension": "801"}}},
        edit=_edit(target), secrets={"phone:desk1": PHONE_PASSWORD})


def _call_in(app, caller):
    call_id, out = caller.ua.invite(NUMBER, app.address, app.app.clock.now(),
                                    from_user=CALLER, media_address=caller.media)
    caller.ep.send(out)
    assert app.until(lambda: caller.of(CallAnswered))
    return call_id


def _ready_agent(app):
    """The agent's phone registers, calls in, keys login and ready, and hangs up; it answers
    every call offered to it from then on."""
    host, port = app.address
    phone = Peer(answer=True)
    app.peers.append(phone)
    phone.ua.add_registration(Registration(
        "desk", "801", host, [(host, port, "udp")], DigestClient("801", PHONE_PASSWORD),
        f"sip:801@{phone.address[0]}:{phone.address[1]}"))
    phone.ep.send(phone.ua.register("desk", time.monotonic()))
    station = app.port("desk1")
    assert app.until(lambda: station not in app.app.out_of_service)
    login, out = phone.ua.invite("100", (host, port), time.monotonic(), from_user="801",
                                 media_address=phone.media,
                                 credentials=DigestClient("801", PHONE_PASSWORD))
    phone.ep.send(out)
    assert app.until(lambda: phone.of(CallAnswered))
    for key in f"*11{AGENT}#*12#":
        phone.rtp.send_digit(0, key, 100)
    assert app.until(lambda: app.app.acd.agent_state(AGENT) is AgentState.READY)
    phone.ep.send(phone.ua.hangup(login, time.monotonic()))
    assert app.until(lambda: not app.app.calls)
    return phone


def _with_carrier(tmp_path, prompts_dir, bank_url, *, answer):  # noqa: F811
    """The appliance with a carrier trunk to our own peer (answering or not) and a caller."""
    carrier = Peer(answer=answer)
    trunks = {"local": {"sources": [LOOPBACK]},
              "carrier": {"address": "{}:{}".format(*carrier.address)}}
    app = _live(tmp_path, prompts_dir, bank_url, TARGET, trunks)
    caller = Peer()
    app.peers += [caller, carrier]
    return app, caller, carrier


def test_a_refused_transfer_sends_the_caller_to_the_queue_where_an_agent_answers(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    app = _live(tmp_path, prompts_dir, bank_url, "95599")
    caller = Peer()
    app.peers.append(caller)
    try:
        phone = _ready_agent(app)
        _call_in(app, caller)
        acd = app.app.acd
        assert app.until(lambda: acd.agent_state(AGENT) is AgentState.TALKING)
        offers = phone.of(IncomingCall)
        counters = dict(app.app.counters)
        ended_early = bool(caller.of(CallEnded))
        (offer,) = offers
        phone.ep.send(phone.ua.hangup(offer.call_id, time.monotonic()))
        assert app.until(lambda: caller.of(CallEnded))  # the flow's end after the agent
        (record,) = [r for r in app.records() if r.caller == CALLER]
    finally:
        app.close()
    assert not ended_early
    assert counters["transfers_refused"] == 1 and counters["transfers_failed"] == 1
    assert record.outcome == "answered" and record.agent_id == AGENT
    assert record.queue == "general" and record.talk_seconds > 0
    assert record.hangup_reason == "agent_call_ended"
    steps = [(s.what, s.node, s.detail) for s in record.ivr_path]
    assert ("transfer_refused", "transfer",
            "95599: 95599 is not in sip.transfer_targets") in steps
    assert ("transfer_failed", "transfer", "refused") in steps
    assert ("transfer", "go", "95599: failed (refused)") in steps
    assert [d for what, _, d in steps if what == "enter"] == ["transfer", "queue"]


def test_a_busy_number_drops_the_outside_leg_and_the_caller_waits_in_the_queue(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    app, caller, carrier = _with_carrier(tmp_path, prompts_dir, bank_url, answer=False)
    try:
        _call_in(app, caller)
        assert app.until(lambda: carrier.of(IncomingCall))
        (invite,) = carrier.of(IncomingCall)
        call = app.app.calls[app.port("sip1")]
        ringing = app.app.loop.tones.active(call.port)
        carrier.ep.send(carrier.ua.reject(invite.call_id, time.monotonic(), 486))
        assert app.until(lambda: call.s.session.phase is Phase.QUEUED)
        lines = dict(app.app.dialer.lines)
        tone_after = app.app.loop.tones.active(call.port)
        failed = app.app.counters["transfers_failed"]
        traces = [(t.what, t.detail) for t in call.s.traces]
        in_queue = call.s.in_acd and call.s.queueing.queue == "general"
    finally:
        app.close()
    assert invite.callee == TARGET
    assert ringing and not tone_after
    assert lines == {} and failed == 1 and in_queue
    assert ("transfer_failed", "busy or refused") in traces
    assert ("transfer", f"{TARGET}: failed (busy or refused)") in traces


def test_a_number_that_answers_is_bridged_and_the_flow_told_once(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    app, caller, carrier = _with_carrier(tmp_path, prompts_dir, bank_url, answer=True)
    try:
        call_id = _call_in(app, caller)
        call = app.app.calls[app.port("sip1")]
        assert app.until(lambda: call.s.session.ended)
        bridged = call.s.outside.connected is not None
        caller.ep.send(caller.ua.hangup(call_id, app.app.clock.now()))
        assert app.until(lambda: carrier.of(CallEnded))
        assert app.until(lambda: not app.app.calls)
        (record,) = app.records()
    finally:
        app.close()
    assert bridged
    assert record.outcome == "transferred" and record.hangup_side == "caller"
    steps = [(s.what, s.detail) for s in record.ivr_path]
    assert steps.count(("transfer", f"{TARGET}: connected")) == 1
    assert ("end", f"transfer to {TARGET}") in steps
    assert not any(what == "transfer_failed" for what, _ in steps)


def test_a_refer_the_trunk_takes_tells_the_flow_connected_once(
        tmp_path, prompts_dir, bank_url, processes):  # noqa: F811
    app = _live(tmp_path, prompts_dir, bank_url, TARGET,
                {"local": {"sources": [LOOPBACK], "transfer": "refer"}})
    try:
        peer = sipp(SCENARIOS / "caller_referred.xml", "{}:{}".format(*app.address),
                    tmp_path, "-s", NUMBER, "-m", "1")
        processes.append(peer)
        assert app.until(peer.done), peer.output()[-3000:]
        assert peer.result() == (1, 0)  # REFER seen, NOTIFYs answered, our BYE taken
        assert app.until(lambda: not app.app.calls)
        failed = app.app.counters["transfers_failed"]
        (record,) = app.records()
    finally:
        app.close()
    assert failed == 0
    assert record.outcome == "transferred" and record.hangup_reason == f"transferred:{TARGET}"
    steps = [(s.what, s.detail) for s in record.ivr_path]
    assert steps.count(("transfer", f"{TARGET}: connected")) == 1
    assert ("refer_ended", "200") in steps
