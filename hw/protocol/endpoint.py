"""The board protocol, sans-I/O: bytes in, messages out; messages in, bytes out.

Theory of operation. Host and board each hold an ``Endpoint``. ``receive_data(data)`` takes
whatever the serial line delivered (any split, garbage included) and returns ``Received``
values (the sender's frame seq and the parsed message) for every good frame; ``send(message)``
returns the wire bytes of one frame carrying it, numbered with the endpoint's own sequence
(16 bits, wrapping; ``last_seq`` is the seq it used, which an ``Ack`` quotes back for a
command). Nothing here reads a clock or touches a port: the driver (hw/serial/board.py) and
the board emulator (hw/emulator/__init__.py) do the I/O and the timing.

What the endpoint rides out, each counted in ``counters`` (a dict, never reset):

- ``bad_cobs``, ``bad_crc``, ``short_frame``, ``long_frame``: bytes between two delimiters
  that are not a frame (line noise, a frame cut short by a replug); dropped, and the next
  delimiter resynchronises;
- ``bad_payload``: a good frame whose payload does not parse as its type; dropped;
- ``unknown_type``: a message type this side does not know (a newer peer); skipped;
- ``seq_gap``: frames missing between two received ones (the sum of the gaps);
  ``seq_backwards``: a frame whose seq is behind the last one (duplicated or reordered).
  ``Hello``, ``Boot`` and ``HelloReply`` start the peer's numbering afresh and count no gap
  (a sender calls ``restart()`` before sending one);
- ``frames_in``, ``frames_out``: good frames received and frames sent.

``last_error`` is the text of the last dropped frame's error, for a log line.

The frame layout and COBS/CRC rules are in hw/protocol/framing.py, the messages in
hw/protocol/messages.py; this module re-exports both so users import one name.
"""

from dataclasses import dataclass

from branchline.hw.protocol.framing import (
    DELIMITER,
    FRAME_FAULTS,
    MAX_FRAME,
    MAX_PAYLOAD,
    MAX_WIRE_FRAME,
    EncodeError,
    Frame,
    FrameDecoder,
    FrameError,
    ProtocolError,
    cobs_decode,
    cobs_encode,
    crc16,
)
from branchline.hw.protocol.messages import (
    AUDIO_BYTES,
    BROADCAST_PORT,
    E1_SPAN_PORTS,
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    AbcdEvent,
    Ack,
    AlarmCode,
    AlarmEvent,
    Audio,
    Boot,
    BootReason,
    CallerIdAudio,
    FlashCommand,
    FlashEvent,
    GainsCommand,
    Heartbeat,
    Hello,
    HelloReply,
    HookCommand,
    HookEvent,
    InventoryKind,
    LineEvent,
    LoopbackCommand,
    Message,
    MessageError,
    PolarityCommand,
    PolarityEvent,
    ResetCommand,
    Result,
    RingCommand,
    RingEvent,
    SetAbcdCommand,
    SpanAlarmBits,
    SpanStatus,
    StopRingCommand,
    UnknownMessage,
    is_command,
    parse_message,
)

__all__ = [
    "AUDIO_BYTES",
    "BROADCAST_PORT",
    "DELIMITER",
    "E1_SPAN_PORTS",
    "ENDPOINT_COUNTERS",
    "FRAME_FAULTS",
    "MAX_FRAME",
    "MAX_PAYLOAD",
    "MAX_WIRE_FRAME",
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
    "EncodeError",
    "Endpoint",
    "FlashCommand",
    "FlashEvent",
    "Frame",
    "FrameDecoder",
    "FrameError",
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
    "ProtocolError",
    "Received",
    "ResetCommand",
    "Result",
    "RingCommand",
    "RingEvent",
    "SetAbcdCommand",
    "SpanAlarmBits",
    "SpanStatus",
    "StopRingCommand",
    "UnknownMessage",
    "cobs_decode",
    "cobs_encode",
    "crc16",
    "encode_message",
    "is_command",
    "parse_message",
]

ENDPOINT_COUNTERS = (
    "frames_in", "frames_out", *FRAME_FAULTS, "bad_payload", "unknown_type", "seq_gap",
    "seq_backwards",
)
_RESTARTS = (Hello.TYPE, Boot.TYPE, HelloReply.TYPE)


@dataclass(frozen=True, slots=True)
class Received:
    """A message as received: the sender's frame `seq` and the message."""

    seq: int
    message: Message | UnknownMessage


def encode_message(message, seq):
    """The wire bytes of one frame carrying `message` with frame sequence number `seq`."""
    return Frame(message.TYPE, seq, bytes(message)).encode()


class Endpoint:
    """One side of a board link (see the module docstring)."""

    def __init__(self):
        self._decoder = FrameDecoder()
        self._next_seq = 0
        self._peer_seq = None
        self._own = dict.fromkeys(ENDPOINT_COUNTERS, 0)
        self.last_seq = None
        self.last_error = None

    @property
    def counters(self):
        """Every fault and frame count so far (a new dict)."""
        counts = dict(self._own)
        counts.update(self._decoder.faults)
        return counts

    def send(self, message):
        """The wire bytes for `message`; numbers it with the next frame seq (see last_seq)."""
        seq = self._next_seq
        data = encode_message(message, seq)
        self._next_seq = (seq + 1) & 0xFFFF
        self.last_seq = seq
        self._own["frames_out"] += 1
        return data

    def restart(self):
        """Start numbering afresh from 0 and forget the peer's numbering (a new session)."""
        self._next_seq = 0
        self._peer_seq = None

    def receive_data(self, data):
        """Feed bytes from the wire; return a Received for every good frame they complete."""
        out = []
        for frame in self._decoder.feed(data):
            self._own["frames_in"] += 1
            self._check_seq(frame)
            try:
                message = parse_message(frame)
            except MessageError as exc:
                self._own["bad_payload"] += 1
                self.last_error = str(exc)
                continue
            if isinstance(message, UnknownMessage):
                self._own["unknown_type"] += 1
            out.append(Received(frame.seq, message))
        if self._decoder.last_error is not None:
            self.last_error, self._decoder.last_error = self._decoder.last_error, None
        return out

    def _check_seq(self, frame):
        expected = None if self._peer_seq is None else (self._peer_seq + 1) & 0xFFFF
        self._peer_seq = frame.seq
        if expected is None or frame.type in _RESTARTS or frame.seq == expected:
            return
        ahead = (frame.seq - expected) & 0xFFFF
        if ahead < 0x8000:
            self._own["seq_gap"] += ahead
        else:
            self._own["seq_backwards"] += 1
