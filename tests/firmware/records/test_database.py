"""The call records database on real SQLite files: round trips, queries, refusals, expiry."""

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from branchline.firmware.records.database import (
    AcdEvent,
    AgentStateChange,
    AuditEntry,
    CallRecord,
    DuplicateRecord,
    Expired,
    HangupSide,
    Outcome,
    RecordRefused,
    Records,
    RecordsClosed,
    RecordsCorrupt,
    RecordsDiskFull,
    RecordsLocked,
    RecordsReadOnly,
    RecordsTooNew,
    RetentionPolicy,
    SensitiveDataRefused,
    TraceStep,
    remove_recordings,
)
from branchline.firmware.records.errors import map_sqlite_error
from branchline.firmware.records.guard import find_pan, luhn_ok
from branchline.firmware.records.schema import SCHEMA_VERSION

T0 = 1_795_000_000.0  # 2026-11-18, an arbitrary UTC epoch
DAY = 86400.0


def call(n, **changes):
    fields = dict(
        call_id=f"c{n:05d}",
        started_at=T0 + n * 60,
        answered_at=T0 + n * 60 + 20,
        ended_at=T0 + n * 60 + 50,
        caller="13912345678",
        dialled="95566",
        port=f"fxo{n % 4}",
        config_version=7,
        language="zh",
        ivr_path=(TraceStep(T0 + n * 60, "enter", "welcome", "menu"),
                  TraceStep(T0 + n * 60 + 3, "digits", "card-loss", "card = ******1234")),
        host_results={"card-loss": {"status": "blocked", "ref": "A17"}},
        queue="cards" if n % 2 else "loans",
        priority_class="vip" if n % 5 == 0 else "normal",
        agent_id=f"agent{n % 3}",
        wait_seconds=12.5,
        talk_seconds=30.0,
        wrapup_seconds=8.0,
        survey_score=5,
        recording=f"recordings/2026/11/c{n:05d}.wav",
        outcome=Outcome.ANSWERED,
        hangup_side=HangupSide.CALLER,
        hangup_reason="on-hook",
    )
    fields.update(changes)
    return CallRecord(**fields)


@pytest.fixture
def records(tmp_path):
    with Records(tmp_path / "records.db") as opened:
        yield opened


def count(path, table):
    with sqlite3.connect(path) as raw:
        return raw.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# -- opening and schema ------------------------------------------------------------------------

def test_first_open_creates_the_schema_in_wal_with_full_sync(tmp_path):
    with Records(tmp_path / "records.db") as records:
        assert records.schema_version == SCHEMA_VERSION
        assert records.durability == ("wal", "full")
    with sqlite3.connect(tmp_path / "records.db") as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_schema")}
    assert {"calls", "acd_events", "agent_states", "audit"} <= tables


def test_reopening_keeps_the_data(tmp_path):
    with Records(tmp_path / "records.db") as records:
        records.add_call(call(1))
    with Records(tmp_path / "records.db") as records:
        assert records.call("c00001") == call(1)


def test_a_newer_schema_is_left_alone(tmp_path):
    Records(tmp_path / "records.db").open().close()
    with sqlite3.connect(tmp_path / "records.db") as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RecordsTooNew, match="newer than this software"):
        Records(tmp_path / "records.db").open()


def test_a_file_that_is_not_sqlite_is_reported_corrupt(tmp_path):
    (tmp_path / "records.db").write_bytes(b"this is a wav file, honest" * 100)
    with pytest.raises(RecordsCorrupt, match=r"damaged or not a records database.*\.recover"):
        Records(tmp_path / "records.db").open()


def test_a_foreign_sqlite_database_is_not_adopted(tmp_path):
    with sqlite3.connect(tmp_path / "records.db") as raw:
        raw.execute("CREATE TABLE something_else (x)")
    with pytest.raises(RecordsCorrupt, match="not a records database"):
        Records(tmp_path / "records.db").open()


def test_a_missing_data_directory_names_the_remedy(tmp_path):
    with pytest.raises(RecordsReadOnly, match="does not exist; create it"):
        Records(tmp_path / "nowhere" / "records.db").open()


def test_use_after_close_is_an_error(tmp_path):
    records = Records(tmp_path / "records.db").open()
    records.close()
    records.close()
    with pytest.raises(RecordsClosed, match="used while closed"):
        records.calls(0, T0)


# -- writing and reading back -----------------------------------------------------------------

def test_every_kind_of_record_comes_back_equal(records):
    event = AcdEvent(T0, "offered", call_id="c00001", queue="cards", agent="agent1",
                     data={"attempt": 1, "skills": ["zh"]})
    state = AgentStateChange(T0, "agent1", "ready", "not-ready", "lunch")
    entry = AuditEntry(T0, "alice", "published config 8", "--- a\n+++ b\n")
    assert records.append_many([call(1), event, state, entry]) == 4
    assert records.call("c00001") == call(1)
    assert records.events(T0, T0 + 1) == [event]
    assert records.agent_history("agent1") == [state]
    assert records.audit() == [entry]


def test_minimal_call_record_round_trips(records):
    bare = CallRecord(call_id="x", started_at=T0, ended_at=T0 + 4, caller="", dialled="95566",
                      port="fxo0", config_version=1, outcome="abandoned-in-ivr",
                      hangup_side="caller")
    records.add_call(bare)
    assert records.call("x") == bare
    assert records.call("x").outcome is Outcome.ABANDONED_IN_IVR


def test_times_are_stored_as_epoch_and_iso_utc(records, tmp_path):
    records.add_call(call(0, started_at=T0, answered_at=None, ended_at=T0 + 1.25))
    with sqlite3.connect(tmp_path / "records.db") as raw:
        row = raw.execute("SELECT started_epoch, started_utc, answered_utc, ended_utc "
                          "FROM calls").fetchone()
    assert row == (T0, "2026-11-18T11:06:40.000Z", None, "2026-11-18T11:06:41.250Z")


def test_calls_between_times_and_by_queue_and_agent(records):
    records.append_many(call(n) for n in range(10))
    assert [c.call_id for c in records.calls(T0 + 120, T0 + 300)] == \
        ["c00002", "c00003", "c00004"]  # since inclusive, until exclusive
    assert [c.call_id for c in records.calls(0, T0 + DAY, queue="cards")] == \
        ["c00001", "c00003", "c00005", "c00007", "c00009"]
    assert [c.call_id for c in records.calls(0, T0 + DAY, queue="cards", agent="agent0")] == \
        ["c00003", "c00009"]


def test_events_replay_in_append_order_even_with_equal_times(records):
    events = [AcdEvent(T0, name, call_id="c1", queue="cards")
              for name in ("arrived", "announced", "offered", "answered")]
    records.append_many(events[:2])
    records.add_event(events[2])
    records.add_event(events[3])
    records.add_event(AcdEvent(T0, "arrived", call_id="c2", queue="loans"))
    assert records.events(T0, T0 + 1, call_id="c1") == events
    assert [e.call_id for e in records.events(T0, T0 + 1, queue="loans")] == ["c2"]


def test_latest_agent_states_take_the_last_change_of_each_agent(records):
    records.append_many([
        AgentStateChange(T0, "a1", "logged-out", "ready"),
        AgentStateChange(T0, "a2", "logged-out", "ready"),
        AgentStateChange(T0 + 5, "a1", "ready", "busy"),
        AgentStateChange(T0 + 5, "a1", "busy", "wrap-up"),
    ])
    assert records.latest_agent_states() == {
        "a1": AgentStateChange(T0 + 5, "a1", "busy", "wrap-up"),
        "a2": AgentStateChange(T0, "a2", "logged-out", "ready"),
    }


def test_exports_iterate_past_one_fetch_chunk(records):
    records.append_many(call(n, recording=None) for n in range(1234))
    ids = [c.call_id for c in records.iter_calls()]
    assert ids == [f"c{n:05d}" for n in range(1234)]
    assert sum(1 for _ in records.iter_calls(T0 + 60 * 1000)) == 234


def test_a_batch_with_a_duplicate_call_stores_nothing(records, tmp_path):
    records.add_call(call(1))
    with pytest.raises(DuplicateRecord, match=r"c00001 already stored.*nothing of this batch"):
        records.append_many([call(2), AcdEvent(T0, "x"), call(1)])
    assert count(tmp_path / "records.db", "calls") == 1
    assert count(tmp_path / "records.db", "acd_events") == 0
    with pytest.raises(DuplicateRecord, match="c00003"):
        records.append_many([call(3), call(3)])


def test_typed_adders_refuse_the_wrong_kind(records):
    with pytest.raises(RecordRefused, match="expected a CallRecord, got AcdEvent"):
        records.add_call(AcdEvent(T0, "x"))
    with pytest.raises(RecordRefused, match="cannot store a dict"):
        records.append_many([{"call_id": "c1"}])


def test_data_that_is_not_json_is_refused(records):
    with pytest.raises(RecordRefused, match="field data is not plain JSON"):
        records.add_event(AcdEvent(T0, "x", data={"when": object()}))
    with pytest.raises(RecordRefused, match="host_results is not plain JSON"):
        records.add_call(call(1, host_results={"balance": float("nan")}))


@pytest.mark.parametrize(("changes", "message"), [
    ({"ended_at": T0 - 1}, "ended_at .* is before started_at"),
    ({"answered_at": T0 + 10 ** 6}, "answered_at .* is outside the call"),
    ({"outcome": "hung-up"}, "outcome 'hung-up' is not one of: self-served, answered"),
    ({"hangup_side": "network"}, "hangup_side 'network' is not one of"),
    ({"survey_score": 10}, "not one key"),
    ({"wait_seconds": -1.0}, "wait_seconds is -1.0"),
    ({"call_id": ""}, "call_id is empty"),
    ({"started_at": float("nan")}, "give UTC epoch seconds"),
    ({"recording": "/etc/passwd"}, "not a file under recordings/"),
    ({"recording": "recordings/../../etc/passwd"}, "not a file under recordings/"),
    ({"recording": "prompts/welcome.wav"}, "not a file under recordings/"),
])
def test_bad_call_values_are_refused_where_they_are_made(changes, message):
    with pytest.raises(RecordRefused, match=message):
        call(0, **changes)


# -- the card-number guard --------------------------------------------------------------------

@pytest.mark.parametrize("pan", [
    "4111111111111111",        # Visa test number, 16 digits
    "6212345678901265",        # UnionPay-style 62 prefix, Luhn-valid
    "4222222222222",           # 13 digits
    "378282246310005",         # 15 digits (Amex test number)
    "6212345678901234569",     # 19 digits
])
def test_luhn_accepts_valid_card_numbers(pan):
    assert luhn_ok(pan)
    assert find_pan(f"card {pan}.") == pan


@pytest.mark.parametrize("text", [
    "4111111111111112",                 # fails Luhn
    "411111111111",                     # 12 digits: too short
    "41111111111111111111",             # 20 digits: a reference number, not a card
    "ref 2026-11-18 11:06:40 A17",
    "******1234",
])
def test_guard_lets_innocent_text_through(text):
    assert find_pan(text) is None


@pytest.mark.parametrize("changes", [
    {"host_results": {"card": "4111111111111111"}},
    {"host_results": {"card": 4111111111111111}},
    {"ivr_path": (TraceStep(T0, "digits", "card-entry", "card = 4111 1111 1111 1111"),)},
    {"hangup_reason": "caller said 4111-1111-1111-1111"},
    {"caller": "4111111111111111"},
])
def test_a_full_card_number_in_any_text_field_is_refused(records, tmp_path, changes):
    with pytest.raises(SensitiveDataRefused, match=r"411111\*\*\*\*\*\*1111, 16 digits") as err:
        records.append_many([call(2), call(1, **changes)])
    assert "4111111111111111" not in str(err.value)
    assert count(tmp_path / "records.db", "calls") == 0


def test_guard_covers_events_states_and_audit(records):
    for record in (AcdEvent(T0, "x", data={"pan": "6212345678901265"}),
                   AcdEvent(T0, "x", call_id="4222222222222"),
                   AgentStateChange(T0, "a1", "ready", "busy", "6212345678901265"),
                   AuditEntry(T0, "alice", "typed 6212345678901265")):
        with pytest.raises(SensitiveDataRefused, match="IVR must mask it"):
            records.append_many([record])


def test_phone_numbers_up_to_e164_length_are_not_taken_for_cards(records):
    luhn_phone = "8613912345677"  # 13 digits, +86 mobile, happens to pass Luhn
    assert luhn_ok(luhn_phone)
    trace = (TraceStep(T0, "start", "", f"call c00001 from +{luhn_phone} to 95566"),)
    records.add_call(call(1, caller=f"+{luhn_phone}", ivr_path=trace))
    records.add_event(AcdEvent(T0, "ENTERQUEUE", "c00001", "cards", data={"detail": luhn_phone}))
    records.add_audit(AuditEntry(T0, "alice", "VIP list", f"+  - '{luhn_phone}'\n"))
    assert records.call("c00001").caller == f"+{luhn_phone}"


def test_only_the_calls_own_numbers_are_exempt_in_its_trace(records):
    other = "8613912345677"  # Luhn-valid, but not this call's number
    trace = (TraceStep(T0, "digits", "account", f"account = {other}"),)
    with pytest.raises(SensitiveDataRefused, match="field ivr_path"):
        records.add_call(call(1, caller="13912345678", ivr_path=trace))


# -- locks and disk errors, mapped in one place --------------------------------------------

def test_a_writer_blocked_by_another_process_gets_records_locked(tmp_path):
    Records(tmp_path / "records.db").open().close()
    other = sqlite3.connect(tmp_path / "records.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with Records(tmp_path / "records.db", busy_timeout=0) as records:
            with pytest.raises(RecordsLocked, match="locked by another process"):
                records.add_call(call(1))
            assert records.calls(0, T0 + DAY) == []  # readers still read under WAL
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_full_disk_maps_to_records_disk_full(tmp_path):
    raw = sqlite3.connect(tmp_path / "tiny.db")
    raw.execute("CREATE TABLE t (x)")
    raw.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.Error) as real:
        raw.execute("INSERT INTO t VALUES (zeroblob(100000))")
    raw.close()
    mapped = map_sqlite_error(real.value, tmp_path / "tiny.db", "writing 1 records")
    assert isinstance(mapped, RecordsDiskFull)
    assert "disk is full" in str(mapped)
    assert "nothing of this write was stored" in str(mapped)


# -- retention ---------------------------------------------------------------------------------

def test_expire_deletes_by_age_and_returns_recordings_to_delete(records):
    records.append_many([
        call(0, started_at=T0 - 400 * DAY, answered_at=None, ended_at=T0 - 400 * DAY + 5,
             recording="recordings/old.wav"),
        call(1, started_at=T0 - 40 * DAY, answered_at=None, ended_at=T0 - 40 * DAY + 5,
             recording="recordings/month.wav"),
        call(2, started_at=T0 - 1 * DAY, answered_at=None, ended_at=T0 - DAY + 5,
             recording="recordings/new.wav"),
        call(3, started_at=T0 - 500 * DAY, answered_at=None, ended_at=T0 - 500 * DAY + 5,
             recording=None),
        AcdEvent(T0 - 100 * DAY, "old"), AcdEvent(T0 - 10 * DAY, "recent"),
        AgentStateChange(T0 - 366 * DAY, "a1", "ready", "busy"),
        AuditEntry(T0 - 9999 * DAY, "root", "installed"),
    ])
    expired = records.expire(T0, RetentionPolicy())
    assert expired == Expired(calls=2, events=1, agent_states=1, audit=0,
                              recordings=("recordings/old.wav", "recordings/month.wav"))
    assert [c.call_id for c in records.calls(0, T0 + DAY)] == ["c00001", "c00002"]
    assert records.call("c00001").recording is None
    assert records.call("c00002").recording == "recordings/new.wav"
    assert [e.name for e in records.events(0, T0)] == ["recent"]
    assert records.audit()[0].what == "installed"
    assert records.expire(T0, RetentionPolicy()) == Expired()


def test_keeping_calls_for_ever_still_expires_recordings(records):
    records.add_call(call(0, started_at=T0 - 40 * DAY, answered_at=None,
                          ended_at=T0 - 40 * DAY + 5))
    policy = RetentionPolicy(calls_days=None, recordings_days=30)
    assert records.expire(T0, policy).recordings == ("recordings/2026/11/c00000.wav",)
    assert records.call("c00000") is not None


def test_retention_policy_rejects_nonsense_days():
    with pytest.raises(ValueError, match="recordings_days is 0; give a number of days > 0"):
        RetentionPolicy(recordings_days=0)


def test_remove_recordings_deletes_only_inside_the_recordings_directory(tmp_path):
    (tmp_path / "recordings" / "2026").mkdir(parents=True)
    kept = tmp_path / "precious.txt"
    kept.write_text("not a recording")
    (tmp_path / "recordings" / "2026" / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "recordings" / "evil.wav").symlink_to(kept)

    assert remove_recordings(tmp_path, ["recordings/2026/a.wav", "recordings/gone.wav"]) == \
        ["recordings/2026/a.wav"]
    assert not (tmp_path / "recordings" / "2026" / "a.wav").exists()

    with pytest.raises(RecordRefused, match=r"outside .*recordings"):
        remove_recordings(tmp_path, ["recordings/2026/b.wav", "recordings/evil.wav"])
    with pytest.raises(RecordRefused, match="not a file under recordings/"):
        remove_recordings(tmp_path, ["../precious.txt"])
    assert kept.read_text() == "not a recording"


def test_integrity_check_of_a_healthy_file_is_clean(records):
    records.append_many(call(n) for n in range(50))
    assert records.integrity_problems() == []


def test_an_empty_sqlite_file_is_migrated(tmp_path):
    sqlite3.connect(tmp_path / "records.db").close()  # version 0, no tables
    with Records(tmp_path / "records.db") as records:
        assert records.schema_version == SCHEMA_VERSION
        records.add_call(call(1))


def test_a_second_connection_reads_what_the_writer_committed(tmp_path):
    with Records(tmp_path / "records.db") as writer, \
            Records(tmp_path / "records.db") as reader:
        assert reader.calls(0, T0 + DAY) == []
        writer.append_many([call(1), call(2)])
        assert [c.call_id for c in reader.calls(0, T0 + DAY)] == ["c00001", "c00002"]


def _with_check_digit(body):
    return next(body + str(d) for d in range(10) if luhn_ok(body + str(d)))


@settings(deadline=None)
@given(body=st.text("0123456789", min_size=12, max_size=18),
       before=st.text("abc :/=", max_size=5), after=st.text("xyz .,", max_size=5))
def test_any_luhn_valid_13_to_19_digits_are_found_in_text(body, before, after):
    pan = _with_check_digit(body)
    assert find_pan(f"{before}{pan}{after}") == pan


@settings(deadline=None)
@given(body=st.text("0123456789", min_size=12, max_size=18))
def test_masked_card_numbers_pass_the_guard(body):
    pan = _with_check_digit(body)
    masked = pan[:6] + "*" * (len(pan) - 10) + pan[-4:]
    assert find_pan(masked) is None
    assert find_pan(pan[-4:].rjust(len(pan), "*")) is None
