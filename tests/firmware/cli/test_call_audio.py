"""`branchline call --audio`: the sound card as the caller's handset.

The sound card is hardware outside the appliance: ``FakeCard`` stands in for sounddevice's
Stream (built by ``SoundCardLine``'s ``stream_factory``, its callback called once per card
period). The whole call runs in this process on a virtual clock, with the card's periods in
lockstep with the media loop, so every sample is accounted for.
"""

import argparse
import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from branchline.dsp import CallProgressRx, DtmfRx, Resampler, dtmf_samples
from branchline.firmware.appliance import open_sim
from branchline.firmware.cli.call import (
    CardHandset,
    TerminalCaller,
    add_call_command,
    run_call,
)
from branchline.firmware.clock import VirtualClock
from branchline.hw.audio import SoundCardLine

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]
PROMPTS = yaml.safe_load((ROOT / "config/defaults/prompts.yaml").read_text(encoding="utf-8"))
CARD_RATE = 48000


class FakeCard:
    """A mono int16 sound card: `mic` is what it will capture next, `speaker` what it played."""

    def __init__(self, *, device, samplerate, blocksize, channels, dtype, latency, callback):
        self.blocksize, self.callback = blocksize, callback
        self.mic = np.zeros(0, np.int16)
        self.speaker: list[np.ndarray] = []
        self.closed = False

    def start(self):
        pass

    def stop(self):
        pass

    def close(self):
        self.closed = True

    def period(self):
        n = self.blocksize
        indata = np.zeros((n, 1), np.int16)
        take, self.mic = self.mic[:n], self.mic[n:]
        indata[:len(take), 0] = take
        outdata = np.empty((n, 1), np.int16)
        self.callback(indata, outdata, n, None, SimpleNamespace())
        self.speaker.append(outdata[:, 0].copy())


def handset():
    cards = []

    def factory(**kwargs):
        cards.append(FakeCard(**kwargs))
        return cards[0]

    return CardHandset(SoundCardLine(samplerate=CARD_RATE, stream_factory=factory)), cards[0]


def to_card(audio_8k):
    return Resampler(1, 8000, CARD_RATE).process(audio_8k[None])[0]


def keys_heard(audio_8k):
    return "".join(e.digit for e in DtmfRx(1).process(audio_8k[None]) if e.end is None)


# -- the pieces --------------------------------------------------------------------------------

def test_keys_are_mixed_into_the_microphone_only_while_talking():
    sound, card = handset()
    voice = np.round(3000 * np.sin(2 * np.pi * 300 * np.arange(48000) / CARD_RATE))
    card.mic = voice.astype(np.int16)  # a hum into the microphone the whole time
    caller = TerminalCaller(0, say=lambda _: None, microphone=sound.microphone)
    caller.dial(0.0)
    line = []
    for i in range(50):
        card.period()
        if i == 10:
            caller.answered()
            caller.press("58")
        line.append(caller.audio())
    line = np.concatenate(line)
    assert not line[:1600].any()  # ringing: the handset is not connected yet
    assert keys_heard(line) == "58"  # the keys over the hum
    tail = line[-1600:].astype(np.float64)  # keys over: the hum alone, at its level
    assert 0.9 < np.sqrt(np.mean(tail ** 2)) / (3000 / np.sqrt(2)) < 1.1
    assert sound.line.counters["capture_underruns"] == 0


def test_a_person_who_hangs_up_sends_busy_tone_not_their_microphone():
    sound, card = handset()
    card.mic = np.full(48000, 5000, np.int16)
    caller = TerminalCaller(0, say=lambda _: None, microphone=sound.microphone)
    caller.dial(0.0)
    caller.answered()
    caller.press("q")
    progress = CallProgressRx(1, detect=["busy"])
    tones = []
    for _ in range(125):
        card.period()
        tones += [t.tone for t in progress.process(caller.audio()[None])]
    assert tones == ["busy"]


def test_the_handset_plays_the_line_and_reports_trouble():
    sound, card = handset()
    assert sound.report() is None
    tone = dtmf_samples("9", level_dbm0=-10.0, on_ms=100, off_ms=0)
    for block in np.concatenate([tone, np.zeros(320, np.int16)]).reshape(-1, 160):
        sound.play(block)
        card.period()
    back = Resampler(1, CARD_RATE, 8000).process(np.concatenate(card.speaker)[None])[0]
    assert keys_heard(back) == "9"
    card.period()
    card.period()  # the line sent nothing for two periods: two late blocks
    assert sound.report() == ("sound card: 2 blocks of silence where audio was late, 0 ms "
                              "dropped to keep latency down, 0 PortAudio xruns")
    sound.close()
    assert card.closed


# -- a whole call ------------------------------------------------------------------------------

class KeysIntoTheMicrophone:
    """The person holds a phone to the microphone for the first menu, then types at the
    terminal: 0.5 s after each new prompt starts, the next step."""

    def __init__(self, card):
        self.card = card
        self.steps = ["mic:1", "3", "q"]
        self.seen = 0
        self.due = None

    def keys(self, echo, now):
        if echo.started > self.seen:
            self.seen = echo.started
            if self.steps and self.due is None:
                self.due = now + 0.5
        if self.due is None or now < self.due:
            return ""
        self.due = None
        step = self.steps.pop(0)
        if step.startswith("mic:"):
            self.card.mic = to_card(dtmf_samples(step[4:], level_dbm0=-12.0, on_ms=100,
                                                 off_ms=100))
            return ""
        return step


def test_a_call_with_the_sound_card_as_the_handset(tmp_path):
    clocks = []

    def make_clock(zone):
        clocks.append(VirtualClock(dt.datetime(2026, 11, 23, 10, 0, tzinfo=zone)))
        return clocks[0]

    app, bank = open_sim(tmp_path, make_clock)
    sound, card = handset()
    sent = []
    play = sound.play
    sound.play = lambda block: (sent.append(block.copy()), play(block))

    def pace(due):  # the loop's clock and the card's, in lockstep: one period per block
        clocks[0].advance(max(0.0, due - clocks[0].now()))
        card.period()

    said = []
    try:
        ok = run_call(app, 1, "075588880001", source=KeysIntoTheMicrophone(card), sound=sound,
                      say=said.append, pace=pace)
    finally:
        if bank is not None:
            bank.stop()
    assert ok
    prompts = [line for line in said if line.startswith("prompt ")]
    assert prompts[0] == f"prompt [zh] {PROMPTS['language.choose']['zh']}"
    assert prompts[1] == f"prompt [zh] {PROMPTS['main.long']['zh']}"  # the 1 said into the mic
    assert prompts[2].startswith(f"prompt [zh] {PROMPTS['branch.address']['zh']}")  # typed 3
    assert [line for line in said if line.startswith("you ")] == ["you pressed 3",
                                                                  "you hung up"]
    assert said[0] == "calling 075588880001 on fxo2" and said[1] == "answered"
    assert not any(line.startswith("sound card:") for line in said)  # lockstep: no trouble
    # The speaker played exactly the line's audio, resampled, one card period behind.
    played = np.concatenate(card.speaker)
    want = Resampler(1, 8000, CARD_RATE).process(np.concatenate(sent)[None])[0]
    assert not played[:960].any()
    assert np.array_equal(played[960:], want[:len(played) - 960])
    assert np.abs(want).max() > 3000  # and the prompts were audible
    assert card.closed


def test_audio_and_no_sound_cannot_be_asked_together(capsys):
    parser = argparse.ArgumentParser(prog="branchline")
    add_call_command(parser.add_subparsers(required=True))
    with pytest.raises(SystemExit):
        parser.parse_args(["call", "--audio", "--no-sound"])
    assert "not allowed with argument" in capsys.readouterr().err
    args = parser.parse_args(["call", "--audio", "--device", "3", "--samplerate", "44100"])
    assert (args.audio, args.device, args.samplerate) == (True, "3", 44100)


def test_a_card_that_is_not_there_stops_the_command_before_the_call(tmp_path):
    parser = argparse.ArgumentParser(prog="branchline")
    add_call_command(parser.add_subparsers(required=True))
    args = parser.parse_args(["call", "--data", str(tmp_path), "--audio", "--device",
                              "no-such-card-xyz", "--at", "2026-11-23T10:00"])
    with pytest.raises(SystemExit, match=r"branchline call --audio: sound card "
                                         r"no-such-card-xyz: not found"):
        args.func(args)
