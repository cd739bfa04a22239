"""The exceptions of the call records database, and the one place sqlite3 errors become ours.

    RecordsError                  anything the records database raises
    ├── RecordsUnavailable        the environment is at fault; the message names the remedy
    │   ├── RecordsLocked         another process holds the write lock too long
    │   ├── RecordsDiskFull       no space left for the database or its WAL
    │   └── RecordsReadOnly       the file or its directory cannot be written
    ├── RecordsCorrupt            the file is not a healthy SQLite database
    ├── RecordsTooNew             the schema is newer than this software understands
    ├── RecordsClosed             used after close()
    └── RecordRefused             the caller is at fault: a record that must not be stored
        ├── DuplicateRecord       a call record with that call id is already stored
        └── SensitiveDataRefused  a text field holds what looks like a full card number

A refused write changes nothing: the whole batch it was part of is rolled back.
"""

import errno
import sqlite3


class RecordsError(Exception):
    """Base of every error the records database raises."""


class RecordsUnavailable(RecordsError):
    """The database cannot be used right now; the cause is outside Branchline's code."""


class RecordsLocked(RecordsUnavailable):
    """Another process held the database's write lock for longer than the busy timeout."""


class RecordsDiskFull(RecordsUnavailable):
    """The disk holding the data directory is full."""


class RecordsReadOnly(RecordsUnavailable):
    """The database file or its directory is not writable."""


class RecordsCorrupt(RecordsError):
    """The file is damaged or is not a Branchline records database."""


class RecordsTooNew(RecordsError):
    """The database was written by a newer Branchline; this one must not touch it."""


class RecordsClosed(RecordsError):
    """The Records object was closed."""


class RecordRefused(RecordsError, ValueError):
    """A record that must not be stored (bad value, duplicate, sensitive data)."""


class DuplicateRecord(RecordRefused):
    """A call record with the same call id is already in the database."""


class SensitiveDataRefused(RecordRefused):
    """A field holds a digit string that looks like a full card number (PAN)."""


def map_sqlite_error(exc, path, doing):
    """Translate one sqlite3 exception into ours, with what to do about it.

    ``doing`` says what we were doing ("opening", "writing 12 records", ...) so the message
    reads: where, what went wrong, what would put it right.
    """
    text = str(exc)
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if code is not None else None
    where = f"call records {path}: {doing}"
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in text:
        return RecordsLocked(
            f"{where}: the database is locked by another process ({text}); find the other "
            "branchline process holding it (only one runtime may write) or raise busy_timeout"
        )
    if primary == sqlite3.SQLITE_FULL or _errno(exc) == errno.ENOSPC:
        return RecordsDiskFull(
            f"{where}: the disk is full ({text}); free space in the data directory (expire old "
            "recordings and records) and retry; nothing of this write was stored"
        )
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN):
        return RecordsReadOnly(
            f"{where}: cannot write the database ({text}); check that the data directory "
            "exists and that the branchline user owns it and the .db, -wal and -shm files"
        )
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return RecordsCorrupt(
            f"{where}: the file is damaged or not a records database ({text}); keep a copy, "
            "then recover with `sqlite3 FILE .recover` or move it aside to start a new one"
        )
    if isinstance(exc, sqlite3.IntegrityError):
        return RecordRefused(f"{where}: refused by the schema ({text})")
    if primary == sqlite3.SQLITE_IOERR:
        return RecordsUnavailable(
            f"{where}: the disk reported an I/O error ({text}); check the storage "
            "(dmesg, SMART) before trusting this device with more calls"
        )
    return RecordsError(f"{where}: {text}")


def _errno(exc):
    cause = exc.__cause__ or exc.__context__
    return getattr(cause, "errno", None)
