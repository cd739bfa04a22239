"""The rarer queue and agent settings as form fields (announcements, call-back retries, class
promotion, penalties), in both languages, with the checker's problem beside its field."""

from __future__ import annotations

import re

import pytest
from web_harness import WebHarness


@pytest.fixture(scope="module")
def site(tmp_path_factory, prompts_dir, bank_url):
    harness = WebHarness(tmp_path_factory.mktemp("acdforms"), prompts_dir=prompts_dir,
                         bank_url=bank_url)
    harness.client()
    yield harness
    harness.close()


def _field(page: str, field_id: str) -> str:
    found = re.search(r'<div class="field[^"]*">\s*<label for="' + re.escape(field_id)
                      + r'">.*?</div>', page, re.S)
    assert found, f"no field {field_id}"
    return found.group(0)


def _save_acd(client, change) -> None:
    section = client.get("/api/draft/sections/acd").json()
    change(section["value"])
    saved = client.put("/api/draft/sections/acd", json={
        "base": section["base"], "revision": section["revision"], "value": section["value"]})
    assert saved.status_code == 200, saved.text


@pytest.mark.parametrize(("language", "label"), [
    ("en", "Call-back attempts after the first"), ("zh", "回电没接通时再拨几次")])
def test_the_queue_form_has_the_rarer_settings_as_fields(site, language, label):
    page = site.client("admin", name=f"reader_{language}", language=language).get("/queues").text
    assert label in _field(page, "q0-callback.retries")
    assert 'value="2"' in _field(page, "q0-callback.retries")           # the model's default
    assert 'value="120"' in _field(page, "q0-callback.retry_interval_s")
    assert 'value="30"' in _field(page, "q0-announce.every_s")
    assert 'data-type="bool"' in _field(page, "q0-announce.on_entry")
    assert 'data-path="callback.key"' in _field(page, "q0-callback.key")
    assert 'data-path="classes.0.promote_after_s"' in _field(page, "q0-classes.0.promote_after_s")


@pytest.mark.parametrize(("language", "problem"), [
    ("en", "it should be less than or equal to 10"), ("zh", "应小于或等于 10")])
def test_a_bad_retry_count_shows_its_problem_beside_its_field(site, language, problem):
    admin = site.client("admin", name=f"retries_{language}", language=language)
    _save_acd(admin, lambda acd: acd["queues"][0].setdefault("callback", {})
              .update(retries=20))
    page = admin.get("/queues").text
    field = _field(page, "q0-callback.retries")
    assert 'class="field has-issue"' in field and 'value="20"' in field
    assert problem in field
    assert "acd.queues.0.callback.retries" in field
    assert problem not in _field(page, "q0-callback.retry_interval_s")


def test_an_agents_queues_carry_their_penalties_and_a_bad_one_is_shown_there(site):
    admin = site.client("admin", name="penalties", language="zh")

    def penalise(acd):
        acd["agents"][0]["queues"] = [{"queue": acd["queues"][0]["name"], "penalty": 100}]

    _save_acd(admin, penalise)
    page = admin.get("/agents").text
    field = _field(page, "q0-queues")
    queue = admin.get("/api/draft/sections/acd").json()["value"]["queues"][0]["name"]
    assert f'value="{queue} 100"' in field
    assert 'class="field has-issue"' in field and "应小于或等于 99" in field
    assert "次序值" in field  # the hint says what the number after a queue means
