"""The checker on a flow's older callers' settings: each mistake named at its field, with
what is wrong and what would be right, and the sample flow clean."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from branchline.ivr import QueueClasses, sample_flow, sample_prompts, validate_flow
from branchline.ivr._model import OlderCallers

GENERAL = QueueClasses({"vip": 10, "older": 5, "normal": 0}, "normal")
VIP = QueueClasses({"vip": 10}, "vip")


def check(*, older=None, keys=None, nodes=None, general=GENERAL):
    flow = sample_flow()
    changes = {}
    if older:
        changes["older_callers"] = flow.older_callers.model_copy(update=older)
    if keys:
        changes["keys"] = flow.keys.model_copy(update=keys)
    if nodes:
        changes["nodes"] = {**flow.nodes, **{name: flow.nodes[name].model_copy(update=change)
                                            for name, change in nodes.items()}}
    report = validate_flow(flow.model_copy(update=changes), queues={"general", "vip"},
                           endpoints={"balance", "card_loss"}, prompts=sample_prompts(),
                           queue_classes={"general": general, "vip": VIP})
    return ([(i.path, i.key, i.fix_key) for i in report.errors],
            [(i.path, i.key, i.fix_key) for i in report.warnings], report)


def older_issues(found):
    return [i for i in found if i[1].startswith("ivr.older_")]


def test_the_sample_flow_has_nothing_to_say_about_older_callers():
    errors, warnings, _ = check()
    assert older_issues(errors) == older_issues(warnings) == []


def test_a_person_prompt_missing_in_a_language_is_an_error():
    errors, _, report = check(older={"person_prompt": ["common.person_first", "nope.gone"]})
    assert older_issues(errors) == [("older_callers.person_prompt.1",
                                     "ivr.older_person_prompt_missing",
                                     "ivr.fix.add_prompt_languages")]
    issue = next(i for i in report.errors if i.key == "ivr.older_person_prompt_missing")
    assert issue.message == ("the older callers' person prompt 'nope.gone' has no text or "
                             "recording in zh, yue, en")


def test_no_person_prompt_or_one_never_heard_is_a_warning():
    _, warnings, _ = check(older={"person_prompt": None})
    assert older_issues(warnings) == [("older_callers.person_prompt",
                                       "ivr.older_no_person_prompt",
                                       "ivr.fix.older_person_prompt")]
    _, warnings, _ = check(keys={"operator": None})
    assert ("older_callers.person_prompt", "ivr.older_person_prompt_unheard",
            "ivr.fix.older_operator_key") in warnings


def test_a_mode_key_taken_by_the_first_menu_or_a_global_key_is_an_error():
    errors, _, report = check(older={"key": "2"})
    assert ("older_callers.key", "ivr.older_key_option", "ivr.fix.older_key_other") in errors
    said = [i.message for i in report.errors if i.key == "ivr.older_key_option"]
    assert ("the older callers' key '2' is taken by option '2' of 'language_menu', where "
            "callers can press it before choosing anything: there it would turn the mode on "
            "instead") in said
    # The main menu comes after the language choice: its options do not clash.
    assert not [m for m in said if "'main_menu'" in m]
    errors, _, _ = check(older={"key": "0"})
    assert older_issues(errors) == [("older_callers.key", "ivr.older_key_global_operator",
                                     "ivr.fix.older_key_other")]


def test_an_older_class_the_queue_lacks_is_an_error():
    errors, _, report = check(general=QueueClasses({"vip": 10, "normal": 0}, "normal"))
    assert older_issues(errors) == [("older_callers.queue_priority", "ivr.older_class_missing",
                                     "ivr.fix.older_class_add")]
    issue = next(i for i in report.errors if i.key == "ivr.older_class_missing")
    assert issue.message == ("queue 'general' has no class of priority 5 for older callers "
                             "(its classes: vip 10, normal 0); they would wait as 'normal'")


def test_an_older_class_that_is_the_default_or_shared_with_other_callers_is_an_error():
    errors, _, _ = check(general=QueueClasses({"vip": 10, "older": 5, "normal": 0}, "older"))
    assert older_issues(errors) == [("older_callers.queue_priority", "ivr.older_class_default",
                                     "ivr.fix.older_class_own")]
    # The person node queues everyone at the older callers' priority.
    errors, _, report = check(nodes={"agent": {"priority": 5}})
    assert older_issues(errors) == [("older_callers.queue_priority", "ivr.older_class_shared",
                                     "ivr.fix.older_class_own")]
    assert "node 'agent' queues every caller in" in report.errors[-1].message
    # The VIP node queues above the older callers' priority: older VIPs stay VIPs, no issue.
    errors, _, _ = check(older={"queue_priority": 7})
    assert older_issues(errors) == [("older_callers.queue_priority", "ivr.older_class_missing",
                                     "ivr.fix.older_class_add")]


def test_a_host_variable_no_host_node_sets_is_a_warning():
    _, warnings, _ = check(older={"host_var": "elder"})
    assert older_issues(warnings) == [("older_callers.host_var", "ivr.older_host_var_unset",
                                       "ivr.fix.older_host_var")]


@pytest.mark.parametrize("speed", [0.3, 1.2, 0])
def test_a_speed_out_of_range_says_what_a_speed_means(speed):
    with pytest.raises(ValidationError) as caught:
        OlderCallers(speed=speed)
    error = caught.value.errors()[0]["ctx"]["error"]
    assert (error.key, error.fix_key) == ("ivr.older_speed", "ivr.fix.older_speed")
    assert str(error) == (f"older callers' speed {speed}: prompts can be played at 0.5 to 1.0 "
                          "times their speed; give a speed from 0.5 (prompts twice as long) "
                          "to 1.0 (as recorded); 0.8 plays them a quarter longer")
