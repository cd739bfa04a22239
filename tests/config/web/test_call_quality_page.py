"""The SIP calls' media quality on the reports page and in the KPI report, from records in the
appliance's real records database; a day without SIP calls says so, in both languages."""

from __future__ import annotations

import pytest
from web_harness import WebHarness

from branchline.config.data_dir import DataDir
from branchline.firmware.records.database import CallRecord, Records
from branchline.firmware.records.types import CallQuality


@pytest.fixture(scope="module")
def site(tmp_path_factory, prompts_dir, bank_url):
    harness = WebHarness(tmp_path_factory.mktemp("quality"), prompts_dir=prompts_dir,
                         bank_url=bank_url)
    now = harness.link.snapshot()["time"]
    qualities = {"sip-good": CallQuality(0.0, 1.2, 0.5, 93.2, 4.41),
                 "sip-poor": CallQuality(8.25, 35.5, None, 58.7, 3.02)}
    with Records(DataDir(harness.data_dir).records_db) as records:
        records.append_many([
            CallRecord(call_id=call_id, started_at=now - 60 + n, ended_at=now - 30,
                       caller="13912345678", dialled="075588880001", port="sip1",
                       config_version=1, outcome="self-served", hangup_side="caller",
                       quality=quality)
            for n, (call_id, quality) in enumerate(qualities.items())])
    yield harness, now
    harness.close()


def test_the_report_holds_the_sip_calls_quality_worst_first(site):
    harness, now = site
    body = harness.client("supervisor").get(
        "/api/reports/kpis", params={"start": now - 3600, "end": now + 3600}).json()
    quality = body["quality"]
    assert quality["calls"] == 2 and quality["mos_lowest"] == 3.02
    assert [w["call_id"] for w in quality["worst"]] == ["sip-poor", "sip-good"]


@pytest.mark.parametrize(("language", "title"), [("en", "SIP call quality"),
                                                 ("zh", "SIP 通话质量")])
def test_the_reports_page_shows_the_worst_calls(site, language, title):
    harness, _ = site
    page = harness.client("supervisor", language=language).get("/reports").text
    assert title in page
    worst = page.split('id="quality-worst"', 1)[1].split("</table>", 1)[0]
    assert worst.index("sip-poor") < worst.index("sip-good")
    assert '<td class="num">8.2</td><td class="num">35.5</td><td class="num"></td>' in worst
    assert '<td class="num">3.02</td>' in worst


def test_a_day_without_sip_calls_says_so(site):
    harness, _ = site
    page = harness.client("supervisor").get("/reports?day=2020-01-01").text
    assert "No SIP calls in this period" in page and 'id="quality-worst"' not in page
