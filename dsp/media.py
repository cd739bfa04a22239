"""Prompt audio and the transmit block: offline transcoding, and the per-block renderer.

``transcode(data)`` turns the bytes of a WAV or FLAC file (8-48 kHz, mono or stereo, 16/24-bit
or float; the caller reads the file, this module does no I/O) into int16 mono at 8 kHz: stereo
is averaged, soxr resamples with its very-high-quality anti-alias filter, and the result is
scaled so its active speech level is ``target_dbm0`` (default -20 dBm0, a usual level for
recorded prompts on a telephone line, well clear of the +3.14 dBm0 overload point; ``None``
keeps the source level, with digital full scale = 32768). The active level is measured in the
manner of ITU-T P.56 method B: 10 ms frames, 200 ms hangover, and the threshold that sits
15.9 dB below the level of the frames above it; for a steady tone it equals the RMS level.
Samples beyond int16 after scaling saturate. Bad input raises ``MediaError`` (a ValueError).

``TxRenderer(channels)`` renders the transmit block ``int16[channels, n]`` in one kernel call:
per channel, silence (zeros: the default and what ``stop`` returns to) or a prompt sequence
(``play``: int16 arrays held by reference and played back to back, from ``offset`` in the
first, with a gain). Audio from one channel to another is the mix matrix's (dsp/mix.py), added
on top afterwards. ``render(out)`` writes every row of ``out`` and returns the channels
whose prompt sequence ended in that block (the rest of that row is silence and the channel is
silent from then on). ``stop`` ends playback at once (barge-in) and is not reported as an end.
``position(channel)`` tells how far a sequence has got, so it can be resumed with
``play(prompts[p.index:], offset=p.sample)``. Gains are applied in Q12 fixed point with
rounding and saturate to int16; they may be -60 to +24 dB.
"""

import io
from dataclasses import dataclass

import numpy as np
import soundfile
import soxr

from branchline.dsp import _render
from branchline.dsp.mix import gain_q12
from branchline.dsp.tones import DBM0_RMS

__all__ = ["MediaError", "PromptPosition", "TxRenderer", "active_level_dbm0", "transcode"]

RATE = 8000
MIN_SOURCE_RATE, MAX_SOURCE_RATE = 8000, 48000
# ITU-T P.56 method B: margin between the active level and the activity threshold, hangover.
P56_MARGIN_DB = 15.9
P56_HANGOVER_S = 0.2
_FRAME = 80  # 10 ms at 8 kHz


class MediaError(ValueError):
    """Audio that cannot be used as a prompt: unreadable, empty, silent or out of range."""


@dataclass(frozen=True, slots=True)
class PromptPosition:
    """Where a playing prompt sequence is: the prompt's index and the next sample in it."""

    index: int
    sample: int


def active_level_dbm0(x):
    """Active speech level of int16-scale samples at 8 kHz, in dBm0 (see module docstring)."""
    x = np.asarray(x, dtype=np.float64)
    frames = len(x) // _FRAME
    if frames == 0:
        raise MediaError(f"active level: {len(x)} samples; need at least {_FRAME} (10 ms)")
    power = np.mean(x[: frames * _FRAME].reshape(frames, _FRAME) ** 2, axis=1)
    if not power.any():
        raise MediaError("active level: the audio is silent (all samples zero)")
    level = 10 * np.log10(np.maximum(power, 1e-10))
    hang = round(P56_HANGOVER_S * RATE / _FRAME)
    top = level.max()
    previous = None
    for threshold in np.arange(top, top - 100.0, -0.25):
        above = level >= threshold
        # hangover: a frame stays active for `hang` frames after the last one above threshold
        last_above = np.maximum.accumulate(np.where(above, np.arange(frames), -hang - 1))
        active = np.arange(frames) - last_above <= hang
        active_db = 10 * np.log10(np.mean(power[active]))
        if active_db - threshold >= P56_MARGIN_DB:
            if previous is not None:  # interpolate between this threshold and the one above
                prev_threshold, prev_db = previous
                d0, d1 = prev_db - prev_threshold, active_db - threshold
                active_db = prev_db + (active_db - prev_db) * (P56_MARGIN_DB - d0) / (d1 - d0)
            break
        previous = threshold, active_db
    return float(active_db - 20 * np.log10(DBM0_RMS))


def transcode(data, *, target_dbm0=-20.0):
    """Decode WAV/FLAC bytes to int16 mono 8 kHz at the target active level (dBm0)."""
    if not data:
        raise MediaError("transcode: no data (0 bytes); expected the bytes of a WAV or FLAC file")
    try:
        samples, rate = soundfile.read(io.BytesIO(bytes(data)), dtype="float64",
                                       always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise MediaError(
            f"transcode: cannot decode {len(data)} bytes ({exc}); expected a WAV or FLAC file"
        ) from exc
    if samples.shape[0] == 0:
        raise MediaError("transcode: the file holds no samples")
    if samples.shape[1] > 2:
        raise MediaError(f"transcode: {samples.shape[1]} channels; expected mono or stereo")
    if not MIN_SOURCE_RATE <= rate <= MAX_SOURCE_RATE:
        raise MediaError(
            f"transcode: sample rate {rate} Hz; expected {MIN_SOURCE_RATE}-{MAX_SOURCE_RATE} Hz"
        )
    mono = samples.mean(axis=1) * 32768.0
    if rate != RATE:
        mono = soxr.resample(mono, rate, RATE, quality="VHQ")
    if target_dbm0 is not None:
        if not mono.any():
            raise MediaError(f"transcode: the audio is silent; cannot bring it to {target_dbm0}"
                             " dBm0")
        mono = mono * 10 ** ((target_dbm0 - active_level_dbm0(mono)) / 20)
    return np.clip(np.rint(mono), -32768, 32767).astype(np.int16)


class TxRenderer:
    """Transmit-block renderer for `channels` channels (see the module docstring)."""

    def __init__(self, channels):
        if channels < 1:
            raise ValueError(f"TxRenderer: channels={channels}; expected at least 1")
        self.channels = channels
        self._kernel = _render.RenderKernel(channels)
        self._finished = np.zeros(channels, dtype=np.uint8)

    def _check(self, where, channel):
        if not 0 <= channel < self.channels:
            raise IndexError(
                f"TxRenderer.{where}: channel {channel} out of range 0..{self.channels - 1}"
            )

    def play(self, channel, prompts, *, offset=0, gain_db=0.0):
        """Play one int16 array, or a sequence of them back to back, replacing what was on."""
        self._check("play", channel)
        sequence = [prompts] if isinstance(prompts, np.ndarray) else list(prompts)
        for i, p in enumerate(sequence):
            if not (isinstance(p, np.ndarray) and p.dtype == np.int16 and p.ndim == 1
                    and p.flags.c_contiguous):
                what = getattr(p, "dtype", type(p).__name__)
                raise TypeError(
                    f"TxRenderer.play: prompt {i} is {what} with shape {np.shape(p)}; "
                    "expected a 1-D C-contiguous int16 array (transcode() makes one)"
                )
        first = len(sequence[0]) if sequence else 0
        if not 0 <= offset <= first:
            raise ValueError(f"TxRenderer.play: offset {offset}; expected 0..{first}")
        self._kernel.play(channel, sequence, offset, gain_q12("TxRenderer.play", gain_db))

    def stop(self, channel):
        """Put channel back to silence at once (ends a prompt or a listen)."""
        self._check("stop", channel)
        self._kernel.silence(channel)

    def playing(self, channel):
        """True while channel has a prompt sequence to play."""
        self._check("playing", channel)
        return self._kernel.mode(channel) == 1

    def position(self, channel):
        """The PromptPosition of channel's sequence, or None if it is not playing."""
        if not self.playing(channel):
            return None
        index, sample = self._kernel.position(channel)
        return PromptPosition(index, sample)

    def render(self, out):
        """Write every channel's next block into out; return channels whose prompts ended."""
        if not isinstance(out, np.ndarray) or out.dtype != np.int16 or out.ndim != 2:
            raise TypeError("TxRenderer.render: out must be an int16 array [channels, n]")
        if out.shape[0] != self.channels or not out.flags.c_contiguous:
            raise ValueError(
                f"TxRenderer.render: out has shape {out.shape}; expected a "
                f"C-contiguous ({self.channels}, n) array"
            )
        self._kernel.render(out, self._finished)
        return np.flatnonzero(self._finished).tolist()
