"""Queue and agent configuration (pydantic v2), embedded in the appliance's configuration document.

`AcdConfig` checks the references between queues and agents; every error names the path to the
field, what is wrong and what would be right, e.g.::

    agents[2].queues[0].queue: 'loans' is not a queue; use one of 'cards', 'general'
"""

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from branchline.acd._issue_texts import ConfigProblem, ConfigProblems, KeyedValueError

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _check_name(value: str, what: Literal["queue", "class", "skill"]) -> str:
    if not _NAME.match(value):
        raise KeyedValueError(f"acd.name_form.{what}", value=value)
    return value


class Strategy(StrEnum):
    """How a waiting call picks among the ready agents (see docs/acd.md)."""

    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    FEWEST_CALLS = "fewest_calls"
    LEAST_TALK_TIME = "least_talk_time"
    LINEAR = "linear"
    RANDOM = "random"
    BEST_SKILL = "best_skill"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorityClass(_Strict):
    """A class of callers with its own service-level target.

    `promote_after_s` bounds aging: a caller who has waited that long is served before callers
    of higher classes who have not, so a stream of VIPs cannot starve anyone.
    """

    name: str
    priority: int = Field(ge=0, le=100, description="higher is served first")
    service_level_s: float = Field(20.0, gt=0, description="answer within this many seconds")
    service_level_pct: float = Field(80.0, gt=0, le=100, description="for this share of calls")
    promote_after_s: float = Field(120.0, gt=0)

    _name = field_validator("name")(lambda v: _check_name(v, "class"))


def _default_classes() -> list[PriorityClass]:
    # The bank standard answers VIPs within 10 s; 80 % in 20 s is the common retail target.
    return [
        PriorityClass(name="vip", priority=10, service_level_s=10, service_level_pct=90,
                      promote_after_s=600),
        PriorityClass(name="normal", priority=0, service_level_s=20, service_level_pct=80,
                      promote_after_s=120),
    ]


class CallbackPolicy(_Strict):
    """Offer to call the caller back, keeping their place in line."""

    enabled: bool = False
    key: str = Field("1", pattern=r"^[0-9*#]$", description="the DTMF key that asks for it")
    retries: int = Field(2, ge=0, le=10, description="further attempts after the first")
    retry_interval_s: float = Field(120.0, gt=0)
    dial_timeout_s: float = Field(60.0, gt=0, description="guard: no result by then = no answer")


class Announcements(_Strict):
    """Position and expected-wait announcements; `every_s` 0 turns them off."""

    every_s: float = Field(30.0, ge=0)
    on_entry: bool = True


class QueueModel(_Strict):
    name: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    classes: list[PriorityClass] = Field(default_factory=_default_classes, min_length=1)
    default_class: str = "normal"
    required_skills: list[str] = Field(default_factory=list)
    max_wait_s: float | None = Field(None, gt=0)
    max_length: int | None = Field(None, ge=1)
    wrap_up_s: float = Field(10.0, ge=0)
    ring_timeout_s: float = Field(15.0, gt=0)
    when_no_agents: Literal["wait", "reject", "overflow"] = "wait"
    overflow_target: str | None = None
    callback: CallbackPolicy = Field(default_factory=CallbackPolicy)
    announce: Announcements = Field(default_factory=Announcements)
    expected_handle_s: float = Field(180.0, gt=0, description="seed for the wait estimate")

    _name = field_validator("name")(lambda v: _check_name(v, "queue"))

    @field_validator("required_skills")
    @classmethod
    def _skills(cls, value: list[str]) -> list[str]:
        return [_check_name(s, "skill") for s in value]

    @model_validator(mode="after")
    def _coherent(self) -> "QueueModel":
        names = [c.name for c in self.classes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise KeyedValueError("acd.classes_twice", "acd.fix.class_once", names=str(dup))
        if self.default_class not in names:
            raise KeyedValueError("acd.default_class_unknown", "acd.fix.name_a_class",
                                  name=self.default_class, names=str(names))
        if self.when_no_agents == "overflow" and not self.overflow_target:
            raise KeyedValueError("acd.overflow_needs_target", "acd.fix.set_overflow")
        return self


class Membership(_Strict):
    """An agent's place in a queue; lower penalty is offered calls first (tiers)."""

    queue: str
    penalty: int = Field(0, ge=0, le=99)


class AgentModel(_Strict):
    id: str
    name: str
    station: str = Field(min_length=1, description="the port the agent's phone is on")
    skills: dict[str, int] = Field(default_factory=dict)
    queues: list[Membership] = Field(default_factory=list)

    @field_validator("skills")
    @classmethod
    def _levels(cls, value: dict[str, int]) -> dict[str, int]:
        for skill, level in value.items():
            _check_name(skill, "skill")
            if not 1 <= level <= 10:
                raise KeyedValueError("acd.skill_level", "acd.fix.skill_levels", skill=skill,
                                      level=level)
        return value


class AcdConfig(_Strict):
    """The ACD part of the configuration document."""

    queues: list[QueueModel] = Field(default_factory=list)
    agents: list[AgentModel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> "AcdConfig":
        problems = []
        queue_names = [q.name for q in self.queues]
        known = ", ".join(repr(n) for n in sorted(queue_names)) or "(none configured)"
        for i, name in enumerate(queue_names):
            if queue_names.index(name) != i:
                problems.append(ConfigProblem(f"queues.{i}.name", "acd.queue_name_twice",
                                              "acd.fix.queue_names_unique", {"name": name}))
        for i, q in enumerate(self.queues):
            target = q.overflow_target or ""
            if target.startswith("queue:") and target[6:] not in queue_names:
                problems.append(ConfigProblem(f"queues.{i}.overflow_target",
                                              "acd.overflow_target_unknown", "acd.fix.use_a_queue",
                                              {"target": target, "known": known}))
        seen_ids: dict[str, int] = {}
        seen_stations: dict[str, int] = {}
        for i, a in enumerate(self.agents):
            if a.id in seen_ids:
                problems.append(ConfigProblem(f"agents.{i}.id", "acd.agent_id_twice",
                                              "acd.fix.ids_unique",
                                              {"agent_id": a.id, "other": seen_ids[a.id]}))
            seen_ids.setdefault(a.id, i)
            if a.station in seen_stations:
                problems.append(ConfigProblem(f"agents.{i}.station", "acd.station_twice",
                                              "acd.fix.one_agent_per_station",
                                              {"station": a.station,
                                               "other": seen_stations[a.station]}))
            seen_stations.setdefault(a.station, i)
            member_of = []
            for j, m in enumerate(a.queues):
                if m.queue not in queue_names:
                    problems.append(ConfigProblem(f"agents.{i}.queues.{j}.queue",
                                                  "acd.member_not_queue", "acd.fix.use_a_queue",
                                                  {"queue": m.queue, "known": known}))
                if m.queue in member_of:
                    problems.append(ConfigProblem(f"agents.{i}.queues.{j}.queue",
                                                  "acd.member_twice", "acd.fix.queue_once",
                                                  {"queue": m.queue}))
                member_of.append(m.queue)
        if problems:
            raise ConfigProblems(problems)
        return self
