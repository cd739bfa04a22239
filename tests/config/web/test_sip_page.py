"""The SIP page and API over a real appliance with its SIP board on 127.0.0.1: a phone made of
our own user agent registers with the password an admin generated (shown once, never again,
never in the audit); a reset makes the old one fail; a trunk's password is set (refused when
weak, with the reason), never shown back; supervisors read, only admins change; the page in
both languages; ``branchline sip password`` from a process does the same from stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from web_harness import WebHarness

from branchline.config.data_dir import DataDir
from branchline.firmware.sip_board import sip_of
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.digest import DigestClient
from branchline.hw.sip.driver import SipEndpoint
from branchline.hw.sip.registration import Registration

STRONG = "ginger-lattice-monsoon-82"


def _edit(document):
    document["sip"]["listen"] = "127.0.0.1:0"
    document["sip"]["phones"] = {"desk1": {"extension": "801"}}
    document["sip"]["trunks"]["pbx"] = {"address": "127.0.0.1:9", "user": "branch",
                                        "registers": True}


@pytest.fixture(scope="module")
def site(tmp_path_factory, prompts_dir, bank_url):
    harness = WebHarness(tmp_path_factory.mktemp("sip"), prompts_dir=prompts_dir,
                         bank_url=bank_url, edit_document=_edit, sip=True)
    harness.step()
    yield harness
    harness.close()


class Phone:
    """Extension 801 registering with ``password`` from its own endpoint, as a desk phone."""

    def __init__(self, site, password):
        self.site = site
        self.ep = SipEndpoint(lambda h, p: UserAgent(h, p))
        host, port = sip_of(site.runtime.app.board).address
        self.reg = Registration("desk", "801", host, [(host, port, "udp")],
                                DigestClient("801", password),
                                f"sip:801@{self.ep.address[0]}:{self.ep.address[1]}",
                                user_agent="DeskPhone/1.0")
        self.ep.agent.add_registration(self.reg)
        self.ep.send(self.ep.agent.register("desk", time.monotonic()))

    def settled(self):
        self.ep.poll(0)
        return self.reg.state in ("registered", "failed")

    def close(self):
        self.ep.close()


def _register(site, password):
    phone = Phone(site, password)
    try:
        site.run_until(phone.settled, limit=30)  # virtual seconds; the SIP timers are real
        return phone.reg.state
    finally:
        phone.close()


def _audit(site):
    return [e for e in site.link.audit_entries(0.0) if "SIP password" in e["what"]]


def test_a_generated_phone_password_is_shown_once_and_registers_the_phone(site):
    admin = site.client("admin")
    before = admin.get("/api/sip").json()
    (desk,) = before["phones"]
    assert (desk["station"], desk["extension"], desk["password_set"]) == ("desk1", "801", False)
    assert desk["bindings"] == []
    made = admin.post("/api/sip/phones/desk1/password")
    assert made.status_code == 201, made.text
    password = made.json()["password"]
    assert len(password) == 20
    assert _register(site, password) == "registered"
    site.step()  # the loop publishes the binding with its next snapshot
    site.run(1.0)
    after = admin.get("/api/sip")
    (desk,) = after.json()["phones"]
    assert desk["password_set"] is True
    (binding,) = desk["bindings"]
    assert binding["user_agent"] == "DeskPhone/1.0" and binding["address"].startswith("127.0.0.1:")
    assert binding["last_seen"] is not None
    assert password not in after.text and password not in admin.get("/sip").text
    entries = _audit(site)
    assert entries[-1]["what"] == "SIP password generated for phone:desk1"
    assert password not in json.dumps(entries)


def test_a_reset_makes_the_old_password_fail(site):
    admin = site.client("admin")
    old = admin.post("/api/sip/phones/desk1/password").json()["password"]
    new = admin.post("/api/sip/phones/desk1/password").json()["password"]
    assert old != new
    assert _register(site, old) == "failed"
    assert _register(site, new) == "registered"


def test_a_trunk_password_is_checked_set_and_never_shown_back(site):
    admin = site.client("admin")
    weak = admin.put("/api/sip/trunks/pbx/password", json={"password": "1234567890"})
    assert weak.status_code == 422
    assert weak.json()["error"]["code"] == "weak_password"
    assert "1234567890" not in json.dumps(_audit(site))
    done = admin.put("/api/sip/trunks/pbx/password", json={"password": STRONG})
    assert done.status_code == 200 and STRONG not in done.text
    trunks = {t["name"]: t for t in admin.get("/api/sip").json()["trunks"]}
    assert trunks["pbx"]["password_set"] is True and trunks["local"]["password_set"] is False
    assert trunks["local"]["state"] == "none"
    assert STRONG not in admin.get("/api/sip").text and STRONG not in admin.get("/sip").text
    assert _audit(site)[-1]["what"] == "SIP password set for trunk:pbx"
    assert STRONG not in json.dumps(site.link.audit_entries(0.0))
    missing = admin.put("/api/sip/trunks/nosuch/password", json={"password": STRONG + "x"})
    assert missing.status_code == 404


def test_supervisors_read_the_sip_page_and_only_admins_change_passwords(site):
    supervisor = site.client("supervisor")
    assert supervisor.get("/api/sip").status_code == 200
    assert supervisor.post("/api/sip/phones/desk1/password").status_code == 403
    assert supervisor.put("/api/sip/trunks/pbx/password",
                          json={"password": STRONG}).status_code == 403
    page = supervisor.get("/sip").text
    assert 'data-station="desk1"' in page and "data-sip-generate" not in page
    assert site.client("viewer").get("/api/sip").status_code == 403


@pytest.mark.parametrize(("language", "words"), [
    ("en", ("Trunks", "Last seen", "does not register", "Password")),
    ("zh", ("中继", "坐席话机", "不注册", "最近一次"))])
def test_the_sip_page_in_both_languages(site, language, words):
    page = site.client("admin", language=language).get("/sip")
    assert page.status_code == 200
    for word in words:
        assert word in page.text
    assert 'data-trunk="pbx"' in page.text and 'data-sip-generate="desk1"' in page.text


def test_the_cli_sets_a_password_from_stdin_and_refuses_a_weak_one(tmp_path, site):
    data = DataDir(site.data_dir)
    command = [sys.executable, "-m", "branchline.firmware.cli.main", "sip", "password",
               "--data", str(site.data_dir)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    weak = subprocess.run([*command, "trunk:pbx"], input="aaaaaaaaaa\n", text=True,
                          capture_output=True, timeout=60, env=env)
    assert weak.returncode == 1 and "refused" in weak.stderr and "aaaaaaaaaa" not in weak.stderr
    reused = subprocess.run([*command, "phone:desk1"], input=STRONG + "\n", text=True,
                            capture_output=True, timeout=60, env=env)
    assert reused.returncode == 1 and "another SIP account" in reused.stderr
    made = subprocess.run([*command, "phone:desk1", "--generate"], text=True,
                          capture_output=True, timeout=60, env=env)
    assert made.returncode == 0, made.stderr
    shown = made.stdout.strip()
    assert json.loads(data.sip_secrets.read_text())["phone:desk1"] == shown
    assert _audit(site)[-1]["what"] == "SIP password generated for phone:desk1"
    assert _audit(site)[-1]["who"].startswith("cli:")
    assert shown not in json.dumps(site.link.audit_entries(0.0))
    unknown = subprocess.run([*command, "phone:nobody", "--generate"], text=True,
                             capture_output=True, timeout=60, env=env)
    assert unknown.returncode == 2 and "phone:desk1" in unknown.stderr
