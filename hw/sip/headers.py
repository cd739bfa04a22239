"""Header field names and the typed header values the core relies on: Via and CSeq.

RFC 3261 §7.3.3 (compact forms), §20.16 (CSeq), §20.42 (Via). Names compare without regard
to case; known names are written back in their usual spelling.
"""

import re
from dataclasses import dataclass

from branchline.hw.sip.errors import ParseError
from branchline.hw.sip.grammar import (
    WSP,
    check_host,
    format_params,
    is_token,
    param,
    parse_params,
    parse_port,
)

# RFC 3261 §7.3.3 and the IANA SIP parameters registry: compact form -> full name.
COMPACT = {
    "a": "Accept-Contact", "b": "Referred-By", "c": "Content-Type", "d": "Request-Disposition",
    "e": "Content-Encoding", "f": "From", "i": "Call-ID", "j": "Reject-Contact",
    "k": "Supported", "l": "Content-Length", "m": "Contact", "o": "Event", "r": "Refer-To",
    "s": "Subject", "t": "To", "u": "Allow-Events", "v": "Via", "x": "Session-Expires",
    "y": "Identity",
}
KNOWN = (
    "Accept", "Allow", "Authorization", "Call-ID", "Contact", "Content-Length",
    "Content-Type", "CSeq", "Date", "Expires", "From", "Max-Forwards", "Proxy-Authenticate",
    "Proxy-Authorization", "Record-Route", "Require", "Route", "Server", "Supported", "To",
    "Unsupported", "User-Agent", "Via", "WWW-Authenticate", *COMPACT.values(),
)
_CANONICAL = {name.lower(): name for name in KNOWN}
# Header fields a request or response may carry only once (RFC 3261 §7.3.1, table 2).
SINGLE = frozenset(n.lower() for n in (
    "Call-ID", "Content-Length", "Content-Type", "CSeq", "From", "Max-Forwards", "To"))
MAX_CSEQ = 2**32 - 1  # RFC 3261 §8.1.1.5: a 32-bit unsigned integer


def canonical_name(name):
    """The full, usual spelling of a header name (``v`` -> ``Via``, ``cSeQ`` -> ``CSeq``)."""
    lower = name.lower()
    return COMPACT.get(lower) or _CANONICAL.get(lower) or name


@dataclass(frozen=True, slots=True)
class CSeq:
    number: int
    method: str

    @classmethod
    def parse(cls, text):
        parts = text.split()
        if len(parts) != 2 or not parts[0].isascii() or not parts[0].isdigit() \
                or not is_token(parts[1]):
            raise ParseError(f"CSeq {text!r} is not a number and a method, like '1 INVITE'")
        number = int(parts[0])
        if number > MAX_CSEQ:
            raise ParseError(f"CSeq number {parts[0]} is larger than 2**32-1")
        return cls(number, parts[1])

    def __str__(self):
        return f"{self.number} {self.method}"


_SENT_PROTOCOL = re.compile(r"\s*([^/\s]+)\s*/\s*([^/\s]+)\s*/\s*([^\s;]+)(\s+)(.*)", re.S)
_SENT_BY = re.compile(r"(\[[^\]]*\]|[^\s:;]+)(?:\s*:\s*([^\s;]*))?\s*(.*)", re.S)


@dataclass(frozen=True, slots=True)
class Via:
    """One via-parm: ``SIP/2.0/UDP host:port;branch=...;received=...;rport``."""

    transport: str
    host: str
    port: int | None = None
    params: tuple = ()
    protocol: str = "SIP/2.0"

    @classmethod
    def parse(cls, text):
        m = _SENT_PROTOCOL.fullmatch(text.strip(WSP))
        if not m or not all(is_token(m.group(g)) for g in (1, 2, 3)):
            raise ParseError(f"Via {text!r} does not start with 'SIP/2.0/<transport> <host>'")
        sent = _SENT_BY.fullmatch(m.group(5))
        if not sent:
            raise ParseError(f"Via {text!r} has no host after its transport")
        host = sent.group(1)
        check_host(host, f"Via {text!r}: host")
        port = None if sent.group(2) is None else parse_port(sent.group(2), f"Via {text!r}")
        params = parse_params(sent.group(3), f"Via {text!r}")
        return cls(transport=m.group(3).upper(), host=host, port=port, params=params,
                   protocol=f"{m.group(1)}/{m.group(2)}")

    @property
    def branch(self):
        return self.param("branch")

    def param(self, name):
        return param(self.params, name)

    def with_params(self, **values):
        """A copy with parameters set (``rport=5062``) or added bare (``rport=None``)."""
        kept = tuple((n, v) for n, v in self.params if n.lower() not in values)
        return Via(self.transport, self.host, self.port, kept + tuple(values.items()),
                   self.protocol)

    def __str__(self):
        port = "" if self.port is None else f":{self.port}"
        return f"{self.protocol}/{self.transport} {self.host}{port}{format_params(self.params)}"
