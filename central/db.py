"""Opening the centre's database, migrating it, and issuing branches their credentials.

    with connect(dsn) as conn:          # psycopg 3; errors become ours (central/errors.py)
        migrate(conn)                   # central/schema.py, under an advisory lock
        login = add_branch(conn, "sz-futian", name="Futian", region="south")
        login.role, login.password          # shown once, to be given to the branch

A branch logs in as its own PostgreSQL role, ``<database>:<branch id>`` (roles belong to the
whole cluster; the database's name keeps two centres on one cluster apart), member of
``branchline_branch`` (which may only call ``ship``, ``ship_marks_of_mine``, ``my_templates``
and ``report_template``). Its password is random, shown once, and reaches PostgreSQL only
as a SCRAM-SHA-256 verifier computed here (RFC 5802, RFC 7677), so neither the server's
statement log nor ``pg_stat_activity`` ever holds it in clear.
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import psycopg
from psycopg import sql

from branchline.central.errors import (
    CentralInputError,
    CentralTooNew,
    map_pg_error,
)
from branchline.central.schema import MIGRATIONS, SCHEMA_VERSION, SHIPPED_TABLES

__all__ = [
    "BranchLogin",
    "add_branch",
    "branch_role",
    "connect",
    "migrate",
    "rotate_branch_password",
    "schema_version",
    "scram_verifier",
]

BRANCH_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_MIGRATE_LOCK = 0x42524C4E  # "BRLN": one advisory lock id for migrations
_SCRAM_ITERATIONS = 4096


def connect(dsn: str, *, autocommit: bool = False, doing: str = "connecting"):
    """A psycopg connection to the centre; errors mapped to ours."""
    try:
        return psycopg.connect(dsn, autocommit=autocommit)
    except psycopg.Error as exc:
        raise map_pg_error(exc, doing) from exc


def schema_version(conn) -> int:
    found = conn.execute("SELECT to_regclass('central_schema')").fetchone()[0]
    if found is None:
        return 0
    return conn.execute("SELECT version FROM central_schema").fetchone()[0]


def migrate(conn) -> int:
    """Bring the schema to this software's version; returns the version. Idempotent."""
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS central_schema (version integer NOT NULL)")
            if conn.execute("SELECT count(*) FROM central_schema").fetchone()[0] == 0:
                conn.execute("INSERT INTO central_schema VALUES (0)")
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise CentralTooNew(
                f"centre: the database's schema is version {version}, newer than this "
                f"software's {SCHEMA_VERSION}; run the Branchline release that migrated it")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
                if schema_version(conn) >= target:
                    continue
                for statement in MIGRATIONS[target - 1]:
                    conn.execute(statement)
                conn.execute("UPDATE central_schema SET version = %s", (target,))
    except psycopg.Error as exc:
        raise map_pg_error(exc, "migrating the schema") from exc
    return schema_version(conn)


@dataclass(frozen=True, slots=True)
class BranchLogin:
    """A branch's credentials at the centre; ``password`` is never stored in clear."""

    branch: str
    role: str
    password: str

    def __repr__(self) -> str:
        return f"BranchLogin(branch={self.branch!r}, role={self.role!r}, password=<hidden>)"


def branch_role(conn, branch_id: str) -> str:
    return f"{conn.info.dbname}:{branch_id}"


def _check_id(branch_id: str) -> None:
    if not BRANCH_ID.match(branch_id or ""):
        raise CentralInputError(
            f"centre: branch id {branch_id!r} is not valid; use 1-40 lower-case letters, "
            "digits and '-', starting with a letter or digit (like 'sz-futian')")


def scram_verifier(password: str, *, salt: bytes | None = None,
                   iterations: int = _SCRAM_ITERATIONS) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802 §3, RFC 7677)."""
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def add_branch(conn, branch_id: str, *, name: str, region: str) -> BranchLogin:
    """Register a branch and create its login role; returns its credentials (shown once)."""
    _check_id(branch_id)
    if not region.strip() or not name.strip():
        raise CentralInputError(f"centre: branch {branch_id}: give a name and a region")
    password = secrets.token_urlsafe(24)
    role = branch_role(conn, branch_id)
    try:
        with conn.transaction():
            if conn.execute("SELECT 1 FROM branches WHERE id = %s", (branch_id,)).fetchone():
                raise CentralInputError(
                    f"centre: branch {branch_id} exists already; to issue new credentials "
                    f"use 'branchline central branch rotate {branch_id}'")
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE branchline_branch PASSWORD {}")
                         .format(sql.Identifier(role), sql.Literal(scram_verifier(password))))
            conn.execute("INSERT INTO branches (id, name, region, role) VALUES (%s, %s, %s, %s)",
                         (branch_id, name.strip(), region.strip(), role))
            for table in SHIPPED_TABLES:
                conn.execute("INSERT INTO ship_marks (branch, tbl) VALUES (%s, %s)",
                             (branch_id, table))
    except psycopg.Error as exc:
        raise map_pg_error(exc, f"adding branch {branch_id}") from exc
    return BranchLogin(branch_id, role, password)


def rotate_branch_password(conn, branch_id: str) -> BranchLogin:
    """New credentials for a branch (the old password stops working at once)."""
    _check_id(branch_id)
    password = secrets.token_urlsafe(24)
    try:
        with conn.transaction():
            row = conn.execute("SELECT role FROM branches WHERE id = %s", (branch_id,)).fetchone()
            if row is None:
                raise CentralInputError(f"centre: no branch {branch_id}; add it first")
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(row[0]), sql.Literal(scram_verifier(password))))
    except psycopg.Error as exc:
        raise map_pg_error(exc, f"rotating branch {branch_id}'s password") from exc
    return BranchLogin(branch_id, row[0], password)
