"""Configuration templates at the centre: shared parts of the document, versioned, assigned.

The centre's side (its own role; every change goes to ``centre_audit``):

    version = publish_template(conn, "bank-menus", text, note="new hours", who="alice")
    assign_template(conn, "bank-menus", ["sz-futian", "sz-nanshan"], who="alice")
    unassign_template(conn, "bank-menus", ["sz-nanshan"], who="alice")  # it keeps the parts
    overview = template_overview(conn)       # per template, each branch's result and overrides

The branch's side (its own role, central/schema.py v2; only its own assignments):

    for a in my_templates(conn): ...         # Assignment: the newest version of each
    report_template(conn, name, version, "refused", reason, overrides=("prompts",))

What a template may hold is config/document/templates.py (``PARTS``); the branch composes it
with its own parts and checks the result with its own checker (firmware/fleet/templates.py).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass

import psycopg

from branchline.central.errors import CentralInputError, map_pg_error
from branchline.config.document.templates import TemplateInvalid, parse_template

__all__ = ["Assignment", "BranchResult", "TemplateSummary", "assign_template", "my_templates",
           "publish_template", "report_template", "template_overview", "unassign_template"]

TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
OUTCOMES = ("applied", "refused")


@dataclass(frozen=True, slots=True)
class Assignment:
    """The newest version of a template assigned to the branch asking."""

    name: str
    version: int
    note: str
    body: str


@dataclass(frozen=True, slots=True)
class BranchResult:
    """What one branch did with a template: None outcome while it has not reported yet."""

    branch: str
    version: int | None
    outcome: str | None
    reason: str
    overrides: tuple[str, ...]
    at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class TemplateSummary:
    name: str
    version: int
    parts: tuple[str, ...]
    note: str
    who: str
    at: dt.datetime
    branches: tuple[BranchResult, ...]


def _check_name(name: str) -> None:
    if not TEMPLATE_NAME.match(name or ""):
        raise CentralInputError(
            f"centre: template name {name!r} is not valid; use 1-40 lower-case letters, "
            "digits, '-' and '_', starting with a letter or digit (like 'bank-menus')")


def publish_template(conn, name: str, text: str, *, note: str, who: str) -> int:
    """Store ``text`` as the next version of template ``name``; returns that version."""
    _check_name(name)
    if not note.strip():
        raise CentralInputError(f"centre: template {name}: give a note saying what changed")
    try:
        parts = parse_template(text)
    except TemplateInvalid as exc:
        raise CentralInputError(f"centre: {exc}") from None
    try:
        with conn.transaction():
            # Two publishes of one name at once would both take the same next number.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('template:' || %s::text))",
                         (name,))
            last = conn.execute("SELECT version, body FROM templates WHERE name = %s "
                                "ORDER BY version DESC LIMIT 1", (name,)).fetchone()
            version = last[0] + 1 if last else 1
            conn.execute("INSERT INTO templates (name, version, body, parts, note, who) "
                         "VALUES (%s, %s, %s, %s, %s, %s)",
                         (name, version, text, list(parts), note.strip(), who))
            diff = "".join(difflib.unified_diff(
                (last[1] if last else "").splitlines(keepends=True),
                text.splitlines(keepends=True), f"{name} v{version - 1}", f"{name} v{version}"))
            conn.execute("INSERT INTO centre_audit (who, what, diff) VALUES (%s, %s, %s)",
                         (who, f"published template {name} v{version} "
                               f"({', '.join(parts)}): {note.strip()}", diff))
    except psycopg.Error as exc:
        raise map_pg_error(exc, f"publishing template {name}") from exc
    return version


def _check_known(conn, name: str, branches: list[str], template_fix: str,
                 branch_fix: str) -> None:
    """Refuse an unknown template or branch, saying how to find or make the right one."""
    if not conn.execute("SELECT 1 FROM templates WHERE name = %s", (name,)).fetchone():
        raise CentralInputError(f"centre: no template {name}; {template_fix}")
    known = {r[0] for r in conn.execute("SELECT id FROM branches WHERE id = ANY(%s)",
                                        (list(branches),))}
    missing = sorted(set(branches) - known)
    if missing:
        raise CentralInputError(f"centre: no branch {', '.join(missing)}; {branch_fix}")


def assign_template(conn, name: str, branches: list[str], *, who: str) -> list[str]:
    """Assign template ``name`` to branches; returns those newly assigned."""
    _check_name(name)
    if not branches:
        raise CentralInputError(f"centre: template {name}: name one or more branches")
    try:
        with conn.transaction():
            _check_known(conn, name, branches,
                         "publish it first ('branchline central template publish')",
                         "add it with 'branchline central branch add'")
            added = [r[0] for r in conn.execute(
                "INSERT INTO template_assignments (branch, template, who) "
                "SELECT b, %s, %s FROM unnest(%s::text[]) AS b ON CONFLICT DO NOTHING "
                "RETURNING branch", (name, who, sorted(set(branches))))]
            if added:
                conn.execute("INSERT INTO centre_audit (who, what, diff) VALUES (%s, %s, '')",
                             (who, f"assigned template {name} to {', '.join(sorted(added))}"))
    except psycopg.Error as exc:
        raise map_pg_error(exc, f"assigning template {name}") from exc
    return sorted(added)


def unassign_template(conn, name: str, branches: list[str], *, who: str) -> list[str]:
    """Take template ``name`` back from branches; returns those that had it.

    The branch keeps its last composed version as its own (firmware/fleet/templates.py);
    its results for the template go with the assignment."""
    _check_name(name)
    if not branches:
        raise CentralInputError(f"centre: template {name}: name one or more branches")
    try:
        with conn.transaction():
            _check_known(conn, name, branches, "the templates are listed by GET /api/templates",
                         "the branches are listed by GET /api/branches")
            removed = sorted(r[0] for r in conn.execute(
                "DELETE FROM template_assignments WHERE template = %s AND branch = ANY(%s) "
                "RETURNING branch", (name, sorted(set(branches)))))
            if removed:
                conn.execute("INSERT INTO centre_audit (who, what, diff) VALUES (%s, %s, '')",
                             (who, f"unassigned template {name} from {', '.join(removed)}; "
                                   "they keep its parts as their own"))
    except psycopg.Error as exc:
        raise map_pg_error(exc, f"unassigning template {name}") from exc
    return removed


def template_overview(conn) -> list[TemplateSummary]:
    """Every template's newest version and each assigned branch's result, by name."""
    try:
        newest = conn.execute(
            "SELECT DISTINCT ON (name) name, version, parts, note, who, at FROM templates "
            "ORDER BY name, version DESC").fetchall()
        results = conn.execute(
            "SELECT a.template, a.branch, r.version, r.outcome, coalesce(r.reason, ''), "
            "coalesce(r.overrides, '{}'), r.at FROM template_assignments a "
            "LEFT JOIN template_results r USING (branch, template) "
            "ORDER BY a.template, a.branch").fetchall()
    except psycopg.Error as exc:
        raise map_pg_error(exc, "reading the templates") from exc
    by_template: dict[str, list[BranchResult]] = {}
    for template, branch, version, outcome, reason, overrides, at in results:
        by_template.setdefault(template, []).append(
            BranchResult(branch, version, outcome, reason, tuple(overrides), at))
    return [TemplateSummary(name, version, tuple(parts), note, who, at,
                            tuple(by_template.get(name, ())))
            for name, version, parts, note, who, at in newest]


def my_templates(conn) -> list[Assignment]:
    """The newest version of every template assigned to this branch (its login's)."""
    try:
        with conn.transaction():
            rows = conn.execute("SELECT name, version, note, body FROM my_templates()"
                                ).fetchall()
    except psycopg.Error as exc:
        raise map_pg_error(exc, "reading this branch's templates") from exc
    return [Assignment(*row) for row in rows]


def report_template(conn, name: str, version: int, outcome: str, reason: str = "", *,
                    overrides: tuple[str, ...] = ()) -> None:
    """Tell the centre what this branch did with a template version, and its overrides."""
    if outcome not in OUTCOMES:
        raise ValueError(f"report_template: outcome {outcome!r} is not one of "
                         f"{', '.join(OUTCOMES)}")
    try:
        with conn.transaction():
            conn.execute("SELECT report_template(%s, %s, %s, %s, %s)",
                         (name, version, outcome, reason, list(overrides)))
    except psycopg.Error as exc:
        raise map_pg_error(exc, f"reporting template {name} v{version}") from exc
