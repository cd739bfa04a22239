"""Line echo canceller: the kernel's fast paths give what the plain algorithm gives.

The kernel computes the output in a block FIR four samples at a time (one at a time for what
is left of a chunk), sums filters in vector lanes with a remainder for tails that are not a
multiple of 16 taps, and skips the filters while the whole tail of tx is digital silence
(dsp/_echo.pyx). Each of those must agree with the NumPy reference and with itself however
the audio is cut."""

import line_reference as ref
import numpy as np
import pytest

from branchline.dsp import EchoCanceller, dtmf_samples
from branchline.hw.hybrid import HybridEcho
from branchline.hw.sim.audio import db_gain, speech_like

BLOCK = 160


def line_with_silences(tail_ms, seconds=2.5, seed=3):
    """(tx, late, rx): a -15 dBm0 prompt with two stretches of digital silence longer than
    the tail, its echo (9 dB, `tail_ms`) a block late, line noise and one caller's key."""
    n = int(seconds * 8000)
    prompt = speech_like(np.random.default_rng(seed), seconds)[:n] * db_gain(-15)
    prompt[6000:7000] = 0
    prompt[12000:12400] = 0
    tx = np.clip(np.round(prompt), -32768, 32767).astype(np.int16)[None, :]
    late = np.concatenate([np.zeros((1, BLOCK), np.int16), tx[:, :-BLOCK]], axis=1)
    echo = HybridEcho(1, return_loss_db=9, tail_ms=tail_ms, seed=seed).apply(late)
    near = np.random.default_rng(seed + 1).normal(0, 8, n)
    key = dtmf_samples("5", level_dbm0=-20.0, on_ms=80, off_ms=0)
    near[15000 : 15000 + len(key)] += key
    rx = np.clip(np.round(echo + near), -32768, 32767).astype(np.int16)
    return tx, late, rx


def run(ec, rx, late, step):
    return np.concatenate([ec.process(np.ascontiguousarray(rx[:, i : i + step]),
                                      np.ascontiguousarray(late[:, i : i + step]))
                           for i in range(0, rx.shape[1], step)], axis=1)


@pytest.mark.parametrize(("tail_ms", "step"), [(17, 5), (23, 160), (16, 3)])
def test_odd_tails_and_cuts_do_what_the_numpy_reference_does(tail_ms, step):
    # 17 and 23 ms are 136 and 184 taps: 8 taps beyond a multiple of 16, the lanes' remainder.
    # Cuts of 5 and 3 make chunks the four-sample block FIR cannot cover alone.
    _, late, rx = line_with_silences(tail_ms)
    ours = run(EchoCanceller(1, tail_ms=tail_ms), rx, late, step)[0]
    theirs = ref.echo_cancel(rx[0], late[0], tail_ms * 8)
    assert np.max(np.abs(ours - theirs)) <= 1.0  # float32 against float64, then rounding
    assert ref.erle_db(rx[0, 16000:], ours[16000:]) > 15  # and it did cancel


def test_while_the_whole_tail_is_silent_rx_comes_through_bit_for_bit():
    _, late, rx = line_with_silences(32)
    ec = EchoCanceller(1, tail_ms=32)
    out = run(ec, rx, late, BLOCK)
    # late is silent over [6160, 7160); the tail (256 samples) is all silence from 6416 on.
    assert np.array_equal(out[0, 6416:7160], rx[0, 6416:7160])
    assert not np.array_equal(out[0, 6160:6416], rx[0, 6160:6416])  # the echo still dying
    assert not np.array_equal(out[0, 7160:7400], rx[0, 7160:7400])  # and cancelled again


def test_digital_silence_leaves_the_learnt_path_alone():
    _, late, rx = line_with_silences(32, seconds=4.0)
    ec = EchoCanceller(1, tail_ms=32)
    silence = np.zeros((1, 8000), np.int16)
    noise = np.round(np.random.default_rng(7).normal(0, 8, (1, 8000))).astype(np.int16)
    run(ec, rx[:, :5600], late[:, :5600], BLOCK)
    run(ec, noise[:, :800], silence[:, :800], BLOCK)  # the prompt leaves the tail
    before, adapted = ec.coefficients(0), ec.counters["adapted"]
    out = run(ec, noise[:, 800:], silence[:, 800:], BLOCK)
    assert np.array_equal(ec.coefficients(0), before)
    assert ec.counters["adapted"] == adapted
    assert np.array_equal(out, noise[:, 800:])
    # The same path is cancelled at once when the prompt comes back.
    back = run(ec, rx[:, 16000:24000], late[:, 16000:24000], BLOCK)
    assert ref.erle_db(rx[0, 16000:24000], back[0]) > 15


@pytest.mark.parametrize("tail_ms", [17, 64])
def test_odd_tails_give_the_same_output_however_the_audio_is_cut(tail_ms):
    _, late, rx = line_with_silences(tail_ms, seconds=2.0)
    whole = run(EchoCanceller(1, tail_ms=tail_ms), rx, late, BLOCK)
    for step in (1, 3, 5, 81, 161):
        assert np.array_equal(run(EchoCanceller(1, tail_ms=tail_ms), rx, late, step), whole)
