"""DtmfRx's contract: construction, validation errors, events, reset."""

import dataclasses

import numpy as np
import pytest
import signals as s

from branchline.dsp import DtmfEvent, DtmfRx


def key_block(digit, channels=1, channel=0, seconds=0.1):
    audio = np.zeros((channels, s.samples(seconds + 0.1)), dtype=np.int16)
    audio[channel, : s.samples(seconds)] = s.to_int16(s.dtmf(digit, seconds))
    return audio


def test_a_key_gives_a_start_event_then_an_end_event():
    first, second = DtmfRx(1).process(key_block("3"))
    assert first == DtmfEvent(channel=0, digit="3", start=first.start, end=None)
    assert second == DtmfEvent(channel=0, digit="3", start=first.start, end=second.end)
    # The key is samples 0..799; positions are interpolated to within 1.5 ms.
    assert abs(first.start - 0) <= 12 and abs(second.end - 800) <= 12


def test_events_are_frozen_slotted_dataclasses():
    event = DtmfEvent(1, "#", 10, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.digit = "1"
    assert not hasattr(event, "__dict__")


@pytest.mark.parametrize(
    ("block", "error", "message"),
    [
        ([[0] * 160, [0] * 160], TypeError,
         "DtmfRx.process: block is a list; expected a numpy int16 array shaped [channels=2, n]"),
        (np.zeros((2, 160)), TypeError,
         "DtmfRx.process: block has dtype float64; expected int16 (16-bit linear PCM; "
         "decode G.711 first)"),
        (np.zeros((3, 160), np.int16), ValueError,
         "DtmfRx.process: block has shape (3, 160); expected [channels=2, n >= 1]"),
        (np.zeros(160, np.int16), ValueError,
         "DtmfRx.process: block has shape (160,); expected [channels=2, n >= 1]"),
        (np.zeros((2, 0), np.int16), ValueError,
         "DtmfRx.process: block has shape (2, 0); expected [channels=2, n >= 1]"),
        (np.zeros((2, 320), np.int16)[:, ::2], ValueError,
         "DtmfRx.process: block is not C-contiguous; pass numpy.ascontiguousarray(block)"),
    ],
    ids=["list", "float", "channels", "1-d", "empty", "strided"],
)
def test_process_rejects_bad_blocks_and_says_what_is_right(block, error, message):
    rx = DtmfRx(2)
    with pytest.raises(error) as caught:
        rx.process(block)
    assert str(caught.value) == message
    assert rx.process(key_block("0", channels=2, channel=1))[0].start == 0  # no harm done


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0,), {}, "DtmfRx: channels=0; expected an int >= 1"),
        ((2.0,), {}, "DtmfRx: channels=2.0; expected an int >= 1"),
        ((1,), {"normal_twist_db": -1}, "DtmfRx: normal_twist_db=-1; expected a number of dB "
         "in 0..20"),
        ((1,), {"reverse_twist_db": float("nan")}, "DtmfRx: reverse_twist_db=nan; expected a "
         "number of dB in 0..20"),
    ],
)
def test_construction_errors(args, kwargs, message):
    with pytest.raises(ValueError) as caught:
        DtmfRx(*args, **kwargs)
    assert str(caught.value) == message


@pytest.mark.parametrize("channel", [-1, 2, "0"])
def test_reset_rejects_a_channel_that_does_not_exist(channel):
    with pytest.raises(ValueError, match=r"DtmfRx.reset: channel=.*; expected an int in 0..1"):
        DtmfRx(2).reset(channel)


def test_reset_restarts_that_channels_count_and_forgets_a_half_heard_key():
    rx = DtmfRx(2)
    quiet = np.zeros((2, 1000), np.int16)
    rx.process(quiet)
    half = np.zeros((2, 200), np.int16)
    half[:, :] = s.to_int16(s.dtmf("8", 0.025))
    assert rx.process(half) == []
    rx.reset(0)
    events = rx.process(key_block("8", channels=2) | key_block("8", channels=2, channel=1))
    starts = {e.channel: e.start for e in events if e.end is None}
    # Channel 1 kept counting and heard one key from 1000 on; channel 0 starts again at 0
    # and, its half key forgotten, hears the new key begin at its sample 0.
    assert sorted(starts) == [0, 1]
    assert abs(starts[0] - 0) <= 12 and abs(starts[1] - 1000) <= 12


def test_a_key_still_held_at_the_end_of_a_block_has_no_end_yet():
    rx = DtmfRx(1)
    tone = s.to_int16(s.dtmf("B", 1.0))[None, :]
    (start,) = rx.process(tone)
    assert start.end is None
    (end,) = rx.process(np.zeros((1, 800), np.int16))
    assert (end.digit, end.start) == ("B", start.start) and abs(end.end - 8000) <= 12


def test_the_package_exports_the_receiver():
    import branchline.dsp

    assert branchline.dsp.DtmfRx is DtmfRx
    assert DtmfRx(5).channels == 5
