"""Caller ID on analog lines: Bell 202 FSK (SDMF/MDMF) and DTMF, receive and generate.

Messages (Telcordia GR-30-CORE, ETSI EN 300 659-3, China YD/T 1117; byte layouts in
docs/line-dsp.md): type (0x04 SDMF, 0x80 MDMF), length (bytes after it, checksum excluded),
body, checksum such that every byte including it sums to 0 mod 256.

- ``encode_sdmf(number, when)``, ``encode_mdmf(*, number, name, number_absent, name_absent,
  when)`` -> bytes; ``decode_message(data)`` -> ``CallerIdMessage``.
- ``fsk_modulate(message)`` -> int16 audio at 8 kHz: channel seizure (alternating 0/1 bits),
  marks, then each byte as start bit 0, eight data bits LSB first, stop bit 1, at 1200 bit/s
  on mark 1200 Hz (1) / space 2200 Hz (0), phase-continuous.
- ``FskRx(channels).process(block)`` -> ``[(channel, CallerIdMessage)]`` for every channel of a
  board at once (compiled kernel ``branchline.dsp._fsk_rx``); bad messages are counted in
  ``counters`` and kept as ``last_error(channel)``, never raised out of ``process``.
- ``parse_dtmf_callerid(digits)``, ``dtmf_callerid_samples(number, start=, end=)``: DTMF caller
  ID sent before the first ring (ETSI EN 300 659-1 Annex B, and China's variants: the start
  and end characters may be any of A B C D * #).

Errors: ``CallerIdError`` (a ``ValueError``) for a message or digit string that is wrong, with
where and what would be right; ``TypeError``/``ValueError`` for a bad block or argument.
"""

import math
from dataclasses import dataclass

import numpy as np

from branchline.dsp._blocks import check_block, check_channel
from branchline.dsp._fsk_rx import FskKernel
from branchline.dsp.tones import dbm0_to_peak, dtmf_samples

__all__ = [
    "ABSENT_REASONS",
    "MESSAGE_TYPES",
    "CallerIdError",
    "CallerIdMessage",
    "FskRx",
    "decode_message",
    "dtmf_callerid_samples",
    "encode_mdmf",
    "encode_sdmf",
    "fsk_modulate",
    "parse_dtmf_callerid",
]

SDMF, MDMF = 0x04, 0x80
# 0x06 / 0x82 are the message-waiting variants (GR-30): recognised and reported as such.
MESSAGE_TYPES = {SDMF: "sdmf", MDMF: "mdmf", 0x06: "sdmf-mwi", 0x82: "mdmf-mwi"}
P_DATETIME, P_NUMBER, P_NUMBER_ABSENT, P_NAME, P_NAME_ABSENT = 0x01, 0x02, 0x04, 0x07, 0x08
ABSENT_REASONS = {"O": "unavailable", "P": "private"}
MAX_NUMBER, MAX_NAME = 20, 50  # our limits (GR-30 sends up to 10/15 and 15; China up to 20)
DTMF_FRAMES = "ABCD*#"
RATE, BAUD, MARK_HZ, SPACE_HZ = 8000, 1200, 1200.0, 2200.0  # Bell 202


class CallerIdError(ValueError):
    """A caller-ID message or DTMF string that cannot be decoded (what, where, what is right)."""


@dataclass(frozen=True, slots=True)
class CallerIdMessage:
    """A decoded caller ID. A missing number or name has its absence reason 'O' or 'P'."""

    kind: str  # 'sdmf' | 'mdmf' | 'dtmf'
    number: str | None = None
    name: str | None = None
    number_absent: str | None = None
    name_absent: str | None = None
    when: tuple[int, int, int, int] | None = None  # (month, day, hour, minute)


# -- message codec -----------------------------------------------------------------------------

def _checksum(body):
    return (-sum(body)) & 0xFF


def _frame(kind, body, where):
    if len(body) > 255:
        raise CallerIdError(f"{where}: body of {len(body)} bytes; at most 255 fit the length byte")
    head = bytes([kind, len(body)]) + body
    return head + bytes([_checksum(head)])


def _datetime_bytes(when, where):
    if (not isinstance(when, tuple) or len(when) != 4
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in when)):
        raise CallerIdError(f"{where}: when={when!r}; expected (month, day, hour, minute) ints")
    month, day, hour, minute = when
    if not (1 <= month <= 12 and 1 <= day <= 31 and 0 <= hour <= 23 and 0 <= minute <= 59):
        raise CallerIdError(
            f"{where}: when={when!r}; expected month 1-12, day 1-31, hour 0-23, minute 0-59")
    return f"{month:02d}{day:02d}{hour:02d}{minute:02d}".encode("ascii")


def _number_bytes(number, where):
    if not isinstance(number, str) or not (1 <= len(number) <= MAX_NUMBER) or not all(
            ch in "0123456789" for ch in number):
        raise CallerIdError(f"{where}: number={number!r}; expected 1-{MAX_NUMBER} digits 0-9")
    return number.encode("ascii")


def _reason_byte(reason, field, where):
    if reason not in ABSENT_REASONS:
        raise CallerIdError(
            f"{where}: {field}={reason!r}; expected 'O' (unavailable) or 'P' (private)")
    return reason.encode("ascii")


def encode_sdmf(number, when, *, number_absent=None):
    """SDMF (0x04): MMDDHHMM then the number, or the absence reason 'O'/'P' in its place."""
    where = "encode_sdmf"
    if (number is None) == (number_absent is None):
        raise CallerIdError(f"{where}: give exactly one of number or number_absent")
    body = _datetime_bytes(when, where)
    if number is not None:
        body += _number_bytes(number, where)
    else:
        body += _reason_byte(number_absent, "number_absent", where)
    return _frame(SDMF, body, where)


def encode_mdmf(*, number=None, name=None, number_absent=None, name_absent=None, when=None):
    """MDMF (0x80): date-time, number or its absence, name or its absence (each optional)."""
    where = "encode_mdmf"
    if number is not None and number_absent is not None:
        raise CallerIdError(f"{where}: number and number_absent are exclusive; give one")
    if name is not None and name_absent is not None:
        raise CallerIdError(f"{where}: name and name_absent are exclusive; give one")
    params = []
    if when is not None:
        params.append((P_DATETIME, _datetime_bytes(when, where)))
    if number is not None:
        params.append((P_NUMBER, _number_bytes(number, where)))
    if number_absent is not None:
        params.append((P_NUMBER_ABSENT, _reason_byte(number_absent, "number_absent", where)))
    if name is not None:
        if not isinstance(name, str) or not (1 <= len(name) <= MAX_NAME) or not all(
                32 <= ord(ch) < 127 for ch in name):
            raise CallerIdError(
                f"{where}: name={name!r}; expected 1-{MAX_NAME} printable ASCII characters")
        params.append((P_NAME, name.encode("ascii")))
    if name_absent is not None:
        params.append((P_NAME_ABSENT, _reason_byte(name_absent, "name_absent", where)))
    if not params:
        raise CallerIdError(f"{where}: nothing to send; give a number, a name or a reason")
    body = b"".join(bytes([kind, len(value)]) + value for kind, value in params)
    return _frame(MDMF, body, where)


def _parse_datetime(raw, where):
    text = raw.decode("ascii", "replace")
    if len(raw) != 8 or not text.isdigit():
        raise CallerIdError(f"{where}: date-time {raw.hex(' ')}; expected 8 ASCII digits MMDDHHMM")
    when = tuple(int(text[i : i + 2]) for i in range(0, 8, 2))
    try:
        _datetime_bytes(when, where)
    except CallerIdError:
        raise CallerIdError(f"{where}: date-time {text!r} is not a valid MMDDHHMM") from None
    return when


def _parse_number(raw, where):
    text = raw.decode("ascii", "replace")
    if not raw or not all(32 < b < 127 for b in raw):
        raise CallerIdError(f"{where}: number {raw.hex(' ')}; expected printable ASCII digits")
    return text


def _parse_reason(raw, where):
    text = raw.decode("ascii", "replace")
    if text not in ABSENT_REASONS:
        raise CallerIdError(f"{where}: reason {raw.hex(' ')}; expected 'O' (0x4f) or 'P' (0x50)")
    return text


def decode_message(data):
    """Decode one whole message (type, length, body, checksum) into a ``CallerIdMessage``."""
    data = bytes(data)
    where = "decode_message"
    if len(data) < 3:
        raise CallerIdError(f"{where}: {len(data)} bytes; a message has at least type, "
                            "length and checksum")
    kind, length = data[0], data[1]
    if kind not in MESSAGE_TYPES:
        raise CallerIdError(f"{where}: type 0x{kind:02x} at byte 0; expected 0x04 (SDMF) or "
                            "0x80 (MDMF)")
    if len(data) != length + 3:
        raise CallerIdError(f"{where}: length byte says {length} body bytes, so {length + 3} "
                            f"in all; got {len(data)}")
    if sum(data) & 0xFF:
        raise CallerIdError(
            f"{where}: checksum 0x{data[-1]:02x} at byte {len(data) - 1} is wrong; expected "
            f"0x{_checksum(data[:-1]):02x} (all bytes must sum to 0 mod 256)")
    if MESSAGE_TYPES[kind].endswith("mwi"):
        raise CallerIdError(f"{where}: type 0x{kind:02x} is a message-waiting indication, "
                            "not caller ID")
    body = data[2:-1]
    if kind == SDMF:
        if len(body) < 9:
            raise CallerIdError(f"{where}: SDMF body of {len(body)} bytes; expected 8 bytes "
                                "MMDDHHMM and a number")
        when = _parse_datetime(body[:8], where)
        rest = body[8:]
        if rest in (b"O", b"P"):
            return CallerIdMessage("sdmf", number_absent=rest.decode(), when=when)
        return CallerIdMessage("sdmf", number=_parse_number(rest, where), when=when)
    fields = {}
    at = 0
    while at < len(body):
        if at + 2 > len(body) or at + 2 + body[at + 1] > len(body):
            raise CallerIdError(f"{where}: MDMF parameter at byte {at + 2} runs past the body "
                                f"({len(body)} bytes)")
        ptype, plen = body[at], body[at + 1]
        value = body[at + 2 : at + 2 + plen]
        here = f"{where}: MDMF parameter 0x{ptype:02x} at byte {at + 2}"
        if ptype == P_DATETIME:
            fields["when"] = _parse_datetime(value, here)
        elif ptype == P_NUMBER:
            fields["number"] = _parse_number(value, here)
        elif ptype == P_NUMBER_ABSENT:
            fields["number_absent"] = _parse_reason(value, here)
        elif ptype == P_NAME:
            fields["name"] = value.decode("ascii", "replace")
        elif ptype == P_NAME_ABSENT:
            fields["name_absent"] = _parse_reason(value, here)
        # Other parameter types (call type, redirection...) are skipped, as GR-30 asks.
        at += 2 + plen
    return CallerIdMessage("mdmf", **fields)


# -- FSK generation -----------------------------------------------------------------------------

def message_bits(message, *, seizure_bits=300, mark_bits=180):
    """The bit stream: seizure 0101..., marks, then each byte framed 8N1 (LSB first)."""
    bits = [i & 1 for i in range(seizure_bits)] + [1] * mark_bits
    for byte in bytes(message):
        bits += [0, *((byte >> k) & 1 for k in range(8)), 1]
    return np.array(bits, dtype=np.int8)


def fsk_modulate(message, *, level_dbm0=-13.0, seizure_bits=300, mark_bits=180):
    """Bell 202 audio of `message` (int16, 8 kHz), phase-continuous, bit k starting at sample
    ceil(k * 8000 / 1200). Defaults: GR-30's 300 seizure bits and 180 marks, -13 dBm0."""
    if not isinstance(level_dbm0, int | float) or not (-60 <= level_dbm0 <= 3):
        raise ValueError(f"fsk_modulate: level_dbm0={level_dbm0!r}; expected -60..3 dBm0")
    for name, value in (("seizure_bits", seizure_bits), ("mark_bits", mark_bits)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"fsk_modulate: {name}={value!r}; expected an int >= 0")
    bits = message_bits(message, seizure_bits=seizure_bits, mark_bits=mark_bits)
    n = math.ceil(len(bits) * RATE / BAUD)
    which = bits[(np.arange(n) * BAUD) // RATE]
    step = np.where(which == 1, 2 * np.pi * MARK_HZ / RATE, 2 * np.pi * SPACE_HZ / RATE)
    phase = np.cumsum(step) - step[0]
    return np.round(dbm0_to_peak(level_dbm0) * np.sin(phase)).astype(np.int16)


# -- FSK receiver -------------------------------------------------------------------------------

MIN_LEAD_MARKS = 20    # marks before a message's type byte (GR-30 sends 180, ETSI 80 +- 25)
MAX_GAP_MARKS = 40     # marks allowed between a message's bytes (GR-30: up to 10); ours
_FRAMING, _CARRIER_LOST = -1, -2


class FskRx:
    """Bell 202 caller-ID receivers for `channels` channels (see the module docstring).

    ``counters``: 'messages' decoded, and the rejects: 'checksum', 'format' (a message that
    does not parse), 'framing' (a byte without its stop bit inside a message), 'truncated'
    (the carrier or the bytes stopped before the length said).
    """

    def __init__(self, channels, *, min_level_dbm0=-45.0):
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"FskRx: channels={channels!r}; expected an int >= 1")
        if not isinstance(min_level_dbm0, int | float) or not (-60 <= min_level_dbm0 <= -10):
            raise ValueError(
                f"FskRx: min_level_dbm0={min_level_dbm0!r}; expected -60..-10 dBm0")
        self._channels = channels
        self._kernel = FskKernel(channels, float(min_level_dbm0))
        self._out = np.empty((0, 4), dtype=np.int64)
        self._buffers = [None] * channels
        self._errors = [None] * channels
        self.counters = dict.fromkeys(
            ("messages", "checksum", "format", "framing", "truncated"), 0)

    @property
    def channels(self):
        return self._channels

    def process(self, block):
        """Feed `block` (int16[channels, n]); return [(channel, message)] completed in it."""
        check_block(block, self._channels, "FskRx.process")
        need = FskKernel.event_capacity(self._channels, block.shape[1])
        if len(self._out) < need:
            self._out = np.empty((need, 4), dtype=np.int64)
        count = self._kernel.process(block, self._out)
        found = []
        for channel, value, gap, _sample in self._out[:count].tolist():
            message = self._feed(channel, value, gap)
            if message is not None:
                found.append((channel, message))
        return found

    def _feed(self, channel, value, gap):
        buffer = self._buffers[channel]
        if buffer is not None and (value < 0 or gap > MAX_GAP_MARKS):
            reason = "framing" if value == _FRAMING else "truncated"
            self._fail(channel, reason, CallerIdError(
                f"FskRx channel {channel}: message {bytes(buffer).hex(' ')} cut short by "
                f"{'a missing stop bit' if value == _FRAMING else 'the end of the carrier'}"
                f" after {len(buffer)} bytes"))
            buffer = self._buffers[channel] = None
        if value < 0:
            return None
        if buffer is None:
            if gap >= MIN_LEAD_MARKS and value in MESSAGE_TYPES:
                self._buffers[channel] = bytearray([value])
            return None
        buffer.append(value)
        if len(buffer) < 2 or len(buffer) < buffer[1] + 3:
            return None
        self._buffers[channel] = None
        try:
            message = decode_message(buffer)
        except CallerIdError as exc:
            self._fail(channel, "checksum" if "checksum" in str(exc) else "format", exc)
            return None
        self.counters["messages"] += 1
        return message

    def _fail(self, channel, reason, error):
        self.counters[reason] += 1
        self._errors[channel] = error

    def last_error(self, channel):
        """The last ``CallerIdError`` on `channel` (None if none since creation or reset)."""
        check_channel(channel, self._channels, "FskRx.last_error")
        return self._errors[channel]

    def reset(self, channel):
        """A new call on `channel`: drop any partial message; its sample count restarts."""
        check_channel(channel, self._channels, "FskRx.reset")
        self._kernel.reset(channel)
        self._buffers[channel] = None
        self._errors[channel] = None


# -- DTMF caller ID -----------------------------------------------------------------------------

def parse_dtmf_callerid(digits):
    """Decode a DTMF caller-ID string such as 'A1234567890C' (docs/line-dsp.md has the forms).

    A start and an end character from A B C D * # frame the number. 'B00C' / 'B10C' are the
    ETSI EN 300 659-1 Annex B codes for unavailable / private; 'D1#' private and 'D2#' or 'D3#'
    unavailable are the Danish codes. Anything else between the frame must be digits 0-9.
    """
    where = "parse_dtmf_callerid"
    if not isinstance(digits, str):
        raise CallerIdError(f"{where}: digits is a {type(digits).__name__}; expected a str")
    if len(digits) < 3:
        raise CallerIdError(f"{where}: {digits!r} is too short; expected a start character, "
                            "the number and an end character, e.g. 'A1234567890C'")
    start, body, end = digits[0], digits[1:-1], digits[-1]
    if start not in DTMF_FRAMES:
        raise CallerIdError(f"{where}: {digits!r} starts with {start!r}; expected one of "
                            "A B C D * # (digits may have been lost before it)")
    if end not in DTMF_FRAMES:
        raise CallerIdError(f"{where}: {digits!r} ends with {end!r}; expected one of "
                            "A B C D * # (the string may have been cut short)")
    for at, ch in enumerate(body, start=1):
        if ch not in "0123456789":
            raise CallerIdError(f"{where}: {digits!r} has {ch!r} at position {at}; the number "
                                "between the start and end characters must be digits 0-9")
    if start == "B":
        reasons = {"00": "O", "10": "P"}
        if body not in reasons:
            raise CallerIdError(f"{where}: {digits!r}: 'B' starts an absence code; expected "
                                "'B00' (unavailable) or 'B10' (private)")
        return CallerIdMessage("dtmf", number_absent=reasons[body])
    if start == "D" and end == "#" and body in ("1", "2", "3"):
        return CallerIdMessage("dtmf", number_absent="P" if body == "1" else "O")
    return CallerIdMessage("dtmf", number=body)


def dtmf_callerid_samples(number, *, start="A", end="C", level_dbm0=-10.0):
    """Audio (int16, 8 kHz) of `start` + `number` + `end` as DTMF: 70 ms tones, 70 ms pauses
    (ETSI EN 300 659-1 Annex B asks for 50-70 ms of each), ready to go before the first ring."""
    if start not in DTMF_FRAMES or end not in DTMF_FRAMES:
        raise CallerIdError(f"dtmf_callerid_samples: start={start!r}, end={end!r}; each must "
                            "be one of A B C D * #")
    parse_dtmf_callerid(start + number + end)
    return dtmf_samples(start + number + end, level_dbm0=level_dbm0, on_ms=70, off_ms=70)
