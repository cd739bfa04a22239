"""Branchline's ACD: priority and skills queueing for human agents, sans-I/O.

    from branchline.acd import Distributor, CallArrived, AgentLogin, AgentReady, Tick
    acd = Distributor(config.queues, config.agents)
    decisions = acd.handle(CallArrived("c1", "general", "vip", ("cantonese",)), now)
    ...arm one timer for acd.next_deadline(), then acd.handle(Tick(), now)
    store(acd.take_log())

Modules: `models` (configuration), `events` / `decisions` (the engine's vocabulary),
`agent_states` (the agent state table), `distributor` (the engine), `strategies`, `eventlog`,
`kpis`, `erlang` (planning), `queue_log` (Asterisk export).

Exceptions::

    AcdError
    ├── IllegalEvent              the other side did it wrong; nothing was changed
    │   ├── UnknownCall           no such call in the ACD (never arrived or already left)
    │   ├── UnknownAgent          agent id not configured
    │   ├── UnknownQueue          queue not configured
    │   ├── UnknownPriorityClass  the queue has no such priority class
    │   ├── DuplicateCall         CallArrived for a call that is still in the ACD
    │   ├── OfferMismatch         answer/decline/no-answer for a call not offered to that agent
    │   ├── CallStateError        the call's state does not allow the event
    │   └── AgentStateError       the agent state table marks the event illegal
    └── TimeWentBackwards         we did it wrong: `now` went back

Configuration errors are pydantic `ValidationError`s whose messages give the path, the problem
and the fix. `Distributor.handle` raises a `TypeError` for an object that is not an ACD event.
"""

from branchline.acd._errors import (
    AcdError,
    AgentStateError,
    CallStateError,
    DuplicateCall,
    IllegalEvent,
    OfferMismatch,
    TimeWentBackwards,
    UnknownAgent,
    UnknownCall,
    UnknownPriorityClass,
    UnknownQueue,
)
from branchline.acd._issue_texts import ISSUE_TEXTS
from branchline.acd.agent_states import AgentState, Trigger
from branchline.acd.decisions import (
    AgentStateChanged,
    Announce,
    Callback,
    CallLeftQueue,
    CancelOffer,
    Decision,
    LeaveReason,
    NoAgents,
    Offer,
    Overflow,
    QueueClosed,
)
from branchline.acd.distributor import Distributor
from branchline.acd.eventlog import QueueEvent, QueueEventKind
from branchline.acd.events import (
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    CallArrived,
    CallbackRequested,
    CallbackResult,
    CallEnded,
    CallerLeft,
    Event,
    OfferAnswered,
    OfferDeclined,
    OfferNoAnswer,
    QueueStatus,
    Tick,
    TransferAnswered,
    TransferCancelled,
    TransferCompleted,
    TransferOffered,
    WrapUpEnded,
)
from branchline.acd.kpis import AgentKpis, KpiReport, QueueKpis, kpis_from_log
from branchline.acd.models import (
    AcdConfig,
    AgentModel,
    Announcements,
    CallbackPolicy,
    Membership,
    PriorityClass,
    QueueModel,
    Strategy,
)

__all__ = [
    "ISSUE_TEXTS",
    "AcdConfig",
    "AcdError",
    "AgentKpis",
    "AgentLogin",
    "AgentLogout",
    "AgentModel",
    "AgentNotReady",
    "AgentReady",
    "AgentState",
    "AgentStateChanged",
    "AgentStateError",
    "Announce",
    "Announcements",
    "CallArrived",
    "CallEnded",
    "CallLeftQueue",
    "CallStateError",
    "Callback",
    "CallbackPolicy",
    "CallbackRequested",
    "CallbackResult",
    "CallerLeft",
    "CancelOffer",
    "Decision",
    "Distributor",
    "DuplicateCall",
    "Event",
    "IllegalEvent",
    "KpiReport",
    "LeaveReason",
    "Membership",
    "NoAgents",
    "Offer",
    "OfferAnswered",
    "OfferDeclined",
    "OfferMismatch",
    "OfferNoAnswer",
    "Overflow",
    "PriorityClass",
    "QueueClosed",
    "QueueEvent",
    "QueueEventKind",
    "QueueKpis",
    "QueueModel",
    "QueueStatus",
    "Strategy",
    "Tick",
    "TimeWentBackwards",
    "TransferAnswered",
    "TransferCancelled",
    "TransferCompleted",
    "TransferOffered",
    "Trigger",
    "UnknownAgent",
    "UnknownCall",
    "UnknownPriorityClass",
    "UnknownQueue",
    "WrapUpEnded",
    "kpis_from_log",
]
