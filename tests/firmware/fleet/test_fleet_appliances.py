"""Several appliances on the virtual clock ship into one real centre, their shippers running
as threads beside their media loops; the lag is on /metrics."""

import psycopg
from fleet_kit import add_test_branch, branch_rows, centre_rows, wait_for
from runtime_harness import RuntimeHarness, scenario_text

from branchline.central.db import connect
from branchline.config.data_dir import DataDir
from branchline.firmware.fleet import FleetSettings
from branchline.firmware.ops.metrics import ApplianceMetrics


def join(data_dir, conninfo):
    c = psycopg.conninfo.conninfo_to_dict(conninfo)
    FleetSettings(c["host"], int(c["port"]), c["dbname"], c["user"], c["password"]).save(
        DataDir(data_dir), None)


def test_three_branches_ship_their_records_as_they_run(postgres, central, tmp_path, prompts_dir,
                                                       bank_url):
    branches = {}
    for n, name in enumerate(("north-1", "north-2", "south-1")):
        data = tmp_path / name
        data.mkdir()
        join(data, add_test_branch(postgres, central, name,
                                   region=name.split("-")[0]))
        branches[name] = RuntimeHarness(
            data, scenario_text(trunks=2, stations=2, rate=300, end="09:06",
                                agents=[("1001", 0), ("1002", 1)]),
            prompts_dir=prompts_dir, bank_url=bank_url, seed=n)
    for h in branches.values():
        h.run(360)
    for name, h in branches.items():
        h.drain()
        h.app.writer.flush()
        db = DataDir(h.data_dir).records_db
        wait_for(lambda n=name, db=db: centre_rows(central, n) == branch_rows(db),
                 f"{name} all at the centre")
        status = h.app.shipper.status
        wait_for(lambda s=status: s().unshipped == 0 and s().lag_s == 0, f"{name} measured")
        metrics = ApplianceMetrics()
        metrics.sample(h.app, h.clock.now())
        text = metrics.render()
        assert "branchline_fleet_lag_seconds 0" in text
        assert "branchline_fleet_connected 1" in text
        h.close()
    for name, h in branches.items():
        db = DataDir(h.data_dir).records_db
        rows = branch_rows(db)
        assert len(rows["calls"]) >= 5, name
        assert centre_rows(central, name) == rows
    with connect(central) as conn:
        by_region = dict(conn.execute(
            "SELECT b.region, sum(k.calls) FROM daily_kpis k JOIN branches b ON b.id = k.branch "
            "GROUP BY b.region"))
    assert by_region == {
        "north": sum(len(branch_rows(DataDir(branches[n].data_dir).records_db)["calls"])
                     for n in ("north-1", "north-2")),
        "south": len(branch_rows(DataDir(branches["south-1"].data_dir).records_db)["calls"])}


def test_the_system_page_shows_how_far_the_records_are(postgres, central, tmp_path, prompts_dir,
                                                       bank_url):
    from web_harness import WebHarness

    data = tmp_path / "data"
    data.mkdir()
    join(data, add_test_branch(postgres, central, "b1"))
    h = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url)
    try:
        wait_for(lambda: h.app.shipper.status().lag_s is not None, "the shipper measured")
        page = h.client("viewer").get("/system")
        assert page.status_code == 200
        assert "Records to the centre" in page.text and "s behind" in page.text
    finally:
        h.close()
