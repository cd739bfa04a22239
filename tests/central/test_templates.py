"""Templates at the centre: `branchline central template publish|assign` as processes, the
checks on a template's text, the audit, and the API and page that show refusals and
overrides."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fleet_kit import add_test_branch

from branchline.central.db import connect
from branchline.central.errors import CentralInputError
from branchline.central.templates import (
    my_templates,
    publish_template,
    report_template,
)
from branchline.central.web import create_central_app
from branchline.config.data_dir import DataDir
from branchline.config.web.auth import CSRF_COOKIE, CSRF_HEADER

BRANCHLINE = str(Path(sys.executable).with_name("branchline"))
MENU = "prompts:\n  main.short: {zh: 按0, en: Press 0}\n"


def admin_client(dsn, tmp_path):
    said = []
    client = TestClient(create_central_app(dsn, data=DataDir(tmp_path / "centre"),
                                           announce=said.append))
    client.get("/api/setup")
    client.headers[CSRF_HEADER] = client.cookies[CSRF_COOKIE]
    token = re.search(r"token=([\w-]+)", said[0]).group(1)
    reply = client.post("/api/setup", json={"token": token, "name": "admin",
                                            "password": "branch-line-test-pw", "language": "en"})
    client.headers[CSRF_HEADER] = reply.json()["csrf"]
    return client


def run(dsn, *args):
    return subprocess.run([BRANCHLINE, "central", "template", *args], capture_output=True,
                          text=True, env={**os.environ, "BRANCHLINE_CENTRAL_DSN": dsn,
                                          "USER": "alice"}, timeout=120, check=False)


def test_publish_and_assign_from_the_command_line(postgres, central, tmp_path):
    add_test_branch(postgres, central, "b1")
    add_test_branch(postgres, central, "b2")
    path = tmp_path / "menus.yaml"
    path.write_text(MENU)
    for expected in (1, 2):
        done = run(central, "publish", str(path), "--name", "menus", "--note", "shorter")
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"template menus version {expected} published\n"
    done = run(central, "assign", "menus", "b1", "b2")
    assert (done.returncode, done.stdout) == (0, "template menus assigned to b1, b2\n")
    missing = run(central, "assign", "menus", "b9")
    assert missing.returncode == 2 and "no branch b9" in missing.stderr
    path.write_text("site: {name: x}\n")
    bad = run(central, "publish", str(path), "--name", "menus", "--note", "x")
    assert bad.returncode == 2 and "'site' is not a shared part" in bad.stderr
    with connect(central) as conn:
        audit = [r[0] for r in conn.execute("SELECT who || ': ' || what FROM centre_audit "
                                            "ORDER BY seq")]
    assert audit == ["alice: published template menus v1 (prompts): shorter",
                     "alice: published template menus v2 (prompts): shorter",
                     "alice: assigned template menus to b1, b2"]


@pytest.mark.parametrize(("text", "error"), [
    ("[1, 2]", r"template \(line 1\): the document is not a mapping"),
    ("{}", "give a mapping of one or more of flows, prompts, queues, calendar"),
    ("queues: {a: 1}", "queues must be a list"),
    ("calendar: {holidays: [], weekends: []}", "not weekends"),
    ("prompts: [", r"template \(line \d\)"),
])
def test_a_template_that_is_no_mapping_of_shared_parts_is_refused(central, text, error):
    with connect(central) as conn, pytest.raises(CentralInputError, match=error):
        publish_template(conn, "t", text, note="x", who="a")


def test_the_api_and_page_show_refusals_and_overrides(postgres, central, tmp_path):
    logins = {b: add_test_branch(postgres, central, b) for b in ("b1", "b2", "b3")}
    assert run(central, "publish", "/dev/stdin", "--name", "menus", "--note", "n").returncode \
        == 2  # an empty file is refused; now a real one:
    path = tmp_path / "menus.yaml"
    path.write_text(MENU)
    run(central, "publish", str(path), "--name", "menus", "--note", "n")
    run(central, "assign", "menus", "b1", "b2", "b3")
    with connect(logins["b1"]) as conn:
        assert my_templates(conn)[0].body == MENU
        report_template(conn, "menus", 1, "applied", overrides=("prompts",))
    with connect(logins["b2"]) as conn:
        report_template(conn, "menus", 1, "refused", "flows.bank: unknown prompt 'x'")
    sup = admin_client(central, tmp_path)
    [menus] = sup.get("/api/templates").json()["templates"]
    got = {b["branch"]: (b["outcome"], b["reason"], b["overrides"]) for b in menus["branches"]}
    assert got == {"b1": ("applied", "", ["prompts"]),
                   "b2": ("refused", "flows.bank: unknown prompt 'x'", []),
                   "b3": (None, "", [])}
    page = sup.get("/templates")
    assert page.status_code == 200
    assert "unknown prompt &#39;x&#39;" in page.text and "not reported yet" in page.text
    assert TestClient(sup.app).get("/api/templates").status_code == 401


def test_unassigning_from_the_page_api_and_command_line(postgres, central, tmp_path):
    for b in ("b1", "b2", "b3"):
        add_test_branch(postgres, central, b)
    path = tmp_path / "menus.yaml"
    path.write_text(MENU)
    run(central, "publish", str(path), "--name", "menus", "--note", "n")
    run(central, "assign", "menus", "b1", "b2", "b3")
    admin = admin_client(central, tmp_path)
    page = admin.get("/templates").text
    assert 'data-unassign="menus" data-branch="b2"' in page
    assert '<script src="/centre-static/templates.js"></script>' in page
    assert admin.get("/centre-static/templates.js").status_code == 200
    made = admin.post("/api/users", json={"name": "sup", "role": "supervisor",
                                          "language": "en", "password": "branch-line-test-pw"})
    assert made.status_code == 201
    sup = TestClient(admin.app)
    sup.get("/api/setup")
    sup.headers[CSRF_HEADER] = sup.cookies[CSRF_COOKIE]
    reply = sup.post("/api/session", json={"name": "sup", "password": "branch-line-test-pw"})
    sup.headers[CSRF_HEADER] = reply.json()["csrf"]
    assert "data-unassign" not in sup.get("/templates").text
    assert sup.delete("/api/templates/menus/branches/b2").status_code == 403
    no_csrf = TestClient(admin.app, cookies=admin.cookies)
    assert no_csrf.delete("/api/templates/menus/branches/b2").status_code == 403

    done = admin.delete("/api/templates/menus/branches/b2")
    assert (done.status_code, done.json()) == (200, {"unassigned": ["b2"]})
    again = admin.delete("/api/templates/menus/branches/b2")
    assert again.status_code == 404 and "is not assigned to branch b2" in again.text
    unknown = admin.delete("/api/templates/menus/branches/b9")
    assert unknown.status_code == 422 and "no branch b9" in unknown.text
    cli = run(central, "unassign", "menus", "b3", "b2")
    assert (cli.returncode, cli.stdout) == (
        0, "template menus unassigned from b3; b2 did not have it\n")
    [menus] = admin.get("/api/templates").json()["templates"]
    assert [b["branch"] for b in menus["branches"]] == ["b1"]
    with connect(central) as conn:
        audit = [r[0] for r in conn.execute("SELECT who || ': ' || what FROM centre_audit "
                                            "WHERE what LIKE 'unassigned%%' ORDER BY seq")]
    assert audit == [
        "admin: unassigned template menus from b2; they keep its parts as their own",
        "alice: unassigned template menus from b3; they keep its parts as their own"]
