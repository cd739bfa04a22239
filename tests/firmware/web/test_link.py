"""RuntimeLink over a real appliance on the virtual clock: snapshots, agent commands, audit."""

from __future__ import annotations

import pytest
from runtime_harness import bank_url, prompts_dir  # noqa: F401 (fixtures)
from web_harness import WebHarness

from branchline.config.web.link import ApplianceLink, NotFound, Refused
from branchline.firmware.records.database import Records


@pytest.fixture
def h(tmp_path, prompts_dir, bank_url):  # noqa: F811
    harness = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url)
    yield harness
    harness.close()


def _agent(snapshot, agent_id):
    return next(a for a in snapshot["agents"] if a["id"] == agent_id)


def test_runtime_link_is_an_appliance_link(h):
    assert isinstance(h.link, ApplianceLink)


def test_snapshot_is_taken_once_a_second_of_loop_time(h):
    first = h.link.snapshot()["seq"]
    h.run(3)
    assert h.link.snapshot()["seq"] == first + 3
    snapshot = h.link.snapshot()
    assert {p["name"] for p in snapshot["board"]["ports"]} >= {"fxo1", "fxs1"}
    assert [q["name"] for q in snapshot["queues"]]


def test_web_not_ready_reaches_the_acd_and_the_records(h):
    h.run_until(lambda: _agent(h.link.snapshot(), "1001")["state"] == "ready", limit=60)
    h.link.agent_command("1001", "not_ready", "lunch", who="sup")
    h.run(1)
    agent = _agent(h.link.snapshot(), "1001")
    assert (agent["state"], agent["reason"]) == ("not_ready", "lunch")
    assert str(h.app.acd.agent_state("1001")) == "not_ready"
    h.close()
    with Records(h.data_dir / "records.db") as records:
        changes = records.agent_history("1001")
        audit = records.audit()
    assert any(c.to_state == "not_ready" and c.reason == "lunch" for c in changes)
    assert any(e.who == "sup" and "1001" in e.what for e in audit)


def test_unknown_agent_and_illegal_action_are_refused_with_the_fix(h):
    with pytest.raises(NotFound, match="agent '9999' is not configured; agents are: 1001, 1002"):
        h.link.agent_command("9999", "ready", None, who="sup")
    with pytest.raises(Refused, match="logged_out: ready is not possible now; log the agent"):
        h.link.agent_command("1002", "ready", None, who="sup")
    with pytest.raises(Refused, match="use one of break, lunch"):
        h.link.agent_command("1002", "not_ready", "nap", who="sup")


def test_a_call_moves_through_the_snapshot_and_counts_today(h):
    def talking():
        calls = h.link.snapshot()["calls"]
        return any(c["state"] == "talking" for c in calls)

    h.run_until(talking, limit=120)
    snapshot = h.link.snapshot()
    call = next(c for c in snapshot["calls"] if c["state"] == "talking")
    assert call["queue"] and call["agent"] in {"1001", "1002"}
    assert _agent(snapshot, call["agent"])["state"] == "talking"
    queue = next(q for q in snapshot["queues"] if q["name"] == call["queue"])
    assert queue["answered_today"] >= 1
    assert queue["service_level_today"] is not None
    assert _agent(snapshot, call["agent"])["calls_today"] >= 1
    port = next(p for p in snapshot["board"]["ports"] if p["name"] == call["port"])
    assert port["state"] == "busy"


def test_since_counts_from_the_last_state_change(h):
    h.run_until(lambda: _agent(h.link.snapshot(), "1001")["state"] == "ready", limit=60)
    h.link.agent_command("1001", "not_ready", None, who="sup")
    h.run(1)
    changed = _agent(h.link.snapshot(), "1001")
    assert (changed["reason"], changed["since_s"] <= 1.0) == ("break", True)
    h.run(5)
    assert _agent(h.link.snapshot(), "1001")["since_s"] == pytest.approx(
        changed["since_s"] + 5, abs=1.0)
