"""Versions through the real API: publish (refused when invalid), history, diff, rollback."""

from __future__ import annotations


def _save(client, text):
    draft = client.get("/api/draft").json()
    reply = client.put("/api/draft", json={"base": draft["base"], "revision": draft["revision"],
                                           "text": text})
    assert reply.status_code == 200, reply.text
    return reply.json()


def _publish(client, note, saved):
    return client.post("/api/versions", json={"note": note, "base": saved["base"],
                                              "revision": saved["revision"]})


def _vip_queue_priority(text, value):
    """``text`` with the bank flow's vip_queue node's priority (10) set to ``value``, and that
    line as it was (the harness's version may be the document re-written, not the default)."""
    start = text.index("vip_queue:")
    at = text.index("priority: 10", start)
    line_start = text.rindex("\n", 0, at) + 1
    line = text[line_start:text.index("\n", at)]
    return text[:at] + f"priority: {value}" + text[at + len("priority: 10"):], line


def test_publishing_an_invalid_draft_is_422_with_issues_and_the_running_version_stays(web):
    admin = web.client()
    running = web.store.current_number()
    text, _ = _vip_queue_priority(web.store.current().text, "ten")
    saved = _save(admin, text)
    reply = _publish(admin, "try a word", saved)
    assert reply.status_code == 422
    error = reply.json()["error"]
    assert error["code"] == "validation_failed"
    assert "the version in force stays" in error["message"]
    (issue,) = [i for i in error["issues"] if i["severity"] == "error"]
    assert set(issue) == {"path", "message", "fix", "severity", "line", "key", "fix_key",
                          "params", "said"}
    assert (issue["key"], issue["fix_key"]) == ("doc.not_accepted", "doc.fix.whole_number")
    assert issue["said"] == {"message": issue["message"], "fix": issue["fix"]}
    assert issue["path"].endswith(".priority") and issue["severity"] == "error"
    assert text.splitlines()[issue["line"] - 1].strip() == "priority: ten"
    assert web.store.current_number() == running
    assert web.store.draft("admin").text == text  # the draft is kept to be fixed


def test_publish_takes_effect_is_in_the_history_and_audited_with_its_diff(web, audit):
    admin = web.client()
    before = web.store.current_number()
    text, line = _vip_queue_priority(web.store.current().text, 8)
    saved = _save(admin, text)
    reply = _publish(admin, "VIP priority 8", saved)
    assert reply.status_code == 201, reply.text
    version = reply.json()["version"]
    assert version["number"] == before + 1
    assert (version["who"], version["note"], version["parent"], version["current"]) == (
        "admin", "VIP priority 8", before, True)
    history = admin.get("/api/versions").json()
    assert [v["number"] for v in history] == list(range(before + 1, 0, -1))
    assert [v["current"] for v in history] == [True] + [False] * before
    (entry,) = [(what, diff) for who, what, diff in audit() if what.startswith("published")]
    assert entry[0] == f"published version {before + 1}: VIP priority 8"
    assert f"-{line}\n+{line.replace('10', '8')}\n" in entry[1]
    # The appliance picks it up for new calls (checked off the loop, taken at its next look).
    web.run(1)
    web.app.wait_config_loaded()
    web.run(1)
    assert web.link.snapshot()["config_version"] == before + 1
    shown = admin.get(f"/api/versions/{before + 1}").json()
    assert shown["text"] == web.store.current().text and shown["sha256"]


def test_publishing_needs_a_saved_draft_at_the_revision_shown(web):
    admin = web.client()
    draft = admin.get("/api/draft").json()
    nothing = admin.post("/api/versions", json={"note": "n", "base": draft["base"],
                                                "revision": 1})
    assert nothing.status_code == 409
    assert nothing.json()["error"]["code"] == "no_draft"
    saved = _save(admin, draft["text"] + "# a\n")
    _save(admin, draft["text"] + "# b\n")
    stale = _publish(admin, "old view", saved)
    assert stale.status_code == 409
    assert "your draft is now at revision 2" in stale.json()["error"]["message"]


def test_rollback_is_one_call_and_a_new_version(web, audit):
    admin = web.client()
    first = web.store.current_number()
    original = web.store.current().text
    changed, line = _vip_queue_priority(original, 7)
    _publish(admin, "changed", _save(admin, changed))
    reply = admin.post(f"/api/versions/{first}/rollback", json={"note": "VIPs waited"})
    assert reply.status_code == 201, reply.text
    version = reply.json()["version"]
    assert version["number"] == first + 2
    assert version["note"] == f"rollback to {first}: VIPs waited"
    assert web.store.current().text == original
    assert any(what == f"rolled back to version {first} as version {first + 2}: VIPs waited"
               and f"+{line}" in diff for _, what, diff in audit())
    again = admin.post(f"/api/versions/{first + 2}/rollback", json={})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_current"
    missing = admin.post("/api/versions/99/rollback", json={})
    assert missing.status_code == 404
    assert missing.json()["error"]["message"].startswith("there is no version 99")


def test_diff_between_versions_and_against_the_draft(web):
    admin = web.client()
    first = web.store.current_number()
    text = web.store.current().text
    _publish(admin, "vip 7", _save(admin, _vip_queue_priority(text, 7)[0]))
    _save(admin, web.store.current().text.replace("recordings: 30", "recordings: 45", 1))
    between = admin.get(f"/api/versions/diff?a={first}&b={first + 1}").json()
    assert between["text"].startswith(f"--- version {first}\n+++ version {first + 1}\n")
    (flows,) = between["sections"]
    assert flows["section"] == "flows" and flows["change"] == "changed"
    assert flows["paths"] == ["flows.bank.nodes.vip_queue.priority"]
    draft = admin.get(f"/api/versions/diff?a={first}&b=draft").json()
    assert draft["text"].splitlines()[1] == "+++ draft of admin"
    assert {s["section"]: s["paths"] for s in draft["sections"]} == {
        "retention": ["retention.recordings"],
        "flows": ["flows.bank.nodes.vip_queue.priority"]}
    bad = admin.get("/api/versions/diff?a=1&b=latest")
    assert bad.status_code == 422
    assert bad.json()["error"]["issues"][0]["path"] == "query.b"


def test_unknown_version_is_404_in_the_error_shape(web):
    viewer = web.client("viewer")
    reply = viewer.get("/api/versions/999")
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "not_found"
    assert "published versions are 1 to" in reply.json()["error"]["message"]
