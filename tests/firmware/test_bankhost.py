"""The bank host simulator over real HTTP on loopback: the contract, card states, faults, logs."""

import logging
import re
import subprocess
import sys

import httpx
import pytest

from branchline.firmware.bankhost import (
    ENDPOINTS,
    PIN_TRIES,
    TEST_CARDS,
    BankHostSimulator,
)
from branchline.firmware.records.guard import luhn_ok

ACTIVE = TEST_CARDS[0]
OVERDRAWN = TEST_CARDS[1]
BLOCKED = next(c for c in TEST_CARDS if c.state == "blocked")
LOCKED = next(c for c in TEST_CARDS if c.state == "locked")
UNKNOWN = "6222020000000000000"  # Luhn-valid, not a test card


@pytest.fixture(scope="module")
def simulator():
    with BankHostSimulator() as sim:
        yield sim


@pytest.fixture
def host(simulator):
    simulator.reset()
    simulator.delay = simulator.error_rate = simulator.malformed_rate = 0.0
    with httpx.Client(base_url=simulator.base_url) as client:
        yield client


def balance(host, card, pin):
    return host.post(ENDPOINTS["balance"], json={"card_number": card, "pin": pin})


def loss(host, card, caller="13800138000"):
    return host.post(ENDPOINTS["card_loss"], json={"card_number": card, "caller": caller})


def test_test_cards_are_luhn_valid_16_to_19_digits_with_6_digit_pins():
    lengths = set()
    for card in TEST_CARDS:
        assert luhn_ok(card.card_number), card
        assert 16 <= len(card.card_number) <= 19
        assert re.fullmatch(r"\d{6}", card.pin)
        lengths.add(len(card.card_number))
    assert {16, 19} <= lengths
    assert luhn_ok(UNKNOWN)
    assert not luhn_ok("6222021234567895")


def test_balance_of_an_active_card(host):
    reply = balance(host, ACTIVE.card_number, ACTIVE.pin)
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "data": {"balance": "1234.56", "currency": "CNY"}}
    assert balance(host, OVERDRAWN.card_number, OVERDRAWN.pin).json()["data"]["balance"] \
        == "-35.20"


@pytest.mark.parametrize(("card", "pin", "code"), [
    (ACTIVE.card_number, "000000", "bad_pin"),
    (UNKNOWN, "123456", "no_card"),
    (LOCKED.card_number, LOCKED.pin, "locked"),
    (BLOCKED.card_number, BLOCKED.pin, "blocked"),
])
def test_balance_refusals(host, card, pin, code):
    reply = balance(host, card, pin)
    assert (reply.status_code, reply.json()) == (200, {"status": "error", "code": code})


def test_wrong_pins_lock_the_card_and_a_right_one_resets_the_count(host):
    for _ in range(PIN_TRIES - 1):
        assert balance(host, ACTIVE.card_number, "000000").json()["code"] == "bad_pin"
    assert balance(host, ACTIVE.card_number, ACTIVE.pin).json()["status"] == "ok"
    for _ in range(PIN_TRIES):
        balance(host, ACTIVE.card_number, "000000")
    assert balance(host, ACTIVE.card_number, ACTIVE.pin).json()["code"] == "locked"


def test_card_loss_blocks_once_and_gives_a_reference(host):
    first = loss(host, ACTIVE.card_number).json()
    assert first["status"] == "ok"
    assert re.fullmatch(r"\d{11}", first["data"]["reference"])
    assert loss(host, ACTIVE.card_number).json() == {"status": "error",
                                                      "code": "already_blocked"}
    assert balance(host, ACTIVE.card_number, ACTIVE.pin).json()["code"] == "blocked"
    second = loss(host, OVERDRAWN.card_number).json()["data"]["reference"]
    assert int(second) == int(first["data"]["reference"]) + 1
    assert loss(host, UNKNOWN).json()["code"] == "no_card"


def test_a_locked_card_can_still_be_reported_lost(host):
    assert loss(host, LOCKED.card_number).json()["status"] == "ok"


@pytest.mark.parametrize(("who", "answer"), [
    ({"caller_absent": "P"}, (200, "ok")),
    ({"caller_absent": "O"}, (200, "ok")),
    ({"caller_absent": "none"}, (200, "ok")),
    ({"caller": ""}, (400, "caller")),                            # an empty number
    ({}, (400, "caller_absent")),                                 # neither: why no number?
    ({"caller": "13800138000", "caller_absent": "P"}, (400, "caller_absent")),  # both
    ({"caller_absent": "X"}, (400, "caller_absent")),
])
def test_card_loss_names_the_caller_or_why_there_is_none(host, who, answer):
    reply = host.post(ENDPOINTS["card_loss"], json={"card_number": ACTIVE.card_number, **who})
    document = reply.json()
    assert (reply.status_code, document.get("field", document["status"])) == answer


@pytest.mark.parametrize(("body", "field"), [
    ({"pin": "123456"}, "card_number"),
    ({"card_number": "6222021234567895", "pin": "123456"}, "card_number"),  # Luhn
    ({"card_number": "622202123456789", "pin": "123456"}, "card_number"),  # 15 digits
    ({"card_number": ACTIVE.card_number, "pin": "12345"}, "pin"),
    ({"card_number": ACTIVE.card_number, "pin": 123456}, "pin"),
])
def test_contract_violations_are_400_naming_the_field_not_the_value(host, body, field):
    reply = host.post(ENDPOINTS["balance"], json=body)
    assert reply.status_code == 400
    assert reply.json() == {"status": "error", "code": "bad_request", "field": field}


def test_not_json_and_unknown_paths(host):
    assert host.post(ENDPOINTS["balance"], content=b"{card").status_code == 400
    assert host.post("/api/transfer", json={}).status_code == 404
    assert host.get(ENDPOINTS["balance"]).status_code == 405


def test_injected_errors_follow_the_seed():
    def outcomes(seed):
        with BankHostSimulator(error_rate=0.5, seed=seed) as sim, \
                httpx.Client(base_url=sim.base_url) as client:
            return [balance(client, ACTIVE.card_number, ACTIVE.pin).status_code
                    for _ in range(12)]
    first = outcomes(7)
    assert first == outcomes(7)
    assert set(first) == {200, 503}


def test_malformed_rate_answers_a_body_that_is_not_json(host, simulator):
    simulator.malformed_rate = 1.0
    reply = balance(host, ACTIVE.card_number, ACTIVE.pin)
    assert reply.status_code == 200
    with pytest.raises(ValueError):
        reply.json()


def test_rates_and_delay_are_checked():
    with pytest.raises(ValueError, match=r"error_rate=1\.5; expected 0\.0 to 1\.0"):
        BankHostSimulator(error_rate=1.5)
    with pytest.raises(ValueError, match="delay=-1"):
        BankHostSimulator(delay=-1)


def test_stop_ends_a_delayed_answer_and_frees_the_port():
    sim = BankHostSimulator(delay=60.0)
    url = sim.start()
    with pytest.raises(RuntimeError, match="already running"):
        sim.start()
    sim.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.post(url + ENDPOINTS["balance"], json={})
    with pytest.raises(RuntimeError, match="not started"):
        _ = sim.base_url


def test_card_numbers_and_pins_never_reach_the_log(host, caplog):
    caplog.set_level(logging.DEBUG, logger="branchline.firmware.bankhost")
    balance(host, ACTIVE.card_number, ACTIVE.pin)
    balance(host, ACTIVE.card_number, "987654")
    loss(host, OVERDRAWN.card_number)
    assert caplog.records, "the simulator logs its requests at debug level"
    for secret in (ACTIVE.card_number, ACTIVE.pin, "987654", OVERDRAWN.card_number):
        assert secret not in caplog.text


def test_the_command_line_entry_prints_its_help():
    done = subprocess.run([sys.executable, "-m", "branchline.firmware.bankhost", "--help"],
                          capture_output=True, text=True, check=True)
    assert "--error-rate" in done.stdout and "--port" in done.stdout
