"""The records writer thread on a real file: batching, acknowledgements, refusals, retries."""

import queue
import sqlite3
import threading

import pytest

from branchline.firmware.records.database import (
    AcdEvent,
    Records,
    RecordsCorrupt,
    RecordsLocked,
    SensitiveDataRefused,
)
from branchline.firmware.records.writer import RecordWriter

T0 = 1_795_000_000.0


def event(n, **changes):
    return AcdEvent(T0 + n, changes.pop("name", "tick"), call_id=f"c{n}", **changes)


def stored_events(path):
    with Records(path) as records:
        return list(records.iter_events())


def test_everything_submitted_is_committed_and_acknowledged_in_order(tmp_path):
    acks = []
    writer = RecordWriter(tmp_path / "records.db", on_committed=acks.append, max_batch=64)
    sent = [event(n) for n in range(1000)]
    for record in sent:
        writer.submit(record)
    writer.start()
    assert writer.close()
    assert [len(batch) for batch in acks] == [64] * 15 + [40]  # batched, one commit each
    assert [record for batch in acks for record in batch] == sent
    assert stored_events(tmp_path / "records.db") == sent
    assert writer.pending == 0


def test_flush_returns_once_what_was_submitted_is_on_disk(tmp_path):
    writer = RecordWriter(tmp_path / "records.db")
    writer.start()
    writer.submit(event(1))
    writer.submit(event(2))
    assert writer.flush()
    assert stored_events(tmp_path / "records.db") == [event(1), event(2)]
    writer.close()


def test_one_refused_record_costs_only_itself(tmp_path):
    acks, refused = [], []
    writer = RecordWriter(tmp_path / "records.db", on_committed=acks.append,
                          on_refused=lambda record, error: refused.append((record, error)))
    bad = event(5, queue="4111111111111111")
    # Submitted before the thread starts, so the three are taken as one batch.
    for record in (event(4), bad, event(6)):
        writer.submit(record)
    writer.start()
    writer.close()
    assert [r for r, _ in refused] == [bad]
    assert isinstance(refused[0][1], SensitiveDataRefused)
    assert stored_events(tmp_path / "records.db") == [event(4), event(6)]
    assert acks == [[event(4)], [event(6)]]  # the batch was refused, then retried one by one


def test_a_locked_database_is_retried_until_it_is_free(tmp_path):
    Records(tmp_path / "records.db").open().close()
    other = sqlite3.connect(tmp_path / "records.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    troubles = queue.Queue()
    writer = RecordWriter(tmp_path / "records.db", busy_timeout=0, retry_after=0.01,
                          on_trouble=troubles.put)
    writer.start()
    writer.submit(event(1))
    assert isinstance(troubles.get(timeout=30), RecordsLocked)
    assert writer.pending == 1
    other.execute("ROLLBACK")
    other.close()
    assert writer.close(timeout=30)
    assert stored_events(tmp_path / "records.db") == [event(1)]


def test_an_unopenable_database_fails_start(tmp_path):
    (tmp_path / "records.db").write_bytes(b"not sqlite at all" * 200)
    writer = RecordWriter(tmp_path / "records.db")
    with pytest.raises(RecordsCorrupt):
        writer.start()


def test_submit_is_safe_from_many_threads(tmp_path):
    writer = RecordWriter(tmp_path / "records.db", max_batch=7)
    writer.start()

    def produce(base):
        for n in range(base, base + 200):
            writer.submit(event(n))

    threads = [threading.Thread(target=produce, args=(k * 1000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    stored = stored_events(tmp_path / "records.db")
    assert sorted(e.call_id for e in stored) == sorted(
        f"c{k * 1000 + n}" for k in range(4) for n in range(200))
