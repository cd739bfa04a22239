"""Board protocol messages: one frozen dataclass per message type, payload bytes both ways.

Every message class has ``TYPE`` (the frame's type byte), ``bytes(message)`` (its payload)
and ``Class.parse(payload)``. ``parse_message(frame)`` picks the class by the frame's type and
returns ``UnknownMessage`` for a type it does not know (a newer peer: the link counts and skips
it). Multi-byte fields are big-endian; ``port`` is the board's port index (0-254).

Types: 0x01-0x0F link (handshake, heartbeat, ack, boot), 0x10-0x3F host commands (each
answered by an ``Ack``), 0x40-0x7F board events, 0x80 audio. docs/board-protocol.md has the
byte layouts, a worked example and the rules for using them.

Errors: ``MessageError`` (a ``ProtocolError``) when a payload does not parse — the message
name, the type byte, what was wrong and what the layout is; ``EncodeError`` when a message
holds a value its field cannot carry.
"""

import dataclasses
import enum
import struct
from dataclasses import dataclass
from typing import ClassVar

from branchline.hw.protocol.framing import EncodeError, ProtocolError

__all__ = [
    "AUDIO_BYTES",
    "BROADCAST_PORT",
    "E1_SPAN_PORTS",
    "MESSAGE_TYPES",
    "PROTOCOL_VERSION",
    "AbcdEvent",
    "Ack",
    "AlarmCode",
    "AlarmEvent",
    "Audio",
    "Boot",
    "BootReason",
    "CallerIdAudio",
    "FlashCommand",
    "FlashEvent",
    "GainsCommand",
    "Heartbeat",
    "Hello",
    "HelloReply",
    "HookCommand",
    "HookEvent",
    "InventoryKind",
    "LineEvent",
    "LoopbackCommand",
    "Message",
    "MessageError",
    "PolarityCommand",
    "PolarityEvent",
    "ResetCommand",
    "Result",
    "RingCommand",
    "RingEvent",
    "SetAbcdCommand",
    "SpanAlarmBits",
    "SpanStatus",
    "StopRingCommand",
    "UnknownMessage",
    "is_command",
    "parse_message",
]

PROTOCOL_VERSION = 1
AUDIO_BYTES = 160  # one 20 ms frame of 8 kHz A-law (ITU-T G.711)
E1_SPAN_PORTS = 30  # voice timeslots per E1 span (ITU-T G.704)
BROADCAST_PORT = 0xFF  # "the board" where a port is expected (alarms)
_MAX_TEXT = 32
_MAX_CADENCE = 8


class MessageError(ProtocolError):
    """A payload that does not parse as its message type."""


class Result(enum.IntEnum):
    """An Ack's result code."""

    OK = 0
    NO_SUCH_PORT = 1
    WRONG_PORT_KIND = 2  # e.g. ring on an FXO port
    BAD_ARGUMENT = 3
    NO_LINE = 4  # off hook on an FXO port with no line
    UNSUPPORTED = 5  # a command type the board does not know
    OUT_OF_SERVICE = 6  # the port is disabled by a fault (see AlarmEvent)


class BootReason(enum.IntEnum):
    POWER_ON = 0
    RESET_COMMAND = 1
    WATCHDOG = 2
    BROWN_OUT = 3


class InventoryKind(enum.IntEnum):
    """Port groups in a HelloReply; an E1 group's count is spans, 30 ports each."""

    FXO = 1
    FXS = 2
    E1 = 3


class AlarmCode(enum.IntEnum):
    OVER_TEMPERATURE = 1
    RINGER_OVERLOAD = 2  # too many stations ringing, or a short on a station loop
    LINE_FAULT = 3  # foreign voltage or a ground fault on a line
    POWER = 4


class SpanAlarmBits(enum.IntFlag):
    LOS = 0x01
    LOF = 0x02
    AIS = 0x04
    RAI = 0x08


class Message:
    """Base of all messages: `bytes(m)` is the payload, `Class.parse(payload)` the reverse.

    A subclass with a fixed layout sets ``_LAYOUT`` (a struct.Struct over its fields in order);
    bool fields are carried as 0/1 bytes. Others override ``__bytes__`` and ``parse``.
    """

    __slots__ = ()
    TYPE: ClassVar[int]
    _LAYOUT: ClassVar[struct.Struct | None] = None
    _WHAT: ClassVar[str] = ""

    def __bytes__(self):
        values = dataclasses.astuple(self)
        try:
            return self._LAYOUT.pack(*values)
        except struct.error as exc:
            raise EncodeError(f"{type(self).__name__}: {values} do not fit: {exc}") from exc

    @classmethod
    def parse(cls, payload):
        cls._expect(payload, cls._LAYOUT.size)
        values = cls._LAYOUT.unpack(payload)
        return cls(*(bool(v) if f.type is bool else v
                     for f, v in zip(dataclasses.fields(cls), values, strict=True)))

    @classmethod
    def _expect(cls, payload, size, at_least=False):
        n = len(payload)
        if n < size or (n > size and not at_least):
            need = f"at least {size}" if at_least else str(size)
            raise MessageError(
                f"{cls.__name__} (0x{cls.TYPE:02X}): payload of {n} bytes; expected {need}"
                f" ({cls._WHAT})"
            )


def _fixed(type_code, layout, what):
    """Class decorator: a frozen slotted dataclass message with a fixed struct layout."""

    def wrap(cls):
        cls.TYPE = type_code
        cls._LAYOUT = struct.Struct(">" + layout) if layout else struct.Struct(">")
        cls._WHAT = what
        return dataclass(frozen=True, slots=True)(cls)

    return wrap


def _text(value, field, owner):
    data = value.encode("ascii", "replace")
    if len(data) > _MAX_TEXT:
        raise EncodeError(f"{owner}: {field} is {len(data)} bytes; at most {_MAX_TEXT}")
    return bytes([len(data)]) + data


# -- link ---------------------------------------------------------------------------------


@_fixed(0x01, "B", "version")
class Hello(Message):
    """Host -> board: open a session speaking protocol `version`."""

    version: int = PROTOCOL_VERSION


@dataclass(frozen=True, slots=True)
class HelloReply(Message):
    """Board -> host: its protocol version, firmware, serial number and port inventory.

    `inventory` is ((InventoryKind, count), ...) in port order: ports are numbered group by
    group; an E1 group of n spans is n * 30 ports.
    """

    TYPE: ClassVar[int] = 0x02
    _WHAT: ClassVar[str] = ("version, firmware length + ASCII, serial length + ASCII, "
                            "group count, (kind, count) per group")
    version: int
    firmware: str
    serial: str
    inventory: tuple[tuple[InventoryKind, int], ...]

    def __bytes__(self):
        out = bytearray([self.version])
        out += _text(self.firmware, "firmware", "HelloReply")
        out += _text(self.serial, "serial", "HelloReply")
        out.append(len(self.inventory))
        for kind, count in self.inventory:
            if not 0 <= count <= 0xFF:
                raise EncodeError(f"HelloReply: {count} {InventoryKind(kind).name}; 0-255")
            out += bytes([int(kind), count])
        return bytes(out)

    @classmethod
    def parse(cls, payload):
        cls._expect(payload, 4, at_least=True)
        version, at = payload[0], 1
        texts = []
        for field in ("firmware", "serial"):
            n = payload[at] if at < len(payload) else 0
            if at + 1 + n > len(payload):
                raise MessageError(f"HelloReply (0x02): {field} of {n} bytes runs past the "
                                   f"payload's {len(payload)} bytes")
            texts.append(payload[at + 1:at + 1 + n].decode("ascii", "replace"))
            at += 1 + n
        if at >= len(payload):
            raise MessageError("HelloReply (0x02): the port inventory is missing")
        groups = payload[at]
        body = payload[at + 1:]
        if len(body) != 2 * groups:
            raise MessageError(f"HelloReply (0x02): {groups} inventory groups need "
                               f"{2 * groups} bytes, got {len(body)}")
        inventory = []
        for i in range(groups):
            kind, count = body[2 * i], body[2 * i + 1]
            try:
                inventory.append((InventoryKind(kind), count))
            except ValueError:
                raise MessageError(f"HelloReply (0x02): inventory group {i} has kind {kind}; "
                                   "expected 1 FXO, 2 FXS or 3 E1") from None
        return cls(version, texts[0], texts[1], tuple(inventory))


@_fixed(0x03, "I", "uptime_ms")
class Heartbeat(Message):
    """Either way: I am alive; `uptime_ms` is the sender's clock (ms, wraps at 2**32)."""

    uptime_ms: int


@_fixed(0x04, "HB", "command seq, result")
class Ack(Message):
    """Board -> host: the command sent with frame seq `command_seq` was done (or why not)."""

    command_seq: int
    result: int


@_fixed(0x05, "B", "reason")
class Boot(Message):
    """Board -> host: the board (re)started: everything the host set up on it is gone."""

    reason: int


# -- commands (host -> board), each acknowledged ----------------------------------------


@_fixed(0x10, "B?", "port, off_hook")
class HookCommand(Message):
    """FXO: go off hook (answer or seize) or on hook (release)."""

    port: int
    off_hook: bool


@_fixed(0x11, "BH", "port, duration_ms")
class FlashCommand(Message):
    """FXO: flash the hook for duration_ms (typically 100-600 ms)."""

    port: int
    duration_ms: int


@dataclass(frozen=True, slots=True)
class RingCommand(Message):
    """FXS: ring at frequency_hz with the on/off pattern (ms, pairs) repeating until answered
    or StopRingCommand; the board stops ringing by itself when the station goes off hook."""

    TYPE: ClassVar[int] = 0x12
    _WHAT: ClassVar[str] = "port, frequency_hz, pattern length n (even, 2-8), n x u16 ms"
    port: int
    frequency_hz: int
    pattern_ms: tuple[int, ...]

    def __bytes__(self):
        n = len(self.pattern_ms)
        if not n or n % 2 or n > _MAX_CADENCE:
            raise EncodeError(f"RingCommand: pattern of {n} durations; expected an even 2-"
                              f"{_MAX_CADENCE} (1 to {_MAX_CADENCE // 2} on/off pairs)")
        try:
            return struct.pack(f">BBB{n}H", self.port, self.frequency_hz, n, *self.pattern_ms)
        except struct.error as exc:
            raise EncodeError(f"RingCommand: {self} does not fit: {exc}") from exc

    @classmethod
    def parse(cls, payload):
        cls._expect(payload, 3, at_least=True)
        port, frequency, n = payload[0], payload[1], payload[2]
        if not n or n % 2 or n > _MAX_CADENCE:
            raise MessageError(f"RingCommand (0x12): pattern length {n}; expected an even "
                               f"2-{_MAX_CADENCE}")
        cls._expect(payload, 3 + 2 * n)
        return cls(port, frequency, struct.unpack_from(f">{n}H", payload, 3))


@_fixed(0x13, "B", "port")
class StopRingCommand(Message):
    port: int


@_fixed(0x14, "B?", "port, reversed")
class PolarityCommand(Message):
    """FXS: reverse the battery toward the station (or restore it)."""

    port: int
    reversed: bool


@dataclass(frozen=True, slots=True)
class GainsCommand(Message):
    """Set a port's receive and transmit gains in dB (carried in 0.1 dB steps, -12..+12)."""

    TYPE: ClassVar[int] = 0x15
    _WHAT: ClassVar[str] = "port, rx gain i16 0.1 dB, tx gain i16 0.1 dB"
    port: int
    rx_db: float
    tx_db: float

    def __bytes__(self):
        for name in ("rx_db", "tx_db"):
            if not -12.0 <= getattr(self, name) <= 12.0:
                raise EncodeError(f"GainsCommand: {name}={getattr(self, name)}; expected "
                                  "-12 to +12 dB")
        return struct.pack(">Bhh", self.port, round(self.rx_db * 10), round(self.tx_db * 10))

    @classmethod
    def parse(cls, payload):
        cls._expect(payload, 5)
        port, rx, tx = struct.unpack(">Bhh", payload)
        return cls(port, rx / 10, tx / 10)


@_fixed(0x16, "B?", "port, on")
class LoopbackCommand(Message):
    """Self-test: loop the port's transmit audio back into its receive path at the codec."""

    port: int
    on: bool


@_fixed(0x17, "", "nothing")
class ResetCommand(Message):
    """Restart the board (it acks, then sends Boot(RESET_COMMAND))."""


@_fixed(0x18, "BB", "port, ABCD bits in the low nibble")
class SetAbcdCommand(Message):
    """E1 CAS: the ABCD bits to send for a timeslot (ITU-T G.704 §5.1.3, timeslot 16)."""

    port: int
    bits: int


# -- events (board -> host) -------------------------------------------------------------


@_fixed(0x40, "B?H", "port, on, previous_ms")
class RingEvent(Message):
    """FXO: ringing voltage started (on) or stopped; previous_ms is how long the state before
    lasted (the silence before a burst, the burst before a silence): the cadence."""

    port: int
    on: bool
    previous_ms: int


@_fixed(0x41, "B?", "port, off_hook")
class HookEvent(Message):
    """FXS: the station went off hook or on hook."""

    port: int
    off_hook: bool


@_fixed(0x42, "BH", "port, duration_ms")
class FlashEvent(Message):
    """FXS: the station flashed the hook for duration_ms."""

    port: int
    duration_ms: int


@dataclass(frozen=True, slots=True)
class LineEvent(Message):
    """FXO: the line's state changed: battery present, loop current (0.1 mA), voltage (0.1 V)."""

    TYPE: ClassVar[int] = 0x43
    _WHAT: ClassVar[str] = "port, present, loop current u16 0.1 mA, voltage i16 0.1 V"
    port: int
    present: bool
    loop_current_ma: float
    voltage_v: float

    def __bytes__(self):
        try:
            return struct.pack(">B?Hh", self.port, self.present,
                               round(self.loop_current_ma * 10), round(self.voltage_v * 10))
        except struct.error as exc:
            raise EncodeError(f"LineEvent: {self} does not fit: {exc}") from exc

    @classmethod
    def parse(cls, payload):
        cls._expect(payload, 6)
        port, present, current, voltage = struct.unpack(">B?Hh", payload)
        return cls(port, present, current / 10, voltage / 10)


@_fixed(0x44, "B", "port")
class PolarityEvent(Message):
    """FXO: the line reversed its polarity."""

    port: int


@dataclass(frozen=True, slots=True)
class CallerIdAudio(Message):
    """FXO: raw on-hook line audio for caller ID, in 20 ms A-law chunks.

    The board opens a window after each ring burst (FSK, Bell 202) and before the first ring
    when it hears a DTMF tone on the idle line; `window` numbers windows (wraps at 256),
    `index` numbers the chunks of a window from 0, `last` marks the window's end.
    """

    TYPE: ClassVar[int] = 0x45
    _WHAT: ClassVar[str] = "port, window, index u16, last, 0-160 A-law bytes"
    port: int
    window: int
    index: int
    last: bool
    samples: bytes

    def __bytes__(self):
        if len(self.samples) > AUDIO_BYTES:
            raise EncodeError(f"CallerIdAudio: {len(self.samples)} bytes; at most {AUDIO_BYTES}")
        try:
            return struct.pack(">BBH?", self.port, self.window, self.index,
                               self.last) + bytes(self.samples)
        except struct.error as exc:
            raise EncodeError(f"CallerIdAudio: header does not fit: {exc}") from exc

    @classmethod
    def parse(cls, payload):
        cls._expect(payload, 5, at_least=True)
        if len(payload) > 5 + AUDIO_BYTES:
            raise MessageError(f"CallerIdAudio (0x45): {len(payload) - 5} audio bytes; at "
                               f"most {AUDIO_BYTES}")
        port, window, index, last = struct.unpack_from(">BBH?", payload)
        return cls(port, window, index, last, bytes(payload[5:]))


@_fixed(0x46, "BBH", "span, alarm bits (1 LOS, 2 LOF, 4 AIS, 8 RAI), slips u16")
class SpanStatus(Message):
    """E1: a span's alarm bits and its slip count since boot (wraps at 65536)."""

    span: int
    alarms: int
    slips: int


@_fixed(0x47, "BB", "port, ABCD bits in the low nibble")
class AbcdEvent(Message):
    """E1 CAS: the ABCD bits received for a timeslot changed."""

    port: int
    bits: int


@_fixed(0x48, "BB?", "port (255: the board), code, active")
class AlarmEvent(Message):
    """A board or port fault started (active) or cleared."""

    port: int
    code: int
    active: bool


# -- audio ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Audio(Message):
    """Either way: 20 ms of one port's audio, 160 A-law bytes, with the port's audio seq."""

    TYPE: ClassVar[int] = 0x80
    _WHAT: ClassVar[str] = "port, audio seq u16, 160 A-law bytes"
    port: int
    seq: int
    samples: bytes

    def __bytes__(self):
        if len(self.samples) != AUDIO_BYTES:
            raise EncodeError(f"Audio: {len(self.samples)} bytes; expected {AUDIO_BYTES}")
        if not (0 <= self.port <= 0xFF and 0 <= self.seq <= 0xFFFF):
            raise EncodeError(f"Audio: port {self.port} / seq {self.seq} out of range")
        return bytes((self.port, self.seq >> 8, self.seq & 0xFF)) + bytes(self.samples)

    @classmethod
    def parse(cls, payload):
        cls._expect(payload, 3 + AUDIO_BYTES)
        return cls(payload[0], (payload[1] << 8) | payload[2], bytes(payload[3:]))


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A message of a type this side does not know (from a newer peer): counted, skipped."""

    type: int
    payload: bytes


MESSAGE_TYPES = {
    cls.TYPE: cls
    for cls in (
        Hello, HelloReply, Heartbeat, Ack, Boot,
        HookCommand, FlashCommand, RingCommand, StopRingCommand, PolarityCommand,
        GainsCommand, LoopbackCommand, ResetCommand, SetAbcdCommand,
        RingEvent, HookEvent, FlashEvent, LineEvent, PolarityEvent, CallerIdAudio,
        SpanStatus, AbcdEvent, AlarmEvent,
        Audio,
    )
}


def is_command(message):
    """True for host commands, which the board must answer with an Ack."""
    return 0x10 <= message.TYPE <= 0x3F


def parse_message(frame):
    """The message a Frame carries; UnknownMessage for a type not in MESSAGE_TYPES."""
    cls = MESSAGE_TYPES.get(frame.type)
    if cls is None:
        return UnknownMessage(frame.type, frame.payload)
    return cls.parse(frame.payload)
