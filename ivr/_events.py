"""Events into a Session and actions out of it: frozen dataclasses, compared by equality.

Events (the runtime tells the session): ``CallStarted`` (given to ``Session`` itself),
``Digit``, ``PlaybackFinished``, ``TimerFired``, ``HostReplied``, ``QueueOutcome``,
``AgentCallEnded``, ``MessageRecorded``, ``TransferOutcome``, ``CallerHungUp``.

Actions (the session asks the runtime), executed in the order given: ``Play``,
``StopPlayback``, ``StartTimer``, ``CancelTimer``, ``HostRequest``, ``Enqueue``, ``Transfer``,
``RecordMessage``, ``StopRecording``, ``StoreSurvey``, ``HangUp``, ``Trace``.

Runtime contract (docs/ivr.md has the full text):

* ``Play`` items are prompt names ("main_menu.long", resolved in ``Play.language``) or speech
  units ("num/2_liang", see ``unit_texts``): an item containing "/" is a unit. When the
  whole list has played, send ``PlaybackFinished(play_id)``; after ``StopPlayback`` do not.
* ``StartTimer(name, at)`` replaces a timer of the same name; fire ``TimerFired(name)`` when
  the clock reaches ``at`` unless ``CancelTimer(name)`` came first.
* ``HostRequest``: send ``HostReplied(request_id, status, data)``, telling a refusal by the
  host (``error``) apart from a host that could not be used (``failed``); the session also
  keeps its own timer and treats a reply after ``timeout`` as late (ignored).
* ``Enqueue`` hands the caller to the ACD; answer with ``QueueOutcome``; when an answered
  call's agent leg ends, ``AgentCallEnded``.
* ``HangUp`` and ``Transfer`` are terminal: exactly one of them ends every session, except a
  ``Transfer(returns=True)`` (a transfer node with ``on_failure``): the session waits for
  ``TransferOutcome``; "connected" ends it with no further action, "failed" carries the
  caller on in the flow.

``Play`` and ``HostRequest`` may carry a caller's sensitive digits (a card number read back,
a PIN sent to the host): their ``repr`` masks them, so logging an action never leaks one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# --- events -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallStarted:
    call_id: str
    caller: str
    dialled: str
    port: str
    is_vip: bool
    started_at: dt.datetime  # wall clock at answer, timezone-aware (schedules use its zone)
    # Why ``caller`` is empty: "P" withheld by the caller, "O" unavailable (the caller ID
    # message's reason, Bell 202 MDMF parameter 0x04), "none" no caller ID came at all.
    caller_absent: str = ""


@dataclass(frozen=True, slots=True)
class Digit:
    key: str


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    play_id: int


@dataclass(frozen=True, slots=True)
class TimerFired:
    name: str


@dataclass(frozen=True, slots=True)
class HostReplied:
    """``ok``: the host did it (``data`` holds the results). ``error``: the host refused
    (``data["code"]`` is its reason, e.g. ``no_card``). ``failed``: the host could not be used
    (unreachable, an HTTP error, a malformed reply; ``data["code"]`` says which).
    ``timeout``: no answer in time."""

    request_id: int
    status: Literal["ok", "error", "failed", "timeout"]
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QueueOutcome:
    outcome: Literal["answered", "overflow", "callback", "closed", "abandoned"]
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class AgentCallEnded:
    pass


@dataclass(frozen=True, slots=True)
class MessageRecorded:
    seconds: float


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    """How a ``Transfer(returns=True)`` ended: the outside number took the caller
    ("connected") or did not ("failed"; ``reason`` says why, for the trace)."""

    outcome: Literal["connected", "failed"]
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    pass


Event = (Digit | PlaybackFinished | TimerFired | HostReplied | QueueOutcome | AgentCallEnded
         | MessageRecorded | TransferOutcome | CallerHungUp)
EVENT_TYPES = (Digit, PlaybackFinished, TimerFired, HostReplied, QueueOutcome, AgentCallEnded,
               MessageRecorded, TransferOutcome, CallerHungUp)

# --- actions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class Play:
    play_id: int
    items: tuple[str, ...]
    barge_in: bool
    language: str
    sensitive: bool = False
    speed: float = 1.0  # below 1: play slower at the same pitch (the older callers' mode)

    def __repr__(self) -> str:
        items = ("<masked>",) if self.sensitive else self.items
        return (f"Play(play_id={self.play_id}, items={items!r}, barge_in={self.barge_in}, "
                f"language={self.language!r}, sensitive={self.sensitive}, "
                f"speed={self.speed})")


@dataclass(frozen=True, slots=True)
class StopPlayback:
    play_id: int


@dataclass(frozen=True, slots=True)
class StartTimer:
    name: str
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: str


@dataclass(frozen=True, slots=True, repr=False)
class HostRequest:
    request_id: int
    endpoint: str
    body: Mapping[str, str]
    timeout: float
    sensitive_fields: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        body = {k: ("<masked>" if k in self.sensitive_fields else v)
                for k, v in self.body.items()}
        return (f"HostRequest(request_id={self.request_id}, endpoint={self.endpoint!r}, "
                f"body={body!r}, timeout={self.timeout})")


@dataclass(frozen=True, slots=True)
class Enqueue:
    queue: str
    priority: int
    skills: tuple[str, ...]
    data: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Transfer:
    """Hand the caller to ``target``. ``returns``: the session waits for the outcome
    (``TransferOutcome``) and a failure must not end the call."""

    target: str
    returns: bool = False


@dataclass(frozen=True, slots=True)
class RecordMessage:
    max_seconds: float
    beep: bool
    callback_to: str


@dataclass(frozen=True, slots=True)
class StopRecording:
    pass


@dataclass(frozen=True, slots=True)
class StoreSurvey:
    score: int
    agent_id: str | None


@dataclass(frozen=True, slots=True)
class HangUp:
    reason: str


@dataclass(frozen=True, slots=True)
class Trace:
    """One step of the call's path (the CDR keeps them). ``detail`` never holds a raw
    sensitive digit: see docs/ivr.md "Traces and masking"."""

    what: str
    node: str
    detail: str
    at: float


Action = (Play | StopPlayback | StartTimer | CancelTimer | HostRequest | Enqueue | Transfer
          | RecordMessage | StopRecording | StoreSurvey | HangUp | Trace)
TERMINAL_ACTIONS = (HangUp, Transfer)
