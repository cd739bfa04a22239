"""Loopback self-test: every port of a board plays DTMF and a tone sweep to itself.

``run_loopback_selftest(board, *, start=0.0, pace=None) -> SelfTestReport`` works on any
board that can loop a port's transmit audio back into its receive path at the codec
(``board.loopback(port, on)``; the serial board does it with ``LoopbackCommand``, the board
emulator obeys it). With every port looped back at once it writes, on every port:

1. a DTMF string (each port its own rotation of ``0123456789*#``, so crossed channels show),
   60 ms tone / 60 ms pause at -10 dBm0 per tone;
2. a tone sweep: ``SWEEP_HZ`` (300-3400 Hz, the telephone band) at ``SWEEP_DBM0``, 200 ms each
   with 100 ms of silence between;

and listens with the runtime's own ``DtmfRx``. Each tone's level comes back in dBm0 (RMS over
the tone's middle 100 ms, found after lining the received audio up with what was sent: the
board's delay is whatever it is). A port passes when it heard exactly its digits and every
sweep tone came back within ``LEVEL_TOLERANCE_DB`` of what was sent (a digital loopback at the
codec only adds A-law quantisation, ITU-T G.711).

Time: the test ticks the board 20 ms at a time from ``start``; ``pace(t)`` (if given) is
called before each tick, so a real-time caller can wait for the wall clock while a virtual one
passes nothing. First it waits (up to ``CONNECT_S``) until the board says it is connected.

The report is plain data (``as_dict()``) for the CLI and the web page's System view.
Errors: ``SelfTestError`` (a ``BoardError``) when the board cannot loop back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from branchline.dsp import DBM0_RMS, DtmfRx, ToneTx, dtmf_samples
from branchline.dsp.tones import ToneSpec
from branchline.hw.ports import BLOCK_SAMPLES, BLOCK_SECONDS, BoardError

__all__ = [
    "DTMF_KEYS",
    "LEVEL_TOLERANCE_DB",
    "SWEEP_DBM0",
    "SWEEP_HZ",
    "PortSelfTest",
    "SelfTestError",
    "SelfTestReport",
    "ToneLevel",
    "run_loopback_selftest",
]

DTMF_KEYS = "0123456789*#"
DTMF_DBM0 = -10.0
SWEEP_HZ = (300.0, 500.0, 1000.0, 2000.0, 3000.0, 3400.0)
SWEEP_DBM0 = -10.0
LEVEL_TOLERANCE_DB = 1.0
CONNECT_S = 10.0
_TONE_MS, _GAP_MS = 200, 100
_RATE = 8000


class SelfTestError(BoardError):
    """The board cannot run the loopback self-test."""


@dataclass(frozen=True, slots=True)
class ToneLevel:
    frequency_hz: float
    level_dbm0: float


@dataclass(frozen=True, slots=True)
class PortSelfTest:
    """One port's result: the digits sent and heard, each sweep tone's level back."""

    port: int
    name: str
    kind: str
    dtmf_sent: str
    dtmf_heard: str
    levels: tuple[ToneLevel, ...]

    @property
    def dtmf_ok(self) -> bool:
        return self.dtmf_heard == self.dtmf_sent

    @property
    def levels_ok(self) -> bool:
        return bool(self.levels) and all(
            abs(t.level_dbm0 - SWEEP_DBM0) <= LEVEL_TOLERANCE_DB for t in self.levels)

    @property
    def ok(self) -> bool:
        return self.dtmf_ok and self.levels_ok


@dataclass(frozen=True, slots=True)
class SelfTestReport:
    ports: tuple[PortSelfTest, ...]
    connected: bool

    @property
    def ok(self) -> bool:
        return self.connected and all(p.ok for p in self.ports)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "connected": self.connected,
            "sweep_dbm0": SWEEP_DBM0,
            "tolerance_db": LEVEL_TOLERANCE_DB,
            "ports": [{
                "port": p.port, "name": p.name, "kind": p.kind, "ok": p.ok,
                "dtmf_sent": p.dtmf_sent, "dtmf_heard": p.dtmf_heard,
                "levels": [{"hz": t.frequency_hz, "dbm0": round(t.level_dbm0, 2)}
                           for t in p.levels],
            } for p in self.ports],
        }


def _program(channels: int) -> tuple[np.ndarray, list[str], list[tuple[int, int]]]:
    """The audio every port sends, the digits per port, and each sweep tone's span."""
    sent = [DTMF_KEYS[i % len(DTMF_KEYS):] + DTMF_KEYS[:i % len(DTMF_KEYS)]
            for i in range(channels)]
    keys = [dtmf_samples(s, level_dbm0=DTMF_DBM0, on_ms=60, off_ms=60) for s in sent]
    gap = _GAP_MS * _RATE // 1000
    tone = _TONE_MS * _RATE // 1000
    head = max(len(k) for k in keys) + 2 * gap
    total = head + len(SWEEP_HZ) * (tone + gap) + 4 * gap
    total = -(-total // BLOCK_SAMPLES) * BLOCK_SAMPLES
    audio = np.zeros((channels, total), dtype=np.int16)
    for row, k in enumerate(keys):
        audio[row, : len(k)] = k
    spans = []
    generator = ToneTx(channels)
    at = head
    for hz in SWEEP_HZ:
        block = np.zeros((channels, tone), dtype=np.int16)
        spec = ToneSpec(f"sweep {hz:g}", (hz,), SWEEP_DBM0, ())
        for channel in range(channels):
            generator.start(channel, spec)
        generator.render(block)
        audio[:, at:at + tone] = block
        spans.append((at, at + tone))
        at += tone + gap
    return audio, sent, spans


def _delay(sent: np.ndarray, heard: np.ndarray) -> int:
    """Samples by which `heard` lags `sent` (cross-correlation peak, non-negative lags)."""
    n = len(sent) + len(heard)
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(heard.astype(np.float64), size) * np.conj(
        np.fft.rfft(sent.astype(np.float64), size))
    correlation = np.fft.irfft(spectrum, size)[: len(heard)]
    return int(np.argmax(correlation))


def _levels(sent, heard, spans) -> tuple[ToneLevel, ...]:
    if not np.any(heard):
        return tuple(ToneLevel(hz, -120.0) for hz in SWEEP_HZ)
    lag = _delay(sent, heard)
    quarter = (spans[0][1] - spans[0][0]) // 4
    out = []
    for hz, (a, b) in zip(SWEEP_HZ, spans, strict=True):
        segment = heard[a + lag + quarter: b + lag - quarter].astype(np.float64)
        rms = float(np.sqrt(np.mean(segment ** 2))) if segment.size else 0.0
        out.append(ToneLevel(hz, 20 * np.log10(max(rms, 1e-6) / DBM0_RMS)))
    return tuple(out)


def run_loopback_selftest(board, *, start: float = 0.0,
                          pace: Callable[[float], None] | None = None) -> SelfTestReport:
    """Loop every port back and test it (see the module docstring)."""
    loopback = getattr(board, "loopback", None)
    if loopback is None:
        raise SelfTestError(f"{type(board).__name__} cannot loop its ports back; the loopback "
                            "self-test needs a board that can (a serial board or boardemu://)")
    t = start

    def step(tx=None):
        nonlocal t
        if pace is not None:
            pace(t)
        board.tick(t)
        rx = board.read_block()
        # None: silence on every port the board has now (a serial board learns its ports
        # from its first handshake, inside a tick).
        board.write_block(np.zeros_like(rx) if tx is None else tx)
        t = round(t + BLOCK_SECONDS, 9)
        return rx

    connected = _connected(board)
    while not connected and t - start < CONNECT_S:
        step()
        connected = _connected(board)
    ports = board.ports
    if not connected:
        return SelfTestReport(tuple(_port_result(p, "", "", ()) for p in ports), False)
    channels = len(ports)
    silence = np.zeros((channels, BLOCK_SAMPLES), dtype=np.int16)
    for port in ports:
        loopback(port.index, True)
    for _ in range(5):  # let the commands land before the audio that relies on them
        step(silence)
    audio, sent, spans = _program(channels)
    tail = 25  # half a second more for the way back
    heard = np.zeros((channels, audio.shape[1] + tail * BLOCK_SAMPLES), dtype=np.int16)
    dtmf = DtmfRx(channels)
    digits = [""] * channels
    blocks = audio.shape[1] // BLOCK_SAMPLES
    for b in range(blocks + tail):
        tx = audio[:, b * BLOCK_SAMPLES:(b + 1) * BLOCK_SAMPLES] if b < blocks else silence
        rx = step(np.ascontiguousarray(tx))
        heard[:, b * BLOCK_SAMPLES:(b + 1) * BLOCK_SAMPLES] = rx
        for key in dtmf.process(rx):
            if key.end is None:
                digits[key.channel] += key.digit
    for port in ports:
        loopback(port.index, False)
    step(silence)
    results = tuple(
        _port_result(port, sent[i], digits[i], _levels(audio[i], heard[i], spans))
        for i, port in enumerate(ports))
    return SelfTestReport(results, True)


def _connected(board) -> bool:
    status = getattr(board, "status", None)
    return True if status is None else bool(status().get("connected"))


def _port_result(port, sent, heard, levels) -> PortSelfTest:
    return PortSelfTest(port.index, port.name, port.kind.value, sent, heard, levels)
