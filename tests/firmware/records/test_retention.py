"""Retention runs off the media loop: old records and recordings go, recent ones stay."""

from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)

from branchline.config.document.loading import check_document, default_document_text
from branchline.firmware.records.database import (
    CallRecord,
    HangupSide,
    Outcome,
    Records,
    RetentionPolicy,
)
from branchline.firmware.records.retention import EXPIRE_EVERY_S, RetentionKeeper, policy_of

DAY = 86400.0
NOW = 1_795_000_000.0


def _call(call_id, age_days, recording):
    started = NOW - age_days * DAY
    return CallRecord(call_id=call_id, started_at=started, ended_at=started + 60,
                      caller="13912345678", dialled="95566", port="fxo1", config_version=1,
                      outcome=Outcome.ANSWERED, hangup_side=HangupSide.CALLER,
                      recording=recording)


def _data_dir_with_calls(tmp_path):
    folder = tmp_path / "recordings" / "2026"
    folder.mkdir(parents=True)
    for name in ("old.wav", "month.wav", "new.wav"):
        (folder / name).write_bytes(b"RIFF")
    with Records(tmp_path / "records.db") as records:
        records.append_many([
            _call("old", 400, "recordings/2026/old.wav"),
            _call("month", 40, "recordings/2026/month.wav"),
            _call("new", 1, "recordings/2026/new.wav"),
        ])
    return folder


def test_keeper_expires_records_and_deletes_their_recordings(tmp_path):
    folder = _data_dir_with_calls(tmp_path)
    keeper = RetentionKeeper(tmp_path)
    keeper.start()
    keeper.request(NOW, RetentionPolicy(calls_days=365, recordings_days=30))
    assert keeper.wait_idle(timeout=30)
    keeper.stop()
    with Records(tmp_path / "records.db") as records:
        left = {c.call_id: c.recording for c in records.calls(0, NOW + DAY)}
    assert left == {"month": None, "new": "recordings/2026/new.wav"}
    assert sorted(p.name for p in folder.iterdir()) == ["new.wav"]
    assert keeper.failures == 0 and keeper.expired_total == 1


def test_keeper_is_due_at_start_and_then_once_a_day(tmp_path):
    keeper = RetentionKeeper(tmp_path)
    assert keeper.due(NOW)
    keeper.last_request = NOW
    assert not keeper.due(NOW + EXPIRE_EVERY_S - 1)
    assert keeper.due(NOW + EXPIRE_EVERY_S)


def test_a_failing_expiry_is_counted_and_the_keeper_carries_on(tmp_path):
    (tmp_path / "records.db").write_bytes(b"this is not a database")
    keeper = RetentionKeeper(tmp_path)
    keeper.start()
    keeper.request(NOW, RetentionPolicy())
    assert keeper.wait_idle(timeout=30)
    keeper.stop()
    assert keeper.failures == 1


def test_policy_comes_from_the_documents_retention_section():
    document, report = check_document(default_document_text())
    assert report.ok
    policy = policy_of(document.retention)
    assert policy == RetentionPolicy(
        calls_days=document.retention.calls, events_days=document.retention.events,
        agent_states_days=document.retention.agent_states,
        recordings_days=document.retention.recordings, audit_days=document.retention.audit)


def test_the_appliance_expires_old_records_soon_after_it_starts(tmp_path, prompts_dir, bank_url):  # noqa: F811
    data = tmp_path / "d"
    data.mkdir()
    _data_dir_with_calls(data)
    h = RuntimeHarness(data, scenario_text(rate=1), prompts_dir=prompts_dir, bank_url=bank_url)
    h.run(2)  # the first expiry is asked for after one second of loop time
    assert h.app.retention.wait_idle(timeout=30)
    h.close()
    with Records(data / "records.db") as records:
        kept = {c.call_id for c in records.calls(0, float("inf"))}
    # The virtual day is in 2026: the 400-day-old call is gone, the younger ones stay.
    assert "old" not in kept and {"month", "new"} <= kept
    assert not (data / "recordings" / "2026" / "old.wav").exists()
