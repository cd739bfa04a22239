"""Live configuration: a version published while calls are up applies to new calls at once;
calls in progress finish on the version they started with; agents stay logged in; a version
that does not validate is refused and the running one stays."""

import pytest
from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)

from branchline.acd import AgentState
from branchline.config.store.versioned import ConfigRefused

AGENT_CALLS = '[{keys: "0"}, {wait_agent: true}]'


def _new_main_menu(document):
    document["flows"]["bank"]["nodes"]["main_menu"]["options"]["4"] = "branch_info"
    document["vip_numbers"] = ["13800000000"]


def test_publish_mid_traffic(tmp_path, prompts_dir, bank_url):  # noqa: F811
    text = scenario_text(trunks=3, stations=2, rate=120, end="09:10", goal_steps=AGENT_CALLS,
                         agents=[("1001", 0), ("1002", 1)])
    h = RuntimeHarness(tmp_path / "d", text, prompts_dir=prompts_dir, bank_url=bank_url)
    first = h.app.config.version
    h.run_until(lambda: h.app.active_calls >= 2, 600)
    up = {call.call_id for call in h.app.calls.values()}
    second = h.publish(_new_main_menu, note="menu option 4")
    h.run(1.0)  # the loop looks once a second; the new version is checked off the loop
    assert h.app.config.version == first
    h.app.wait_config_loaded()
    h.run(1.0)  # and taken at the next look
    assert h.app.config.version == second == first + 1
    assert h.app.acd.agent_state("1001") is not AgentState.LOGGED_OUT
    with pytest.raises(ConfigRefused):
        h.publish(lambda d: d["lines"]["fxo1"].update(flow="nonexistent"), note="broken")
    h.run(1.0)
    assert h.app.config.version == second
    h.run(300)
    records = h.close()
    by_id = {r.call_id: r for r in records}
    assert up <= by_id.keys()
    assert {by_id[c].config_version for c in up} == {first}
    later = [r for r in records if r.call_id not in up and r.started_at
             > h.app.wall_epoch(0) + 1]
    assert later and {r.config_version for r in later} <= {first, second}
    started_after = [r for r in later if r.config_version == second]
    assert started_after, "no call took the new version"
    assert not [r for r in records if r.outcome == "error"]
    placed = [c for c in h.board.callers()
              if c.port is not None and c.arrived < h.drain_started]
    assert len(records) == len(placed)
    assert h.app.counters["illegal_acd"] == 0



def test_acd_changes_apply_or_wait_for_the_next_start(tmp_path, prompts_dir, bank_url,  # noqa: F811
                                                      caplog):
    text = scenario_text(goal_steps=AGENT_CALLS)
    h = RuntimeHarness(tmp_path / "d", text, prompts_dir=prompts_dir, bank_url=bank_url)
    h.run(30)
    acd, state = h.app.acd, h.app.acd.agent_state("1001")
    assert state is not AgentState.LOGGED_OUT

    def longer_wrap_up(document):
        document["acd"]["queues"][0]["wrap_up_s"] = 45

    def new_queue(document):
        document["acd"]["queues"].append({"name": "loans"})

    h.publish(longer_wrap_up, note="longer wrap-up")
    with caplog.at_level("WARNING", logger="branchline.appliance"):
        assert h.app.reload()
        assert not [r for r in caplog.records if r.levelname == "WARNING"]
        version = h.publish(new_queue, note="a loans queue")
        assert h.app.reload()
    assert h.app.config.version == version
    assert h.app.acd is acd and acd.agent_state("1001") is state
    assert any("until the next start" in r.getMessage() and "queues added" in r.getMessage()
               for r in caplog.records)
    h.close()
