"""The runtime's host client against the real simulator on loopback: every outcome, no blocking."""

import asyncio
import json
import logging
import socket
import subprocess
import sys

import httpx
import pytest

from branchline.firmware.bankhost import ENDPOINTS, TEST_CARDS, BankHostSimulator
from branchline.firmware.host_client import HostClient, HostClientClosed, InProcessHost
from branchline.ivr import HostReplied, HostRequest

CARD = TEST_CARDS[0]
SENSITIVE = frozenset({"card_number", "pin"})
WAIT = 10.0  # a bound for waiting on replies, never reached when things work


def balance_request(request_id=1, pin=CARD.pin, timeout=5.0):
    return HostRequest(request_id, "balance", {"card_number": CARD.card_number, "pin": pin},
                       timeout, SENSITIVE)


def replies(client, count):
    """Poll until ``count`` replies arrived, waiting on the client's signal (no sleeping)."""
    got = []
    while len(got) < count:
        assert client.wait(WAIT), f"no reply within {WAIT} s; have {got}"
        got += client.poll()
    return got


@pytest.fixture(scope="module")
def simulator():
    with BankHostSimulator() as sim:
        yield sim


@pytest.fixture
def sim(simulator):
    simulator.reset()
    simulator.delay = simulator.error_rate = simulator.malformed_rate = 0.0
    return simulator


@pytest.fixture
def client(sim):
    with HostClient(sim.base_url, ENDPOINTS) as c:
        yield c


def test_ok_reply(client):
    client.submit(balance_request(), "call-1")
    assert replies(client, 1) == [
        ("call-1", HostReplied(1, "ok", {"balance": "1234.56", "currency": "CNY"}))]


def test_host_refusal_carries_its_code(client):
    client.submit(balance_request(pin="000000"), "call-2")
    assert replies(client, 1) == [("call-2", HostReplied(1, "error", {"code": "bad_pin"}))]


def test_card_loss_reply(client):
    request = HostRequest(7, "card_loss", {"card_number": CARD.card_number,
                                           "caller": "13800138000"}, 8.0,
                          frozenset({"card_number"}))
    client.submit(request, "call-3")
    [(call_id, reply)] = replies(client, 1)
    assert (call_id, reply.request_id, reply.status) == ("call-3", 7, "ok")
    assert len(reply.data["reference"]) == 11


def test_submit_returns_before_the_host_answers(client, sim):
    sim.delay = 0.5
    client.submit(balance_request(), "call-4")
    assert client.poll() == []  # the host is still thinking: nothing yet, and no waiting
    assert replies(client, 1)[0][1].status == "ok"


def test_timeout_when_the_host_is_slower_than_the_request(client, sim):
    sim.delay = 5.0
    client.submit(balance_request(timeout=0.2), "call-5")
    assert replies(client, 1) == [("call-5", HostReplied(1, "timeout", {}))]


def test_injected_host_error_is_http_status(client, sim):
    sim.error_rate = 1.0
    client.submit(balance_request(), "call-6")
    assert replies(client, 1) == [("call-6", HostReplied(1, "failed", {"code": "http_503"}))]


def test_malformed_reply_is_bad_reply(client, sim):
    sim.malformed_rate = 1.0
    client.submit(balance_request(), "call-7")
    assert replies(client, 1) == [("call-7", HostReplied(1, "failed", {"code": "bad_reply"}))]


def test_reply_of_the_wrong_shape_is_bad_reply(sim):
    def wrong_shape(request):
        return httpx.Response(200, json={"status": "ok", "data": ["1234.56"]})
    with HostClient("http://host.test", ENDPOINTS,
                    transport=httpx.MockTransport(wrong_shape)) as client:
        client.submit(balance_request(), "call-8")
        assert replies(client, 1)[0][1] == HostReplied(1, "failed", {"code": "bad_reply"})


def test_host_down_is_unreachable():
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with HostClient(f"http://127.0.0.1:{port}", ENDPOINTS) as client:
        client.submit(balance_request(), "call-9")
        assert replies(client, 1) == [("call-9",
                                       HostReplied(1, "failed", {"code": "unreachable"}))]


def test_wrong_path_is_http_404(sim):
    with HostClient(sim.base_url, {"balance": "/api/nothing"}) as client:
        client.submit(balance_request(), "call-10")
        assert replies(client, 1)[0][1] == HostReplied(1, "failed", {"code": "http_404"})


def test_unconfigured_endpoint_answers_at_once(client):
    client.submit(HostRequest(3, "transfer", {}, 5.0), "call-11")
    assert client.poll() == [("call-11", HostReplied(3, "failed",
                                                      {"code": "unknown_endpoint"}))]


def test_many_requests_from_many_calls_all_come_back(client):
    for n in range(20):
        client.submit(balance_request(request_id=n), f"call-{n}")
    got = replies(client, 20)
    assert sorted(call for call, _ in got) == sorted(f"call-{n}" for n in range(20))
    assert all(reply.status == "ok" for _, reply in got)


def test_wait_times_out_when_nothing_is_pending(client):
    assert client.wait(0.01) is False


def test_submit_after_close_is_refused(sim):
    client = HostClient(sim.base_url, ENDPOINTS)
    client.close()
    client.close()  # twice is harmless
    with pytest.raises(HostClientClosed, match="after close"):
        client.submit(balance_request(), "call-12")


def test_close_abandons_requests_in_flight(sim):
    sim.delay = 5.0
    client = HostClient(sim.base_url, ENDPOINTS)
    client.submit(balance_request(), "call-13")
    client.close()
    assert client.poll() == []


def test_sensitive_fields_never_reach_the_log(client, sim, caplog):
    caplog.set_level(logging.DEBUG)
    client.submit(balance_request(pin="000000"), "call-14")
    client.submit(balance_request(request_id=2), "call-15")
    replies(client, 2)
    assert "balance request 2 (call call-15): ok" in caplog.text
    assert "***" in caplog.text
    for secret in (CARD.card_number, CARD.pin, "000000"):
        assert secret not in caplog.text


def test_the_request_body_is_sent_as_json(sim):
    seen = []

    def record(request):
        seen.append((request.method, request.url.path, json.loads(request.content)))
        return httpx.Response(200, json={"status": "ok", "data": {"balance": "1.00"}})
    with HostClient("http://host.test", ENDPOINTS,
                    transport=httpx.MockTransport(record)) as client:
        client.submit(balance_request(), "call-16")
        replies(client, 1)
    assert seen == [("POST", "/ivr/balance",
                     {"card_number": CARD.card_number, "pin": CARD.pin})]


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="max_workers=0"):
        HostClient("http://x", ENDPOINTS, max_workers=0)
    with pytest.raises(ValueError, match="'balance' path 'api/balance'"):
        HostClient("http://x", {"balance": "api/balance"})


def raising(exc):
    def handler(request):
        raise exc
    return handler


@pytest.mark.parametrize(("handler", "expected"), [
    (raising(httpx.ReadError("connection reset")), HostReplied(1, "failed",
                                                               {"code": "unreachable"})),
    (raising(httpx.RemoteProtocolError("garbage")), HostReplied(1, "failed",
                                                                {"code": "bad_reply"})),
    (raising(httpx.ReadTimeout("slow")), HostReplied(1, "timeout", {})),
    (lambda r: httpx.Response(200, json=["ok"]), HostReplied(1, "failed", {"code": "bad_reply"})),
    (lambda r: httpx.Response(200, json={"status": "error"}),
     HostReplied(1, "failed", {"code": "bad_reply"})),
    (lambda r: httpx.Response(200, json={"status": "maybe", "data": {}}),
     HostReplied(1, "failed", {"code": "bad_reply"})),
    (lambda r: httpx.Response(302, headers={"Location": "/elsewhere"}),
     HostReplied(1, "failed", {"code": "http_302"})),
])
def test_every_outcome_maps_to_one_reply(handler, expected):
    with HostClient("http://host.test", ENDPOINTS,
                    transport=httpx.MockTransport(handler)) as client:
        client.submit(balance_request(), "call-20")
        assert replies(client, 1) == [("call-20", expected)]


def test_a_bug_in_the_exchange_is_a_failed_reply_not_a_lost_call(caplog):
    with HostClient("http://host.test", ENDPOINTS,
                    transport=httpx.MockTransport(raising(ZeroDivisionError()))) as client:
        client.submit(balance_request(), "call-21")
        assert replies(client, 1) == [("call-21",
                                       HostReplied(1, "failed", {"code": "client_error"}))]
    assert "failed unexpectedly: ZeroDivisionError" in caplog.text


def test_no_more_than_max_workers_requests_are_on_the_wire():
    on_wire = []
    peak = []

    async def slow_host(request):
        on_wire.append(request)
        peak.append(len(on_wire))
        await asyncio.sleep(0.02)  # the fake host thinking, so requests overlap
        on_wire.remove(request)
        return httpx.Response(200, json={"status": "ok", "data": {}})
    with HostClient("http://host.test", ENDPOINTS, max_workers=2,
                    transport=httpx.MockTransport(slow_host)) as client:
        for n in range(6):
            client.submit(balance_request(request_id=n), f"call-{n}")
        assert len(replies(client, 6)) == 6
    assert max(peak) == 2


@pytest.mark.parametrize("setting, request_, expected", [
    ({}, balance_request(), HostReplied(1, "ok", {"balance": "1234.56", "currency": "CNY"})),
    ({}, balance_request(pin="000000"), HostReplied(1, "error", {"code": "bad_pin"})),
    ({"error_rate": 1.0}, balance_request(), HostReplied(1, "failed", {"code": "http_503"})),
    ({"malformed_rate": 1.0}, balance_request(),
     HostReplied(1, "failed", {"code": "bad_reply"})),
    ({}, HostRequest(1, "loans", {}, 5.0), HostReplied(1, "failed",
                                                       {"code": "unknown_endpoint"})),
])
def test_the_in_process_host_answers_as_the_http_client_does(sim, setting, request_, expected):
    """``simulate --media events`` asks the simulator in the loop's thread: the same replies,
    each ready at the next poll without waiting."""
    for name, value in setting.items():
        setattr(sim, name, value)
    with HostClient(sim.base_url, ENDPOINTS) as client:
        client.submit(request_, "over-http")
        assert replies(client, 1) == [("over-http", expected)]
    sim.reset()
    direct = InProcessHost(sim.answer, ENDPOINTS)
    assert direct.poll() == [] and not direct.wait(0)
    direct.submit(request_, "in-process")
    assert direct.wait(0) and direct.poll() == [("in-process", expected)]
    assert direct.poll() == []
    direct.close()
    with pytest.raises(HostClientClosed, match="after close"):
        direct.submit(request_, "late")


def test_the_first_exchange_imports_nothing_the_start_did_not(simulator, tmp_path):
    # A fresh interpreter: this one has imported everything long ago.
    script = tmp_path / "first.py"
    script.write_text(f"""
import sys
from branchline.firmware.bankhost import ENDPOINTS, TEST_CARDS
from branchline.firmware.host_client import HostClient
from branchline.ivr import HostRequest
card = TEST_CARDS[0]
client = HostClient({simulator.base_url!r}, ENDPOINTS)
before = set(sys.modules)
client.submit(HostRequest(1, "balance", {{"card_number": card.card_number,
                                         "pin": card.pin}}, 5.0), "call")
assert client.wait(10.0)
print(client.poll()[0][1].status, sorted(set(sys.modules) - before))
client.close()
""")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.split() == ["ok", "[]"]
