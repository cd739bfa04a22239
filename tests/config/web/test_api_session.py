"""First-run setup, login, lockout, sessions and logout through the real API."""

from __future__ import annotations

import re
import sqlite3

from web_harness import PASSWORD

from branchline.config.web import accounts as acc
from branchline.config.web.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE


def _token(web):
    return re.search(r"token=([\w-]+)", web.announced[-1]).group(1)


def _set_cookie_headers(reply):
    return reply.headers.get_list("set-cookie")


def test_first_run_announces_a_setup_link_and_no_account_exists(web):
    assert len(web.announced) == 1
    assert re.fullmatch(r"branchline: first run: open /setup\?token=[\w-]{32} on this "
                        r"appliance's web address to create the admin", web.announced[0])
    anonymous = web.anonymous()
    assert anonymous.get("/api/setup").json() == {"needed": True}
    # No default password: the usual guesses get nowhere.
    for name, password in (("admin", "admin"), ("admin", "password"), ("root", "branchline")):
        reply = anonymous.post("/api/session", json={"name": name, "password": password})
        assert reply.status_code == 401
        assert reply.json()["error"]["code"] == "login_failed"
    assert web.web.state.accounts.users() == []


def test_setup_creates_the_admin_logs_in_and_the_token_is_spent(web, audit):
    token = _token(web)
    client = web.anonymous()
    weak = client.post("/api/setup", json={"token": token, "name": "alice",
                                           "password": "short", "language": "en"})
    assert weak.status_code == 422
    assert weak.json()["error"]["issues"][0]["path"] == "body.password"
    assert "at least 10 characters" in weak.json()["error"]["message"]
    wrong = client.post("/api/setup", json={"token": "x" * 32, "name": "alice",
                                            "password": PASSWORD, "language": "en"})
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "setup_refused"

    reply = client.post("/api/setup", json={"token": token, "name": "alice",
                                            "password": PASSWORD, "language": "en"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"user": "alice", "role": "admin", "language": "en",
                            "csrf": client.get("/api/session").json()["csrf"]}
    assert reply.json()["csrf"] != client.cookies[CSRF_COOKIE]  # bound to the new session
    session_cookie = next(c for c in _set_cookie_headers(reply)
                          if c.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
    assert "Secure" not in session_cookie
    assert client.get("/api/session").json()["user"] == "alice"

    again = web.anonymous().post("/api/setup", json={"token": token, "name": "mallory",
                                                     "password": PASSWORD, "language": "en"})
    assert again.status_code == 403
    assert again.json()["error"]["message"].startswith("setup is already done")
    assert web.anonymous().get("/api/setup").json() == {"needed": False}
    assert ("alice", "first-run setup: created the first admin 'alice'", "") in audit()


def test_a_token_left_from_before_users_existed_is_void(web):
    token = _token(web)
    web.client()  # the harness's admin uses the announced token
    web.web.state.accounts.issue_setup_token()  # a restart with users: nothing issued
    reply = web.anonymous().post("/api/setup", json={"token": token, "name": "eve",
                                                     "password": PASSWORD})
    assert reply.status_code == 403


def test_the_setup_token_expires(web, clock):
    token = web.web.state.accounts.issue_setup_token()
    clock.advance(acc.SETUP_TTL + 61)
    reply = web.anonymous().post("/api/setup", json={"token": token, "name": "alice",
                                                     "password": PASSWORD})
    assert reply.status_code == 403
    assert "expired 1 min 1 s ago; restart the appliance" in reply.json()["error"]["message"]


def test_passwords_are_argon2id_hashes_and_never_stored(web):
    web.client()
    db = sqlite3.connect(web.data_dir / "web" / "accounts.db")
    (stored,) = db.execute("SELECT hash FROM users WHERE name = 'admin'").fetchone()
    tokens = [row[0] for row in db.execute("SELECT token_hash FROM sessions")]
    db.close()
    assert stored.startswith("$argon2id$")
    raw = (web.data_dir / "web" / "accounts.db").read_bytes()
    assert PASSWORD.encode() not in raw
    assert all(re.fullmatch(r"[0-9a-f]{64}", t) for t in tokens)  # SHA-256, not the token


def test_login_and_logout(web):
    web.client()
    client = web.login("admin")
    assert client.get("/api/session").status_code == 200
    out = client.delete("/api/session")
    assert out.status_code == 204
    refused = client.get("/api/session")
    assert refused.status_code == 401
    assert refused.json() == {"error": {
        "code": "not_logged_in",
        "message": "you are not logged in, or your session expired; log in at /login "
                   "(POST /api/session)"}}


def test_wrong_password_says_nothing_about_which_part(web):
    web.client()
    anonymous = web.anonymous()
    for name in ("admin", "nobody"):
        reply = anonymous.post("/api/session", json={"name": name, "password": "not it at all"})
        assert reply.status_code == 401
        assert reply.json()["error"]["message"] == \
            "wrong user name or password; 4 more failed tries lock the login for 15 minutes"
    last = [anonymous.post("/api/session", json={"name": "nobody", "password": "nope nope"})
            for _ in range(3)][-1]
    assert last.json()["error"]["message"] == \
        "wrong user name or password; 1 more failed try locks the login for 15 minutes"


def test_lockout_after_five_failures_with_the_time_left_and_one_audit_entry(web, clock, audit):
    web.client()
    anonymous = web.anonymous()
    for _ in range(acc.USER_LIMIT - 1):
        assert anonymous.post("/api/session", json={"name": "admin", "password": "guess guess"}
                              ).status_code == 401
    locked = anonymous.post("/api/session", json={"name": "admin", "password": "guess guess"})
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "900"
    assert locked.json()["error"] == {
        "code": "locked_out",
        "message": "login locked after 5 failed logins for 'admin' within 15 minutes; try "
                   "again in 15 min 0 s (or ask an admin)"}
    clock.advance(60)
    right = anonymous.post("/api/session", json={"name": "admin", "password": PASSWORD})
    assert right.status_code == 429
    assert "try again in 14 min 0 s" in right.json()["error"]["message"]
    lockouts = [what for who, what, _ in audit() if what.startswith("login locked")]
    assert lockouts == ["login locked from testclient: login locked after 5 failed logins "
                        "for 'admin' within 15 minutes; try again in 15 min 0 s (or ask an "
                        "admin)"]
    clock.advance(acc.LOCKOUT - 60)
    assert anonymous.post("/api/session", json={"name": "admin", "password": PASSWORD}
                          ).status_code == 200


def test_failures_spread_over_more_than_the_window_do_not_lock(web, clock):
    web.client()
    anonymous = web.anonymous()
    for _ in range(acc.USER_LIMIT * 2):
        assert anonymous.post("/api/session", json={"name": "admin", "password": "guess guess"}
                              ).status_code == 401
        clock.advance(acc.WINDOW / (acc.USER_LIMIT - 1) + 1)


def test_an_address_spraying_many_names_is_locked(web, clock):
    web.client()
    anonymous = web.anonymous()
    replies = [anonymous.post("/api/session", json={"name": f"user{i}", "password": "guess it"})
               for i in range(acc.ADDRESS_LIMIT)]
    assert [r.status_code for r in replies] == [401] * (acc.ADDRESS_LIMIT - 1) + [429]
    blocked = anonymous.post("/api/session", json={"name": "admin", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.json()["error"]["message"].startswith(
        "login locked after 20 failed logins from testclient within 15 minutes")


def test_sessions_end_after_idle_time_and_after_the_absolute_limit(web, clock):
    admin = web.client()
    clock.advance(acc.SESSION_IDLE - 1)
    assert admin.get("/api/session").status_code == 200  # use restarts the idle timer
    clock.advance(acc.SESSION_IDLE - 1)
    assert admin.get("/api/session").status_code == 200
    clock.advance(acc.SESSION_IDLE + 1)
    assert admin.get("/api/session").status_code == 401

    busy = web.login("admin")
    for _ in range(int(acc.SESSION_MAX // (acc.SESSION_IDLE / 2))):
        assert busy.get("/api/session").status_code == 200
        clock.advance(acc.SESSION_IDLE / 2)
    clock.advance(1)  # 12 h and a second after login, however busy
    assert busy.get("/api/session").status_code == 401


def test_language_is_per_user(web):
    admin = web.client()
    reply = admin.put("/api/session/language", json={"language": "zh"})
    assert reply.status_code == 200
    assert reply.json()["language"] == "zh"
    assert web.login("admin").get("/api/session").json()["language"] == "zh"
    bad = admin.put("/api/session/language", json={"language": "fr"})
    assert bad.status_code == 422
    assert bad.json()["error"]["issues"][0]["path"] == "body.language"


def test_secure_cookies_under_tls(web):
    from fastapi.testclient import TestClient

    from branchline.config.web import create_app

    announced = []
    app = create_app(web.store, web.link, data_dir=web.tmp_path / "tls", announce=announced.append,
                     secure_cookies=True)
    client = TestClient(app, base_url="https://testserver")
    first = client.get("/api/setup")
    assert "Secure" in first.headers["set-cookie"]
    token = re.search(r"token=([\w-]+)", announced[0]).group(1)
    reply = client.post("/api/setup", json={"token": token, "name": "alice",
                                            "password": PASSWORD},
                        headers={CSRF_HEADER: client.cookies[CSRF_COOKIE]})
    session_cookie = next(c for c in _set_cookie_headers(reply)
                          if c.startswith(SESSION_COOKIE + "="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie


def test_a_user_changes_their_own_password_and_other_sessions_end(web, audit):
    web.client()
    viewer = web.client("viewer", name="qian")
    other_window = web.login("qian")
    wrong = viewer.put("/api/session/password", json={"current": "not my password",
                                                       "new": "a brand new phrase"})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["issues"][0]["path"] == "body.current"
    weak = viewer.put("/api/session/password", json={"current": PASSWORD, "new": "qian"})
    assert weak.status_code == 422
    assert weak.json()["error"]["issues"][0]["path"] == "body.new"
    changed = viewer.put("/api/session/password", json={"current": PASSWORD,
                                                         "new": "a brand new phrase"})
    assert changed.status_code == 200
    assert viewer.get("/api/session").json()["user"] == "qian"  # this window stays in
    assert other_window.get("/api/session").status_code == 401
    web.login("qian", "a brand new phrase")
    assert ("qian", "changed their own password", "") in audit()
