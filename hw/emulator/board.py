"""The board side of the board protocol, emulated: firmware behaviour over virtual lines.

``BoardEmulator(trunks, stations, *, scenario=None, seed=None, faults=None, echo=None)`` is
sans-I/O: ``receive(data)`` takes the bytes the host wrote, ``tick(now)`` moves the board to
board time ``now`` (seconds; it runs one 20 ms block per boundary passed) and returns the bytes
the board sends. It reads no clock and touches no port; ``EmulatedBoard`` and the emulator
thread (hw/emulator/link.py) carry its bytes over a real pseudo-terminal.

Theory of operation (docs/board-protocol.md is the protocol; this is how our firmware uses
it, and docs/boardemu.md says the same for people):

- Power-on: the board sends ``Boot(POWER_ON)`` and repeats it every second until a host says
  ``Hello``; before that it answers nothing and sends nothing else.
- ``Hello`` opens a session: the board restarts its frame numbering, replies ``HelloReply``
  (protocol version, firmware, serial number, inventory: FXO trunks then FXS stations), then
  reports every line's state (``LineEvent``) and every station off hook (``HookEvent``). A
  ``Hello`` in a session opens a new one the same way.
- In a session: a ``Heartbeat`` every 0.5 s; every 20 ms one ``Audio`` frame per port with
  that port's audio sequence number; events as they happen: ``RingEvent`` (with the length of
  the state before: the cadence), ``CallerIdAudio`` chunks of 20 ms for each caller-ID burst
  heard between the first and second ring, ``HookEvent`` for stations, ``LineEvent`` when a
  trunk's loop changes (off hook, on hook, and the loop-current drop of a line that clears
  that way). Every command is answered with an ``Ack`` quoting its frame seq.
- No frame from the host for ``HOST_TIMEOUT_S``: the session ends, every line goes on hook
  (a host that died must not hold the branch's lines) and the board waits for a Hello.
- Host audio: the frame of each port is played in the next block; a port with no frame plays
  silence for that block (counted ``audio_missing`` if the port is in use: a trunk or station
  off hook, or a port looped back).

Faults (hw/emulator/faults.py) are applied here: noise corrupts the bytes sent, drop and late
act on audio frames, stall/reset/unplug act on the firmware. ``counters`` counts what the
board did and every fault it injected; ``plugged`` says whether the cable is in (the link
follows it).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from branchline.dsp import alaw_decode, alaw_encode
from branchline.hw import protocol as p
from branchline.hw.emulator.faults import FaultPlan, parse_faults
from branchline.hw.emulator.lines import CallerIdAudio, VirtualLines
from branchline.hw.ports import (
    BLOCK_SAMPLES,
    BLOCK_SECONDS,
    ClearSignal,
    ClockError,
    FarEndHangup,
    HookFlash,
    OffHook,
    OnHook,
    PortKind,
    Ring,
    RingCadence,
    RingOff,
)
from branchline.hw.sim.scenario import Scenario, load_scenario

__all__ = ["FIRMWARE", "HEARTBEAT_S", "HOST_TIMEOUT_S", "BoardEmulator"]

FIRMWARE = "boardemu-1.0"
HEARTBEAT_S = 0.5
HOST_TIMEOUT_S = 5.0
BOOT_REPEAT_S = 1.0
# A late frame is held this many blocks: past its turn in a host jitter buffer 2-3 deep.
LATE_BLOCKS = 4
_HOST_AUDIO_QUEUE = 3  # frames kept per port; more means the host runs ahead
_EPSILON = 1e-6


class BoardEmulator:
    """The emulated board's firmware (see the module docstring)."""

    def __init__(self, trunks: int | None = None, stations: int | None = None, *,
                 scenario: Scenario | str | None = None, seed: int | None = None,
                 faults: FaultPlan | str | None = None,
                 echo: tuple[float, int] | None = None, serial_number: str | None = None,
                 keep_callers: bool = True):
        if isinstance(scenario, str) or hasattr(scenario, "__fspath__"):
            scenario = load_scenario(scenario)
        rl, tail = echo if echo is not None else (None, 32)
        self.lines = VirtualLines(scenario, trunks=trunks, stations=stations, seed=seed,
                                  echo_rl_db=rl, echo_tail_ms=tail, keep_callers=keep_callers)
        self.ports = self.lines.ports
        self.trunks, self.stations = self.lines.trunks, self.lines.stations
        self.seed = self.lines.sim.seed
        self.faults = faults if isinstance(faults, FaultPlan) else parse_faults(faults)
        self.serial_number = serial_number or f"EMU-{self.seed}"
        self.counters = dict.fromkeys((
            "boots", "sessions", "commands", "audio_in", "audio_missing", "audio_out",
            "host_timeouts", "noise_bytes", "frames_dropped", "frames_late", "stalls",
            "resets", "unplugs"), 0)
        self._rng = np.random.default_rng([self.seed, 0xB0A4D])
        self._timed = list(self.faults.timed)
        self._endpoint = p.Endpoint()
        self._inbox = bytearray()
        self._out = bytearray()
        self._start: float | None = None
        self._now_last = float("-inf")
        self._station_hook = np.zeros(len(self.ports), dtype=bool)
        self._next_block: float | None = None
        self._channels = len(self.ports)
        self._audio_seq = np.zeros(self._channels, dtype=np.int64)
        self._host_audio = [deque(maxlen=_HOST_AUDIO_QUEUE) for _ in range(self._channels)]
        self._held = deque()  # (block number, frame): late audio frames and when to send them
        self._block_count = 0
        self._cid = {}  # port -> deque of CallerIdAudio messages still to send
        self._window = 0
        self._ring_edge = {}  # port -> time of the last ring edge (for the cadence)
        self.plugged = True
        self.stalled_until: float | None = None
        self.unplugged_until: float | None = None
        self._session = False
        self._host_seen = 0.0
        self._next_heartbeat = 0.0
        self._next_boot = 0.0
        self._boot_reason = p.BootReason.POWER_ON

    # -- bytes in, bytes out --------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Bytes the host wrote; they are acted on at the next tick."""
        if self.plugged and self.stalled_until is None:
            self._inbox += data

    def tick(self, now: float) -> bytes:
        """Run the board to `now`: one block per 20 ms boundary; the bytes it sends."""
        if self._start is None:
            self._start = self._next_block = now
            self._boot(now, p.BootReason.POWER_ON)
        elif now < self._now_last - _EPSILON:
            raise ClockError(f"BoardEmulator.tick: now={now} is before the last tick "
                             f"{self._now_last}; the clock must not go back")
        self._now_last = now
        while self._next_block <= now + _EPSILON:
            self._block(self._next_block)
            self._next_block = round(self._next_block + BLOCK_SECONDS, 9)
        out, self._out = bytes(self._out), bytearray()
        return self._noisy(out)

    @property
    def session(self) -> bool:
        """True while a host has said Hello and keeps talking."""
        return self._session

    @property
    def endpoint_counters(self) -> dict:
        return self._endpoint.counters

    # -- one 20 ms block -----------------------------------------------------------------

    def _block(self, t: float) -> None:
        self._timed_faults(t)
        firmware_up = self.plugged and self.stalled_until is None
        if firmware_up:
            self._handle_host(t)
        tx = self._host_block() if firmware_up else np.zeros(
            (self._channels, BLOCK_SAMPLES), np.int16)
        self.lines.hear(tx)
        events, rx = self.lines.advance(t)
        for event in events:
            if isinstance(event, OffHook | OnHook):
                self._station_hook[event.port] = isinstance(event, OffHook)
        if not firmware_up:
            return  # the world goes on; a hung or unpowered board tells nobody
        if not self._session:
            if t >= self._next_boot - _EPSILON:
                self._send(p.Boot(int(self._boot_reason)))
                self._next_boot = t + BOOT_REPEAT_S
            return
        for event in events:
            self._report(event, t)
        self._send_caller_id()
        self._send_audio(rx)
        if t >= self._next_heartbeat - _EPSILON:
            self._send(p.Heartbeat(int((t - self._start) * 1000) & 0xFFFFFFFF))
            self._next_heartbeat = t + HEARTBEAT_S
        if t - self._host_seen > HOST_TIMEOUT_S:
            self.counters["host_timeouts"] += 1
            self._session = False
            self.lines.drop_everything()

    def _timed_faults(self, t: float) -> None:
        if self.stalled_until is not None and t >= self.stalled_until - _EPSILON:
            self.stalled_until = None
            self._boot(t, p.BootReason.WATCHDOG)
        if self.unplugged_until is not None and t >= self.unplugged_until - _EPSILON:
            self.unplugged_until = None
            self.plugged = True
            self._boot(t, p.BootReason.POWER_ON)
        while self._timed and t - self._start >= self._timed[0].at - _EPSILON:
            fault = self._timed.pop(0)
            if fault.kind == "stall":
                self.counters["stalls"] += 1
                self.stalled_until = t + fault.duration
                self._inbox.clear()
            elif fault.kind == "reset":
                self.counters["resets"] += 1
                self._boot(t, p.BootReason.BROWN_OUT)
            else:
                self.counters["unplugs"] += 1
                self.plugged = False
                self.unplugged_until = t + fault.duration
                self._inbox.clear()
                self._out.clear()
                self._session = False
                self.lines.drop_everything()

    def _boot(self, t: float, reason: p.BootReason) -> None:
        self.counters["boots"] += 1
        self.lines.drop_everything()
        self._session = False
        self._boot_reason = reason
        self._next_boot = t
        self._endpoint.restart()
        self._inbox.clear()
        self._held.clear()
        self._cid.clear()
        for queue in self._host_audio:
            queue.clear()

    # -- from the host ---------------------------------------------------------------------

    def _handle_host(self, t: float) -> None:
        if not self._inbox:
            return
        data, self._inbox = bytes(self._inbox), bytearray()
        for received in self._endpoint.receive_data(data):
            message = received.message
            if isinstance(message, p.Hello):
                self._open_session(t)
            elif not self._session:
                continue
            self._host_seen = t
            if isinstance(message, p.Audio):
                self._take_audio(message)
            elif isinstance(message, p.UnknownMessage):
                if 0x10 <= message.type <= 0x3F:
                    self._ack(received.seq, p.Result.UNSUPPORTED)
            elif isinstance(message, p.ResetCommand):
                self.counters["commands"] += 1
                self._ack(received.seq, p.Result.OK)
                self._boot(t, p.BootReason.RESET_COMMAND)
                return
            elif p.is_command(message):
                self.counters["commands"] += 1
                self._ack(received.seq, self._command(message))

    def _open_session(self, t: float) -> None:
        self.counters["sessions"] += 1
        self._endpoint.restart()
        self._session = True
        self._host_seen = t
        self._next_heartbeat = t + HEARTBEAT_S
        self._send(p.HelloReply(p.PROTOCOL_VERSION, FIRMWARE, self.serial_number,
                                ((p.InventoryKind.FXO, self.trunks),
                                 (p.InventoryKind.FXS, self.stations))))
        for port in range(self.trunks):
            self._send_line(port)
        for port in np.flatnonzero(self._station_hook):
            self._send(p.HookEvent(int(port), True))

    def _take_audio(self, message: p.Audio) -> None:
        if message.port < self._channels:
            self.counters["audio_in"] += 1
            self._host_audio[message.port].append(message.samples)

    def _host_block(self) -> np.ndarray:
        codes = np.full((self._channels, BLOCK_SAMPLES), 0xD5, dtype=np.uint8)
        for port, queue in enumerate(self._host_audio):
            if queue:
                codes[port] = np.frombuffer(queue.popleft(), dtype=np.uint8)
            elif self._session and self._audio_expected(port):
                self.counters["audio_missing"] += 1
        return alaw_decode(codes)

    def _audio_expected(self, port: int) -> bool:
        # The host sends audio for lines off hook, stations off hook and looped ports.
        return bool(self.lines.off_hook[port] or self._station_hook[port]
                    or self.lines.loopback[port])

    def _ack(self, seq: int, result: p.Result) -> None:
        self._send(p.Ack(seq, int(result)))

    def _command(self, message) -> p.Result:
        port = getattr(message, "port", None)
        if port is None:
            return p.Result.UNSUPPORTED
        if port >= self._channels:
            return p.Result.NO_SUCH_PORT
        kind = self.ports[port].kind
        match message:
            case p.HookCommand(off_hook=off):
                if kind is not PortKind.FXO:
                    return p.Result.WRONG_PORT_KIND
                if off != bool(self.lines.off_hook[port]):
                    (self.lines.answer if off else self.lines.hang_up)(port)
                    self._send_line(port)
            case p.FlashCommand():
                if kind is not PortKind.FXO:
                    return p.Result.WRONG_PORT_KIND
            case p.RingCommand(frequency_hz=hz, pattern_ms=pattern):
                if kind is not PortKind.FXS:
                    return p.Result.WRONG_PORT_KIND
                try:
                    cadence = RingCadence(float(hz), tuple(ms / 1000 for ms in pattern))
                except ValueError:
                    return p.Result.BAD_ARGUMENT
                if not self._station_hook[port]:
                    self.lines.ring(port, cadence)
            case p.StopRingCommand():
                if kind is not PortKind.FXS:
                    return p.Result.WRONG_PORT_KIND
                self.lines.stop_ring(port)
            case p.PolarityCommand():
                if kind is not PortKind.FXS:
                    return p.Result.WRONG_PORT_KIND
            case p.GainsCommand():
                pass  # accepted; the emulated codecs have unity gain
            case p.LoopbackCommand(on=on):
                self.lines.set_loopback(port, on)
            case _:
                return p.Result.UNSUPPORTED
        return p.Result.OK

    # -- to the host -----------------------------------------------------------------------

    def _send(self, message) -> None:
        self._out += self._endpoint.send(message)

    def _send_line(self, port: int) -> None:
        volts, milliamps = self.lines.line_state(port)
        self._send(p.LineEvent(port, True, milliamps, volts))

    def _report(self, event, t: float) -> None:
        port = event.port
        match event:
            case Ring() | RingOff():
                on = isinstance(event, Ring)
                before = self._ring_edge.get(port)
                lasted = 0 if before is None or (on and event.count == 1) else \
                    round((event.time - before) * 1000)
                self._ring_edge[port] = event.time
                self._send(p.RingEvent(port, on, min(lasted, 0xFFFF)))
            case CallerIdAudio():
                codes = alaw_encode(event.samples)
                self._window = (self._window + 1) & 0xFF
                chunks = [codes[i:i + BLOCK_SAMPLES].tobytes()
                          for i in range(0, len(codes), BLOCK_SAMPLES)]
                self._cid[port] = deque(
                    p.CallerIdAudio(port, self._window, i, i == len(chunks) - 1, chunk)
                    for i, chunk in enumerate(chunks))
            case OffHook() | OnHook():
                self._send(p.HookEvent(port, isinstance(event, OffHook)))
            case HookFlash():
                self._send(p.FlashEvent(port, 300))
            case FarEndHangup(signal=ClearSignal.POLARITY_REVERSAL):
                self._send(p.PolarityEvent(port))
            case FarEndHangup():
                # The exchange opens the loop for a moment (a calling-party-control
                # disconnect): current and voltage drop to nothing.
                self._send(p.LineEvent(port, True, 0.0, 0.0))

    def _send_caller_id(self) -> None:
        for port in list(self._cid):
            queue = self._cid[port]
            self._send(queue.popleft())
            if not queue:
                del self._cid[port]

    def _send_audio(self, rx: np.ndarray) -> None:
        codes = alaw_encode(rx)
        faults = self.faults
        self._block_count += 1
        for port in range(self._channels):
            seq = int(self._audio_seq[port]) & 0xFFFF
            self._audio_seq[port] += 1
            frame = self._endpoint.send(p.Audio(port, seq, codes[port].tobytes()))
            self.counters["audio_out"] += 1
            if faults.drop and self._rng.random() < faults.drop:
                self.counters["frames_dropped"] += 1
            elif faults.late and self._rng.random() < faults.late:
                self.counters["frames_late"] += 1
                self._held.append((self._block_count + LATE_BLOCKS, frame))
            else:
                self._out += frame
        while self._held and self._held[0][0] <= self._block_count:
            self._out += self._held.popleft()[1]

    def _noisy(self, data: bytes) -> bytes:
        rate = self.faults.noise
        if not rate or not data:
            return data
        hits = self._rng.binomial(len(data), rate)
        if not hits:
            return data
        buffer = np.frombuffer(data, dtype=np.uint8).copy()
        where = self._rng.integers(0, len(buffer), hits)
        buffer[where] ^= self._rng.integers(1, 256, hits, dtype=np.uint8)
        self.counters["noise_bytes"] += hits
        return buffer.tobytes()
