"""An older caller in the simulator: the whole appliance on the virtual clock, a virtual caller
who presses 9 in the first menu, listens to the main menu and asks for a person. The call
record's path shows the mode, the slower prompt and the longer digit timeout (when the
caller's silence was counted) and the queue's own class."""

from __future__ import annotations

from runtime_harness import RuntimeHarness, bank_url, prompts_dir, scenario_text  # noqa: F401

STEPS = '[{listen: true}, {keys: "0"}, {wait_agent: true}]'


def one_call(tmp_path, prompts_dir, bank_url, prelude):  # noqa: F811
    h = RuntimeHarness(tmp_path, scenario_text(rate=60, end="09:02", prelude=prelude,
                                               goal_steps=STEPS),
                       prompts_dir=prompts_dir, bank_url=bank_url)
    h.run(240)
    records = h.close()
    assert records, "the scenario made no calls"
    return h, records[0]


def test_an_older_caller_hears_slower_prompts_waits_longer_and_has_a_class_of_its_own(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    h, older = one_call(tmp_path / "older", prompts_dir, bank_url,
                        '[{keys: "9"}, {keys: "{language_key}"}]')
    _, standard = one_call(tmp_path / "standard", prompts_dir, bank_url,
                           '[{keys: "{language_key}"}]')
    assert any(s.what == "mode" and s.detail == "older caller: chose it by key"
               for s in older.ivr_path)
    assert not any(s.what == "mode" for s in standard.ivr_path)
    assert (older.queue, older.priority_class) == ("general", "older")
    assert standard.priority_class == "normal"
    # The main menu played at 0.8 speed, the person key said first, then the digit timer ran
    # 1.5 times the flow's 5 s: the path's no-input comes exactly then (to the 20 ms tick).
    seconds = h.app.prompts.seconds
    played = (seconds("common.person_first", "zh") + seconds("main.long", "zh")) / 0.8
    entered = at(older, "enter", "main_menu")
    assert abs(at(older, "no_input", "main_menu") - entered - (played + 7.5)) < 0.1


def at(record, what, node):
    return next(s.at for s in record.ivr_path if s.what == what and s.node == node)
