"""SoundCardLine: audio both ways through a fake sound card, drift, xruns, errors, real PortAudio.

The sound card is hardware outside the appliance, so most tests hand the line a fake of it
(``FakeCard``, built by the line's ``stream_factory`` like sounddevice.Stream) whose clock is
the test: each ``period()`` is one callback, as PortAudio would make it. The last tests use the
real sounddevice and PortAudio: with no card in the machine, and through ALSA's user-space
``file`` plugin (no kernel module: this container cannot load snd-aloop).
"""

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import yaml
from runtime_harness import (
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
)

from branchline.config.document.loading import open_config_store
from branchline.dsp import CALL_PROGRESS_TONES, DtmfRx, Resampler, ToneTx, dtmf_samples
from branchline.firmware.appliance import Appliance, build_prompts
from branchline.firmware.bankhost import ENDPOINTS
from branchline.firmware.cli.call import PromptEcho
from branchline.firmware.clock import VirtualClock
from branchline.firmware.host_client import HostClient
from branchline.hw.audio import (
    AudioControlError,
    AudioDeviceError,
    AudioUnavailable,
    SoundCardLine,
)
from branchline.hw.ports import (
    BlockError,
    Board,
    ClockError,
    PortError,
    PortKind,
)


class FakeCard:
    """A mono int16 sound card: `mic` is what its microphone will hear (at the card's rate),
    `speaker` collects what it played. The test runs its clock with period()."""

    def __init__(self, *, device, samplerate, blocksize, channels, dtype, latency, callback):
        assert (channels, dtype) == (1, "int16")
        self.device, self.samplerate, self.blocksize = device, samplerate, blocksize
        self.requested_latency = latency
        self.callback = callback
        self.mic = np.zeros(0, np.int16)
        self.speaker: list[np.ndarray] = []
        self.latency = (0.010, 0.015)
        self.state = "created"

    def start(self):
        self.state = "started"

    def stop(self):
        self.state = "stopped"

    def close(self):
        self.state = "closed"

    def period(self, status=None, **flags):
        n = self.blocksize
        indata = np.zeros((n, 1), np.int16)
        take = self.mic[:n]
        indata[:len(take), 0] = take
        self.mic = self.mic[n:]
        outdata = np.full((n, 1), 12345, np.int16)  # garbage the callback must overwrite
        self.callback(indata, outdata, n, None, status or SimpleNamespace(**flags))
        self.speaker.append(outdata[:, 0].copy())

    def played(self):
        return np.concatenate(self.speaker) if self.speaker else np.zeros(0, np.int16)


def open_line(rate=48000, **options):
    cards = []

    def factory(**kwargs):
        cards.append(FakeCard(**kwargs))
        return cards[-1]

    line = SoundCardLine("fake", samplerate=rate, stream_factory=factory, **options)
    return line, cards[0]


def digits_in(audio_8k):
    return "".join(e.digit for e in DtmfRx(1).process(audio_8k[None]) if e.end is None)


def to_rate(audio_8k, rate):
    return Resampler(1, 8000, rate).process(audio_8k[None])[0] if rate != 8000 else audio_8k


# -- the port model --------------------------------------------------------------------------

def test_the_line_is_a_board_with_one_trunk_and_opens_the_stream_as_asked():
    line, card = open_line(44100, blocksize=441, name="desk")
    assert isinstance(line, Board)
    assert [(p.index, p.kind, p.name) for p in line.ports] == [(0, PortKind.FXO, "desk")]
    assert (card.device, card.samplerate, card.blocksize, card.state) == (
        "fake", 44100, 441, "started")
    assert card.requested_latency == "low"
    assert line.tick(0.0) == [] and line.tick(0.02) == []
    line.answer(0)
    assert line.off_hook
    line.hang_up(0)
    assert not line.off_hook
    line.close()
    line.close()
    assert card.state == "closed"


def test_default_blocksize_is_20_ms_of_the_card():
    assert open_line(48000)[1].blocksize == 960
    assert open_line(44100)[1].blocksize == 882
    assert open_line(8000)[1].blocksize == 160


# -- audio both ways ---------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [48000, 44100, 8000])
def test_keys_said_into_the_microphone_reach_the_line_at_8_khz(rate):
    keys = "159*#D"
    line, card = open_line(rate)
    card.mic = to_rate(dtmf_samples(keys, level_dbm0=-12.0, on_ms=70, off_ms=70), rate)
    heard = []
    for _ in range(len(card.mic) // card.blocksize + 10):  # one card period per loop block
        card.period()
        heard.append(line.read_block()[0])
    assert digits_in(np.concatenate(heard)) == keys
    assert line.counters["capture_underruns"] == 0


@pytest.mark.parametrize("rate", [48000, 44100, 8000])
def test_what_the_line_sends_plays_on_the_speaker(rate):
    keys = "0123456789"
    line, card = open_line(rate)
    audio = dtmf_samples(keys, level_dbm0=-12.0, on_ms=60, off_ms=60)
    blocks = np.concatenate([audio, np.zeros(-len(audio) % 160 + 1600, np.int16)])
    for block in blocks.reshape(-1, 160):
        line.write_block(block[None].copy())
        card.period()
    played = card.played()
    back = played if rate == 8000 else Resampler(1, rate, 8000).process(played[None])[0]
    assert digits_in(back) == keys
    assert not np.any(played == 12345)
    assert line.counters["playback_underruns"] == 0
    assert line.counters["blocks_written"] == len(blocks) // 160


def test_an_8_khz_card_passes_samples_through_exactly():
    line, card = open_line(8000)
    rng = np.random.default_rng(7)
    said = rng.integers(-20000, 20000, 1600).astype(np.int16)
    sent = rng.integers(-20000, 20000, 1600).astype(np.int16)
    card.mic = said.copy()
    rx = []
    for block in sent.reshape(-1, 160):
        line.write_block(block[None].copy())
        card.period()
        rx.append(line.read_block()[0])
    assert np.array_equal(np.concatenate(rx), said)
    assert np.array_equal(card.played(), sent)


def test_a_tone_keeps_its_level_through_a_48_khz_card():
    line, card = open_line(48000)
    n = np.arange(48000)
    card.mic = np.round(8000 * np.sin(2 * np.pi * 1000 * n / 48000)).astype(np.int16)
    rx = []
    for _ in range(50):
        card.period()
        rx.append(line.read_block()[0])
    steady = np.concatenate(rx)[800:].astype(np.float64)
    assert abs(20 * np.log10(np.sqrt(np.mean(steady ** 2)) / (8000 / np.sqrt(2)))) < 0.1


# -- two clocks: drift, xruns, latency -----------------------------------------------------------

def test_a_card_running_ahead_is_bounded_by_the_latency_limit_and_counted():
    line, card = open_line(48000, max_latency_ms=100.0)
    for _ in range(30):  # 600 ms of card time before the loop reads once
        card.period()
    line.read_block()
    status = line.status()
    assert status["capture_fifo_ms"] <= 100.0
    assert line.counters["capture_overruns_samples"] == 600 * 48 - 100 * 48
    assert line.counters["periods"] == 30


def test_a_card_running_behind_gives_silence_and_counts_it():
    line, card = open_line(48000)
    card.mic = np.full(48000, 1000, np.int16)
    assert not line.read_block().any()  # before the card's first period: quiet, not a fault
    assert line.counters["capture_underruns"] == 0
    card.period()
    line.read_block()
    block = line.read_block()  # the card has not run again: the loop is ahead
    assert line.counters["capture_underruns"] == 1
    assert block.shape == (1, 160)


def test_playback_starved_or_flooded_is_counted():
    line, card = open_line(48000, max_latency_ms=60.0)
    card.period()  # nothing written yet: silence, not an underrun
    assert line.counters["playback_underruns"] == 0
    tone = np.full((1, 160), 3000, np.int16)
    line.write_block(tone)
    card.period()
    card.period()  # the one block is gone: this period starves
    assert line.counters["playback_underruns"] == 1
    for _ in range(5):  # 100 ms written without the card running: 40 ms too much
        line.write_block(tone)
    assert line.counters["playback_overruns_samples"] == 40 * 48
    assert line.status()["playback_fifo_ms"] == 60.0


def test_portaudio_xrun_flags_are_counted_and_latency_reported():
    import sounddevice  # its real CallbackFlags, as PortAudio's thread hands them over

    line, card = open_line(48000)
    flags = sounddevice.CallbackFlags()
    flags.input_overflow = True
    card.period(flags)
    flags.output_underflow = True
    card.period(flags)
    card.period(sounddevice.CallbackFlags())
    counts = line.counters
    assert (counts["input_overflow"], counts["output_underflow"]) == (2, 1)
    assert (counts["input_underflow"], counts["output_overflow"]) == (0, 0)
    status = line.status()
    assert status["stream_latency_ms"] == [10.0, 15.0]
    assert (status["samplerate"], status["blocksize"], status["device"]) == (48000, 960, "fake")
    json.dumps(status)  # plain data for the web page


# -- mistakes and missing pieces ---------------------------------------------------------------

def test_commands_on_the_wrong_port_or_kind_are_refused():
    line, _ = open_line()
    with pytest.raises(PortError, match="port 1 does not exist; a sound-card line has one"):
        line.answer(1)
    with pytest.raises(PortError, match="only stations ring"):
        line.ring(0)
    with pytest.raises(PortError, match="only stations ring"):
        line.stop_ring(0)
    with pytest.raises(BlockError, match=r"expected an int16 array of shape \(1, 160\)"):
        line.write_block(np.zeros((2, 160), np.int16))
    line.tick(5.0)
    with pytest.raises(ClockError, match=r"now=4\.0 is before the last tick 5\.0"):
        line.tick(4.0)


@pytest.mark.parametrize(("options", "text"), [
    ({"samplerate": 4000}, "samplerate=4000; expected a whole number of Hz"),
    ({"samplerate": 48000, "blocksize": 0}, "blocksize=0; expected a positive number"),
    ({"max_latency_ms": 20}, r"max_latency_ms=20; expected at least 40"),
])
def test_bad_options_say_what_would_be_right(options, text):
    with pytest.raises(ValueError, match=text):
        SoundCardLine(stream_factory=FakeCard, **options)


def test_a_device_that_will_not_open_names_the_device_and_the_remedy():
    def refuses(**kwargs):
        raise ValueError("No input device matching 'USB'")

    with pytest.raises(AudioDeviceError, match=r"sound card USB: cannot open a mono int16 "
                       r"stream at 48000 Hz, 960 frames per period: No input device") as info:
        SoundCardLine("USB", samplerate=48000, stream_factory=refuses)
    assert isinstance(info.value.__cause__, ValueError)


class _Refuse:
    """An import hook standing in for a machine without PortAudio or without sounddevice."""

    def __init__(self, error):
        self.error = error

    def find_spec(self, name, path=None, target=None):
        if name == "sounddevice":
            raise self.error
        return None


@pytest.mark.parametrize(("error", "text"), [
    (OSError("PortAudio library not found"), r"sudo apt-get install libportaudio2"),
    (ImportError("No module named 'sounddevice'"), r"pip install sounddevice"),
])
def test_missing_portaudio_or_sounddevice_says_what_to_install(monkeypatch, error, text):
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_Refuse(error), *sys.meta_path])
    with pytest.raises(AudioUnavailable, match=text):
        SoundCardLine()


def _run_real(script, home):
    env = {**os.environ, "HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_real_portaudio_without_a_card_lists_no_devices_and_says_so(tmp_path):
    # A HOME with an empty .asoundrc: ALSA's defaults only, and this machine has no card.
    (tmp_path / ".asoundrc").write_text("")
    result = _run_real("""
        import json, sounddevice
        from branchline.hw.audio import SoundCardLine, AudioDeviceError
        if len(sounddevice.query_devices()):
            print(json.dumps({"skip": "this machine has a sound card"}))
        else:
            try:
                SoundCardLine()
                print(json.dumps({"opened": True}))
            except AudioDeviceError as exc:
                print(json.dumps({"error": str(exc)}))
    """, tmp_path)
    if "skip" in result:
        pytest.skip(result["skip"])
    assert "sound card (default): not found" in result["error"]
    assert "Devices: none" in result["error"]


ALSA_FILE_DEVICE = """
pcm.branchtest {{
    type asym
    playback.pcm {{
        type file
        slave.pcm "null"
        file "{out}"
        format "raw"
    }}
    capture.pcm {{
        type file
        slave.pcm "null"
        file "/dev/null"
        infile "{infile}"
        format "raw"
    }}
}}
"""


def test_real_portaudio_stream_through_an_alsa_file_device(tmp_path):
    """PortAudio and ALSA for real, no kernel module: the ALSA `file` plugin over the null
    device (playback written to a file, capture read from one). No card paces it: its periods
    run as fast as the CPU, so the test checks what reaches the speaker's file, and that the
    microphone's audio flowed (far more of it than the latency bound, hence overruns)."""
    if not os.path.exists("/usr/share/alsa/alsa.conf"):
        pytest.skip("no ALSA configuration (libasound2-data)")
    out, infile = tmp_path / "speaker.raw", tmp_path / "mic.raw"
    infile.write_bytes(np.zeros(48000, np.int16).tobytes())
    (tmp_path / ".asoundrc").write_text(ALSA_FILE_DEVICE.format(out=out, infile=infile))
    result = _run_real("""
        import json
        import numpy as np
        from branchline.hw.audio import SoundCardLine
        from branchline.dsp import dtmf_samples
        line = SoundCardLine("branchtest", samplerate=48000)
        line.wait_for_card(1, timeout=20)
        keys = dtmf_samples("7", level_dbm0=-10.0, on_ms=200, off_ms=0)
        for block in keys.reshape(-1, 160):
            line.write_block(block[None].copy())
        fed = line.wait_for_card(12, timeout=20)  # 10 periods hold the 200 ms written
        line.read_block()
        status = line.status()
        line.close()
        print(json.dumps({"fed": fed, "status": status}))
    """, tmp_path)
    assert result["fed"]
    assert result["status"]["samplerate"] == 48000
    assert result["status"]["counters"]["blocks_written"] == 10
    assert result["status"]["counters"]["capture_overruns_samples"] > 0
    played = np.frombuffer(out.read_bytes(), np.int16)
    back = Resampler(1, 48000, 8000).process(played[None].copy())[0]
    assert digits_in(back) == "7"


# -- a USB FXO adapter: ring detect on RI, hook relay on DTR ------------------------------------

class AdapterPort:
    """The adapter's serial control port (hardware outside the appliance): the test sets `ri`
    as the line's ringing would; `dtr_history` is what the line did with the hook relay."""

    def __init__(self, url):
        self.url = url
        self.ri = False
        self.dtr_history = []
        self.is_open = True

    @property
    def dtr(self):
        return self.dtr_history[-1] if self.dtr_history else None

    @dtr.setter
    def dtr(self, value):
        self.dtr_history.append(value)

    def close(self):
        self.is_open = False


def adapter_line():
    ports = []

    def serial_factory(url):
        ports.append(AdapterPort(url))
        return ports[-1]

    line, _ = open_line(48000, control="/dev/ttyUSB1", serial_factory=serial_factory)
    return line, ports[0]


def ring_pattern(line, port, pattern, start=0.0, raw=False):
    """Drive RI through (seconds on, seconds off) pairs, one tick per 20 ms; return events.
    raw: RI follows the 25 Hz ringing itself (high and low on alternate ticks)."""
    events, tick = [], round(start / 0.02)
    for on_s, off_s in pattern:
        for i in range(round(on_s / 0.02)):
            port.ri = (i % 2 == 0) if raw else True
            events += line.tick(tick * 0.02)
            tick += 1
        for _ in range(round(off_s / 0.02)):
            port.ri = False
            events += line.tick(tick * 0.02)
            tick += 1
    return events


def summary(events):
    return [(type(e).__name__, round(e.time, 2), e.count) for e in events]


@pytest.mark.parametrize("raw", [False, True])
def test_adapter_rings_in_with_the_china_cadence(raw):
    line, port = adapter_line()
    assert port.url == "/dev/ttyUSB1" and port.dtr is False  # on hook from the start
    events = ring_pattern(line, port, [(1.0, 4.0), (1.0, 4.0)], raw=raw)
    last_high = 0.98 if not raw else 0.96  # raw: RI was high on the even ticks only
    assert summary(events) == [
        ("Ring", 0.0, 1), ("RingOff", round(last_high + 0.2, 2), 1),
        ("Ring", 5.0, 2), ("RingOff", round(5 + last_high + 0.2, 2), 2)]


def test_adapter_answers_with_the_hook_relay_and_a_new_call_counts_from_one():
    line, port = adapter_line()
    ring_pattern(line, port, [(1.0, 4.0)])
    line.answer(0)
    assert port.dtr is True and line.status()["control"] == "/dev/ttyUSB1"
    assert ring_pattern(line, port, [(1.0, 1.0)], start=5.0) == []  # off hook: RI ignored
    line.hang_up(0)
    assert port.dtr is False
    events = ring_pattern(line, port, [(1.0, 0.5)], start=7.0)
    assert summary(events)[0] == ("Ring", 7.0, 1)


def test_an_abandoned_call_is_forgotten_after_the_ring_gap():
    line, port = adapter_line()
    ring_pattern(line, port, [(1.0, 4.0)])
    assert summary(ring_pattern(line, port, [(1.0, 0.5)], start=5.0))[0] == ("Ring", 5.0, 2)
    later = ring_pattern(line, port, [(1.0, 0.5)], start=12.6)  # 6.1 s after the last ring
    assert summary(later)[0] == ("Ring", 12.6, 1)


def test_closing_puts_the_adapter_on_hook_and_closes_its_port():
    line, port = adapter_line()
    line.answer(0)
    line.close()
    assert port.dtr_history == [False, True, False] and not port.is_open


def test_an_unplugged_adapter_is_reported_not_crashed():
    line, port = adapter_line()

    def gone():
        raise OSError(5, "Input/output error")

    type(port).ri = property(lambda self: gone())
    try:
        with pytest.raises(AudioControlError, match=r"control line /dev/ttyUSB1: cannot read "
                                                     r"RI .*unplugged"):
            line.tick(0.0)
    finally:
        del type(port).ri


def test_the_control_line_opens_through_pyserial():
    line, _ = open_line(48000, control="loop://")
    port = line.control.port
    assert port.is_open and port.dtr is False
    assert line.tick(0.0) == []  # loop:// has no ringing
    line.answer(0)
    assert port.dtr is True
    line.close()
    assert not port.is_open


@pytest.mark.parametrize("url", ["nosuch://adapter", "/dev/ttyUSB-not-there"])
def test_a_control_line_that_will_not_open_says_what_to_give(url):
    with pytest.raises(AudioControlError, match=rf"control line {url}: cannot open it .*"
                                                r"e\.g\. /dev/ttyUSB1"):
        open_line(48000, control=url)


# -- the board URL -------------------------------------------------------------------------------

def test_a_url_names_the_device_rate_and_control_line():
    made = []

    def factory(**kwargs):
        made.append(FakeCard(**kwargs))
        return made[-1]

    line = SoundCardLine.from_url("audio://USB%20Audio?rate=44100&control=loop://",
                                  stream_factory=factory)
    assert (made[0].device, made[0].samplerate, line.control.url) == ("USB Audio", 44100,
                                                                      "loop://")
    line.close()
    SoundCardLine.from_url("audio://2", stream_factory=factory)
    assert (made[1].device, made[1].samplerate) == (2, 48000)
    SoundCardLine.from_url("audio://", stream_factory=factory)
    assert made[2].device is None


@pytest.mark.parametrize(("url", "text"), [
    ("sound://2", r"expected audio://\[DEVICE\]"),
    ("audio://2?baud=9600", r"parameter 'baud' is not known"),
    ("audio://2?rate=fast", r"rate='fast'; expected Hz, e.g. rate=48000"),
])
def test_a_bad_url_says_what_would_be_right(url, text):
    with pytest.raises(ValueError, match=text):
        SoundCardLine.from_url(url, stream_factory=FakeCard)


# -- the whole appliance on a USB FXO adapter ----------------------------------------------------

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
PROMPTS = yaml.safe_load((ROOT / "config/defaults/prompts.yaml").read_text(encoding="utf-8"))


def busy_tone_at(rate, seconds):
    """The exchange's busy tone (GB 3380: 450 Hz, 0.35 s on / 0.35 s off) at the card's rate."""
    tx = ToneTx(1)
    tx.start(0, CALL_PROGRESS_TONES["cn"]["busy"])
    out = np.zeros((1, round(8000 * seconds)), np.int16)
    tx.render(out)
    return to_rate(out[0], rate)


def test_the_appliance_answers_a_call_on_a_usb_fxo_adapter(tmp_path, prompts_dir, bank_url):  # noqa: F811
    """Rings on RI, answer on DTR, the menu on the speaker, a key and the busy tone from the
    line's side of the card, the line released: the runtime sees an ordinary FXO trunk."""
    cards, ports = [], []
    line = SoundCardLine(
        samplerate=48000, control="/dev/ttyUSB1",
        stream_factory=lambda **kw: cards.append(FakeCard(**kw)) or cards[-1],
        serial_factory=lambda url: ports.append(AdapterPort(url)) or ports[-1])
    card, port = cards[0], ports[0]
    store = open_config_store(tmp_path)
    prompts = build_prompts(prompts_dir, store)
    clock = VirtualClock(dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    app = Appliance(tmp_path, line, clock, prompts, HostClient(bank_url, dict(ENDPOINTS)),
                    wait_for_host=True, store=store)
    started = []
    PromptEcho(app, 0, lambda language, text: started.append(text))
    app.start()

    def run(seconds, until=lambda: False):
        for _ in range(round(seconds / 0.02)):
            now = clock.advance(0.02)
            port.ri = not line.off_hook and now % 5.0 < 1.0  # the exchange rings, 1 s / 4 s
            card.period()
            app.tick(now)
            if until():
                return True
        return False

    assert run(12.0, lambda: line.off_hook)
    assert port.dtr is True  # answered with the hook relay
    assert run(10.0, lambda: len(started) == 1)
    assert started[0] == PROMPTS["language.choose"]["zh"]
    card.speaker.clear()
    card.mic = to_rate(dtmf_samples("1", level_dbm0=-10.0, on_ms=100, off_ms=100), 48000)
    assert run(10.0, lambda: len(started) == 2)
    assert started[1] == PROMPTS["main.long"]["zh"]  # the key came through the microphone side
    run(1.0)
    assert np.abs(np.concatenate(card.speaker)).max() > 3000  # the menu plays on the speaker
    card.mic = busy_tone_at(48000, 10.0)  # the caller hung up: the exchange sends busy tone
    assert run(10.0, lambda: not line.off_hook)
    assert port.dtr is False  # released with the hook relay
    assert app.close(clock.now())
    line.close()
