"""Checks across sections, run after each section passed its own model.

``cross_check(sections, raw) -> Findings``: ``sections`` maps a section name to its validated
model, or None when the section had errors of its own; ``raw`` is the document as parsed.
Where a check only needs names (flow names, queue names, endpoint names, agents' stations)
it takes them from ``raw`` when the section is invalid, so one typo in a queue does not hide
a wrong station; checks that need a whole model skip a section that has errors.

Errors: a line on a port that does not exist or is not a trunk, naming an unknown flow or a
tone the site's country does not have; an agent whose station does not exist or is not a
station, or whose id cannot be keyed at a phone; every flow checked by
``branchline.ivr.validate_flow`` against the document's queues, host endpoints and prompts
(paths prefixed with ``flows.<name>``); a flow offering a language the site does not; a flow
whose ``flow`` field differs from its name; a VIP number that is not a number; a prompt name
with '/'.
Warnings: trunks no line answers; a codec unusual for the country; a language a flow queues
callers in that no agent of that queue speaks; a host node waiting longer than its endpoint's
request; a prompt no flow plays (except ``RUNTIME_PROMPTS``, the ones the runtime
plays itself); a VIP number listed twice; users (not yet used); the IVR's
menu rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from branchline.config.document.call_control_checks import check_call_control
from branchline.config.document.issue_texts import KeyedValueError
from branchline.config.document.issues import Issue, issue, keyed
from branchline.config.document.model import TONES, PortSpec
from branchline.config.document.numbers import normalise_number
from branchline.config.document.sip import all_ports
from branchline.ivr import PersonRoute, PromptCatalog, QueueClasses, validate_flow

__all__ = ["Findings", "cross_check"]

_USUAL_CODEC = {"cn": "alaw", "us": "ulaw"}  # TELEPHONY.md: A-law in China, u-law in the US


# Prompts the runtime plays by name, outside any flow: the queue announcement
# (firmware/calls/session.py, Call.announce)
# "queue.position <place> [queue.wait <n> queue.minutes]",
# and the whisper an agent hears before a call back is dialled (firmware/calls/callback.py)
# "callback.whisper <the number's digits>".
RUNTIME_PROMPTS = frozenset({"queue.position", "queue.wait", "queue.minutes",
                             "callback.whisper"})


@dataclass
class Findings:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    routes: dict[str, tuple[PersonRoute, ...]] = field(default_factory=dict)


def _have(sections: Mapping[str, Any], *names: str) -> bool:
    return all(sections.get(name) is not None for name in names)


def _names(raw: Any, *where: str) -> list[str]:
    """The keys of the mapping at ``where`` in the raw document ([] if it is not one)."""
    for key in where:
        raw = raw.get(key) if isinstance(raw, dict) else None
    return [str(k) for k in raw] if isinstance(raw, dict) else []


def _country(sections: Mapping[str, Any], raw: Mapping[str, Any]) -> str | None:
    """The site's country, also when another field of the site is wrong."""
    if _have(sections, "site"):
        return sections["site"].country
    site = raw.get("site")
    country = site.get("country", "cn") if isinstance(site, dict) else None
    return country if isinstance(country, str) and country in TONES else None


def _raw_items(raw: Any, section: str, items: str) -> list[dict[str, Any]]:
    value = raw.get(section) if isinstance(raw, dict) else None
    value = value.get(items) if isinstance(value, dict) else None
    return [v if isinstance(v, dict) else {} for v in value] if isinstance(value, list) else []


def cross_check(sections: Mapping[str, Any], raw: Mapping[str, Any]) -> Findings:
    found = Findings()
    _lines(sections, raw, found)
    _agents(sections, raw, found)
    _sip(sections, found)
    _flows(sections, raw, found)
    _transfer_targets(sections, found)
    check_call_control(sections, found)
    _vip_numbers(sections, _country(sections, raw), found)
    _site(sections, found)
    if sections.get("prompts"):
        _prompts(sections, found)
    if sections.get("users"):
        found.warnings.append(issue("users", "doc.users_unused", "doc.fix.leave_users_empty"))
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _prompts(sections: Mapping[str, Any], found: Findings) -> None:
    prompts = sections["prompts"]
    for name in prompts:
        if "/" in name:
            found.errors.append(issue(f"prompts.{name}", "doc.prompt_name_slash",
                                      "doc.fix.group_with_dots"))
    flows = sections.get("flows")
    if flows is None:
        return
    # Any text in a flow equal to a prompt's name counts as a use: generous, so a prompt is
    # never called unused when it is not. The runtime's own prompts are used without a flow.
    used = {text for flow in flows.values() for text in _strings(flow.model_dump())}
    used |= RUNTIME_PROMPTS
    control = sections.get("call_control")
    if control is not None and control.music_on_hold is not None:
        used.add(control.music_on_hold)
    for name in prompts:
        if name not in used:
            found.warnings.append(issue(f"prompts.{name}", "doc.prompt_unused",
                                        "doc.fix.delete_or_use_prompt", name=name))


def _lines(sections: Mapping[str, Any], raw: Mapping[str, Any], found: Findings) -> None:
    lines = sections.get("lines")
    if lines is None:
        return
    flow_names = _names(raw, "flows")
    country = _country(sections, raw)
    ports = _ports(sections)
    for port, line in lines.items():
        path = f"lines.{port}"
        if ports is not None and port not in ports:
            trunks = [p.name for p in ports.values() if p.trunk]
            found.errors.append(issue(path, "doc.line_no_port", "doc.fix.use_a_trunk",
                                      port=port, trunks=", ".join(trunks)))
        elif ports is not None and not ports[port].trunk:
            found.errors.append(issue(path, "doc.line_on_station", "doc.fix.lines_on_trunks",
                                      port=port))
        if line.flow not in flow_names:
            found.errors.append(issue(f"{path}.flow", "doc.line_unknown_flow",
                                      "doc.fix.name_a_flow" if flow_names
                                      else "doc.fix.name_a_flow_none",
                                      flow=line.flow, flows=", ".join(flow_names)))
        if country is not None:
            for i, tone in enumerate(line.hangup_tones):
                if tone not in TONES[country]:
                    found.errors.append(issue(f"{path}.hangup_tones.{i}",
                                              "doc.tone_not_of_country", "doc.fix.use_a_tone",
                                              tone=tone, country=country,
                                              tones=", ".join(TONES[country])))
    if ports is not None:
        idle = [p.name for p in ports.values() if p.trunk and p.name not in lines]
        if idle:
            found.warnings.append(issue("lines", "doc.trunks_unanswered",
                                        "doc.fix.line_per_trunk", ports=", ".join(idle)))


def _ports(sections: Mapping[str, Any]) -> dict[str, PortSpec] | None:
    """Every port by name (the board's and the SIP board's), None if the board is wrong."""
    if not _have(sections, "board"):
        return None
    return {p.name: p for p in all_ports(sections["board"], sections.get("sip"))}


def _sip(sections: Mapping[str, Any], found: Findings) -> None:
    if not _have(sections, "board", "sip"):
        return
    board = {p.name for p in sections["board"].ports()}
    for station in sections["sip"].phones:
        if station in board:
            found.errors.append(issue(f"sip.phones.{station}", "doc.sip_station_taken",
                                      "doc.fix.sip_station_other_name", station=station))


def _transfer_targets(sections: Mapping[str, Any], found: Findings) -> None:
    """With SIP on, a flow's transfer node whose target is not in ``sip.transfer_targets``
    would be refused on every SIP call (the toll-fraud rule): say so before it is live."""
    if not _have(sections, "sip") or sections.get("flows") is None:
        return
    allowed = set(sections["sip"].transfer_targets)
    for name, flow in sections["flows"].items():
        for _, where, node in flow.all_nodes():
            if node.kind == "transfer" and node.target not in allowed:
                found.warnings.append(issue(
                    f"flows.{name}.{where}.target", "doc.transfer_not_allowed",
                    "doc.fix.transfer_target", target=node.target,
                    allowed=", ".join(sorted(allowed)) or "(none)"))


def _agents(sections: Mapping[str, Any], raw: Mapping[str, Any], found: Findings) -> None:
    if _have(sections, "acd"):
        agents = [(a.id, a.station) for a in sections["acd"].agents]
    else:
        agents = [(a.get("id"), a.get("station")) for a in _raw_items(raw, "acd", "agents")]
    ports = _ports(sections)
    for i, (agent_id, station) in enumerate(agents):
        path = f"acd.agents.{i}"
        if ports is not None and isinstance(station, str):
            stations = ", ".join(p.name for p in ports.values() if not p.trunk) or "(none)"
            if station not in ports:
                found.errors.append(issue(f"{path}.station", "doc.station_no_port",
                                          "doc.fix.use_a_station", station=station,
                                          stations=stations))
            elif ports[station].trunk:
                found.errors.append(issue(f"{path}.station", "doc.station_is_trunk",
                                          "doc.fix.use_one_of_stations", station=station,
                                          stations=stations))
        if isinstance(agent_id, str) and not agent_id.isdigit():
            found.errors.append(issue(f"{path}.id", "doc.agent_id_not_keyable",
                                      "doc.fix.digits_only", agent_id=agent_id))


def _catalog(prompts: Mapping[str, Any]) -> PromptCatalog:
    return PromptCatalog({name: texts.texts() for name, texts in prompts.items()})


def _flows(sections: Mapping[str, Any], raw: Mapping[str, Any], found: Findings) -> None:
    flows = sections.get("flows")
    if flows is None:
        return
    site = sections.get("site")
    # Without the acd section at all, every queue would look unknown: say nothing of queues.
    ready = _have(sections, "prompts") and isinstance(raw.get("acd"), dict)
    classes = None  # the older callers' class is checked against whole queues only
    if _have(sections, "acd"):
        queues = {q.name for q in sections["acd"].queues}
        classes = {q.name: QueueClasses({c.name: c.priority for c in q.classes},
                                        q.default_class) for q in sections["acd"].queues}
    else:
        queues = {q["name"] for q in _raw_items(raw, "acd", "queues")
                  if isinstance(q.get("name"), str)}
    if _have(sections, "host"):
        endpoints = set(sections["host"].endpoints)
    else:
        endpoints = set(_names(raw, "host", "endpoints"))
    if ready:
        catalog = _catalog(sections["prompts"])
    for name, flow in flows.items():
        path = f"flows.{name}"
        if flow.flow != name:
            found.errors.append(issue(f"{path}.flow", "doc.flow_name_differs",
                                      "doc.fix.write_flow_name", name=flow.flow, flow=name))
        if site is not None:
            extra = [lang for lang in flow.languages if lang not in site.languages]
            if extra:
                found.errors.append(issue(f"{path}.languages", "doc.flow_language_not_site",
                                          "doc.fix.site_languages", languages=", ".join(extra)))
        if not ready:
            continue
        report = validate_flow(flow, queues=queues, endpoints=endpoints, prompts=catalog,
                               queue_classes=classes)
        found.errors += [_under(path, issue) for issue in report.errors]
        found.warnings += [_under(path, issue) for issue in report.warnings]
        found.routes[name] = report.routes
        if _have(sections, "acd"):
            found.warnings += _unspoken_languages(path, flow, sections["acd"])
        if _have(sections, "host"):
            found.warnings += _host_timeouts(path, flow, sections["host"])


def _under(prefix: str, found: Any) -> Issue:
    return keyed(f"{prefix}.{found.path}" if found.path else prefix, found)


def _unspoken_languages(path: str, flow: Any, acd: Any) -> list[Issue]:
    """A queue node with language_skill asks for an agent with the caller's language."""
    issues = []
    for _, node_path, node in flow.all_nodes():
        if node.kind != "queue" or not node.language_skill:
            continue
        members = [a for a in acd.agents if any(m.queue == node.queue for m in a.queues)]
        for lang in flow.languages:
            needed = {*node.skills, lang}
            if not any(needed <= set(a.skills) for a in members):
                issues.append(issue(f"{path}.{node_path}.queue", f"doc.language_no_agent.{lang}",
                                    "doc.fix.give_skill", queue=node.queue, lang=lang,
                                    skills=", ".join(sorted(needed))))
    return issues


def _host_timeouts(path: str, flow: Any, host: Any) -> list[Issue]:
    """A host node that waits longer than its endpoint's HTTP request can never time out:
    the request fails first and the caller hears the error branch, not the timeout one."""
    issues = []
    for _, node_path, node in flow.all_nodes():
        endpoint = host.endpoints.get(node.endpoint) if node.kind == "host" else None
        if endpoint is not None and node.timeout > endpoint.timeout:
            issues.append(issue(f"{path}.{node_path}.timeout", "doc.host_timeout_unreachable",
                                "doc.fix.endpoint_timeout", waits=node.timeout,
                                endpoint=node.endpoint, gives_up=endpoint.timeout))
    return issues


def _vip_numbers(sections: Mapping[str, Any], country: str | None, found: Findings) -> None:
    numbers = sections.get("vip_numbers")
    if numbers is None or country is None:
        return
    seen: dict[str, int] = {}
    for i, number in enumerate(numbers):
        try:
            e164 = normalise_number(number, country)
        except KeyedValueError as exc:
            found.errors.append(keyed(f"vip_numbers.{i}", exc))
            continue
        if e164 in seen:
            found.warnings.append(issue(f"vip_numbers.{i}", "doc.vip_twice",
                                        "doc.fix.number_once", number=number, other=seen[e164],
                                        e164=e164))
        seen.setdefault(e164, i)


def _site(sections: Mapping[str, Any], found: Findings) -> None:
    site = sections.get("site")
    if site is None:
        return
    usual = _USUAL_CODEC[site.country]
    if site.codec != usual:
        found.warnings.append(issue("site.codec", "doc.codec_unusual", "doc.fix.usual_codec",
                                    codec=site.codec, country=site.country, usual=usual))
