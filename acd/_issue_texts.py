# ruff: noqa: E501 - one message per line, as in the page's catalogue
"""The English words of every problem the ACD's configuration models report, by key.

As in ``branchline.ivr``: a problem names its message and fix by key with one set of
parameters, so the config page can say it in Chinese (``config/web/i18n/issues.py``).
``ConfigProblems`` carries every cross-reference problem of an ``AcdConfig`` with the path of
its field; its text is the problems joined by "; ", each "path: problem; fix".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ISSUE_TEXTS", "ConfigProblem", "ConfigProblems", "KeyedValueError", "said"]

ISSUE_TEXTS: dict[str, str] = {
    "acd.name_form.queue": "queue name {value!r} must be lower-case letters, digits, '_', '.' or '-', starting with a letter or digit (e.g. 'cantonese')",
    "acd.name_form.class": "priority class {value!r} must be lower-case letters, digits, '_', '.' or '-', starting with a letter or digit (e.g. 'cantonese')",
    "acd.name_form.skill": "skill {value!r} must be lower-case letters, digits, '_', '.' or '-', starting with a letter or digit (e.g. 'cantonese')",
    "acd.classes_twice": "classes: {names} appear more than once",
    "acd.default_class_unknown": "default_class: {name!r} is not one of the classes {names}",
    "acd.overflow_needs_target": "when_no_agents: 'overflow' needs overflow_target",
    "acd.skill_level": "skill {skill!r} has level {level}",
    "acd.queue_name_twice": "{name!r} is used twice",
    "acd.overflow_target_unknown": "{target!r} names no queue",
    "acd.agent_id_twice": "{agent_id!r} is already agents[{other}]",
    "acd.station_twice": "{station!r} is already the station of agents[{other}]",
    "acd.member_not_queue": "{queue!r} is not a queue",
    "acd.member_twice": "{queue!r} is listed twice",
    # --- fixes
    "acd.fix.correct_value": "correct the value",
    "acd.fix.class_once": "give each class one entry",
    "acd.fix.name_a_class": "name one of them",
    "acd.fix.set_overflow": "set it or choose 'wait'",
    "acd.fix.skill_levels": "levels run from 1 (basic) to 10",
    "acd.fix.queue_names_unique": "queue names are unique",
    "acd.fix.use_a_queue": "use one of {known}",
    "acd.fix.ids_unique": "ids are unique",
    "acd.fix.one_agent_per_station": "one agent per station",
    "acd.fix.queue_once": "list each queue once",
}


def said(key: str, params: Mapping[str, object]) -> str:
    return ISSUE_TEXTS[key].format(**params)


class KeyedValueError(ValueError):
    """A field's problem raised from a model validator, with its message and fix keys (pydantic
    keeps the exception, so the checker reads the keys); the text is "problem; fix"."""

    def __init__(self, key: str, fix_key: str | None = None, /, **params: object) -> None:
        self.key = key
        self.fix_key = fix_key or "acd.fix.correct_value"
        self.params = params
        self.problem = said(key, params)
        self.fix = said(self.fix_key, params)
        super().__init__(f"{self.problem}; {self.fix}" if fix_key else self.problem)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One cross-reference problem; ``path`` like "agents.2.queues.0.queue"."""

    path: str
    key: str
    fix_key: str
    params: Mapping[str, object]

    @property
    def problem(self) -> str:
        return said(self.key, self.params)

    @property
    def fix(self) -> str:
        return said(self.fix_key, self.params)

    def __str__(self) -> str:
        shown = self.path.split(".")
        where = shown[0] + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in shown[1:])
        return f"{where}: {self.problem}; {self.fix}"


class ConfigProblems(ValueError):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(map(str, problems)))
