"""Call backs on an appliance with the sim board and the SIP board: the line is chosen by what
can reach the number. With no SIP trunk to dial out on, the call back takes an analog line
(the sim exchange rings the caller); with a trunk that has an address, it is an INVITE to it
from the highest SIP channel, answered by our own SIP peer standing in for the carrier.
"""

import time

from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)
from sip_peers import Peer

from branchline.firmware.sip_board import sip_of
from branchline.hw.sip.calls import CallEnded, IncomingCall


def _scenario():
    text = scenario_text(
        trunks=2, stations=1, rate=180, end="09:01", prelude="[]",
        goal_steps='[{keys: "0", early: 0}, {callback: "1"}]', answer_delay=2,
        handle="{kind: fixed, value: 20}")
    text = text.replace('shift: {start: "09:00", end: "23:00"}',
                        'shift: {start: "09:03", end: "23:00"}')
    return text.replace(
        "callers:\n",
        "callers:\n  callback: {busy: 0, no_answer: 0, answer_delay: {kind: fixed, value: 4}}\n",
        1)


def _edit(trunks):
    def edit(document):
        document["sip"] = {"listen": "127.0.0.1:0", "channels": 2, "trunks": trunks}
        for name in ("sip1", "sip2", "sip3", "sip4"):
            document["lines"].pop(name, None)
        for queue in document["acd"]["queues"]:
            queue["callback"] = {"enabled": True, "key": "1", "retries": 0}
            queue["wrap_up_s"] = 0
    return edit


def _legs(records):
    return [r for r in records if "-cb" in r.call_id]


def test_without_a_sip_trunk_to_dial_out_the_call_back_takes_an_analog_line(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    h = RuntimeHarness(tmp_path / "d", _scenario(), prompts_dir=prompts_dir, bank_url=bank_url,
                       edit_document=_edit({"local": {"sources": ["127.0.0.1"]}}), sip=True)
    sip = sip_of(h.app.board)
    h.run_until(lambda: any(c.called_back for c in h.board.callers()), limit=600)
    records = h.close()
    leg = _legs(records)[0]
    assert leg.outcome == "answered" and leg.port == "fxo2"  # the highest analog line
    steps = [s.what for s in leg.ivr_path]
    assert steps[:4] == ["ring_agent", "agent_answered", "seize", "dial_tone"]
    assert "dial_refused" not in sip.counters


def test_with_a_sip_trunk_that_can_dial_the_call_back_is_an_invite_on_the_highest_channel(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    carrier = Peer(answer=True)
    address = "{}:{}".format(*carrier.address)
    h = RuntimeHarness(tmp_path / "d", _scenario(), prompts_dir=prompts_dir, bank_url=bank_url,
                       edit_document=_edit({"carrier": {"address": address}}), sip=True)

    def until(condition, limit):
        end = h.clock.now() + limit
        while not condition():
            assert h.clock.now() < end, f"not within {limit} virtual seconds"
            h.step()
            carrier.step(time.monotonic())

    try:
        until(lambda: carrier.of(IncomingCall), 600)
        until(lambda: carrier.of(CallEnded), 120)  # the agent talks, hangs up: our BYE
        records = h.close()
    finally:
        carrier.close()
    (invite,) = carrier.of(IncomingCall)
    asker = next(c for c in h.board.callers() if c.callback_asked is not None)
    assert invite.callee == asker.number
    assert asker.called_back is None  # the sim exchange never rang them: SIP carried it
    leg = _legs(records)[0]
    assert leg.outcome == "answered" and leg.port == "sip2" and leg.dialled == asker.number
    assert [s.what for s in leg.ivr_path][:3] == ["ring_agent", "agent_answered", "dialled"]
    assert leg.talk_seconds > 0 and leg.recording is not None
    assert leg.quality is not None and leg.quality.mos > 4  # loopback: no loss
