"""Line echo canceller: the kernel against its NumPy reference, ERLE after convergence, the
double-talk detectors, the tone freeze, a changed echo path, the active mask, errors."""

import importlib

import line_reference as ref
import numpy as np
import pytest

from branchline.dsp import DBM0_PEAK, EchoCanceller, compiled_kernels, dtmf_samples
from branchline.hw.hybrid import HybridEcho
from branchline.hw.sim.audio import db_gain, speech_like

BLOCK = 160


def cancel(ec, rx, tx, step=BLOCK):
    """Run `ec` over whole recordings the way the media loop does: rx block k against tx block
    k - 1 (the echo of what was sent last tick comes back now)."""
    late = np.concatenate([np.zeros((tx.shape[0], BLOCK), np.int16), tx[:, :-BLOCK]], axis=1)
    out = [ec.process(np.ascontiguousarray(rx[:, i : i + step]),
                      np.ascontiguousarray(late[:, i : i + step]))
           for i in range(0, rx.shape[1], step)]
    return np.concatenate(out, axis=1)


def prompt(channels, seconds, seed=0, level=-15.0):
    x = np.stack([speech_like(np.random.default_rng([seed, c]), seconds)
                  for c in range(channels)]) * db_gain(level)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def misalignment_db(ec, channel, path):
    """Distance of the canceller's filter from the true echo path, dB below the path."""
    h = ec.coefficients(channel)
    true = np.zeros(len(h))
    true[: len(path)] = path
    return 10 * np.log10(np.sum((h - true) ** 2) / np.sum(true**2))


def test_the_kernel_does_what_the_numpy_reference_does():
    tx, rx, _ = ref.barge_in_line(1, return_loss_db=9, tail_ms=16, key_dbm0=-14, seconds=2.5)
    ours = cancel(EchoCanceller(1, tail_ms=16), rx, tx)[0]
    late = np.concatenate([np.zeros(BLOCK, np.int16), tx[0, :-BLOCK]])
    theirs = ref.echo_cancel(rx[0], late, 128)
    assert np.max(np.abs(ours - theirs)) <= 1.0  # float32 against float64, then rounding


@pytest.mark.parametrize(("return_loss", "tail", "least"), [
    (6, 16, 14), (6, 32, 18), (6, 64, 20),
    (9, 16, 18), (9, 32, 20), (9, 64, 22),
    (12, 16, 18), (12, 32, 18), (12, 64, 20),
])
def test_erle_after_two_seconds_of_speech(return_loss, tail, least):
    # Prompt at -15 dBm0 active, line noise at -60 dBm0, A-law: measured 17.5-27.6 dB worst
    # channel (docs/line-dsp.md); the floor is the noise and A-law, not the canceller.
    tx, rx, _ = ref.barge_in_line(6, return_loss_db=return_loss, tail_ms=tail, key_dbm0=None,
                                  seconds=4)
    out = cancel(EchoCanceller(6, tail_ms=tail), rx, tx)
    erle = [ref.erle_db(rx[c, 16000:], out[c, 16000:]) for c in range(6)]
    assert min(erle) >= least, erle


def test_the_output_does_not_depend_on_how_the_audio_is_cut():
    tx, rx, _ = ref.barge_in_line(3, return_loss_db=9, tail_ms=32, key_dbm0=-14, seconds=3)
    whole = cancel(EchoCanceller(3, tail_ms=32), rx, tx)
    for step in (1, 7, 333):
        late = np.concatenate([np.zeros((3, BLOCK), np.int16), tx[:, :-BLOCK]], axis=1)
        ec = EchoCanceller(3, tail_ms=32)
        pieces = [ec.process(np.ascontiguousarray(rx[:, i : i + step]),
                             np.ascontiguousarray(late[:, i : i + step]))
                  for i in range(0, 2 * 8000, step)]
        assert np.array_equal(np.concatenate(pieces, axis=1), whole[:, : sum(
            p.shape[1] for p in pieces)])


def test_loud_near_end_speech_does_not_spoil_the_output_filter():
    tx = prompt(1, 6.0)
    hybrid = HybridEcho(1, return_loss_db=9, tail_ms=32, seed=4)
    late = np.concatenate([np.zeros((1, BLOCK), np.int16), tx[:, :-BLOCK]], axis=1)
    talker = speech_like(np.random.default_rng(99), 6.0) * db_gain(-10)
    talker[:24000] = 0  # the caller talks over the prompt from 3 s on
    rx = np.clip(np.round(hybrid.apply(late) + talker), -32768, 32767).astype(np.int16)
    ec = EchoCanceller(1, tail_ms=32)
    cancel(ec, rx[:, :24000], tx[:, :24000])
    before = misalignment_db(ec, 0, hybrid.impulse_response(0))
    held = ec.counters["double_talk"]
    for i in range(24000, 48000, BLOCK):
        ec.process(np.ascontiguousarray(rx[:, i : i + BLOCK]),
                   np.ascontiguousarray(late[:, i : i + BLOCK]))
    after = misalignment_db(ec, 0, hybrid.impulse_response(0))
    assert before < -8  # speech-like noise is band-limited: the filter needs only the band
    assert after < before + 1  # an output filter adapting on the talker would be ruined
    assert ec.counters["double_talk"] - held > 6000  # Geigel held some of the 3 s ...
    assert ec.counters["restores"] >= 1  # ... and the two paths kept the damage off the output


def test_a_tone_we_send_freezes_adaptation():
    # ITU-T G.168 requires the canceller not to adapt on narrowband signals (its tests use
    # tones; on a Chinese line, the 450 Hz tones are ours to send).
    t = np.arange(16000)
    tone = np.round(DBM0_PEAK * db_gain(-10) * np.sin(2 * np.pi * 450 * t / 8000))
    tx = np.concatenate([prompt(1, 2.0)[0], tone.astype(np.int16), prompt(1, 2.0, seed=1)[0]])
    hybrid = HybridEcho(1, return_loss_db=9, tail_ms=32, seed=5)
    late = np.concatenate([np.zeros(BLOCK, np.int16), tx[:-BLOCK]])
    rx = hybrid.apply(late[None, :])
    ec = EchoCanceller(1, tail_ms=32)
    cancel(ec, rx[:, :16000], tx[None, :16000])
    adapted = ec.counters["adapted"]
    cancel(ec, rx[:, 16000:32000], tx[None, 16000:32000])
    # The reference is a block late: 160 samples of speech, the tone's first frame, then
    # frozen for the whole tone.
    assert ec.counters["adapted"] - adapted <= 4 * 80
    assert ec.counters["tone_freeze"] >= 15000
    adapted = ec.counters["adapted"]
    cancel(ec, rx[:, 32000:], tx[None, 32000:])
    assert ec.counters["adapted"] - adapted > 8000  # speech again: adapting again


def test_a_callers_key_under_the_prompt_echo_does_not_spoil_the_filter():
    tx = prompt(1, 6.0)
    hybrid = HybridEcho(1, return_loss_db=9, tail_ms=32, seed=6)
    late = np.concatenate([np.zeros((1, BLOCK), np.int16), tx[:, :-BLOCK]], axis=1)
    keys = np.zeros(48000)
    for k, at in enumerate(range(24000, 46000, 2000)):
        tone = dtmf_samples("0123456789*"[k], level_dbm0=-20.0, on_ms=100, off_ms=0)
        keys[at : at + len(tone)] = tone
    rx = np.clip(np.round(hybrid.apply(late) + keys), -32768, 32767).astype(np.int16)
    ec = EchoCanceller(1, tail_ms=32)
    cancel(ec, rx[:, :24000], tx[:, :24000])
    before = misalignment_db(ec, 0, hybrid.impulse_response(0))
    for i in range(24000, 48000, BLOCK):
        ec.process(np.ascontiguousarray(rx[:, i : i + BLOCK]),
                   np.ascontiguousarray(late[:, i : i + BLOCK]))
    assert misalignment_db(ec, 0, hybrid.impulse_response(0)) < before + 3


def test_a_new_echo_path_is_learnt_again():
    tx = prompt(2, 10.0)
    late = np.concatenate([np.zeros((2, BLOCK), np.int16), tx[:, :-BLOCK]], axis=1)
    first = HybridEcho(2, return_loss_db=9, tail_ms=32, seed=1).apply(late)
    second = HybridEcho(2, return_loss_db=9, tail_ms=32, seed=2).apply(late)
    noise = np.random.default_rng(0).normal(0, 16, (2, 80000))
    rx = np.round(np.concatenate([first[:, :40000], second[:, 40000:]], axis=1) + noise)
    out = cancel(EchoCanceller(2, tail_ms=64), rx.astype(np.int16), tx)
    rx = rx.astype(np.int16)
    assert ref.erle_db(rx[:, 36000:40000], out[:, 36000:40000]) > 20
    assert ref.erle_db(rx[:, 40000:42000], out[:, 40000:42000]) < 6  # the change is heard
    assert ref.erle_db(rx[:, 60000:], out[:, 60000:]) > 20  # and learnt within 2.5 s


def test_inactive_channels_pass_through_and_stand_still():
    tx, rx, _ = ref.barge_in_line(2, return_loss_db=9, tail_ms=16, key_dbm0=None, seconds=2)
    ec = EchoCanceller(2, tail_ms=16)
    fresh = EchoCanceller(2, tail_ms=16)
    late = np.concatenate([np.zeros((2, BLOCK), np.int16), tx[:, :-BLOCK]], axis=1)
    mask = np.array([True, False])
    for i in range(0, 8000, BLOCK):
        out = ec.process(np.ascontiguousarray(rx[:, i : i + BLOCK]),
                         np.ascontiguousarray(late[:, i : i + BLOCK]), active=mask)
        assert np.array_equal(out[1], rx[1, i : i + BLOCK])
        fresh.process(np.ascontiguousarray(rx[:, i : i + BLOCK]),
                      np.ascontiguousarray(late[:, i : i + BLOCK]), active=mask)
    assert np.any(ec.coefficients(0) != 0)
    assert not np.any(ec.coefficients(1))
    ec.reset(0)
    assert not np.any(ec.coefficients(0))


def test_bad_blocks_and_options_are_refused_with_the_fix():
    ec = EchoCanceller(2, tail_ms=32)
    good = np.zeros((2, BLOCK), np.int16)
    with pytest.raises(TypeError, match=r"rx has dtype float64; expected int16"):
        ec.process(np.zeros((2, BLOCK)), good)
    with pytest.raises(ValueError, match=r"tx has shape \(1, 160\)"):
        ec.process(good, np.zeros((1, BLOCK), np.int16))
    with pytest.raises(ValueError, match=r"rx has shape \(2, 160\) but tx \(2, 80\)"):
        ec.process(good, np.zeros((2, 80), np.int16))
    with pytest.raises(ValueError, match=r"active has shape \(2,\) and dtype int64; expected "
                                         r"bool\[2\]"):
        ec.process(good, good, active=np.array([1, 0]))
    with pytest.raises(ValueError, match="not C-contiguous"):
        ec.process(np.zeros((BLOCK, 2), np.int16).T, good)
    with pytest.raises(ValueError, match=r"tail_ms=128; expected an int of ms in 16..64"):
        EchoCanceller(1, tail_ms=128)
    with pytest.raises(ValueError, match=r"mu=0; expected an NLMS step in \(0, 1\]"):
        EchoCanceller(1, mu=0)
    with pytest.raises(ValueError, match=r"channel=5; expected an int in 0..1"):
        ec.reset(5)


def test_the_canceller_runs_its_compiled_kernel():
    module = importlib.import_module(type(EchoCanceller(1)._kernel).__module__)
    assert module.__name__ == "branchline.dsp._echo"
    assert "_echo" in compiled_kernels()


def test_a_line_without_echo_comes_through_unharmed():
    # G.168's infinite return loss case: the canceller must not add what is not there.
    tx = prompt(2, 4.0)
    near = np.stack([np.random.default_rng(c).normal(0, 300, 32000) for c in range(2)])
    rx = np.round(near).astype(np.int16)
    out = cancel(EchoCanceller(2, tail_ms=64), rx, tx)
    assert abs(ref.erle_db(rx, out)) < 0.2
    assert np.max(np.abs(out.astype(np.int32) - rx)) < 300
