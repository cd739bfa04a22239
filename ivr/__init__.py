"""Branchline IVR: the flow language, its validator, spoken values and the call session.

Sans-I/O: nothing here reads a clock, a socket or a file (except ``sample_flow`` /
``sample_prompts``, which read the sample shipped as package data of branchline.config).

    flow = load_flow(yaml_text)                      # FlowError names the bad field
    report = validate_flow(flow, queues=..., endpoints=..., prompts=PromptCatalog(texts))
    session = Session(flow, call, now)               # call: CallStarted
    actions = session.start(now); actions = session.handle(event, now)

Exceptions: see branchline.ivr._errors (IvrError > FlowError, SpokenValueError).
docs/ivr.md is the user's guide: flow language, escalation model, type-ahead, masking,
number speaking rules and the host contract.
"""

from branchline.ivr._catalog import PromptCatalog
from branchline.ivr._errors import FlowError, IvrError, SpokenValueError
from branchline.ivr._events import (
    AgentCallEnded,
    CallerHungUp,
    CallStarted,
    CancelTimer,
    Digit,
    Enqueue,
    HangUp,
    HostReplied,
    HostRequest,
    MessageRecorded,
    Play,
    PlaybackFinished,
    QueueOutcome,
    RecordMessage,
    StartTimer,
    StopPlayback,
    StopRecording,
    StoreSurvey,
    TimerFired,
    Trace,
    Transfer,
    TransferOutcome,
)
from branchline.ivr._issue_texts import ISSUE_TEXTS
from branchline.ivr._loader import load_flow, load_prompt_texts, sample_flow, sample_prompts
from branchline.ivr._model import Flow
from branchline.ivr._older_checks import QueueClasses
from branchline.ivr._session import Phase, Session
from branchline.ivr._spoken import (
    say_date,
    say_digits,
    say_money,
    say_number,
    say_time,
    unit_texts,
    units_to_text,
)
from branchline.ivr._validator import Issue, PersonRoute, ValidationReport, validate_flow

__all__ = [
    "ISSUE_TEXTS",
    "AgentCallEnded",
    "CallStarted",
    "CallerHungUp",
    "CancelTimer",
    "Digit",
    "Enqueue",
    "Flow",
    "FlowError",
    "HangUp",
    "HostReplied",
    "HostRequest",
    "Issue",
    "IvrError",
    "MessageRecorded",
    "PersonRoute",
    "Phase",
    "Play",
    "PlaybackFinished",
    "PromptCatalog",
    "QueueClasses",
    "QueueOutcome",
    "RecordMessage",
    "Session",
    "SpokenValueError",
    "StartTimer",
    "StopPlayback",
    "StopRecording",
    "StoreSurvey",
    "TimerFired",
    "Trace",
    "Transfer",
    "TransferOutcome",
    "ValidationReport",
    "load_flow",
    "load_prompt_texts",
    "sample_flow",
    "sample_prompts",
    "say_date",
    "say_digits",
    "say_money",
    "say_number",
    "say_time",
    "unit_texts",
    "units_to_text",
    "validate_flow",
]
