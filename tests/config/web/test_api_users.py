"""Users through the real API: create, change, delete, the password rules, the last admin."""

from __future__ import annotations

import pytest
from web_harness import PASSWORD


def test_admin_creates_lists_and_deletes_users_and_each_change_is_audited(web, audit):
    admin = web.client()
    made = admin.post("/api/users", json={"name": "wang.li", "role": "supervisor",
                                          "language": "zh", "password": "correct horse 1"})
    assert made.status_code == 201
    assert made.json() == {"name": "wang.li", "role": "supervisor", "language": "zh"}
    assert admin.get("/api/users").json() == [
        {"name": "admin", "role": "admin", "language": "en"},
        {"name": "wang.li", "role": "supervisor", "language": "zh"}]
    assert web.login("wang.li", "correct horse 1").get("/api/session").json()["role"] == \
        "supervisor"
    assert admin.delete("/api/users/wang.li").status_code == 204
    assert [u["name"] for u in admin.get("/api/users").json()] == ["admin"]
    entries = [(who, what) for who, what, _ in audit()]
    assert ("admin", "created user 'wang.li' (supervisor, zh)") in entries
    assert ("admin", "deleted user 'wang.li'") in entries
    assert not any("correct horse" in what + diff for _, what, diff in audit())


def test_password_rules_name_the_field_and_the_fix(web):
    admin = web.client()
    cases = {
        "short": "the password is too short; use at least 10 characters that are not easy "
                 "to guess, e.g. three or four unrelated words / 密码太短；请使用至少 10 个不易"
                 "猜到的字符，例如三四个互不相关的词",
        "Zhang.Wei1": "the password is the user name; use at least 10 characters that are not "
                      "easy to guess, e.g. three or four unrelated words / 密码与用户名相同；"
                      "请使用至少 10 个不易猜到的字符，例如三四个互不相关的词",
    }
    for password, message in cases.items():
        reply = admin.post("/api/users", json={"name": "zhang.wei1", "role": "viewer",
                                               "password": password})
        assert reply.status_code == 422
        error = reply.json()["error"]
        assert error["message"] == message
        assert error["issues"][0]["path"] == "body.password"
    assert [u["name"] for u in admin.get("/api/users").json()] == ["admin"]


def test_bad_names_roles_and_duplicates_are_refused(web):
    admin = web.client()
    bad_name = admin.post("/api/users", json={"name": "../etc", "role": "viewer",
                                              "password": PASSWORD})
    assert bad_name.status_code == 422
    assert bad_name.json()["error"]["issues"][0]["path"] == "body.name"
    bad_role = admin.post("/api/users", json={"name": "li", "role": "root",
                                              "password": PASSWORD})
    assert bad_role.status_code == 422
    assert bad_role.json()["error"]["issues"][0]["path"] == "body.role"
    assert admin.post("/api/users", json={"name": "li", "role": "viewer",
                                          "password": PASSWORD}).status_code == 201
    twice = admin.post("/api/users", json={"name": "li", "role": "admin", "password": PASSWORD})
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "user_exists"


def test_a_new_role_or_password_ends_the_users_sessions(web, audit):
    admin = web.client()
    viewer = web.client("viewer", name="zhao")
    assert viewer.get("/api/session").json()["role"] == "viewer"
    promoted = admin.patch("/api/users/zhao", json={"role": "supervisor"})
    assert promoted.json() == {"name": "zhao", "role": "supervisor", "language": "en"}
    assert viewer.get("/api/session").status_code == 401
    again = web.login("zhao")
    assert admin.patch("/api/users/zhao", json={"password": "a new passphrase"}
                       ).status_code == 200
    assert again.get("/api/session").status_code == 401
    assert web.anonymous().post("/api/session", json={"name": "zhao", "password": PASSWORD}
                                ).status_code == 401
    web.login("zhao", "a new passphrase")
    language = admin.patch("/api/users/zhao", json={"language": "zh"})
    assert language.json()["language"] == "zh"
    whats = [what for who, what, _ in audit() if who == "admin"]
    assert "changed user 'zhao': role viewer -> supervisor" in whats
    assert "changed user 'zhao': password changed" in whats
    assert "changed user 'zhao': language en -> zh" in whats


def test_the_last_admin_can_be_neither_deleted_nor_demoted(web):
    admin = web.client()
    for doing, reply in (("delete", admin.delete("/api/users/admin")),
                         ("change the role of",
                          admin.patch("/api/users/admin", json={"role": "viewer"}))):
        assert reply.status_code == 409
        assert reply.json()["error"] == {
            "code": "last_admin",
            "message": f"cannot {doing} 'admin': they are the last admin; make another user "
                       "an admin first"}
    web.client("admin", name="second")
    assert admin.patch("/api/users/admin", json={"role": "viewer"}).status_code == 200


def test_unknown_users_are_404(web):
    admin = web.client()
    for reply in (admin.patch("/api/users/ghost", json={"language": "zh"}),
                  admin.delete("/api/users/ghost")):
        assert reply.status_code == 404
        assert reply.json()["error"]["message"] == \
            "there is no user 'ghost'; GET /api/users lists them"


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "1234567890", " " * 10,
                                      "Demobranch2024"])
def test_guessable_passwords_are_refused_in_both_languages(web, password):
    admin = web.client()
    reply = admin.post("/api/users", json={"name": "li", "role": "viewer",
                                           "password": password})
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "invalid"
    assert "use at least 10 characters that are not easy to guess" in error["message"]
    assert "请使用至少 10 个不易猜到的字符" in error["message"]
    assert error["issues"][0]["path"] == "body.password"
    assert [u["name"] for u in admin.get("/api/users").json()] == ["admin"]
