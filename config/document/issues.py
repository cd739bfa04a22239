"""What is wrong with a configuration document, said so a person can act on it.

An :class:`Issue` has the dotted ``path`` of the field ("flows.bank.nodes.main_menu.options.1",
"acd.agents.2.station"; list items by index), ``message`` (what is wrong, with the value),
``fix`` (what would be right) and, when known, the ``line`` it is written on.
:class:`DocumentReport` collects every issue of a document, errors and warnings, plus each
flow's routes to a person. :class:`DocumentInvalid` carries a report out of ``load_document``.

``issues_from_pydantic`` is the one place pydantic's errors become ours: the location is turned
into a document path (a node's ``kind`` tag, which pydantic puts in the location, is dropped),
and the message is rewritten so no raw pydantic text or internal type name reaches the admin.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from branchline.ivr import PersonRoute

__all__ = ["DocumentInvalid", "DocumentReport", "Issue", "issues_from_pydantic"]

_NODE_KINDS = {"menu", "collect", "play", "host", "switch", "schedule", "language", "queue",
               "message", "survey", "transfer", "hangup", "subflow"}
# Parts pydantic adds to a location for its own validators and unions, not fields.
_INTERNAL_LOC = re.compile(r"^[a-z-]+\[.*\]$|^(str|int|float|bool|list|dict|none)$")
# AcdConfig joins its cross-reference problems with "; " and each names its own path.
_ACD_PROBLEM = re.compile(r"(?:^|; )((?:queues|agents)\[\d+\](?:\.\w+(?:\[\d+\])?)*): ")


@dataclass(frozen=True, slots=True)
class Issue:
    path: str
    message: str
    fix: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path or "<document>"
        if self.line is not None:
            where += f" (line {self.line})"
        return f"{where}: {self.message}; {self.fix}"


@dataclass(frozen=True, slots=True)
class DocumentReport:
    """Every issue of a document; ``routes[flow]`` are the flow's quickest ways to a person."""

    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]
    routes: Mapping[str, tuple[PersonRoute, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class DocumentInvalid(ValueError):
    """The configuration document has errors; ``report`` holds all of them."""

    def __init__(self, report: DocumentReport) -> None:
        self.report = report
        listed = "\n  ".join(str(issue) for issue in report.errors)
        super().__init__(f"configuration document: {len(report.errors)} error(s):\n  {listed}")


def _join(prefix: str, parts: Iterable[Any]) -> str:
    return ".".join([p for p in [prefix, *map(str, parts)] if p != ""])


def _clean_loc(loc: tuple[Any, ...]) -> list[str]:
    parts = [str(p) for p in loc]
    out: list[str] = []
    for i, part in enumerate(parts):
        if _INTERNAL_LOC.match(part):
            continue
        if part in _NODE_KINDS and i >= 2 and parts[i - 2] == "nodes":
            continue
        out.append(part)
    return out


def _acd_path(text: str) -> str:
    return re.sub(r"\[(\d+)\]", r".\1", text)


def _split_problem(text: str) -> tuple[str, str]:
    """Our validators write "what is wrong; what would be right"."""
    if "; " in text:
        problem, fix = text.split("; ", 1)
        return problem, fix
    return text, "correct the value"


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _should(msg: str) -> str:
    return re.sub(r"^Input should be ", "it should be ", msg)


def _unwrap(kind: Any) -> Any:
    """Strip Annotated and Optional from a type."""
    while True:
        origin = get_origin(kind)
        if origin is Annotated:
            kind = get_args(kind)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(kind) if a is not type(None)]
            if len(members) != 1:
                return kind
            kind = members[0]
        else:
            return kind


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _step(kind: Any, part: Any) -> Any:
    """The type found at ``part`` (a field, key, index or union tag) inside ``kind``."""
    kind = _unwrap(kind)
    origin = get_origin(kind)
    if _is_model(kind):
        for name, info in kind.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    if origin is dict:
        return get_args(kind)[1]
    if origin in (list, tuple):
        return get_args(kind)[0]
    if origin in (Union, types.UnionType):
        for member in get_args(kind):
            tag = member.model_fields.get("kind") if _is_model(member) else None
            if tag is not None and get_origin(tag.annotation) is Literal \
                    and part in get_args(tag.annotation):
                return member
    return None


def _fields_at(root: Any, loc: tuple[Any, ...]) -> list[str]:
    """The field names the model holding ``loc``'s last part accepts ([] if unknown)."""
    kind = root
    for part in loc[:-1]:
        kind = _step(kind, part)
        if kind is None:
            return []
    kind = _unwrap(kind)
    if not _is_model(kind):
        return []
    return [info.alias or name for name, info in kind.model_fields.items()]


def _guide(path: str) -> str:
    """The page that lists the fields at ``path``."""
    section = path.split(".", 1)[0]
    return {"flows": "docs/ivr.md", "acd": "docs/acd.md"}.get(section,
                                                              "docs/configuration.md")


def _spelling_fix(name: str, allowed: list[str], path: str) -> str:
    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    if allowed:
        return "remove it; the fields here are " + ", ".join(allowed)
    return f"remove it or correct its spelling ({_guide(path)} lists the fields)"


def issues_from_pydantic(exc: ValidationError, prefix: str, root: Any = None) -> list[Issue]:
    """The errors of one pydantic validation of the section at ``prefix``, as issues;
    ``root`` is the type validated, used to name the fields an unknown one may mean."""
    issues = []
    for err in exc.errors(include_url=False):
        path = _join(prefix, _clean_loc(err["loc"]))
        kind, msg, value = err["type"], err["msg"], err.get("input")
        field_name = path.rsplit(".", 1)[-1]
        if kind == "missing":
            issues.append(Issue(path, f"required field {field_name!r} is missing",
                                f"add {field_name} ({_guide(path)} lists the fields)"))
        elif kind == "extra_forbidden":
            issues.append(Issue(path, f"unknown field {field_name!r}",
                                _spelling_fix(field_name, _fields_at(root, err["loc"]), path)))
        elif kind == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            issues.append(Issue(path, f"{value!r} is not one of the allowed values",
                                f"use one of {expected}"))
        elif kind == "union_tag_invalid":
            issues.append(Issue(path, f"unknown kind {value!r}" if not isinstance(value, dict)
                                else f"unknown kind {value.get('kind')!r}",
                                "set kind to one of " + ", ".join(sorted(_NODE_KINDS))))
        elif kind == "union_tag_not_found":
            issues.append(Issue(path, "the node has no 'kind'",
                                "add kind: one of " + ", ".join(sorted(_NODE_KINDS))))
        elif kind == "value_error":
            text = msg.removeprefix("Value error, ")
            found = list(_ACD_PROBLEM.finditer(text))
            if found:
                for i, match in enumerate(found):
                    end = found[i + 1].start() if i + 1 < len(found) else len(text)
                    problem, fix = _split_problem(text[match.end():end])
                    issues.append(Issue(_join(path, [_acd_path(match.group(1))]), problem, fix))
            else:
                problem, fix = _split_problem(text)
                issues.append(Issue(path, problem, fix))
        elif kind in ("model_type", "dict_type", "model_attributes_type"):
            issues.append(Issue(path, f"expected a mapping of fields here, found "
                                f"{_describe(value)}", "write it as 'field: value' lines "
                                "indented under it, or {field: value, ...}"))
        elif kind == "string_type" and isinstance(value, int | float):
            issues.append(Issue(path, f"{value!r} was read as a number, not as text",
                                "put it in quotes: YAML drops leading zeros and reads digits "
                                "after a 0 as octal"))
        elif kind in ("list_type", "tuple_type"):
            issues.append(Issue(path, f"expected a list here, found {_describe(value)}",
                                "write it as [a, b] or as '- item' lines"))
        elif kind == "string_pattern_mismatch":
            pattern = err.get("ctx", {}).get("pattern", "")
            issues.append(Issue(path, f"{value!r} does not have the expected form",
                                f"write it to match the pattern {pattern}"))
        elif isinstance(value, dict | list):
            issues.append(Issue(path, f"{_describe(value)} is not accepted here",
                                _should(msg)))
        else:
            issues.append(Issue(path, f"{value!r} is not accepted", _should(msg)))
    return issues
