"""An exception for one call ends that call cleanly (record outcome 'error', logged with its
call id) and leaves the other calls alone."""

import logging

from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)


def test_a_failing_engine_ends_only_its_own_call(tmp_path, prompts_dir, bank_url, caplog):  # noqa: F811
    text = scenario_text(trunks=2, stations=1, rate=3600, end="09:01",
                         goal_steps='[{keys: "3"}, {listen: true}, {hang_up: true}]')
    h = RuntimeHarness(tmp_path / "d", text, prompts_dir=prompts_dir, bank_url=bank_url)
    h.run_until(lambda: len(h.app.calls) == 2 and all(c.answered for c in h.app.calls.values()),
                60)
    victim, other = h.app.calls[0], h.app.calls[1]

    def broken(event, now):
        raise RuntimeError("engine bug")

    victim.s.session.handle = broken
    with caplog.at_level(logging.ERROR, logger="branchline.calls"):
        h.run_until(lambda: victim.over, 60)
    assert not h.board._off_hook[0], "the failed call's line was not released"
    assert other.call_id in {c.call_id for c in h.app.calls.values()}
    failure = next(r for r in caplog.records if "failed" in r.getMessage())
    assert victim.call_id in failure.getMessage()
    assert h.app.counters["call_errors"] == 1
    h.run_until(lambda: other.over, 300)
    records = {r.call_id: r for r in h.close()}
    assert records[victim.call_id].outcome == "error"
    assert records[other.call_id].outcome == "self-served"
