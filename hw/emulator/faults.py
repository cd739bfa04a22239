"""Fault injection for the board emulator: what goes wrong on the link, and when.

A fault plan is written as a comma-separated list (the ``faults`` parameter of a
``boardemu://`` URL, docs/boardemu.md)::

    noise:0.001,drop:0.01,late:0.005,stall@600,reset@1200,unplug@1800+30

Rates (each a probability from 0 to 1, drawn from the emulator's own seeded generator):

- ``noise:P``  each byte the board sends is corrupted (XOR with a random non-zero byte) with
  probability P: the host sees CRC and framing errors and must resynchronise;
- ``drop:P``   each audio frame the board would send is lost with probability P;
- ``late:P``   each audio frame is held back with probability P and sent 80 ms late (four
  blocks: past its turn in the host's jitter buffer).

Timed faults (T and D in seconds of board time since the emulator's first tick):

- ``stall@T[+D]``  the board's firmware hangs: from T it neither reads nor sends for D
  seconds (default 5), then its watchdog reboots it (as ``reset``);
- ``reset@T``      the board reboots: every line goes on hook (calls on it are lost), stations
  stop ringing, and it announces itself again and waits for the host's handshake;
- ``unplug@T[+D]`` the cable is pulled for D seconds (default 10): the device disappears, and
  a USB-powered board loses power, so it boots afresh when plugged back in.

``parse_faults(text)`` returns a ``FaultPlan`` or raises ``FaultSpecError`` naming the bad
item and listing the good forms. ``FaultPlan`` is a frozen value; ``TimedFault`` items are
sorted by time.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

__all__ = [
    "DEFAULT_STALL_S",
    "DEFAULT_UNPLUG_S",
    "FAULT_FORMS",
    "FaultPlan",
    "FaultSpecError",
    "TimedFault",
    "parse_faults",
]

DEFAULT_STALL_S = 5.0
DEFAULT_UNPLUG_S = 10.0
FAULT_FORMS = ("noise:P", "drop:P", "late:P", "stall@T[+D]", "reset@T", "unplug@T[+D]")
_RATES = ("noise", "drop", "late")
_TIMED = {"stall": DEFAULT_STALL_S, "reset": None, "unplug": DEFAULT_UNPLUG_S}
_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_RATE_RE = re.compile(rf"([a-z_]+):{_NUMBER}")
_TIMED_RE = re.compile(rf"([a-z_]+)@{_NUMBER}(?:\+{_NUMBER})?")


class FaultSpecError(ValueError):
    """A fault plan could not be read; the message names the item and the good forms."""


@dataclass(frozen=True, slots=True)
class TimedFault:
    """One timed fault: ``kind`` ('stall', 'reset' or 'unplug') at ``at`` for ``duration``."""

    kind: str
    at: float
    duration: float = 0.0

    @property
    def end(self) -> float:
        return self.at + self.duration


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Rates of the random faults and the timed faults, in time order."""

    noise: float = 0.0
    drop: float = 0.0
    late: float = 0.0
    timed: tuple[TimedFault, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.noise or self.drop or self.late or self.timed)

    def __str__(self) -> str:
        items = [f"{name}:{getattr(self, name):g}" for name in _RATES if getattr(self, name)]
        for fault in self.timed:
            extra = f"+{fault.duration:g}" if fault.kind != "reset" else ""
            items.append(f"{fault.kind}@{fault.at:g}{extra}")
        return ",".join(items)


def _bad(item: str, why: str) -> FaultSpecError:
    return FaultSpecError(f"faults: {item!r}: {why}; write a comma-separated list of "
                          f"{', '.join(FAULT_FORMS)} (P a probability from 0 to 1, T and D "
                          "seconds), e.g. 'noise:0.001,drop:0.01,reset@1200,unplug@1800+30'")


def parse_faults(text: str | None) -> FaultPlan:
    """Read a fault plan (see the module docstring); '' or None is no fault at all."""
    rates = dict.fromkeys(_RATES, 0.0)
    seen = set()
    timed = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        if m := _RATE_RE.fullmatch(item):
            name, value = m.group(1), float(m.group(2))
            if name not in _RATES:
                raise _bad(item, f"{name!r} is not a rate fault (rates: {', '.join(_RATES)})")
            if name in seen:
                raise _bad(item, f"{name} is given twice")
            if not 0.0 <= value <= 1.0:
                raise _bad(item, f"{value:g} is not a probability")
            seen.add(name)
            rates[name] = value
        elif m := _TIMED_RE.fullmatch(item):
            name = m.group(1)
            if name not in _TIMED:
                raise _bad(item, f"{name!r} is not a timed fault (timed: {', '.join(_TIMED)})")
            default = _TIMED[name]
            if default is None and m.group(3) is not None:
                raise _bad(item, "a reset takes no duration")
            duration = float(m.group(3)) if m.group(3) is not None else (default or 0.0)
            if default is not None and duration <= 0:
                raise _bad(item, "the duration must be more than 0 seconds")
            timed.append(TimedFault(name, float(m.group(2)), duration))
        else:
            raise _bad(item, "not a fault")
    timed.sort(key=lambda f: f.at)
    for earlier, later in itertools.pairwise(timed):
        if later.at < earlier.end:
            raise _bad(f"{later.kind}@{later.at:g}",
                       f"it starts before the {earlier.kind} at {earlier.at:g} s is over "
                       f"({earlier.end:g} s)")
    return FaultPlan(timed=tuple(timed), **rates)
