"""Events into the ACD engine: what happened outside it (frozen dataclasses, compared by value).

Every event names its call or agent by id. Time is not an event field: it is the `now` argument
of `Distributor.handle`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CallArrived:
    """A caller asks for a queue. `priority` names a priority class (None: the queue's default);
    `skills` are the skills the call needs on top of the queue's own required skills; `data`
    travels with the call (`data["caller"]` becomes the caller id of the queue_log line)."""

    call_id: str
    queue: str
    priority: str | None = None
    skills: tuple[str, ...] = ()
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallerLeft:
    """The caller hung up while waiting or while an agent was being rung."""

    call_id: str


@dataclass(frozen=True, slots=True)
class AgentLogin:
    agent_id: str


@dataclass(frozen=True, slots=True)
class AgentLogout:
    agent_id: str


@dataclass(frozen=True, slots=True)
class AgentReady:
    agent_id: str


@dataclass(frozen=True, slots=True)
class AgentNotReady:
    agent_id: str
    reason: str = "break"


@dataclass(frozen=True, slots=True)
class OfferAnswered:
    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class OfferDeclined:
    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class OfferNoAnswer:
    """The runtime saw the agent's phone ring out (the engine also has its own ring timeout)."""

    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The conversation is over; the agent's wrap-up starts. `by_caller`: who hung up."""

    call_id: str
    by_caller: bool = True


@dataclass(frozen=True, slots=True)
class WrapUpEnded:
    """The agent pressed the wrap-up-done key before the wrap-up timer ran out."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    """The caller pressed the callback key and will hang up; a placeholder keeps the place."""

    call_id: str
    number: str


@dataclass(frozen=True, slots=True)
class CallbackResult:
    """The appliance's call back to the caller was answered, or was not."""

    call_id: str
    answered: bool


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """The runtime opens or closes a queue (business hours, holidays, an operator's switch)."""

    queue: str
    open: bool


@dataclass(frozen=True, slots=True)
class Tick:
    """The deadline the engine reported through `next_deadline()` is due."""


Event = (
    CallArrived | CallerLeft | AgentLogin | AgentLogout | AgentReady | AgentNotReady
    | OfferAnswered | OfferDeclined | OfferNoAnswer | CallEnded | WrapUpEnded
    | CallbackRequested | CallbackResult | QueueStatus | Tick
)
