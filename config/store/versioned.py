"""The versioned configuration store: every published version kept, drafts per user.

Layout under the data directory::

    config/versions/000001.yaml   the document exactly as published (never rewritten)
    config/versions/000001.json   its sidecar: who, when (UTC), note, parent, sha256
    config/current                "000007\\n": the version in force
    config/drafts/<user>.yaml     a user's draft; its first line records base and revision
    config/.lock                  flock'ed by every writer

The store is generic: it never parses YAML itself. The caller injects
``validate(text) -> (document, report)`` where ``report.errors`` and ``report.warnings`` are
sequences; a text with any error is refused (ConfigRefused) and the current version stays.

Theory of operation. Publishing N writes ``N.yaml`` then ``N.json``, each atomically
(``store_files.write_atomic``), then moves ``current``. The sidecar is the commit record: a
version exists exactly when its sidecar does, so a crash before the sidecar rename leaves no
visible version (a stray ``N.yaml`` without a sidecar is ignored and replaced by the next
publish). A crash after it but before ``current`` moved is rolled forward by ``recover()``
(run by ``initialise`` at start-up and by every publish): the version was validated and
committed, only the pointer lagged. So ``current`` always ends up naming the newest version.

Rollback publishes a copy of an old version as a new one with the note "rollback to N":
history stays append-only and reads as what happened, and ``current`` only ever moves forward.

Concurrency: publishes and draft saves hold an exclusive flock on ``config/.lock`` while they
check and write, so two processes (or threads) cannot interleave. Edits carry the version they
started from (``base``); if another publish happened since, the edit is refused with a
ConfigConflict naming who published what and when, so no admin silently overwrites another.
Drafts also carry a revision, so the same user saving from two windows is caught too.

Errors are those of ``store_errors`` (the tree is in its docstring); OSErrors are mapped there.
"""

import contextlib
import datetime
import difflib
import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from branchline.config.data_dir import DataDir
from branchline.config.store.errors import (
    BadUserName,
    ConfigConflict,
    ConfigRefused,
    ConfigStoreCorrupt,
    ConfigStoreError,
    ConfigStoreUnavailable,
    NoSuchDraft,
    NoSuchVersion,
    map_os_error,
)
from branchline.config.store.files import (
    fsync_dir,
    locked,
    remove_durably,
    remove_stale_temporaries,
    write_atomic,
)

__all__ = [
    "BadUserName",
    "ConfigConflict",
    "ConfigRefused",
    "ConfigStore",
    "ConfigStoreCorrupt",
    "ConfigStoreError",
    "ConfigStoreUnavailable",
    "Draft",
    "NoSuchDraft",
    "NoSuchVersion",
    "Published",
    "ValidationReport",
    "Version",
    "VersionInfo",
]

_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_DRAFT_HEADER = re.compile(
    r"# branchline draft: base=(?P<base>\d+|none) revision=(?P<revision>\d+) "
    r"saved=(?P<saved>\S+)\n"
)
_SIDECAR_FORMAT = 1


class ValidationReport(Protocol):
    """What the injected validator reports; only ``errors`` block publishing."""

    errors: Sequence[Any]
    warnings: Sequence[Any]


Validate = Callable[[str], tuple[Any, ValidationReport]]


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """The sidecar of one published version. ``at`` is ISO 8601 UTC."""

    number: int
    who: str
    at: str
    note: str
    parent: int | None
    sha256: str


@dataclass(frozen=True, slots=True)
class Version:
    info: VersionInfo
    text: str


@dataclass(frozen=True, slots=True)
class Draft:
    """A user's work in progress: ``base`` is the version it started from (None before the
    first publish), ``revision`` counts its saves (0: never saved)."""

    user: str
    base: int | None
    revision: int
    text: str
    saved_at: str | None = None


@dataclass(frozen=True, slots=True)
class Published:
    """The result of a publish: the new version, the validated document, the warnings."""

    info: VersionInfo
    document: Any
    warnings: tuple[Any, ...]


def _utc_now():
    return datetime.datetime.now(datetime.UTC)


class ConfigStore:
    """The store of a data directory (``DataDir.config``); ``clock()`` returns an aware UTC
    datetime. Commands open it with ``config.document.loading.open_config_store``."""

    def __init__(self, data_dir: DataDir | str | os.PathLike[str], validate: Validate, *,
                 clock=_utc_now, root: os.PathLike[str] | None = None):
        # ``root``: another versioned document kept the same way (DataDir.rosters).
        self.root = DataDir.of(data_dir).config if root is None else Path(root)
        self.validate = validate
        self.clock = clock
        self._versions = self.root / "versions"
        self._drafts = self.root / "drafts"
        self._current = self.root / "current"
        self._lock = self.root / ".lock"
        try:
            if not self._versions.is_dir() or not self._drafts.is_dir():
                self._versions.mkdir(parents=True, exist_ok=True)
                self._drafts.mkdir(exist_ok=True)
                # The new directories' names must be durable before anything is put in them.
                fsync_dir(self.root)
                fsync_dir(self.root.parent)
        except OSError as exc:
            raise map_os_error(exc, self.root, "creating") from exc

    # -- start-up --------------------------------------------------------------------------

    def initialise(self, default_text, *, who="branchline") -> Published | None:
        """Recover from an interrupted publish; on first run publish ``default_text`` as v1.

        Returns the first version's Published on first run, else None. A bundled default that
        does not validate is refused like any other text (ConfigRefused).
        """
        if not self._numbers():
            try:
                return self._publish(default_text, who=who,
                                     note="first run: the bundled default", base=None)
            except ConfigConflict:
                pass  # another process published first; its version stands
        self.recover()
        return None

    def recover(self):
        """Finish an interrupted publish: point ``current`` at the newest committed version."""
        with locked(self._lock):
            self._recover_locked()

    def _recover_locked(self):
        remove_stale_temporaries(self._versions)
        remove_stale_temporaries(self._drafts)
        remove_stale_temporaries(self.root)
        numbers = self._numbers()
        if numbers and self.current_number() != numbers[-1]:
            write_atomic(self._current, f"{numbers[-1]:06d}\n".encode())

    # -- reading ---------------------------------------------------------------------------

    def current_number(self) -> int | None:
        """The version in force, or None before the first publish."""
        try:
            text = self._current.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise map_os_error(exc, self._current, "reading") from exc
        if not re.fullmatch(r"\d+\n", text):
            raise ConfigStoreCorrupt(
                f"config store: {self._current} holds {text[:40]!r}, not a version number; "
                "write the number of the version to use (see `history`) into it"
            )
        return int(text)

    def current(self) -> Version | None:
        """The version in force, or None before the first publish."""
        number = self.current_number()
        return None if number is None else self.get(number)

    def history(self) -> list[VersionInfo]:
        """Every published version, oldest first."""
        return [self._info(n) for n in self._numbers()]

    def get(self, number) -> Version:
        """One published version; its text is checked against the recorded sha256."""
        info = self._info(number)
        path = self._versions / f"{number:06d}.yaml"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ConfigStoreCorrupt(
                f"config store: version {number} has a sidecar but no {path.name}; restore "
                "the file from a backup"
            ) from None
        except OSError as exc:
            raise map_os_error(exc, path, "reading") from exc
        if hashlib.sha256(data).hexdigest() != info.sha256:
            raise ConfigStoreCorrupt(
                f"config store: {path} does not match the sha256 recorded when version "
                f"{number} was published; the file was edited or damaged, restore it from a "
                "backup (published versions are never rewritten)"
            )
        return Version(info, data.decode())

    def diff(self, a, b) -> str:
        """Unified diff from version ``a`` to version ``b`` of the YAML text."""
        return _diff(self.get(a).text, self.get(b).text, f"version {a}", f"version {b}")

    def _numbers(self):
        try:
            names = [p.name for p in self._versions.glob("*.json")]
        except OSError as exc:
            raise map_os_error(exc, self._versions, "listing") from exc
        return sorted(int(name[:-5]) for name in names if name[:-5].isdigit())

    def _info(self, number):
        path = self._versions / f"{number:06d}.json"
        try:
            meta = json.loads(path.read_text())
            info = VersionInfo(number=meta["version"], who=meta["who"], at=meta["at"],
                               note=meta["note"], parent=meta["parent"], sha256=meta["sha256"])
        except FileNotFoundError:
            raise NoSuchVersion(
                f"config store: there is no version {number}; published versions are "
                f"{_span(self._numbers())}"
            ) from None
        except OSError as exc:
            raise map_os_error(exc, path, "reading") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigStoreCorrupt(
                f"config store: sidecar {path} is damaged ({exc!r}); restore it from a backup"
            ) from exc
        if info.number != number:
            raise ConfigStoreCorrupt(
                f"config store: sidecar {path} says it is version {info.number}; "
                "restore it from a backup"
            )
        return info

    # -- drafts ----------------------------------------------------------------------------

    def draft(self, user) -> Draft:
        """The user's saved draft, or a new one (revision 0) holding the current text."""
        try:
            return self._read_draft(user)
        except NoSuchDraft:
            current = self.current()
            return Draft(user=user, base=current and current.info.number, revision=0,
                         text=current.text if current else "")

    def drafts(self) -> list[Draft]:
        """Every saved draft, by user name (the page shows who else is editing, from what)."""
        users = sorted(p.stem for p in self._drafts.glob("*.yaml") if _USER.fullmatch(p.stem))
        return [self._read_draft(user) for user in users]

    def save_draft(self, user, text, *, base, revision) -> Draft:
        """Save the user's draft; returns it with its new revision.

        ``base`` is the published version the edit started from, ``revision`` the draft
        revision it was loaded at (0 for a new draft). Refused with ConfigConflict when
        another version was published since ``base`` or the draft was saved again since
        ``revision``. To carry on after a publish, look at the diff and save with the new
        base: saying the new base is the explicit "I have merged their change".
        """
        path = self._draft_path(user)
        with locked(self._lock):
            self._check_base(base, f"saving {user}'s draft")
            try:
                existing = self._read_draft(user).revision
            except NoSuchDraft:
                existing = 0
            if revision != existing:
                raise ConfigConflict(
                    f"config store: {user}'s draft is at revision {existing}, but this edit "
                    f"was loaded at revision {revision} (saved again from another window?); "
                    "reload the draft and apply your change to it"
                )
            saved = _iso(self.clock())
            header = f"# branchline draft: base={_num(base)} revision={existing + 1} " \
                     f"saved={saved}\n"
            write_atomic(path, (header + text).encode())
        return Draft(user=user, base=base, revision=existing + 1, text=text, saved_at=saved)

    def check_draft(self, user) -> ValidationReport:
        """Validate the user's saved draft; returns the report (nothing is published)."""
        return self.validate(self._read_draft(user).text)[1]

    def diff_draft(self, user) -> str:
        """Unified diff from the draft's base version to the draft."""
        draft = self._read_draft(user)
        before = self.get(draft.base).text if draft.base is not None else ""
        return _diff(before, draft.text, f"version {_num(draft.base)}", f"draft of {user}")

    def discard_draft(self, user):
        remove_durably(self._draft_path(user))

    def publish_draft(self, user, *, note, revision=None) -> Published:
        """Publish the user's saved draft as the next version, then discard the draft.

        With ``revision``, refused with ConfigConflict unless the draft is still at that
        revision when the version is written (checked under the store lock): a save from
        another window between looking at the draft and publishing it is never published
        unseen.
        """
        draft = self._read_draft(user)
        wanted = draft.revision if revision is None else revision

        def unchanged():
            now = self._read_draft(user).revision
            if now != wanted:
                raise ConfigConflict(
                    f"config store: {user}'s draft is at revision {now}, not revision "
                    f"{wanted} as this publish says (saved again from another window?); "
                    "reload it, check it, and publish again"
                )

        published = self._publish(draft.text, who=user, note=note, base=draft.base,
                                  still=unchanged)
        # A save from another window after we read the draft is newer work: keep it.
        with locked(self._lock), contextlib.suppress(NoSuchDraft):
            if self._read_draft(user).revision == draft.revision:
                remove_durably(self._draft_path(user))
        return published

    def _draft_path(self, user):
        if not isinstance(user, str) or not _USER.fullmatch(user):
            raise BadUserName(
                f"config store: user name {user!r} cannot name a draft; use 1 to 64 letters, "
                "digits, '_', '.' or '-', not starting with '.' or '-'"
            )
        return self._drafts / f"{user}.yaml"

    def _read_draft(self, user):
        path = self._draft_path(user)
        try:
            raw = path.read_text()
        except FileNotFoundError:
            raise NoSuchDraft(f"config store: {user} has no saved draft") from None
        except OSError as exc:
            raise map_os_error(exc, path, "reading") from exc
        header = _DRAFT_HEADER.match(raw)
        if header is None:
            raise ConfigStoreCorrupt(
                f"config store: draft {path} lost its first line (base and revision); "
                "discard the draft and start again from the current version"
            )
        base = None if header["base"] == "none" else int(header["base"])
        return Draft(user=user, base=base, revision=int(header["revision"]),
                     text=raw[header.end():], saved_at=header["saved"])

    # -- publishing ------------------------------------------------------------------------

    def publish(self, text, *, who, note, base) -> Published:
        """Validate ``text`` and publish it as the next version; it takes effect at once.

        ``base`` is the version the text was edited from (None only before the first
        publish). Refused, changing nothing, with ConfigRefused if validation finds errors
        and with ConfigConflict if another version was published since ``base``.
        """
        return self._publish(text, who=who, note=note, base=base)

    def rollback(self, to, *, who, note="") -> Published:
        """Publish a copy of version ``to`` as a new version noted "rollback to N"."""
        old = self.get(to)
        with locked(self._lock):
            base = self.current_number()
        why = f"rollback to {to}" + (f": {note}" if note else "")
        return self._publish(old.text, who=who, note=why, base=base)

    def _publish(self, text, *, who, note, base, still=None):
        if not isinstance(text, str):
            raise TypeError(f"config store: publish takes the YAML text, not {type(text)}")
        document, report = self.validate(text)
        if report.errors:
            listed = "\n  ".join(str(e) for e in report.errors)
            raise ConfigRefused(
                f"config store: not published, {len(report.errors)} error(s); the current "
                f"version {_num(self.current_number())} stays in force:\n  {listed}",
                report,
            )
        data = text.encode()
        with locked(self._lock):
            self._recover_locked()
            self._check_base(base, f"publishing for {who}")
            if still is not None:
                still()
            numbers = self._numbers()
            number = numbers[-1] + 1 if numbers else 1
            info = VersionInfo(number=number, who=who, at=_iso(self.clock()), note=note,
                               parent=numbers[-1] if numbers else None,
                               sha256=hashlib.sha256(data).hexdigest())
            sidecar = {"format": _SIDECAR_FORMAT, "version": info.number, "who": info.who,
                       "at": info.at, "note": info.note, "parent": info.parent,
                       "sha256": info.sha256}
            write_atomic(self._versions / f"{number:06d}.yaml", data)
            # The sidecar's rename is the commit point (see the module docstring).
            write_atomic(self._versions / f"{number:06d}.json",
                         (json.dumps(sidecar, ensure_ascii=False, indent=1) + "\n").encode())
            write_atomic(self._current, f"{number:06d}\n".encode())
        return Published(info=info, document=document, warnings=tuple(report.warnings))

    def _check_base(self, base, doing):
        current = self.current_number()
        if base == current:
            return
        if current is None:
            raise ConfigConflict(
                f"config store: {doing}: the edit says it started from version {base}, but "
                "nothing is published yet; start from an empty base (None)"
            )
        info = self._info(current)
        raise ConfigConflict(
            f"config store: {doing}: version {current} was published by {info.who} at "
            f"{info.at} ({info.note!r}) after you started from version {_num(base)}; "
            f"look at the diff from {_num(base)} to {current}, apply your change on top of "
            f"version {current} and save again with base {current}"
        )


def _diff(a, b, a_name, b_name):
    return "".join(difflib.unified_diff(
        a.splitlines(keepends=True), b.splitlines(keepends=True), a_name, b_name))


def _iso(moment):
    if moment.tzinfo is None:
        raise ValueError("config store: the clock must return an aware UTC datetime")
    moment = moment.astimezone(datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _num(number):
    return "none" if number is None else str(number)


def _span(numbers):
    return f"1 to {numbers[-1]}" if numbers else "none yet"

