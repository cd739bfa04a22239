"""Answer detection on a dialled line: dial tone, ringback, busy and congestion, voice, silence.

Signals are built from the standards (GB 3380 tones through A-law at the levels an exchange
sends and weaker) and from real speech (the espeak talk-off corpus, through A-law, at the
levels people answer a phone with), and fed to the detector as the media loop does: the
board's whole receive block, 20 ms at a time, the watched line somewhere among others.
"""

import corpus
import numpy as np
import pytest
from tone_reference import add_noise, alaw_decode, alaw_encode, cadence_signal

from branchline.dsp import CALL_PROGRESS_TONES, AnswerDetector, AnswerEvent

RATE = 8000
CN = CALL_PROGRESS_TONES["cn"]
CHANNELS, LINE = 6, 4


def alaw(x):
    return alaw_decode(alaw_encode(np.clip(np.rint(x), -32768, 32767).astype(np.int16)))


def tone(name, seconds, level_dbm0=-10.0, lead_ms=0):
    spec = CN[name]
    cadence = spec.cadence or (int(seconds * 1000) + 1000, 1)
    samples, _ = cadence_signal(spec.frequencies, level_dbm0, cadence, seconds * 1000,
                                lead_ms=lead_ms)
    return samples


def speech(seconds, level_dbm0, offset=0):
    """Real speech from the corpus (its talk spurts at about -18 dBm0), scaled."""
    voice = next(s for name, s in corpus.talkoff_corpus() if name.startswith("speech-zh"))
    part = voice[offset:offset + round(seconds * RATE)].astype(np.float64)
    return part * 10 ** ((level_dbm0 + 18) / 20)


def run(detector, line_signal, *, block=160, others=None, phase="answer"):
    """Feed line_signal on channel LINE of a CHANNELS-row board; return [(what, seconds)]."""
    rng = np.random.default_rng(3)
    n = len(line_signal) // block * block
    board = np.zeros((CHANNELS, n), np.int16)
    board[LINE] = add_noise(alaw(line_signal[:n]), -70, 0, rng)
    if others is not None:
        board[0] = others[:n]
    detector.watch(LINE, phase)
    heard = []
    for start in range(0, n, block):
        for event in detector.process(np.ascontiguousarray(board[:, start:start + block])):
            assert event.channel == LINE
            heard.append((event.what, event.sample / RATE))
    return heard


def test_dial_tone_is_known_in_under_a_second():
    heard = run(AnswerDetector(2), tone("dial", 3.0), phase="dial")
    assert [w for w, _ in heard] == ["dial"]
    assert 0.35 <= heard[0][1] <= 0.6


def test_no_dial_tone_on_a_dead_line_or_in_speech():
    assert run(AnswerDetector(2), np.zeros(3 * RATE), phase="dial") == []
    assert run(AnswerDetector(2), speech(3.0, -15), phase="dial") == []


@pytest.mark.parametrize("level", [-10.0, -25.0])
def test_ringback_then_an_answer_in_speech(level):
    signal = np.concatenate([tone("ringback", 11.0, level), speech(2.0, -25, 16000)])
    heard = run(AnswerDetector(2), signal)
    names = [w for w, _ in heard]
    assert names == ["ringback", "voice"]
    when = dict(heard)
    assert when["voice"] - 11.0 < 1.0  # answered within a second of the first word


@pytest.mark.parametrize("name", ["busy", "congestion", "unobtainable"])
def test_failure_tones_are_named_and_never_taken_for_voice(name):
    heard = run(AnswerDetector(2), tone(name, 6.0))
    assert [w for w, _ in heard] == [name]


@pytest.mark.parametrize("level", [-35.0, -25.0, -12.0])
@pytest.mark.parametrize("offset", [0, 40000, 120000])
def test_speech_at_telephone_levels_is_an_answer_in_about_a_third_of_a_second(level, offset):
    signal = np.concatenate([np.zeros(RATE), speech(3.0, level, offset)])
    heard = run(AnswerDetector(2), signal)
    assert [w for w, _ in heard] == ["voice"]
    assert 1.3 <= heard[0][1] <= 2.5


def test_a_line_that_stays_silent_says_so_after_the_silence_time():
    heard = run(AnswerDetector(2, silence_ms=4000), np.zeros(6 * RATE))
    assert heard == [("silence", pytest.approx(4.0, abs=0.021))]


def test_ringback_bursts_keep_the_silence_timer_from_firing():
    heard = run(AnswerDetector(2, silence_ms=4500), tone("ringback", 16.0))
    assert [w for w, _ in heard] == ["ringback"]


def test_other_lines_and_block_size_do_not_matter():
    signal = np.concatenate([tone("ringback", 11.0), speech(2.0, -20, 8000)])
    chatter = alaw(np.resize(speech(4.0, -10), len(signal)))
    alone = run(AnswerDetector(3), signal)
    crowded = run(AnswerDetector(3), signal, others=chatter, block=480)
    assert [w for w, _ in alone] == [w for w, _ in crowded] == ["ringback", "voice"]
    assert alone[1][1] == pytest.approx(crowded[1][1], abs=0.04)


def test_watch_forget_and_slots():
    detector = AnswerDetector(1)
    detector.watch(3, "dial")
    detector.watch(3, "answer")  # switching phase keeps the slot
    assert detector.watching == {3}
    with pytest.raises(ValueError, match=r"channel 5: all 1 slots are watching channels \[3\]"):
        detector.watch(5, "answer")
    detector.forget(3)
    detector.watch(5, "answer")
    assert detector.watching == {5}
    with pytest.raises(ValueError, match="phase 'ringing'; expected one of"):
        detector.watch(5, "ringing")
    with pytest.raises(ValueError, match="expected n a multiple of 160"):
        detector.process(np.zeros((8, 100), np.int16))
    with pytest.raises(TypeError, match="int16"):
        detector.process(np.zeros((8, 160), np.float32))
    assert AnswerEvent(1, "voice", 160) == AnswerEvent(1, "voice", 160)


def test_a_watch_starts_afresh():
    detector = AnswerDetector(1, silence_ms=1000)
    assert run(detector, np.zeros(2 * RATE)) == [("silence", pytest.approx(1.0, abs=0.021))]
    heard = run(detector, np.zeros(2 * RATE))  # watched again: reported again
    assert [w for w, _ in heard] == ["silence"]
