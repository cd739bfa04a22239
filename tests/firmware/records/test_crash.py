"""Kill a process writing call records with SIGKILL mid-traffic; every acknowledged record must
survive whole, and the file must pass SQLite's integrity check.

The child is this file run as a script: it appends batches with ``append_many`` and prints each
call id only after the commit returned (acknowledged = committed). The parent reads those lines
until enough are acknowledged, kills the child without warning, and reopens the database.
SIGKILL exercises atomicity (no half transaction is ever visible); surviving a power cut also
depends on the fsyncs that synchronous=FULL performs, which a process kill cannot show.
"""

import signal
import subprocess
import sys

import pytest

from branchline.firmware.records.database import (
    AcdEvent,
    CallRecord,
    HangupSide,
    Outcome,
    Records,
    TraceStep,
)

T0 = 1_795_000_000.0
BATCH = 5


def sample_call(n):
    """A deterministic, deliberately bulky record (it spans database pages)."""
    start = T0 + n
    return CallRecord(
        call_id=f"crash-{n:06d}", started_at=start, answered_at=start + 30,
        ended_at=start + 90, caller=f"139{n:08d}", dialled="95566", port=f"fxo{n % 8}",
        config_version=3, language="zh",
        ivr_path=tuple(TraceStep(start + i, "enter", f"node-{i}", "*" * (i % 7))
                       for i in range(40)),
        host_results={"balance": {"status": "ok", "note": "x" * (n % 900)}},
        queue="cards", priority_class="normal", agent_id=f"agent{n % 6}",
        wait_seconds=n % 60, talk_seconds=60.0, wrapup_seconds=5.0, survey_score=n % 10,
        recording=f"recordings/crash/{n:06d}.wav", outcome=Outcome.ANSWERED,
        hangup_side=HangupSide.AGENT, hangup_reason="normal",
    )


def sample_event(n):
    return AcdEvent(T0 + n, "answered", call_id=f"crash-{n:06d}", queue="cards",
                    agent=f"agent{n % 6}", data={"n": n, "pad": "y" * (n % 300)})


def child_main(db_path):
    with Records(db_path) as records:
        n = 0
        while True:
            batch = range(n, n + BATCH)
            records.append_many([*(sample_call(i) for i in batch),
                                 *(sample_event(i) for i in batch)])
            for i in batch:
                print(f"crash-{i:06d}", flush=True)
            n += BATCH


@pytest.mark.parametrize("acknowledged", [1, 97, 400])
def test_sigkill_loses_no_acknowledged_record(tmp_path, acknowledged):
    db_path = tmp_path / "records.db"
    child = subprocess.Popen([sys.executable, __file__, str(db_path)],
                             stdout=subprocess.PIPE, text=True)
    acks = []
    try:
        while len(acks) < acknowledged:
            line = child.stdout.readline()
            assert line, f"the writer died after {len(acks)} acknowledgements"
            acks.append(line.strip())
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with Records(db_path) as records:
        assert records.integrity_problems() == []
        stored = list(records.iter_calls())
        events = list(records.iter_events())
    by_id = {c.call_id: c for c in stored}
    for call_id in acks:
        assert by_id.get(call_id) == sample_call(int(call_id[-6:])), call_id
    # Whatever else committed before the kill is whole too, and came in whole batches.
    assert stored == [sample_call(i) for i in range(len(stored))]
    assert events == [sample_event(i) for i in range(len(stored))]
    assert len(stored) % BATCH == 0
    assert len(stored) >= len(acks)


if __name__ == "__main__":
    child_main(sys.argv[1])
