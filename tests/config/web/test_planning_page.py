"""The Planning page and its API over a real appliance with generated history in records.db:
the day per interval coloured short / fine / over, the day's shifts saved as roster versions
(bad shifts refused per row, in Chinese too; a stale base refused; audited), the roster check
run in a worker process and shown beside the Erlang figures, and a past day with what
happened and each agent's adherence; supervisors only."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from planning_history import generate, queue_events
from web_harness import WebHarness

from branchline.acd.planning import Calendar
from branchline.config.web.worker import Worker
from branchline.firmware.records.cdr import acd_row
from branchline.firmware.records.database import Records

TODAY = dt.date(2026, 11, 24)  # the harness's virtual day
COMING = "2026-11-25"
PAST = "2026-11-17"  # a Tuesday the generated records hold
MORNING = [{"agent": "1001", "start": "09:00", "end": "12:00", "breaks": []},
           {"agent": "1002", "start": "09:00", "end": "10:00", "breaks": []}]


@pytest.fixture(scope="module")
def site(tmp_path_factory, prompts_dir, bank_url):
    harness = WebHarness(tmp_path_factory.mktemp("planning"), prompts_dir=prompts_dir,
                         bank_url=bank_url)
    history = generate(dt.date(2026, 9, 21), 58, Calendar(), seed=3, base=2.0)
    with Records(harness.runtime.app.data.records_db) as records:
        records.append_many(acd_row(e, 0.0) for e in queue_events(
            history, ZoneInfo("Asia/Shanghai"), agents=("1001", "1002")))
    yield harness
    harness.close()


def _rows(html: str, table: str) -> dict[str, str]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return {m.group(1): m.group(0) for m in re.finditer(
        r'<tr data-slot="\d+"><td>(\d\d:\d\d)</td>.*?</tr>', body, re.S)}


def _audit(site):
    return [(e["who"], e["what"]) for e in site.link.audit_entries(0)]


def test_saving_shifts_makes_roster_versions_and_bad_ones_are_refused_per_row(site):
    supervisor = site.client("supervisor", name="planner")
    bad = [{"agent": "1001", "start": "09:00", "end": "08:00", "breaks": []},
           {"agent": "1009", "start": "9", "end": "17:00",
            "breaks": [{"start": "18:00", "end": "18:30"}]}]
    reply = supervisor.put(f"/api/planning/{COMING}/roster",
                           json={"base": None, "note": "", "shifts": bad},
                           headers={"Accept-Language": "zh"})
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "roster_invalid"
    assert [(i["path"], i["message"]) for i in error["issues"]] == [
        ("shifts.1.start", "'9' is not a time of day")]
    assert error["issues"][0]["said"] == {"message": "'9' 不是一天中的时刻",
                                          "fix": "写成 HH:MM，例如 12:30"}
    bad[1]["start"] = "09:00"
    reply = supervisor.put(f"/api/planning/{COMING}/roster",
                           json={"base": None, "shifts": bad})
    issues = reply.json()["error"]["issues"]
    assert [i["path"] for i in issues] == ["shifts.0", "shifts.1.agent", "shifts.1.breaks.0"]
    assert issues[1]["fix"].startswith("use one of 1001, 1002")
    assert not (site.data_dir / "rosters" / "versions").exists()  # nothing published

    reply = supervisor.put(f"/api/planning/{COMING}/roster",
                           json={"base": None, "note": "week 48", "shifts": MORNING})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"version": 1, "day": COMING, "shifts": 2}
    past = [{**MORNING[0], "breaks": [{"start": "10:00", "end": "10:30"}]}, MORNING[1]]
    assert supervisor.put(f"/api/planning/{PAST}/roster",
                          json={"base": 1, "shifts": past}).json()["version"] == 2
    stale = supervisor.put(f"/api/planning/{COMING}/roster", json={"base": 1, "shifts": []})
    assert stale.status_code == 409 and "now v2" in stale.json()["error"]["message"]
    assert [(who, what) for who, what in _audit(site) if what.startswith("roster")] == [
        ("planner", f"roster v1: {COMING} saved, 2 shifts"),
        ("planner", f"roster v2: {PAST} saved, 2 shifts")]
    # Both days are in the version in force.
    text = (site.data_dir / "rosters" / "versions" / "000002.yaml").read_text()
    assert text.count("day: 2026-11-25") == 2 and text.count("day: 2026-11-17") == 2


def test_the_page_shows_the_day_per_interval_with_the_gap_coloured(site):
    supervisor = site.client("supervisor", language="zh")
    page = supervisor.get(f"/planning?day={COMING}")
    assert page.status_code == 200
    html = page.text
    assert "星期三" in html and "当前排班表：v2" in html
    rows = _rows(html, "plan")
    assert "09:00" in rows and "16:45" in rows
    # 09:00 has both agents, 10:00 one, 12:00 nobody: the forecast asks for one or two.
    scheduled = {label: int(re.findall(r'<td class="num">(\d+)</td>', row)[-1])
                 for label, row in rows.items()}
    assert scheduled["09:00"] == 2 and scheduled["10:00"] == 1 and scheduled["12:00"] == 0
    assert 'class="num gap short"' in rows["12:00"] and "人手不足" in rows["12:00"]
    statuses = {re.search(r'gap (short|fine|over)', row).group(1) for row in rows.values()}
    assert "short" in statuses and statuses & {"fine", "over"}
    # The editor holds the day's two shifts; the check has not run for this version yet.
    assert html.count('<tr class="shift-row">') == 2 + 1  # and the template's row
    assert 'id="no-check"' in html
    assert "<svg" in html  # the staffing chart
    english = site.client("supervisor", language="en").get(f"/planning?day={COMING}").text
    assert "Wednesday" in english and "Needed on shift" in english


def test_the_check_runs_in_a_worker_and_the_page_shows_it_beside_erlang(site):
    supervisor = site.client("supervisor", name="checker")
    reply = supervisor.post(f"/api/planning/{COMING}/check")
    assert reply.status_code == 200, reply.text
    result = reply.json()
    assert result["roster"] == 2 and [r["label"] for r in result["rows"]][:2] == \
        ["09:00", "09:15"]
    assert all(r["gap"] == r["scheduled"] - r["needed"] for r in result["rows"])
    assert any(r["sl_sim"] is not None for r in result["rows"])
    assert ("checker", f"roster v2: checked on {COMING}") in _audit(site)
    # It simulated in its own directory and kept its result there for the page.
    assert (site.data_dir / "plan-check" / "records.db").exists()
    assert (site.data_dir / "plan-check" / "results" / f"{COMING}-v2.json").exists()
    html = supervisor.get(f"/planning?day={COMING}").text
    checked = _rows(html, "check")
    assert list(checked)[:2] == ["09:00", "09:15"]
    first = result["rows"][0]
    cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', checked["09:00"])
    assert cells[:6] == [f"{first['calls']:.1f}", str(first["erlang_c"]),
                         str(first["erlang_a"]), str(first["needed"]), "2",
                         f"{first['gap']:+d}"]
    assert html.count("<svg") == 3  # staffing, service level, abandon rate


def test_a_past_day_shows_what_happened_and_adherence(site):
    supervisor = site.client("supervisor")
    view = supervisor.get(f"/api/planning/{PAST}").json()
    assert view["kind"] == "tue" and view["roster"] == 2
    assert sum(h["offered"] for h in view["happened"].values()) > 0
    agents = {a["agent"]: a for a in view["adherence"]["agents"]}
    assert set(agents) == {"1001", "1002"}
    # 1001's roster breaks 10:00-10:30; the records have them on the phones then.
    worst = view["adherence"]["worst"]
    assert [(w["agent"], w["label"]) for w in worst] == [("1001", "10:00"), ("1001", "10:15")]
    assert worst[0]["scheduled_break_s"] == 900 and worst[0]["deviation_s"] == 900
    html = supervisor.get(f"/planning?day={PAST}").text
    assert 'id="adherence"' in html and 'id="deviations"' in html
    # Checked after the day: what happened stands beside the check, in its table and charts.
    assert supervisor.post(f"/api/planning/{PAST}/check").status_code == 200
    html = supervisor.get(f"/planning?day={PAST}").text
    head = html.split('id="check"', 1)[1].split("</thead>", 1)[0]
    assert "Calls offered" in head and "Service level, what happened" in head
    offered = {slot: h["offered"] for slot, h in view["happened"].items()}
    nine = _rows(html, "check")["09:00"]
    assert re.findall(r'<td class="num">(\d+)</td>', nine)[-1] == str(offered.get("36", 0))
    assert html.count("what happened</text>") >= 2  # the legends of both rate charts


def test_only_supervisors_and_admins_plan(site):
    viewer = site.client("viewer")
    assert viewer.get(f"/planning?day={COMING}").status_code == 403
    assert viewer.get(f"/api/planning/{COMING}").status_code == 403
    assert viewer.post(f"/api/planning/{COMING}/check").status_code == 403
    admin = site.client("admin")
    assert admin.get(f"/api/planning/{COMING}?queue=nope").json()["error"]["code"] == \
        "unknown_queue"
    assert admin.get("/api/planning/2031-01-01").json()["error"]["code"] == "bad_day"
    assert admin.get("/api/planning/2026-13-01").json()["error"]["code"] == "bad_day"


def test_the_check_runs_in_a_worker_process_under_its_limits(site):
    """Heavy work never runs in the web's threads: a check's worker with a 50 ms limit is
    stopped there and the request says so; the next check uses the normal worker. (A CPU
    limit is no test here: a fast machine finishes the check inside the least one, 1 s.)"""
    planning = site.link.planning_work
    normal = planning.check_worker
    planning.check_worker = Worker(wall_s=0.05, jobs=1)
    try:
        reply = site.client("supervisor", name="limited").post(f"/api/planning/{COMING}/check")
    finally:
        planning.check_worker.close()
        planning.check_worker = normal
    assert reply.status_code == 503, reply.text
    assert reply.json()["error"]["code"] == "work_too_heavy"
    assert "stopped after 0.05 s" in reply.json()["error"]["message"]
