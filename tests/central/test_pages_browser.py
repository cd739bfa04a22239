"""The centre's pages in headless Chromium (Debian's, through Playwright, as tests/e2e/):
first-run setup and sign-in, the fleet page's worst branches first for a period chosen in
its form, the drill-down to a branch's queues and agents, the CSV export, and the Templates
page with a branch that refused a template and why, and an admin's Unassign.

The centre is the real app under uvicorn on loopback (``loopback_server.served``) over a real
PostgreSQL, its records shipped by real shippers from the branches' SQLite files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from fleet_kit import T0, add_test_branch, write_calls
from loopback_server import served
from playwright.sync_api import expect, sync_playwright

from branchline.central.db import connect
from branchline.central.templates import assign_template, publish_template, report_template
from branchline.central.web import create_central_app
from branchline.config.data_dir import DataDir
from branchline.firmware.fleet import Shipper

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "branch-line-test-pw"
DAY = dt.datetime.fromtimestamp(T0, dt.timezone(dt.timedelta(hours=8))).date()
REASON = "acd.agents.2.queues.1: queue 'loans' does not exist"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def shipped_fleet(postgres, central, tmp_path):
    """Three branches; south-2 answers worst, and refuses the 'queues' template."""
    logins = {}
    for name, numbers in (("north-1", range(60)), ("south-1", range(60)),
                          ("south-2", range(0, 60, 2))):
        db = tmp_path / f"{name}.db"
        write_calls(db, numbers, spacing=30.0)
        logins[name] = add_test_branch(postgres, central, name, region=name.split("-")[0])
        with Shipper(db, logins[name]) as shipper:
            shipper.ship_available()
    with connect(central) as conn:
        conn.execute("UPDATE daily_kpis SET answered_in_sl = 0 WHERE branch = 'south-2'")
        conn.execute("UPDATE branch_days SET answered_in_sl = 0 WHERE branch = 'south-2'")
        publish_template(conn, "queues", "queues: []\n", note="longer waits", who="alice")
        assign_template(conn, "queues", ["south-1", "south-2"], who="alice")
    with connect(logins["south-1"]) as conn:
        report_template(conn, "queues", 1, "applied")
    with connect(logins["south-2"]) as conn:
        report_template(conn, "queues", 1, "refused", REASON)


def test_sign_in_worst_first_drill_down_csv_and_a_refused_template(
        postgres, central, tmp_path, browser):
    shipped_fleet(postgres, central, tmp_path)
    said = []
    app = create_central_app(central, data=DataDir(tmp_path / "centre"), announce=said.append)
    token = re.search(r"token=([\w-]+)", said[0]).group(1)
    with served(app) as base:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
        page = context.new_page()
        page.set_default_timeout(15_000)

        # First run, then out and in again through the login page.
        page.goto(f"{base}/setup?token={token}")
        page.fill("#password", PASSWORD)
        page.fill("#password2", PASSWORD)
        page.select_option("#language", "en")
        page.click("button[type=submit]")
        expect(page.locator("header .who")).to_contain_text("admin")
        page.click("button[data-action=logout]")
        expect(page).to_have_url(re.compile(r"/login$"))
        page.fill("#name", "admin")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("header .who")).to_contain_text("admin")

        # The fleet over the day of the records, chosen in the page's form.
        page.fill("#since", DAY.isoformat())
        page.fill("#until", DAY.isoformat())
        page.click("form button[type=submit]")
        expect(page).to_have_url(re.compile(rf"since={DAY}&until={DAY}"))
        worst = page.locator("table.kpis").nth(1).locator("tbody tr")
        expect(worst).to_have_count(3)
        expect(worst.nth(0).locator("td").first).to_have_text("Branch south-2")
        expect(worst.nth(0).locator("td").nth(4)).to_have_text("0 %")
        _shoot(page, "centre-fleet")

        # The CSV export of what the page shows, worst first too.
        href = page.get_by_role("link", name="CSV").get_attribute("href")
        reply = page.request.get(base + href)
        assert reply.ok and reply.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(reply.text())))
        assert [r["key"] for r in rows] == ["south-2", "north-1", "south-1"]

        # Drill down: the worst branch's queues and agents.
        worst.nth(0).get_by_role("link", name="Branch south-2").click()
        expect(page.locator("h1")).to_have_text("south-2")
        queues = page.locator("table.kpis", has=page.locator("caption", has_text="Queues"))
        expect(queues.locator("tbody tr", has_text="cards")).to_have_count(1)
        agents = page.locator("table.kpis", has=page.locator("caption", has_text="Agents"))
        expect(agents.locator("tbody tr")).to_have_count(1)
        expect(agents.locator("tbody tr td").first).to_have_text("a0")
        _shoot(page, "centre-branch")

        # Templates: south-2 refused, and says why; then an admin takes it back from south-2.
        page.get_by_role("link", name="Templates").click()
        refused = page.locator('tr.refused[data-branch="south-2"]')
        expect(refused).to_contain_text("refused")
        expect(refused).to_contain_text(REASON)
        expect(page.locator('tr.applied[data-branch="south-1"]')).to_have_count(1)
        _shoot(page, "centre-templates")
        page.once("dialog", lambda dialog: dialog.accept())
        refused.get_by_role("button", name="Unassign").click()
        expect(page.locator("#status")).to_have_text("queues unassigned from south-2.")
        expect(page.locator('tr[data-branch="south-2"]')).to_have_count(0)
        expect(page.locator('tr[data-branch="south-1"]')).to_have_count(1)
        context.close()
    with connect(central) as conn:
        assert conn.execute("SELECT who FROM centre_audit WHERE what LIKE 'unassigned%%'"
                            ).fetchall() == [("admin",)]


def _shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
