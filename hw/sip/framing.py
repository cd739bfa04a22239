"""Cutting SIP messages out of a TCP byte stream (RFC 3261 §18.3, §7.5).

``StreamFramer.feed(data)`` takes whatever the socket delivered (any split) and returns the
complete messages' bytes, each ready for ``parse_message``. CRLFs between messages
(keep-alives, RFC 5626 §3.5.1) are skipped. On a stream Content-Length is required: without
it, or with a header section or body over the limits, the framing is lost and ``feed`` raises
``ParseError``; the caller closes the connection (after a 400 if it can). A framer that has
raised stays broken, so nothing after the bad message is taken for a message.
"""

import re

from branchline.hw.sip.errors import ParseError

MAX_HEAD = 65536
MAX_BODY = 1 << 20
_LENGTH = re.compile(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*(?:\r\n[ \t]+)?(\d+)[ \t]*(?=\r\n)",
                     re.I)


class StreamFramer:
    def __init__(self, max_head=MAX_HEAD, max_body=MAX_BODY):
        self._buffer = bytearray()
        self._max_head = max_head
        self._max_body = max_body
        self._broken = None

    def feed(self, data):
        if self._broken is not None:
            raise ParseError(f"stream framing was lost earlier: {self._broken}")
        self._buffer += data
        messages = []
        try:
            while (message := self._next()) is not None:
                messages.append(message)
        except ParseError as exc:
            self._broken = str(exc)
            raise
        return messages

    def _next(self):
        while self._buffer[:2] == b"\r\n":
            del self._buffer[:2]
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > self._max_head:
                raise ParseError(f"no end of the header section in {self._max_head} bytes")
            return None
        head = bytes(self._buffer[:end + 2])
        lengths = _LENGTH.findall(head)
        if len(lengths) != 1:
            raise ParseError("a message on a stream needs exactly one Content-Length"
                             f" (found {len(lengths)})")
        length = int(lengths[0])
        if length > self._max_body:
            raise ParseError(f"Content-Length {length} is over the limit of {self._max_body}")
        total = end + 4 + length
        if len(self._buffer) < total:
            return None
        message = bytes(self._buffer[:total])
        del self._buffer[:total]
        return message
