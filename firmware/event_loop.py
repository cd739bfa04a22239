"""The media loop's event mode: the same engines, records and KPIs, without audio.

``EventLoop(board, handler, *, country="cn")`` stands in for ``MediaLoop`` when the board is
an ``EventSimBoard`` (``branchline simulate --media events``). The handler (``Appliance``), the
call sessions, the stations, the IVR and ACD engines and the records are the same objects
running the same code; what the DSP did with audio is done here with events. It offers the
loop's surface the calls use: ``renderer`` (play, stop, playing), ``tones`` (start, stop),
``mixer`` (the real ``Mixer``: route, drop), ``dtmf`` and ``progress`` (the real receivers,
which calls reset and configure but which hear nothing here), ``timers`` and ``stats``.
``tick(now, due=None)`` does, in this order::

    events = board.tick(now); keys, tones = board.signals(now)    # keys and busy tone as events
    handler.on_input(now, events, keys, tones)
    handler.on_timer(owner, name, now) for every timer due
    handler.before_render(now)
    ended = renderer.ended(now)                    # prompts whose last block is this one
    board.transmit(port, Sending) for every port whose prompt, tone or mix changed
    board.listen(now)                              # what callers hear in this block
    handler.after_render(now, ended, [], None)     # no audio: no recording, nothing to hear
    board.transmit(...) for what after_render changed: heard from the next block on

``next_tick(now)`` is the next 20 ms boundary at which anything is due: the board's people,
a timer, a prompt's end, a host reply being waited for (the next block, as ``MediaLoop``
would). Ticks between are skipped: nothing in them could change anything. A prompt ends on
the block its last sample is rendered in, as ``TxRenderer`` reports it; one started by
``after_render`` begins with the next block, as with the renderer, which has already rendered
this one by then.
"""

from __future__ import annotations

import heapq
import math
import time
from typing import Protocol

import numpy as np

from branchline.dsp import CALL_PROGRESS_TONES, CallProgressRx, DtmfRx, Mixer
from branchline.firmware.clock import TimerHeap
from branchline.firmware.media_loop import LoopHandler, TickStats
from branchline.hw.ports import BLOCK_SAMPLES, BLOCK_SECONDS
from branchline.hw.sim.event_board import EventSimBoard, Sending

__all__ = ["EventLoop", "EventLoopHandler"]


class EventLoopHandler(LoopHandler, Protocol):
    @property
    def waiting_for_host(self) -> bool: ...  # a reply to collect on the next block


class _Playout:
    """Which prompt sequence each channel plays, from which block, and the block it ends in."""

    def __init__(self, changed: set[int]):
        self.block = 0.0  # the block a prompt started now is first heard in
        self._playing: dict[int, tuple[float, tuple, int, float, float]] = {}
        self._ends: list[tuple[float, int]] = []  # heap of (last block, channel); stale kept
        self._changed = changed

    def play(self, channel, prompts, *, offset=0, gain_db=0.0):
        prompts = (prompts,) if isinstance(prompts, np.ndarray) else tuple(prompts)
        samples = sum(len(p) for p in prompts) - offset
        end = self.block + max(math.ceil(samples / BLOCK_SAMPLES) - 1, 0) * BLOCK_SECONDS
        self._playing[channel] = (self.block, prompts, offset, gain_db, round(end, 6))
        heapq.heappush(self._ends, (round(end, 6), channel))
        self._changed.add(channel)

    def stop(self, channel):
        if self._playing.pop(channel, None) is not None:
            self._changed.add(channel)

    def playing(self, channel) -> bool:
        return channel in self._playing

    def ended(self, now: float) -> list[int]:
        done = []
        while self._ends and self._ends[0][0] <= now + 1e-9:
            end, channel = heapq.heappop(self._ends)
            playing = self._playing.get(channel)
            if playing is not None and playing[4] == end:
                del self._playing[channel]
                done.append(channel)
        return done

    def next_end(self) -> float:
        while self._ends and self._playing.get(self._ends[0][1], (0,) * 5)[4] != \
                self._ends[0][0]:
            heapq.heappop(self._ends)  # stopped, or replaced by another prompt
        return self._ends[0][0] if self._ends else math.inf

    def sending(self, channel):
        """(prompts, since, offset, gain_db) of what the channel plays, or None."""
        playing = self._playing.get(channel)
        return None if playing is None else (playing[1], playing[0], playing[2], playing[3])


class _Tones:
    """Which tone each channel plays (the station beeps, busy tone, the message beep)."""

    def __init__(self, changed: set[int]):
        self.block = 0.0
        self._playing: dict[int, tuple[float, object, bool]] = {}
        self._changed = changed

    def start(self, channel, spec, *, level_dbm0=None, repeat=True):
        self._playing[channel] = (self.block, spec, repeat)
        self._changed.add(channel)

    def stop(self, channel):
        if self._playing.pop(channel, None) is not None:
            self._changed.add(channel)

    def sending(self, channel):
        """(since, spec, repeat) of the channel's tone, or None."""
        return self._playing.get(channel)


class _Mixer(Mixer):
    """The real mix matrix, noting which channels' paths changed and what each hears."""

    def __init__(self, channels: int, changed: set[int]):
        super().__init__(channels)
        self._changed = changed
        self._by_owner: dict[object, list] = {}
        self._heard: dict[int, list[int]] = {}  # channel -> sources, one per path

    def route(self, owner, paths):
        paths = list(paths)
        super().route(owner, paths)
        self._note(owner)

    def drop(self, owner):
        super().drop(owner)
        self._note(owner)

    def sources(self, channel: int) -> tuple[int, ...]:
        return tuple(self._heard.get(channel, ()))

    def _note(self, owner):
        for path in self._by_owner.pop(owner, ()):
            self._heard[path.to].remove(path.source)
            if not self._heard[path.to]:
                del self._heard[path.to]
            self._changed.add(path.to)
        paths = self.paths(owner)
        if paths:
            self._by_owner[owner] = paths
        for path in paths:
            self._heard.setdefault(path.to, []).append(path.source)
            self._changed.add(path.to)


class EventLoop:
    """The media loop without audio (see the module docstring)."""

    def __init__(self, board: EventSimBoard, handler: EventLoopHandler, *, country: str = "cn"):
        if not isinstance(board, EventSimBoard):
            raise TypeError(f"EventLoop: board {type(board).__name__} carries audio; the event "
                            "mode needs an EventSimBoard (hw/sim/event_board.py), and any "
                            "other board runs with MediaLoop")
        self.board = board
        self.handler = handler
        channels = len(board.ports)
        self.channels = channels
        self._changed: set[int] = set()
        self.renderer = _Playout(self._changed)
        self.tones = _Tones(self._changed)
        self.mixer = _Mixer(channels, self._changed)
        self.dtmf = DtmfRx(channels)
        self.progress = CallProgressRx(channels, tones=CALL_PROGRESS_TONES[country])
        self.timers = TimerHeap()
        self.stats = TickStats()

    def tick(self, now: float, due: float | None = None) -> None:
        started = time.perf_counter()
        board, handler = self.board, self.handler
        self.renderer.block = self.tones.block = now
        events = board.tick(now)
        keys, tones = board.signals(now)
        if events or keys or tones:
            handler.on_input(now, events, keys, tones)
        for owner, name in self.timers.due(now):
            handler.on_timer(owner, name, now)
        handler.before_render(now)
        ended = self.renderer.ended(now)
        self._transmit(now)
        board.listen(now)
        after = round(now + BLOCK_SECONDS, 6)
        self.renderer.block = self.tones.block = after
        handler.after_render(now, ended, [], None)
        self._transmit(after)
        late = due is not None and now - due > BLOCK_SECONDS
        self.stats.add(time.perf_counter() - started, late)

    def next_tick(self, now: float) -> float:
        """The next block boundary after `now` at which anything is due (inf: nothing)."""
        due = min(self.board.next_due(), self.renderer.next_end(),
                  self.timers.next_deadline() or math.inf)
        if self.handler.waiting_for_host:
            due = now
        if due == math.inf:
            return due
        step = max(math.ceil(round((due - now) / BLOCK_SECONDS, 6)), 1)
        return round(now + step * BLOCK_SECONDS, 6)

    def _transmit(self, since: float) -> None:
        if not self._changed:
            return
        for channel in sorted(self._changed):
            prompts, prompts_from, offset, gain_db = self.renderer.sending(channel) or (
                (), since, 0, 0.0)
            tone_from, tone, repeat = self.tones.sending(channel) or (since, None, True)
            self.board.transmit(channel, Sending(
                since, prompts, prompts_from, offset, gain_db, tone, tone_from, repeat,
                self.mixer.sources(channel)))
        self._changed.clear()
