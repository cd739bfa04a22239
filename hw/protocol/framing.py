"""Board protocol framing: COBS-stuffed frames with a CRC-16, delimited by 0x00.

A frame before stuffing is::

    type (1 byte) | seq (2 bytes, big-endian) | payload (0-249 bytes) | CRC-16 (2 bytes, BE)

The CRC is CRC-16/CCITT-FALSE (polynomial 0x1021, init 0xFFFF, no reflection, no final XOR;
check value 0x29B1 for b"123456789") over type, seq and payload. The frame is then COBS
encoded (Cheshire & Baker, "Consistent Overhead Byte Stuffing", IEEE/ACM ToN 1999), which
removes every 0x00, and followed by one 0x00 delimiter. ``MAX_FRAME`` (254 bytes before
stuffing) keeps every frame within one COBS block, so stuffing costs exactly one byte and a
wire frame is at most 256 bytes with its delimiter.

``FrameDecoder.feed(data)`` takes bytes as they come off the wire in any pieces and returns
the good frames; whatever lies between two delimiters and does not decode is dropped and
counted by reason (``FRAME_FAULTS``) — the next delimiter resynchronises. Empty frames (two
delimiters in a row) are ignored, so a sender may send a lone 0x00 to flush a peer's receiver.

Exceptions (``ProtocolError`` and below; all are ``ValueError``s):
``FrameError`` — bytes from the wire are not a frame (the other side's fault, or the line's);
``EncodeError`` — we asked to build a frame or message that cannot be sent (our fault).
``FrameError.reason`` is the counter it is counted under.
"""

import binascii
import struct
from dataclasses import dataclass

__all__ = [
    "CRC_INIT",
    "DELIMITER",
    "FRAME_FAULTS",
    "MAX_FRAME",
    "MAX_PAYLOAD",
    "MAX_WIRE_FRAME",
    "EncodeError",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "ProtocolError",
    "cobs_decode",
    "cobs_encode",
    "crc16",
]

DELIMITER = b"\x00"
CRC_INIT = 0xFFFF
_HEADER = struct.Struct(">BH")
_OVERHEAD = _HEADER.size + 2
MAX_FRAME = 254
MAX_PAYLOAD = MAX_FRAME - _OVERHEAD
MAX_WIRE_FRAME = MAX_FRAME + 2  # one COBS code byte and the delimiter
# Counter names for what FrameDecoder drops.
FRAME_FAULTS = ("bad_cobs", "bad_crc", "short_frame", "long_frame")


class ProtocolError(ValueError):
    """Base of the board protocol's errors."""


class FrameError(ProtocolError):
    """Bytes from the wire that are not a frame; `reason` is one of FRAME_FAULTS."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


class EncodeError(ProtocolError):
    """A frame or message that cannot be encoded (the sender's mistake)."""


def crc16(data):
    """CRC-16/CCITT-FALSE of `data` (poly 0x1021, init 0xFFFF): crc16(b"123456789") == 0x29B1."""
    return binascii.crc_hqx(data, CRC_INIT)


def cobs_encode(data):
    """COBS-encode at most MAX_FRAME bytes (no delimiter added)."""
    if len(data) > MAX_FRAME:
        raise EncodeError(f"cobs_encode: {len(data)} bytes; a frame holds at most {MAX_FRAME}")
    # Within MAX_FRAME a run of non-zero bytes is at most 254 long, so each run is exactly
    # one COBS group: its length + 1, then the run.
    out = bytearray()
    for run in bytes(data).split(DELIMITER):
        out.append(len(run) + 1)
        out += run
    return bytes(out)


def cobs_decode(data):
    """Undo cobs_encode; FrameError('bad_cobs') if `data` is not valid COBS."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise FrameError("bad_cobs", f"COBS: a 0x00 at offset {i} inside a frame")
        end = i + code
        if end > n:
            raise FrameError(
                "bad_cobs",
                f"COBS: the group at offset {i} claims {code - 1} bytes but only "
                f"{n - i - 1} follow",
            )
        out += data[i + 1:end]
        i = end
        if i < n and code != 0xFF:
            out.append(0)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: message `type`, the sender's `seq` (16 bits, wraps) and the payload."""

    type: int
    seq: int
    payload: bytes = b""

    def __post_init__(self):
        if not 0 <= self.type <= 0xFF:
            raise EncodeError(f"Frame: type {self.type}; expected 0-255")
        if not 0 <= self.seq <= 0xFFFF:
            raise EncodeError(f"Frame: seq {self.seq}; expected 0-65535")
        if len(self.payload) > MAX_PAYLOAD:
            raise EncodeError(
                f"Frame: payload of {len(self.payload)} bytes; at most {MAX_PAYLOAD} fit"
            )

    def __bytes__(self):
        body = _HEADER.pack(self.type, self.seq) + self.payload
        return body + crc16(body).to_bytes(2, "big")

    def encode(self):
        """The frame as sent on the wire: COBS-stuffed, then the 0x00 delimiter."""
        return cobs_encode(bytes(self)) + DELIMITER

    @classmethod
    def parse(cls, data):
        """A Frame from unstuffed bytes (type, seq, payload, CRC); FrameError if it is not one."""
        n = len(data)
        if n < _OVERHEAD:
            raise FrameError(
                "short_frame", f"frame of {n} bytes; at least {_OVERHEAD} (type, seq, CRC)"
            )
        if n > MAX_FRAME:
            raise FrameError("long_frame", f"frame of {n} bytes; at most {MAX_FRAME}")
        body = bytes(data[:-2])
        sent = int.from_bytes(data[-2:], "big")
        computed = crc16(body)
        if sent != computed:
            raise FrameError(
                "bad_crc", f"CRC 0x{sent:04X} on a frame whose CRC-16 is 0x{computed:04X}"
            )
        kind, seq = _HEADER.unpack_from(body)
        return cls(kind, seq, body[_HEADER.size:])

    @classmethod
    def decode(cls, wire):
        """A Frame from one stuffed frame, with or without its trailing delimiter."""
        return cls.parse(cobs_decode(bytes(wire).rstrip(DELIMITER)))


class FrameDecoder:
    """Turns a byte stream into Frames, dropping and counting what does not decode."""

    def __init__(self):
        self._pending = bytearray()
        self._skipping = False  # inside an over-long run: drop up to the next delimiter
        self.faults = dict.fromkeys(FRAME_FAULTS, 0)
        self.last_error = None

    def feed(self, data):
        """Take the next bytes from the wire; return the complete good frames in them."""
        if DELIMITER not in data:
            if not self._skipping:
                self._pending += data
                if len(self._pending) > MAX_WIRE_FRAME:
                    self._fault(FrameError(
                        "long_frame",
                        f"{len(self._pending)} bytes without a delimiter; a frame is at "
                        f"most {MAX_WIRE_FRAME}",
                    ))
                    self._pending.clear()
                    self._skipping = True
            return []
        chunks = (self._pending + data).split(DELIMITER)
        self._pending = bytearray(chunks.pop())
        frames = []
        for chunk in chunks:
            if self._skipping:
                self._skipping = False
                continue
            if not chunk:
                continue
            try:
                if len(chunk) > MAX_WIRE_FRAME - 1:
                    raise FrameError(
                        "long_frame",
                        f"{len(chunk)} stuffed bytes; a frame is at most {MAX_WIRE_FRAME - 1}",
                    )
                frames.append(Frame.parse(cobs_decode(chunk)))
            except FrameError as exc:
                self._fault(exc)
        if len(self._pending) > MAX_WIRE_FRAME:
            self._pending.clear()
            self._skipping = True
            self._fault(FrameError("long_frame", "no delimiter within a frame's length"))
        return frames

    def _fault(self, exc):
        self.faults[exc.reason] += 1
        self.last_error = str(exc)
