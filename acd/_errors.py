"""The ACD's exceptions (the tree is drawn in the package docstring)."""


class AcdError(Exception):
    """Base of every error the ACD raises."""


class IllegalEvent(AcdError):
    """The other side did it wrong: an event that does not fit the engine's state.

    The engine raised before changing anything, so the caller may log it, count it and carry on.
    """


class UnknownCall(IllegalEvent):
    """The event names a call the engine does not hold."""


class UnknownAgent(IllegalEvent):
    """The event names an agent that is not configured."""


class UnknownQueue(IllegalEvent):
    """The event names a queue that is not configured."""


class DuplicateCall(IllegalEvent):
    """CallArrived for a call id that is still active."""


class OfferMismatch(IllegalEvent):
    """An offer outcome for a call that is not offered to that agent."""


class CallStateError(IllegalEvent):
    """An event that a call in its present state cannot take (e.g. CallEnded while waiting)."""


class AgentStateError(IllegalEvent):
    """An agent event that the agent state table marks illegal in the agent's state."""


class TimeWentBackwards(AcdError):
    """We did it wrong: `now` was smaller than the previous `now` handed to the engine."""


class UnknownPriorityClass(IllegalEvent):
    """CallArrived names a priority class the queue does not have."""
