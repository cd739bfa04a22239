"""The port model: what a board is made of, what its ports report, and the Board interface.

A board exposes ports, numbered 0..n-1; a port's index is also its audio channel. A port is a
trunk (an FXO analog line today; an E1 timeslot or a SIP trunk later) or a station (an FXS
extension where an agent's phone hangs). Ports report events; the appliance gives commands.

Every 20 ms the media loop does, for the whole board at once::

    events = board.tick(now)     # advance to `now` (seconds on the runtime's clock)
    rx = board.read_block()      # int16[channels, 160]: what callers and agents said
    ...                          # DSP, engines, rendering
    board.write_block(tx)        # int16[channels, 160]: what the appliance plays out

Events (frozen dataclasses; `port` is the index, `time` the board time it happened):

- ``Ring``/``RingOff``: ringing voltage on a trunk starts/stops (``count`` numbers the bursts
  of one call, from 1); a call that is abandoned while ringing simply rings no more.
- ``CallerId``: the caller ID received between the first and second ring: ``number`` and
  ``name``, or the reason each is absent (``ABSENT_UNAVAILABLE`` 'O', ``ABSENT_PRIVATE`` 'P').
- ``OffHook``/``OnHook``/``HookFlash``: a station's phone.
- ``PhoneHold``, ``PhoneTransfer``, ``PhoneConsult``, ``PhoneConsultEnded``: a SIP station's
  phone used its own buttons (hold by re-INVITE, transfer by REFER, a second call while in
  one); the SIP board waits for the appliance's answer (hw/sip/phones.py).
- ``FarEndHangup``: a trunk's far end cleared, reported by the line itself (loop-current drop
  or polarity reversal) for lines that do so (``Port.clear_signal``). An ordinary Chinese PSTN
  line does not: there the runtime hears the exchange's busy tone with the DSP.
- ``FarEndAnswered``: a call placed with ``dial`` (a board that dials by signalling, such as
  SIP: the number goes in the INVITE) was answered; it ends with ``FarEndHangup``, which is
  also how such a call that fails (busy, refused, no answer) is reported.
- ``LineState``: a trunk's line measured by the board: ``present`` (battery on the line: False
  when the line is cut or unplugged), the loop current in mA (off hook) and the line voltage in
  V (its sign is the line's polarity).
- ``PolarityReversal``: a trunk's line reversed its polarity (an answer or clear signal on lines
  that give one; ``FarEndHangup`` follows only on lines whose ``clear_signal`` says so).
- ``SpanAlarm``: an E1 span's alarms changed (``los`` loss of signal, ``lof`` loss of frame,
  ``ais`` alarm indication signal, ``rai`` remote alarm) or it slipped; ``port`` is the span's
  first port, ``slips`` the count since the board started.
- ``PortOutOfService`` / ``PortInService``: a driver lost its board (no answer, unplugged,
  reset) or got it back. Out of service, a port raises nothing, its audio is silence and its
  commands are ignored; whatever was up on it (a call, a ringing station) is gone: the runtime
  ends it. ``reason`` says why, for the log. ``PortInService`` follows only a
  ``PortOutOfService`` (ports start in service), and the port comes back idle: on hook, not
  ringing.

E1: a span's 30 voice timeslots (ITU-T G.704: timeslots 1-15 and 17-31; 0 is framing, 16 the
CAS signalling) are 30 ``PortKind.E1`` ports, each with ``span`` (the span's number on the
board) and ``timeslot`` set; analog ports leave both ``None``.

Commands: ``answer`` (trunk off hook), ``hang_up`` (trunk on hook), ``ring`` (ring a station
with a cadence, ``CN_STATION_RING`` by default) and ``stop_ring``. Optional, for boards that
have them: ``dial(port, number) -> bool`` (place a call by signalling; False: this port dials
in-band, seize it with ``answer``) and ``dtmf_events(detected) -> keys`` (the keys the media
loop's DTMF receiver heard in the audio, filtered, plus those the board received by
signalling: RFC 4733).

Errors (all ``BoardError``): ``PortError`` (also a ``ValueError``) when a command names a port
that does not exist or is of the wrong kind, ``BlockError`` (also a ``ValueError``) when a
written block has the wrong shape or dtype, ``ClockError`` (also a ``ValueError``) when
``tick`` is asked to go back in time. These are the appliance's mistakes. ``BoardLinkError``
is the other side's: a driver could not reach its board or the board broke the protocol where
the driver cannot carry on (a driver rides out what it can: see docs/board-protocol.md).
"""

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = [
    "ABSENT_PRIVATE",
    "ABSENT_UNAVAILABLE",
    "BLOCK_SAMPLES",
    "BLOCK_SECONDS",
    "CN_STATION_RING",
    "E1_VOICE_TIMESLOTS",
    "SAMPLE_RATE",
    "SPAN_ALARMS",
    "BlockError",
    "Board",
    "BoardError",
    "BoardLinkError",
    "CallerId",
    "ClearSignal",
    "ClockError",
    "FarEndAnswered",
    "FarEndHangup",
    "HookFlash",
    "LineState",
    "OffHook",
    "OnHook",
    "PhoneConsult",
    "PhoneConsultEnded",
    "PhoneHold",
    "PhoneTransfer",
    "PolarityReversal",
    "Port",
    "PortError",
    "PortEvent",
    "PortInService",
    "PortKind",
    "PortOutOfService",
    "Ring",
    "RingCadence",
    "RingOff",
    "SpanAlarm",
    "check_block",
]

SAMPLE_RATE = 8000
BLOCK_SAMPLES = 160
BLOCK_SECONDS = BLOCK_SAMPLES / SAMPLE_RATE

# ITU-T G.704 §5: an E1 frame's timeslot 0 carries framing and timeslot 16 the CAS
# multiframe (or the D channel), leaving 30 timeslots for voice.
E1_VOICE_TIMESLOTS = (*range(1, 16), *range(17, 32))

# E1 span alarms: loss of signal, loss of frame alignment, alarm indication signal (all
# ones), remote alarm indication (ITU-T G.704 / G.732 / G.775).
SPAN_ALARMS = frozenset({"los", "lof", "ais", "rai"})

# Reasons for an absent caller-ID number or name (the MDMF 0x04 / 0x08 parameters).
ABSENT_UNAVAILABLE = "O"
ABSENT_PRIVATE = "P"


class BoardError(Exception):
    """Base of every error a board raises."""


class PortError(BoardError, ValueError):
    """A command named a port that does not exist or cannot do it."""


class BlockError(BoardError, ValueError):
    """A written audio block has the wrong shape or dtype."""


class ClockError(BoardError, ValueError):
    """tick() was asked to go back in time."""


class BoardLinkError(BoardError):
    """A driver could not reach its board, or the board answered what the driver cannot use."""


class PortKind(enum.Enum):
    """What a port is. Trunks carry callers; stations carry agents' phones."""

    FXO = "fxo"  # analog line from the exchange
    E1 = "e1"  # one timeslot of an E1 span
    SIP = "sip"  # one channel of a SIP trunk
    FXS = "fxs"  # analog extension for a phone

    @property
    def is_trunk(self):
        return self is not PortKind.FXS

    @property
    def is_station(self):
        return self is PortKind.FXS


class ClearSignal(enum.Enum):
    """How a trunk reports that its far end hung up, if it does at all."""

    NONE = "none"  # Chinese PSTN default: only the busy tone tells
    LOOP_CURRENT_DROP = "loop_current_drop"
    POLARITY_REVERSAL = "polarity_reversal"
    SIGNALLING = "signalling"  # the call's signalling says so (a SIP BYE)


@dataclass(frozen=True, slots=True)
class Port:
    """One port of a board; `index` is also its audio channel.

    An E1 port also names its `span` (the board's span number) and `timeslot` (1-31, not 0 or
    16); other ports leave both None.
    """

    index: int
    kind: PortKind
    name: str
    clear_signal: ClearSignal = ClearSignal.NONE
    span: int | None = None
    timeslot: int | None = None

    def __post_init__(self):
        if self.kind is PortKind.E1:
            if self.span is None or self.timeslot not in E1_VOICE_TIMESLOTS:
                raise ValueError(
                    f"Port {self.index} ({self.name}): an E1 port needs span and timeslot "
                    f"(got span={self.span}, timeslot={self.timeslot}); voice timeslots are "
                    "1-15 and 17-31"
                )
        elif self.span is not None or self.timeslot is not None:
            raise ValueError(
                f"Port {self.index} ({self.name}): span/timeslot are for E1 ports only, "
                f"not {self.kind.name}"
            )

    @property
    def is_trunk(self):
        return self.kind.is_trunk

    @property
    def is_station(self):
        return self.kind.is_station


@dataclass(frozen=True, slots=True)
class RingCadence:
    """Station ringing: the ringer frequency and the on/off pattern in seconds, repeating."""

    frequency_hz: float
    pattern: tuple[float, ...]

    def __post_init__(self):
        if len(self.pattern) % 2 or not self.pattern or any(s <= 0 for s in self.pattern):
            raise ValueError(
                f"RingCadence: pattern {self.pattern}; expected pairs of positive on/off "
                "durations in seconds, e.g. (1.0, 4.0)"
            )
        if not 15 <= self.frequency_hz <= 70:
            raise ValueError(
                f"RingCadence: frequency {self.frequency_hz} Hz; ringers work at 15-70 Hz"
            )

    @property
    def period(self):
        return sum(self.pattern)


# China: 25 Hz ringing, 1 s on / 4 s off (TELEPHONY.md, GB 3380 ring cadence).
CN_STATION_RING = RingCadence(25.0, (1.0, 4.0))


@dataclass(frozen=True, slots=True)
class PortEvent:
    """Something that happened on a port at board time `time`."""

    port: int
    time: float


@dataclass(frozen=True, slots=True)
class Ring(PortEvent):
    """Ringing voltage started on a trunk: burst number `count` of this call (from 1)."""

    count: int


@dataclass(frozen=True, slots=True)
class RingOff(PortEvent):
    """Ringing voltage stopped on a trunk after burst `count`."""

    count: int


@dataclass(frozen=True, slots=True)
class CallerId(PortEvent):
    """Caller ID of the call ringing on a trunk; a missing field has its absence reason."""

    number: str | None
    name: str | None = None
    number_absent: str | None = None  # ABSENT_UNAVAILABLE or ABSENT_PRIVATE
    name_absent: str | None = None


@dataclass(frozen=True, slots=True)
class OffHook(PortEvent):
    """A station's phone went off hook."""


@dataclass(frozen=True, slots=True)
class OnHook(PortEvent):
    """A station's phone went on hook."""


@dataclass(frozen=True, slots=True)
class HookFlash(PortEvent):
    """A station's phone flashed the hook (a short on-hook, typically 100-600 ms)."""


@dataclass(frozen=True, slots=True)
class PhoneHold(PortEvent):
    """A SIP station's phone held (``held``) or resumed its call, by re-INVITE."""

    held: bool


@dataclass(frozen=True, slots=True)
class PhoneTransfer(PortEvent):
    """A SIP station's phone asked, by REFER, to transfer its caller to ``target`` (the
    Refer-To's user), or with ``attended`` to the party of its consult call (Replaces)."""

    target: str
    attended: bool = False


@dataclass(frozen=True, slots=True)
class PhoneConsult(PortEvent):
    """A SIP station's phone, in a call, placed a second call to ``number``."""

    number: str


@dataclass(frozen=True, slots=True)
class PhoneConsultEnded(PortEvent):
    """The second call of a SIP station's phone ended (the phone hung it up, or we did)."""


@dataclass(frozen=True, slots=True)
class FarEndHangup(PortEvent):
    """A trunk's line signalled that the far end cleared (only lines that can do it)."""

    signal: ClearSignal


@dataclass(frozen=True, slots=True)
class FarEndAnswered(PortEvent):
    """A call the appliance placed on a trunk by signalling (``dial``) was answered."""


@dataclass(frozen=True, slots=True)
class LineState(PortEvent):
    """A trunk's line as measured: battery present, loop current (mA), voltage (V, signed)."""

    present: bool
    loop_current_ma: float
    voltage_v: float


@dataclass(frozen=True, slots=True)
class PolarityReversal(PortEvent):
    """A trunk's line reversed its polarity."""


@dataclass(frozen=True, slots=True)
class SpanAlarm(PortEvent):
    """An E1 span's alarms (a subset of SPAN_ALARMS) and slip count; `port` is its first."""

    span: int
    alarms: frozenset[str]
    slips: int

    def __post_init__(self):
        unknown = self.alarms - SPAN_ALARMS
        if unknown:
            raise ValueError(
                f"SpanAlarm: unknown alarms {sorted(unknown)}; expected some of "
                f"{sorted(SPAN_ALARMS)}"
            )


@dataclass(frozen=True, slots=True)
class PortOutOfService(PortEvent):
    """The port stopped working (its board is gone, stalled or reset): `reason` says why."""

    reason: str


@dataclass(frozen=True, slots=True)
class PortInService(PortEvent):
    """The port works again (after PortOutOfService)."""


@runtime_checkable
class Board(Protocol):
    """What every board driver offers the media loop (see the module docstring)."""

    @property
    def ports(self) -> tuple[Port, ...]:
        """The board's ports, in index order."""
        ...

    def tick(self, now: float) -> list[PortEvent]:
        """Advance to `now` (seconds, never decreasing); return the events since last tick."""
        ...

    def read_block(self) -> np.ndarray:
        """The last 20 ms of received audio of every port: a new int16[channels, 160]."""
        ...

    def write_block(self, block: np.ndarray) -> None:
        """Send 20 ms of audio to every port: int16[channels, 160]."""
        ...

    def answer(self, port: int) -> None:
        """Take a trunk off hook (answer the call ringing on it, or seize the line)."""
        ...

    def hang_up(self, port: int) -> None:
        """Put a trunk on hook, releasing the line."""
        ...

    def ring(self, port: int, cadence: RingCadence = CN_STATION_RING) -> None:
        """Start ringing a station's phone with `cadence` until it answers or stop_ring."""
        ...

    def stop_ring(self, port: int) -> None:
        """Stop ringing a station (no effect if it is not ringing)."""
        ...


def check_block(block, channels, where):
    """Raise BlockError unless block is an int16[channels, 160] array."""
    shape = (channels, BLOCK_SAMPLES)
    if not isinstance(block, np.ndarray) or block.dtype != np.int16 or block.shape != shape:
        got = (
            f"{block.dtype} {block.shape}" if isinstance(block, np.ndarray)
            else type(block).__name__
        )
        raise BlockError(f"{where}: block is {got}; expected an int16 array of shape {shape}")
