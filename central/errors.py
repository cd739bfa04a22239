"""The centre's exceptions, and the one place psycopg's errors become ours.

    CentralError
    ├── CentralUnavailable      cannot reach PostgreSQL, or the connection broke: try again
    ├── CentralRefused          PostgreSQL said no: wrong password, not a branch, no right
    ├── ShipMarkMoved           the centre's mark for this table is not where the shipper
    │                           thought (another shipper of the same branch, or a restore)
    ├── CentralTooNew           the database's schema is newer than this software
    └── CentralInputError (ValueError)   our caller's fault: a bad branch id, region, period
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "CentralError",
    "CentralInputError",
    "CentralRefused",
    "CentralTooNew",
    "CentralUnavailable",
    "ShipMarkMoved",
    "map_pg_error",
]

# Raised by the ship() function when the compare-and-set on the ship mark fails.
SHIP_MARK_SQLSTATE = "BL001"


class CentralError(Exception):
    """Base of the centre's errors."""


class CentralUnavailable(CentralError):
    """PostgreSQL cannot be reached or the connection broke; nothing uncommitted was kept."""


class CentralRefused(CentralError):
    """PostgreSQL refused: authentication, authorisation, or a role that is no branch."""


class ShipMarkMoved(CentralError):
    """The centre's ship mark moved under the shipper: read the marks again."""


class CentralTooNew(CentralError):
    """The centre's schema is newer than this software."""


class CentralInputError(CentralError, ValueError):
    """A value given to the centre is wrong; the message says what would be right."""


def map_pg_error(exc: psycopg.Error, doing: str) -> CentralError:
    """Our exception for a psycopg error met while ``doing`` (raise it ``from exc``)."""
    import psycopg  # the appliance imports these errors without needing PostgreSQL

    state = getattr(exc, "sqlstate", None)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if state == SHIP_MARK_SQLSTATE:
        return ShipMarkMoved(f"centre: {doing}: {text}; read the ship marks again")
    if isinstance(exc, psycopg.errors.InsufficientPrivilege | psycopg.errors.InvalidPassword
                  | psycopg.errors.InvalidAuthorizationSpecification):
        return CentralRefused(f"centre: {doing}: {text}; check this branch's credentials "
                              "(issued by 'branchline central branch add')")
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        if "password authentication failed" in text or "no pg_hba.conf entry" in text:
            return CentralRefused(f"centre: {doing}: {text}; check this branch's credentials "
                                  "(issued by 'branchline central branch add')")
        return CentralUnavailable(f"centre: {doing}: {text}; will try again")
    return CentralError(f"centre: {doing}: {text}")
