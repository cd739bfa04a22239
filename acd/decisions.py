"""Decisions out of the ACD engine: what the runtime must do (frozen dataclasses)."""

from dataclasses import dataclass
from enum import StrEnum


class LeaveReason(StrEnum):
    """Why a call left the queue. Every call that entered leaves exactly once."""

    ANSWERED = "answered"  # an agent answered the offer
    ABANDONED = "abandoned"  # the caller hung up while waiting or ringing
    TIMEOUT = "timeout"  # waited max_wait_s
    FULL = "full"  # the queue held max_length callers already
    CLOSED = "closed"  # the queue is closed
    NO_AGENTS = "no_agents"  # nobody logged in and the queue does not let callers wait
    CALLBACK = "callback"  # served by a call back that was answered
    CALLBACK_FAILED = "callback_failed"  # every call back attempt went unanswered


@dataclass(frozen=True, slots=True)
class Offer:
    """Ring this agent's station with this call; the agent is reserved for it."""

    call_id: str
    agent_id: str
    station: str


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """Stop ringing (or stop the call back dialling): the offer is withdrawn."""

    call_id: str
    agent_id: str
    station: str


@dataclass(frozen=True, slots=True)
class Announce:
    """Tell the caller their position and expected wait (None: no agent to estimate from)."""

    call_id: str
    position: int
    expected_wait_s: int | None


@dataclass(frozen=True, slots=True)
class Overflow:
    """Send the call to `target` (another queue, a voicemail node, a number)."""

    call_id: str
    target: str


@dataclass(frozen=True, slots=True)
class Callback:
    """Call `number` back; when it answers, connect it to the reserved agent."""

    call_id: str
    agent_id: str
    number: str


@dataclass(frozen=True, slots=True)
class QueueClosed:
    call_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class NoAgents:
    call_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class CallLeftQueue:
    call_id: str
    reason: LeaveReason


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    agent_id: str
    old: str
    new: str
    reason: str


Decision = (
    Offer | CancelOffer | Announce | Overflow | Callback | QueueClosed | NoAgents
    | CallLeftQueue | AgentStateChanged
)
