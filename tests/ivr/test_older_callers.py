"""The older callers' mode in the IVR engine: who gets it, and what it changes."""

from __future__ import annotations

from ivr_harness import IvrHarness, make_call

from branchline.ivr import (
    Digit,
    Enqueue,
    HangUp,
    Play,
    StartTimer,
    Trace,
    sample_flow,
    sample_prompts,
    validate_flow,
)

OLDER = "13900000001"


def bank(**changes):
    flow = sample_flow()
    older = flow.older_callers.model_copy(update={"numbers": [OLDER], **changes})
    return flow.model_copy(update={"older_callers": older})


def first_menu(caller):
    h = IvrHarness(bank(), call=make_call(caller=caller), prompts=sample_prompts())
    h.start()
    return h


def test_a_number_on_the_list_hears_the_person_key_first_slower_and_has_more_time():
    h = first_menu(OLDER)
    play = h.of(Play)[0]
    assert play.speed == 0.8
    assert play.items[:2] == ("common.person_first", "language.choose")
    assert Trace("mode", "", "older caller: number on the list", 0.0) in h.traces
    h.run(until=60)
    timers = [a for a in h.of(StartTimer) if a.name == "digit"]
    played = h.play_seconds(play)
    assert timers[0].at == played + 5 * 1.5


def test_a_caller_not_on_the_list_is_served_as_before():
    h = first_menu("13800138000")
    play = h.of(Play)[0]
    assert (play.speed, play.items) == (1.0, ("language.choose",))
    assert not [t for t in h.traces if t.what == "mode"]


def test_one_more_silence_is_forgiven_before_escalating():
    counts = {}
    for caller in (OLDER, "13800138000"):
        h = first_menu(caller)
        h.run()
        traces = h.traces
        counts[caller] = sum(1 for t in traces
                             if t.what == "no_input" and t.node == "language_menu")
        assert any(t.what == "escalate" and t.node == "language_menu" for t in traces)
    assert counts == {OLDER: 4, "13800138000": 3}


def test_the_queue_takes_an_older_caller_in_a_class_of_its_own():
    h = first_menu(OLDER)
    h.keys("1", at=1.0)
    h.keys("0", at=30.0)
    h.run(until=60)
    assert h.of(Enqueue)[0].priority == 5


def test_the_key_in_the_first_menu_turns_the_mode_on_and_says_the_menu_again_slower():
    h = first_menu("13800138000")
    h.keys("9", at=1.0)
    h.run(until=2.0)
    assert Trace("mode", "language_menu", "older caller: chose it by key", 1.0) in h.traces
    again = h.of(Play)[-1]
    assert again.speed == 0.8 and again.items[0] == "common.person_first"
    # The key is spent once a choice is made: 9 in the main menu is just a wrong key.
    h.keys("1", at=3.0)
    h.keys("9", at=30.0)
    h.run(until=31.0)
    assert [t.what for t in h.traces if t.node == "main_menu"][-1] == "invalid"


def test_the_bank_host_can_say_so():
    flow = sample_flow()
    nodes = dict(flow.nodes)
    nodes["balance_query"] = nodes["balance_query"].model_copy(
        update={"results": {"balance": "balance", "elder": "elder"}})
    older = flow.older_callers.model_copy(update={"host_var": "elder"})
    flow = flow.model_copy(update={"nodes": nodes, "older_callers": older})

    def host(request):
        return 0.5, "ok", {"balance": "12.00", "elder": "true"}

    h = IvrHarness(flow, call=make_call(), prompts=sample_prompts(), host=host)
    h.start()
    h.keys("1", at=1.0)
    h.keys("1", at=20.0)
    h.keys("6222021234567894#", at=40.0, gap=0.1)
    h.keys("1", at=50.0)
    h.keys("123456", at=70.0, gap=0.1)
    h.run(until=90)
    assert any(t.what == "mode" and "bank host" in t.detail for t in h.traces)
    assert h.of(Play)[-1].speed == 0.8
    assert h.terminal is None or isinstance(h.terminal, HangUp)


def test_the_checker_gives_both_modes_keys_and_seconds():
    flow = bank()
    report = validate_flow(flow, queues={"general", "vip"}, endpoints={"balance", "card_loss"},
                           prompts=sample_prompts())
    standard = {r.menu: r for r in report.routes if r.mode == "standard"}
    older = {r.menu: r for r in report.routes if r.mode == "older"}
    assert set(standard) == set(older)
    # The person key is announced first: sooner to a person from the first menu, though
    # every prompt is slower.
    assert older["language_menu"].keys == standard["language_menu"].keys == ("0",)
    assert older["language_menu"].seconds < standard["language_menu"].seconds
    assert "older callers, via main_menu" in older["main_menu"].describe()
    assert not [e for e in report.errors]


def test_digits_typed_ahead_keep_working_in_the_mode():
    h = first_menu(OLDER)
    for key in "10":
        h.send(Digit(key))
    assert h.of(Enqueue)
