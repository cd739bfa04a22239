"""Dispositions: the wrap-up code and notes an agent gives a call on the agent desktop.

One row per call (``call_id``, joined to ``calls`` and ``acd_events``); giving it again
replaces it (the agent corrected a slip), and the audit keeps both. Written by the web
service's thread with its own connection, committed before the agent is answered; the card
guard refuses notes that hold a full card number, so nothing of it is stored.

    with Records(data.records_db) as records:
        records.add_disposition(Disposition(at, "1001", call_id, "resolved", "notes"))
        disposition_counts(records, start, end)   # {"resolved": 3, ...}, for the reports
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from branchline.firmware.records.guard import refuse_pan

__all__ = ["DISPOSITIONS_SCHEMA", "Disposition", "disposition_counts", "disposition_row"]

DISPOSITIONS_SCHEMA = (
    """
    CREATE TABLE dispositions (
        call_id   TEXT PRIMARY KEY,
        at_epoch  REAL NOT NULL,
        at_utc    TEXT NOT NULL,
        agent     TEXT NOT NULL,
        code      TEXT NOT NULL,
        notes     TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX dispositions_at ON dispositions (at_epoch)",
)
INSERT_DISPOSITION = ("INSERT OR REPLACE INTO dispositions (call_id, at_epoch, at_utc, agent, "
                      "code, notes) VALUES (?, ?, ?, ?, ?, ?)")


@dataclass(frozen=True, slots=True)
class Disposition:
    at: float  # UTC epoch seconds
    agent: str
    call_id: str
    code: str
    notes: str


def disposition_row(d: Disposition) -> tuple[str, tuple]:
    """The statement and parameters for ``d``; SensitiveDataRefused for a card in the notes."""
    where = f"disposition of call {d.call_id!r}"
    for name in ("agent", "call_id", "code", "notes"):
        refuse_pan(where, name, getattr(d, name))
    stamp = datetime.datetime.fromtimestamp(d.at, datetime.UTC).isoformat().replace(
        "+00:00", "Z")
    return INSERT_DISPOSITION, (d.call_id, d.at, stamp, d.agent, d.code, d.notes)


def disposition_counts(records, start: float, end: float) -> dict[str, int]:
    """Calls per wrap-up code among dispositions given in [start, end)."""
    return dict(records.rows("SELECT code, count(*) FROM dispositions WHERE at_epoch >= ? AND "
                             "at_epoch < ? GROUP BY code ORDER BY code", (start, end)))
