"""SIP requests and responses: bytes in, a checked message out; a message in, bytes out.

RFC 3261 §7 (message format), §18.3 (framing), §20 (header fields), §25 (grammar).

``parse_message(data)`` takes one UDP datagram, or one message the stream framer
(hw/sip/framing.py) cut out of a TCP stream, and returns a ``Request`` or ``Response``; it
unfolds continuation lines, accepts compact names and any case, and checks what the core
relies on (the start line, Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length and
Date) before it returns, so a returned message's typed accessors never fail. Anything else it
raises ``ParseError``, with the status a server answers (``response_to_malformed`` builds
that answer when the message still says where to send it; otherwise it is dropped).

Header fields are kept in order as (name, value) pairs, names in their usual spelling,
values unfolded; ``bytes(message)`` writes them back with a Content-Length of the body.
"""

import re
from dataclasses import dataclass, field, replace

from branchline.hw.sip.errors import ParseError, UsageError
from branchline.hw.sip.grammar import is_token, split_commas
from branchline.hw.sip.headers import SINGLE, CSeq, Via, canonical_name
from branchline.hw.sip.uri import Address, Uri

VERSION = "SIP/2.0"
REASONS = {
    100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 407: "Proxy Authentication Required", 408: "Request Timeout",
    415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension",
    481: "Call/Transaction Does Not Exist", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 500: "Server Internal Error", 501: "Not Implemented",
    503: "Service Unavailable", 505: "Version Not Supported",
}
_FOLD = re.compile(r"\r\n[ \t]+")
_DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")
_REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")


@dataclass(frozen=True, slots=True)
class _Message:
    headers: tuple = ()
    body: bytes = b""
    # What the accessors below parsed, kept: a message is read many times on its way through
    # the agent (every Via, From, To, CSeq access parsed again cost most of a set-up). A
    # copy made by ``replace`` starts with an empty one.
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def header(self, name):
        """The first value of header ``name`` (any spelling, compact too), or None."""
        values = self._values(name)
        return values[0] if values else None

    def header_values(self, name):
        """Every value of header ``name``, in order, one per header line."""
        return list(self._values(name))

    def _values(self, name):
        key = ("values", name)
        found = self._memo.get(key)
        if found is None:
            lower = canonical_name(name).lower()
            found = self._memo[key] = tuple(v for n, v in self.headers if n.lower() == lower)
        return found

    def header_list(self, name):
        """Every element of a list header, split at commas (``Via: a, b`` and two Via lines)."""
        return [p for v in self._values(name) for p in split_commas(v, name)]

    def _parsed(self, what, parse):
        found = self._memo.get(what, self)
        if found is self:
            found = self._memo[what] = parse()
        return found

    @property
    def vias(self):
        return list(self._parsed("vias", lambda: tuple(
            Via.parse(v) for v in self.header_list("Via"))))

    @property
    def from_(self):
        return self._parsed("from", lambda: Address.parse(self.header("From")))

    @property
    def to(self):
        return self._parsed("to", lambda: Address.parse(self.header("To")))

    @property
    def call_id(self):
        return self.header("Call-ID")

    @property
    def cseq(self):
        return self._parsed("cseq", lambda: CSeq.parse(self.header("CSeq")))

    @property
    def contacts(self):
        return [Address.parse(v) for v in self.header_list("Contact") if v.strip() != "*"]

    def with_headers(self, *pairs, drop=()):
        """A copy with headers ``drop`` removed and ``pairs`` (name, value) appended."""
        drop = {canonical_name(n).lower() for n in drop}
        kept = tuple((n, v) for n, v in self.headers if n.lower() not in drop)
        return replace(self, headers=kept + tuple(pairs))

    def _head_and_body(self, start):
        lines = [start]
        lines += [f"{n}: {v}" for n, v in self.headers if n.lower() != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(frozen=True, slots=True)
class Request(_Message):
    method: str = ""
    uri: Uri = field(default=None)

    def __bytes__(self):
        return self._head_and_body(f"{self.method} {self.uri} {VERSION}")


@dataclass(frozen=True, slots=True)
class Response(_Message):
    status: int = 0
    reason: str = ""

    def __bytes__(self):
        return self._head_and_body(f"{VERSION} {self.status} {self.reason}")


def parse_message(data):
    """Parse one datagram or one framed stream message. Raises only ``ParseError``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UsageError(f"parse_message takes bytes, not {type(data).__name__}")
    data = bytes(data).lstrip(b"\r\n")  # RFC 3261 §7.5: CRLFs before a message are ignored
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise ParseError("the header fields are not ended by an empty line (CRLF CRLF)")
    try:
        head = data[:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"the header section is not UTF-8 (byte {exc.start})") from exc
    lines = _FOLD.sub(" ", head).split("\r\n")
    headers = tuple(_header(line) for line in lines[1:])
    message = _start_line(lines[0], headers)
    body = _body(message, data[end + 4:])
    message = replace(message, body=body)
    _check(message)
    return message


def _start_line(line, headers):
    parts = line.split(" ")
    if len(parts) >= 3 and parts[0].upper().startswith("SIP/"):
        version, code, reason = parts[0], parts[1], " ".join(parts[2:])
        _check_version(version)
        if len(code) != 3 or not code.isascii() or not code.isdigit() or code[0] in "0789":
            raise ParseError(f"status code {code!r} is not three digits from 100 to 699")
        if any(c in reason for c in "\r\n"):
            raise ParseError("the reason phrase holds a line break")
        return Response(headers=headers, status=int(code), reason=reason)
    if len(parts) != 3:
        raise ParseError(f"request line {line!r} is not 'METHOD URI SIP/2.0', each separated "
                         "by one space")
    method, uri, version = parts
    if not is_token(method):
        raise ParseError(f"method {method!r} is not a token")
    _check_version(version)
    uri = Uri.parse(uri)
    if uri.headers:
        raise ParseError(f"the Request-URI {parts[1]!r} may not carry headers ('?...')")
    return Request(headers=headers, method=method, uri=uri)


def _check_version(version):
    if version.upper() == VERSION:
        return
    if re.fullmatch(r"SIP/\d+\.\d+", version, re.I):
        raise ParseError(f"version {version!r} is not supported; this is SIP/2.0", 505)
    raise ParseError(f"{version!r} is not a SIP version like SIP/2.0")


def _header(line):
    name, colon, value = line.partition(":")
    name = name.rstrip(" \t")
    if not colon or not is_token(name):
        raise ParseError(f"header line {line[:60]!r} is not 'Name: value'")
    return canonical_name(name), value.strip(" \t")


def _body(message, rest):
    lengths = message.header_values("Content-Length")
    if len(lengths) > 1:
        raise ParseError("more than one Content-Length")
    if not lengths:
        return rest  # a datagram without Content-Length: the body is the rest (§18.3)
    text = lengths[0]
    if not text.isascii() or not text.isdigit():
        raise ParseError(f"Content-Length {text!r} is not a non-negative number")
    length = int(text)
    if length > len(rest):
        raise ParseError(f"Content-Length is {length} but only {len(rest)} body bytes came")
    return rest[:length]  # §18.3: bytes beyond Content-Length in a datagram are discarded


def _check(message):
    missing = [n for n in _REQUIRED if message.header(n) is None]
    if missing:
        raise ParseError(f"missing header fields: {', '.join(missing)}")
    counts = {}
    for name, _ in message.headers:
        counts[name.lower()] = counts.get(name.lower(), 0) + 1
    twice = sorted(canonical_name(n) for n, c in counts.items() if n in SINGLE and c > 1)
    if twice:
        raise ParseError(f"header fields that may appear once appear more: {', '.join(twice)}")
    if not message.vias:
        raise ParseError("Via is empty")
    message.from_, message.to, message.contacts  # noqa: B018 - parsed for their checks
    cseq = message.cseq
    if not message.call_id or any(c.isspace() for c in message.call_id):
        raise ParseError(f"Call-ID {message.call_id!r} is empty or holds a space")
    if isinstance(message, Request) and cseq.method != message.method:
        raise ParseError(f"CSeq method {cseq.method!r} differs from the request's "
                         f"{message.method!r}")
    max_forwards = message.header("Max-Forwards")
    if max_forwards is not None and not (
            max_forwards.isascii() and max_forwards.isdigit() and int(max_forwards) <= 255):
        raise ParseError(f"Max-Forwards {max_forwards!r} is not a number from 0 to 255")
    date = message.header("Date")
    if date is not None and not _DATE.fullmatch(date):
        raise ParseError(f"Date {date!r} is not like 'Sat, 13 Nov 2010 23:29:00 GMT'")


def response_to_malformed(data, error):
    """The response a server sends for a request that failed to parse, or None to drop it.

    None when ``data`` is a response (nobody answers a response) or when it lacks what a
    response must copy (Via, From, To, Call-ID, CSeq) in a usable form.
    """
    try:
        head = bytes(data).lstrip(b"\r\n").split(b"\r\n\r\n", 1)[0].decode("utf-8")
        lines = _FOLD.sub(" ", head).split("\r\n")
        if lines[0].upper().startswith("SIP/"):
            return None
        pairs = [_header(line) for line in lines[1:] if ":" in line]
        copied = [(n, v) for n, v in pairs if n in _REQUIRED]
        probe = Response(headers=tuple(copied))
        if not probe.vias or any(probe.header(n) is None for n in _REQUIRED):
            return None
    except (ParseError, UnicodeDecodeError):
        return None
    return Response(headers=tuple(copied), status=error.status,
                    reason=f"{REASONS.get(error.status, 'Bad Request')} ({error})"[:200])


def response_for(request, status, reason=None, to_tag=None, headers=()):
    """A response to ``request`` (RFC 3261 §8.2.6): Via, From, To, Call-ID and CSeq copied."""
    copied = tuple((n, v) for n, v in request.headers if n in _REQUIRED)
    if to_tag is not None and request.to.tag is None:
        to = str(request.to.with_params(tag=to_tag))
        copied = tuple((n, to if n == "To" else v) for n, v in copied)
    return Response(headers=copied + tuple(headers), status=status,
                    reason=reason or REASONS.get(status, ""))
