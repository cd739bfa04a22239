"""Webhooks: signed, retried with back-off, in order; and a slow or dead receiver changes
nothing for the calls. Receivers are real HTTP servers on loopback."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from runtime_harness import bank_url, prompts_dir, scenario_text  # noqa: F401 (fixtures)
from web_harness import WebHarness

from branchline.config.web.cti_events import DELIVERY_HEADER, SIGNATURE_HEADER, verify
from branchline.firmware.cti.feed import CtiEvent
from branchline.firmware.cti.webhooks import WebhookSender, WebhookTarget
from branchline.firmware.records.database import Records

SECRET = bytes(range(32))
WAIT_S = 30.0  # a bound for a loaded machine; deliveries take milliseconds


class Receiver:
    """An HTTP server on 127.0.0.1 that answers ``statuses`` in turn (then 200), or holds
    every request until ``release`` is set; it keeps what it got."""

    def __init__(self, statuses=(), hold=False):
        self.got: list[tuple[dict, bytes, int]] = []
        self.statuses = list(statuses)
        self.release = threading.Event()
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hold:
                    receiver.release.wait(WAIT_S)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                with receiver.changed:
                    receiver.got.append((dict(self.headers), body, status))
                    receiver.changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, condition):
        with self.changed:
            assert self.changed.wait_for(lambda: condition(self.got), WAIT_S), self.got

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _event(seq, kind="state_changed"):
    body = {"v": 1, "stream": "abc123", "seq": seq, "type": kind, "time": 1.0,
            "call_id": None, "agent": "1001", "queue": None, "data": {}}
    return CtiEvent("abc123", seq, kind, "1001", None, json.dumps(body))


def _sender(url, **options):
    sender = WebhookSender(lambda scopes, event: True, **options)
    sender.set_targets([WebhookTarget("crm", url, SECRET, frozenset({"all"}))])
    return sender


def _wait_stats(sender, condition):
    deadline = time.monotonic() + WAIT_S
    while not condition(sender.stats().get("crm", {})):
        assert time.monotonic() < deadline, sender.stats()
        threading.Event().wait(0.01)


def test_deliveries_are_signed_in_order_and_retried_with_back_off():
    receiver = Receiver(statuses=(500, 503))
    sender = _sender(receiver.url, backoff=(0.01, 0.02, 0.04))
    try:
        for seq in (1, 2, 3):
            sender.offer(_event(seq))
        receiver.wait_for(lambda got: sum(1 for *_, status in got if status == 200) == 3)
    finally:
        sender.close()
        receiver.close()
    assert [status for *_, status in receiver.got] == [500, 503, 200, 200, 200]
    delivered = [(h, b) for h, b, status in receiver.got if status == 200]
    assert [h[DELIVERY_HEADER] for h, _ in delivered] == ["abc123-1", "abc123-2", "abc123-3"]
    for headers, body in delivered:
        assert verify(SECRET, headers[SIGNATURE_HEADER], body, time.time())
        assert not verify(b"another secret" * 2, headers[SIGNATURE_HEADER], body, time.time())
        assert not verify(SECRET, headers[SIGNATURE_HEADER], body + b" ", time.time())
    assert sender.stats()["crm"] == {"delivered": 3, "retried": 2}


def test_a_dead_receiver_loses_events_only_after_every_try_and_never_blocks_offer():
    receiver = Receiver()
    url = receiver.url
    receiver.close()  # nothing listens there now: every try is refused
    sender = _sender(url, backoff=(0.01, 0.01), capacity=2)
    try:
        for seq in range(1, 101):
            sender.offer(_event(seq))  # a full queue drops at once; offer never waits
        _wait_stats(sender, lambda s: s.get("dropped", 0) == 100)
    finally:
        sender.close()
    assert sender.stats()["crm"].get("delivered", 0) == 0


def _records_of(h):
    h.close()
    with Records(h.data_dir / "records.db") as records:
        # Call ids differ by run (a random boot token); everything else must not.
        calls = [replace(c, call_id="-", recording=None,
                         ivr_path=tuple(s for s in c.ivr_path if s.what != "start"))
                 for c in records.iter_calls()]
        events = [(e.at, e.name, e.agent) for e in records.events(0, float("inf"))]
    return calls, events


@pytest.fixture
def scenario():
    return scenario_text(stations=2, end="09:04", agents=[("1001", 0), ("1002", 1)])


def test_a_slow_or_dead_receiver_changes_nothing_for_the_calls(tmp_path, prompts_dir,  # noqa: F811
                                                               bank_url, scenario):  # noqa: F811
    plain = WebHarness(tmp_path / "plain", prompts_dir=prompts_dir, bank_url=bank_url,
                       scenario=scenario, seed=11)
    plain.run(300)
    expected = _records_of(plain)
    slow, dead = Receiver(hold=True), Receiver()
    dead.close()
    hooked = WebHarness(tmp_path / "hooked", prompts_dir=prompts_dir, bank_url=bank_url,
                        scenario=scenario, seed=11)
    try:
        admin = hooked.client()
        for name, url in (("slow", slow.url), ("dead", dead.url)):
            reply = admin.post("/api/integrations", json={"name": name, "scopes": ["all"],
                                                          "webhook_url": url})
            assert reply.status_code == 201, reply.text
        hooked.run(300)
        stats = hooked.link.webhooks.stats()
        got = _records_of(hooked)
    finally:
        slow.close()
    assert expected[0] and got == expected
    assert stats["slow"].get("delivered", 0) == 0 and stats["dead"].get("delivered", 0) == 0
    assert hooked.link.cti.last_seq > 10  # there were events to send all along
