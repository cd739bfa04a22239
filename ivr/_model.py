"""The flow language: pydantic models of a flow document.

A flow is a set of named nodes (``nodes``), a ``start`` node, the flow-wide keys, budgets and
defaults, and optional reusable ``subflows`` (each its own ``start`` and ``nodes``; inside one,
the target ``return`` goes back to the calling node's ``next``). Nodes name each other by
name; inside a subflow a name means that subflow's node. docs/ivr.md describes every field
with the sample bank flow as the example. The models check the shape of each field; whether
the flow makes sense as a whole (targets exist, every node reachable, ...) is the
validator's job (:func:`branchline.ivr.validate_flow`).

All models are frozen and reject unknown fields, so a typo in a field name is an error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from branchline.ivr._issue_texts import KeyedValueError

Language = Literal["zh", "yue", "en"]
NAME = r"^[a-z][a-z0-9_]*$"
PROMPT_NAME = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
KEYS = "0123456789*#ABCD"
RETURN = "return"

NodeName = Annotated[str, Field(pattern=NAME)]
PromptName = Annotated[str, Field(pattern=PROMPT_NAME)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Say(_Model):
    """A spoken value inside a prompt: a variable's (or a literal) value read aloud."""

    say: Literal["digits", "number", "money", "date", "time"]
    var: str | None = None
    value: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Say:
        if (self.var is None) == (self.value is None):
            raise KeyedValueError("ivr.say_one_source")
        return self


def _as_list(value: object) -> object:
    """A single prompt may be written without the list brackets."""
    return [value] if isinstance(value, str | dict) else value


PromptItem = PromptName | Say
Prompt = Annotated[list[PromptItem], BeforeValidator(_as_list)]


class Budgets(_Model):
    """Per-node failure budgets: ``n`` failures are forgiven, failure ``n + 1`` escalates."""

    no_input: int = Field(2, ge=0, le=9)
    invalid: int = Field(2, ge=0, le=9)


class MenuNode(_Model):
    kind: Literal["menu"]
    prompt: Prompt
    short_prompt: Prompt | None = None
    options: dict[str, str]
    invalid_prompt: Prompt | None = None
    no_input_prompt: Prompt | None = None
    timeout: float | None = Field(None, gt=0, le=60)
    inter_digit_timeout: float | None = Field(None, gt=0, le=30)
    budgets: Budgets | None = None
    escalate_to: str | None = None
    barge_in: bool = True

    @field_validator("options")
    @classmethod
    def _keys_are_dtmf(cls, options: dict[str, str]) -> dict[str, str]:
        for key in options:
            if not key or any(ch not in KEYS for ch in key):
                raise KeyedValueError("ivr.option_not_keypad", key=key, keys=KEYS)
        if not options:
            raise KeyedValueError("ivr.menu_no_options")
        return options


class Validation(_Model):
    regex: str | None = None
    luhn: bool = False
    allowed: list[str] | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, regex: str | None) -> str | None:
        if regex is not None:
            try:
                re.compile(regex)
            except re.error as exc:
                raise KeyedValueError("ivr.regex_invalid", error=str(exc)) from None
        return regex


class CollectNode(_Model):
    kind: Literal["collect"]
    var: NodeName
    prompt: Prompt
    short_prompt: Prompt | None = None
    min_length: int = Field(1, ge=1, le=32)
    max_length: int = Field(..., ge=1, le=32)
    terminator: str | None = "#"
    first_digit_timeout: float | None = Field(None, gt=0, le=60)
    inter_digit_timeout: float | None = Field(None, gt=0, le=30)
    validate_: Validation = Field(default_factory=Validation, alias="validate")
    invalid_prompt: Prompt | None = None
    no_input_prompt: Prompt | None = None
    confirm: bool = False
    confirm_prompt: Prompt | None = None
    confirm_options_prompt: Prompt | None = None
    sensitive: bool = False
    mask: Literal["full", "last4"] = "full"
    budgets: Budgets | None = None
    escalate_to: str | None = None
    next: str

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _lengths(self) -> CollectNode:
        if self.min_length > self.max_length:
            raise KeyedValueError("ivr.collect_lengths", "ivr.fix.lengths",
                                  min_length=self.min_length, max_length=self.max_length)
        if self.terminator is not None and self.terminator not in "*#":
            raise KeyedValueError("ivr.terminator")
        if self.confirm and (self.confirm_prompt is None or self.confirm_options_prompt is None):
            raise KeyedValueError("ivr.confirm_prompts")
        if self.mask == "last4" and self.min_length < 12:
            raise KeyedValueError("ivr.mask_last4", "ivr.fix.mask_full")
        return self


class PlayNode(_Model):
    kind: Literal["play"]
    items: Prompt
    barge_in: bool = True
    next: str


class HostNode(_Model):
    """A request to the bank's host. ``on_refused`` sends a refusal's code (``no_card``) to its
    own node, any other refusal goes to ``on_error``; ``on_timeout`` is taken when the host
    gave no usable answer: no answer in time, or a failure (unreachable, HTTP error, malformed
    reply)."""

    kind: Literal["host"]
    endpoint: str
    body: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(5.0, gt=0, le=60)
    results: dict[str, str] = Field(default_factory=dict)
    on_ok: str
    on_refused: dict[str, str] = Field(default_factory=dict)
    on_error: str
    on_timeout: str


class Condition(_Model):
    """``var`` compared with exactly one operator; ``all``/``any``/``not`` combine."""

    var: str | None = None
    eq: str | int | float | bool | None = None
    ne: str | int | float | bool | None = None
    in_: list[str | int] | None = Field(None, alias="in")
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    prefix: str | None = None
    is_set: bool | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(None, alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    OPERATORS: ClassVar[tuple[str, ...]] = (
        "eq", "ne", "in_", "gt", "ge", "lt", "le", "prefix", "is_set")

    @model_validator(mode="after")
    def _shape(self) -> Condition:
        combos = [n for n in ("all", "any", "not_") if getattr(self, n) is not None]
        ops = [n for n in self.OPERATORS if getattr(self, n) is not None]
        if combos:
            if len(combos) > 1 or ops or self.var is not None:
                raise KeyedValueError("ivr.condition_combining")
        elif self.var is None or len(ops) != 1:
            raise KeyedValueError("ivr.condition_simple")
        return self

    def variables(self) -> Iterator[str]:
        if self.var is not None:
            yield self.var
        for child in (self.all or []) + (self.any or []) + ([self.not_] if self.not_ else []):
            yield from child.variables()


class Case(_Model):
    when: Condition
    goto: str


class SwitchNode(_Model):
    kind: Literal["switch"]
    cases: list[Case]
    default: str


_RANGE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _check_ranges(ranges: list[str]) -> list[str]:
    for text in ranges:
        if not _RANGE.match(text) or text[:5] >= text[6:]:
            raise KeyedValueError("ivr.opening_range", text=text)
    return ranges


class ScheduleNode(_Model):
    """Open or closed by weekday hours, holidays and make-up working days (调休)."""

    kind: Literal["schedule"]
    hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[str]]
    holidays: list[dt.date] = Field(default_factory=list)
    workdays: dict[dt.date, list[str]] = Field(default_factory=dict)
    open: str
    closed: str
    holiday: str | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, hours: dict[str, list[str]]) -> dict[str, list[str]]:
        for ranges in hours.values():
            _check_ranges(ranges)
        return hours

    @field_validator("workdays")
    @classmethod
    def _workdays(cls, days: dict[dt.date, list[str]]) -> dict[dt.date, list[str]]:
        for ranges in days.values():
            _check_ranges(ranges)
        return days


class LanguageNode(_Model):
    kind: Literal["language"]
    set: Language
    next: str


class QueueNode(_Model):
    kind: Literal["queue"]
    queue: str
    priority: int = Field(0, ge=0, le=100)
    skills: list[str] = Field(default_factory=list)
    language_skill: bool = True
    data: list[str] = Field(default_factory=list)
    after_call: str | None = None
    on_overflow: str | None = None
    on_callback: str | None = None
    on_closed: str | None = None


class MessageNode(_Model):
    kind: Literal["message"]
    prompt: Prompt
    max_seconds: float = Field(60, gt=0, le=600)
    beep: bool = True
    next: str


class SurveyNode(_Model):
    kind: Literal["survey"]
    prompt: Prompt
    invalid_prompt: Prompt | None = None
    no_input_prompt: Prompt | None = None
    timeout: float | None = Field(None, gt=0, le=60)
    budgets: Budgets | None = None
    next: str


class TransferNode(_Model):
    """Hand the caller to an outside number. Without ``on_failure`` the call ends with the
    transfer; with it, a transfer the number does not take sends the caller there."""

    kind: Literal["transfer"]
    target: str
    prompt: Prompt | None = None
    on_failure: str | None = None


class HangupNode(_Model):
    kind: Literal["hangup"]
    prompt: Prompt | None = None
    reason: str = "flow_end"


class SubflowNode(_Model):
    kind: Literal["subflow"]
    flow: NodeName
    next: str


Node = Annotated[
    MenuNode | CollectNode | PlayNode | HostNode | SwitchNode | ScheduleNode | LanguageNode
    | QueueNode | MessageNode | SurveyNode | TransferNode | HangupNode | SubflowNode,
    Field(discriminator="kind"),
]
INPUT_KINDS = ("menu", "collect", "survey")
PERSON_KINDS = ("queue", "transfer")
TERMINAL_KINDS = ("hangup", "transfer")


class GlobalKeys(_Model):
    """Flow-wide keys in menus; null turns one off."""

    operator: str | None = "0"
    back: str | None = "*"
    repeat: str | None = "#"

    @model_validator(mode="after")
    def _distinct(self) -> GlobalKeys:
        keys = [k for k in (self.operator, self.back, self.repeat) if k is not None]
        for key in keys:
            if len(key) != 1 or key not in KEYS:
                raise KeyedValueError("ivr.global_key_single", key=key)
        if len(set(keys)) != len(keys):
            raise KeyedValueError("ivr.global_keys_differ")
        return self


class Limits(_Model):
    """Call-wide budgets. Each allows its amount; going past it escalates (see docs/ivr.md)."""

    total_errors: int = Field(5, ge=0, le=50)
    max_seconds: float = Field(300, gt=0, le=3600)
    max_visits: int = Field(40, ge=1, le=500)
    grace_errors: int = Field(2, ge=0, le=10)
    grace_seconds: float = Field(120, gt=0, le=600)
    grace_visits: int = Field(10, ge=1, le=50)


class Defaults(_Model):
    first_digit_timeout: float = Field(5, gt=0, le=60)
    inter_digit_timeout: float = Field(3, gt=0, le=30)
    budgets: Budgets = Field(default_factory=Budgets)
    invalid_prompt: Prompt | None = None
    no_input_prompt: Prompt | None = None
    liang_before_bai: bool = True
    yao_for_one: bool = True


class OlderCallers(_Model):
    """The mode for older callers (docs/ivr-insight.md): who gets it and what changes.

    A caller gets it when their number is on ``numbers``, when a host node sets the variable
    ``host_var`` to true (``"true"``, ``"1"`` or ``"yes"``), or when they press ``key`` in the
    first menu before choosing anything. Then prompts play at ``speed`` (0.8: a quarter
    longer, same pitch), digit timeouts are ``timeout_factor`` times as long, every menu
    forgives ``extra_repeats`` more silences and wrong keys, ``person_prompt`` (how to reach a
    person) plays first in every menu, and queues take the caller at ``queue_priority`` (a
    priority class of its own in the queue: give the queue a class with that priority)."""

    numbers: list[str] = Field(default_factory=list)
    host_var: NodeName | None = None
    key: str | None = Field(None, pattern=r"^[0-9*#ABCD]$")
    speed: float = Field(0.8, ge=0.5, le=1.0)
    timeout_factor: float = Field(1.5, ge=1.0, le=4.0)
    extra_repeats: int = Field(1, ge=0, le=3)
    person_prompt: Prompt | None = None
    queue_priority: int = Field(5, ge=0, le=100)

    @field_validator("speed", mode="before")
    @classmethod
    def _speed_in_range(cls, value: object) -> object:
        # Before the bounds, so the admin reads what the speed means, not only its limits.
        if isinstance(value, int | float) and not isinstance(value, bool) \
                and not 0.5 <= value <= 1.0:
            raise KeyedValueError("ivr.older_speed", "ivr.fix.older_speed", speed=value)
        return value


class Subflow(_Model):
    start: NodeName
    nodes: dict[NodeName, Node]


class Flow(_Model):
    flow: NodeName
    start: NodeName
    main_menu: NodeName | None = None
    operator: str
    escalate_to: str | None = None
    languages: list[Language] = Field(default_factory=lambda: ["zh"])
    default_language: Language = "zh"
    keys: GlobalKeys = Field(default_factory=GlobalKeys)
    limits: Limits = Field(default_factory=Limits)
    defaults: Defaults = Field(default_factory=Defaults)
    older_callers: OlderCallers | None = None
    nodes: dict[NodeName, Node]
    subflows: dict[NodeName, Subflow] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _default_language_offered(self) -> Flow:
        if self.default_language not in self.languages:
            raise KeyedValueError("ivr.default_language", language=self.default_language,
                                  languages=str(self.languages))
        return self

    # Qualified names: "node" in the main flow, "subflow:node" inside a subflow.

    def all_nodes(self) -> Iterator[tuple[str, str, Node]]:
        """Every node as (qualified name, document path, node)."""
        for name, node in self.nodes.items():
            yield name, f"nodes.{name}", node
        for sub, subflow in self.subflows.items():
            for name, node in subflow.nodes.items():
                yield f"{sub}:{name}", f"subflows.{sub}.nodes.{name}", node

    def resolve(self, scope: str, target: str) -> str | None:
        """The qualified name ``target`` means inside ``scope`` ("" = main), or None."""
        if scope:
            nodes = self.subflows[scope].nodes
            return f"{scope}:{target}" if target in nodes else None
        return target if target in self.nodes else None

    def node(self, qualified: str) -> Node:
        if ":" in qualified:
            sub, name = qualified.split(":", 1)
            return self.subflows[sub].nodes[name]
        return self.nodes[qualified]

    def escalation_target(self) -> str:
        return self.escalate_to or self.operator
