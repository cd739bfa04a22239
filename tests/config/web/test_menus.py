"""The menus' report over HTTP and on its page, from the records of an appliance that took
real calls."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
from runtime_harness import bank_url, prompts_dir  # noqa: F401 (fixtures)
from web_harness import WebHarness

from branchline.config.web.diagram.traffic import Traffic
from branchline.firmware.records.visits import visits
from branchline.firmware.web.insight import FUNNEL_COLUMNS


@pytest.fixture(scope="module")
def day(tmp_path_factory, prompts_dir, bank_url):  # noqa: F811
    h = WebHarness(tmp_path_factory.mktemp("menus"), prompts_dir=prompts_dir,
                   bank_url=bank_url)
    supervisor, viewer = h.client("supervisor"), h.client("viewer")
    started = h.link.snapshot()["time"]
    h.run(150)
    records = h.close()
    assert records, "the scenario made no calls"
    span = {"start": started - 3600, "end": started + 3600}
    return h, supervisor, viewer, records, span


def test_the_funnel_counts_every_visit_of_the_calls_taken(day):
    h, supervisor, _, records, span = day
    reply = supervisor.get("/api/reports/menus", params={**span, "flow": "bank"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["funnel"]["version"] == h.store.current().info.number
    assert body["funnel"]["calls"] == len(records)
    entered = {}
    for r in records:
        for v in visits(r.ivr_path):
            entered[v.node] = entered.get(v.node, 0) + 1
    assert {n["node"]: n["entered"] for n in body["funnel"]["nodes"]} == entered
    assert body["containment"]["calls"] == body["repeats"]["calls"] == len(records)
    assert {"reasons", "calls"} <= body["reasons"].keys()


def test_the_funnel_as_csv(day):
    _, supervisor, _, records, span = day
    reply = supervisor.get("/api/reports/menus.csv", params={**span, "flow": "bank"})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert tuple(rows[0]) == FUNNEL_COLUMNS
    start = next(r for r in rows if r["node"] == "vip_check")
    assert int(start["entered"]) == len(records)


def test_a_version_compared_with_itself_has_equal_sides(day):
    h, supervisor, _, _, span = day
    version = h.store.current().info.number
    reply = supervisor.get("/api/reports/menus/compare",
                           params={**span, "flow": "bank", "before": version, "after": version})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["calls_before"] == body["calls_after"] > 0
    assert all(n["hang_up_rate_before"] == n["hang_up_rate_after"] for n in body["nodes"])


def test_unknown_flows_and_versions_say_what_there_is(day):
    _, supervisor, viewer, _, span = day
    reply = supervisor.get("/api/reports/menus", params={**span, "flow": "nope"})
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "no_flow"
    assert "its flows: bank" in reply.json()["error"]["message"]
    reply = supervisor.get("/api/reports/menus", params={**span, "flow": "bank",
                                                         "version": 999})
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "no_version"
    backwards = supervisor.get("/api/reports/menus",
                               params={"flow": "bank", "start": 200, "end": 100})
    assert backwards.status_code == 422
    assert backwards.json()["error"]["code"] == "bad_range"
    assert viewer.get("/api/reports/menus", params={"flow": "bank"}).status_code == 403


def test_the_page_draws_the_funnel_on_the_diagram_and_as_a_table(day):
    _, supervisor, viewer, records, _ = day
    reply = supervisor.get("/reports/menus", params={"flow": "bank"})
    assert reply.status_code == 200, reply.text
    page = reply.text
    assert "traffic-w5" in page           # the busiest edge of the diagram
    assert 'data-node="vip_check"' in page and 'id="funnel"' in page
    assert f"<td>vip_check</td><td class=\"num\">{len(records)}</td>" in page
    assert "/api/reports/menus.csv?flow=bank" in page
    # A node where nobody went is drawn apart, and the table names no such node.
    assert "no-traffic" in page
    assert viewer.get("/reports/menus").status_code == 403


def test_traffic_classes_grow_with_visits_and_rates():
    funnel = {"edges": [{"source": "a", "target": "b", "visits": 100},
                        {"source": "a", "target": "c", "visits": 4}],
              "nodes": [{"node": "a", "entered": 104, "calls": 100, "hang_up_rate": 0.3,
                         "escalation_rate": 0.12, "median_s": 4, "p90_s": 9}]}
    traffic = Traffic(funnel, lambda key, **kw: key)
    assert traffic.edge_class("a", "b") == "traffic-w5"
    assert traffic.edge_class("a", "c") == "traffic-w1"
    assert traffic.edge_class("b", "c") == "traffic-w0"
    assert traffic.node("a").classes == ("traffic", "hangup-high", "escalation-mid")
    assert traffic.node("zzz").classes == ("traffic", "no-traffic")


def test_the_flow_page_lists_the_routes_to_a_person_for_both_modes(day):
    _, supervisor, _, _, _ = day
    page = supervisor.get("/flows/bank").text
    rows = re.findall(r"<tr><td>([^<]+)</td><td>main_menu</td><td class=\"keys\">1 → 0</td>",
                      page)
    assert len(rows) == 2 and rows[0] != rows[1]


def test_one_caller_mode_at_a_time_in_the_api_the_csv_and_the_page(day):
    _, supervisor, _, records, span = day
    older = [r for r in records if any(s.what == "mode" for s in r.ivr_path)]
    counts = {}
    for mode in ("older", "standard"):
        reply = supervisor.get("/api/reports/menus", params={**span, "flow": "bank",
                                                             "mode": mode})
        assert reply.status_code == 200, reply.text
        assert reply.json()["mode"] == mode
        counts[mode] = reply.json()["funnel"]["calls"]
    assert counts == {"older": len(older), "standard": len(records) - len(older)}
    reply = supervisor.get("/api/reports/menus.csv", params={**span, "flow": "bank",
                                                             "mode": "standard"})
    assert reply.status_code == 200
    assert "-standard-" in reply.headers["content-disposition"]
    start = next(r for r in csv.DictReader(io.StringIO(reply.text)) if r["node"] == "vip_check")
    assert int(start["entered"]) == len(records) - len(older)
    bad = supervisor.get("/api/reports/menus", params={**span, "flow": "bank", "mode": "old"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "bad_mode"
    assert "give one of older, standard" in bad.json()["error"]["message"]
    page = supervisor.get("/reports/menus", params={"flow": "bank", "mode": "standard"}).text
    assert '<select id="mode" name="mode">' in page
    assert '<option value="standard" selected>' in page
    assert "mode=standard" in page  # the CSV link keeps the mode
    page = supervisor.get("/reports/menus", params={"flow": "bank", "mode": "old"}).text
    assert "Caller mode old is not known" in page or "来电者模式 old 不对" in page


def test_the_page_takes_the_containment_and_repeat_windows_in_minutes(day):
    _, supervisor, _, _, _ = day
    page = supervisor.get("/reports/menus", params={"flow": "bank", "window": 1440,
                                                    "repeat": 5}).text
    assert 'name="window" type="number" min="1" max="10080" value="1440"' in page
    assert 'name="repeat" type="number" min="1" max="10080" value="5"' in page
    # The figures are the API's with the same windows in seconds over the page's days.
    zone = ZoneInfo("Asia/Shanghai")
    days = [dt.date.fromisoformat(re.search(rf'name="{name}" type="date" value="([^"]+)"',
                                            page).group(1)) for name in ("since", "until")]
    start = dt.datetime.combine(days[0], dt.time(0), zone).timestamp()
    end = dt.datetime.combine(days[1] + dt.timedelta(days=1), dt.time(0), zone).timestamp()
    api = supervisor.get("/api/reports/menus", params={
        "flow": "bank", "start": start, "end": end, "window": 86400, "repeat": 300}).json()
    rows = re.search(r'<table class="grid" id="repeats">.*?</table>', page, re.S).group(0)
    for p in api["repeats"]["paths"]:
        assert f'<td class="num">{p["calls"]}</td><td class="num">{p["repeated"]}</td>' in rows
    assert f"{(api['containment']['containment'] or 0) * 100:.1f} %</h2>" in page
    bad = supervisor.get("/reports/menus", params={"flow": "bank", "window": 20000}).text
    assert ("20000 minutes is not a window: give 1 to 10080 minutes (a week)" in bad
            or "20000 分钟不行" in bad)
    assert 'name="window" type="number" min="1" max="10080" value="60"' in bad
