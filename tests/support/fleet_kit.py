"""Branches for the fleet tests: registered at a real centre, with records of their own.

    conninfo = add_test_branch(postgres, central_dsn, "b1")   # the branch's own login
    write_calls(db_path, range(0, 100), at=T0)                 # calls, their events, states
    assert centre_rows(central_dsn, "b1") == branch_rows(db_path)
"""

from __future__ import annotations

import time

import psycopg

from branchline.central.db import add_branch, connect
from branchline.firmware.records.database import (
    AcdEvent,
    AgentStateChange,
    AuditEntry,
    CallRecord,
    HangupSide,
    Outcome,
    Records,
    TraceStep,
)
from branchline.firmware.records.types import CallQuality

__all__ = ["T0", "add_test_branch", "branch_rows", "centre_rows", "wait_for", "write_calls"]

T0 = 1_795_000_000.0


def add_test_branch(postgres, central_dsn: str, branch: str, *, region: str = "south",
                    port: int | None = None) -> str:
    with connect(central_dsn) as conn:
        login = add_branch(conn, branch, name=f"Branch {branch}", region=region)
        conn.commit()
    dbname = psycopg.conninfo.conninfo_to_dict(central_dsn)["dbname"]
    return postgres.dsn(dbname, user=login.role, password=login.password, port=port)


def call(n: int, at: float) -> CallRecord:
    outcome = (Outcome.ANSWERED, Outcome.ABANDONED_IN_QUEUE, Outcome.SELF_SERVED)[n % 3]
    queued = outcome is not Outcome.SELF_SERVED
    return CallRecord(
        call_id=f"c{n:06d}", started_at=at, ended_at=at + 90,
        answered_at=at + 20 if outcome is Outcome.ANSWERED else None,
        caller=f"139{n:08d}", dialled="95566", port=f"fxo{n % 4}", config_version=1,
        outcome=outcome, hangup_side=HangupSide.CALLER, language="zh",
        ivr_path=(TraceStep(at, "enter", "welcome"), TraceStep(at + 3, "digits", "menu", "1")),
        host_results={"balance": "ok"}, queue="cards" if queued else None,
        priority_class="vip" if n % 5 == 0 else "normal",
        agent_id=f"a{n % 3}" if outcome is Outcome.ANSWERED else None,
        wait_seconds=float(n % 40) if queued else 0.0,
        talk_seconds=60.0 if outcome is Outcome.ANSWERED else 0.0,
        wrapup_seconds=5.0 if outcome is Outcome.ANSWERED else 0.0,
        survey_score=n % 10 if outcome is Outcome.ANSWERED else None,
        quality=quality(n))


def quality(n: int) -> CallQuality | None:
    """Every other call came over SIP; of those, every fourth (n % 8 == 0) was poor."""
    if n % 2:
        return None
    mos = 3.1 if n % 8 == 0 else 4.2
    return CallQuality(loss_percent=(n % 5) / 2, jitter_ms=10.0 + n % 7, rtt_ms=None,
                       r=60.0 if mos < 3.6 else 85.0, mos=mos)


def write_calls(db_path, numbers, *, at: float = T0, spacing: float = 60.0) -> None:
    """Each call with two ACD events, an agent state change and (every 10th) an audit entry,
    written in batches of 50 as the records writer would."""
    numbers = list(numbers)
    with Records(db_path) as records:
        for i in range(0, len(numbers), 50):
            batch = []
            for n in numbers[i:i + 50]:
                t = at + n * spacing
                record = call(n, t)
                batch += [record,
                          AcdEvent(t + 1, "ENTERQUEUE", call_id=record.call_id, queue="cards",
                                   data={"n": n}),
                          AcdEvent(t + 2, "CONNECT", call_id=record.call_id, queue="cards",
                                   agent=f"a{n % 3}"),
                          AgentStateChange(t + 2, f"a{n % 3}", "ready", "talking")]
                if n % 10 == 0:
                    batch.append(AuditEntry(t, "admin", f"publish v{n}", "diff"))
            records.append_many(batch)


_KEYS = {"calls": "call_id", "acd_events": "seq", "agent_states": "seq", "audit": "seq",
         "ivr_visits": "call_id || ':' || step"}


def branch_rows(db_path) -> dict[str, list]:
    """Each shipped table's keys in the branch's SQLite, sorted."""
    with Records(db_path) as records:
        db = records._conn()
        return {t: sorted(r[0] for r in db.execute(f"SELECT {k} FROM {t}"))
                for t, k in _KEYS.items()}


def centre_rows(central_dsn: str, branch: str) -> dict[str, list]:
    """Each table's keys at the centre for one branch, sorted, duplicates kept (a duplicate
    could only come from a broken primary key, but we look)."""
    with connect(central_dsn) as conn:
        return {t: sorted(r[0] for r in conn.execute(
                    f"SELECT {k} FROM {t} WHERE branch = %s", (branch,)))
                for t, k in _KEYS.items()}


def wait_for(condition, what: str, limit_s: float = 60.0, every_s: float = 0.02):
    """Poll ``condition`` until it is true, at most ``limit_s`` seconds (a bounded deadline,
    not a timing assertion: it only turns a hang into a clear failure)."""
    deadline = time.monotonic() + limit_s
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {limit_s} s")
        time.sleep(every_s)
    return value
