"""The call_control section: codes, supervisors, transfer maps; bad input says what is right."""

import pytest
from pydantic import ValidationError

from branchline.config.document.call_control import (
    CallCodes,
    CallControl,
    CallKeyed,
    parse_call_code,
)


def test_default_codes_mean_what_the_docs_say():
    codes = CallCodes()
    assert parse_call_code(codes, "*211002#") == CallKeyed("consult", "1002")
    assert parse_call_code(codes, "*3#") == CallKeyed("conference")
    assert parse_call_code(codes, "*4#") == CallKeyed("complete")
    assert parse_call_code(codes, "*411002#") == CallKeyed("transfer_agent", "1002")
    assert parse_call_code(codes, "*421#") == CallKeyed("transfer_queue", "1")
    assert parse_call_code(codes, "*431#") == CallKeyed("transfer_outside", "1")
    assert parse_call_code(codes, "*521001#") == CallKeyed("whisper", "1001")
    assert parse_call_code(codes, "*541001#") == CallKeyed("take_over", "1001")
    assert parse_call_code(codes, "*12#") is None


@pytest.mark.parametrize(("section", "message"), [
    ({"codes": {"consult": "*21#"}}, r"consult '\*21#' must hold \{agent\} once; write it like "
                                     r"'\*21\{agent\}#'"),
    ({"codes": {"conference": "3#"}}, r"conference '3#' is not a keypad code; start it with \*"),
    ({"codes": {"conference": "*4#"}}, r"complete '\*4#' also reads as conference '\*4#'"),
    ({"queues": {"12": "general"}}, r"key '12' is not one digit; use 0-9"),
    ({"outside": {"1": "call me"}}, r"'call me' is not a number; write 3 to 20 digits"),
    ({"supervisors": [{"user": "a", "station": "fxs4"}, {"user": "b", "station": "fxs4"}]},
     r"b and a share station 'fxs4'; give each supervisor their own phone"),
])
def test_bad_sections_say_what_would_be_right(section, message):
    with pytest.raises(ValidationError, match=message):
        CallControl.model_validate(section)


def test_who_may_monitor():
    section = CallControl.model_validate({"supervisors": [
        {"user": "wang", "station": "fxs4", "queues": ["vip"]},
        {"user": "li", "station": "fxs5"}]})
    wang, li = section.supervisor_at("fxs4"), section.supervisor("li")
    assert wang.may_monitor("1001", "vip") and not wang.may_monitor("1001", "general")
    assert li.may_monitor("1001", "general")
    assert section.supervisor_at("fxs1") is None
