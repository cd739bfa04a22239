"""A bounded reader of ``.tar.gz`` archives that never trusts a size it has not checked.

``read_members(data, limits)`` inflates the gzip stream a block at a time (``zlib`` with an
output bound per call, so a small bomb never becomes a large buffer) and walks the tar headers
as they arrive (POSIX ustar, pax ``x``/``g`` headers, GNU ``L``/``K`` long names). Every size is
checked against ``Limits`` before the bytes it announces are inflated:

* an extension header (pax or GNU long name) larger than ``header_bytes`` is refused at its
  header, unread: the standard library's tarfile parses pax headers in quadratic time
  (CVE-2024-6232), a 256 KiB header of zeros takes it half a minute;
* more than ``members`` members, or member sizes adding up to more than ``unpacked_bytes``, is
  refused at the header that passes the limit;
* every header block's checksum must be right, and neither the gzip stream nor the tar stream
  may end inside a member.

Yields ``Member(name, kind, size, data)``; ``kind`` is the tar type flag as one character
(``"0"`` regular file, ``"5"`` directory, ``"1"``/``"2"`` links, ``"3"``/``"4"``/``"6"``
devices and FIFOs); only regular files carry ``data``. Errors: ``ArchiveInvalid`` (damaged)
and its subclass ``ArchiveLimit`` (a limit passed), with a message that says which rule or
limit. The reader is linear in the archive's size.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["ArchiveInvalid", "ArchiveLimit", "Limits", "Member", "read_members"]

BLOCK = 512
_CHUNK = 64 * 1024
_REGULAR = ("0", "\0", "7")
_EXTENSIONS = ("x", "g", "L", "K")
_NO_DATA = "123456"  # links, devices, directories, FIFOs: their size field announces no data


class ArchiveInvalid(ValueError):
    """The archive is damaged; the message says how."""


class ArchiveLimit(ArchiveInvalid):
    """The archive passes one of the ``Limits``; the message says which, and by how much."""


@dataclass(frozen=True, slots=True)
class Limits:
    members: int
    unpacked_bytes: int
    header_bytes: int


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    kind: str
    size: int
    data: bytes = b""


class _Inflater:
    """Exactly ``n`` bytes at a time from a gzip stream (concatenated members too)."""

    def __init__(self, data: bytes):
        self._data = memoryview(data)
        self._at = 0
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._pending = b""
        self._fed = False  # the current gzip member has had input: it must reach its end

    def read(self, n: int) -> bytes | None:
        """``n`` bytes, or None when the stream ends cleanly before the first of them."""
        parts, have = [], 0
        while have < n:
            chunk = self._inflate(n - have)
            if not chunk:
                if have == 0:
                    return None
                raise ArchiveInvalid("the archive ends in the middle of a member")
            parts.append(chunk)
            have += len(chunk)
        return b"".join(parts)

    def _inflate(self, most: int) -> bytes:
        while True:
            source = self._pending or self._next_input()
            if not source:
                if self._fed and not self._zlib.eof:
                    raise ArchiveInvalid("the gzip stream is cut short")
                return b""
            self._fed = True
            try:
                out = self._zlib.decompress(source, most)
            except zlib.error as exc:
                raise ArchiveInvalid(f"the gzip stream is damaged ({exc})") from None
            self._pending = self._zlib.unconsumed_tail
            if self._zlib.eof:
                rest = self._zlib.unused_data
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
                self._pending, self._fed = rest, False
            if out:
                return out

    def _next_input(self) -> bytes:
        chunk = bytes(self._data[self._at:self._at + _CHUNK])
        self._at += len(chunk)
        return chunk


def read_members(data: bytes, limits: Limits) -> Iterator[Member]:
    """Every member of the ``.tar.gz`` in ``data``, in order (see the module docstring)."""
    stream = _Inflater(data)
    count = unpacked = 0
    long_name: str | None = None
    pax: dict[str, str] = {}
    while True:
        header = stream.read(BLOCK)
        if header is None or header == bytes(BLOCK):
            return
        kind, name, size = _header(header, count + 1)
        if kind in _EXTENSIONS:
            if size > limits.header_bytes:
                label = "pax extended header" if kind in "xg" else "GNU long-name header"
                raise ArchiveLimit(f"has a {label} of {size} bytes; at most "
                                   f"{limits.header_bytes} bytes are allowed")
            body = _body(stream, size)
            if kind == "x":
                pax = _pax_records(body)
            elif kind == "L":
                long_name = body.split(b"\0", 1)[0].decode("utf-8", "replace")
            continue
        count += 1
        if count > limits.members:
            raise ArchiveLimit(f"has more than {limits.members} members")
        name = pax.get("path", long_name or name)
        if "size" in pax:
            size = _number(pax["size"], "the pax size of " + repr(name))
        pax, long_name = {}, None
        unpacked += size
        if unpacked > limits.unpacked_bytes:
            raise ArchiveLimit(f"unpacks to more than {_mb(limits.unpacked_bytes)}")
        if kind in _REGULAR:
            yield Member(name, "0", size, _body(stream, size))
        else:
            yield Member(name, kind, size)
            if kind not in _NO_DATA:
                _body(stream, size)


def _body(stream: _Inflater, size: int) -> bytes:
    padded = -(-size // BLOCK) * BLOCK
    if not padded:
        return b""
    data = stream.read(padded)
    if data is None:
        raise ArchiveInvalid("the archive ends in the middle of a member")
    return data[:size]


def _header(block: bytes, index: int) -> tuple[str, str, int]:
    where = f"header of member {index}"
    stored = _number(block[148:156], where + " (checksum)")
    unsigned = sum(block[:148]) + 8 * 0x20 + sum(block[156:])
    if stored != unsigned:
        raise ArchiveInvalid(f"the {where} is damaged (checksum {stored}, computed "
                             f"{unsigned}); this is not a tar archive, or it was cut")
    kind = chr(block[156]) if block[156] else "\0"
    name = _text(block[0:100])
    if block[257:262] == b"ustar" and block[345]:
        name = _text(block[345:500]) + "/" + name
    return kind, name, _number(block[124:136], where + " (size)")


def _number(field: bytes | str, where: str) -> int:
    if isinstance(field, bytes) and field[:1] in (b"\x80", b"\xff"):
        raise ArchiveInvalid(f"{where}: a base-256 number; a backup's sizes fit in octal")
    raw = field.decode("ascii", "replace") if isinstance(field, bytes) else field
    text = raw.strip(" \0")
    base = 8 if isinstance(field, bytes) else 10
    try:
        value = int(text, base) if text else 0
    except ValueError:
        value = -1
    if value < 0:
        raise ArchiveInvalid(f"{where}: {text[:20]!r} is not a size")
    return value


def _mb(size: int) -> str:
    return f"{size / 1e6:.0f} MB" if size >= 1e6 else f"{size} bytes"


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "replace")


def _pax_records(body: bytes) -> dict[str, str]:
    """``"<length> <key>=<value>\\n"`` records (POSIX.1-2001 pax), read left to right once."""
    records: dict[str, str] = {}
    at = 0
    while at < len(body) and body[at:at + 1] != b"\0":
        space = body.find(b" ", at, at + 20)
        if space < 0 or not body[at:space].isdigit():
            raise ArchiveInvalid("a pax extended header is damaged (a record without a "
                                 "length)")
        length = int(body[at:space])
        end = at + length
        if length <= space - at or end > len(body) or body[end - 1:end] != b"\n":
            raise ArchiveInvalid("a pax extended header is damaged (a record's length is "
                                 "wrong)")
        key, sep, value = body[space + 1:end - 1].partition(b"=")
        if not sep:
            raise ArchiveInvalid("a pax extended header is damaged (a record without '=')")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        at = end
    return records
