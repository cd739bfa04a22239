"""The mix matrix: every audio path between channels, applied to the whole block in one call.

``Mixer(channels)`` holds a sparse matrix of paths ``(to, source) -> gain``, grouped by owner
(a call, a call back): ``route(owner, paths)`` replaces everything that owner had with
``paths``, an iterable of ``MixPath(to, source, gain_db)``; ``drop(owner)`` removes it all. An
owner that ends drops its paths in one step, so no path outlives the call that made it.
Paths of different owners into the same channel add up.

``apply(rx, out)`` computes, for every channel with paths into it, the sum of its sources'
received audio times their gains (Q12 fixed point, 64-bit sums, one rounding, saturated to
int16), writes those sums into ``mixed`` (a block the size of rx: zero where nothing is mixed)
and adds them into ``out`` with saturation, on top of what the renderer and the tone
generator put there. It returns ``mixed``: what each channel heard from the other channels
this block, which is where recordings take their far side from. The matrix is compiled into
compressed rows only when a route changed, never per block. Gains are -60 to +24 dB.
"""

from dataclasses import dataclass

import numpy as np

from branchline.dsp import _mix
from branchline.dsp._blocks import check_block, check_channel, is_block

__all__ = ["MixPath", "Mixer", "gain_q12"]


@dataclass(frozen=True, slots=True)
class MixPath:
    """`to` hears `source` at `gain_db`."""

    to: int
    source: int
    gain_db: float = 0.0


def gain_q12(where, gain_db):
    if not -60.0 <= gain_db <= 24.0:
        raise ValueError(f"{where}: gain_db={gain_db}; expected -60 to +24 dB")
    return round(4096 * 10 ** (gain_db / 20))


class Mixer:
    """The board's mix matrix (see the module docstring)."""

    def __init__(self, channels):
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"Mixer: channels={channels!r}; expected an int >= 1")
        self.channels = channels
        self._owners: dict[object, tuple[tuple[int, int, int], ...]] = {}
        self._compiled = None
        self.mixed = np.zeros((channels, 160), dtype=np.int16)

    def route(self, owner, paths):
        """Make `paths` the whole set of `owner`'s paths (an empty set drops the owner)."""
        entries = []
        for p in paths:
            check_channel(p.to, self.channels, "Mixer.route")
            check_channel(p.source, self.channels, "Mixer.route")
            if p.to == p.source:
                raise ValueError(f"Mixer.route: path {p.source} -> {p.to}; a channel never "
                                 "hears itself (that is an echo); route it to another channel")
            entries.append((p.to, p.source, gain_q12("Mixer.route", p.gain_db)))
        entries = tuple(sorted(set(entries)))
        if not entries:
            self.drop(owner)
        elif self._owners.get(owner) != entries:
            self._owners[owner] = entries
            self._compiled = None

    def drop(self, owner):
        """Remove every path `owner` made (nothing if it had none)."""
        if self._owners.pop(owner, None) is not None:
            self._compiled = None

    def paths(self, owner=None):
        """The paths of `owner` (every owner's if None), as MixPath objects with gains in dB."""
        owners = self._owners.values() if owner is None else [self._owners.get(owner, ())]
        return [MixPath(to, source, round(20 * np.log10(q / 4096), 3))
                for entries in owners for to, source, q in entries]

    def heard_by(self, channel):
        """The channels `channel` hears through the matrix (any owner), sorted."""
        return sorted({s for entries in self._owners.values() for to, s, _ in entries
                       if to == channel})

    def owners(self):
        return list(self._owners)

    def _compile(self):
        entries = sorted(e for es in self._owners.values() for e in es)
        to = np.array([e[0] for e in entries], dtype=np.int32)
        rows, starts = np.unique(to, return_index=True)
        self._compiled = (
            rows.astype(np.int32),
            np.append(starts, len(entries)).astype(np.int32),
            np.array([e[1] for e in entries], dtype=np.int32),
            np.array([e[2] for e in entries], dtype=np.int32),
        )

    def apply(self, rx, out):
        """Add the mix of rx into out (both int16[channels, n]); return the mix alone."""
        if not (is_block(rx, self.channels) and is_block(out, self.channels)):
            check_block(rx, self.channels, "Mixer.apply", "rx")
            check_block(out, self.channels, "Mixer.apply", "out")
        if out.shape != rx.shape:
            raise ValueError(f"Mixer.apply: out has shape {out.shape}; expected {rx.shape} "
                             "(the shape of rx)")
        if self.mixed.shape != rx.shape:
            self.mixed = np.zeros(rx.shape, dtype=np.int16)
        if self._compiled is None:
            self._compile()
        _mix.mix(rx, out, self.mixed, *self._compiled)
        return self.mixed
