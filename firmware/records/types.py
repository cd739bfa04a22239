"""The kinds of record the call records database keeps, and the retention policy.

Every record is a frozen dataclass; the database hands back equal objects to the ones it was
given. Times are UTC epoch seconds (floats): the runtime stamps them from its wall clock, the
database derives the ISO 8601 text column from the same number so the two can never disagree.

Values are checked here (shape and ranges, in ``__post_init__``); the card-number guard runs in
the database at write time, because it must see every text field, JSON included, just before it
reaches the disk.
"""

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from branchline.config.data_dir import RECORDINGS
from branchline.firmware.records.errors import RecordRefused


class Outcome(enum.StrEnum):
    """How a call ended, from the caller's point of view."""

    SELF_SERVED = "self-served"
    ANSWERED = "answered"
    ABANDONED_IN_IVR = "abandoned-in-ivr"
    ABANDONED_IN_QUEUE = "abandoned-in-queue"
    OVERFLOWED = "overflowed"
    CALLBACK = "callback"
    TRANSFERRED = "transferred"
    ERROR = "error"
    # The appliance stopped (crash, power cut) while the call was up and never wrote its
    # record; the next start wrote this one from what had been made durable (reconcile.py).
    APPLIANCE_RESTARTED = "appliance-restarted"


class HangupSide(enum.StrEnum):
    """Who cleared the call: the caller, the agent, or Branchline itself (IVR end, error)."""

    CALLER = "caller"
    AGENT = "agent"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One step of the call's IVR path, as the IVR's ``Trace`` action reports it: when, what
    happened ("enter", "digits", "host", ...), at which node, and the detail (digits in it are
    already masked by the IVR)."""

    at: float
    what: str
    node: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CallQuality:
    """A SIP call's media quality at its end, from the RTP engine's statistics: packet loss
    (percent of expected), interarrival jitter (RFC 3550 A.8), round trip from RTCP (None when
    no report came back), and the E-model's R and MOS (ITU-T G.107)."""

    loss_percent: float
    jitter_ms: float
    rtt_ms: float | None
    r: float
    mos: float

    def __post_init__(self):
        for name in ("loss_percent", "jitter_ms", "rtt_ms", "r", "mos"):
            value = getattr(self, name)
            if value is None and name == "rtt_ms":
                continue
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise RecordRefused(f"call quality: {name} is {value!r}; it must be a "
                                    "finite number >= 0")
        if self.loss_percent > 100 or self.mos > 5:
            raise RecordRefused(f"call quality: loss {self.loss_percent} % or MOS {self.mos} "
                                "is out of range; loss is 0-100 %, MOS 1-5")


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call detail record (CDR), written once when the call is over.

    ``host_results`` is a JSON-able mapping of what the bank host answered (already masked by
    the IVR). ``recording`` is a path relative to the data directory, under ``recordings/``.
    ``quality`` is the media quality of a SIP call; None for analog calls.
    """

    call_id: str
    started_at: float
    ended_at: float
    caller: str
    dialled: str
    port: str
    config_version: int
    outcome: Outcome
    hangup_side: HangupSide
    hangup_reason: str = ""
    answered_at: float | None = None
    language: str = ""
    ivr_path: tuple[TraceStep, ...] = ()
    host_results: Mapping[str, Any] = field(default_factory=dict)
    queue: str | None = None
    priority_class: str | None = None
    agent_id: str | None = None
    wait_seconds: float = 0.0
    talk_seconds: float = 0.0
    wrapup_seconds: float = 0.0
    survey_score: int | None = None
    recording: str | None = None
    quality: CallQuality | None = None
    hold_seconds: float = 0.0  # the caller's total time on hold (call control)

    def __post_init__(self):
        where = f"call record {self.call_id!r}"
        if not self.call_id:
            raise RecordRefused("call record: call_id is empty; every call needs its id")
        _check_time(where, "started_at", self.started_at)
        _check_time(where, "ended_at", self.ended_at)
        if self.ended_at < self.started_at:
            raise RecordRefused(
                f"{where}: ended_at {self.ended_at} is before started_at {self.started_at}; "
                "a call ends after it starts"
            )
        if self.answered_at is not None:
            _check_time(where, "answered_at", self.answered_at)
            if not self.started_at <= self.answered_at <= self.ended_at:
                raise RecordRefused(
                    f"{where}: answered_at {self.answered_at} is outside the call "
                    f"[{self.started_at}, {self.ended_at}]"
                )
        for name in ("wait_seconds", "talk_seconds", "wrapup_seconds", "hold_seconds"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise RecordRefused(f"{where}: {name} is {value!r}; it must be a finite >= 0")
        if self.config_version < 0:
            raise RecordRefused(f"{where}: config_version {self.config_version} is negative")
        # A survey is one key press on the phone.
        if self.survey_score is not None and not 0 <= self.survey_score <= 9:
            raise RecordRefused(
                f"{where}: survey_score {self.survey_score} is not one key (0 to 9)"
            )
        object.__setattr__(self, "outcome", _member(where, "outcome", Outcome, self.outcome))
        object.__setattr__(
            self, "hangup_side", _member(where, "hangup_side", HangupSide, self.hangup_side)
        )
        object.__setattr__(self, "ivr_path", tuple(self.ivr_path))
        if self.recording is not None:
            check_recording_path(self.recording, where)


@dataclass(frozen=True, slots=True)
class AcdEvent:
    """One entry of the ACD event log; the database keeps them in append order for replay."""

    at: float
    name: str
    call_id: str | None = None
    queue: str | None = None
    agent: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        _check_time(f"ACD event {self.name!r}", "at", self.at)
        if not self.name:
            raise RecordRefused("ACD event: name is empty; say what happened")


@dataclass(frozen=True, slots=True)
class AgentStateChange:
    """An agent moved from one state to another (login, ready, not-ready with a reason, ...)."""

    at: float
    agent: str
    from_state: str
    to_state: str
    reason: str = ""

    def __post_init__(self):
        _check_time(f"agent {self.agent!r} state change", "at", self.at)
        if not self.agent:
            raise RecordRefused("agent state change: agent is empty; name the agent")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who changed what, when; ``diff`` is the change as text (for example a unified diff)."""

    at: float
    who: str
    what: str
    diff: str = ""

    def __post_init__(self):
        _check_time(f"audit entry by {self.who!r}", "at", self.at)
        if not self.who:
            raise RecordRefused("audit entry: who is empty; every change has an author")


@dataclass(frozen=True, slots=True)
class CallOpened:
    """A call was answered: written at once, so a call the appliance loses in a crash still
    leaves a trace for the next start to give a record to. Its ``CallRecord`` removes it."""

    call_id: str
    started_at: float
    answered_at: float
    caller: str
    dialled: str
    port: str
    config_version: int

    def __post_init__(self):
        if not self.call_id:
            raise RecordRefused("call opened: call_id is empty; every call needs its id")
        where = f"call opened {self.call_id!r}"
        _check_time(where, "started_at", self.started_at)
        _check_time(where, "answered_at", self.answered_at)


Record = CallRecord | AcdEvent | AgentStateChange | AuditEntry | CallOpened


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How many days each kind of record is kept; None keeps it for ever.

    Recordings usually go first (they are large and hold voices); the call record that
    pointed at an expired recording stays, with its ``recording`` cleared.
    """

    calls_days: float | None = 365
    events_days: float | None = 90
    agent_states_days: float | None = 365
    recordings_days: float | None = 30
    audit_days: float | None = None

    def __post_init__(self):
        for name in self.__slots__:
            days = getattr(self, name)
            if days is not None and not (math.isfinite(days) and days > 0):
                raise ValueError(
                    f"retention policy: {name} is {days!r}; give a number of days > 0, "
                    "or None to keep for ever"
                )


@dataclass(frozen=True, slots=True)
class Expired:
    """What `Records.expire` removed; ``recordings`` are paths relative to the data dir."""

    calls: int = 0
    events: int = 0
    agent_states: int = 0
    audit: int = 0
    recordings: tuple[str, ...] = ()


def check_recording_path(path, where="recording"):
    """Refuse a recording path that is absolute, climbs with '..', or is not under recordings/."""
    pure = PurePosixPath(path)
    if (
        pure.is_absolute()
        or ".." in pure.parts
        or "\\" in path
        or len(pure.parts) < 2
        or pure.parts[0] != RECORDINGS
    ):
        raise RecordRefused(
            f"{where}: recording path {path!r} is not a file under {RECORDINGS}/; "
            f"give it relative to the data directory, like '{RECORDINGS}/2026/11/call.wav'"
        )
    return pure


def _check_time(where, name, value):
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise RecordRefused(
            f"{where}: {name} is {value!r}; give UTC epoch seconds (a finite number >= 0)"
        )


def _member(where, name, kind, value):
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise RecordRefused(f"{where}: {name} {value!r} is not one of: {allowed}") from None
