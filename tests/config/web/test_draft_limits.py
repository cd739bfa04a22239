"""Drafts the pages could not show: refused before they are stored, and a stored one (left by
an older release) still shown, with the offer to discard it."""

from __future__ import annotations

import pytest

FLOW_DEEP = "site: " + "[" * 5000 + "]" * 5000 + "\n"
BLOCK_DEEP = "site:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 1200))
BIG_NUMBER = "site:\n  digits: " + "1" * 5000 + "\n"
READS = ["/api/draft", "/api/versions/diff?a=1&b=draft", "/", "/flows", "/queues",
         "/versions", "/versions?a=1&b=draft", "/tryit"]


@pytest.mark.parametrize("text", [FLOW_DEEP, BLOCK_DEEP, BIG_NUMBER],
                         ids=["flow-style", "block-style", "integer"])
def test_a_draft_beyond_the_limits_is_422_and_not_saved(web, text):
    admin = web.client()
    before = web.store.draft("admin")
    reply = admin.put("/api/draft", json={"base": before.base, "revision": 0, "text": text})
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "beyond_limits"
    assert error["message"].startswith("not saved: ")
    assert error["message"].endswith("Your draft stays as it was")
    (issue,) = error["issues"]
    assert issue["severity"] == "error" and issue["fix"] and issue["message"] in error["message"]
    assert web.store.draft("admin").revision == 0
    assert admin.get("/api/draft").status_code == 200


def test_a_section_edit_cannot_nest_past_the_limit_either(web):
    admin = web.client()
    value: object = 1
    for _ in range(60):
        value = [value]
    reply = admin.put("/api/draft/sections/vip_numbers",
                      json={"base": web.store.draft("admin").base, "revision": 0,
                            "value": value})
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["code"] == "beyond_limits"
    assert web.store.draft("admin").revision == 0


@pytest.mark.parametrize("text", [FLOW_DEEP, BIG_NUMBER], ids=["deep", "integer"])
def test_pages_show_a_stored_bad_draft_and_offer_to_discard_it(web, text):
    admin = web.client()
    base = web.store.draft("admin").base
    web.store.save_draft("admin", text, base=base, revision=0)  # as an older release did
    for path in READS:
        reply = admin.get(path)
        assert reply.status_code == 200, (path, reply.text[:300])
    draft = admin.get("/api/draft").json()
    assert draft["document"] is None
    assert draft["report"]["errors"][0]["message"].startswith(
        ("the document nests", "a number is written"))
    versions = admin.get("/versions").text
    assert 'data-action="discard-draft"' in versions
    assert admin.delete("/api/draft").status_code == 204
    assert admin.get("/api/draft").json()["document"] is not None
