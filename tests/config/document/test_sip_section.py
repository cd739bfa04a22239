"""The ``sip`` section: its ports join the board's, and the checker's SIP problems."""

import yaml

from branchline.config.document import check_document, default_document_text


def _with_sip(sip_yaml, edit=None):
    """The default document with its sip section replaced by ``sip_yaml``."""
    document = yaml.safe_load(default_document_text())
    document["sip"] = yaml.safe_load(sip_yaml)
    document["lines"] = {k: v for k, v in document["lines"].items() if not k.startswith("sip")}
    if edit is not None:
        edit(document)
    return yaml.safe_dump(document, allow_unicode=True)


def _check(sip_yaml):
    return check_document(_with_sip(sip_yaml))


def _errors(report):
    return [(i.path, i.message) for i in report.errors]


def test_sip_ports_follow_the_boards_and_agents_and_lines_may_name_them():
    def edit(document):
        document["acd"]["agents"][0]["station"] = "desk1"
        document["lines"]["sip2"] = {"number": "95588", "flow": "bank"}
    document, report = check_document(_with_sip(
        "channels: 2\nphones:\n  desk1: {extension: '801'}\n", edit))
    assert document is not None, _errors(report)
    names = [p.name for p in document.ports()]
    assert names[-3:] == ["sip1", "sip2", "desk1"]
    assert document.ports()[-1].index == len(names) - 1 and not document.ports()[-1].trunk
    assert document.line_for("sip2").flow == "bank"


def test_duplicate_extensions_are_an_error_naming_both_stations():
    _, report = _check("phones:\n  desk1: {extension: '801'}\n  desk2: {extension: '801'}\n")
    assert _errors(report) == [("sip", "extension '801' is given to 'desk2' and to 'desk1'")]


def test_a_phone_station_may_not_take_a_board_ports_name():
    _, report = _check("phones:\n  fxs1: {extension: '801'}\n")
    assert _errors(report) == [("sip.phones.fxs1",
                                "station 'fxs1' is already a port of the board")]


def test_a_line_for_a_channel_the_sip_board_lacks_and_an_unknown_flow_are_errors():
    def edit(document):
        document["lines"]["sip2"] = {"number": "95588", "flow": "nope"}
    _, report = check_document(_with_sip("channels: 1\n", edit))
    paths = [i.path for i in report.errors]
    assert "lines.sip2" in paths and "lines.sip2.flow" in paths


def test_bad_addresses_registration_without_user_and_bad_targets_are_said():
    _, report = _check("listen: localhost:5060\ntrunks:\n  carrier:\n"
                       "    address: 10.0.0.2:5060\n    registers: true\n"
                       "    sources: [pbx.example]\ntransfer_targets: [abc]\n")
    messages = [m for _, m in _errors(report)]
    assert "'localhost:5060' is not an IP address and port" in messages
    assert "'pbx.example' is not an IP address" in messages
    assert "'abc'" in " ".join(messages)


def test_the_document_has_no_place_for_a_password():
    _, report = _check("phones:\n  desk1: {extension: '801', password: hunter2hunter2}\n")
    assert _errors(report)[0][1] == "unknown field 'password'"
