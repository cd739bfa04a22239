"""The admin pages over the real app and appliance (WebHarness): who sees what, in which
language, and that each page shows what the draft, the store and the link hold."""

from __future__ import annotations

import re

import pytest
from web_harness import WebHarness


@pytest.fixture(scope="module")
def site(tmp_path_factory, prompts_dir, bank_url):
    """One appliance and app for the module (building one takes seconds); each test works as
    its own user, so one test's draft is never another's."""
    harness = WebHarness(tmp_path_factory.mktemp("pages"), prompts_dir=prompts_dir,
                         bank_url=bank_url)
    harness.client()  # the first admin, through the setup token
    yield harness
    harness.close()


PAGES = ["/", "/flows", "/flows/bank", "/flows/bank?node=main_menu",
         "/flows/bank?node=card_entry:card", "/tryit", "/versions", "/versions?a=1&b=draft",
         "/queues", "/agents", "/wallboard", "/reports", "/prompts", "/users", "/system"]


def test_every_page_renders_for_an_admin_in_both_languages(site):
    admin = site.client("admin", name="everypage")
    for language in ("en", "zh"):
        assert admin.put("/api/session/language", json={"language": language}).status_code \
            == 200
        for page in PAGES:
            reply = admin.get(page)
            assert reply.status_code == 200, (page, reply.text[:500])
            assert reply.headers["content-type"].startswith("text/html")
            assert f'lang="{"zh-CN" if language == "zh" else "en"}"' in reply.text
            assert "script-src 'self'" in reply.headers["content-security-policy"]


def test_a_page_without_a_session_sends_the_browser_to_log_in(site):
    anonymous = site.anonymous()
    reply = anonymous.get("/flows/bank?node=main_menu", follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/login?next=%2Fflows%2Fbank%3Fnode%3Dmain_menu"


def test_login_after_setup_and_setup_page_after_setup(site):
    anonymous = site.anonymous()
    login = anonymous.get("/login?next=/versions")
    assert 'data-next="/versions"' in login.text
    assert "Setup is done already" in anonymous.get("/setup?token=x&lang=en").text
    # an address elsewhere is never where login sends the browser
    assert 'data-next="/"' in anonymous.get("/login?next=//evil.example/").text


def test_before_setup_login_explains_the_first_run_link(web):
    reply = web.anonymous().get("/login?lang=en")
    assert "first-run setup link" in reply.text
    setup = web.anonymous().get("/setup?token=abc123")
    assert 'value="abc123"' in setup.text


@pytest.mark.parametrize(("role", "allowed", "refused"), [
    ("viewer", ["/", "/flows/bank", "/versions", "/queues", "/prompts", "/system"],
     ["/tryit", "/agents", "/wallboard", "/reports", "/users"]),
    ("supervisor", ["/agents", "/wallboard", "/reports"], ["/tryit", "/users"]),
])
def test_pages_for_a_higher_role_answer_403_and_the_menu_leaves_them_out(site, role, allowed,
                                                                         refused):
    client = site.client(role)
    for page in allowed:
        assert client.get(page).status_code == 200, page
    for page in refused:
        reply = client.get(page)
        assert reply.status_code == 403, page
        assert "needs the" in reply.text
    menu = client.get("/").text
    for page in refused:
        assert f'href="{page}"' not in menu


def test_the_flow_page_shows_an_error_on_its_node_and_next_to_its_field(site):
    admin = site.client("admin", name="flowedit")
    draft = admin.get("/api/draft").json()
    node = admin.get("/api/draft/flows/bank/nodes/main_menu").json()["value"]
    node["options"]["0"] = "branch_info"
    saved = admin.put("/api/draft/flows/bank/nodes/main_menu",
                      json={"base": draft["base"], "revision": draft["revision"],
                            "value": node})
    assert saved.status_code == 200, saved.text
    page = admin.get("/flows/bank?node=main_menu").text
    badge = re.search(r'<a href="/flows/bank\?node=main_menu" class="([^"]+)"', page)
    assert badge and "has-error" in badge.group(1)
    assert 'class="option-row has-issue"' in page
    assert "collides with the global operator key" in page
    # the routes to a person are listed per menu with keys and seconds
    fixed = dict(node, options={k: v for k, v in node["options"].items() if k != "0"})
    draft = admin.get("/api/draft").json()
    admin.put("/api/draft/flows/bank/nodes/main_menu",
              json={"base": draft["base"], "revision": draft["revision"], "value": fixed})
    page = admin.get("/flows/bank").text
    assert re.search(r"<td>main_menu</td><td class=\"keys\">1 → 0</td><td class=\"num\">"
                     r"[0-9.]+</td>", page)


def test_an_unknown_flow_or_node_is_a_404_page(site):
    admin = site.client("viewer")
    assert admin.get("/flows/nope").status_code == 404
    assert admin.get("/flows/bank?node=nope").status_code == 404


def test_versions_page_colours_the_diff_and_offers_rollback(site):
    admin = site.client("admin", name="publisher")
    draft = admin.get("/api/draft").json()
    text = draft["text"].replace("name: Demo Branch", "name: Test Branch")
    admin.put("/api/draft", json={"base": draft["base"], "revision": draft["revision"],
                                  "text": text})
    page = admin.get("/versions").text
    assert '<span class="add">+  name: Test Branch' in page
    assert '<span class="del">-  name: Demo Branch' in page
    published = admin.post("/api/versions", json={"note": "rename", "base": draft["base"],
                                                  "revision": draft["revision"] + 1})
    assert published.status_code in (200, 201), published.text
    page = admin.get("/versions").text
    assert 'data-action="rollback" data-number="' in page
    assert "rename" in page


def test_reports_page_draws_charts_and_links_the_csv_downloads(site):
    site.run(120)
    supervisor = site.client("supervisor")
    page = supervisor.get("/reports?interval=15").text
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 3
    assert "/api/reports/export.csv?kind=calls&amp;start=" in page
    assert "not a date" in supervisor.get("/reports?day=yesterday").text


def test_wallboard_and_system_show_the_link_data(site):
    site.run(5)
    admin = site.client("supervisor")
    wall = admin.get("/wallboard").text
    for queue in site.link.snapshot()["queues"]:
        assert f'data-queue="{queue["name"]}"' in wall
    system = admin.get("/system").text
    assert site.link.firmware_version() in system
    for port in site.link.board_status()["ports"]:
        assert f"<td>{port['name']}</td>" in system


def test_queue_forms_show_each_setting_with_its_issue(site):
    admin = site.client("admin", name="queues")
    section = admin.get("/api/draft/sections/acd").json()
    section["value"]["queues"][0]["wrap_up_s"] = -5
    saved = admin.put("/api/draft/sections/acd", json={
        "base": section["base"], "revision": section["revision"], "value": section["value"]})
    assert saved.status_code == 200, saved.text
    page = admin.get("/queues").text
    field = re.search(r'<div class="field has-issue">\s*<label for="q0-wrap_up_s">.*?</div>',
                      page, re.S)
    assert field and 'value="-5"' in field.group(0)
    assert "acd.queues.0.wrap_up_s" in field.group(0)
    assert 'data-path="classes.0.service_level_pct"' in page
    assert '<option value="longest_idle" selected>' in page


def test_agent_forms_show_skills_and_queues_in_plain_words(site):
    admin = site.client("admin", name="agents")
    section = admin.get("/api/draft/sections/acd").json()
    section["value"]["agents"][0]["skills"] = {"zh": 11}
    admin.put("/api/draft/sections/acd", json={
        "base": section["base"], "revision": section["revision"], "value": section["value"]})
    page = admin.get("/agents").text
    skills = re.search(r'<div class="field has-issue">\s*<label for="q0-skills">.*?</div>',
                       page, re.S)
    assert skills and 'value="zh 11"' in skills.group(0)
    assert "levels run from 1 (basic) to 10" in skills.group(0)
    assert re.search(r'data-path="queues" data-type="memberships" value="general(, vip)?"',
                     page)
    # a supervisor sees the live table and the commands, not the forms
    supervisor = site.client("supervisor").get("/agents").text
    assert 'data-action="agent-state"' in supervisor
    assert "acd-form" not in supervisor
