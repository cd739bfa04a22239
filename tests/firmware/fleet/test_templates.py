"""Configuration templates from a real centre (PostgreSQL) into real branch stores: composed
with each branch's own parts, refused where they would break a branch, kept through a cut
network, overridden locally, and never readable by another branch."""

import psycopg
import pytest
import yaml
from fleet_kit import add_test_branch, wait_for
from tcp_cut import CuttableLink

from branchline.central.db import connect
from branchline.central.errors import CentralRefused
from branchline.central.templates import (
    assign_template,
    my_templates,
    publish_template,
    report_template,
    template_overview,
    unassign_template,
)
from branchline.config.data_dir import DataDir
from branchline.config.document.loading import default_document_text, open_config_store
from branchline.config.document.yaml_text import parse_yaml
from branchline.firmware.fleet import Shipper, TemplatePuller
from branchline.firmware.records.database import Records

DEFAULT = parse_yaml(default_document_text()).data


def prompts_template(english: str) -> str:
    prompts = dict(DEFAULT["prompts"])
    prompts["main.short"] = {**prompts["main.short"], "en": english}
    return yaml.safe_dump({"prompts": prompts}, allow_unicode=True)


def queues_template(max_wait_s: int) -> str:
    queues = [{**q, "max_wait_s": max_wait_s} for q in DEFAULT["acd"]["queues"]]
    return yaml.safe_dump({"queues": queues}, allow_unicode=True)


def make_branch(tmp_path, postgres, central, name, *, loans=False, port=None):
    """A branch's data directory with its own site and line labels (and, with ``loans``, a
    queue of its own that an agent works in), joined to the centre."""
    data = DataDir(tmp_path / name)
    store = open_config_store(data)
    doc = parse_yaml(store.current().text).data
    doc["site"]["name"] = f"Branch {name}"
    doc["lines"]["fxo1"]["label"] = f"{name} main"
    if loans:
        doc["acd"]["queues"].append({"name": "loans", "strategy": "longest_idle"})
        doc["acd"]["agents"][2]["queues"].append({"queue": "loans"})
    store.publish(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), who="admin",
                  note="this branch", base=store.current().info.number)
    return data, add_test_branch(postgres, central, name, port=port)


def pull(data, conninfo):
    with Shipper(data.records_db, conninfo, puller=TemplatePuller(data), pull_s=0) as shipper:
        shipper.ship_available()


def current(data):
    version = open_config_store(data).current()
    return version, parse_yaml(version.text).data


def centre_results(central):
    with connect(central) as conn:
        return {(t.name, b.branch): b for t in template_overview(conn) for b in t.branches}


def test_a_template_reaches_two_branches_composed_with_their_own_parts(
        postgres, central, tmp_path):
    branches = [make_branch(tmp_path, postgres, central, n) for n in ("b1", "b2")]
    with connect(central) as conn:
        assert publish_template(conn, "menus", prompts_template("Balance 1, a person 0."),
                                note="shorter menu", who="alice") == 1
        assert assign_template(conn, "menus", ["b1", "b2"], who="alice") == ["b1", "b2"]
    for data, conninfo in branches:
        pull(data, conninfo)
    for name, (data, _) in zip(("b1", "b2"), branches, strict=True):
        version, doc = current(data)
        assert version.info.who == "centre"
        assert version.info.note == "template menus v1: shorter menu"
        assert doc["prompts"]["main.short"]["en"] == "Balance 1, a person 0."
        assert doc["site"]["name"] == f"Branch {name}"
        assert doc["lines"]["fxo1"]["label"] == f"{name} main"
        assert doc["acd"]["agents"] == DEFAULT["acd"]["agents"]
        with Records(data.records_db) as records:
            assert [a.what for a in records.audit()] == [
                f"applied template menus v1 from the centre as configuration version "
                f"{version.info.number}"]
        assert centre_results(central)[("menus", name)].outcome == "applied"
    # Pulling again changes nothing.
    data, conninfo = branches[0]
    before = current(data)[0].info.number
    pull(data, conninfo)
    assert current(data)[0].info.number == before


def test_a_template_invalid_for_one_branch_is_refused_there_and_listed(
        postgres, central, tmp_path):
    b1, c1 = make_branch(tmp_path, postgres, central, "b1")
    b2, c2 = make_branch(tmp_path, postgres, central, "b2", loans=True)
    before = current(b2)[0]
    with connect(central) as conn:
        publish_template(conn, "queues", queues_template(240), note="4 minutes", who="alice")
        assign_template(conn, "queues", ["b1", "b2"], who="alice")
    pull(b1, c1)
    pull(b2, c2)
    assert [q["max_wait_s"] for q in current(b1)[1]["acd"]["queues"]] == [240, 240]
    after = current(b2)[0]
    assert (after.info.number, after.text) == (before.info.number, before.text)
    results = centre_results(central)
    assert results[("queues", "b1")].outcome == "applied"
    refused = results[("queues", "b2")]
    assert (refused.outcome, refused.version) == ("refused", 1)
    assert "acd.agents.2.queues" in refused.reason and "loans" in refused.reason
    with Records(b2.records_db) as records:
        assert records.audit()[-1].what.startswith("refused template queues v1 from the centre")


def test_offline_the_branch_keeps_its_last_good_version_then_catches_up(
        postgres, central, tmp_path):
    with CuttableLink(("127.0.0.1", postgres.port)) as wan:
        data, conninfo = make_branch(tmp_path, postgres, central, "b1", port=wan.port)
        with connect(central) as conn:
            publish_template(conn, "menus", prompts_template("v1 menu"), note="one", who="a")
            assign_template(conn, "menus", ["b1"], who="a")
        shipper = Shipper(data.records_db, conninfo, puller=TemplatePuller(data), pull_s=0,
                          poll_s=0.02, retry_s=0.02, retry_max_s=0.1)
        shipper.start()
        try:
            wait_for(lambda: current(data)[0].info.note.startswith("template menus v1"),
                     "v1 applied")
            good = current(data)[0].info.number
            wan.cut()
            wait_for(lambda: not shipper.status().connected, "the shipper sees the cut")
            with connect(central) as conn:
                publish_template(conn, "menus", prompts_template("v2 menu"), note="two",
                                 who="a")
            failures = shipper.status().failures_total
            wait_for(lambda: shipper.status().failures_total > failures, "a failed retry")
            version, doc = current(data)
            assert version.info.number == good
            assert doc["prompts"]["main.short"]["en"] == "v1 menu"
            wan.mend()
            wait_for(lambda: current(data)[0].info.note == "template menus v2: two",
                     "caught up")
            assert current(data)[1]["prompts"]["main.short"]["en"] == "v2 menu"
            wait_for(lambda: centre_results(central)[("menus", "b1")].version == 2,
                     "reported")
        finally:
            shipper.stop()


def test_a_local_change_to_a_shared_part_is_kept_as_an_override_and_shown(
        postgres, central, tmp_path):
    data, conninfo = make_branch(tmp_path, postgres, central, "b1")
    both = yaml.safe_load(prompts_template("centre menu")) | yaml.safe_load(queues_template(200))
    with connect(central) as conn:
        publish_template(conn, "shared", yaml.safe_dump(both, allow_unicode=True),
                         note="one", who="a")
        assign_template(conn, "shared", ["b1"], who="a")
    pull(data, conninfo)
    store = open_config_store(data)
    local = store.current().text.replace("centre menu", "our own menu")
    store.publish(local, who="admin", note="local wording", base=store.current().info.number)
    pull(data, conninfo)
    assert centre_results(central)[("shared", "b1")].overrides == ("prompts",)
    both["queues"][0]["max_wait_s"] = 100
    both["prompts"]["main.short"]["en"] = "centre menu 2"
    with connect(central) as conn:
        publish_template(conn, "shared", yaml.safe_dump(both, allow_unicode=True),
                         note="two", who="a")
    pull(data, conninfo)
    version, doc = current(data)
    assert version.info.note == "template shared v2: two (local override kept: prompts)"
    assert doc["prompts"]["main.short"]["en"] == "our own menu"
    assert doc["acd"]["queues"][0]["max_wait_s"] == 100
    assert centre_results(central)[("shared", "b1")].overrides == ("prompts",)
    # Back to what the template gives: no longer an override.
    store.publish(version.text.replace("our own menu", "centre menu 2"), who="admin",
                  note="back", base=version.info.number)
    pull(data, conninfo)
    assert centre_results(central)[("shared", "b1")].overrides == ()


def test_unassigned_the_branch_keeps_the_parts_as_its_own(postgres, central, tmp_path):
    data, conninfo = make_branch(tmp_path, postgres, central, "b1")
    with connect(central) as conn:
        publish_template(conn, "menus", prompts_template("centre menu"), note="one", who="a")
        assign_template(conn, "menus", ["b1"], who="a")
    pull(data, conninfo)
    applied = current(data)[0]
    with connect(central) as conn:
        assert unassign_template(conn, "menus", ["b1"], who="alice") == ["b1"]
        assert unassign_template(conn, "menus", ["b1"], who="alice") == []
        publish_template(conn, "menus", prompts_template("centre menu 2"), note="two", who="a")
        audit = [r[0] for r in conn.execute("SELECT what FROM centre_audit ORDER BY seq")]
    assert "unassigned template menus from b1; they keep its parts as their own" in audit
    pull(data, conninfo)
    version, doc = current(data)
    assert (version.info.number, version.text) == (applied.info.number, applied.text)
    assert doc["prompts"]["main.short"]["en"] == "centre menu"
    assert ("menus", "b1") not in centre_results(central)
    with Records(data.records_db) as records:
        assert records.audit()[-1].what == (
            "template menus (last v1, applied) unassigned by the centre; the configuration in "
            "force keeps its parts as this branch's own")
    # Its own now: a local change is no override, and pulling publishes nothing.
    store = open_config_store(data)
    store.publish(version.text.replace("centre menu", "our menu"), who="admin", note="ours",
                  base=version.info.number)
    ours = current(data)[0].info.number
    pull(data, conninfo)
    assert current(data)[0].info.number == ours
    # Assigned again, the template's newest version is applied afresh.
    with connect(central) as conn:
        assign_template(conn, "menus", ["b1"], who="a")
    pull(data, conninfo)
    version, doc = current(data)
    assert version.info.note == "template menus v2: two"
    assert doc["prompts"]["main.short"]["en"] == "centre menu 2"


def test_unassigning_names_what_is_wrong(central):
    from branchline.central.errors import CentralInputError

    with connect(central) as conn:
        with pytest.raises(CentralInputError, match="no template nope"):
            unassign_template(conn, "nope", ["b1"], who="a")
        publish_template(conn, "menus", prompts_template("x"), note="one", who="a")
        with pytest.raises(CentralInputError, match="no branch b9; the branches are listed"):
            unassign_template(conn, "menus", ["b9"], who="a")
        with pytest.raises(CentralInputError, match="name one or more branches"):
            unassign_template(conn, "menus", [], who="a")


def test_a_branch_reads_and_reports_only_its_own_assignments(postgres, central, tmp_path):
    c1 = add_test_branch(postgres, central, "b1")
    add_test_branch(postgres, central, "b2")
    with connect(central) as conn:
        publish_template(conn, "mine", prompts_template("b1's"), note="x", who="a")
        publish_template(conn, "theirs", prompts_template("b2's"), note="x", who="a")
        assign_template(conn, "mine", ["b1"], who="a")
        assign_template(conn, "theirs", ["b2"], who="a")
    with connect(c1) as conn:
        assert [a.name for a in my_templates(conn)] == ["mine"]
        for table in ("templates", "template_assignments", "template_results"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {table}")
            conn.rollback()
        with pytest.raises(CentralRefused, match="template theirs is not assigned to branch b1"):
            report_template(conn, "theirs", 1, "refused", "forged")
    assert centre_results(central)[("theirs", "b2")].outcome is None
