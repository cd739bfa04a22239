"""The whole appliance (sim board + SIP board, real time) against SIP software nobody here
wrote, every peer on 127.0.0.1, started and killed by the test (tests/support/sip_peers.py):
baresip as a caller that keys and records what it hears, and as an agent's phone; SIPp as
callers and as the carrier answering a call back; Kamailio as the carrier the trunk registers
with.
"""

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from runtime_harness import bank_url, prompts_dir  # noqa: F401 - fixtures
from sip_peers import LOOPBACK, Baresip, LiveAppliance, Peer, sipp

from branchline.hw.sip.calls import CallAnswered

SCENARIOS = Path(__file__).parents[1] / "hw" / "sip" / "scenarios"

NUMBER = "075588880001"  # the sample document's number for sip1..sip4
CALLER = "13912345678"
RATE = 8000
# Normalised cross-correlation of 1.5 s of a prompt's speech with what baresip recorded: the
# prompt played, through A-law both ways, measured 0.9999 (G.711's quantisation noise is near
# 38 dB below speech); a prompt that was not played measured 0.14. 0.6 leaves room for a
# jitter-buffer slip inside the window and still refuses anything but the prompt.
HEARD_THRESHOLD = 0.6


def _sip(**more):
    return {"listen": f"{LOOPBACK}:0", "channels": 2,
            "trunks": {"local": {"sources": [LOOPBACK]}}, **more}


@pytest.fixture
def live(tmp_path, prompts_dir, bank_url):  # noqa: F811 - fixtures
    made = []

    def make(**kwargs):
        made.append(LiveAppliance(tmp_path / "data", prompts_dir, bank_url, **kwargs))
        return made[-1]

    yield make
    for appliance in made:
        appliance.close()


@pytest.fixture
def processes():
    started = []
    yield started
    for process in started:
        process.close()


def _tone(path, hz, seconds=30.0, level=8000):
    t = np.arange(int(seconds * RATE)) / RATE
    soundfile.write(path, (level * np.sin(2 * np.pi * hz * t)).astype(np.int16), RATE,
                    subtype="PCM_16")
    return path


def _best_correlation(recording, reference):
    """The highest normalised cross-correlation of ``reference`` over every lag in
    ``recording`` (FFT; both float)."""
    x = recording.astype(np.float64)
    y = reference.astype(np.float64)
    n = len(x) + len(y)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(y, size)), size)[:len(x)]
    energy = np.convolve(x * x, np.ones(len(y)), mode="full")[len(y) - 1:len(y) - 1 + len(x)]
    norm = np.sqrt(np.maximum(energy, 1e-9) * float(np.dot(y, y)))
    return float(np.max(corr / norm))


def _speech(prompt, seconds=1.5):
    """``seconds`` of a prompt from its first sample above a tenth of its peak."""
    start = int(np.argmax(np.abs(prompt) > np.abs(prompt).max() / 10))
    return prompt[start:start + int(seconds * RATE)]


def test_baresip_calls_hears_the_language_prompt_and_keys_by_rfc4733(live, tmp_path, processes):
    app = live(sip=_sip())
    host, port = app.address
    caller = Baresip(tmp_path / "caller", f"<sip:{CALLER}@{LOOPBACK}>;regint=0",
                     _tone(tmp_path / "quiet.wav", 300, level=0))
    processes.append(caller)
    assert app.until(lambda: "baresip is ready" in caller.output()), caller.output()
    caller.type(f"/dial sip:{NUMBER}@{host}:{port}\n")
    sip1 = app.port("sip1")
    renderer = app.app.loop.renderer
    assert app.until(lambda: renderer.playing(sip1)), caller.output()
    assert app.until(lambda: not renderer.playing(sip1)), caller.output()
    caller.type("3")  # English, by RFC 4733
    assert app.until(lambda: renderer.playing(sip1)), caller.output()
    caller.type("/hangup\n")
    assert app.until(lambda: not app.app.calls), caller.output()
    (record,) = [r for r in app.records() if r.caller == CALLER]
    assert record.port == "sip1" and record.language == "en"
    heard = caller.recording("dec")
    prompt = app.app.prompts.audio("language.choose", "zh")
    assert _best_correlation(heard, _speech(prompt)) > HEARD_THRESHOLD
    # The measure tells prompts apart: another prompt is not found in what was heard.
    other = app.app.prompts.audio("common.invalid", "zh")
    assert _best_correlation(heard, _speech(other)) < HEARD_THRESHOLD


@pytest.mark.parametrize("scenario", ["uac", "caller_hold.xml"])
def test_sipp_callers_reach_the_ivr_and_hang_up(live, tmp_path, processes, scenario):
    """SIPp's own caller (INVITE, ACK, 2 s, its BYE), and one held and resumed by re-INVITE
    before its BYE: answered on sip1, ended by the caller."""
    app = live(sip=_sip())
    target = "{}:{}".format(*app.address)
    if scenario == "uac":
        peer = sipp(None, target, tmp_path, "-sn", "uac", "-s", NUMBER, "-d", "2000", "-m", "1")
    else:
        peer = sipp(SCENARIOS / scenario, target, tmp_path, "-s", NUMBER, "-m", "1")
    processes.append(peer)
    assert app.until(peer.done), peer.output()[-3000:]
    assert peer.result() == (1, 0)
    assert app.until(lambda: not app.app.calls)
    (record,) = app.records()
    assert record.port == "sip1" and record.answered_at is not None
    assert record.hangup_reason.startswith("caller")


def test_sipp_cancels_while_a_draining_appliance_lets_it_ring(live, tmp_path, processes):
    """A draining appliance takes no new call, so the SIP channel rings (180) until SIPp's
    CANCEL, which gets 200 and 487 (the scenario requires both); no call is recorded."""
    app = live(sip=_sip())
    app.app.drain()
    peer = sipp(SCENARIOS / "caller_cancel.xml", "{}:{}".format(*app.address), tmp_path,
                "-s", NUMBER, "-m", "1")
    processes.append(peer)
    assert app.until(peer.done), peer.output()[-3000:]
    assert peer.result() == (1, 0)
    assert app.records() == []


@pytest.mark.parametrize(("codecs", "chosen"), [
    (None, "PCMA"), (["PCMU", "PCMA"], "PCMU"), (["PCMU"], "PCMU")])
def test_the_trunks_codec_order_is_honoured_in_the_answer(live, codecs, chosen):
    """Our peer offers PCMA then PCMU; the appliance answers with the trunk's first codec
    that the offer has, and opens its RTP with it (the prompt reaches the peer)."""
    trunk = {"sources": [LOOPBACK], **({"codecs": codecs} if codecs else {})}
    app = live(sip=_sip(trunks={"local": trunk}))
    caller = Peer()
    app.peers.append(caller)
    call, out = caller.ua.invite(NUMBER, app.address, time.monotonic(), from_user=CALLER,
                                 media_address=caller.media)
    caller.ep.send(out)
    assert app.until(lambda: caller.of(CallAnswered))
    (answered,) = caller.of(CallAnswered)
    assert answered.media.codec == chosen
    start = len(caller.heard)
    assert app.until(lambda: len(caller.heard) > start + 100)
    heard = np.concatenate(caller.heard[start:]).astype(np.float64)
    assert np.sqrt(np.mean(heard ** 2)) > 300, "the caller heard no prompt"
    caller.ep.send(caller.ua.hangup(call, time.monotonic()))
    assert app.until(lambda: not app.app.calls)
