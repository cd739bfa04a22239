"""Barge-in on an analog line: the runtime's DTMF receiver hears a caller's keys over the echo
of the prompt it is playing, with the echo canceller and without it."""

import line_reference as ref
import numpy as np
import pytest

from branchline.dsp import DtmfRx, EchoCanceller

BLOCK = 160


def detect(tx, rx, *, cancel):
    """Keys found on every channel, fed 20 ms blocks as the media loop does (rx block k is
    cleaned against tx block k - 1, then goes to the DTMF receiver at its runtime settings)."""
    channels = rx.shape[0]
    ec = EchoCanceller(channels, tail_ms=64) if cancel else None
    dtmf = DtmfRx(channels)
    found = [[] for _ in range(channels)]
    previous = np.zeros((channels, BLOCK), np.int16)
    for i in range(0, rx.shape[1], BLOCK):
        block = np.ascontiguousarray(rx[:, i : i + BLOCK])
        if ec is not None:
            block = ec.process(block, previous)
        previous = np.ascontiguousarray(tx[:, i : i + BLOCK])
        for event in dtmf.process(block):
            if event.end is None:
                found[event.channel].append((event.digit, event.start))
    return found


@pytest.mark.parametrize(("return_loss", "tail", "key_dbm0", "without_at_most"), [
    (9, 32, -20.0, 0.93),   # measured 0.88 without, 1.00 with
    (6, 64, -14.0, 0.95),   # measured 0.90 without, 1.00 with
    (6, 16, -20.0, 0.80),   # measured 0.71 without (and 9 false digits), 1.00 with
])
def test_keys_over_a_playing_prompt_are_heard_with_the_canceller(return_loss, tail, key_dbm0,
                                                                 without_at_most):
    tx, rx, truth = ref.barge_in_line(16, return_loss_db=return_loss, tail_ms=tail,
                                      key_dbm0=key_dbm0, seed=return_loss)
    with_ec, false_with = ref.detection_rate(truth, detect(tx, rx, cancel=True))
    without, _ = ref.detection_rate(truth, detect(tx, rx, cancel=False))
    assert with_ec >= 0.99
    assert false_with == 0
    assert without <= without_at_most
    assert with_ec - without >= 0.04


def test_loud_keys_are_heard_either_way():
    tx, rx, truth = ref.barge_in_line(8, return_loss_db=9, tail_ms=32, key_dbm0=-8.0, seed=1)
    assert ref.detection_rate(truth, detect(tx, rx, cancel=True)) == (1.0, 0)
    assert ref.detection_rate(truth, detect(tx, rx, cancel=False))[0] >= 0.99
