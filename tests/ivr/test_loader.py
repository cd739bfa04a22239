"""Loading flow and prompt documents: errors name the field, YAML traps are closed."""

import pytest

from branchline.ivr import FlowError, load_flow, load_prompt_texts, sample_flow, sample_prompts

BASE = """
flow: t
start: m
operator: agent
nodes:
  agent: {kind: queue, queue: general}
"""


def load_with(node_yaml: str):
    return load_flow(BASE + node_yaml)


def test_sample_loads_with_subflow_and_every_prompt_in_three_languages():
    flow = sample_flow()
    assert flow.node("card_entry:card").kind == "collect"
    catalog = sample_prompts()
    for name, per_lang in catalog.texts.items():
        assert set(per_lang) == {"zh", "yue", "en"}, name


def test_menu_keys_keep_the_text_written():
    # YAML 1.1 would read 010 as the octal number 8 and 1 as an integer.
    flow = load_with("""
  m:
    kind: menu
    prompt: p
    options: {010: agent, 1: agent}
""")
    assert list(flow.nodes["m"].options) == ["010", "1"]


@pytest.mark.parametrize(("snippet", "path", "problem", "fix"), [
    ("""
  m:
    kind: menu
    prompt: p
    options: {1: agent, "1": agent}
""", "nodes.m.options.1", "key '1' appears twice in one mapping (line 11)", "keep one of them"),
    ("""
  m: {kind: menu, prompt: p, options: {"1": agent}, timout: 3}
""", "nodes.m.timout", "unknown field",
     "remove it or correct its spelling (see docs/ivr.md for the fields)"),
    ("""
  m: {kind: collect, var: x, prompt: p, next: agent}
""", "nodes.m.max_length", "required field is missing", "add it (see docs/ivr.md)"),
    ("""
  m: {kind: menus, prompt: p}
""", "nodes.m", "Input tag 'menus' found using 'kind' does not match any of the expected tags: "
     "'menu', 'collect', 'play', 'host', 'switch', 'schedule', 'language', 'queue', "
     "'message', 'survey', 'transfer', 'hangup', 'subflow'",
     "set kind to one of collect, hangup, host, language, menu, message, play, queue, "
     "schedule, subflow, survey, switch, transfer"),
    ("""
  m: {kind: collect, var: x, prompt: p, min_length: 8, max_length: 6, next: agent}
""", "nodes.m", "min_length 8 is above max_length 6; make min_length <= "
     "max_length", "correct the value"),
    ("""
  m: {kind: menu, prompt: p, options: {"1x": agent}}
""", "nodes.m.options", "option key '1x' is not made of keypad keys "
     "0123456789*#ABCD", "correct the value"),
    ("""
  m:
    kind: switch
    default: agent
    cases: [{when: {var: caller.vip, eq: true, ne: false}, goto: agent}]
""", "nodes.m.cases.0.when", "a condition is var plus exactly one of eq, ne, "
     "in, gt, ge, lt, le, prefix, is_set", "correct the value"),
    ("""
  m: {kind: schedule, hours: {mon: ["17:00-09:00"]}, open: agent, closed: agent}
""", "nodes.m.hours", "opening range '17:00-09:00' is not HH:MM-HH:MM with "
     "start < end", "correct the value"),
])
def test_flow_errors_name_the_field(snippet, path, problem, fix):
    with pytest.raises(FlowError) as caught:
        load_with(snippet)
    assert (caught.value.path, caught.value.problem, caught.value.fix) == (path, problem, fix)


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(FlowError) as caught:
        load_flow("flow: t\nnodes: [\n")
    assert caught.value.path == "line 3"
    assert caught.value.fix == "fix the YAML syntax; quote keys like '*', '#' and '0'"


def test_prompt_texts_errors():
    assert load_prompt_texts("a.b: {zh: 你好, en: Hello}") == {"a.b": {"zh": "你好",
                                                                      "en": "Hello"}}
    with pytest.raises(FlowError) as caught:
        load_prompt_texts("a.b: {fr: Bonjour}")
    assert str(caught.value) == ("a.b.fr: unknown language 'fr'; use zh (Mandarin), yue "
                                 "(Cantonese) or en (English)")
    with pytest.raises(FlowError) as caught:
        load_prompt_texts("num/1: {zh: 一}")
    assert caught.value.path == "num/1"
