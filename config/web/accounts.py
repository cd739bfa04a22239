"""The web service's users, sessions, login limits and first-run setup token, in SQLite.

The database is ``data_dir/web/accounts.db`` and deliberately not part of the versioned
configuration document: rolling the configuration back must never bring back an old password
or a deleted user.

    accounts = Accounts(DataDir(data_dir).accounts_db)
    token = accounts.issue_setup_token()          # None once a user exists
    user = accounts.setup(token, "alice", "a long passphrase", "zh")
    user, session = accounts.login("alice", "a long passphrase", address="10.0.0.7")
    accounts.session_user(session)                # User, or None when expired/unknown

Security decisions (docs/web.md repeats them for admins):

- passwords: argon2id (argon2-cffi ``PasswordHasher`` defaults); strong enough by
  ``config.passwords`` (length, zxcvbn score, not built on the site's or user's names); an
  ``agent`` user (named by the ACD agent id) may have a PIN instead, all digits, checked by
  ``weak_pin`` (6 to 12 digits, no repeat or run, not the id) and hashed the same way;
  a hash made with older parameters is redone at login. At
  most ``HASHING_AT_ONCE`` hashes run at a time (each takes 64 MiB).
- the server's secret (32 random bytes, made on first open, kept here and nowhere else):
  ``csrf_key``, which binds CSRF tokens to sessions (``auth.session_csrf``).
- no default account: the first admin is made with a one-time setup token, valid
  ``SETUP_TTL`` seconds, spent by its use and void as soon as any user exists.
- sessions: 32 random bytes; only their SHA-256 is stored; they end after ``SESSION_IDLE``
  seconds without use or ``SESSION_MAX`` after login, at logout, and when the user's role or
  password changes or the user is deleted.
- logins: ``USER_LIMIT`` failures for one name within ``WINDOW`` lock that name for
  ``LOCKOUT`` seconds; ``ADDRESS_LIMIT`` failures from one client address within ``WINDOW``
  lock the address as long (password spraying over many names). While locked even the right
  password is refused, and the error says how long is left. A name that does not exist costs
  the same argon2 work as one that does, so timing does not tell which names exist.

Exceptions (all ``AccountError``, each message says what is wrong and what would be right)::

    AccountError
    ├── LoginFailed       wrong name or password (never says which)
    ├── LockedOut         too many failures; ``retry_after`` seconds, ``started`` if this
    │                     attempt began the lockout (the caller audits it once)
    ├── SetupRefused      bad, used or expired setup token, or setup already done
    ├── AccountInvalid    a name, role, language or password the rules refuse
    ├── NoSuchUser
    ├── UserExists
    ├── LastAdmin         the change would leave no admin
    └── AccountsUnavailable  the database failed (disk full, permissions): every sqlite3
                          error is mapped here, with the remedy
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from branchline.config.passwords import MAX_LENGTH as MAX_PASSWORD
from branchline.config.passwords import MIN_LENGTH as MIN_PASSWORD
from branchline.config.passwords import weak_password, weak_pin
from branchline.config.web.auth import Role, User

__all__ = [
    "ADDRESS_LIMIT",
    "HASHING_AT_ONCE",
    "LOCKOUT",
    "MIN_PASSWORD",
    "SESSION_IDLE",
    "SESSION_MAX",
    "SETUP_TTL",
    "USER_LIMIT",
    "WINDOW",
    "AccountError",
    "AccountInvalid",
    "Accounts",
    "AccountsUnavailable",
    "LastAdmin",
    "LockedOut",
    "LoginFailed",
    "NoSuchUser",
    "SetupRefused",
    "UserExists",
]

# Our choices, in the range common guidance (OWASP ASVS v4 §2.2, §3.3) asks for.
USER_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW = 15 * 60.0
LOCKOUT = 15 * 60.0
SESSION_IDLE = 30 * 60.0
SESSION_MAX = 12 * 3600.0
SETUP_TTL = 24 * 3600.0
_TOUCH_EVERY = 60.0  # write last_seen at most once a minute per session
# Each argon2 hash takes 64 MiB (the PasswordHasher default); a burst of logins must not
# take a small board's memory, so they queue.
HASHING_AT_ONCE = 2
# A check holds its place under the limits while it runs (queued hashes included); a place
# left by a crash is given back after this long. A client refused because the places are
# all taken by running checks may try again this soon.
_ATTEMPT_STALE = 120.0
_BUSY_RETRY = 5.0

# The store's rule for draft file names: every user may own a draft.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
LANGUAGES = ("zh", "en")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, language TEXT NOT NULL, hash TEXT NOT NULL,
    created REAL NOT NULL, changed REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    created REAL NOT NULL, last_seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS failures (kind TEXT NOT NULL, key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS failures_key ON failures (kind, key, at);
CREATE TABLE IF NOT EXISTS attempts (kind TEXT NOT NULL, key TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS lockouts (
    kind TEXT NOT NULL, key TEXT NOT NULL, until REAL NOT NULL, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS secret (id INTEGER PRIMARY KEY CHECK (id = 1), key BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS setup (
    id INTEGER PRIMARY KEY CHECK (id = 1), token_hash TEXT NOT NULL, issued REAL NOT NULL);
"""


class AccountError(Exception):
    """Base of every error of the accounts."""


class LoginFailed(AccountError):
    pass


class LockedOut(AccountError):
    def __init__(self, message: str, retry_after: float, started: bool) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.started = started


class SetupRefused(AccountError):
    pass


class AccountInvalid(AccountError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class AccountsUnavailable(AccountError):
    pass


class NoSuchUser(AccountError, LookupError):
    pass


class UserExists(AccountError):
    pass


class LastAdmin(AccountError):
    pass


class Accounts:
    """Users, sessions and login limits in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time,
                 hasher: PasswordHasher | None = None) -> None:
        self.path = Path(path)
        self.clock = clock
        self.hasher = hasher or PasswordHasher()
        self._lock = threading.Lock()
        self._hashing = threading.BoundedSemaphore(HASHING_AT_ONCE)
        # The site's own names, which no password may be built on (``passwords``); the web app
        # hands in the configuration's.
        self.site_words: Callable[[], list[str]] = list
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO secret VALUES (1, ?)",
                             (secrets.token_bytes(32),))
            self.csrf_key: bytes = self._db.execute("SELECT key FROM secret").fetchone()[0]
            self.path.chmod(0o600)
        except (OSError, sqlite3.Error) as exc:
            raise AccountsUnavailable(
                f"cannot open the accounts database {self.path} ({exc}); check that the data "
                "directory is writable by the appliance") from exc
        # Verified against when the name is unknown, so that costs as much as a real check.
        # Hashed beside the start, not in it (argon2 lets the GIL go): a fifth of a second of
        # CPU that would otherwise delay the first call answered after a boot.
        self._decoy_hash = ""
        self._decoy_made = threading.Thread(target=self._make_decoy, name="accounts-decoy",
                                            daemon=True)
        self._decoy_made.start()

    def _make_decoy(self) -> None:
        self._decoy_hash = self.hasher.hash(secrets.token_hex(16))

    @property
    def _decoy(self) -> str:
        self._decoy_made.join()
        return self._decoy_hash

    def _hash(self, password: str) -> str:
        with self._hashing:
            return self.hasher.hash(password)

    def _verify(self, stored: str, password: str) -> bool:
        with self._hashing:
            try:
                return self.hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return False

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        """The connection, to this thread alone; SQLite's errors become AccountsUnavailable."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise AccountsUnavailable(
                    f"the accounts database {self.path} failed ({exc}); check the disk (space, "
                    "permissions) and restart the appliance") from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._locked() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- first run -------------------------------------------------------------------------

    def has_users(self) -> bool:
        with self._locked() as db:
            return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def issue_setup_token(self) -> str | None:
        """A new one-time setup token (replacing any earlier one), or None if users exist."""
        token = secrets.token_urlsafe(24)
        with self._tx() as db:
            if db.execute("SELECT 1 FROM users LIMIT 1").fetchone():
                db.execute("DELETE FROM setup")
                return None
            db.execute("INSERT OR REPLACE INTO setup (id, token_hash, issued) VALUES (1, ?, ?)",
                       (_digest(token), self.clock()))
        return token

    def setup(self, token: str, name: str, password: str, language: str) -> User:
        """Create the first admin with the setup token; the token is spent."""
        _check_name(name)
        _check_language(language)
        _check_password(name, password, self.site_words())
        digest = self._hash(password)
        now = self.clock()
        with self._tx() as db:
            row = db.execute("SELECT token_hash, issued FROM setup WHERE id = 1").fetchone()
            if db.execute("SELECT 1 FROM users LIMIT 1").fetchone():
                raise SetupRefused("setup is already done: an admin exists; log in instead, "
                                   "or ask an admin for an account")
            if row is None or not hmac.compare_digest(row[0], _digest(token)):
                raise SetupRefused("this setup token is not valid (used, replaced by a restart, "
                                   "or mistyped); use the link printed at the latest start")
            if now - row[1] > SETUP_TTL:
                raise SetupRefused(f"this setup token expired {_span(now - row[1] - SETUP_TTL)} "
                                   "ago; restart the appliance to print a new one")
            db.execute("DELETE FROM setup")
            db.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
                       (name, Role.admin.value, language, digest, now, now))
        return User(name, Role.admin, language)  # type: ignore[arg-type]

    # -- logging in ------------------------------------------------------------------------

    def login(self, name: str, password: str, *, address: str) -> tuple[User, str]:
        """Check a name and password; the User and a new session token."""
        user = self.verify(name, password, address=address)
        return user, self.open_session(name)

    def verify(self, name: str, password: str, *, address: str) -> User:
        """Check a name and password under the login limits (a failure counts), no session."""
        now = self.clock()
        attempt = self._reserve(name, address, now)
        try:
            with self._locked() as db:
                row = db.execute("SELECT role, language, hash FROM users WHERE name = ?",
                                 (name,)).fetchone()
            stored = row[2] if row else self._decoy
            ok = self._verify(stored, password[:MAX_PASSWORD]) and row is not None
        except BaseException:
            self._release(attempt)
            raise
        if not ok:
            left = self._failed(name, address, now, attempt)
            tries = "try locks" if left == 1 else "tries lock"
            raise LoginFailed(f"wrong user name or password; {left} more failed {tries} the "
                              f"login for {int(LOCKOUT // 60)} minutes")
        self._release(attempt)
        with self._tx() as db:
            db.execute("DELETE FROM failures WHERE kind = 'user' AND key = ?", (name,))
            if self.hasher.check_needs_rehash(stored):
                db.execute("UPDATE users SET hash = ? WHERE name = ?",
                           (self._hash(password), name))
        return User(name, Role(row[0]), row[1])

    def open_session(self, name: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._tx() as db:
            db.execute("DELETE FROM sessions WHERE last_seen < ? OR created < ?",
                       (now - SESSION_IDLE, now - SESSION_MAX))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (_digest(token), name, now, now))
        return token

    def _reserve(self, name: str, address: str, now: float) -> list[int]:
        """May this attempt run? One step with counting it: refused while locked, or while the
        failures so far plus the checks still running reach a limit; else the attempt holds
        one place under each limit until ``_failed`` or ``_release``."""
        with self._tx() as db:
            db.execute("DELETE FROM failures WHERE at < ?", (now - WINDOW,))
            db.execute("DELETE FROM lockouts WHERE until < ?", (now,))
            db.execute("DELETE FROM attempts WHERE at < ?", (now - _ATTEMPT_STALE,))
            rows = db.execute(
                "SELECT kind, until FROM lockouts WHERE until > ? AND "
                "((kind = 'user' AND key = ?) OR (kind = 'address' AND key = ?))",
                (now, name, address)).fetchall()
            if rows:
                kind, until = max(rows, key=lambda r: r[1])
                raise LockedOut(_locked_message(kind, name, address, until - now),
                                until - now, started=False)
            for kind, key, limit in (("user", name, USER_LIMIT),
                                     ("address", address, ADDRESS_LIMIT)):
                used = sum(db.execute(f"SELECT count(*) FROM {table} WHERE kind = ? AND key = ?",
                                      (kind, key)).fetchone()[0]
                           for table in ("failures", "attempts"))
                if used >= limit:
                    raise LockedOut(_busy_message(kind, name, address), _BUSY_RETRY,
                                    started=False)
            return [db.execute("INSERT INTO attempts VALUES (?, ?, ?)", (kind, key, now)
                               ).lastrowid for kind, key in (("user", name),
                                                             ("address", address))]

    def _release(self, attempt: list[int]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM attempts WHERE rowid = ?", [(i,) for i in attempt])

    def _failed(self, name: str, address: str, now: float, attempt: list[int]) -> int:
        """Turn the attempt into a failure; LockedOut if it reaches a limit, else the tries
        left before one."""
        started = None
        left = USER_LIMIT
        with self._tx() as db:
            db.executemany("DELETE FROM attempts WHERE rowid = ?", [(i,) for i in attempt])
            for kind, key, limit in (("user", name, USER_LIMIT),
                                     ("address", address, ADDRESS_LIMIT)):
                db.execute("INSERT INTO failures VALUES (?, ?, ?)", (kind, key, now))
                count = db.execute("SELECT count(*) FROM failures WHERE kind = ? AND key = ?",
                                   (kind, key)).fetchone()[0]
                if count >= limit:
                    db.execute("INSERT OR REPLACE INTO lockouts VALUES (?, ?, ?)",
                               (kind, key, now + LOCKOUT))
                    db.execute("DELETE FROM failures WHERE kind = ? AND key = ?", (kind, key))
                    started = started or kind
                left = min(left, limit - count)
        if started:
            raise LockedOut(_locked_message(started, name, address, LOCKOUT), LOCKOUT,
                            started=True)
        return left

    # -- sessions --------------------------------------------------------------------------

    def session_user(self, token: str) -> User | None:
        """The user of a live session (its idle timer restarts), or None."""
        now = self.clock()
        digest = _digest(token)
        with self._locked() as db:
            row = db.execute(
                "SELECT u.name, u.role, u.language, s.created, s.last_seen FROM sessions s "
                "JOIN users u ON u.name = s.name WHERE s.token_hash = ?", (digest,)).fetchone()
            if row is None:
                return None
            name, role, language, created, last_seen = row
            if now - last_seen > SESSION_IDLE or now - created > SESSION_MAX:
                db.execute("DELETE FROM sessions WHERE token_hash = ?", (digest,))
                return None
            if now - last_seen > _TOUCH_EVERY:
                db.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?",
                           (now, digest))
        return User(name, Role(role), language)

    def logout(self, token: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))

    # -- users -----------------------------------------------------------------------------

    def users(self) -> list[User]:
        with self._locked() as db:
            rows = db.execute("SELECT name, role, language FROM users ORDER BY name")
            return [User(n, Role(r), lang) for n, r, lang in rows.fetchall()]

    def user(self, name: str) -> User:
        with self._locked() as db:
            row = db.execute("SELECT name, role, language FROM users WHERE name = ?",
                             (name,)).fetchone()
        if row is None:
            raise NoSuchUser(f"there is no user {name!r}")
        return User(row[0], Role(row[1]), row[2])

    def create_user(self, name: str, role: Role | str, language: str, password: str) -> User:
        _check_name(name)
        role = _role(role)
        _check_language(language)
        _check_password(name, password, self.site_words(), role)
        digest = self._hash(password)
        now = self.clock()
        with self._tx() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise UserExists(f"user {name!r} already exists; choose another name, or "
                                 "change that user instead")
            db.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
                       (name, role.value, language, digest, now, now))
            db.execute("DELETE FROM setup")
        return User(name, role, language)  # type: ignore[arg-type]

    def update_user(self, name: str, *, role: Role | str | None = None,
                    language: str | None = None, password: str | None = None) -> User:
        """Change what is given; a new role or password ends the user's sessions."""
        new_role = None if role is None else _role(role)
        if language is not None:
            _check_language(language)
        digest = None
        if password is not None:
            _check_password(name, password, self.site_words(),
                            new_role or self.user(name).role)
            digest = self._hash(password)
        with self._tx() as db:
            row = db.execute("SELECT role, language FROM users WHERE name = ?",
                             (name,)).fetchone()
            if row is None:
                raise NoSuchUser(f"there is no user {name!r}")
            if new_role is not None and new_role != Role(row[0]):
                if row[0] == Role.admin.value:
                    _keep_an_admin(db, name, "change the role of")
                db.execute("UPDATE users SET role = ? WHERE name = ?", (new_role.value, name))
                db.execute("DELETE FROM sessions WHERE name = ?", (name,))
            if language is not None:
                db.execute("UPDATE users SET language = ? WHERE name = ?", (language, name))
            if digest is not None:
                db.execute("UPDATE users SET hash = ? WHERE name = ?", (digest, name))
                db.execute("DELETE FROM sessions WHERE name = ?", (name,))
            db.execute("UPDATE users SET changed = ? WHERE name = ?", (self.clock(), name))
            row = db.execute("SELECT role, language FROM users WHERE name = ?",
                             (name,)).fetchone()
        return User(name, Role(row[0]), row[1])

    def delete_user(self, name: str) -> None:
        with self._tx() as db:
            row = db.execute("SELECT role FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NoSuchUser(f"there is no user {name!r}")
            if row[0] == Role.admin.value:
                _keep_an_admin(db, name, "delete")
            db.execute("DELETE FROM users WHERE name = ?", (name,))


def _keep_an_admin(db: sqlite3.Connection, name: str, doing: str) -> None:
    admins = db.execute("SELECT count(*) FROM users WHERE role = 'admin'").fetchone()[0]
    if admins <= 1:
        raise LastAdmin(f"cannot {doing} {name!r}: they are the last admin; make another "
                        "user an admin first")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _span(seconds: float) -> str:
    seconds = max(1, round(seconds))
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _locked_message(kind: str, name: str, address: str, left: float) -> str:
    if kind == "user":
        why = f"{USER_LIMIT} failed logins for {name!r} within {int(WINDOW // 60)} minutes"
    else:
        why = f"{ADDRESS_LIMIT} failed logins from {address} within {int(WINDOW // 60)} minutes"
    return f"login locked after {why}; try again in {_span(left)} (or ask an admin)"


def _busy_message(kind: str, name: str, address: str) -> str:
    who = f"for {name!r}" if kind == "user" else f"from {address}"
    limit = USER_LIMIT if kind == "user" else ADDRESS_LIMIT
    return (f"login refused: the failed and still running logins {who} have reached the "
            f"limit of {limit} failures within {int(WINDOW // 60)} minutes; try again in "
            f"{int(_BUSY_RETRY)} s")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise AccountInvalid(f"user name {name!r} is not allowed; use 1 to 64 letters, digits, "
                             "'_', '.' or '-', not starting with '.' or '-'", "name")


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise AccountInvalid(f"language {language!r} is not offered; use 'zh' or 'en'",
                             "language")


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountInvalid(f"role {role!r} does not exist; use admin, supervisor, viewer or "
                             "agent",
                             "role") from None


def _check_password(name: str, password: str, site_words: Iterable[str],
                    role: Role = Role.admin) -> None:
    if role is Role.agent and password.isdigit():
        problem = weak_pin(password, user=name)
    else:
        problem = weak_password(password, user=name, site_words=site_words)
    if problem is not None:
        raise AccountInvalid(str(problem), "password")
