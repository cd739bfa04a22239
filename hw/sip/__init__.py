"""SIP signalling, sans-I/O: bytes and time in, bytes and timer deadlines out.

- ``message``: requests and responses, parsed from a datagram or a framed stream message and
  written back (RFC 3261 §7, §20, §25); ``framing``: messages cut out of a TCP stream;
  ``uri``: SIP URIs and addresses; ``headers``: Via, CSeq and header names.
- ``transactions``: the four RFC 3261 §17 transaction machines as one state table, timers
  A–M on the caller's clock.
- ``digest``: digest authentication (RFC 7616, RFC 2617), client and server.
- ``sdp``: session descriptions and the offer/answer rules we accept (RFC 3264, RFC 4566).
- ``dialog``: dialogs (RFC 3261 §12): tags, CSeq, route sets, remote targets.
- ``calls``: a call's INVITE session as a state table, and the events the board gets.
- ``agent``: the user agent the SIP board drives: calls in and out, CANCEL, re-INVITE (hold,
  resume, 491 glare), session timers (RFC 4028), REFER/NOTIFY, OPTIONS qualify, registration;
  ``outgoing`` (calls we place) and ``midcall`` (a call once it is up) are its two halves.
- ``registration``: the REGISTER client of a trunk account (refresh, back-off, failover).
- ``registrar``: the registrar for agent phones (digest, bindings with expiry).
- ``guard``: the scanner guard (rate limit and block) and the outbound allow-check.
- ``driver``: the thin UDP and TCP driver: the only module here that touches a socket or a
  clock; it is not imported by this package, import ``branchline.hw.sip.driver`` to open one.

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

from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.calls import (
    Call,
    CallAnswered,
    CallEnded,
    CallRinging,
    IncomingCall,
    MediaChanged,
    Outgoing,
    Qualified,
    TransferProgress,
    TransferRequested,
)
from branchline.hw.sip.dialog import Dialog
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
from branchline.hw.sip.guard import OutboundPolicy, ScannerGuard
from branchline.hw.sip.headers import CSeq, Via, canonical_name
from branchline.hw.sip.message import (
    Request,
    Response,
    parse_message,
    response_for,
    response_to_malformed,
)
from branchline.hw.sip.outgoing import Refused
from branchline.hw.sip.registrar import Binding, PhoneRegistered, PhoneUnregistered, Registrar
from branchline.hw.sip.registration import (
    Registration,
    RegistrationChanged,
    RegistrationStatus,
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
    "Binding",
    "CSeq",
    "Call",
    "CallAnswered",
    "CallEnded",
    "CallRinging",
    "Deliver",
    "Dialog",
    "DigestClient",
    "DigestServer",
    "IncomingCall",
    "MediaChanged",
    "Negotiated",
    "OutboundPolicy",
    "Outgoing",
    "ParseError",
    "PeerError",
    "PhoneRegistered",
    "PhoneUnregistered",
    "Qualified",
    "Refused",
    "Registrar",
    "Registration",
    "RegistrationChanged",
    "RegistrationStatus",
    "Request",
    "Response",
    "ScannerGuard",
    "SdpError",
    "Send",
    "Session",
    "SipError",
    "StreamFramer",
    "Terminated",
    "TimedOut",
    "TimerValues",
    "Transaction",
    "TransferProgress",
    "TransferRequested",
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
