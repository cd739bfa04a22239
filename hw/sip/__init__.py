"""SIP signalling, sans-I/O: bytes and time in, bytes and timer deadlines out.

- ``message``: requests and responses, parsed from a datagram or a framed stream message and
  written back (RFC 3261 §7, §20, §25); ``framing``: messages cut out of a TCP stream;
  ``uri``: SIP URIs and addresses; ``headers``: Via, CSeq and header names.
- ``transactions``: the four RFC 3261 §17 transaction machines as one state table, timers
  A–M on the caller's clock.
- ``digest``: digest authentication (RFC 7616, RFC 2617), client and server.
- ``sdp``: session descriptions and the offer/answer rules we accept (RFC 3264, RFC 4566).
- ``agent``: a minimal user agent (OPTIONS, INVITE, ACK, BYE) on top of the transactions.
- ``udp``: the thin UDP driver: the only module here that touches a socket or a clock; it is
  not imported by this package, import ``branchline.hw.sip.udp`` to open one.

Exceptions, one tree; the split is whose fault it is::

    SipError
    ├── PeerError          the other side did it wrong; ``status`` is the answer (400, 488…)
    │   ├── ParseError     a malformed message or header field
    │   ├── SdpError       a malformed session description, or one we cannot accept
    │   └── AuthError      a malformed or unsupported digest challenge or credentials
    └── UsageError         we did it wrong: an event the state does not allow, a bad argument

Parsers raise only ``PeerError`` subclasses, whatever bytes they are given; engines raise
``UsageError`` for a call their state refuses, and change nothing when they do.
"""

from branchline.hw.sip.agent import Call, Outgoing, UserAgent
from branchline.hw.sip.digest import DigestClient, DigestServer, Verdict
from branchline.hw.sip.errors import (
    AuthError,
    ParseError,
    PeerError,
    SdpError,
    SipError,
    UsageError,
)
from branchline.hw.sip.framing import StreamFramer
from branchline.hw.sip.headers import CSeq, Via, canonical_name
from branchline.hw.sip.message import (
    Request,
    Response,
    parse_message,
    response_for,
    response_to_malformed,
)
from branchline.hw.sip.sdp import Negotiated, Session, accept_answer, answer, offer
from branchline.hw.sip.transactions import (
    TABLE,
    Deliver,
    Send,
    Terminated,
    TimedOut,
    TimerValues,
    Transaction,
    TransportFailed,
    ack_for,
    client_key,
    server_key,
)
from branchline.hw.sip.uri import Address, Uri

__all__ = [
    "TABLE",
    "Address",
    "AuthError",
    "CSeq",
    "Call",
    "Deliver",
    "DigestClient",
    "DigestServer",
    "Negotiated",
    "Outgoing",
    "ParseError",
    "PeerError",
    "Request",
    "Response",
    "SdpError",
    "Send",
    "Session",
    "SipError",
    "StreamFramer",
    "Terminated",
    "TimedOut",
    "TimerValues",
    "Transaction",
    "TransportFailed",
    "Uri",
    "UsageError",
    "UserAgent",
    "Verdict",
    "Via",
    "accept_answer",
    "ack_for",
    "answer",
    "canonical_name",
    "client_key",
    "offer",
    "parse_message",
    "response_for",
    "response_to_malformed",
    "server_key",
]
