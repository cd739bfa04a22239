"""The IVR's transfer node on SIP trunk calls, against real peers on 127.0.0.1 (the whole
appliance on real time: sim board + SIP board).

- A trunk whose ``transfer`` is ``refer``: SIPp calls in (tests/hw/sip/scenarios/
  caller_referred.xml), takes our REFER to the target with 202, NOTIFYs 100 and 200; we end
  our leg with BYE, and the record says the call was transferred.
- A trunk that bridges (the default): our own peer calls in sending a tone; SIPp answers the
  second call we place to the target and echoes its RTP (``-rtp_echo``), so the caller hears
  its own tone back only if the bridge carries audio both ways.
- A ``refer`` trunk that refuses the REFER (our own peer as the caller answers it 405): the
  caller is bridged to a second call instead.
- A target not in ``sip.transfer_targets``: nothing is sent to the carrier, the refusal is
  counted (/metrics), and the caller hears the number-unobtainable tone before the call ends.
"""

from pathlib import Path

import numpy as np
from runtime_harness import bank_url, prompts_dir  # noqa: F401 - fixtures
from sip_harness import free_port
from sip_peers import LOOPBACK, LiveAppliance, Peer, Sipp, processes, sipp  # noqa: F401

from branchline.hw.sip.calls import CallAnswered, CallEnded, IncomingCall

SCENARIOS = Path(__file__).parents[1] / "hw" / "sip" / "scenarios"
NUMBER = "075588880001"
TARGET = "95566"
CALLER_HZ = 620.0


def _transfer_flow(target):
    def edit(document):
        document["flows"]["xfer"] = {
            "flow": "xfer", "start": "go", "operator": "go", "languages": ["zh"],
            "default_language": "zh", "nodes": {"go": {"kind": "transfer", "target": target}}}
        for name, line in document["lines"].items():
            if name.startswith("sip"):
                line["flow"] = "xfer"
    return edit


def _sip(trunks, channels=2):
    return {"listen": f"{LOOPBACK}:0", "channels": channels, "trunks": trunks,
            "transfer_targets": [TARGET]}


def _level(blocks, hz):
    """The amplitude of ``hz`` in the audio (a 1 s window's spectrum, Hann)."""
    audio = np.concatenate(blocks).astype(np.float64)[-8000:]
    if len(audio) < 8000:
        return 0.0
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)))) * 4 / len(audio)
    return float(spectrum[round(hz)])


def test_a_trunk_that_takes_refer_gets_the_caller_by_refer(tmp_path, prompts_dir, bank_url,  # noqa: F811
                                                           processes):  # noqa: F811
    app = LiveAppliance(tmp_path / "data", prompts_dir, bank_url,
                        sip=_sip({"local": {"sources": [LOOPBACK], "transfer": "refer"}}),
                        edit=_transfer_flow(TARGET))
    try:
        peer = sipp(SCENARIOS / "caller_referred.xml", "{}:{}".format(*app.address),
                    tmp_path, "-s", NUMBER, "-m", "1")
        processes.append(peer)
        assert app.until(peer.done), peer.output()[-3000:]
        assert peer.result() == (1, 0)  # REFER to 95566 seen, NOTIFYs answered, our BYE taken
        assert app.until(lambda: not app.app.calls)
        counters = dict(app.sip.counters)
        (record,) = app.records()
    finally:
        app.close()
    assert record.outcome == "transferred" and record.hangup_reason == f"transferred:{TARGET}"
    steps = [(s.what, s.detail) for s in record.ivr_path if s.node == "transfer"]
    assert steps == [("refer", TARGET), ("refer_ended", "200")]
    assert counters.get("transfer_refer") == 1


def test_a_bridging_trunk_calls_the_target_and_bridges_audio_both_ways(
        tmp_path, prompts_dir, bank_url, processes):  # noqa: F811
    far_port = free_port()
    far = Sipp(["sipp", "-sf", str(SCENARIOS / "callee.xml"), "-i", LOOPBACK,
                "-p", str(far_port), "-mp", str(free_port()), "-rtp_echo", "-m", "1",
                "-nostdin", "-timeout", "60", "-timeout_error", "-trace_stat", "-stf",
                "stats.csv", "-trace_err", "-error_file", "errors.log"], tmp_path)
    processes.append(far)
    trunks = {"local": {"sources": [LOOPBACK]},
              "carrier": {"address": f"{LOOPBACK}:{far_port}"}}
    app = LiveAppliance(tmp_path / "data", prompts_dir, bank_url, sip=_sip(trunks),
                        edit=_transfer_flow(TARGET))
    caller = Peer(tone_hz=CALLER_HZ)
    app.peers.append(caller)
    try:
        call_id, out = caller.ua.invite(NUMBER, app.address, app.app.clock.now(),
                                        from_user="13800138000", media_address=caller.media)
        caller.ep.send(out)
        assert app.until(lambda: caller.of(CallAnswered))
        bridged = app.app.calls[app.port("sip1")].s.outside
        assert app.until(lambda: bridged.connected is not None), far.output()[-3000:]
        assert bridged.line == app.port("sip2")  # the highest free channel dials
        caller.heard.clear()
        assert app.until(lambda: len(caller.heard) >= 75)  # 1.5 s of the bridge
        echoed = _level(caller.heard, CALLER_HZ)
        caller.ep.send(caller.ua.hangup(call_id, app.app.clock.now()))
        assert app.until(far.done), far.output()[-3000:]
        assert far.result() == (1, 0)  # answered, then our BYE when the caller left
        assert app.until(lambda: not app.app.calls)
        (record,) = app.records()
    finally:
        app.close()
    assert echoed > 2000  # sent at 8000 peak; A-law twice and the jitter buffers keep most
    assert record.outcome == "transferred" and record.hangup_side == "caller"
    steps = [s.what for s in record.ivr_path if s.node == "transfer"]
    assert steps == ["dial", "bridged"]
    assert record.quality is not None


def test_a_target_not_in_transfer_targets_is_refused_and_the_caller_told(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    carrier = Peer(answer=True)
    trunks = {"local": {"sources": [LOOPBACK]},
              "carrier": {"address": "{}:{}".format(*carrier.address)}}
    app = LiveAppliance(tmp_path / "data", prompts_dir, bank_url, sip=_sip(trunks),
                        edit=_transfer_flow("95599"))
    caller = Peer()
    app.peers += [caller, carrier]
    try:
        _, out = caller.ua.invite(NUMBER, app.address, app.app.clock.now(),
                                  from_user="13800138000", media_address=caller.media)
        caller.ep.send(out)
        assert app.until(lambda: caller.of(CallAnswered))
        assert app.until(lambda: len(caller.heard) >= 100)
        unobtainable = _level(caller.heard, 450.0)
        assert app.until(lambda: caller.of(CallEnded))  # our BYE after the tone
        metrics = app.sip.status()["counters"]
        refused = app.app.counters["transfers_refused"]
        (record,) = app.records()
    finally:
        app.close()
    assert not carrier.of(IncomingCall)  # nothing went out
    assert refused == 1 and metrics.get("transfer_refused") == 1
    assert unobtainable > 1000  # China's 450 Hz number-unobtainable tone (GB 3380)
    assert record.hangup_reason == "transfer_failed:95599"
    assert ("transfer_refused", "95599: 95599 is not in sip.transfer_targets") in [
        (s.what, s.detail) for s in record.ivr_path]


def test_a_refer_the_trunk_refuses_falls_back_to_a_bridged_call(tmp_path, prompts_dir,  # noqa: F811
                                                                bank_url):  # noqa: F811
    carrier = Peer(answer=True)
    # Both peers are on 127.0.0.1: a call in is the first trunk's that names the address, and
    # the test's document is written with sorted keys, so the caller's trunk sorts first.
    trunks = {"branch_pbx": {"sources": [LOOPBACK], "transfer": "refer"},
              "carrier": {"address": "{}:{}".format(*carrier.address)}}
    app = LiveAppliance(tmp_path / "data", prompts_dir, bank_url, sip=_sip(trunks),
                        edit=_transfer_flow(TARGET))
    caller = Peer()  # our own agent answers a caller's REFER 405 (only phones may REFER)
    app.peers += [caller, carrier]
    try:
        call_id, out = caller.ua.invite(NUMBER, app.address, app.app.clock.now(),
                                        from_user="13800138000", media_address=caller.media)
        caller.ep.send(out)
        assert app.until(lambda: carrier.of(CallAnswered))
        caller.ep.send(caller.ua.hangup(call_id, app.app.clock.now()))
        assert app.until(lambda: carrier.of(CallEnded))  # both legs end
        assert app.until(lambda: not app.app.calls)
        counters = dict(app.sip.counters)
        (record,) = app.records()
    finally:
        app.close()
    (invite,) = carrier.of(IncomingCall)
    assert invite.callee == TARGET
    steps = [(s.what, s.detail) for s in record.ivr_path if s.node == "transfer"]
    assert steps[:3] == [("refer", TARGET), ("refer_ended", "405"), ("dial", f"{TARGET} on sip2")]
    assert counters.get("transfer_refer") == 1
