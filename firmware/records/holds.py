"""Hold time: each time a caller was on hold, and the reports' average hold time.

Schema version 7 adds ``calls.hold_seconds`` (the call's total time on hold; 0 for calls
stored before) and ``call_holds``: one row per hold, written when the hold ends (call control,
``firmware/calls/control.py``), naming the agent who put the caller on hold. A hold is the
time the caller hears the music: held, while a colleague is rung or consulted, while a blind
transfer rings. The rows go when their call record goes (a trigger).

    CallHold(call_id, agent, started_at, ended_at)       # a record for the writer
    holds_of(records, call_id)                           # that call's holds, oldest first
    hold_summary(records, start, end)                    # the reports' figures
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from branchline.firmware.records.errors import RecordRefused
from branchline.firmware.records.guard import refuse_pan

__all__ = ["HOLDS_SCHEMA", "CallHold", "hold_row", "hold_summary", "holds_of"]

HOLDS_SCHEMA = (
    "ALTER TABLE calls ADD COLUMN hold_seconds REAL NOT NULL DEFAULT 0",
    """
    CREATE TABLE call_holds (
        call_id        TEXT NOT NULL,
        started_epoch  REAL NOT NULL,
        started_utc    TEXT NOT NULL,
        ended_epoch    REAL NOT NULL,
        agent          TEXT NOT NULL,     -- who put the caller on hold ('' if nobody known)
        PRIMARY KEY (call_id, started_epoch)
    ) WITHOUT ROWID
    """,
    """
    CREATE TRIGGER calls_holds_gone AFTER DELETE ON calls
    BEGIN DELETE FROM call_holds WHERE call_id = OLD.call_id; END
    """,
)
INSERT_HOLD = ("INSERT OR REPLACE INTO call_holds (call_id, started_epoch, started_utc, "
               "ended_epoch, agent) VALUES (?, ?, ?, ?, ?)")


@dataclass(frozen=True, slots=True)
class CallHold:
    """One hold of one call (UTC epoch seconds)."""

    call_id: str
    agent: str
    started_at: float
    ended_at: float

    def __post_init__(self):
        where = f"hold of call {self.call_id!r}"
        if not self.call_id:
            raise RecordRefused("call hold: call_id is empty; a hold belongs to a call")
        for name in ("started_at", "ended_at"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise RecordRefused(f"{where}: {name} is {value!r}; give UTC epoch seconds")
        if self.ended_at < self.started_at:
            raise RecordRefused(f"{where}: it ends ({self.ended_at}) before it starts "
                                f"({self.started_at}); give ended_at >= started_at")

    @property
    def seconds(self) -> float:
        return self.ended_at - self.started_at


def hold_row(hold: CallHold) -> tuple[str, tuple]:
    where = f"hold of call {hold.call_id!r}"
    refuse_pan(where, "call_id", hold.call_id)
    refuse_pan(where, "agent", hold.agent)
    stamp = datetime.datetime.fromtimestamp(hold.started_at, datetime.UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")
    return INSERT_HOLD, (hold.call_id, hold.started_at, stamp, hold.ended_at, hold.agent)


def holds_of(records, call_id: str) -> list[CallHold]:
    return [CallHold(call_id, agent, started, ended) for started, ended, agent in records.rows(
        "SELECT started_epoch, ended_epoch, agent FROM call_holds WHERE call_id = ? "
        "ORDER BY started_epoch", (call_id,))]


def hold_summary(records, start: float, end: float) -> dict:
    """Hold time of the answered calls started in [start, end): how many were held, the
    average hold per answered call and per held call, per queue and per agent who held."""
    where = ("FROM calls WHERE started_epoch >= ? AND started_epoch < ? "
             "AND outcome = 'answered'")
    ((answered, held, total),) = records.rows(
        f"SELECT count(*), count(*) FILTER (WHERE hold_seconds > 0), "
        f"coalesce(sum(hold_seconds), 0) {where}", (start, end))
    queues = records.rows(
        f"SELECT queue, count(*), count(*) FILTER (WHERE hold_seconds > 0), "
        f"coalesce(sum(hold_seconds), 0) {where} AND queue IS NOT NULL GROUP BY queue "
        "ORDER BY queue", (start, end))
    agents = records.rows(
        "SELECT h.agent, count(*), sum(h.ended_epoch - h.started_epoch) FROM call_holds h "
        "JOIN calls c ON c.call_id = h.call_id WHERE c.started_epoch >= ? "
        "AND c.started_epoch < ? GROUP BY h.agent ORDER BY h.agent", (start, end))
    return {
        **_figures(answered, held, total),
        "queues": {q: _figures(n, h, s) for q, n, h, s in queues},
        "agents": {a: {"holds": n, "hold_s": round(s, 1),
                       "average_hold_s": round(s / n, 1)} for a, n, s in agents},
    }


def _figures(answered: int, held: int, total: float) -> dict:
    return {"answered": answered, "held": held, "hold_s": round(total, 1),
            "average_hold_s": round(total / answered, 1) if answered else None,
            "average_hold_held_s": round(total / held, 1) if held else None}
