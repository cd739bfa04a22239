"""The validator: the sample is clean; a purpose-built bad flow gets every error and warning
with its exact path, message and fix; routes to a person are reported."""

from pathlib import Path

import pytest
from ivr_harness import tiny_flow

from branchline.ivr import (
    Issue,
    PersonRoute,
    PromptCatalog,
    load_flow,
    sample_flow,
    sample_prompts,
    validate_flow,
)

DATA = Path(__file__).parent / "data"
QUEUES = {"general", "vip"}
ENDPOINTS = {"balance", "card_loss"}


def test_sample_flow_validates_clean():
    report = validate_flow(sample_flow(), queues=QUEUES, endpoints=ENDPOINTS,
                           prompts=sample_prompts())
    assert report.errors == ()
    assert report.warnings == ()
    assert report.ok


def test_sample_flow_routes_to_a_person():
    report = validate_flow(sample_flow(), queues=QUEUES, endpoints=ENDPOINTS,
                           prompts=sample_prompts())
    routes = {r.menu: r for r in report.routes if r.mode == "standard"}
    assert routes[None].nodes == ("vip_check", "vip_queue")   # VIP callers: no keys at all
    main = routes["main_menu"]
    assert main.keys == ("1", "0")
    assert main.nodes == ("vip_check", "language_menu", "set_zh", "hours", "main_menu",
                          "agent")
    assert routes["balance_done"].keys == ("1", "1", "<card_number>", "<pin>", "0")
    # A return from the shared card subflow goes back to its own caller.
    assert routes["loss_done"].keys == ("1", "2", "<card_number>", "0")
    assert "loss_request" in routes["loss_done"].nodes
    assert "balance_pin" not in routes["loss_done"].nodes
    assert main.describe().startswith("via main_menu: 1, 0; at worst ")


def _bad_report():
    flow = load_flow((DATA / "bad_flow.yaml").read_text())
    texts = {name: {"zh": "x" * 8, "en": "y" * 20}
             for name in ("common.invalid", "common.no_input", "welcome", "main.options",
                          "hello")}
    texts["english.only"] = {"en": "press 9"}
    texts["goodbye"] = {"zh": "再见"}
    return validate_flow(flow, queues=QUEUES, endpoints=ENDPOINTS,
                         prompts=PromptCatalog(texts))


EXPECTED_ERRORS = [
    Issue("nodes.main.options.2", "unknown target 'nowhere'",
          "name one of: agent, balance, bye, english, english_menu, four_deep, main, one ..."),
    Issue("nodes.orphan", "unreachable: no path from start leads here",
          "link it from a menu option or another node, or delete it"),
    Issue("nodes.spin", "no way out: no path from here ends the call or reaches a person",
          "lead it to a hangup, transfer or queue node"),
    Issue("nodes.spin2", "no way out: no path from here ends the call or reaches a person",
          "lead it to a hangup, transfer or queue node"),
    Issue("nodes.spin", "loop without caller input: spin -> spin2 -> spin",
          "put a menu, a collect or a hangup in the loop; otherwise it repeats until the "
          "visit limit"),
    Issue("nodes.main.options.1", "option '1' is a prefix of '10': every caller who presses 1 "
          "waits the 3 s inter-digit timeout",
          "renumber so no option is the start of another (move '10' to a free key or a "
          "sub-menu)"),
    Issue("nodes.ten.queue", "unknown queue 'genral'", "did you mean 'general'?"),
    Issue("nodes.english_menu.options.01",
          "option '01' collides with the global operator key '0'",
          "use another key; '0' is the operator key in every menu"),
    Issue("nodes.balance.endpoint", "unknown host endpoint 'balanse'",
          "did you mean 'balance'?"),
    Issue("nodes.bye.prompt.0", "prompt 'goodbye' has no text or recording in en",
          "add it to the prompt catalogue for that language"),
    Issue("nodes.balance.body.pin", "variable 'pin' may be read before it is set: some path "
          "from start reaches here without a collect or host node that sets it",
          "set 'pin' on every path to this node, or read it only after the node that sets "
          "it"),
]
EXPECTED_WARNINGS = [
    Issue("nodes.main.options", "8 options; the bank's rule is at most 5 per menu",
          "group options into a sub-menu"),
    Issue("nodes.four_deep", "menu nested 4 deep (main -> two_deep -> three_deep -> "
          "four_deep); the bank's rule is at most 3", "flatten the menu tree"),
    Issue("nodes.main.prompt", "the main menu plays 2 prompts; the options must come first",
          "move greetings and notices out of the main menu, keep one prompt that lists the "
          "options"),
]


@pytest.mark.parametrize("expected", EXPECTED_ERRORS, ids=lambda i: i.path)
def test_bad_flow_error(expected):
    assert expected in _bad_report().errors


def test_bad_flow_has_exactly_these_errors_and_warnings():
    report = _bad_report()
    assert sorted(report.errors, key=repr) == sorted(EXPECTED_ERRORS, key=repr)
    assert list(report.warnings) == EXPECTED_WARNINGS
    assert not report.ok


def test_route_reports_the_wait_of_an_ambiguous_key():
    report = _bad_report()
    start = report.routes[0]
    assert start == PersonRoute(None, ("10",), 3.5, ("main", "ten"))


def _check(flow, texts=("m", "bad", "silent")):
    catalog = PromptCatalog({name: {"zh": "请按键"} for name in texts})
    return validate_flow(flow, queues=QUEUES, endpoints=ENDPOINTS, prompts=catalog)


def test_menu_without_a_way_to_a_person_is_a_warning():
    flow = tiny_flow({"m": {"kind": "menu", "prompt": "m", "options": {"1": "bye"},
                            "escalate_to": "bye"},
                      "unused_agent": {"kind": "hangup"}},
                     keys={"operator": None}, operator="agent")
    report = _check(flow)
    assert Issue("nodes.m", "no key in this menu leads to a person",
                 "turn on the operator key (keys.operator) or add an option that reaches a "
                 "queue or transfer") in report.warnings


def test_variable_set_on_one_branch_only_is_an_error():
    flow = tiny_flow({
        "m": {"kind": "menu", "prompt": "m", "options": {"1": "ask", "2": "say"}},
        "ask": {"kind": "collect", "var": "amount", "prompt": "m", "max_length": 6,
                "next": "say"},
        "say": {"kind": "play", "items": [{"say": "money", "var": "amount"}], "next": "bye"},
    })
    report = _check(flow)
    assert [e.path for e in report.errors] == ["nodes.say.items.0.var"]


def test_sensitive_variable_may_not_reach_the_agent_screen():
    flow = tiny_flow({
        "pin": {"kind": "collect", "var": "pin", "prompt": "m", "max_length": 6,
                "sensitive": True, "next": "q"},
        "q": {"kind": "queue", "queue": "general", "data": ["pin"]},
    })
    report = _check(flow)
    assert Issue("nodes.q.data.0", "variable 'pin' is sensitive and would be shown to the "
                 "agent", "remove it from data") in report.errors


def test_unknown_flow_level_names_and_subflows():
    flow = tiny_flow({"m": {"kind": "subflow", "flow": "nope", "next": "bye"}},
                     escalate_to="agnet")
    report = _check(flow)
    assert Issue("escalate_to", "unknown node 'agnet'", "did you mean 'agent'?") in report.errors
    assert Issue("nodes.m.flow", "unknown subflow 'nope'", "name one of: ") in report.errors


def test_unknown_caller_attribute():
    flow = tiny_flow({"s": {"kind": "switch", "default": "bye",
                            "cases": [{"when": {"var": "caller.vipp", "eq": True},
                                       "goto": "agent"}]}})
    report = _check(flow)
    assert report.errors[0].message == "unknown caller attribute 'caller.vipp'"
    assert report.errors[0].path == "nodes.s.cases.0.when"


def test_prompt_needed_only_in_languages_the_caller_can_have_there():
    # The language menu plays before any choice: only the default language is needed there.
    flow = tiny_flow({
        "lang": {"kind": "menu", "prompt": "choose", "options": {"1": "en"}},
        "en": {"kind": "language", "set": "en", "next": "hello"},
        "hello": {"kind": "play", "items": "hello", "next": "bye"},
    }, languages=["zh", "en"])
    catalog = PromptCatalog({"choose": {"zh": "请选择"}, "hello": {"en": "Hello"},
                             "bad": {"zh": "错"}, "silent": {"zh": "无"}})
    report = validate_flow(flow, queues=QUEUES, endpoints=ENDPOINTS, prompts=catalog)
    assert report.errors == ()
