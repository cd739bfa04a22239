"""The bank host says a caller is older: the customer lookup of the bank host simulator, and the
whole appliance on the virtual clock with a flow that looks every caller up before the first
menu (older_callers.host_var). A caller whose number the host lists gets the slower prompts,
the longer digit timeout and the older queue class, as the call record's path shows; a caller
not listed, or one the host cannot be asked about, stays in the standard mode and goes on."""

from __future__ import annotations

import socket

import httpx
import pytest
import yaml
from runtime_harness import RuntimeHarness, bank_url, prompts_dir, scenario_text  # noqa: F401

from branchline.firmware.bankhost import ENDPOINTS, OLDER_CALLERS, BankHostSimulator

LISTED = OLDER_CALLERS[0]
NOT_LISTED = "13800000031"
STEPS = '[{listen: true}, {keys: "0"}, {wait_agent: true}]'
# The sample flow's first digit timeout (s) and the older callers' speed and timeout factor.
TIMEOUT, SPEED, FACTOR = 5.0, 0.8, 1.5


# --- the simulator's lookup, over HTTP -----------------------------------------------------

@pytest.fixture(scope="module")
def host():
    with BankHostSimulator(older_numbers=["13700000001"]) as sim, \
            httpx.Client(base_url=sim.base_url) as client:
        yield client


def lookup(host, **body):
    return host.post(ENDPOINTS["customer"], json=body)


def test_the_lookup_says_older_for_a_number_on_the_simulators_list_only(host):
    listed = lookup(host, caller="13700000001")
    assert (listed.status_code, listed.json()) == (200, {"status": "ok", "data": {"older": True}})
    for body in ({"caller": LISTED}, {"caller": NOT_LISTED}, {"caller_absent": "P"}):
        reply = lookup(host, **body)
        assert reply.json() == {"status": "ok", "data": {"older": False}}, body


@pytest.mark.parametrize("body, field", [({}, "caller_absent"), ({"caller": ""}, "caller"),
                                         ({"caller": "139-0000"}, "caller"),
                                         ({"caller": LISTED, "caller_absent": "P"},
                                          "caller_absent"),
                                         ({"caller_absent": "X"}, "caller_absent")])
def test_a_broken_lookup_names_the_field(host, body, field):
    reply = lookup(host, **body)
    assert reply.status_code == 400
    assert reply.json() == {"status": "error", "code": "bad_request", "field": field}


def test_the_default_list_and_a_bad_one():
    assert BankHostSimulator().older_numbers == frozenset(OLDER_CALLERS)
    with pytest.raises(ValueError, match=r"'139 0000'; expected calling numbers of 1-20 digits"):
        BankHostSimulator(older_numbers=["139 0000"])
    with pytest.raises(ValueError, match="one string; expected a list"):
        BankHostSimulator(older_numbers="13900000021")


# --- through the runtime -------------------------------------------------------------------

def look_callers_up(document):
    """The sample bank flow with a customer lookup before the language menu."""
    document.pop("vip_numbers", None)  # the scenario's fixed numbers are ordinary callers here
    document["host"]["endpoints"]["customer"] = {"path": ENDPOINTS["customer"], "timeout": 2}
    flow = document["flows"]["bank"]
    flow["older_callers"]["host_var"] = "elder"
    flow["nodes"]["vip_check"]["default"] = "customer_lookup"
    flow["nodes"]["customer_lookup"] = {
        "kind": "host", "endpoint": "customer", "timeout": 2,
        "body": {"caller": "caller.number", "caller_absent": "caller.number_absent"},
        "results": {"elder": "older"}, "on_ok": "language_menu",
        "on_error": "language_menu", "on_timeout": "language_menu"}


def one_call(tmp_path, prompts_dir, url, number):  # noqa: F811
    # A scenario's callers have fixed numbers only as VIPs: every caller is one, with one
    # number, and look_callers_up drops the document's VIP list.
    scenario = yaml.safe_load(scenario_text(rate=60, end="09:02", goal_steps=STEPS))
    scenario["callers"]["vip"] = {"share": 1.0, "numbers": [number]}
    h = RuntimeHarness(tmp_path, yaml.safe_dump(scenario), prompts_dir=prompts_dir,
                       bank_url=url, edit_document=look_callers_up)
    h.run(240)
    records = h.close()
    assert records, "the scenario made no calls"
    assert records[0].caller == number
    return h, records[0]


def test_a_caller_the_host_lists_gets_the_older_mode_one_not_listed_does_not(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    h, older = one_call(tmp_path / "older", prompts_dir, bank_url, LISTED)
    _, standard = one_call(tmp_path / "standard", prompts_dir, bank_url, NOT_LISTED)
    assert steps(older, "host") == ["customer: ok"]
    assert steps(standard, "host") == ["customer: ok"]
    assert steps(older, "mode") == ["older caller: the bank host says so"]
    assert steps(standard, "mode") == []
    assert (older.queue, older.priority_class) == ("general", "older")
    assert (standard.queue, standard.priority_class) == ("general", "normal")
    assert older.agent_id and standard.agent_id  # both reached the person they asked for
    # The caller listens to the main menu in silence: the no-input comes when the prompt and
    # the first digit timeout are over. Older: the person key first, both at 0.8 speed, and the
    # timer 1.5 times as long (exact to the 20 ms tick, as in test_older_callers.py).
    seconds = h.app.prompts.seconds
    main = seconds("main.long", "zh")
    slower = (seconds("common.person_first", "zh") + main) / SPEED + TIMEOUT * FACTOR
    assert abs(in_main_menu(older) - slower) < 0.1
    assert abs(in_main_menu(standard) - (main + TIMEOUT)) < 0.1


def test_an_unreachable_host_leaves_the_caller_in_the_standard_mode(
        tmp_path, prompts_dir):  # noqa: F811
    # A loopback port bound but not listening: every connection is refused, and no other
    # process can take the port while the test runs.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        h, record = one_call(tmp_path, prompts_dir, url, LISTED)
    assert steps(record, "host") == ["customer: failed unreachable"]
    assert steps(record, "mode") == []
    assert (record.queue, record.priority_class) == ("general", "normal")
    assert record.agent_id, "the call went on to the person the caller asked for"
    seconds = h.app.prompts.seconds
    assert abs(in_main_menu(record) - (seconds("main.long", "zh") + TIMEOUT)) < 0.1


def steps(record, what):
    return [s.detail for s in record.ivr_path if s.what == what]


def in_main_menu(record):
    """Seconds from entering the main menu to its first no-input."""
    at = {what: next(s.at for s in record.ivr_path if s.what == what and s.node == "main_menu")
          for what in ("enter", "no_input")}
    return at["no_input"] - at["enter"]
