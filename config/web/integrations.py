"""CTI integrations: the bank's systems that read the event stream or take webhooks.

    integrations = Integrations(DataDir(data).integrations_db)
    issued = integrations.issue("crm", ["queue:general"], webhook_url=None, who="admin")
    issued.token            # shown once: "blt_..." (only its SHA-256 is kept)
    integrations.check(token)  -> Integration (None: unknown or revoked)
    integrations.revoke("crm", who="admin")

An integration has a name, scopes and optionally a webhook URL with its own signing secret
(32 random bytes, shown once at issue and kept, since every delivery is signed with it). A
scope is ``all`` (every agent and queue), ``agent:<id>`` or ``queue:<name>``; ``covers``
decides whether scopes cover one event (a queue's scope covers its calls and its members'
state changes). Revoking keeps the row (the audit names it) and ends the token at once:
open streams close at their next check, within a second.

Like the web accounts, integrations are not in the configuration document (a rollback must
never bring a revoked token back), so they live in their own SQLite file under ``web/``.
Errors: ``IntegrationInvalid`` (a name, scope or URL the rules refuse; says what would be
right), ``NoSuchIntegration``, ``IntegrationExists``; SQLite's errors become
``accounts.AccountsUnavailable`` with the remedy.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from branchline.config.web.accounts import AccountsUnavailable

__all__ = ["Integration", "IntegrationExists", "IntegrationInvalid", "Integrations", "Issued",
           "NoSuchIntegration", "covers"]

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")
_SCOPE = re.compile(r"all|agent:[A-Za-z0-9_.-]{1,64}|queue:[a-z0-9][a-z0-9_.-]{0,63}")
_URL = re.compile(r"https?://[^\s/?#]+(/[^\s]*)?")
TOKEN_PREFIX = "blt_"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS integrations (
    name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL,
    webhook_url TEXT, webhook_secret BLOB, created REAL NOT NULL, created_by TEXT NOT NULL,
    revoked REAL, revoked_by TEXT);
"""


class IntegrationInvalid(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class NoSuchIntegration(LookupError):
    pass


class IntegrationExists(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Integration:
    name: str
    scopes: tuple[str, ...]
    webhook_url: str | None
    created: float
    created_by: str
    revoked: float | None

    def public(self) -> dict:
        return {"name": self.name, "scopes": list(self.scopes), "webhook_url": self.webhook_url,
                "created": self.created, "created_by": self.created_by,
                "revoked": self.revoked}


@dataclass(frozen=True, slots=True)
class Issued:
    integration: Integration
    token: str
    webhook_secret: str | None  # hex


def covers(scopes: Iterable[str], agent: str | None, queue: str | None,
           agent_queues: Mapping[str, Iterable[str]]) -> bool:
    """Whether ``scopes`` cover an event of ``agent`` and ``queue`` (either may be None);
    ``agent_queues`` maps each agent to the queues it serves."""
    for scope in scopes:
        if scope == "all":
            return True
        kind, _, name = scope.partition(":")
        if kind == "agent" and agent == name:
            return True
        if kind == "queue" and (queue == name or (
                queue is None and agent is not None and name in agent_queues.get(agent, ()))):
            return True
    return False


class Integrations:
    """See the module docstring; safe to share between threads."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            self.path.chmod(0o600)
        except (OSError, sqlite3.Error) as exc:
            raise AccountsUnavailable(
                f"cannot open the integrations database {self.path} ({exc}); check that the "
                "data directory is writable by the appliance") from exc

    def _run(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as exc:
                raise AccountsUnavailable(
                    f"the integrations database {self.path} failed ({exc}); check the disk "
                    "(space, permissions) and restart the appliance") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def issue(self, name: str, scopes: Iterable[str], *, webhook_url: str | None,
              who: str) -> Issued:
        scopes = tuple(dict.fromkeys(scopes))
        if not _NAME.fullmatch(name or ""):
            raise IntegrationInvalid(f"integration name {name!r} is not allowed; use 1 to 40 "
                                     "lower-case letters, digits, '_', '.' or '-', like crm",
                                     "name")
        if not scopes:
            raise IntegrationInvalid("an integration needs at least one scope; give all, "
                                     "agent:<id> or queue:<name>", "scopes")
        for scope in scopes:
            if not _SCOPE.fullmatch(scope):
                raise IntegrationInvalid(f"scope {scope!r} is not one the appliance knows; "
                                         "give all, agent:<id> or queue:<name>", "scopes")
        if webhook_url is not None and not _URL.fullmatch(webhook_url):
            raise IntegrationInvalid(f"webhook URL {webhook_url!r} is not an http(s) URL; "
                                     "write it like https://crm.bank.example/branchline",
                                     "webhook_url")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        secret = secrets.token_bytes(32) if webhook_url else None
        now = self.clock()
        try:
            self._run("INSERT INTO integrations VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                      (name, _digest(token), json.dumps(scopes), webhook_url, secret, now, who))
        except sqlite3.IntegrityError:
            raise IntegrationExists(f"integration {name!r} exists (revoked ones keep their "
                                    "name for the audit); choose another name") from None
        return Issued(Integration(name, scopes, webhook_url, now, who, None), token,
                      secret.hex() if secret else None)

    def revoke(self, name: str, *, who: str) -> Integration:
        with self._lock:
            changed = self._db.execute(
                "UPDATE integrations SET revoked = ?, revoked_by = ? WHERE name = ? AND "
                "revoked IS NULL", (self.clock(), who, name)).rowcount
        if not changed:
            found = self._run("SELECT revoked FROM integrations WHERE name = ?", (name,))
            if not found:
                raise NoSuchIntegration(f"there is no integration {name!r}; GET "
                                        "/api/integrations lists them")
        return self.get(name)

    def get(self, name: str) -> Integration:
        rows = self._run(f"SELECT {_COLUMNS} FROM integrations WHERE name = ?", (name,))
        if not rows:
            raise NoSuchIntegration(f"there is no integration {name!r}")
        return _integration(rows[0])

    def all(self) -> list[Integration]:
        return [_integration(r) for r in
                self._run(f"SELECT {_COLUMNS} FROM integrations ORDER BY created")]

    def check(self, token: str | None) -> Integration | None:
        """The live integration whose token this is, else None."""
        if not token or not token.startswith(TOKEN_PREFIX):
            return None
        rows = self._run(f"SELECT {_COLUMNS} FROM integrations WHERE token_hash = ? AND "
                         "revoked IS NULL", (_digest(token),))
        return _integration(rows[0]) if rows else None

    def webhooks(self) -> list[tuple[Integration, bytes]]:
        """Live integrations with a webhook, and each one's signing secret."""
        rows = self._run(f"SELECT {_COLUMNS}, webhook_secret FROM integrations WHERE "
                         "revoked IS NULL AND webhook_url IS NOT NULL ORDER BY created")
        return [(_integration(r[:-1]), r[-1]) for r in rows]


_COLUMNS = "name, scopes, webhook_url, created, created_by, revoked"


def _integration(row: tuple) -> Integration:
    name, scopes, url, created, by, revoked = row
    return Integration(name, tuple(json.loads(scopes)), url, created, by, revoked)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
