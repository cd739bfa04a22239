"""The document's shared parts, which the centre keeps as templates (docs/fleet.md).

    parts = parse_template(text)                # {"prompts": {...}, "queues": [...]}
    text = compose(branch_text, parts, keep={"queues"})
    digests = part_digests(parse_yaml(text).data)

A template is a YAML mapping of some of these parts; everything else in a document (site,
board, lines, sip, host, agents, VIP numbers, codes, retention) is the branch's own:

    flows       the document's ``flows``, without their schedules' holidays and workdays
    prompts     the document's ``prompts`` (their texts)
    queues      ``acd.queues``: the queues and their caller classes
    calendar    ``{holidays: [dates], workdays: {date: [hours]}}``, put into every schedule
                node of every flow

``compose`` replaces each part of the branch's text with the template's, except the parts in
``keep`` (the branch's local overrides), and writes the result as YAML again (comments of the
branch's text do not survive). It does not check the result: the branch's own checker does.
``part_digests`` fingerprints each part of a document, so a branch can tell that its admin
changed a part after the centre's template set it. ``TemplateInvalid`` (a ValueError) says
what is wrong with a template's text.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import yaml

from branchline.config.document.yaml_text import YamlProblem, parse_yaml

__all__ = ["PARTS", "TemplateInvalid", "compose", "parse_template", "part_digests"]

PARTS = ("flows", "prompts", "queues", "calendar")
_SHAPES = {"flows": dict, "prompts": dict, "queues": list, "calendar": dict}
_CALENDAR = ("holidays", "workdays")


class TemplateInvalid(ValueError):
    """A template's text is not a mapping of shared parts; the message says what would be."""


def parse_template(text: str) -> dict[str, Any]:
    """The parts a template's text sets, in ``PARTS`` order."""
    try:
        data = parse_yaml(text).data
    except YamlProblem as exc:
        where = f" (line {exc.line})" if exc.line else ""
        raise TemplateInvalid(f"template{where}: {exc.message}") from None
    if not isinstance(data, dict) or not data:
        raise TemplateInvalid(f"template: give a mapping of one or more of {', '.join(PARTS)}")
    for name, value in data.items():
        if name not in PARTS:
            raise TemplateInvalid(
                f"template: {name!r} is not a shared part; a template sets only "
                f"{', '.join(PARTS)} (the branch keeps site, board, lines, sip, agents, "
                "VIP numbers)")
        if not isinstance(value, _SHAPES[name]):
            raise TemplateInvalid(f"template: {name} must be a "
                                  f"{'list' if _SHAPES[name] is list else 'mapping'}")
    unknown = set(data.get("calendar", {})) - set(_CALENDAR)
    if unknown:
        raise TemplateInvalid(f"template: calendar holds only holidays and workdays, not "
                              f"{', '.join(sorted(map(str, unknown)))}")
    return {name: data[name] for name in PARTS if name in data}


def _schedules(data: dict) -> list[dict]:
    flows = data.get("flows")
    if not isinstance(flows, dict):
        return []
    return [node for flow in flows.values() if isinstance(flow, dict)
            for node in (flow.get("nodes") or {}).values()
            if isinstance(node, dict) and node.get("kind") == "schedule"]


def compose(branch_text: str, parts: dict[str, Any], *, keep=frozenset()) -> str:
    """The branch's document with the template's parts in place of its own (but ``keep``)."""
    data = copy.deepcopy(parse_yaml(branch_text).data)
    if "flows" in parts and "flows" not in keep:
        data["flows"] = copy.deepcopy(parts["flows"])
    if "prompts" in parts and "prompts" not in keep:
        data["prompts"] = copy.deepcopy(parts["prompts"])
    if "queues" in parts and "queues" not in keep:
        acd = data.setdefault("acd", {})
        if isinstance(acd, dict):
            acd["queues"] = copy.deepcopy(parts["queues"])
    if "calendar" in parts and "calendar" not in keep:
        for node in _schedules(data):
            for field in _CALENDAR:
                value = parts["calendar"].get(field)
                if value:
                    node[field] = copy.deepcopy(value)
                else:
                    node.pop(field, None)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def part_digests(data: Any) -> dict[str, str]:
    """A fingerprint of each part as it stands in a document's data (``parse_yaml(...).data``)."""
    data = data if isinstance(data, dict) else {}
    flows = copy.deepcopy(data.get("flows"))
    for node in _schedules({"flows": flows}):
        for field in _CALENDAR:
            node.pop(field, None)
    acd = data.get("acd") if isinstance(data.get("acd"), dict) else {}
    calendars = [{field: node.get(field) or None for field in _CALENDAR}
                 for node in _schedules(data)]
    return {"flows": _digest(flows), "prompts": _digest(data.get("prompts")),
            "queues": _digest(acd.get("queues")), "calendar": _digest(calendars)}
