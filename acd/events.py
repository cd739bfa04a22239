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
    """`station` (a station port's name) is where the agent sits for this login, when it is
    not the configured one (the agent desktop lets an agent choose); offers ring it until
    logout. Refused while another logged-in agent sits there."""

    agent_id: str
    station: str = ""


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
class TransferOffered:
    """The agent talking on `call_id` rings a colleague for it (to consult, or to hand the
    call over): the colleague, who must be ready, is reserved so no call is offered to them."""

    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class TransferAnswered:
    """The colleague rung by `TransferOffered` picked up: they are talking."""

    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class TransferCancelled:
    """The colleague is let go: their phone stopped ringing (`no_answer`: it rang out) or
    the consultation is over without a transfer. A call whose own agent had already left (a
    blind transfer) goes back to its queue, with its place and class."""

    call_id: str
    agent_id: str
    no_answer: bool = False


@dataclass(frozen=True, slots=True)
class TransferCompleted:
    """The call's agent hands it over: to the colleague rung for it (`to_agent`), to a queue
    (`to_queue`: it waits there with its class), or out of the ACD (neither: a supervisor
    took it over, or an outside number). The agent's wrap-up starts; the call stays one call
    for the KPIs. `detail` says where it went, for the log."""

    call_id: str
    to_agent: str | None = None
    to_queue: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Tick:
    """The deadline the engine reported through `next_deadline()` is due."""


Event = (
    CallArrived | CallerLeft | AgentLogin | AgentLogout | AgentReady | AgentNotReady
    | OfferAnswered | OfferDeclined | OfferNoAnswer | CallEnded | WrapUpEnded
    | CallbackRequested | CallbackResult | QueueStatus | TransferOffered | TransferAnswered
    | TransferCancelled | TransferCompleted | Tick
)
