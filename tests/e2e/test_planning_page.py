"""The Planning page in headless Chromium: a supervisor adds two shifts for tomorrow (one with
a break), a bad break is refused on its row, the fixed roster is saved as a new version, the
check button runs the day through the event-mode simulator and the page shows the simulated
service level per interval beside the Erlang figures."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from planning_history import generate, queue_events
from playwright.sync_api import expect
from web_harness import PASSWORD, WebHarness

from branchline.acd.planning import Calendar
from branchline.firmware.records.cdr import acd_row
from branchline.firmware.records.database import Records

COMING = "2026-11-25"  # the day after the harness's virtual day
# A check simulates a branch day in a worker process: seconds alone, more on a loaded shared
# machine. Generous, since the figure under test is the table, not the time.
CHECK_TIMEOUT_MS = 300_000
# Each page load works out the day's plan from 58 days of records in a worker process.
PAGE_MS = 60_000


def test_a_supervisor_edits_the_roster_saves_it_and_checks_the_day(
        tmp_path, prompts_dir, bank_url, browser, serve, shoot):
    harness = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url)
    history = generate(dt.date(2026, 9, 21), 58, Calendar(), seed=3, base=2.0)
    with Records(harness.runtime.app.data.records_db) as records:
        records.append_many(acd_row(e, 0.0) for e in queue_events(
            history, ZoneInfo("Asia/Shanghai"), agents=("1001", "1002")))
    harness.client("supervisor", name="planner", language="en")
    try:
        with serve(harness.web) as base:
            page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{base}/login?next=/planning%3Fday%3D{COMING}")
            page.fill("#name", "planner")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_have_text("Workforce planning", timeout=PAGE_MS)
            expect(page.locator("#roster-version")).to_contain_text("No roster yet")
            expect(page.locator("#plan tbody tr[data-slot]").first).to_be_visible()

            page.click("#add-shift")
            first = page.locator("#shifts tr.shift-row").nth(0)
            first.locator(".shift-agent").select_option("1001")
            first.locator(".shift-start").fill("09:00")
            first.locator(".shift-end").fill("13:00")
            first.locator(".shift-breaks").fill("14:00-14:15")  # outside the shift
            page.click("#add-shift")
            second = page.locator("#shifts tr.shift-row").nth(1)
            second.locator(".shift-agent").select_option("1002")
            second.locator(".shift-start").fill("09:00")
            second.locator(".shift-end").fill("11:00")
            page.click("#save-roster")
            expect(first).to_have_class(re.compile(r"\bhas-issue\b"), timeout=PAGE_MS)
            expect(page.locator("#roster-form .issues")).to_contain_text(
                "shifts.0.breaks.0: the break 14:00-14:15 is not inside the shift 09:00-13:00")
            expect(page.locator("#roster-version")).to_contain_text("No roster yet")

            first.locator(".shift-breaks").fill("11:00-11:15")
            page.fill("#roster-note", "Wednesday morning")
            page.click("#save-roster")
            expect(page.locator("#roster-version")).to_have_text("Roster in force: v1",
                                                                 timeout=PAGE_MS)
            expect(page.locator("#shifts tr.shift-row")).to_have_count(2)
            expect(page.locator("#shifts .shift-breaks").first).to_have_value("11:00-11:15")
            nine = page.locator('#plan tr[data-slot="36"]')  # 09:00: both on shift
            expect(nine.locator("td").nth(5)).to_have_text("2")

            page.click("#check-roster")
            table = page.locator("#check")
            expect(table).to_be_visible(timeout=CHECK_TIMEOUT_MS)
            expect(page.locator("#check-title")).to_have_text(
                "Roster check: roster v1, all queues")
            rows = table.locator("tbody tr")
            expect(rows.first.locator("td").first).to_have_text("09:00")
            simulated = [cell.strip() for cell in
                         table.locator("tbody tr td.sim").all_inner_texts()]
            assert simulated and all(re.fullmatch(r"\d+%|–", c) for c in simulated)
            assert any(c != "–" for c in simulated), simulated  # calls were simulated
            erlang = rows.first.locator("td").nth(8).inner_text()
            assert re.fullmatch(r"\d+%", erlang), erlang  # Erlang A beside it
            expect(page.locator(".charts svg")).to_have_count(3)
            shoot(page, "web-planning")
    finally:
        harness.close()
