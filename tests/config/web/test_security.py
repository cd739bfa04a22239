"""Security of the whole API: every endpoint x every role, CSRF, the error shape, size
limits, no 500 leaking out, no CDN, the docs' roles table, TLS."""

from __future__ import annotations

import datetime
import logging
import re
import stat
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from fastapi.testclient import TestClient
from web_harness import PASSWORD as STRONG
from web_harness import WebHarness

from branchline.config import open_config_store
from branchline.config.web import create_app
from branchline.config.web.auth import CSRF_COOKIE, CSRF_HEADER, Role, roles_markdown, route_roles
from branchline.config.web.tls import VALID_DAYS, ensure_certificate, fingerprint

A, S, V, AG, ANYONE = Role.admin, Role.supervisor, Role.viewer, Role.agent, None
# The agent desktop's own operations: for the agent role alone (an agent acts for itself).
AGENT_ONLY = ("/api/agent/",)

# The one table: every API operation and the least role that may call it (the contract's).
ROLES = {
    ("GET", "/api/docs"): ANYONE,
    ("GET", "/api/setup"): ANYONE,
    ("POST", "/api/setup"): ANYONE,
    ("GET", "/api/session"): AG,
    ("POST", "/api/session"): ANYONE,
    ("DELETE", "/api/session"): ANYONE,
    ("PUT", "/api/session/language"): AG,
    ("PUT", "/api/session/password"): AG,
    ("GET", "/api/agent/desk"): AG,
    ("GET", "/api/agent/desk/stream"): AG,
    ("POST", "/api/agent/login"): AG,
    ("POST", "/api/agent/state"): AG,
    ("POST", "/api/agent/disposition"): AG,
    ("POST", "/api/agent/call"): AG,
    ("GET", "/api/integrations"): A,
    ("POST", "/api/integrations"): A,
    ("DELETE", "/api/integrations/{name}"): A,
    ("GET", "/api/cti/v1/schema"): ANYONE,
    ("GET", "/api/users"): A,
    ("POST", "/api/users"): A,
    ("PATCH", "/api/users/{name}"): A,
    ("DELETE", "/api/users/{name}"): A,
    ("GET", "/api/draft"): V,
    ("PUT", "/api/draft"): A,
    ("DELETE", "/api/draft"): A,
    ("GET", "/api/draft/sections/{section}"): V,
    ("PUT", "/api/draft/sections/{section}"): A,
    ("GET", "/api/draft/flows/{flow}/nodes/{node}"): V,
    ("PUT", "/api/draft/flows/{flow}/nodes/{node}"): A,
    ("DELETE", "/api/draft/flows/{flow}/nodes/{node}"): A,
    ("POST", "/api/draft/vip_numbers/import"): A,
    ("GET", "/api/versions"): V,
    ("GET", "/api/versions/diff"): V,
    ("GET", "/api/versions/{number}"): V,
    ("POST", "/api/versions"): A,
    ("POST", "/api/versions/{number}/rollback"): A,
    ("GET", "/api/live"): V,
    ("GET", "/api/live/stream"): V,
    ("POST", "/api/agents/{agent_id}/state"): S,
    ("POST", "/api/calls/{call_id}/monitor"): S,
    ("GET", "/api/reports/kpis"): S,
    ("GET", "/api/reports/export.csv"): S,
    ("GET", "/api/reports/queue_log"): S,
    ("GET", "/api/sip"): S,
    ("POST", "/api/sip/phones/{station}/password"): A,
    ("PUT", "/api/sip/trunks/{name}/password"): A,
    ("GET", "/api/reports/menus"): S,
    ("GET", "/api/reports/menus.csv"): S,
    ("GET", "/api/reports/menus/compare"): S,
    ("GET", "/api/planning/{day}"): S,
    ("PUT", "/api/planning/{day}/roster"): S,
    ("POST", "/api/planning/{day}/check"): S,
    ("GET", "/api/system"): V,
    ("POST", "/api/system/selftest"): A,
    ("GET", "/api/system/logs"): A,
    ("GET", "/api/system/backup"): A,
    ("POST", "/api/system/restore"): A,
    ("GET", "/api/audit"): A,
    ("GET", "/api/prompts"): V,
    ("GET", "/api/prompts/{name}/{language}.wav"): V,
    ("GET", "/api/prompts/units/{language}/{unit:path}.wav"): V,
    ("PUT", "/api/prompts/{name}/{language}"): A,
    ("POST", "/api/prompts/{name}/{language}/synthesise"): A,
    ("POST", "/api/tryit"): A,
    ("POST", "/api/tryit/{trial_id}/keys"): A,
    ("POST", "/api/tryit/{trial_id}/advance"): A,
    ("DELETE", "/api/tryit/{trial_id}"): A,
}


class _NoLink:
    def audit(self, who, what, diff):
        raise AssertionError("nothing is audited while listing routes")


def _app_routes():
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(open_config_store(folder), _NoLink(), data_dir=Path(folder),
                         announce=lambda message: None)
        app.state.accounts.close()
        return app, route_roles(app)


APP, ROUTES = _app_routes()
AGENT_PIN = "582914"
CALLERS = ("anonymous", "agent", "viewer", "supervisor", "admin")
PARAMS = {"name": "nobody", "number": "1", "section": "site", "flow": "bank",
          "node": "main_menu", "agent_id": "1001", "language": "zh", "trial_id": "none"}
QUERY = {"/api/live/stream": "?events=1", "/api/agent/desk/stream": "?events=1"}


def test_the_app_enforces_exactly_the_table():
    assert {(r.method, r.path): r.role for r in ROUTES} == ROLES


def test_the_docs_roles_table_is_current():
    doc = (Path(__file__).parents[3] / "docs" / "web.md").read_text()
    table = doc.split("<!-- roles:begin -->\n", 1)[1].split("<!-- roles:end -->", 1)[0]
    expected = roles_markdown(APP)
    assert table == expected, f"docs/web.md's roles table is out of date; make it:\n{expected}"


@pytest.fixture(scope="module")
def site(tmp_path_factory, prompts_dir, bank_url):
    harness = WebHarness(tmp_path_factory.mktemp("roles"), prompts_dir=prompts_dir,
                         bank_url=bank_url)
    clients = {"admin": harness.client()}
    for role in ("viewer", "supervisor"):
        clients[role] = harness.client(role, name=role)
    assert clients["admin"].post("/api/users", json={"name": "1001", "role": "agent",
                                                     "password": AGENT_PIN}).status_code == 201
    clients["agent"] = harness.login("1001", AGENT_PIN)
    clients["anonymous"] = harness.anonymous()
    yield harness, clients
    harness.close()


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_endpoint_for_every_role(site, route, caller):
    harness, clients = site
    client = clients[caller]
    if caller != "anonymous" and client.get("/api/session").status_code == 401:
        client = clients[caller] = (harness.login("1001", AGENT_PIN) if caller == "agent"
                                    else harness.login(caller))  # a logout route ran before
    path = re.sub(r"\{(\w+)\}", lambda m: PARAMS.get(m.group(1), "x"), route.path)
    reply = client.request(route.method, path + QUERY.get(route.path, ""))
    if route.role is None:
        allowed = True
    elif caller == "anonymous":
        allowed = False
        assert reply.status_code == 401, reply.text
        assert reply.json()["error"]["code"] == "not_logged_in"
    else:
        allowed = Role(caller).allows(route.role)
        if route.path.startswith(AGENT_ONLY):
            allowed = caller == "agent"
            if not allowed:
                assert reply.status_code == 403, reply.text
                assert "the agent desktop is for agents" in reply.json()["error"]["message"]
        elif not allowed:
            assert reply.status_code == 403, reply.text
            name = "1001" if caller == "agent" else caller
            assert reply.json()["error"]["message"] == (
                f"{name} is a {caller}; this needs the {route.role.value} role or above "
                "(ask an admin)")
    if allowed:
        assert reply.status_code not in (401, 403), reply.text
        assert reply.status_code < 500, reply.text


def test_csrf_missing_or_wrong_is_403_and_nothing_changes(web):
    admin = web.client()
    token = admin.headers.pop(CSRF_HEADER)
    body = {"name": "li", "role": "viewer", "password": "a fine passphrase"}
    missing = admin.post("/api/users", json=body)
    assert missing.status_code == 403
    assert missing.json() == {"error": {
        "code": "csrf_failed",
        "message": "the X-CSRF-Token header is missing; send the value of the bl_csrf cookie "
                   "(or of <meta name=\"csrf-token\">) in it"}}
    wrong = admin.post("/api/users", json=body, headers={CSRF_HEADER: token[:-2] + "xx"})
    assert wrong.status_code == 403
    assert wrong.json()["error"]["message"] == (
        "the X-CSRF-Token header does not match the bl_csrf cookie or your session; reload the "
        "page to get the current token")
    cross = admin.post("/api/users", json=body,
                       headers={CSRF_HEADER: token, "Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    no_cookie = TestClient(web.web).post("/api/session", json={"name": "admin", "password": "x"},
                                         headers={CSRF_HEADER: token})
    assert no_cookie.status_code == 403
    assert no_cookie.json()["error"]["message"].startswith("no bl_csrf cookie came with")
    assert [u["name"] for u in admin.get("/api/users").json()] == ["admin"]  # reads need none
    assert admin.post("/api/users", json=body, headers={CSRF_HEADER: token}).status_code == 201


@pytest.mark.parametrize(("content", "path", "fix"), [
    (b'{"name": "li", ', "body", "send a valid JSON body"),
    (b'{"name": "li", "role": "viewer"}', "body.password", "add this field"),
    (b'{"name": "li", "role": "viewer", "password": 12}', "body.password", "use"),
    (b'[1, 2]', "body", "send a JSON object"),
])
def test_request_validation_errors_have_the_contract_shape_with_the_path(web, content, path,
                                                                         fix):
    admin = web.client()
    reply = admin.post("/api/users", content=content,
                       headers={"content-type": "application/json"})
    assert reply.status_code == 422
    body = reply.json()
    assert set(body) == {"error"} and body["error"]["code"] == "request_invalid"
    issue = body["error"]["issues"][0]
    assert issue["path"] == path or issue["path"].startswith(path + ".")
    assert issue["fix"].startswith(fix) and issue["severity"] == "error"
    assert issue["message"] in body["error"]["message"]


def test_an_unexpected_error_is_a_logged_500_with_an_error_id(web, caplog):
    def boom():
        raise RuntimeError("disk on fire")

    web.web.add_api_route("/api/boom", boom)
    client = TestClient(web.web, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="branchline.web"):
        reply = client.get("/api/boom")
    assert reply.status_code == 500
    error = reply.json()["error"]
    assert error["code"] == "internal_error"
    error_id = re.search(r"error id ([0-9a-f]{12})", error["message"]).group(1)
    assert "disk on fire" not in reply.text
    (record,) = [r for r in caplog.records if error_id in r.getMessage()]
    assert record.exc_info[1].args == ("disk on fire",)


def test_unknown_paths_and_methods_use_the_error_shape(web):
    client = web.anonymous()
    missing = client.get("/api/nothing/here")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == \
        "there is no /api/nothing/here; the API is described at /api/openapi.json"
    method = client.patch("/api/versions")
    assert method.status_code == 405
    assert method.json()["error"] == {"code": "http_405",
                                      "message": "PATCH is not allowed on /api/versions"}


def test_a_body_over_the_limit_is_413_before_it_is_read(web):
    admin = web.client()
    huge = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    declared = admin.put("/api/draft", content=huge, headers={"content-type": "application/json"})
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "too_large"

    sent = []

    def chunks():
        for _ in range(64):  # 4 MiB without a Content-Length: refused on the way in
            sent.append(1)
            yield b" " * 65536

    streamed = admin.put("/api/draft", content=chunks(),
                         headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert streamed.json()["error"]["message"].endswith(
        "larger than the 1024 KiB this endpoint accepts; send a smaller file or document")
    assert web.store.draft("admin").revision == 0


def test_no_page_needs_the_internet():
    client = TestClient(APP)
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "<td>POST</td><td>/api/versions</td><td>admin</td><td>Publish your draft</td>" in \
        docs.text
    assert re.findall(r'(?:src|href)="([^"]*)"', docs.text) == ["/api/openapi.json"]
    assert client.get("/docs").status_code == 404
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert "cdn" not in spec.text.lower()
    assert spec.json()["paths"]["/api/versions"]["post"]["responses"]["422"]["content"][
        "application/json"]["schema"]["$ref"].endswith("/ErrorBody")


def test_tls_certificate_is_made_once_and_reused(tmp_path):
    now = datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC)
    cert_path, key_path = ensure_certificate(tmp_path, names=["10.1.2.3"], now=now)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert cert.issuer == cert.subject  # self-signed
    assert cert.not_valid_after_utc - now > datetime.timedelta(days=VALID_DAYS - 1)
    alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in alt.get_values_for_type(x509.DNSName)
    assert {str(a) for a in alt.get_values_for_type(x509.IPAddress)} >= {"10.1.2.3",
                                                                        "127.0.0.1"}
    before = fingerprint(cert_path)
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", before)
    assert ensure_certificate(tmp_path, now=now) == (cert_path, key_path)
    assert fingerprint(cert_path) == before
    later = now + datetime.timedelta(days=VALID_DAYS - 10)
    ensure_certificate(tmp_path, now=later)
    assert fingerprint(cert_path) != before  # renewed before it runs out


def test_a_failing_accounts_database_is_503_with_the_remedy(web):
    admin = web.client()
    web.web.state.accounts.close()  # from here, as good as a vanished disk
    reply = admin.get("/api/session")
    assert reply.status_code == 503
    error = reply.json()["error"]
    assert error["code"] == "accounts_unavailable"
    assert error["message"].endswith("check the disk (space, permissions) and restart the "
                                     "appliance")


def test_the_csrf_token_is_bound_to_the_session(web):
    admin = web.client()
    body = {"name": "li", "role": "viewer", "password": STRONG}
    # An attacker who can set cookies for the host pairs a cookie with a token they know.
    planted = "attacker-chosen-token-0123456789"
    admin.cookies.set(CSRF_COOKIE, planted)
    refused = admin.post("/api/users", json=body, headers={CSRF_HEADER: planted})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    own = admin.get("/api/session").json()["csrf"]
    assert own == admin.headers[CSRF_HEADER] != planted
    assert f'<meta name="csrf-token" content="{own}">' in admin.get("/").text
    assert admin.post("/api/users", json=body).status_code == 201
    other = web.login("li", STRONG)  # another session, another token
    assert other.headers[CSRF_HEADER] != own
    assert other.put("/api/session/language", json={"language": "zh"},
                     headers={CSRF_HEADER: own}).status_code == 403


@pytest.mark.parametrize(("headers", "allowed"), [
    ({"Origin": "http://testserver"}, True),
    ({"Sec-Fetch-Site": "same-origin"}, True),
    ({}, True),  # curl and scripts send neither; the token decides
    ({"Origin": "http://evil.example"}, False),
    ({"Origin": "null"}, False),
    ({"Sec-Fetch-Site": "same-site"}, False),
    ({"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"}, False),
])
def test_changes_from_another_site_are_refused_even_with_the_token(web, headers, allowed):
    admin = web.client()
    reply = admin.put("/api/session/language", json={"language": "zh"}, headers=headers)
    assert (reply.status_code == 200) is allowed, reply.text
    if not allowed:
        assert reply.json()["error"]["message"] == (
            "the request came from another web site; changes are only accepted from this "
            "appliance's own pages")
