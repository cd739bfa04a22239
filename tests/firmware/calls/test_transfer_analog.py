"""A transfer node on an analog line (the simulated board, virtual clock): there is no way to
transfer there yet. With ``on_failure`` the caller goes on to that node (here a queue, where
the simulated agent answers); without it the call ends as it always did."""

from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)

TARGET = "95566"


def _flow(**transfer):
    def edit(document):
        nodes = {"go": {"kind": "transfer", "target": TARGET, **transfer}}
        if transfer:
            nodes["agent"] = {"kind": "queue", "queue": "general"}
        document["flows"]["xfer"] = {
            "flow": "xfer", "start": "go", "operator": "go", "languages": ["zh"],
            "default_language": "zh", "nodes": nodes}
        for line in document["lines"].values():
            line["flow"] = "xfer"
    return edit


def _one_call(tmp_path, prompts_dir, bank_url, edit):  # noqa: F811
    text = scenario_text(prelude="[]", goal_steps="[{wait_agent: true}]")
    h = RuntimeHarness(tmp_path / "d", text, prompts_dir=prompts_dir, bank_url=bank_url,
                       edit_document=edit)
    h.run_until(lambda: h.board.callers() and h.board.callers()[0].outcome is not None, 600)
    h.run_until(lambda: h.app.active_calls == 0, 30)
    failed = h.app.counters["transfers_failed"]
    (record,) = h.close()
    return record, failed


def test_with_on_failure_an_analog_caller_reaches_the_queue_and_an_agent(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    record, failed = _one_call(tmp_path, prompts_dir, bank_url, _flow(on_failure="agent"))
    assert record.outcome == "answered" and record.agent_id == "1001"
    assert record.queue == "general" and record.talk_seconds > 0
    assert failed == 1
    steps = [(s.what, s.node, s.detail) for s in record.ivr_path]
    assert ("transfer_failed", "transfer", "not available on analog lines") in steps
    assert ("transfer", "go", f"{TARGET}: failed (not available on analog lines)") in steps


def test_without_on_failure_an_analog_transfer_still_ends_the_call(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    record, failed = _one_call(tmp_path, prompts_dir, bank_url, _flow())
    assert record.outcome == "transferred" and record.hangup_reason == f"transfer:{TARGET}"
    assert record.queue is None and failed == 0
