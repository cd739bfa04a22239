"""The mix kernel against a plain NumPy reference, and with tones on every channel."""

import numpy as np
import pytest

from branchline.dsp.mix import Mixer, MixPath, gain_q12


def reference_mix(rx, out, paths):
    """Sum of gain x source per output in int64, one rounding, saturation, then added to out."""
    mixed = np.zeros(rx.shape, dtype=np.int64)
    touched = set()
    for p in paths:
        mixed[p.to] += rx[p.source].astype(np.int64) * gain_q12("ref", p.gain_db)
        touched.add(p.to)
    mixed = np.clip((mixed + 2048) >> 12, -32768, 32767)
    result = out.astype(np.int64)
    for to in touched:
        result[to] += mixed[to]
    return np.clip(result, -32768, 32767).astype(np.int16), mixed.astype(np.int16)


@pytest.mark.parametrize("seed", range(6))
def test_random_matrices_match_the_reference(seed):
    rng = np.random.default_rng(seed)
    channels = int(rng.integers(2, 40))
    n = int(rng.choice([1, 7, 160, 321]))
    rx = rng.integers(-32768, 32768, size=(channels, n), dtype=np.int16)
    out = rng.integers(-32768, 32768, size=(channels, n), dtype=np.int16)
    mixer = Mixer(channels)
    every = []
    for owner in range(int(rng.integers(1, 6))):
        paths = set()
        for _ in range(int(rng.integers(1, 12))):
            to, source = rng.choice(channels, 2, replace=False).tolist()
            paths.add(MixPath(to, source, float(rng.choice([0.0, -6.0, 6.0, 24.0, -60.0]))))
        mixer.route(owner, paths)
        every += paths
    want_out, want_mixed = reference_mix(rx, out, every)
    mixed = mixer.apply(rx, out)
    np.testing.assert_array_equal(mixed, want_mixed)
    np.testing.assert_array_equal(out, want_out)
    assert (mixed == 32767).any() or (mixed == -32768).any()  # full-scale input saturates


def test_unity_bridge_copies_exactly_and_silence_leaves_out_alone():
    rx = np.arange(-800, 800, 10, dtype=np.int16).reshape(1, 160).repeat(3, axis=0)
    rx[1] *= -1
    out = np.full((3, 160), 5, dtype=np.int16)
    mixer = Mixer(3)
    mixer.route("call", [MixPath(0, 1), MixPath(1, 0)])
    mixed = mixer.apply(rx, out)
    np.testing.assert_array_equal(mixed[0], rx[1])
    np.testing.assert_array_equal(out[0], rx[1] + 5)
    np.testing.assert_array_equal(out[2], 5)  # nobody routed into channel 2
    assert not mixed[2].any()


def test_drop_removes_every_path_of_an_owner_and_only_its_own():
    rx = np.ones((4, 160), dtype=np.int16) * 100
    mixer = Mixer(4)
    mixer.route("a", [MixPath(0, 1), MixPath(1, 0)])
    mixer.route("b", [MixPath(2, 3)])
    mixer.drop("a")
    out = np.zeros((4, 160), dtype=np.int16)
    mixer.apply(rx, out)
    assert not out[:2].any() and (out[2] == 100).all()
    assert mixer.owners() == ["b"]
    mixer.route("b", [])
    assert mixer.owners() == []


TONE_HZ = [300.0, 500.0, 700.0, 900.0, 1100.0, 1300.0]


def tone_block(n=1600):
    t = np.arange(n) / 8000.0
    return np.stack([np.rint(4000 * np.sin(2 * np.pi * f * t)) for f in TONE_HZ]).astype(
        np.int16)


def amplitudes(row):
    """Amplitude of each test tone in one row (the tones fall on exact FFT bins)."""
    spectrum = np.abs(np.fft.rfft(row.astype(np.float64))) * 2 / len(row)
    return {f: spectrum[round(f * len(row) / 8000)] for f in TONE_HZ}


def test_each_party_hears_exactly_who_they_should_at_the_right_level():
    # Channels: 0 caller, 1 agent, 2 supervisor whispering to the agent; 3, 4, 5 a
    # three-way conference. Each channel sends its own tone.
    rx = tone_block()
    mixer = Mixer(6)
    mixer.route("call", [MixPath(0, 1), MixPath(1, 0)])
    mixer.route("whisper", [MixPath(2, 0), MixPath(2, 1), MixPath(1, 2, -6.0)])
    mixer.route("conference", [MixPath(a, b) for a in (3, 4, 5) for b in (3, 4, 5) if a != b])
    out = np.zeros_like(rx)
    mixer.apply(rx, out)
    heard = {c: {f for f, a in amplitudes(out[c]).items() if a > 4} for c in range(6)}
    assert heard == {0: {500.0}, 1: {300.0, 700.0}, 2: {300.0, 500.0},
                     3: {1100.0, 1300.0}, 4: {900.0, 1300.0}, 5: {900.0, 1100.0}}
    levels = amplitudes(out[1])
    assert levels[300.0] == pytest.approx(4000, rel=0.01)
    assert levels[700.0] == pytest.approx(4000 / 10 ** (6 / 20), rel=0.01)
    # Nothing leaks: every other tone in each row is below -60 dB of the tones' level.
    for c in range(6):
        for f, a in amplitudes(out[c]).items():
            if f not in heard[c]:
                assert a < 4, (c, f, a)


def test_bad_arguments_say_what_would_be_right():
    mixer = Mixer(3)
    with pytest.raises(ValueError, match="never hears itself"):
        mixer.route("x", [MixPath(1, 1)])
    with pytest.raises(ValueError, match=r"channel=3; expected an int in 0..2"):
        mixer.route("x", [MixPath(0, 3)])
    with pytest.raises(ValueError, match=r"gain_db=30.0; expected -60 to \+24 dB"):
        mixer.route("x", [MixPath(0, 1, 30.0)])
    assert mixer.owners() == []  # a refused route changes nothing
    with pytest.raises(TypeError, match="dtype float64; expected int16"):
        mixer.apply(np.zeros((3, 160)), np.zeros((3, 160), dtype=np.int16))
    with pytest.raises(ValueError, match=r"expected \(3, 160\)"):
        mixer.apply(np.zeros((3, 160), dtype=np.int16), np.zeros((3, 80), dtype=np.int16))
    with pytest.raises(ValueError, match="channels=0"):
        Mixer(0)
