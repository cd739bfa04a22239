"""The checker's look at the ``call_control`` section against the rest of the document.

``check_call_control(sections, found)`` adds errors (``Findings`` of checks.py), each with its
message and fix by key (``issue_texts``; Chinese in ``config/web/i18n/issues.py``):

* a call-control code that reads as one of ``agent_codes`` (or the other way round): the
  station would take one for the other (``doc.call_code_clash``);
* ``music_on_hold`` naming a prompt the document does not have (``doc.hold_music_unknown``);
* a supervisor allowed to monitor an agent or a queue that is not configured, or sitting at a
  station that is not one of the board's stations (``doc.monitor_unknown_agent``,
  ``doc.monitor_unknown_queue``, ``doc.supervisor_station``);
* ``queues`` (the digit keyed after the transfer-to-queue code) naming an unknown queue
  (``doc.transfer_queue_unknown``).

A section with errors of its own (or missing ones it needs) is skipped: its own model said what
is wrong.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from branchline.config.document.issues import issue
from branchline.config.document.sip import all_ports

__all__ = ["check_call_control"]

_SLOT = re.compile(r"\{(\w+)\}")
_SAMPLE = {"agent": "1001", "agent_id": "1001", "digit": "1", "reason": "1"}
_KEYS = {"digit": "[0-9]", "reason": "[0-9]"}  # other slots: an agent id, 1-16 digits


def check_call_control(sections: Mapping[str, Any], found) -> None:
    control = sections.get("call_control")
    if control is None:
        return
    _codes(control, sections.get("agent_codes"), found)
    prompts = sections.get("prompts")
    name = control.music_on_hold
    if prompts is not None and name is not None and name not in prompts:
        close = difflib.get_close_matches(name, list(prompts), n=3)
        found.errors.append(issue("call_control.music_on_hold", "doc.hold_music_unknown",
                                  "doc.fix.hold_music", prompt=name,
                                  prompts=", ".join(close or sorted(prompts)[:5]) or "(none)"))
    acd = sections.get("acd")
    if acd is not None:
        agents = [a.id for a in acd.agents]
        queues = [q.name for q in acd.queues]
        for i, supervisor in enumerate(control.supervisors):
            path = f"call_control.supervisors.{i}"
            for j, agent in enumerate(supervisor.agents):
                if agent not in agents:
                    found.errors.append(issue(f"{path}.agents.{j}", "doc.monitor_unknown_agent",
                                              "doc.fix.name_configured", user=supervisor.user,
                                              name=agent, known=", ".join(agents) or "(none)"))
            for j, queue in enumerate(supervisor.queues):
                if queue not in queues:
                    found.errors.append(issue(f"{path}.queues.{j}", "doc.monitor_unknown_queue",
                                              "doc.fix.name_configured", user=supervisor.user,
                                              name=queue, known=", ".join(queues) or "(none)"))
        for digit, queue in control.queues.items():
            if queue not in queues:
                found.errors.append(issue(f"call_control.queues.{digit}",
                                          "doc.transfer_queue_unknown", "doc.fix.name_configured",
                                          name=queue, user="", known=", ".join(queues)))
    stations = _stations(sections)
    if stations is not None:
        for i, supervisor in enumerate(control.supervisors):
            if supervisor.station not in stations:
                found.errors.append(issue(f"call_control.supervisors.{i}.station",
                                          "doc.supervisor_station", "doc.fix.use_a_station",
                                          station=supervisor.station,
                                          stations=", ".join(stations) or "(none)"))


def _stations(sections: Mapping[str, Any]) -> list[str] | None:
    if sections.get("board") is None:
        return None
    return [p.name for p in all_ports(sections["board"], sections.get("sip")) if not p.trunk]


def _codes(control, agent_codes, found) -> None:
    if agent_codes is None:
        return
    agent = {a: getattr(agent_codes, a) for a in ("login", "ready", "not_ready", "end_wrapup",
                                                  "logout")}
    call = {c: getattr(control.codes, c) for c in type(control.codes).model_fields}
    for name, code in call.items():
        for action, other in agent.items():
            if _pattern(other).fullmatch(_sample(code)) or _pattern(code).fullmatch(
                    _sample(other)):
                found.errors.append(issue(f"call_control.codes.{name}", "doc.call_code_clash",
                                          "doc.fix.own_keys", name=name, code=code,
                                          action=action, other=other))


def _pattern(code: str) -> re.Pattern[str]:
    parts = _SLOT.split(code)
    # split keeps the slot names at odd places: literal, name, literal, ...
    text = "".join(re.escape(p) if i % 2 == 0 else _KEYS.get(p, "[0-9]{1,16}")
                   for i, p in enumerate(parts))
    return re.compile(text)


def _sample(code: str) -> str:
    return _SLOT.sub(lambda m: _SAMPLE.get(m.group(1), "1"), code)
