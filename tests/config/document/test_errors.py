"""Bad documents: every error found, with its exact path, what is wrong and the fix."""

import pytest
import yaml

from branchline.config.document.loading import Issue, check_document, default_document_text


def default_data():
    return yaml.safe_load(default_document_text())


def dump(data):
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def errors_of(data):
    document, report = check_document(dump(data))
    assert (document is None) == bool(report.errors)
    return report.errors


def warnings_of(data):
    return check_document(dump(data))[1].warnings


def test_the_default_survives_a_yaml_round_trip():
    assert errors_of(default_data()) == ()


def _set(path, value):
    def mutate(doc):
        *parents, last = path.split(".")
        for part in parents:
            doc = doc[int(part)] if isinstance(doc, list) else doc[part]
        if isinstance(doc, list):
            doc[int(last)] = value
        else:
            doc[last] = value
    return mutate


def _delete(path):
    def mutate(doc):
        *parents, last = path.split(".")
        for part in parents:
            doc = doc[int(part)] if isinstance(doc, list) else doc[part]
        del doc[last]
    return mutate


def _node(name, field, value):
    return _set(f"flows.bank.nodes.{name}.{field}", value)


BAD = [
    ("unknown section", _set("queues", []),
     [("queues", "unknown section 'queues'", "the sections are site, board, lines")]),
    ("missing section", _delete("acd"),
     [("acd", "required section 'acd' is missing", "add acd:")]),
    ("time zone", _set("site.timezone", "Asia/Shangai"),
     [("site.timezone", "'Asia/Shangai' is not a time zone", "like 'Asia/Shanghai'")]),
    ("country", _set("site.country", "hk"),
     [("site.country", "'hk' is not one of the allowed values", "use one of 'cn' or 'us'")]),
    ("language twice", _set("site.languages", ["zh", "en", "zh"]),
     [("site.languages", "zh listed more than once", "list each language once")]),
    ("driver", _set("board.driver", "usb"),
     [("board.driver", "neither 'sim' nor a driver URL", "serial:///dev/ttyUSB0")]),
    ("country not a word", _set("site.country", []),
     [("site.country", "[] is not one of the allowed values", "use one of 'cn' or 'us'")]),
    ("too many stations", _set("board.stations", 1500),
     [("board.stations", "1500 is not accepted", "less than or equal to 1000")]),
    ("too many stations on a card",
     lambda doc: [_set("board.driver", "serial:///dev/ttyUSB0")(doc),
                  _set("board.stations", 500)(doc)],
     [("board.stations", "500 stations on driver 'serial:///dev/ttyUSB0'",
       "a board has at most 120")]),
    ("line on a missing port", _set("lines.fxo9", {"number": "075588880009", "flow": "bank"}),
     [("lines.fxo9", "the board has no port 'fxo9'", "fxo1, fxo2, fxo3, fxo4")]),
    ("line on a station", _set("lines.fxs1", {"number": "075588880009", "flow": "bank"}),
     [("lines.fxs1", "'fxs1' is a station", "trunk ports")]),
    ("line's flow", _set("lines.fxo2.flow", "bnak"),
     [("lines.fxo2.flow", "unknown flow 'bnak'", "name one of the flows: bank")]),
    ("us tone on a cn line", _set("lines.fxo4.hangup_tones", ["busy", "reorder"]),
     [("lines.fxo4.hangup_tones.1", "'reorder' is not a cn tone",
       "busy, congestion")]),
    ("deaf line", _set("lines.fxo4.hangup_tones", []),
     [("lines.fxo4", "would never know the caller hung up", "loop_current_drop")]),
    ("number as a YAML int", _set("lines.fxo1.number", 75588880001),
     [("lines.fxo1.number", "was read as a number", "put it in quotes")]),
    ("line number", _set("lines.fxo1.number", "0755-8888"),
     [("lines.fxo1.number", "is not a dialled number", "3 to 15 digits")]),
    ("unknown line field", _set("lines.fxo1.lable", "x"),
     [("lines.fxo1.lable", "unknown field 'lable'", "did you mean 'label'?")]),
    ("option target", _node("main_menu", "options", {"1": "balanse", "2": "loss",
                                                       "3": "branch_info"}),
     [("flows.bank.nodes.main_menu.options.1", "unknown target 'balanse'",
       "did you mean 'balance'?"),
      ("flows.bank.nodes.balance", "unreachable", "link it from a menu option")]),
    ("flow's queue", _node("agent", "queue", "generl"),
     [("flows.bank.nodes.agent.queue", "unknown queue 'generl'", "did you mean 'general'?")]),
    ("endpoint gone", _delete("host.endpoints.card_loss"),
     [("flows.bank.nodes.loss_request.endpoint", "unknown host endpoint 'card_loss'",
       "balance")]),
    ("prompt language gone", lambda doc: doc["prompts"]["main.short"].pop("yue"),
     [("flows.bank.nodes.main_menu.short_prompt.0", "'main.short' has no text or recording "
       "in yue", "add it to the prompt catalogue")]),
    ("flow language the site lacks", _set("site.languages", ["zh", "en"]),
     [("flows.bank.languages", "offers yue, which the site does not", "site.languages")]),
    ("flow named otherwise", _set("flows.bank.flow", "retail"),
     [("flows.bank.flow", "the flow is named 'retail' under flows.bank", "write flow: bank")]),
    ("node kind", _node("goodbye", "kind", "hangout"),
     [("flows.bank.nodes.goodbye", "unknown kind 'hangout'", "hangup")]),
    ("node field misspelt", _node("survey", "promt", "survey.ask"),
     [("flows.bank.nodes.survey.promt", "unknown field 'promt'", "did you mean 'prompt'?")]),
    ("field nothing like any", _node("survey", "colour", "red"),
     [("flows.bank.nodes.survey.colour", "unknown field 'colour'",
       "remove it; the fields here are kind, prompt, ")]),
    ("required node field", lambda doc: doc["flows"]["bank"]["nodes"]["survey"].pop("next"),
     [("flows.bank.nodes.survey.next", "required field 'next' is missing",
       "add next (docs/ivr.md lists the fields)")]),
    ("section misspelt", lambda doc: doc.update(retension=doc.pop("retention")),
     [("retension", "unknown section 'retension'", "did you mean 'retention'?")]),
    ("agent on a trunk", _set("acd.agents.2.station", "fxo1"),
     [("acd.agents.2.station", "'fxo1' is a trunk, not a station", "fxs1, fxs2, fxs3")]),
    ("agent on a missing port", _set("acd.agents.2.station", "fxs7"),
     [("acd.agents.2.station", "the board has no port 'fxs7'", "fxs1, fxs2, fxs3")]),
    ("two agents, one phone", _set("acd.agents.2.station", "fxs1"),
     [("acd.agents.2.station", "'fxs1' is already the station of agents[0]",
       "one agent per station")]),
    ("agent id with letters", _set("acd.agents.0.id", "wang"),
     [("acd.agents.0.id", "'wang' cannot be keyed at a phone", "digits only")]),
    ("agent in a missing queue", _set("acd.agents.0.queues", [{"queue": "loans"}]),
     [("acd.agents.0.queues.0.queue", "'loans' is not a queue",
       "use one of 'general', 'vip'")]),
    ("queue strategy", _set("acd.queues.0.strategy", "fastest"),
     [("acd.queues.0.strategy", "'fastest' is not accepted", "'longest_idle'")]),
    ("VIP number", _set("vip_numbers", ["13801380001", "8888"]),
     [("vip_numbers.1", "'8888' is not a complete national number", "with its area code")]),
    ("login code", _set("agent_codes.login", "*11#"),
     [("agent_codes.login", "must contain {agent_id} once", "'*11{agent_id}#'")]),
    ("code not on a keypad", _set("agent_codes.ready", "*12R"),
     [("agent_codes.ready", "'*12R' is not a keypad code", "starting with '*'")]),
    ("codes alike", _set("agent_codes.ready", "*11#"),
     [("agent_codes", "the ready and login codes start alike",
       "give each code its own first keys")]),
    ("reason digit", _set("agent_codes.reasons", {"10": "lunch"}),
     [("agent_codes.reasons", "'10' is not one digit", "single digit 0-9")]),
    ("retention", _set("retention.calls", 0),
     [("retention.calls", "0 is not accepted", "greater than 0")]),
    ("host URL", _set("host.base_url", "ftp://bank"),
     [("host.base_url", "'ftp://bank' is not an http(s) URL", "or 'simulator'")]),
    ("endpoint path", _set("host.endpoints.balance.path", "ivr/balance"),
     [("host.endpoints.balance.path", "is not a URL path", "starting with '/'")]),
    ("prompt named like a unit", _set("prompts.num/1", {"zh": "一"}),
     [("prompts.num/1", "may not contain '/'", "group names with dots")]),
    ("section of the wrong shape", _set("board", [4, 3]),
     [("board", "expected a mapping of fields here, found a list", "'field: value'")]),
]


@pytest.mark.parametrize("mutate, expected", [case[1:] for case in BAD],
                         ids=[case[0] for case in BAD])
def test_each_bad_document_gets_exactly_its_errors(mutate, expected):
    data = default_data()
    mutate(data)
    errors = errors_of(data)
    assert [e.path for e in errors] == [path for path, _, _ in expected]
    for error, (_, message, fix) in zip(errors, expected, strict=True):
        assert message in error.message
        assert fix in error.fix
        assert error.line is not None or "is missing" in error.message


# One fault in each section, and faults only the checks across sections find: a section with
# an error of its own still lends its names (flows, queues, endpoints, country) to the others.
_TOGETHER = ["time zone", "line's flow", "us tone on a cn line", "agent on a trunk",
             "option target", "flow's queue", "prompt language gone", "VIP number",
             "login code", "retention", "host URL"]


def test_every_error_of_a_document_is_reported_at_once():
    data = default_data()
    cases = {name: (mutate, expected) for name, mutate, expected in BAD}
    for name in _TOGETHER:
        cases[name][0](data)
    errors = errors_of(data)
    expected = {path for name in _TOGETHER for path, _, _ in cases[name][1]}
    assert {e.path for e in errors} == expected
    lines = [e.line for e in errors]
    assert lines == sorted(lines), "issues come out in document order"


def test_no_pydantic_internals_reach_the_admin():
    data = default_data()
    for name, mutate, _ in BAD:
        if name not in {"missing section", "section of the wrong shape", "section misspelt"}:
            mutate(data)
    for error in errors_of(data):
        text = str(error)
        for internal in ("Input should", "pydantic", "function-after", "Value error",
                         "instance of", "[type="):
            assert internal not in text, text


WARNED = [
    ("trunk without a line", _delete("lines.fxo4"),
     [("lines", "no line is configured for fxo4", "add a line for each trunk")]),
    ("u-law in China", _set("site.codec", "ulaw"),
     [("site.codec", "ulaw on cn lines; the cn network uses alaw", "use alaw")]),
    ("nobody speaks Cantonese", _set("acd.agents.0.skills", {"zh": 10}),
     [("flows.bank.nodes.agent.queue", "Cantonese callers would wait",
       "give an agent of 'general' the skill 'yue'")]),
    ("VIP listed twice", _set("vip_numbers", ["13801380001", "+86 13801380001"]),
     [("vip_numbers.1", "the same number as vip_numbers.0 (+8613801380001)",
       "list each number once")]),
    ("host gives up first", _set("host.endpoints.card_loss.timeout", 3),
     [("flows.bank.nodes.loss_request.timeout", "the node waits 8 s but the 'card_loss' "
       "request gives up after 3 s", "set host.endpoints.card_loss.timeout to at least 8 s")]),
    ("prompt nobody plays",
     lambda doc: doc["prompts"].update({"promo.card": {"zh": "办卡有礼。"}}),
     [("prompts.promo.card", "no flow plays 'promo.card'", "delete it, or use it")]),
    ("users", _set("users", {"alice": {"role": "admin"}}),
     [("users", "users are not used yet", "leave the section empty")]),
    ("six options", _node("main_menu", "options", {
        "1": "balance", "2": "loss", "3": "branch_info", "4": "agent", "5": "goodbye",
        "6": "leave_message"}),
     [("flows.bank.nodes.main_menu.options", "6 options", "sub-menu")]),
]


@pytest.mark.parametrize("mutate, expected", [case[1:] for case in WARNED],
                         ids=[case[0] for case in WARNED])
def test_warnings_do_not_block_but_are_reported(mutate, expected):
    data = default_data()
    mutate(data)
    document, report = check_document(dump(data))
    assert document is not None and report.errors == ()
    assert [w.path for w in report.warnings] == [path for path, _, _ in expected]
    for warning, (_, message, fix) in zip(report.warnings, expected, strict=True):
        assert message in warning.message
        assert fix in warning.fix


@pytest.mark.parametrize("text, line, message", [
    ("site:\n  name: x\n  timezone: [Asia/Shanghai\nboard: {}\n", 4,
     "not valid YAML"),
    ("site:\n  name: x\nboard:\n\ttrunks: 4\n", 4, "not valid YAML"),
    ("site: {name: x}\nlines: {}\nsite: {name: y}\n", 3,
     "key 'site' appears twice in one mapping (first on line 1)"),
    ("- site\n- board\n", 1, "the document is not a mapping of sections"),
])
def test_yaml_faults_come_back_as_one_issue_with_the_line(text, line, message):
    document, report = check_document(text)
    assert document is None
    (issue,) = report.errors
    assert issue.line == line
    assert message in issue.message
    assert issue.fix


def test_a_syntax_error_names_the_column_and_never_raises():
    _, report = check_document("site:\n  name: Demo: Branch\n")
    (issue,) = report.errors
    assert (issue.line, "column 13") == (2, "column 13") and "column 13" in issue.message
    assert str(issue).startswith("<document> (line 2): not valid YAML")


def test_an_empty_document_says_where_to_start():
    _, report = check_document("")
    assert report.errors == (Issue("", "the document is empty",
                                   "start from the bundled default (branchline config show)"),)


def test_menu_keys_are_taken_as_written():
    # 1 and "1" are one key: a document that writes both is refused, never "last one wins".
    text = default_document_text().replace('options: {"1": balance, "2": loss,',
                                           'options: {"1": balance, 1: loss,')
    _, report = check_document(text)
    assert [e.path for e in report.errors] == ["flows.bank.nodes.main_menu.options.1"]
    assert "appears twice" in report.errors[0].message
