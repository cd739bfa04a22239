"""What the queue and agent forms show: the settings of the ACD an admin changes most.

``queue_forms(draft, t)`` turns the draft's ``acd.queues`` into forms (distribution, ring
and wrap-up times, the longest wait, what happens with nobody logged in, place announcements,
call back and its retries, each priority class's service-level target and promotion time);
``agent_forms(draft, t)`` does the agents (name, phone, skills with levels, queues with their
penalties, typed "general, vip 2"). Each field carries the checker's issues about it.
``static/acd.js`` saves a form by changing only those fields of the section.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from branchline.acd import Announcements, CallbackPolicy, PriorityClass, QueueModel, Strategy
from branchline.config.web.pages.flow import DraftView

__all__ = ["QueueField", "agent_forms", "queue_forms"]


def _plain(value: Any) -> Any:
    """90.0 reads as 90 in a form."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


@dataclass(slots=True)
class QueueField:
    path: str          # inside the queue: "wrap_up_s", "callback.enabled", "classes.0.x"
    label: str
    type: str          # number | optional-number | bool | text | skills | memberships
                       # | json (hidden)
    value: Any
    choices: list[tuple[str, str]] | None = None
    hint: str = ""
    issues: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.value = _plain(self.value)


_CLASS_PROMOTE = PriorityClass.model_fields["promote_after_s"].default


def _default(part: str, name: str) -> Any:
    """A queue's setting as the model fills it in when the document leaves it out."""
    model = {"announce": Announcements, "callback": CallbackPolicy}[part]
    return model.model_fields[name].default


def _bool(value: Any) -> str:
    return "true" if value else "false"


def queue_forms(draft: DraftView, t: Any) -> list[dict[str, Any]]:
    """Each queue of the draft's acd section as a form of the settings an admin changes
    most (distribution, waits, call back, each class's service-level target), with the
    issues under ``acd.queues.N``: on their field when they name one, else on the queue."""
    acd = (draft.data or {}).get("acd") or {}
    forms = []
    for index, queue in enumerate(acd.get("queues") or []):
        if not isinstance(queue, Mapping):
            continue
        callback = queue.get("callback") if isinstance(queue.get("callback"), Mapping) else {}
        announce = queue.get("announce") if isinstance(queue.get("announce"), Mapping) else {}
        yes_no = [("true", t("field.yes")), ("false", t("field.no"))]
        fields = [
            QueueField("strategy", t("queues.strategy"), "text",
                       queue.get("strategy", "longest_idle"),
                       [(s.value, t(f"strategy.{s.value}")) for s in Strategy]),
            QueueField("wrap_up_s", t("queues.wrap_up"), "number", queue.get("wrap_up_s", 10)),
            QueueField("ring_timeout_s", t("queues.ring_timeout"), "number",
                       queue.get("ring_timeout_s", 15)),
            QueueField("max_wait_s", t("queues.max_wait"), "optional-number",
                       queue.get("max_wait_s"), hint=t("queues.max_wait_hint")),
            QueueField("when_no_agents", t("queues.when_no_agents"), "text",
                       queue.get("when_no_agents", "wait"),
                       [(v, t(f"queues.no_agents_{v}")) for v in ("wait", "reject",
                                                                  "overflow")]),
            QueueField("overflow_target", t("queues.overflow_target"), "text",
                       queue.get("overflow_target"), hint=t("queues.overflow_hint")),
            QueueField("announce.every_s", t("queues.announce_every"), "number",
                       announce.get("every_s", _default("announce", "every_s")),
                       hint=t("queues.announce_every_hint")),
            QueueField("announce.on_entry", t("queues.announce_on_entry"), "bool",
                       _bool(announce.get("on_entry", _default("announce", "on_entry"))),
                       yes_no),
            QueueField("callback.enabled", t("queues.callback"), "bool",
                       _bool(callback.get("enabled")), yes_no),
            QueueField("callback.key", t("queues.callback_key"), "text",
                       callback.get("key", _default("callback", "key"))),
            QueueField("callback.retries", t("queues.callback_retries"), "number",
                       callback.get("retries", _default("callback", "retries"))),
            QueueField("callback.retry_interval_s", t("queues.callback_retry_interval"),
                       "number", callback.get("retry_interval_s",
                                              _default("callback", "retry_interval_s"))),
            QueueField("callback.dial_timeout_s", t("queues.callback_dial_timeout"), "number",
                       callback.get("dial_timeout_s", _default("callback", "dial_timeout_s"))),
        ]
        classes = queue.get("classes")
        if not isinstance(classes, list):
            # The document leaves the classes to their defaults: the form starts from those,
            # and saving writes them out with the targets the admin set.
            classes = [c.model_dump() for c in QueueModel.model_fields["classes"]
                       .default_factory()]
            fields.append(QueueField("classes", "", "json", json.dumps(classes)))
        for i, cls in enumerate(classes):
            if isinstance(cls, Mapping):
                name = cls.get("name", i)
                fields.append(QueueField(f"classes.{i}.service_level_pct",
                                         t("queues.sl_pct", name=name), "number",
                                         cls.get("service_level_pct")))
                fields.append(QueueField(f"classes.{i}.service_level_s",
                                         t("queues.sl_s", name=name), "number",
                                         cls.get("service_level_s")))
                fields.append(QueueField(f"classes.{i}.promote_after_s",
                                         t("queues.promote_after", name=name), "number",
                                         cls.get("promote_after_s", _CLASS_PROMOTE),
                                         hint=t("queues.promote_after_hint")))
        forms.append(_form(draft, f"acd.queues.{index}", index,
                           str(queue.get("name", f"#{index + 1}")), fields))
    return forms


def agent_forms(draft: DraftView, t: Any) -> list[dict[str, Any]]:
    acd = (draft.data or {}).get("acd") or {}
    forms = []
    for index, agent in enumerate(acd.get("agents") or []):
        if not isinstance(agent, Mapping):
            continue
        skills = agent.get("skills") if isinstance(agent.get("skills"), Mapping) else {}
        queues = [str(m.get("queue")) + (f" {m['penalty']}" if m.get("penalty") else "")
                  for m in agent.get("queues") or [] if isinstance(m, Mapping)]
        fields = [
            QueueField("name", t("agents.name"), "text", agent.get("name")),
            QueueField("station", t("agents.station"), "text", agent.get("station"),
                       hint=t("agents.station_hint")),
            QueueField("skills", t("agents.skills"), "skills",
                       ", ".join(f"{k} {v}" for k, v in skills.items()),
                       hint=t("agents.skills_hint")),
            QueueField("queues", t("agents.queues"), "memberships",
                       ", ".join(queues), hint=t("agents.queues_hint")),
        ]
        forms.append(_form(draft, f"acd.agents.{index}", index,
                           f"{agent.get('id', '?')} · {agent.get('name', '')}", fields))
    return forms


def _form(draft: DraftView, prefix: str, index: int, name: str,
          fields: list[QueueField]) -> dict[str, Any]:
    """A form with the issues under ``prefix`` on their field, the rest on the form."""
    rest = []
    for issue in draft.section_issues(prefix):
        tail = issue["path"][len(prefix) + 1:]
        match = next((f for f in fields if tail == f.path or tail.startswith(f.path + ".")),
                     None)
        (match.issues if match else rest).append(issue)
    return {"index": index, "name": name, "fields": fields, "issues": rest}
