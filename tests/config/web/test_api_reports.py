"""Reports from the real records database of an appliance that took real (simulated) calls."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest
from runtime_harness import bank_url, prompts_dir  # noqa: F401 (fixtures)
from web_harness import WebHarness

from branchline.firmware.ops.report import AGENT_COLUMNS, QUEUE_COLUMNS
from branchline.firmware.records.database import Records
from branchline.firmware.web.reports import CALL_COLUMNS


@dataclass(frozen=True, slots=True)
class Day:
    h: WebHarness
    supervisor: object
    viewer: object
    records: list
    range: dict  # start/end query parameters around the day's traffic



@pytest.fixture(scope="module")
def day(tmp_path_factory, prompts_dir, bank_url):  # noqa: F811
    """Two minutes of traffic (callers who want the balance, then a person), all recorded."""
    h = WebHarness(tmp_path_factory.mktemp("reports"), prompts_dir=prompts_dir,
                   bank_url=bank_url)
    supervisor = h.client("supervisor")
    viewer = h.client("viewer")
    started = h.link.snapshot()["time"]
    h.run(120)
    records = h.close()
    assert records, "the scenario made no calls"
    return Day(h, supervisor, viewer, records, {"start": started - 3600, "end": started + 3600})


def test_kpis_per_queue_agent_and_interval(day):
    supervisor, records, span = day.supervisor, day.records, day.range
    reply = supervisor.get("/api/reports/kpis", params={**span, "interval": 900})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    answered = sum(1 for r in records if str(r.outcome) == "answered")
    queues = {q["name"]: q for q in body["queues"]}
    assert sum(q["answered"] for q in queues.values()) == answered > 0
    assert sum(q["offered"] for q in queues.values()) >= answered
    assert {a["id"] for a in body["agents"]} >= {"1001"}
    assert sum(i["answered"] for i in body["intervals"]) == answered
    assert all(i["start"] % 900 == 0 for i in body["intervals"])
    first = next(iter(queues.values()))
    assert {"target_percent", "target_s", "service_level", "asa_s"} <= first.keys()


def test_kpis_without_interval_leave_the_intervals_out(day):
    supervisor, span = day.supervisor, day.range
    body = supervisor.get("/api/reports/kpis", params=span).json()
    assert "intervals" not in body
    assert body["interval_s"] is None


def test_calls_csv_has_a_row_per_call_record(day):
    supervisor, records, span = day.supervisor, day.records, day.range
    reply = supervisor.get("/api/reports/export.csv", params={**span, "kind": "calls"})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")
    assert "attachment" in reply.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(reply.text)))
    assert tuple(rows[0]) == CALL_COLUMNS
    assert [r[0] for r in rows[1:]] == [r.call_id for r in records]


@pytest.mark.parametrize(("kind", "columns"), [("intervals", QUEUE_COLUMNS),
                                               ("agents", AGENT_COLUMNS)])
def test_interval_and_agent_csv(day, kind, columns):
    supervisor, span = day.supervisor, day.range
    reply = supervisor.get("/api/reports/export.csv", params={**span, "kind": kind})
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert reply.status_code == 200
    assert tuple(rows[0]) == columns
    if kind == "intervals":
        assert rows[-1]["interval"] == "day"
    else:
        assert "1001" in {r["agent"] for r in rows}


def test_queue_log_is_asterisks_format(day):
    h, supervisor, span = day.h, day.supervisor, day.range
    reply = supervisor.get("/api/reports/queue_log", params=span)
    lines = reply.text.splitlines()
    assert reply.status_code == 200
    assert any(line.split("|")[4] == "ENTERQUEUE" for line in lines)
    assert any(line.split("|")[4] == "ADDMEMBER" for line in lines)
    with Records(h.data_dir / "records.db") as records:
        entered = sum(1 for e in records.iter_events() if e.name == "ENTERQUEUE")
    assert sum(1 for line in lines if "|ENTERQUEUE|" in line) == entered


def test_viewer_may_not_read_reports(day):
    viewer = day.viewer
    for path in ("/api/reports/kpis", "/api/reports/export.csv", "/api/reports/queue_log"):
        reply = viewer.get(path)
        assert reply.status_code == 403, path
        assert reply.json()["error"]["code"] == "forbidden"


def test_bad_ranges_and_intervals_say_what_is_right(day):
    supervisor, span = day.supervisor, day.range
    backwards = supervisor.get("/api/reports/kpis", params={"start": 200, "end": 100})
    assert backwards.status_code == 422
    assert backwards.json()["error"] == {
        "code": "bad_range",
        "message": "report range: end (100.0) is not after start (200.0); give start < end "
                   "in UTC epoch seconds"}
    odd = supervisor.get("/api/reports/kpis", params={**span, "interval": 1000})
    assert odd.status_code == 422
    assert odd.json()["error"]["code"] == "bad_interval"
    kind = supervisor.get("/api/reports/export.csv", params={"kind": "cdr"})
    assert kind.status_code == 422
    assert kind.json()["error"]["issues"][0]["path"] == "query.kind"
