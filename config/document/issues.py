"""What is wrong with a configuration document, said so a person can act on it.

An :class:`Issue` has the dotted ``path`` of the field ("flows.bank.nodes.main_menu.options.1",
"acd.agents.2.station"; list items by index), ``message`` (what is wrong, with the value),
``fix`` (what would be right) and, when known, the ``line`` it is written on.
:class:`DocumentReport` collects every issue of a document, errors and warnings, plus each
flow's routes to a person. :class:`DocumentInvalid` carries a report out of ``load_document``.

``issues_from_pydantic`` is the one place pydantic's errors become ours: the location is turned
into a document path (a node's ``kind`` tag, which pydantic puts in the location, is dropped),
and the message is rewritten so no raw pydantic text or internal type name reaches the admin.

Every issue also names its message and fix by key with their parameters (``key``,
``fix_key``, ``params``; the English texts are in ``issue_texts`` and in the ivr and acd
tables), so the config page can say it in the admin's language. The keys take no part in
comparing issues.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from branchline.config.document.issue_texts import said
from branchline.ivr import PersonRoute

__all__ = ["DocumentInvalid", "DocumentReport", "Issue", "issue", "issues_from_pydantic", "keyed"]

_NODE_KINDS = {"menu", "collect", "play", "host", "switch", "schedule", "language", "queue",
               "message", "survey", "transfer", "hangup", "subflow"}
# Parts pydantic adds to a location for its own validators and unions, not fields.
_INTERNAL_LOC = re.compile(r"^[a-z-]+\[.*\]$|^(str|int|float|bool|list|dict|none)$")
# pydantic's bounds and types, as (fix key, the ctx entry that is its limit).
_BOUND_FIXES = {
    "greater_than": ("doc.fix.greater_than", "gt"),
    "greater_than_equal": ("doc.fix.greater_than_equal", "ge"),
    "less_than": ("doc.fix.less_than", "lt"),
    "less_than_equal": ("doc.fix.less_than_equal", "le"),
    "too_short": ("doc.fix.at_least_items", "min_length"),
    "too_long": ("doc.fix.at_most_items", "max_length"),
    "string_too_short": ("doc.fix.at_least_characters", "min_length"),
    "string_too_long": ("doc.fix.at_most_characters", "max_length"),
}
_TYPE_FIXES = {
    "int_parsing": "doc.fix.whole_number", "int_type": "doc.fix.whole_number",
    "int_from_float": "doc.fix.whole_number", "float_parsing": "doc.fix.number",
    "float_type": "doc.fix.number", "bool_parsing": "doc.fix.true_false",
    "bool_type": "doc.fix.true_false", "string_type": "doc.fix.text",
}


@dataclass(frozen=True, slots=True)
class Issue:
    path: str
    message: str
    fix: str
    line: int | None = None
    key: str = dataclasses.field(default="", compare=False)
    fix_key: str = dataclasses.field(default="", compare=False)
    params: Mapping[str, object] = dataclasses.field(default_factory=dict, compare=False)

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
    routes: Mapping[str, tuple[PersonRoute, ...]] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class DocumentInvalid(ValueError):
    """The configuration document has errors; ``report`` holds all of them."""

    def __init__(self, report: DocumentReport) -> None:
        self.report = report
        listed = "\n  ".join(str(issue) for issue in report.errors)
        super().__init__(f"configuration document: {len(report.errors)} error(s):\n  {listed}")


def issue(path: str, key: str, /, fix_key: str, **params: object) -> Issue:
    """The issue at ``path`` said by ``key`` and ``fix_key`` of ``issue_texts``."""
    return Issue(path, said(key, params), said(fix_key, params), None, key, fix_key, params)


def keyed(path: str, found: Any) -> Issue:
    """An issue from anything with ``message``/``fix`` and its keys (an ivr issue, a keyed
    ValueError of the ivr, acd or document models), kept at ``path``."""
    return Issue(path, getattr(found, "message", None) or found.problem, found.fix, None,
                 found.key, found.fix_key, found.params)


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


def _split_problem(text: str) -> tuple[str, str]:
    """Our validators write "what is wrong; what would be right"."""
    if "; " in text:
        problem, fix = text.split("; ", 1)
        return problem, fix
    return text, "correct the value"


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


def _spelling_fix(name: str, allowed: list[str], path: str) -> dict[str, object]:
    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        return {"fix_key": "doc.fix.did_you_mean", "close": close[0]}
    if allowed:
        return {"fix_key": "doc.fix.fields_here", "fields": ", ".join(allowed)}
    return {"fix_key": "doc.fix.remove_or_spell", "guide": _guide(path)}


def _value_errors(path: str, error: Any, msg: str) -> list[Issue]:
    """A model validator's ValueError: keyed by the ivr, acd or document models."""
    if hasattr(error, "problems"):  # an AcdConfig's cross-reference problems, each with a path
        return [keyed(_join(path, [p.path]), p) for p in error.problems]
    if hasattr(error, "key"):
        return [keyed(path, error)]
    problem, fix = _split_problem(msg.removeprefix("Value error, "))
    return [issue(path, "doc.value_error", "doc.fix.value_error", problem=problem, fix=fix)]


def _issue_of(err: Mapping[str, Any], path: str, root: Any) -> list[Issue]:
    kind, value = err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    name = path.rsplit(".", 1)[-1]
    kinds = ", ".join(sorted(_NODE_KINDS))
    if kind == "missing":
        return [issue(path, "doc.missing_field", "doc.fix.add_field", name=name,
                      guide=_guide(path))]
    if kind == "extra_forbidden":
        return [issue(path, "doc.unknown_field", name=name,
                      **_spelling_fix(name, _fields_at(root, err["loc"]), path))]
    if kind == "literal_error":
        return [issue(path, "doc.not_allowed_value", "doc.fix.use_one_of", value=repr(value),
                      expected=ctx.get("expected", ""))]
    if kind == "union_tag_invalid":
        tag = value.get("kind") if isinstance(value, dict) else value
        return [issue(path, "doc.unknown_kind", "doc.fix.set_kind", kind=repr(tag), kinds=kinds)]
    if kind == "union_tag_not_found":
        return [issue(path, "doc.no_kind", "doc.fix.add_kind", kinds=kinds)]
    if kind == "value_error":
        return _value_errors(path, ctx.get("error"), err["msg"])
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        if isinstance(value, list):
            return [issue(path, "doc.mapping_expected_list", "doc.fix.write_mapping")]
        return [issue(path, "doc.mapping_expected", "doc.fix.write_mapping", value=repr(value))]
    if kind == "string_type" and isinstance(value, int | float):
        return [issue(path, "doc.read_as_number", "doc.fix.quote_it", value=repr(value))]
    if kind in ("list_type", "tuple_type"):
        if isinstance(value, dict):
            return [issue(path, "doc.list_expected_mapping", "doc.fix.write_list")]
        return [issue(path, "doc.list_expected", "doc.fix.write_list", value=repr(value))]
    if kind == "string_pattern_mismatch":
        return [issue(path, "doc.pattern_mismatch", "doc.fix.match_pattern", value=repr(value),
                      pattern=ctx.get("pattern", ""))]
    if isinstance(value, dict | list):
        what = "doc.mapping_not_accepted" if isinstance(value, dict) else "doc.list_not_accepted"
        return [issue(path, what, "doc.fix.pydantic", should=_should(err["msg"]))]
    if kind in _BOUND_FIXES:
        fix_key, limit = _BOUND_FIXES[kind]
        return [issue(path, "doc.not_accepted", fix_key, value=repr(value),
                      limit=str(ctx.get(limit, "")))]
    if kind in _TYPE_FIXES:
        return [issue(path, "doc.not_accepted", _TYPE_FIXES[kind], value=repr(value))]
    if kind == "enum":
        return [issue(path, "doc.not_accepted", "doc.fix.enum", value=repr(value),
                      expected=ctx.get("expected", ""))]
    return [issue(path, "doc.not_accepted", "doc.fix.pydantic", value=repr(value),
                  should=_should(err["msg"]))]


def issues_from_pydantic(exc: ValidationError, prefix: str, root: Any = None) -> list[Issue]:
    """The errors of one pydantic validation of the section at ``prefix``, as issues;
    ``root`` is the type validated, used to name the fields an unknown one may mean."""
    issues = []
    for err in exc.errors(include_url=False):
        issues += _issue_of(err, _join(prefix, _clean_loc(err["loc"])), root)
    return issues
