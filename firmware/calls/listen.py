"""Listening to a call from the page: the call's voices, block by block, for a web thread.

``Listeners()`` lives on the appliance. A web thread asks for a tap with
``open(call_id, who, now_epoch)`` (thread-safe: the request waits in a deque); the loop takes
it at the next ``feed(app, rx)`` (after each tick's render), which appends to every live tap
one 20 ms frame: the sum of the received audio of everyone talking in the call (caller,
agent, colleague in a conference), saturated to int16, as a listening supervisor hears it in
the mix. The web thread reads frames with ``tap.take()`` (little-endian int16 at 8 kHz) and
ends the tap with ``tap.close()``; the loop drops closed taps. A tap whose call is over (or
never connected to an agent) is ended by the loop (``tap.ended`` says why).

A tap holds at most ``MAX_FRAMES`` frames (2 s): a reader that falls behind loses the oldest,
so a stalled browser never holds the loop's memory or its latency.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ListenTap", "Listeners"]

MAX_FRAMES = 100


@dataclass(eq=False)
class ListenTap:
    call_id: str
    who: str
    started_epoch: float
    agent: str = ""  # the agent the call was talking to when the tap opened (for the audit)
    frames: collections.deque = field(default_factory=lambda: collections.deque(
        maxlen=MAX_FRAMES))
    ended: str = ""  # why the loop ended it ("call_over", "not_connected"), "" while live
    closed: bool = False
    _ready: threading.Event = field(default_factory=threading.Event)

    def take(self) -> bytes:
        """Every frame queued so far, joined (b"" if none)."""
        out = []
        while self.frames:
            out.append(self.frames.popleft())
        return b"".join(out)

    def wait_taken(self, timeout: float) -> bool:
        """Wait until the loop has taken the tap in (or ended it)."""
        return self._ready.wait(timeout)

    def close(self) -> None:
        self.closed = True


class Listeners:
    """Every live tap of the appliance (see the module docstring)."""

    def __init__(self):
        self._requests: collections.deque[ListenTap] = collections.deque()
        self._taps: list[ListenTap] = []

    def open(self, call_id: str, who: str, now_epoch: float) -> ListenTap:
        tap = ListenTap(call_id, who, now_epoch)
        self._requests.append(tap)
        return tap

    def __bool__(self) -> bool:
        return bool(self._taps or self._requests)

    def feed(self, app, rx: np.ndarray) -> None:
        while self._requests:
            tap = self._requests.popleft()
            self._taps.append(tap)
            tap._ready.set()
        live = []
        for tap in self._taps:
            if tap.closed or tap.ended:
                continue
            call = app.by_id.get(tap.call_id)
            control = getattr(call, "control", None)
            if control is None or control.conv.over:
                tap.ended = "call_over" if control is not None else "not_connected"
                continue
            ports = sorted(set().union(*control.conv.groups()) or ())
            frame = np.clip(rx[ports].astype(np.int32).sum(axis=0), -32768, 32767)
            tap.frames.append(frame.astype("<i2").tobytes())
            live.append(tap)
        self._taps = live
