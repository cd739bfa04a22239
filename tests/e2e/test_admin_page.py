"""The issue's scenario, end to end in headless Chromium, as one test: first-run setup with the
token, log in, change a menu option in the bank flow, see the validation error on its node,
fix it, try it on the on-screen keypad (the new option is reached), publish with a note, and a
simulated call on the appliance follows the new option (its CDR's IVR path). On the way it
saves screenshots of the main pages (conftest.shoot)."""

from __future__ import annotations

import re
from itertools import pairwise

from playwright.sync_api import expect
from runtime_harness import scenario_text
from web_harness import PASSWORD, WebHarness

from branchline.firmware.records.database import Records

# Mandarin callers who press 4 in the main menu (the option the admin adds), then listen.
CALLERS_PRESS_4 = scenario_text(rate=600, end="09:10",
                                goal_steps='[{keys: "4"}, {listen: true}, {listen: true}]')


def test_admin_changes_a_menu_tries_it_publishes_and_a_call_follows_it(
        tmp_path, prompts_dir, bank_url, browser, serve, shoot):
    harness = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url,
                         scenario=CALLERS_PRESS_4)
    token = re.search(r"token=([A-Za-z0-9_\-]+)", harness.announced[-1]).group(1)
    try:
        with serve(harness.web) as base:
            context = browser.new_context(viewport={"width": 1440, "height": 900},
                                          locale="zh-CN")
            page = context.new_page()
            page.set_default_timeout(15_000)

            # First run: the token from the console, then the first admin.
            page.goto(f"{base}/setup?token={token}")
            expect(page.locator("#token")).to_have_value(token)
            page.fill("#password", PASSWORD)
            page.fill("#password2", PASSWORD)
            page.select_option("#language", "zh")
            page.click("button[type=submit]")
            expect(page.locator("header .who")).to_contain_text("admin")

            # Log out and in again through the login page.
            page.click("button[data-action=logout]")
            expect(page).to_have_url(re.compile(r"/login$"))
            shoot(page, "web-login")
            page.fill("#name", "admin")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_contain_text("Demo Branch")

            # Change a menu option: key 0 to the branch hours. 0 is the operator key.
            page.goto(f"{base}/flows/bank")
            # The diagram's pane opens on the start node (dot puts it low on the left).
            expect(page.locator('svg.flow a[data-node="vip_check"]')).to_be_in_viewport()
            page.locator('svg.flow a[data-node="main_menu"]').focus()  # by keyboard
            page.keyboard.press("Enter")
            expect(page.locator("#node-form")).to_be_visible()
            page.click("#add-option")
            row = page.locator("tr.option-row").last
            row.locator(".opt-key").fill("0")
            row.locator(".opt-target").select_option("branch_info")
            page.click("#node-form button[type=submit]")
            node = page.locator('svg.flow a[data-node="main_menu"]')
            expect(node).to_have_class(re.compile(r"\bhas-error\b"))
            expect(node.locator(".badge.error")).to_have_text("1")
            bad = page.locator("tr.option-row.has-issue")
            expect(bad.locator(".opt-key")).to_have_value("0")
            expect(page.locator("tr.issue-row .issue.error")).to_contain_text("'0'")
            shoot(page, "web-flow-error", full_page=False)

            # Fix it: the new option is key 4.
            bad.locator(".opt-key").fill("4")
            page.click("#node-form button[type=submit]")
            expect(node).not_to_have_class(re.compile(r"\bhas-error\b"))
            expect(page.locator("tr.option-row.has-issue")).to_have_count(0)
            shoot(page, "web-flow", full_page=False)

            # Try it on the draft with the on-screen keypad.
            page.goto(f"{base}/tryit")
            page.fill("#try-at", "2026-11-24T10:00")  # a Tuesday morning: the branch is open
            page.click("#tryit-start button[type=submit]")
            expect(page.locator("#try-node")).to_have_text("language_menu")
            expect(page.locator("#try-playing")).to_contain_text("普通话请按1")
            page.click('.keypad .key[data-key="1"]')
            expect(page.locator("#try-node")).to_have_text("main_menu")
            page.keyboard.press("4")  # the computer's keyboard works as the keypad too
            expect(page.locator("#try-node")).to_have_text("branch_info")
            expect(page.locator('svg.flow a[data-node="branch_info"]')).to_have_class(
                re.compile(r"\bcurrent\b"))
            expect(page.locator("#try-playing")).to_contain_text("人民路")
            expect(page.locator("#try-budgets progress")).to_have_count(3)
            page.click("#try-next")
            expect(page.locator("#try-node")).to_have_text("info_done")
            expect(page.locator('#try-timers li[data-timer="playback"]')).to_be_visible()
            page.click("#try-next")  # the prompt ends: now the wait for a key counts down
            expect(page.locator('#try-timers li[data-timer="digit"]')).to_contain_text("5.0")
            shoot(page, "web-tryit")

            # A queue setting in plain words: the wrap-up time after each call.
            page.goto(f"{base}/queues")
            general = page.locator('form.acd-form[data-list="queues"][data-index="0"]')
            general.locator('[data-path="wrap_up_s"]').fill("15")
            general.locator('[data-path="classes.1.service_level_pct"]').fill("85")
            general.locator("button[type=submit]").click()
            expect(page.locator("#status")).to_have_class(re.compile(r"\bok\b"))
            expect(general.locator('[data-path="wrap_up_s"]')).to_have_value("15")
            expect(general.locator('[data-path="classes.1.service_level_pct"]')).to_have_value(
                "85")
            shoot(page, "web-queues")

            # An agent's skills, typed as words: Cantonese and English too.
            page.goto(f"{base}/agents")
            agent = page.locator('form.acd-form[data-list="agents"][data-index="0"]')
            agent.locator('[data-path="skills"]').fill("zh 10, yue 8, en 6")
            agent.locator("button[type=submit]").click()
            expect(page.locator("#status")).to_have_class(re.compile(r"\bok\b"))
            expect(agent.locator('[data-path="skills"]')).to_have_value("zh 10, yue 8, en 6")
            expect(agent.locator('[data-path="queues"]')).not_to_have_value("")

            # Publish with a note.
            running = harness.store.current_number()
            page.goto(f"{base}/versions")
            expect(page.locator("pre.diff .add").first).to_be_visible()
            page.fill("#note", "主菜单增加按键4：营业时间")
            page.click("#publish-form button[type=submit]")
            expect(page.locator("table.grid tbody tr").first).to_contain_text("主菜单增加按键4")
            assert harness.store.current_number() == running + 1
            shoot(page, "web-versions")

            # A simulated caller on the appliance presses the new option.
            for _ in range(30):
                if _following(harness, running + 1):
                    break
                harness.run(10)
            assert _following(harness, running + 1), "no call took key 4 within 300 s"

            # The other main pages, for the artefacts (and the admin guide).
            page.goto(f"{base}/wallboard")
            expect(page.locator("#wb-connection")).to_have_class(re.compile(r"\blive\b"))
            shoot(page, "web-wallboard")
            page.goto(f"{base}/reports")
            expect(page.locator("svg.chart")).to_have_count(3)
            shoot(page, "web-reports")
            page.goto(f"{base}/system")
            expect(page.locator("#firmware")).not_to_be_empty()
            page.click("button[data-action=selftest]")
            expect(page.locator("#selftest-result")).to_contain_text("fxo1: 正常")
            shoot(page, "web-system")

            # The same admin reads the page in English from here on.
            page.click("button[data-action=language]")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            page.goto(f"{base}/flows/bank?node=main_menu")
            expect(page.locator("h1")).to_have_text("Voice menu: bank")
            shoot(page, "web-flow-en", full_page=False)
            context.close()

        records = harness.close()
    finally:
        if not harness.runtime.closed:
            harness.close()
    # Its CDR: the call ran on the new version and went main_menu -> branch_info.
    assert [r for r in records if r.config_version == running + 1 and _via_key_4(r)]


def _via_key_4(record) -> bool:
    entered = [s.node for s in record.ivr_path if s.what == "enter"]
    steps = [(s.what, s.node, s.detail) for s in record.ivr_path]
    return ("digits", "main_menu", "4") in steps and \
        ("main_menu", "branch_info") in pairwise(entered)


def _following(harness: WebHarness, version: int) -> list:
    """Calls already recorded that took key 4 on ``version``."""
    with Records(harness.data_dir / "records.db") as records:
        return [c for c in records.calls(0.0, float("inf"))
                if c.config_version == version and _via_key_4(c)]
