"""The hybrid echo model the board emulator and the sim board use: return loss, tail, state."""

import numpy as np
import pytest

from branchline.hw.hybrid import HybridEcho


def band_noise(n, seed):
    """White noise band-limited to 300-3400 Hz, int16, at about -15 dBm0."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / 8000)
    spectrum[(f < 300) | (f > 3400)] = 0
    x = np.fft.irfft(spectrum, n)
    return np.round(x * 2800 / x.std()).astype(np.int16)


@pytest.mark.parametrize("return_loss", [6.0, 9.0, 12.0])
@pytest.mark.parametrize("tail", [16, 32, 64])
def test_the_echo_of_band_noise_is_return_loss_below_it(return_loss, tail):
    hybrid = HybridEcho(3, return_loss_db=return_loss, tail_ms=tail, seed=2)
    tx = np.stack([band_noise(40000, c) for c in range(3)])
    echo = hybrid.apply(tx).astype(np.float64)
    for c in range(3):
        ratio = np.mean(tx[c, 1000:].astype(np.float64) ** 2) / np.mean(echo[c, 1000:] ** 2)
        assert abs(10 * np.log10(ratio) - return_loss) < 0.5


def test_the_echo_path_lies_within_the_tail_after_a_bulk_delay():
    hybrid = HybridEcho(4, tail_ms=32, seed=7)
    for c in range(4):
        h = hybrid.impulse_response(c)
        assert len(h) == 256
        first = np.flatnonzero(h)[0]
        assert 25 <= first <= 103  # 10-40 % of the tail is flat delay
        assert np.sum(h[-16:] ** 2) < 1e-3 * np.sum(h**2)  # decayed by the end of the tail
    assert not np.array_equal(hybrid.impulse_response(0), hybrid.impulse_response(1))


def test_the_same_seed_gives_the_same_lines_and_blocks_do_not_matter():
    tx = np.stack([band_noise(4000, 1), band_noise(4000, 2)])
    whole = HybridEcho(2, seed=5).apply(tx)
    cut = HybridEcho(2, seed=5)
    pieces = [cut.apply(np.ascontiguousarray(tx[:, i : i + 37])) for i in range(0, 4000, 37)]
    assert np.array_equal(np.concatenate(pieces, axis=1), whole)
    assert not np.array_equal(HybridEcho(2, seed=6).apply(tx), whole)


def test_an_impulse_comes_back_as_the_path():
    hybrid = HybridEcho(1, return_loss_db=6.0, tail_ms=16, seed=3)
    tx = np.zeros((1, 200), np.int16)
    tx[0, 0] = 10000
    echo = hybrid.apply(tx)[0]
    assert np.max(np.abs(echo[:128] - np.round(10000 * hybrid.impulse_response(0)))) <= 1
    assert not np.any(echo[128:])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"return_loss_db=-1; expected 0\.\.60 dB"):
        HybridEcho(1, return_loss_db=-1)
    with pytest.raises(ValueError, match=r"tail_ms=1; expected an int of ms in 2\.\.128"):
        HybridEcho(1, tail_ms=1)
    with pytest.raises(ValueError, match=r"tx has shape \(2, 160\); expected \[channels=1"):
        HybridEcho(1).apply(np.zeros((2, 160), np.int16))
    with pytest.raises(TypeError, match="expected a numpy int16 array"):
        HybridEcho(1).apply(np.zeros((1, 160)))
