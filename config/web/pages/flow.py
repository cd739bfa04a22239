"""What the flow page shows, worked out from the caller's draft: no HTML here.

``DraftView.of(store, user)`` reads the draft once: its text parsed as the checker parses it
(so menu keys stay text), the checker's report as contract issues, and each flow's routes to
a person. ``issues_by_node`` files issues under the node their path points into ("flows.bank.
nodes.main_menu.options.0" -> "main_menu", field "options", item "0"; a subflow's node is
"card_entry:card"). ``node_fields`` lists a node's settings for the form, each with the issues
that concern it, so the page shows a problem next to the field it is about.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from branchline.config.document.loading import check_document
from branchline.config.document.yaml_text import YamlProblem, parse_yaml
from branchline.config.web.diagram.svg import TARGET_FIELDS
from branchline.config.web.errors import issues_from_report

__all__ = ["DraftView", "FormField", "issues_by_node", "node_fields", "node_names", "raw_node",
           "split_issue_path"]

PROMPT_FIELDS = ("prompt", "short_prompt", "items", "invalid_prompt", "no_input_prompt",
                 "confirm_prompt", "confirm_options_prompt")
NUMBER_FIELDS = ("timeout", "first_digit_timeout", "inter_digit_timeout", "min_length",
                 "max_length", "max_seconds", "priority")
TEXT_FIELDS = ("queue", "endpoint", "set", "var", "flow", "reason", "target", "terminator",
               "mask")
BOOL_FIELDS = ("barge_in", "confirm", "sensitive", "language_skill", "beep")
# A new node of each kind starts with its required fields, empty where a name is needed: the
# draft saves, and the checker then says what is still missing.
SKELETONS: dict[str, dict[str, Any]] = {
    "menu": {"kind": "menu", "prompt": "main.short", "options": {"1": ""}},
    "play": {"kind": "play", "items": [], "next": ""},
    "collect": {"kind": "collect", "var": "entry", "prompt": "card.enter", "max_length": 6,
                "next": ""},
    "queue": {"kind": "queue", "queue": "general"},
    "hangup": {"kind": "hangup", "prompt": "common.goodbye", "reason": "flow_end"},
    "message": {"kind": "message", "prompt": "message.instructions", "next": ""},
    "language": {"kind": "language", "set": "zh", "next": ""},
}


@dataclass(slots=True)
class DraftView:
    base: int | None
    revision: int
    text: str
    data: dict[str, Any] | None          # the parsed YAML, None when it does not parse
    issues: list[dict[str, Any]]
    routes: Mapping[str, Sequence[Any]]
    changed: bool

    @classmethod
    def of(cls, store: Any, user: str) -> DraftView:
        draft = store.draft(user)
        current = store.current()
        _, report = check_document(draft.text)
        try:
            data = parse_yaml(draft.text).data
        except YamlProblem:
            data = None
        return cls(draft.base, draft.revision, draft.text,
                   data if isinstance(data, dict) else None, issues_from_report(report),
                   report.routes, current is None or current.text != draft.text)

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i["severity"] == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i["severity"] != "error")

    def flows(self) -> dict[str, Mapping[str, Any]]:
        flows = (self.data or {}).get("flows")
        return {name: f for name, f in flows.items() if isinstance(f, Mapping)} \
            if isinstance(flows, Mapping) else {}

    def section_issues(self, prefix: str) -> list[dict[str, Any]]:
        return [i for i in self.issues
                if i["path"] == prefix or i["path"].startswith(prefix + ".")]


def split_issue_path(path: str, flow: str) -> tuple[str | None, str | None, str | None]:
    """(node, field, item) a document path points to inside ``flow``; Nones when it is not
    about one node ("flows.bank.start")."""
    parts = path.split(".")
    if parts[:2] != ["flows", flow]:
        return None, None, None
    rest = parts[2:]
    if rest[:1] == ["nodes"] and len(rest) >= 2:
        node, tail = rest[1], rest[2:]
    elif rest[:1] == ["subflows"] and len(rest) >= 4 and rest[2] == "nodes":
        node, tail = f"{rest[1]}:{rest[3]}", rest[4:]
    else:
        return None, None, None
    return node, (tail[0] if tail else None), (".".join(tail[1:]) or None)


def issues_by_node(issues: Sequence[dict[str, Any]], flow: str
                   ) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The flow's issues filed by node, and those about the flow as a whole."""
    by_node: dict[str, list[dict[str, Any]]] = {}
    general = []
    for issue in issues:
        node, _, _ = split_issue_path(issue["path"], flow)
        if node is not None:
            by_node.setdefault(node, []).append(issue)
        elif issue["path"] == f"flows.{flow}" or issue["path"].startswith(f"flows.{flow}."):
            general.append(issue)
    return by_node, general


@dataclass(slots=True)
class FormField:
    name: str
    control: str    # options | target | prompt | number | text | bool | other
    value: Any
    issues: list[dict[str, Any]] = field(default_factory=list)
    item_issues: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def prompt_names(self) -> list[str]:
        value = self.value if isinstance(self.value, list) else [self.value]
        return [v for v in value if isinstance(v, str)]

    @property
    def text(self) -> str:
        """A prompt list as the admin types it: names separated by commas."""
        value = self.value if isinstance(self.value, list) else [self.value]
        return ", ".join(v for v in value if isinstance(v, str))

    @property
    def simple_prompt(self) -> bool:
        value = self.value if isinstance(self.value, list) else [self.value]
        return all(isinstance(v, str) for v in value)


def node_fields(node: Mapping[str, Any], flow: str,
                issues: Sequence[dict[str, Any]]) -> list[FormField]:
    """The node's settings in the order the form shows them, each with its issues."""
    fields: list[FormField] = []
    by_field: dict[str | None, list[dict[str, Any]]] = {}
    by_item: dict[tuple[str | None, str | None], list[dict[str, Any]]] = {}
    for issue in issues:
        _, fname, item = split_issue_path(issue["path"], flow)
        if item is not None:
            by_item.setdefault((fname, item.split(".")[0]), []).append(issue)
        else:
            by_field.setdefault(fname, []).append(issue)

    def add(fname: str, control: str, value: Any) -> None:
        item_issues = {item: found for (f, item), found in by_item.items() if f == fname}
        fields.append(FormField(fname, control, value, by_field.get(fname, []), item_issues))

    kind = node.get("kind")
    order = ["options", *PROMPT_FIELDS, *TARGET_FIELDS, *NUMBER_FIELDS, *TEXT_FIELDS,
             *BOOL_FIELDS]
    present = [f for f in order if f in node] + [f for f in node if f not in order]
    if kind == "menu" and "escalate_to" not in present:
        present.append("escalate_to")
    if kind == "transfer" and "on_failure" not in present:
        present.append("on_failure")
    for fname in present:
        if fname == "kind":
            continue
        value = node.get(fname)
        if fname == "options" and isinstance(value, Mapping):
            add(fname, "options", {str(k): v for k, v in value.items()})
        elif fname in PROMPT_FIELDS:
            add(fname, "prompt", value)
        elif fname in TARGET_FIELDS:
            add(fname, "target", value)
        elif fname in NUMBER_FIELDS:
            add(fname, "number", value)
        elif fname in BOOL_FIELDS:
            add(fname, "bool", value)
        elif fname in TEXT_FIELDS:
            add(fname, "text", value)
        else:
            add(fname, "other", value)
    node_level = by_field.get(None, [])
    if node_level:
        fields.insert(0, FormField("", "note", None, node_level))
    return fields


def node_names(raw_flow: Mapping[str, Any], scope: str) -> list[str]:
    """The names a node in ``scope`` may point to (its own scope's nodes)."""
    if scope:
        sub = (raw_flow.get("subflows") or {}).get(scope) or {}
        nodes = sub.get("nodes") if isinstance(sub, Mapping) else None
        names = list(nodes) if isinstance(nodes, Mapping) else []
        return [*names, "return"]
    nodes = raw_flow.get("nodes")
    return list(nodes) if isinstance(nodes, Mapping) else []


def raw_node(raw_flow: Mapping[str, Any], qualified: str) -> Mapping[str, Any] | None:
    if ":" in qualified:
        scope, name = qualified.split(":", 1)
        sub = (raw_flow.get("subflows") or {}).get(scope) or {}
        nodes = sub.get("nodes") if isinstance(sub, Mapping) else None
    else:
        name, nodes = qualified, raw_flow.get("nodes")
    node = nodes.get(name) if isinstance(nodes, Mapping) else None
    return node if isinstance(node, Mapping) else None

