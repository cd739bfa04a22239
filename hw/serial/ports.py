"""What the serial driver knows of a board's ports, and board events turned into PortEvents.

``ports_of(inventory, clear_signals)`` builds the ``hw.ports.Port`` tuple from a
``HelloReply`` inventory: groups in order, FXO ports named ``fxo1..``, FXS ``fxs1..``, and an
E1 span's 30 voice timeslots ``e1s<span>t<timeslot>`` (ITU-T G.704: 1-15, 17-31).

``BoardPorts(ports, jitter_frames=2)`` holds each port's state (hooks, loopback, ring count,
line, CAS bits, spans, alarms), the audio buffers (hw/serial/audio.py: playing starts with
``jitter_frames`` of 1-3 buffered) and the caller-ID receiver
(hw/serial/callerid.py). ``handle(message, now)`` turns one board event into the port events
of ``hw.ports``:

- ``RingEvent`` -> ``Ring``/``RingOff`` with the burst's ``count``: a ring more than
  ``RING_GAP_S`` after the last ring ended is a new call's first; the board's timing of the
  last burst and silence is kept for ``status`` (``ring_ms``: China rings 1000 / 4000);
- ``HookEvent``/``FlashEvent`` -> ``OffHook``/``OnHook``/``HookFlash``;
- ``LineEvent`` -> ``LineState``, plus ``FarEndHangup`` when an off-hook trunk whose
  ``clear_signal`` is loop-current drop loses its loop current (below
  ``LOOP_CURRENT_MIN_MA``);
- ``PolarityEvent`` -> ``PolarityReversal``, plus ``FarEndHangup`` on an off-hook trunk whose
  ``clear_signal`` is polarity reversal;
- ``SpanStatus`` -> ``SpanAlarm`` (``port``: the span's first); ``AbcdEvent`` and
  ``AlarmEvent`` update the state ``status`` reports; ``Audio`` and ``CallerIdAudio`` go to
  their buffers.

A message naming a port the board does not have, or a port of another kind (a hook event for
a trunk, a ring for a station), is counted ``bad_port`` and dropped.
"""

from branchline.hw.ports import (
    E1_VOICE_TIMESLOTS,
    ClearSignal,
    FarEndHangup,
    HookFlash,
    LineState,
    OffHook,
    OnHook,
    PolarityReversal,
    Port,
    PortKind,
    Ring,
    RingOff,
    SpanAlarm,
)
from branchline.hw.protocol.endpoint import (
    BROADCAST_PORT,
    AbcdEvent,
    AlarmEvent,
    Audio,
    CallerIdAudio,
    FlashEvent,
    HookEvent,
    InventoryKind,
    LineEvent,
    PolarityEvent,
    RingEvent,
    SpanAlarmBits,
    SpanStatus,
)
from branchline.hw.serial.audio import RxAudio, TxAudio
from branchline.hw.serial.callerid import CallerIdReceiver

__all__ = ["LOOP_CURRENT_MIN_MA", "RING_GAP_S", "BoardPorts", "describe", "ports_of"]

LOOP_CURRENT_MIN_MA = 5.0  # below this an off-hook line has lost its loop (our threshold)
RING_GAP_S = 8.0  # a ring this long after the last is a new call's first (CN: 4 s off)
_KIND = {InventoryKind.FXO: PortKind.FXO, InventoryKind.FXS: PortKind.FXS}
# The port kind each per-port event belongs to (Audio and AlarmEvent fit any).
_PORT_KIND = {
    RingEvent: PortKind.FXO, LineEvent: PortKind.FXO, PolarityEvent: PortKind.FXO,
    CallerIdAudio: PortKind.FXO, HookEvent: PortKind.FXS, FlashEvent: PortKind.FXS,
    AbcdEvent: PortKind.E1,
}
_ALARM_NAMES = {SpanAlarmBits.LOS: "los", SpanAlarmBits.LOF: "lof", SpanAlarmBits.AIS: "ais",
                SpanAlarmBits.RAI: "rai"}


def ports_of(inventory, clear_signals):
    """The Port tuple of a HelloReply inventory; clear_signals maps FXO index -> ClearSignal."""
    ports = []
    numbers = {}
    for kind, count in inventory:
        if kind is InventoryKind.E1:
            for _ in range(count):
                span = numbers.get("e1", 0)
                numbers["e1"] = span + 1
                ports += [Port(len(ports) + i, PortKind.E1, f"e1s{span + 1}t{ts}", span=span,
                               timeslot=ts) for i, ts in enumerate(E1_VOICE_TIMESLOTS)]
            continue
        label = _KIND[kind].value
        for _ in range(count):
            numbers[label] = numbers.get(label, 0) + 1
            index = len(ports)
            signal = (clear_signals.get(index, ClearSignal.NONE) if kind is InventoryKind.FXO
                      else ClearSignal.NONE)
            ports.append(Port(index, _KIND[kind], f"{label}{numbers[label]}", signal))
    return tuple(ports)


def describe(inventory):
    """An inventory in words, e.g. '4 FXO, 4 FXS'."""
    return ", ".join(f"{count} {kind.name}" for kind, count in inventory) or "no ports"


class BoardPorts:
    """Per-port state of one board (see the module docstring)."""

    def __init__(self, ports, *, jitter_frames=2):
        self.ports = ports
        n = len(ports)
        self.rx = RxAudio(n, depth=jitter_frames)
        self.tx = TxAudio(n)
        self.callerid = CallerIdReceiver([p.index for p in ports if p.kind is PortKind.FXO])
        self.off_hook = [False] * n  # a trunk the host took off hook
        self.station_off_hook = [False] * n
        self.looped = [False] * n
        self._ring_count = [0] * n
        self._last_ring_off = [float("-inf")] * n
        self._cadence = [[None, None] for _ in range(n)]  # last burst, last silence (ms)
        self._line = [None] * n
        self._abcd = [None] * n
        self._spans = {p.span: (p.index, frozenset(), 0) for p in reversed(ports)
                       if p.kind is PortKind.E1}
        self.alarms = set()
        self.counters = {"bad_port": 0, "board_alarms": 0}
        self.last_error = None
        self._handlers = {
            RingEvent: self._ring, HookEvent: self._hook, FlashEvent: self._flash,
            LineEvent: self._line_event, PolarityEvent: self._polarity,
            CallerIdAudio: self._caller_id, SpanStatus: self._span, AbcdEvent: self._cas,
            AlarmEvent: self._alarm, Audio: self._audio,
        }

    def handles(self, message):
        return type(message) in self._handlers

    def handle(self, message, now):
        """The port events of one board event message (see handles)."""
        port = getattr(message, "port", None)
        board_wide = port == BROADCAST_PORT and isinstance(message, AlarmEvent)
        if port is not None and port >= len(self.ports) and not board_wide:
            self.counters["bad_port"] += 1
            self.last_error = (f"{type(message).__name__} for port {port}; the board has "
                               f"{len(self.ports)}")
            return []
        wanted = _PORT_KIND.get(type(message))
        if wanted is not None and self.ports[port].kind is not wanted:
            self.counters["bad_port"] += 1
            self.last_error = (f"{type(message).__name__} for port {port}, which is "
                               f"{self.ports[port].kind.name}; it is for {wanted.name} ports")
            return []
        events = []
        self._handlers[type(message)](message, now, events)
        return events

    def set_off_hook(self, port, off_hook):
        self.off_hook[port] = off_hook
        self._ring_count[port] = 0
        if not off_hook:
            self.rx.stop(port)

    def set_loopback(self, port, on):
        self.looped[port] = on
        if not on:
            self.rx.stop(port)

    def reset(self):
        """Every port back to idle (the board restarted or is gone)."""
        for i in range(len(self.ports)):
            self.off_hook[i] = self.station_off_hook[i] = self.looped[i] = False
            self._ring_count[i] = 0
            self.rx.stop(i)

    def audio_ports(self):
        """The ports whose audio is on (docs/board-protocol.md, Audio)."""
        return [p.index for p in self.ports
                if p.kind is PortKind.E1 or self.off_hook[p.index]
                or self.station_off_hook[p.index] or self.looped[p.index]]

    def status(self, in_service):
        """Every port as plain data."""
        out = []
        for port in self.ports:
            i = port.index
            line = self._line[i]
            out.append({
                "index": i, "kind": port.kind.value, "name": port.name,
                "span": port.span, "timeslot": port.timeslot, "in_service": in_service,
                "off_hook": self.off_hook[i] or self.station_off_hook[i],
                "loopback": self.looped[i],
                "line": None if line is None else {
                    "present": line.present, "loop_current_ma": line.loop_current_ma,
                    "voltage_v": line.voltage_v},
                "abcd": self._abcd[i],
                "ring_ms": {"on": self._cadence[i][0], "off": self._cadence[i][1]},
            })
        return out

    def spans(self):
        return [{"span": s, "first_port": first, "alarms": sorted(alarms), "slips": slips}
                for s, (first, alarms, slips) in sorted(self._spans.items())]

    # -- handlers --------------------------------------------------------------------------

    def _ring(self, message, now, events):
        port = message.port
        # previous_ms is the state before this edge: the silence before a burst, the burst
        # before a silence.
        self._cadence[port][1 if message.on else 0] = message.previous_ms
        if message.on:
            if now - self._last_ring_off[port] > RING_GAP_S:
                self._ring_count[port] = 0
            self._ring_count[port] += 1
            events.append(Ring(port, now, self._ring_count[port]))
        elif self._ring_count[port]:
            self._last_ring_off[port] = now
            events.append(RingOff(port, now, self._ring_count[port]))

    def _hook(self, message, now, events):
        port = message.port
        self.station_off_hook[port] = message.off_hook
        if not message.off_hook:
            self.rx.stop(port)
        events.append((OffHook if message.off_hook else OnHook)(port, now))

    def _flash(self, message, now, events):
        events.append(HookFlash(message.port, now))

    def _line_event(self, message, now, events):
        port = message.port
        before = self._line[port]
        state = LineState(port, now, message.present, message.loop_current_ma,
                          message.voltage_v)
        self._line[port] = state
        events.append(state)
        dropped = (before is not None and before.loop_current_ma >= LOOP_CURRENT_MIN_MA
                   and message.loop_current_ma < LOOP_CURRENT_MIN_MA)
        if (dropped and self.off_hook[port]
                and self.ports[port].clear_signal is ClearSignal.LOOP_CURRENT_DROP):
            events.append(FarEndHangup(port, now, ClearSignal.LOOP_CURRENT_DROP))

    def _polarity(self, message, now, events):
        port = message.port
        events.append(PolarityReversal(port, now))
        if (self.off_hook[port]
                and self.ports[port].clear_signal is ClearSignal.POLARITY_REVERSAL):
            events.append(FarEndHangup(port, now, ClearSignal.POLARITY_REVERSAL))

    def _caller_id(self, message, now, events):
        self.callerid.add(message)

    def _span(self, message, now, events):
        span = self._spans.get(message.span)
        if span is None:
            self.counters["bad_port"] += 1
            self.last_error = f"SpanStatus for span {message.span}; the board has " \
                              f"{len(self._spans)} spans"
            return
        alarms = frozenset(name for bit, name in _ALARM_NAMES.items() if message.alarms & bit)
        self._spans[message.span] = (span[0], alarms, message.slips)
        events.append(SpanAlarm(span[0], now, message.span, alarms, message.slips))

    def _cas(self, message, now, events):
        self._abcd[message.port] = message.bits & 0x0F

    def _alarm(self, message, now, events):
        key = (message.port, message.code)
        if message.active:
            self.counters["board_alarms"] += 1
            self.alarms.add(key)
        else:
            self.alarms.discard(key)

    def _audio(self, message, now, events):
        self.rx.push(message.port, message.seq, message.samples)
