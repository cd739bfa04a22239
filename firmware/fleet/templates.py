"""Templates from the centre: pulled, composed with the branch's own parts, checked, published.

    puller = TemplatePuller(data, wall=time.time)
    puller.pull(conn)       # in the fleet-shipper thread, logged in as this branch's role

Theory of operation. ``my_templates`` (central/templates.py) gives the newest version of each
template assigned to this branch, and nothing of any other branch. A version not seen before
is composed, together with the other templates this branch has applied (names in order; a
later name's part wins), into the version in force (config/document/templates.py), checked by
the store's own checker (``check_document``) and published as a new local version noted
``template NAME vN: note``. If the result has errors the version is refused: nothing is
published, the version in force stays, and the reason goes to the centre. Either way the
result is audited in records.db and reported once (``report_template``).

Local overrides are recorded, not refused: ``DATA/fleet/templates.json`` keeps the bodies of
the applied versions and a fingerprint of each part as published. A part an admin has changed
since is an override: later template versions leave it as the admin left it, the note says
so, and the centre lists it, until the part is again what the templates give.

Unassigned at the centre, a template is dropped from ``templates.json``: nothing is published,
the version in force keeps what the template gave as the branch's own (no longer followed,
never an override); the audit log says so. Assigned again, it is applied afresh.

Offline, ``pull`` raises CentralUnavailable before changing anything; the shipper retries, and
the store keeps its last good version meanwhile. A crash between publishing and saving the
state is harmless: the next pull composes the same text and publishes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from branchline.config.data_dir import DataDir
from branchline.config.document.loading import open_config_store
from branchline.config.document.templates import (
    TemplateInvalid,
    compose,
    parse_template,
    part_digests,
)
from branchline.config.document.yaml_text import parse_yaml
from branchline.config.store.errors import ConfigConflict, ConfigRefused
from branchline.firmware.fleet.settings import _write_private
from branchline.firmware.records.database import Records
from branchline.firmware.records.types import AuditEntry

if TYPE_CHECKING:
    from branchline.central.templates import Assignment

__all__ = ["WHO", "TemplatePuller"]

log = logging.getLogger("branchline.fleet")

WHO = "centre"
_REASON_CHARS = 2000


class TemplatePuller:
    def __init__(self, data: DataDir, *, wall: Callable[[], float] = time.time):
        self.data = data
        self.wall = wall

    # -- state -----------------------------------------------------------------------------

    def _load(self) -> dict:
        path = self.data.fleet_templates
        if not path.exists():
            return {"templates": {}, "digests": {}}
        return json.loads(path.read_text())

    def _save(self, state: dict) -> None:
        self.data.fleet.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(self.data.fleet_templates,
                       json.dumps(state, ensure_ascii=False, indent=1).encode())

    @staticmethod
    def _merged(state: dict, extra: Assignment | None = None) -> tuple[dict, dict]:
        """The parts every applied template gives (with ``extra``'s body), and their owners."""
        bodies = {name: t["body"] for name, t in state["templates"].items() if t.get("body")}
        if extra is not None:
            bodies[extra.name] = extra.body
        parts, owners = {}, {}
        for name in sorted(bodies):
            for part, value in parse_template(bodies[name]).items():
                parts[part], owners[part] = value, name
        return parts, owners

    @staticmethod
    def _overridden(state: dict, text: str, parts: dict) -> set[str]:
        """Parts changed locally since published that differ from what the templates give."""
        now = part_digests(parse_yaml(text).data)
        given = part_digests(parse_yaml(compose(text, parts)).data)
        return {p for p in parts
                if now[p] != state["digests"].get(p, now[p]) and now[p] != given[p]}

    # -- one round -------------------------------------------------------------------------

    def pull(self, conn) -> None:
        """Apply what is new at the centre, then report what the centre has not heard."""
        from branchline.central.templates import my_templates, report_template  # psycopg

        assignments = my_templates(conn)
        state = self._load()
        for name in sorted(set(state["templates"]) - {a.name for a in assignments}):
            self._unassigned(state, name)
        store = open_config_store(self.data)
        for assignment in assignments:
            seen = state["templates"].get(assignment.name)
            if seen is None or seen["version"] != assignment.version:
                self._apply(store, state, assignment)
        current = store.current()
        parts, owners = self._merged(state)
        overridden = self._overridden(state, current.text, parts)
        for assignment in assignments:
            entry = state["templates"].get(assignment.name)
            if entry is None:
                continue
            mine = sorted(p for p in overridden if owners[p] == assignment.name)
            said = [entry["version"], entry["outcome"], entry["reason"], mine]
            if entry.get("reported") != said:
                report_template(conn, assignment.name, *said[:3], overrides=tuple(mine))
                entry["reported"] = said
                self._save(state)

    def _apply(self, store, state: dict, a: Assignment) -> None:
        current = store.current()
        try:
            parts, _owners = self._merged(state, a)
        except TemplateInvalid as exc:
            self._refused(state, a, str(exc))
            return
        keep = self._overridden(state, current.text, parts)
        text = compose(current.text, parts, keep=keep)
        note = f"template {a.name} v{a.version}: {a.note}" + (
            f" (local override kept: {', '.join(sorted(keep))})" if keep else "")
        base = number = current.info.number
        if text != current.text:
            try:
                number = store.publish(text, who=WHO, note=note, base=base).info.number
            except ConfigRefused as exc:
                self._refused(state, a, "; ".join(str(i) for i in exc.report.errors))
                return
            except ConfigConflict:
                log.info("template %s v%s: an admin published meanwhile; trying again next "
                         "round", a.name, a.version)
                return
        digests = part_digests(parse_yaml(text).data)
        state["digests"] = {p: digests[p] for p in parts if p not in keep} | {
            p: d for p, d in state["digests"].items() if p in keep}
        state["templates"][a.name] = {"version": a.version, "outcome": "applied", "reason": "",
                                      "body": a.body,
                                      "reported": state["templates"].get(a.name, {})
                                      .get("reported")}
        self._save(state)
        what = (f"applied template {a.name} v{a.version} from the centre as configuration "
                f"version {number}" + (f"; local override kept: {', '.join(sorted(keep))}"
                                       if keep else ""))
        self._audit(what, store.diff(base, number) if number != base else "")
        log.info("%s", what)

    def _unassigned(self, state: dict, name: str) -> None:
        """The centre took ``name`` back: the version in force stays, and the parts it gave
        are this branch's own from now on (no longer followed, never overrides)."""
        entry = state["templates"].pop(name)
        given, _owners = self._merged(state)
        state["digests"] = {p: d for p, d in state["digests"].items() if p in given}
        self._save(state)
        what = (f"template {name} (last v{entry['version']}, {entry['outcome']}) unassigned by "
                "the centre; the configuration in force keeps its parts as this branch's own")
        self._audit(what, "")
        log.info("%s", what)

    def _refused(self, state: dict, a: Assignment, reason: str) -> None:
        reason = reason[:_REASON_CHARS]
        previous = state["templates"].get(a.name, {})
        state["templates"][a.name] = {"version": a.version, "outcome": "refused",
                                      "reason": reason, "body": previous.get("body"),
                                      "reported": previous.get("reported")}
        self._save(state)
        what = f"refused template {a.name} v{a.version} from the centre: {reason}"
        self._audit(what, "")
        log.warning("%s", what)

    def _audit(self, what: str, diff: str) -> None:
        with Records(self.data.records_db) as records:
            records.add_audit(AuditEntry(self.wall(), WHO, what, diff))
