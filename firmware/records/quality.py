"""A SIP call's media quality in its call record: five columns of ``calls``, and the reports'
summary of them.

Schema version 6 adds ``quality_loss_percent``, ``quality_jitter_ms``, ``quality_rtt_ms``,
``quality_r`` and ``quality_mos`` to ``calls``; all NULL for analog calls (and calls stored
before), ``quality_rtt_ms`` also NULL when no RTCP report came back. ``quality_summary`` is
what the reports page shows: how many SIP calls, their average and lowest MOS, the worst ones.

    quality_params(record.quality)     # the five INSERT parameters, Nones for an analog call
    quality_from_row(row[-5:])         # back to a CallQuality, or None
    quality_summary(records, start, end, worst=10)
"""

from __future__ import annotations

from branchline.firmware.records.types import CallQuality

__all__ = ["QUALITY_COLUMNS", "QUALITY_SCHEMA", "quality_from_row", "quality_params",
           "quality_summary"]

QUALITY_COLUMNS = ("quality_loss_percent", "quality_jitter_ms", "quality_rtt_ms", "quality_r",
                   "quality_mos")
QUALITY_SCHEMA = (
    *(f"ALTER TABLE calls ADD COLUMN {name} REAL" for name in QUALITY_COLUMNS),
    "CREATE INDEX calls_quality ON calls (started_epoch, quality_mos) "
    "WHERE quality_mos IS NOT NULL",
)


def quality_params(quality: CallQuality | None) -> tuple:
    if quality is None:
        return (None,) * len(QUALITY_COLUMNS)
    return (round(quality.loss_percent, 3), round(quality.jitter_ms, 3),
            None if quality.rtt_ms is None else round(quality.rtt_ms, 3),
            round(quality.r, 2), round(quality.mos, 3))


def quality_from_row(values) -> CallQuality | None:
    loss, jitter, rtt, r, mos = values
    if mos is None:
        return None
    return CallQuality(loss_percent=loss, jitter_ms=jitter, rtt_ms=rtt, r=r, mos=mos)


def quality_summary(records, start: float, end: float, worst: int = 10) -> dict:
    """The SIP calls started in [start, end): their count, average and lowest MOS, average
    loss and jitter, and the ``worst`` calls by MOS (lowest first)."""
    where = "FROM calls WHERE started_epoch >= ? AND started_epoch < ? AND quality_mos IS NOT NULL"
    ((calls, mos_avg, mos_min, loss_avg, jitter_avg),) = records.rows(
        f"SELECT count(*), avg(quality_mos), min(quality_mos), avg(quality_loss_percent), "
        f"avg(quality_jitter_ms) {where}", (start, end))
    rows = records.rows(
        f"SELECT call_id, started_epoch, port, caller, {', '.join(QUALITY_COLUMNS)} {where} "
        "ORDER BY quality_mos, started_epoch LIMIT ?", (start, end, worst))
    return {
        "calls": calls,
        "mos_average": None if mos_avg is None else round(mos_avg, 2),
        "mos_lowest": mos_min,
        "loss_average_percent": None if loss_avg is None else round(loss_avg, 2),
        "jitter_average_ms": None if jitter_avg is None else round(jitter_avg, 1),
        "worst": [{"call_id": call_id, "started": started, "port": port, "caller": caller,
                   "loss_percent": loss, "jitter_ms": jitter, "rtt_ms": rtt, "r": r, "mos": mos}
                  for call_id, started, port, caller, loss, jitter, rtt, r, mos in rows],
    }
