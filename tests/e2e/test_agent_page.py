"""The agent desktop in headless Chromium, as an agent works it: log in with the agent id and
PIN (in Chinese), see the state the phone's keypad set, go not ready and ready from the page,
a simulated call is offered and its pop shows the right data (and no PIN) before the answer,
the agent answers at the station, types notes, the page is reloaded mid-call and shows the
same call (notes kept), the disposition is saved, wrap-up is ended from the page."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from runtime_harness import CARD, PIN, scenario_text
from web_harness import WebHarness

from branchline.firmware.records.database import Records

AGENT_PIN = "582914"


def test_an_agent_works_a_call_on_the_desktop(tmp_path, prompts_dir, bank_url, browser, serve,
                                              shoot):
    h = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url,
                   scenario=scenario_text(stations=1, end="09:03"))
    desk = lambda: h.link.agent_desk("1001")  # noqa: E731
    try:
        made = h.client().post("/api/users", json={"name": "1001", "role": "agent",
                                                    "language": "zh", "password": AGENT_PIN})
        assert made.status_code == 201, made.text
        with serve(h.web) as base:
            page = browser.new_context(locale="zh-CN").new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{base}/login")
            page.fill("#name", "1001")
            page.fill("#password", AGENT_PIN)
            page.click("button[type=submit]")
            expect(page).to_have_url(re.compile(r"/agent$"))  # an agent's one page
            expect(page.locator("h1")).to_contain_text("坐席工作台")
            state = page.locator("#ad-state")

            h.run_until(lambda: desk()["state"] == "ready", limit=60)  # keyed at the phone
            expect(state).to_have_attribute("data-state", "ready")
            page.select_option("#ad-reason", "lunch")
            with page.expect_response("**/api/agent/state"):  # then the clock moves
                page.click("#ad-not-ready")
            h.run(0.1)
            expect(state).to_have_attribute("data-state", "not_ready")
            expect(page.locator("#ad-since")).to_have_text("(lunch)")
            with page.expect_response("**/api/agent/state"):  # then the clock moves
                page.click("#ad-ready")
            h.run(0.1)
            expect(state).to_have_attribute("data-state", "ready")

            h.run_until(lambda: (desk()["call"] or {}).get("phase") == "offered", limit=300)
            call = desk()["call"]
            session = h.app.by_id[call["call_id"]]
            expect(page.locator("#ad-phase")).to_have_attribute("data-phase", "offered")
            expect(page.locator("#ad-caller")).to_have_text(session.caller)
            expect(page.locator("#ad-card")).to_have_text("*" * 12 + CARD[-4:])
            expect(page.locator("#ad-queue")).to_have_text(session.s.queueing.queue)
            expect(page.locator("#ad-host")).to_have_text("balance: ok")
            expect(page.locator("#ad-path")).to_contain_text("main_menu: 按键 1")
            expect(page.locator("#ad-path")).to_contain_text("balance_pin: 输入 （已隐藏）")
            assert str(h.app.acd.agent_state("1001")) == "reserved"  # not answered yet
            shoot(page, "agent-desktop-pop")

            h.run_until(lambda: desk()["call"]["phase"] == "talking", limit=30)  # answered
            expect(page.locator("#ad-phase")).to_have_attribute("data-phase", "talking")
            page.fill("#ad-notes", "客户询问余额")
            page.reload()
            expect(page.locator("#ad-phase")).to_have_attribute("data-phase", "talking")
            expect(page.locator("#ad-caller")).to_have_text(session.caller)
            expect(page.locator("#ad-notes")).to_have_value("客户询问余额")
            page.select_option("#ad-code", "resolved")
            with page.expect_response("**/api/agent/disposition"):  # then the clock moves
                page.click("#ad-save")
            h.run(0.1)
            expect(page.locator("#ad-saved")).to_contain_text("resolved")

            h.run_until(lambda: desk()["state"] == "wrap_up", limit=60)
            expect(state).to_have_attribute("data-state", "wrap_up")
            with page.expect_response("**/api/agent/state"):  # then the clock moves
                page.click("#ad-end-wrapup")
            h.run(0.1)
            expect(state).to_have_attribute("data-state", "ready")
            text = page.locator("body").inner_text()
            assert PIN not in text and CARD not in text
    finally:
        h.close()
    with Records(h.data_dir / "records.db") as records:
        rows = records.rows("SELECT call_id, code, notes FROM dispositions")
        record = next(c for c in records.iter_calls() if c.call_id == call["call_id"])
    assert rows == [(call["call_id"], "resolved", "客户询问余额")]
    assert record.agent_id == "1001" and record.outcome == "answered"
