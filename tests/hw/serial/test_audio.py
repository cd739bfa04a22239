"""Receive jitter buffers and transmit framing, against hand-made frame sequences."""

import numpy as np
import pytest

from branchline.dsp import alaw_decode, alaw_encode
from branchline.hw.protocol.endpoint import Audio
from branchline.hw.serial.audio import UNPRIME_FRAMES, RxAudio, TxAudio


def frame(value):
    return alaw_encode(np.full(160, value, np.int16)).tobytes()


def q(value):
    """What `value` is after A-law."""
    return int(alaw_decode(np.frombuffer(frame(value), np.uint8))[0])


def level(block, port):
    return int(block[port, 0]), int(block[port, -1])


def test_playing_starts_with_two_frames_of_cushion():
    rx = RxAudio(2)
    rx.push(0, 10, frame(1000))
    assert np.all(rx.play()[0] == 8)  # not started: idle A-law decodes to +8
    rx.push(0, 11, frame(2000))
    rx.push(0, 12, frame(3000))
    plays = [rx.play()[0, 0] for _ in range(2)]
    assert plays == [q(1000), q(2000)]  # the oldest first
    assert rx.counters["audio_lost"] == 0


def test_a_missing_frame_repeats_then_fades_then_goes_silent():
    rx = RxAudio(1)
    rx.push(0, 0, frame(4000))
    rx.push(0, 1, frame(4000))
    full = q(4000)
    assert level(rx.play(), 0) == (full, full)
    assert level(rx.play(), 0) == (full, full)
    first, second, third = (rx.play() for _ in range(3))
    assert level(first, 0) == (full, full // 2)
    assert level(second, 0) == (full // 2, 0)
    assert np.all(third == 8)
    assert rx.counters["audio_lost"] == 3


def test_a_stream_that_stopped_waits_to_fill_again():
    rx = RxAudio(1)
    rx.push(0, 0, frame(500))
    rx.push(0, 1, frame(500))
    for _ in range(2 + UNPRIME_FRAMES):
        rx.play()
    assert rx.counters["audio_lost"] == UNPRIME_FRAMES
    rx.play()
    assert rx.counters["audio_lost"] == UNPRIME_FRAMES  # no longer counting
    rx.push(0, 500, frame(700))
    rx.push(0, 501, frame(700))
    assert rx.play()[0, 0] == q(700)


def test_late_duplicate_and_overflowing_frames():
    rx = RxAudio(1)
    for seq in (0, 1):
        rx.push(0, seq, frame(100 * (seq + 1)))
    rx.play()  # plays 0
    rx.push(0, 0, frame(9))  # its turn has passed
    rx.push(0, 1, frame(9))  # already buffered
    rx.push(0, 2, frame(300))
    rx.push(0, 3, frame(400))
    rx.push(0, 4, frame(500))  # a fourth buffered: the oldest (1) is skipped
    assert (rx.counters["audio_late"], rx.counters["audio_duplicate"],
            rx.counters["audio_overflow"]) == (1, 1, 1)
    assert [rx.play()[0, 0] for _ in range(3)] == [q(300), q(400), q(500)]


def test_sequence_numbers_wrap():
    rx = RxAudio(1)
    rx.push(0, 65534, frame(1000))
    played = []
    for seq in (65535, 0, 1, 2):
        rx.push(0, seq, frame(1000))
        played.append(rx.play()[0, 0])
    assert played == [q(1000)] * 4
    assert rx.counters["audio_lost"] == 0 and rx.counters["audio_late"] == 0


def test_stop_forgets_the_port_without_counting():
    rx = RxAudio(2)
    for seq in (0, 1):
        rx.push(1, seq, frame(1000))
    rx.stop(1)
    assert np.all(rx.play() == 8)
    assert rx.counters["audio_lost"] == 0


def test_bad_depths_are_refused():
    with pytest.raises(ValueError, match="expected 1 <= depth <= max_depth"):
        RxAudio(1, depth=4, max_depth=3)


def test_tx_frames_number_each_port_and_encode_a_law():
    tx = TxAudio(3)
    block = np.zeros((3, 160), np.int16)
    block[2] = 4000
    first = tx.frames(block, [0, 2])
    second = tx.frames(block, [2])
    assert [(m.port, m.seq) for m in first + second] == [(0, 0), (2, 0), (2, 1)]
    assert first[1] == Audio(2, 0, frame(4000))
    assert np.all(alaw_decode(np.frombuffer(first[0].samples, np.uint8)) == 8)
