"""Structured logs: one line per event, the call id on every line, secrets never written."""

import io
import json
import logging

import pytest

from branchline.firmware.ops.logs import (
    call_context,
    call_logger,
    configure_logging,
    luhn_ok,
    mask_text,
)

# Test card numbers published by the card schemes for testing (Luhn-valid, never issued).
VISA_16 = "4111111111111111"
NOT_LUHN = "4111111111111112"


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = configure_logging("kv", "DEBUG", stream)
    yield stream
    logging.getLogger("branchline").removeHandler(handler)


@pytest.fixture
def captured_json():
    stream = io.StringIO()
    handler = configure_logging("json", "DEBUG", stream)
    yield stream
    logging.getLogger("branchline").removeHandler(handler)


def lines(stream):
    return stream.getvalue().splitlines()


def test_luhn():
    assert luhn_ok(VISA_16)
    assert luhn_ok("79927398713")  # the classic worked example
    assert not luhn_ok(NOT_LUHN)


@pytest.mark.parametrize(("text", "expected"), [
    (f"card {VISA_16} entered", "card ************1111 entered"),
    ("card 4111 1111 1111 1111 entered", "card ************1111 entered"),
    ("card 4111-1111-1111-1111.", "card ************1111."),
    ("6212 3456 7890 1234 569", "***************4569"),
    (f"ref {NOT_LUHN}", f"ref {NOT_LUHN}"),  # not a card number: left alone
    ("caller 13800138000", "caller 13800138000"),  # 11 digits: a mobile number
    ("pin=123456 ok", "pin=*** ok"),
    ('{"card_number": "4000", "pin": "9999"}', '{"card_number": ***, "pin": ***}'),
    ("PIN: 0000, queue=vip", "PIN: ***, queue=vip"),
])
def test_mask_text(text, expected):
    assert mask_text(text) == expected


def test_19_digit_run_is_masked():
    run = "6212345678901234569"  # UnionPay cards run to 19 digits
    assert len(run) == 19 and luhn_ok(run)
    assert mask_text(run) == "*" * 15 + "4569"
    assert mask_text(run + "0") == run + "0"  # 20 digits is no card number


def test_one_line_per_event_with_fields(captured):
    log = logging.getLogger("branchline.calls")
    log.info("call answered on %s", "fxo1", extra={"caller": "13800138000", "port": 3})
    (line,) = lines(captured)
    assert line.split(" ", 1)[1] == ('level=info logger=branchline.calls '
                                    'msg="call answered on fxo1" caller=13800138000 port=3')
    assert line.startswith("time=20") and line.split(" ")[0].endswith("Z")


def test_secrets_in_message_args_and_extras_are_masked(captured):
    log = logging.getLogger("branchline.host")
    log.warning("balance for %s", VISA_16, extra={
        "pin": "123456", "card_number": VISA_16, "request": {"pin": "1", "account": VISA_16}})
    text = captured.getvalue()
    assert VISA_16 not in text and "123456" not in text
    assert 'msg="balance for ************1111"' in text
    assert "pin=*** card_number=*** " in text
    assert 'request="{\\"pin\\": \\"***\\", \\"account\\": \\"************1111\\"}"' in text


def test_call_id_on_every_line_of_a_call(captured_json):
    calls = logging.getLogger("branchline.calls")
    other = logging.getLogger("branchline.acd")
    with call_context("a1b2c3-000001"):
        calls.info("answered")
        other.info("queued")  # another module, same call
    calls.info("idle")
    call_logger(calls, "a1b2c3-000002").info("answered", extra={"port": 2})
    records = [json.loads(line) for line in lines(captured_json)]
    assert [(r["msg"], r.get("call_id")) for r in records] == [
        ("answered", "a1b2c3-000001"),
        ("queued", "a1b2c3-000001"),
        ("idle", None),
        ("answered", "a1b2c3-000002"),
    ]
    assert records[3]["port"] == 2


def test_a_traceback_stays_on_one_line_and_is_masked(captured):
    log = logging.getLogger("branchline.calls")
    try:
        raise RuntimeError(f"host said no for card {VISA_16}")
    except RuntimeError:
        log.exception("call failed")
    (line,) = lines(captured)
    assert "RuntimeError: host said no for card ************1111" in line
    assert VISA_16 not in line


def test_a_bad_format_string_is_logged_not_raised(captured):
    logging.getLogger("branchline.calls").info("card %s on %s", VISA_16)
    (line,) = lines(captured)
    assert "log arguments do not fit" in line and VISA_16 not in line


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="format 'xml'; expected 'kv' or 'json'"):
        configure_logging("xml")
