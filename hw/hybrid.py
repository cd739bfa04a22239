"""The echo of an analog line's 2-wire/4-wire hybrid, for simulated and emulated boards.

``HybridEcho(channels, *, return_loss_db=9.0, tail_ms=32, seed=0)``; ``apply(tx)`` takes the
block sent on every line (int16[channels, n], any n; state carries across blocks) and returns
the echo that comes back (int16[channels, n]) for the caller to add, saturating, to the block
received at the same time. In the runtime's media loop that is the next block read: the
echo canceller takes the previous tick's transmit block as its reference, so a board model
adds ``apply(tx written at tick t)`` to the rx it returns at tick t + 1, as the sim board does.

The echo path of each channel is drawn from `seed` and the channel number: a flat (bulk) delay
of 10-40 % of the tail, then a dispersive response filling the rest of ``tail_ms``: white noise
band-limited to 300-3400 Hz under an exponential envelope that has fallen 40 dB by the end of
the tail (the shape of the ITU-T G.168 Annex D hybrid models, drawn rather than copied). Its
gain is scaled so the echo of white noise in the band is ``return_loss_db`` below it
(G.168 tests at 6 dB and more; a good line gives 10-20 dB). ``impulse_response(channel)``
returns the path, tap k = k samples of delay.
"""

import numpy as np

__all__ = ["HybridEcho"]

RATE = 8000


class HybridEcho:
    """Per-channel hybrid echo paths (see the module docstring)."""

    def __init__(self, channels, *, return_loss_db=9.0, tail_ms=32, seed=0):
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"HybridEcho: channels={channels!r}; expected an int >= 1")
        if not isinstance(return_loss_db, int | float) or not (0 <= return_loss_db <= 60):
            raise ValueError(f"HybridEcho: return_loss_db={return_loss_db!r}; expected 0..60 dB")
        if isinstance(tail_ms, bool) or not isinstance(tail_ms, int) or not (2 <= tail_ms <= 128):
            raise ValueError(f"HybridEcho: tail_ms={tail_ms!r}; expected an int of ms in 2..128")
        self.channels = channels
        self.return_loss_db = float(return_loss_db)
        self.tail_ms = tail_ms
        taps = tail_ms * RATE // 1000
        self._h = np.stack([_echo_path(taps, return_loss_db, np.random.default_rng([seed, c]))
                            for c in range(channels)])
        self._history = np.zeros((channels, taps - 1))

    def impulse_response(self, channel):
        """Channel's echo path (float64[taps]): tap k is the gain k samples after the sound."""
        return self._h[channel].copy()

    def apply(self, tx):
        """The echo of `tx` (int16[channels, n]) on each line, as int16[channels, n]."""
        if not isinstance(tx, np.ndarray) or tx.dtype != np.int16:
            raise TypeError(f"HybridEcho.apply: tx is {type(tx).__name__} "
                            f"{getattr(tx, 'dtype', '')}; expected a numpy int16 array")
        if tx.ndim != 2 or tx.shape[0] != self.channels or tx.shape[1] < 1:
            raise ValueError(f"HybridEcho.apply: tx has shape {tx.shape}; expected "
                             f"[channels={self.channels}, n >= 1]")
        taps = self._h.shape[1]
        x = np.concatenate([self._history, tx.astype(np.float64)], axis=1)
        # One convolution per line: this is the board model, not the appliance's media path.
        echo = np.stack([np.convolve(row, h, mode="valid")
                         for row, h in zip(x, self._h, strict=True)])
        self._history = x[:, x.shape[1] - (taps - 1):]
        return np.clip(np.rint(echo), -32768, 32767).astype(np.int16)


def _echo_path(taps, return_loss_db, rng):
    delay = int(taps * rng.uniform(0.1, 0.4))
    length = taps - delay
    spectrum = np.fft.rfft(rng.standard_normal(4 * length))
    f = np.fft.rfftfreq(4 * length, 1 / RATE)
    spectrum[(f < 300) | (f > 3400)] = 0
    band = np.fft.irfft(spectrum, 4 * length)[:length]
    envelope = 10 ** (-2.0 * np.arange(length) / length)  # -40 dB over the dispersive part
    h = np.zeros(taps)
    h[delay:] = band * envelope
    # Band-limited white noise comes back with its power times the mean of |H(f)|^2 over the
    # band: scale that mean to the return loss.
    response = np.abs(np.fft.rfft(h, 8192)) ** 2
    f = np.fft.rfftfreq(8192, 1 / RATE)
    gain = np.mean(response[(f >= 300) & (f <= 3400)])
    h *= 10 ** (-return_loss_db / 20) / np.sqrt(gain)
    return h
