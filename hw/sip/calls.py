"""A call's INVITE session as one state table, the call record, and the events the board gets.

Theory of operation. The user agent (hw/sip/agent.py) keeps one ``Call`` per Call-ID it
takes part in; every change of ``call.state`` goes through ``CALL_TABLE``: (state, event) ->
next state. A call we answer starts in ``incoming``, one we place in ``calling``:

    incoming ──ring──> early ──answer──> answering ──ack──> confirmed ──hangup──> ending
        │ answer ─────────────────────────^   no_ack: BYE ──────────────────────^   │
        └ reject, hangup, cancel ──> ended <── bye_answered, timeout ──────────────┘
    calling ──provisional──> proceeding ──success──> confirmed (ACK sent by us)
        │ retry (401/407 with credentials, 422): a new INVITE, same state
        └ hangup ──> cancelling: CANCEL once a provisional came; its 487 ──> ended;
                     a 2xx that crossed the CANCEL is ACKed and BYEd (ending)

Inside ``confirmed`` the peer's re-INVITEs and UPDATEs and our own (hold, resume, session
refresh) and transfers keep the state; ``session_expired`` (RFC 4028 §10) and a re-INVITE
answered 481 or 408 or timed out lead to ``ending`` (RFC 3261 §12.2.1.2, §14.1).

Events the board sends (TU events) that a state does not list are refused with
``UsageError`` and change nothing; events from the peer or the clock that a state does not
list are ``IGNORE``d (a late retransmission, a request the call no longer expects: the agent
still answers it as RFC 3261 says, with 481 or 500). ``render_mermaid()`` draws the table.
"""

from dataclasses import dataclass, field

from branchline.hw.sip.sdp import Negotiated
from branchline.hw.sip.timers import TimerTable

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, NOTIFY"
SUPPORTED = "timer"
STATES = ("incoming", "early", "answering", "calling", "proceeding", "cancelling",
          "confirmed", "ending", "ended")
TU_EVENTS = ("ring", "answer", "reject", "hangup", "hold", "resume", "transfer")
PEER_EVENTS = ("ack", "cancel", "bye", "reinvite", "update", "provisional", "success",
               "retry", "failure", "timeout", "no_ack", "session_expired", "bye_answered")
IGNORE = "ignore"


def _build():
    rows = {
        "incoming": {"ring": "early", "answer": "answering", "reject": "ended",
                     "hangup": "ended", "cancel": "ended", "timeout": "ended"},
        "early": {"ring": "early", "answer": "answering", "reject": "ended",
                  "hangup": "ended", "cancel": "ended", "timeout": "ended"},
        "answering": {"ack": "confirmed", "no_ack": "ending", "hangup": "answering",
                      "bye": "ended", "timeout": "ended"},
        "calling": {"provisional": "proceeding", "success": "confirmed", "retry": "calling",
                    "failure": "ended", "timeout": "ended", "hangup": "cancelling"},
        "proceeding": {"provisional": "proceeding", "success": "confirmed", "retry": "calling",
                       "failure": "ended", "timeout": "ended", "hangup": "cancelling"},
        "cancelling": {"provisional": "cancelling", "success": "ending", "failure": "ended",
                       "retry": "ended", "timeout": "ended", "hangup": "cancelling"},
        "confirmed": {"bye": "ended", "hangup": "ending", "reinvite": "confirmed",
                      "update": "confirmed", "hold": "confirmed", "resume": "confirmed",
                      "transfer": "confirmed", "ack": "confirmed", "success": "confirmed",
                      "provisional": "confirmed", "failure": "confirmed",
                      "session_expired": "ending", "timeout": "ending"},
        "ending": {"bye_answered": "ended", "timeout": "ended", "bye": "ended",
                   "success": "ending", "ack": "ending", "hangup": "ending"},
        "ended": {},
    }
    table = {}
    for state, events in rows.items():
        for event in PEER_EVENTS:
            table[(state, event)] = events.get(event, IGNORE)
        for event in TU_EVENTS:
            if event in events:
                table[(state, event)] = events[event]
    return table


CALL_TABLE = _build()


def render_mermaid():
    arrows = {}
    for (state, event), nxt in CALL_TABLE.items():
        if nxt not in (IGNORE, state):
            arrows.setdefault((state, nxt), []).append(event)
    lines = ["stateDiagram-v2", "    [*] --> incoming", "    [*] --> calling"]
    lines += [f"    {a} --> {b}: {', '.join(e)}" for (a, b), e in arrows.items()]
    lines.append("    ended --> [*]")
    return "\n".join(lines) + "\n"


@dataclass(slots=True)
class Call:
    """One call as the agent sees it. The board reads it; only the agent changes it."""

    call_id: str
    role: str                   # "uas" (they called) or "uac" (we called)
    state: str
    invite: object              # the initial INVITE (ours, latest attempt, or theirs)
    address: tuple              # where the INVITE came from or went to
    transport: str = "udp"
    local_tag: str = ""
    dialog: object = None
    media: Negotiated | None = None
    media_address: tuple = ("", 0)  # our RTP address and port
    codecs: tuple = ("PCMA", "PCMU")  # ours, in order of preference (offers and answers)
    session_id: int = 0
    sdp_version: int = 0
    our_offer: object = None    # the Session we offered, until its answer comes
    local_hold: bool = False
    remote_hold: bool = False
    reinvite: str | None = None  # our re-INVITE in progress: "hold", "resume" or "refresh"
    retry_offer: str | None = None  # the re-INVITE to try again after a 491 (§14.1)
    their_reinvite: bool = False  # the peer's re-INVITE answered, ACK not yet in
    peer_allows_update: bool = False
    session_expires: int | None = None
    refresher: str | None = None  # "us" or "them"
    credentials: object = None
    retries: int = 0
    cancel_sent: bool = False
    bye_after_ack: bool = False
    ok: tuple | None = None     # (response, cseq) of our 2xx resent until its ACK
    station: str | None = None  # the registrar account at the far end, if it is a phone
    refer: object = None        # the phone's REFER we are answering, until its last NOTIFY
    end_reason: str = ""
    end_status: int | None = None
    # timer name -> [time, interval], on the agent's TimerHeap (timers.py) once it is stored
    due: TimerTable = field(default_factory=TimerTable)

    def __repr__(self):
        return f"Call({self.call_id!r}, role={self.role!r}, state={self.state!r})"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Bytes for the driver to send to ``address`` by ``transport`` ("udp" or "tcp")."""

    data: bytes
    address: tuple
    transport: str = "udp"


@dataclass(frozen=True, slots=True)
class IncomingCall:
    call_id: str
    caller: str | None        # the From user (the caller's number)
    callee: str | None        # the Request-URI user (the number dialled)
    source: tuple
    account: str | None = None  # the station account that authenticated, if any


@dataclass(frozen=True, slots=True)
class CallRinging:
    call_id: str
    status: int
    early_media: Negotiated | None = None


@dataclass(frozen=True, slots=True)
class CallAnswered:
    call_id: str
    media: Negotiated | None


@dataclass(frozen=True, slots=True)
class MediaChanged:
    call_id: str
    media: Negotiated
    local_hold: bool
    remote_hold: bool


@dataclass(frozen=True, slots=True)
class CallEnded:
    call_id: str
    reason: str   # bye, hangup, cancelled, rejected, timeout, no_ack, session_expired, ...
    status: int | None = None


@dataclass(frozen=True, slots=True)
class TransferProgress:
    call_id: str
    status: int
    final: bool


@dataclass(frozen=True, slots=True)
class TransferRequested:
    """A station's phone sent REFER: to ``target`` (the Refer-To URI's user), replacing the
    dialog ``replaces`` ((Call-ID, to-tag, from-tag), RFC 3891) for an attended transfer."""

    call_id: str
    target: str
    replaces: tuple | None = None


@dataclass(frozen=True, slots=True)
class Qualified:
    name: str
    address: tuple
    reachable: bool
    rtt: float | None
