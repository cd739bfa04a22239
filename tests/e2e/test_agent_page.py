"""The agent desktop in headless Chromium, as an agent works it: log in with the agent id and
PIN (in Chinese), see the state the phone's keypad set, go not ready and ready from the page,
a simulated call is offered and its pop shows the right data (and no PIN) before the answer,
the agent answers at the station, types notes, the page is reloaded mid-call and shows the
same call (notes kept), the disposition is saved, wrap-up is ended from the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from runtime_harness import CARD, PIN, scenario_text
from web_harness import WebHarness

from branchline.firmware.records.database import Records
from branchline.firmware.records.holds import holds_of
from branchline.firmware.records.legs import call_legs

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


def _cti(h, call_id):
    """The call's CTI events as (type, agent), in stream order."""
    events = h.link.cti_events(0)["events"]
    return [(e.type, e.agent) for e in events if f'"call_id":"{call_id}"' in e.text
            and e.type in ("held", "retrieved", "transferred", "answered", "conferenced")]


def test_an_agent_holds_retrieves_and_transfers_from_the_desktop(tmp_path, prompts_dir,
                                                                   bank_url, browser, serve,
                                                                   shoot):
    def edit(doc):
        doc["call_control"] = {"music_on_hold": "main.long", "queues": {"1": "general"}}

    h = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url, edit_document=edit,
                   scenario=scenario_text(stations=2, agents=[("1001", 0), ("1002", 1)],
                                          rate=60, end="09:03",
                                          handle="{kind: fixed, value: 300}"))
    desk = lambda agent="1001": h.link.agent_desk(agent)  # noqa: E731
    try:
        made = h.client().post("/api/users", json={"name": "1001", "role": "agent",
                                                    "language": "en", "password": AGENT_PIN})
        assert made.status_code == 201, made.text
        h.run_until(lambda: desk()["state"] == desk("1002")["state"] == "ready", limit=60)
        h.link.agent_command("1002", "not_ready", "lunch", "test")  # the call goes to 1001
        h.run_until(lambda: (desk()["call"] or {}).get("phase") == "talking", limit=900)
        call_id = desk()["call"]["call_id"]
        session = h.app.by_id[call_id]
        with serve(h.web) as base:
            page = browser.new_context(locale="en-GB").new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{base}/login")
            page.fill("#name", "1001")
            page.fill("#password", AGENT_PIN)
            page.click("button[type=submit]")
            expect(page).to_have_url(re.compile(r"/agent$"))
            badge = page.locator("#ad-control")
            expect(badge).to_have_attribute("data-control", "talking")
            expect(page.locator("#ad-retrieve")).to_be_disabled()

            with page.expect_response("**/api/agent/call"):  # then the clock moves
                page.click("#ad-hold")
            h.run(2.0)
            expect(badge).to_have_attribute("data-control", "held")
            assert session.control.playing_music
            page.reload()  # mid-hold: the appliance still says held
            expect(badge).to_have_attribute("data-control", "held")
            expect(page.locator("#ad-held")).to_contain_text("on hold")
            expect(page.locator("#ad-hold")).to_be_disabled()
            shoot(page, "agent-desktop-hold")
            with page.expect_response("**/api/agent/call"):
                page.click("#ad-retrieve")
            h.run(0.1)
            expect(badge).to_have_attribute("data-control", "talking")

            station = next(s for s in h.app.stations.values() if s.agent_id == "1001")
            station.flash(h.runtime.clock.now())  # the phone's hook flash holds too
            h.run(3.0)
            expect(badge).to_have_attribute("data-control", "held")
            with page.expect_response("**/api/agent/call"):
                page.click("#ad-retrieve")
            h.run(0.1)
            expect(badge).to_have_attribute("data-control", "talking")

            refused = page.request.post(f"{base}/api/agent/call",
                                        data={"action": "complete"},
                                        headers={"X-CSRF-Token": _csrf(page)})
            assert refused.status == 422
            assert "complete is possible while consulting or conference" in refused.text()

            h.link.agent_command("1002", "ready", None, "test")
            h.run(0.1)
            target = page.locator("#ad-target option[value='agent:1002']")
            expect(target).to_be_enabled()
            page.select_option("#ad-target", "agent:1002")
            with page.expect_response("**/api/agent/call"):
                page.click("#ad-transfer")
            h.run(0.1)
            assert desk()["state"] == "wrap_up"
            expect(page.locator("#ad-state")).to_have_attribute("data-state", "wrap_up")
            expect(page.locator("#ad-hold")).to_be_disabled()
            h.run_until(lambda: desk("1002")["state"] == "talking", limit=30)
            h.run(0.5)
            assert not session.control.playing_music
            h.runtime.hang_up_caller(session.port)
    finally:
        records = h.close()
    assert _cti(h, call_id) == [
        ("answered", "1001"),
        ("held", "1001"), ("retrieved", "1001"),  # the page
        ("held", "1001"), ("retrieved", "1001"),  # the phone's flash, the page's retrieve
        ("held", "1001"), ("transferred", "1001"),  # blind: held, then handed over
        ("answered", "1002"), ("retrieved", "1002")]
    [cdr] = [r for r in records if r.call_id == call_id]
    assert cdr.agent_id == "1002"
    with Records(h.data_dir / "records.db") as db:
        holds = holds_of(db, call_id)
        legs = call_legs(cdr, db.events(0.0, float("inf"), call_id=call_id), holds)
    assert [h_.agent for h_ in holds] == ["1001", "1001", "1001"]
    assert holds[0].seconds == pytest.approx(2.0, abs=0.1)  # hold to retrieve, virtual time
    assert cdr.hold_seconds == pytest.approx(sum(h_.seconds for h_ in holds), abs=0.01)
    assert [(leg.who, leg.hold_s) for leg in legs] == [("1001", pytest.approx(cdr.hold_seconds,
                                                                             abs=0.01)),
                                                       ("1002", 0.0)]


def _csrf(page) -> str:
    return page.locator('meta[name="csrf-token"]').get_attribute("content")
