"""The bundled default document, and what a checked Document tells the runtime."""

from importlib import resources

import pytest
import yaml

from branchline.acd import AcdConfig
from branchline.config.document.codes import AgentKeyed
from branchline.config.document.loading import (
    Document,
    DocumentInvalid,
    check_document,
    default_document_text,
    load_document,
)
from branchline.config.document.model import TONES, Line, PortSpec
from branchline.config.document.numbers import normalise_number
from branchline.ivr import load_prompt_texts, sample_flow, validate_flow


@pytest.fixture(scope="module")
def default():
    return load_document(default_document_text())


def test_the_default_document_validates_clean():
    document, report = check_document(default_document_text())
    assert isinstance(document, Document)
    assert report.errors == ()
    assert report.warnings == ()


def test_the_default_embeds_the_sample_bank_flow_and_its_prompts(default):
    assert default.flows == {"bank": sample_flow()}
    sample = load_prompt_texts(_package_file("prompts.yaml").read_text("utf-8"))
    assert {name: p.texts() for name, p in default.prompts.items()} == sample


def _package_file(name):
    return resources.files("branchline.config").joinpath("defaults", name)


def test_the_default_reports_the_sample_routes_to_a_person():
    _, report = check_document(default_document_text())
    described = [route.describe() for route in report.routes["bank"]]
    assert any(text.startswith("via main_menu: 1, 0; at worst 15.1 s") for text in described)


def test_flows_are_checked_against_the_documents_own_queues_endpoints_and_prompts(default):
    report = validate_flow(default.flow("bank"), queues={q.name for q in default.acd.queues},
                           endpoints=set(default.host.endpoints),
                           prompts=default.prompt_catalog())
    assert report.errors == ()


def test_the_default_matches_the_demo_scenario_of_the_simulated_board(default):
    scenario = yaml.safe_load(_package_file(default.board.scenario).read_text("utf-8"))
    assert (scenario["board"]["trunks"], scenario["board"]["stations"]) == \
        (default.board.trunks, default.board.stations)
    roster = {a["id"]: f"fxs{a['station'] + 1}" for a in scenario["agents"]["roster"]}
    assert roster == {a.id: a.station for a in default.acd.agents}
    for number in scenario["callers"]["vip"]["numbers"]:
        assert default.is_vip(number)


def test_ports_are_named_like_the_drivers_name_them(default):
    assert default.ports()[0] == PortSpec(index=0, name="fxo1", trunk=True)
    assert default.ports()[4] == PortSpec(index=4, name="fxs1", trunk=False)
    assert [p.name for p in default.ports()] == \
        ["fxo1", "fxo2", "fxo3", "fxo4", "fxs1", "fxs2", "fxs3", "sip1", "sip2", "sip3", "sip4"]


def test_the_simulated_board_has_the_same_port_names(default):
    from branchline.hw import SimBoard, load_scenario

    board = SimBoard(scenario=load_scenario(str(_package_file(default.board.scenario))))
    assert [p.name for p in board.ports] == [p.name for p in default.board.ports()]
    assert [p.is_trunk for p in board.ports] == [p.trunk for p in default.board.ports()]


def test_tone_names_mirror_the_dsp_tone_sets():
    from branchline.dsp.tones import CALL_PROGRESS_TONES

    assert {country: set(names) for country, names in TONES.items()} == \
        {country: set(tones) for country, tones in CALL_PROGRESS_TONES.items()}


def test_runtime_helpers(default):
    assert default.line_for("fxo1").number == "075588880001"
    assert default.line_for("fxo1").hangup_tones == ["busy", "congestion"]
    assert default.line_for("fxs1") is None
    assert default.flow_for("fxo3") is default.flows["bank"]
    assert default.flow_for("fxs1") is None
    assert default.agent_at("fxs2").id == "1002"
    assert default.agent_at("fxo1") is None
    assert default.agent("1003").station == "fxs3"
    assert isinstance(default.acd, AcdConfig)
    assert default.retention.audit is None and default.retention.recordings == 30


def test_a_line_that_signals_its_hangup_listens_for_tones_only_where_listed():
    plain = Line(number="075588880001", flow="bank")
    assert plain.tones_for_hangup(signalled=False) == ["busy", "congestion"]
    assert plain.tones_for_hangup(signalled=True) == []  # SIP: the BYE
    listed = Line(number="075588880001", flow="bank", hangup_tones=["busy"])
    assert listed.tones_for_hangup(signalled=True) == ["busy"]  # a gateway passing tones


def test_an_unknown_flow_name_says_which_exist(default):
    with pytest.raises(KeyError, match="no flow 'loans'; the flows are bank"):
        default.flow("loans")


@pytest.mark.parametrize("number, vip", [
    ("13801380001", True),
    ("+86 138 0138 0001", True),
    ("008613801380001", True),
    ("013801380001", True),            # with the trunk prefix
    ("139-0139-0002", True),           # the default lists it with spaces
    ("13801380002", False),
    ("", False),
    (None, False),
    ("private", False),
])
def test_is_vip_compares_numbers_however_they_are_written(default, number, vip):
    assert default.is_vip(number) is vip


@pytest.mark.parametrize("text, country, e164", [
    ("13801380001", "cn", "+8613801380001"),
    ("0755 8888 0001", "cn", "+8675588880001"),
    ("010-12345678", "cn", "+861012345678"),
    ("+1 (212) 555-1234", "us", "+12125551234"),
    ("1 212 555 1234", "us", "+12125551234"),
    ("2125551234", "us", "+12125551234"),
    ("01144 20 7946 0000", "us", "+442079460000"),
])
def test_numbers_normalise_to_e164(text, country, e164):
    assert normalise_number(text, country) == e164


@pytest.mark.parametrize("text, country, problem", [
    ("8888001", "cn", "not a complete national number (7 digits"),
    ("138-0138-000x", "cn", "has characters that are not digits"),
    ("+86", "cn", "is not an international number"),
    ("+8613801380001234567", "cn", "is not an international number"),
    ("5551234", "us", "not a complete national number"),
])
def test_numbers_that_cannot_be_normalised_say_why(text, country, problem):
    with pytest.raises(ValueError, match=r"with its area code|8 to 15 digits") as caught:
        normalise_number(text, country)
    assert problem in str(caught.value)


@pytest.mark.parametrize("keys, meaning", [
    ("*111001#", AgentKeyed("login", agent_id="1001")),
    ("*12#", AgentKeyed("ready")),
    ("*132#", AgentKeyed("not_ready", reason="lunch")),
    ("*14#", AgentKeyed("end_wrapup")),
    ("*19#", AgentKeyed("logout")),
    ("*137#", None),                   # reason 7 is not named
    ("*11#", None),                    # no agent id
    ("*12", None),
    ("12#", None),
])
def test_agent_keypad_codes(default, keys, meaning):
    assert default.agent_keyed(keys) == meaning


def test_load_document_raises_with_the_whole_report():
    text = default_document_text().replace("codec: alaw", "codec: gsm") \
        .replace("trunks: 4 ", "trunks: 0 ")
    with pytest.raises(DocumentInvalid) as caught:
        load_document(text)
    paths = [issue.path for issue in caught.value.report.errors]
    assert paths == ["site.codec", "board.trunks"]
    assert "2 error(s)" in str(caught.value)
    assert "site.codec (line 10): 'gsm' is not one of the allowed values" in str(caught.value)


def test_the_same_text_is_checked_once_and_another_text_afresh():
    text = default_document_text()
    first = check_document(text)
    assert check_document(text) is first  # start-up asks three or four times
    changed = text.replace("name: Demo Branch", "name: Other Branch", 1)
    assert changed != text
    other = check_document(changed)
    assert other is not first and other[0].site.name.startswith("Other Branch")
    again = check_document(text)
    assert again is not other and again[0].site.name.startswith("Demo Branch")
