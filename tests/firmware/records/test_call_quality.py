"""A SIP call's media quality in its call record, on real SQLite files: stored and read back,
empty for analog calls, added to a version 5 file by the migration (its calls kept, their
quality empty), summed for the reports page and written in the calls CSV."""

import csv
import io
import sqlite3
from zoneinfo import ZoneInfo

import pytest

from branchline.firmware.records.database import CallRecord, RecordRefused, Records
from branchline.firmware.records.quality import quality_summary
from branchline.firmware.records.schema import MIGRATIONS, SCHEMA_VERSION
from branchline.firmware.records.types import CallQuality
from branchline.firmware.web.reports import export_csv

T0 = 1_795_000_000.0
GOOD = CallQuality(loss_percent=0.0, jitter_ms=1.25, rtt_ms=0.4, r=93.2, mos=4.41)
POOR = CallQuality(loss_percent=7.5, jitter_ms=31.0, rtt_ms=None, r=61.3, mos=3.14)


def record(n, quality, port="sip1"):
    return CallRecord(call_id=f"c{n}", started_at=T0 + n, ended_at=T0 + n + 30,
                      caller="13912345678", dialled="075588880001", port=port,
                      config_version=1, outcome="self-served", hangup_side="caller",
                      quality=quality)


def test_a_sip_calls_quality_is_stored_with_its_record_and_an_analog_call_has_none(tmp_path):
    with Records(tmp_path / "records.db") as records:
        records.append_many([record(1, GOOD), record(2, POOR), record(3, None, port="fxo1")])
        assert records.call("c1").quality == GOOD
        assert records.call("c2").quality == POOR
        assert records.call("c3").quality is None


def test_a_quality_out_of_range_is_refused():
    with pytest.raises(RecordRefused, match="mos"):
        CallQuality(loss_percent=0.0, jitter_ms=0.0, rtt_ms=None, r=93.2, mos=float("nan"))
    with pytest.raises(RecordRefused, match="out of range"):
        CallQuality(loss_percent=120.0, jitter_ms=0.0, rtt_ms=None, r=0.0, mos=1.0)


def test_a_version_5_file_gets_the_quality_columns_and_keeps_its_calls(tmp_path):
    path = tmp_path / "records.db"
    raw = sqlite3.connect(path)
    for migration in MIGRATIONS[:5]:
        for step in migration:
            raw.execute(step) if isinstance(step, str) else step(raw)
    raw.execute("INSERT INTO calls (call_id, started_epoch, started_utc, ended_epoch, "
                "ended_utc, caller, dialled, port, config_version, language, ivr_path, "
                "host_results, wait_seconds, talk_seconds, wrapup_seconds, outcome, "
                "hangup_side, hangup_reason) VALUES ('c1', ?, '', ?, '', '13912345678', "
                "'95566', 'fxo1', 1, 'zh', '[]', '{}', 0, 0, 0, 'self-served', 'caller', '')",
                (T0, T0 + 30))
    raw.execute("PRAGMA user_version = 5")
    raw.commit()
    raw.close()
    with Records(path) as records:
        assert records.call("c1").quality is None
        records.add_call(record(2, POOR))
        assert records.call("c2").quality == POOR
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_the_summary_counts_sip_calls_only_and_lists_the_worst_first(tmp_path):
    with Records(tmp_path / "records.db") as records:
        records.append_many([record(1, GOOD), record(2, POOR), record(3, None, port="fxo1"),
                          record(4, GOOD)])
        summary = quality_summary(records, T0, T0 + 10, worst=2)
        empty = quality_summary(records, T0 + 100, T0 + 200)
    assert summary["calls"] == 3
    assert summary["mos_average"] == round((4.41 * 2 + 3.14) / 3, 2)
    assert summary["mos_lowest"] == 3.14
    assert [w["call_id"] for w in summary["worst"]] == ["c2", "c1"]
    assert summary["worst"][0]["rtt_ms"] is None and summary["worst"][1]["rtt_ms"] == 0.4
    assert empty["calls"] == 0 and empty["mos_average"] is None and empty["worst"] == []


def test_the_calls_csv_has_the_quality_columns_empty_for_analog_calls(tmp_path):
    path = tmp_path / "records.db"
    with Records(path) as records:
        records.append_many([record(1, POOR), record(2, None, port="fxo1")])
    text = export_csv(path, [], ZoneInfo("Asia/Shanghai"), T0 + 100, "calls", T0, T0 + 10)
    rows = {row["call_id"]: row for row in csv.DictReader(io.StringIO(text))}
    assert (rows["c1"]["loss_percent"], rows["c1"]["jitter_ms"], rows["c1"]["rtt_ms"],
            rows["c1"]["r"], rows["c1"]["mos"]) == ("7.5", "31.0", "", "61.3", "3.14")
    assert [rows["c2"][k] for k in ("loss_percent", "jitter_ms", "rtt_ms", "r", "mos")] == \
        [""] * 5
