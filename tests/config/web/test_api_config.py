"""The caller's draft through the real API: read, save, section and node edits, VIP import,
and two admins who cannot silently overwrite each other."""

from __future__ import annotations

import re
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from branchline.config import check_document
from branchline.config.document.yaml_text import parse_yaml
from branchline.config.web.draft.edit import EditRefused, delete_at, set_at, value_at


def _draft(client):
    reply = client.get("/api/draft")
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_new_draft_is_the_version_in_force_with_its_report_and_reach(web):
    viewer = web.client("viewer")
    draft = _draft(viewer)
    current = web.store.current()
    assert (draft["base"], draft["revision"], draft["current"]) == (current.info.number, 0,
                                                                    current.info.number)
    assert draft["text"] == current.text
    assert draft["report"]["errors"] == []
    assert set(draft["document"]) >= {"site", "flows", "acd"}
    routes = draft["reach"]["bank"]
    assert routes and all(r["seconds"] > 0 for r in routes if r["keys"])
    assert any(r["keys"] for r in routes)


def test_saving_text_with_errors_is_allowed_and_reports_them_with_lines(web):
    admin = web.client()
    draft = _draft(admin)
    text = draft["text"].replace("priority: 10", "priority: ten", 1)
    reply = admin.put("/api/draft", json={"base": draft["base"], "revision": 0, "text": text})
    assert reply.status_code == 200
    saved = reply.json()
    assert saved["revision"] == 1
    (issue,) = saved["report"]["errors"]
    assert issue["path"].endswith(".priority")
    assert issue["severity"] == "error"
    assert text.splitlines()[issue["line"] - 1].strip() == "priority: ten"
    assert issue["fix"]
    assert web.store.draft("admin").text == text


def test_the_same_user_saving_from_two_windows_gets_409(web):
    admin = web.client()
    draft = _draft(admin)
    first = admin.put("/api/draft", json={"base": draft["base"], "revision": 0,
                                          "text": draft["text"] + "\n# one\n"})
    assert first.status_code == 200
    stale = admin.put("/api/draft", json={"base": draft["base"], "revision": 0,
                                          "text": draft["text"] + "\n# two\n"})
    assert stale.status_code == 409
    assert "draft is at revision 1, but this edit was loaded at revision 0" in \
        stale.json()["error"]["message"]
    assert web.store.draft("admin").text.endswith("# one\n")


def test_two_windows_saving_at_the_same_moment_one_wins_the_other_gets_409(web):
    windows = [web.client(), web.login("admin")]
    draft = _draft(windows[0])
    start = threading.Barrier(2, timeout=60)
    replies = {}

    def save(n):
        start.wait()
        replies[n] = windows[n].put("/api/draft", json={
            "base": draft["base"], "revision": 0, "text": draft["text"] + f"# window {n}\n"})

    threads = [threading.Thread(target=save, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r.status_code for r in replies.values()) == [200, 409]
    (winner,) = [n for n, r in replies.items() if r.status_code == 200]
    saved = web.store.draft("admin")
    assert (saved.revision, saved.text) == (1, draft["text"] + f"# window {winner}\n")


def test_two_admins_on_one_base_the_second_gets_409_naming_who_what_when(web):
    alice = web.client("admin", name="alice")
    bob = web.client("admin", name="bob")
    a, b = _draft(alice), _draft(bob)
    node = alice.get("/api/draft/flows/bank/nodes/vip_queue").json()["value"]
    node["priority"] = 9
    saved = alice.put("/api/draft/flows/bank/nodes/vip_queue",
                      json={"base": a["base"], "revision": 0, "value": node}).json()
    published = alice.post("/api/versions", json={"note": "VIPs a little lower",
                                                  "base": saved["base"],
                                                  "revision": saved["revision"]})
    assert published.status_code == 201, published.text
    number = published.json()["version"]["number"]
    when = web.store.get(number).info.at

    refused = bob.put("/api/draft", json={"base": b["base"], "revision": 0,
                                          "text": b["text"] + "\n# bob\n"})
    assert refused.status_code == 409
    message = refused.json()["error"]["message"]
    assert f"version {number} was published by alice at {when} ('VIPs a little lower')" in \
        message
    assert f"after you started from version {b['base']}" in message
    assert bob.get("/api/draft").json()["others"] == []  # alice's draft went with the publish


def test_second_publish_on_an_old_base_gets_409_and_changes_nothing(web):
    alice = web.client("admin", name="alice")
    bob = web.client("admin", name="bob")
    drafts = {}
    for client, name in ((alice, "alice"), (bob, "bob")):
        d = _draft(client)
        drafts[name] = client.put("/api/draft", json={
            "base": d["base"], "revision": 0, "text": d["text"] + f"\n# {name}\n"}).json()
    assert bob.get("/api/draft").json()["others"][0]["user"] == "alice"
    assert alice.post("/api/versions", json={"note": "first", "base": drafts["alice"]["base"],
                                             "revision": 1}).status_code == 201
    current = web.store.current_number()
    late = bob.post("/api/versions", json={"note": "second", "base": drafts["bob"]["base"],
                                           "revision": 1})
    assert late.status_code == 409
    assert f"version {current} was published by alice" in late.json()["error"]["message"]
    assert web.store.current_number() == current
    assert web.store.draft("bob").text.endswith("# bob\n")  # bob's work is kept


def test_section_edit_keeps_the_rest_of_the_text_as_written(web):
    admin = web.client()
    draft = _draft(admin)
    commented = "# written by hand\n" + draft["text"].replace("site:\n", "site:  # where\n", 1)
    admin.put("/api/draft", json={"base": draft["base"], "revision": 0, "text": commented})
    section = admin.get("/api/draft/sections/retention").json()
    value = dict(section["value"], recordings=61)
    reply = admin.put("/api/draft/sections/retention",
                      json={"base": draft["base"], "revision": 1, "value": value})
    assert reply.status_code == 200
    text = reply.json()["text"]
    assert "  recordings: 61\n" in text
    # Comments and writing outside the edited section are untouched.
    assert _around("retention", commented) == _around("retention", text)
    assert text.startswith("# written by hand\nsite:  # where\n")
    document, report = check_document(text)
    assert report.errors == () and document.retention.recordings == 61


def _around(section, text):
    """The text before and after a top-level section."""
    start = text.index(f"\n{section}:") + 1
    following = re.search(r"^\S", text[start + len(section) + 1:], re.MULTILINE)
    end = start + len(section) + 1 + following.start() if following else len(text)
    return text[:start], text[end:]


def test_unknown_section_is_404_with_the_sections(web):
    admin = web.client()
    reply = admin.get("/api/draft/sections/users")
    assert reply.status_code == 404
    assert reply.json()["error"]["message"].startswith(
        "there is no section 'users' to edit; the sections are site, board, lines, flows")


def test_node_put_add_and_delete(web):
    admin = web.client()
    draft = _draft(admin)
    new_node = {"kind": "hangup", "prompt": "common.goodbye"}
    added = admin.put("/api/draft/flows/bank/nodes/bye_now",
                      json={"base": draft["base"], "revision": 0, "value": new_node})
    assert added.status_code == 200
    body = added.json()
    assert body["document"]["flows"]["bank"]["nodes"]["bye_now"] == new_node
    gone = admin.delete(f"/api/draft/flows/bank/nodes/bye_now?base={draft['base']}&revision=1")
    assert gone.status_code == 200
    assert "bye_now" not in gone.json()["document"]["flows"]["bank"]["nodes"]
    assert gone.json()["text"] == draft["text"]
    assert admin.get("/api/draft/flows/bank/nodes/bye_now").status_code == 404
    no_flow = admin.put("/api/draft/flows/loans/nodes/x",
                        json={"base": draft["base"], "revision": 2, "value": new_node})
    assert no_flow.status_code == 404
    assert no_flow.json()["error"]["code"] == "no_such_flow"


def test_a_broken_node_is_saved_and_its_issue_points_at_it(web):
    admin = web.client()
    draft = _draft(admin)
    node = admin.get("/api/draft/flows/bank/nodes/main_menu").json()["value"]
    node["options"]["9"] = "no_such_node"
    reply = admin.put("/api/draft/flows/bank/nodes/main_menu",
                      json={"base": draft["base"], "revision": 0, "value": node}).json()
    paths = [i["path"] for i in reply["report"]["errors"]]
    assert any(p.startswith("flows.bank.nodes.main_menu.options") for p in paths), paths


def test_viewer_reads_but_cannot_edit(web):
    viewer = web.client("viewer")
    draft = _draft(viewer)
    reply = viewer.put("/api/draft", json={"base": draft["base"], "revision": 0,
                                           "text": draft["text"]})
    assert reply.status_code == 403
    assert reply.json()["error"]["message"] == \
        "viewer1 is a viewer; this needs the admin role or above (ask an admin)"


def test_discarding_goes_back_to_the_version_in_force(web):
    admin = web.client()
    draft = _draft(admin)
    admin.put("/api/draft", json={"base": draft["base"], "revision": 0, "text": "junk: ["})
    assert _draft(admin)["document"] is None
    assert admin.delete("/api/draft").status_code == 204
    assert _draft(admin)["text"] == web.store.current().text


def test_section_edit_on_text_that_is_not_yaml_says_fix_the_text(web):
    admin = web.client()
    draft = _draft(admin)
    admin.put("/api/draft", json={"base": draft["base"], "revision": 0, "text": "site: [\n"})
    reply = admin.put("/api/draft/sections/site",
                      json={"base": draft["base"], "revision": 1, "value": {"name": "x"}})
    assert reply.status_code == 422
    assert reply.json()["error"]["code"] == "edit_refused"
    assert "fix the text itself first (PUT /api/draft)" in reply.json()["error"]["message"]


CSV = "电话号码\n13801380001\n139-1234-5678\n\nnot a number\n+8613912345678\n"


def test_vip_import_reports_every_row(web):
    admin = web.client()
    draft = _draft(admin)
    reply = admin.post(f"/api/draft/vip_numbers/import?base={draft['base']}&revision=0",
                       content=CSV.encode("gb18030"), headers={"content-type": "text/csv"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["added"] == ["139-1234-5678"]
    assert [(d["row"], d["same_as"]) for d in body["duplicates"]] == [
        (2, "13801380001"), (6, "139-1234-5678")]
    assert [(r["row"], r["value"]) for r in body["refused"]] == [(5, "not a number")]
    assert "has characters that are not digits" in body["refused"][0]["reason"]
    assert body["draft"]["document"]["vip_numbers"] == ["13801380001", "139 0139 0002",
                                                        "139-1234-5678"]
    assert body["draft"]["report"]["errors"] == []


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 3 * 1024 * 1024])
def test_vip_import_over_one_megabyte_is_413(web, size):
    admin = web.client()
    draft = _draft(admin)
    reply = admin.post(f"/api/draft/vip_numbers/import?base={draft['base']}&revision=0",
                       content=b"1" * size, headers={"content-type": "text/csv"})
    assert reply.status_code == 413
    assert reply.json()["error"]["message"] == (
        "the body sent to /api/draft/vip_numbers/import is larger than the 1024 KiB this "
        "endpoint accepts; send a smaller file or document")
    assert web.store.draft("admin").revision == 0


# --- draft_edit on its own: the edit lands where asked and nothing else moves --------------

SAMPLE = """\
# a hand-written document
site:
  name: Demo   # the branch
  codec: alaw

lines:
  fxo1: {number: "075588880001", flow: bank}

# the agents' phones
agent_codes:
  reasons: {"1": break}
  login: "*11{agent_id}#"
retention:
  calls: 365
"""

_scalars = (st.none() | st.booleans() | st.integers(-10**12, 10**12)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
_names = st.text(min_size=1, max_size=20)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(_names, inner, max_size=4), max_leaves=12)
_paths = st.sampled_from([("site",), ("site", "name"), ("lines", "fxo1"), ("lines", "fxo9"),
                          ("agent_codes", "reasons", "2"), ("retention",), ("new_section",),
                          ("retention", "deep", "er")])


@settings(max_examples=150, deadline=None)
@given(path=_paths, value=_values)
def test_set_at_puts_the_value_at_its_path_and_leaves_the_rest(path, value):
    text = set_at(SAMPLE, path, value)
    assert value_at(text, path) == value
    before, after = parse_yaml(SAMPLE).data, parse_yaml(text).data
    # What the edit touched: the path, or its first part that did not exist before.
    touched = next((path[:n] for n in range(1, len(path)) if not _has(before, path[:n])), path)
    _drop(before, touched)
    _drop(after, touched)
    assert after == before
    if path[0] != "site":
        assert text.startswith("# a hand-written document\nsite:\n  name: Demo   # the branch\n")


def _has(data, path):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True


def _drop(data, path):
    for key in path[:-1]:
        data = data.get(key) if isinstance(data, dict) else None
    if isinstance(data, dict):
        data.pop(path[-1], None)


def test_delete_at_removes_only_that_field():
    text = delete_at(SAMPLE, ("agent_codes", "login"))
    assert text == SAMPLE.replace('  login: "*11{agent_id}#"\n', "")
    assert delete_at(SAMPLE, ("retention",)) == SAMPLE.replace("retention:\n  calls: 365\n", "")
    with pytest.raises(KeyError):
        delete_at(SAMPLE, ("retention", "events"))


def test_values_are_written_so_yaml_reads_them_back_as_given():
    text = set_at(SAMPLE, ("agent_codes", "reasons"),
                  {"1": "break", "010": "yes", "*": "no", "#": "on", "2": "午饭: 吃饭"})
    assert value_at(text, ("agent_codes", "reasons")) == {
        "1": "break", "010": "yes", "*": "no", "#": "on", "2": "午饭: 吃饭"}
    assert '  reasons: {"1": break, "010": "yes", "*": "no", "#": "on", "2": "午饭: 吃饭"}\n' \
        in text


def test_a_section_is_written_as_a_block_with_the_comments_around_it_kept():
    text = set_at(SAMPLE, ("lines",), {"fxo1": {"number": "075588880002", "flow": "bank"}})
    assert text == SAMPLE.replace('fxo1: {number: "075588880001", flow: bank}',
                                  'fxo1: {number: "075588880002", flow: bank}')


def test_text_that_is_not_yaml_or_not_a_mapping_is_refused_with_the_line():
    with pytest.raises(EditRefused, match=r"line 3, column 1: not valid YAML"):
        set_at("site:\n  - [\n", ("site",), {})
    with pytest.raises(EditRefused, match=r"site\.name is not a mapping"):
        set_at(SAMPLE, ("site", "name", "first"), "x")
