"""The centre's page and API over a real PostgreSQL, with records shipped by a real shipper:
worst branches first, a region, quarter hours, drill-down, CSV, roles and the same login."""

import csv
import datetime as dt
import io
import re

import pytest
from fastapi.testclient import TestClient
from fleet_kit import T0, add_test_branch, write_calls

from branchline.central.db import connect
from branchline.central.web import create_central_app
from branchline.config.data_dir import DataDir
from branchline.config.web.auth import CSRF_COOKIE, CSRF_HEADER
from branchline.firmware.fleet import Shipper

PASSWORD = "branch-line-test-pw"
DAY = dt.datetime.fromtimestamp(T0, dt.timezone(dt.timedelta(hours=8))).date()


class Centre:
    def __init__(self, dsn, tmp_path):
        self.announced = []
        self.app = create_central_app(dsn, data=DataDir(tmp_path / "centre"),
                                      announce=self.announced.append)
        token = re.search(r"token=([\w-]+)", self.announced[0]).group(1)
        self.admin = self._anonymous()
        reply = self.admin.post("/api/setup", json={"token": token, "name": "admin",
                                                    "password": PASSWORD, "language": "en"})
        assert reply.status_code == 200, reply.text
        self.admin.headers[CSRF_HEADER] = reply.json()["csrf"]

    def _anonymous(self):
        client = TestClient(self.app)
        client.get("/api/setup")
        client.headers[CSRF_HEADER] = client.cookies[CSRF_COOKIE]
        return client

    def user(self, role):
        made = self.admin.post("/api/users", json={"name": role, "role": role,
                                                   "language": "en", "password": PASSWORD})
        assert made.status_code == 201, made.text
        client = self._anonymous()
        reply = client.post("/api/session", json={"name": role, "password": PASSWORD})
        client.headers[CSRF_HEADER] = reply.json()["csrf"]
        return client


@pytest.fixture
def fleet(postgres, central, tmp_path):
    """Three branches in two regions; 'south-2' answers worst (only its first calls)."""
    for name, numbers in (("north-1", range(60)), ("south-1", range(60)),
                          ("south-2", range(0, 60, 2))):
        db = tmp_path / f"{name}.db"
        write_calls(db, numbers, spacing=30.0)
        with Shipper(db, add_test_branch(postgres, central, name,
                                         region=name.split("-")[0])) as shipper:
            shipper.ship_available()
    with connect(central) as conn:  # south-2's answered calls waited long
        conn.execute("UPDATE daily_kpis SET answered_in_sl = 0 WHERE branch = 'south-2'")
        conn.execute("UPDATE branch_days SET answered_in_sl = 0 WHERE branch = 'south-2'")
    return Centre(central, tmp_path)


def test_branches_worst_first_regions_and_csv(fleet):
    sup = fleet.user("supervisor")
    got = sup.get("/api/kpis/branches", params={"since": DAY, "until": DAY}).json()["rows"]
    assert got[0]["key"] == "south-2"
    assert {r["key"]: r["calls"] for r in got} == {"north-1": 60, "south-1": 60, "south-2": 30}
    south = sup.get("/api/kpis/branches", params={"since": DAY, "until": DAY,
                                                  "region": "south"}).json()["rows"]
    assert sorted(r["key"] for r in south) == ["south-1", "south-2"]
    regions = sup.get("/api/kpis/regions", params={"since": DAY}).json()["rows"]
    assert {r["key"]: r["calls"] for r in regions} == {"north": 60, "south": 90}
    text = sup.get("/api/kpis/branches", params={"since": DAY, "format": "csv"}).text
    table = list(csv.DictReader(io.StringIO(text)))
    assert table[0]["key"] == "south-2" and table[0]["calls"] == "30"


def test_call_quality_and_the_menu_funnel(fleet):
    sup = fleet.user("supervisor")
    rows = sup.get("/api/kpis/branches", params={"since": DAY}).json()["rows"]
    north = next(r for r in rows if r["key"] == "north-1")
    # 60 calls: the 30 even ones over SIP, 8 of them (n % 8 == 0) at MOS 3.1, 22 at 4.2.
    assert (north["sip_calls"], north["mos_poor_share"]) == (30, 8 / 30)
    assert north["mos_average"] == round((8 * 3.1 + 22 * 4.2) / 30, 3)
    funnel = sup.get("/api/funnel", params={"since": DAY, "branch": "south-2"}).json()
    assert [(n["node"], n["calls"], n["exits"]) for n in funnel["nodes"]] == [
        ("welcome", 30, {"next": 30})]
    every = sup.get("/api/funnel", params={"since": DAY}).json()["nodes"]
    assert every[0]["calls"] == 150
    text = sup.get("/api/funnel", params={"since": DAY, "region": "north",
                                          "format": "csv"}).text
    assert text.splitlines()[1] == "welcome,,60,60,0,0,0,0,0,0.0,3.0,next,60"
    fleet_page = sup.get("/", params={"since": DAY, "until": DAY, "region": "north"}).text
    assert "<td>3.91</td><td>27 %</td>" in fleet_page
    page = sup.get("/branches/north-1", params={"since": DAY, "until": DAY}).text
    assert "Menu funnel" in page and "next 60" in page


def test_quarter_hours_and_drill_down(fleet):
    sup = fleet.user("supervisor")
    quarters = sup.get("/api/kpis/intervals", params={"day": DAY, "branch": "north-1"}).json()
    # 60 calls 30 s apart from T0, 400 s into a quarter hour: 17 + 30 + 13.
    assert [(r["key"], r["calls"]) for r in quarters["rows"]] == [
        ("19:00", 17), ("19:15", 30), ("19:30", 13)]
    queues = sup.get("/api/branches/north-1/queues", params={"since": DAY}).json()["rows"]
    assert {r["key"]: r["calls"] for r in queues} == {"": 20, "cards": 40}
    agents = sup.get("/api/branches/north-1/agents", params={"since": DAY}).json()["rows"]
    assert {r["key"]: r["answered"] for r in agents} == {"a0": 20}


def test_roles_and_bad_input(fleet):
    viewer = fleet.user("viewer")
    assert viewer.get("/api/kpis/branches").status_code == 403
    assert {b["id"] for b in viewer.get("/api/branches").json()["branches"]} == {
        "north-1", "south-1", "south-2"}
    assert TestClient(fleet.app).get("/api/kpis/regions").status_code == 401
    bad = fleet.admin.get("/api/kpis/branches", params={"since": "2026-13-01"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    back = fleet.admin.get("/api/kpis/branches", params={"since": DAY,
                                                         "until": DAY - dt.timedelta(days=1)})
    assert back.status_code == 422 and "before it starts" in back.text


def test_pages_show_the_fleet_and_a_branch(fleet):
    sup = fleet.user("supervisor")
    page = sup.get("/", params={"since": DAY, "until": DAY})
    assert page.status_code == 200
    assert page.text.index("south-2") < page.text.index("north-1")
    assert '/static/app.css' in page.text
    branch = sup.get("/branches/north-1", params={"since": DAY, "until": DAY})
    assert branch.status_code == 200 and "cards" in branch.text
    assert TestClient(fleet.app).get("/", follow_redirects=False).headers["location"] \
        .startswith("/login")
    with connect(fleet.app.state.dsn) as conn:
        audit = [r[0] for r in conn.execute("SELECT what FROM centre_audit ORDER BY seq")]
    assert any("created user 'supervisor'" in a for a in audit)
