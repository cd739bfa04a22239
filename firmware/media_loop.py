"""The 20 ms media loop: one board, one block of every channel, one DSP call per kernel.

``MediaLoop(board, handler, *, country="cn", echo_canceller=True, echo_tail_ms=64)`` owns the
board's DSP state (``EchoCanceller``, ``DtmfRx``, ``CallProgressRx``, ``TxRenderer``,
``ToneTx``, ``Mixer``), the transmit block and the ``TimerHeap``. ``tick(now, due=None)``
does, in this order::

    events = board.tick(now); rx = board.read_block()
    rx = echo.process(rx, tx_of_last_tick, active=fxo_ports)     # analog lines' own echo out
    keys = dtmf.process(rx); tones = progress.process(rx)          # all channels at once
    keys = board.dtmf_events(keys)             # boards that have it: + RFC 4733, per channel
    handler.on_input(now, events, keys, tones)                     # ports, keys, hang-up tones
    handler.on_timer(owner, name, now) for every timer due          # IVR, ACD, recordings
    handler.before_render(now)                                      # host replies, config
    ended = renderer.render(tx); tone_ended = tones.render(tx)      # prompts, beeps
    mixed = mixer.apply(rx, tx)                  # + every path between ports (the mix matrix)
    board.write_block(tx)
    handler.after_render(now, ended, tone_ended, rx)                # playback finished, WAVs

The echo canceller runs on the analog trunk ports (``PortKind.FXO``: their 2-wire/4-wire hybrid
returns part of what we send) before anything listens to rx, so a caller's keys are heard over
the echo of the prompt being played (barge-in) and the prompt's echo makes no false digits.
Its reference is the block written on the previous tick: what the line was playing while this
rx was being received (a board returns the echo of block k in block k + 1, within the tail).
``echo_canceller=False`` leaves rx as the board gave it; a board without FXO ports has none.
``mixer.mixed`` keeps what each channel heard from the others this tick: recordings take
their far side from it. Nothing here iterates over channels: the handler sees only channels
with something to say.
Tick statistics: ``stats.ticks``, ``stats.late`` (ticks that started more than 20 ms after
they were due: ``due`` is the boundary the driver meant to run at) and a histogram of tick
durations (``stats.percentile(p)``; bins of 50 µs up to 20 ms, then one overflow bin).
The handler's methods are the whole contract; ``Appliance`` is the real one.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

from branchline.dsp import (
    CALL_PROGRESS_TONES,
    CallProgressRx,
    DtmfRx,
    EchoCanceller,
    Mixer,
    ToneTx,
    TxRenderer,
)
from branchline.firmware.clock import TimerHeap
from branchline.hw.ports import BLOCK_SAMPLES, BLOCK_SECONDS, Board, PortKind

__all__ = ["LoopHandler", "MediaLoop", "TickStats"]

_BIN_S = 50e-6
_BINS = 400  # 20 ms of 50 us bins; slower ticks land in the overflow bin


class TickStats:
    """Tick count, late ticks and a fixed-bin histogram of tick durations."""

    def __init__(self):
        self.ticks = 0
        self.late = 0
        self.histogram = np.zeros(_BINS + 1, dtype=np.int64)
        self.longest_s = 0.0

    def add(self, seconds: float, late: bool) -> None:
        self.ticks += 1
        self.late += late
        self.histogram[min(int(seconds / _BIN_S), _BINS)] += 1
        self.longest_s = max(self.longest_s, seconds)

    def percentile(self, p: float) -> float:
        """Upper edge (seconds) of the bin holding the p-th percentile tick (0 if no tick)."""
        if not self.ticks:
            return 0.0
        rank = max(1, int(np.ceil(self.ticks * p / 100.0)))
        index = int(np.searchsorted(np.cumsum(self.histogram), rank))
        return self.longest_s if index >= _BINS else (index + 1) * _BIN_S


class LoopHandler(Protocol):
    def on_input(self, now: float, events: list, keys: list, tones: list) -> None: ...
    def on_timer(self, owner: object, name: str, now: float) -> None: ...
    def before_render(self, now: float) -> None: ...
    def after_render(self, now: float, ended: list[int], tone_ended: list[int],
                     rx: np.ndarray) -> None: ...


class MediaLoop:
    """One board's 20 ms loop (see the module docstring)."""

    def __init__(self, board: Board, handler: LoopHandler, *, country: str = "cn",
                 echo_canceller: bool = True, echo_tail_ms: int = 64):
        self.board = board
        self.handler = handler
        channels = len(board.ports)
        self.channels = channels
        self._analog = np.array([p.kind is PortKind.FXO for p in board.ports], dtype=bool)
        self.echo = (EchoCanceller(channels, tail_ms=echo_tail_ms)
                     if echo_canceller and self._analog.any() else None)
        self.dtmf = DtmfRx(channels)
        self.progress = CallProgressRx(channels, tones=CALL_PROGRESS_TONES[country])
        self.renderer = TxRenderer(channels)
        self.tones = ToneTx(channels)
        self.mixer = Mixer(channels)
        self.timers = TimerHeap()
        self.stats = TickStats()
        self._tx = np.zeros((channels, BLOCK_SAMPLES), dtype=np.int16)
        # A board that hears keys by signalling (SIP's RFC 4733) merges them with ours.
        self._board_keys = getattr(board, "dtmf_events", None)

    def tick(self, now: float, due: float | None = None) -> None:
        started = time.perf_counter()
        board, handler = self.board, self.handler
        events = board.tick(now)
        rx = board.read_block()
        if self.echo is not None:
            # self._tx still holds the block written on the last tick: the echo reference.
            rx = self.echo.process(np.ascontiguousarray(rx), self._tx, self._analog)
        keys = self.dtmf.process(rx)
        if self._board_keys is not None:
            keys = self._board_keys(keys)
        tones = self.progress.process(rx)
        if events or keys or tones:
            handler.on_input(now, events, keys, tones)
        for owner, name in self.timers.due(now):
            handler.on_timer(owner, name, now)
        handler.before_render(now)
        tx = self._tx
        ended = self.renderer.render(tx)
        tone_ended = self.tones.render(tx)
        self.mixer.apply(rx, tx)
        board.write_block(tx)
        handler.after_render(now, ended, tone_ended, rx)
        late = due is not None and now - due > BLOCK_SECONDS
        self.stats.add(time.perf_counter() - started, late)

    def next_tick(self, now: float) -> float:
        """When the next tick is due: every block carries audio (firmware/event_loop.py's
        loop skips the blocks where nothing happens)."""
        return now + BLOCK_SECONDS
