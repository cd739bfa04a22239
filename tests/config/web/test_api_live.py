"""Live state and agent commands through the real API over a running appliance."""

from __future__ import annotations

import json
import threading

import pytest
from runtime_harness import bank_url, prompts_dir  # noqa: F401 (fixtures)
from web_harness import WebHarness

from branchline.firmware.records.database import Records


@pytest.fixture
def h(tmp_path, prompts_dir, bank_url):  # noqa: F811
    harness = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url)
    yield harness
    harness.close()


def _agent(snapshot, agent_id):
    return next(a for a in snapshot["agents"] if a["id"] == agent_id)


def _ready(h, agent_id="1001"):
    h.run_until(lambda: _agent(h.link.snapshot(), agent_id)["state"] == "ready", limit=60)


def test_live_snapshot_for_a_viewer_and_401_without_a_session(h):
    h.run(2)
    viewer = h.client("viewer")
    reply = viewer.get("/api/live")
    assert reply.status_code == 200
    body = reply.json()
    assert body["seq"] == h.link.snapshot()["seq"]
    assert {"calls", "queues", "agents", "board", "time", "config_version"} <= body.keys()
    assert {a["id"] for a in body["agents"]} == {"1001", "1002"}
    queue = body["queues"][0]
    assert set(queue["target"]) == set(queue["waiting"])
    anonymous = h.anonymous()
    refused = anonymous.get("/api/live")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "not_logged_in"


def _events(text):
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines()
                      if ": " in line and not line.startswith(":"))
        if fields.get("event") == "snapshot":
            events.append((int(fields["id"]), json.loads(fields["data"])))
    return events


def test_stream_sends_one_event_per_new_snapshot(h):
    viewer = h.client("viewer")
    done = threading.Event()

    def run_appliance():
        # The media loop's thread: it publishes a snapshot every second of virtual time.
        for _ in range(50 * 600):
            if done.is_set():
                return
            h.step()

    loop = threading.Thread(target=run_appliance, name="virtual-loop")
    loop.start()
    try:
        with viewer.stream("GET", "/api/live/stream?events=3") as reply:
            assert reply.status_code == 200
            assert reply.headers["content-type"].startswith("text/event-stream")
            text = "".join(reply.iter_text())
    finally:
        done.set()
        loop.join(timeout=60)
    assert text.startswith("retry: 3000\n\n")
    events = _events(text)
    assert len(events) == 3
    ids = [seq for seq, _ in events]
    assert ids == sorted(set(ids))
    assert all(data["seq"] == seq for seq, data in events)


def test_supervisor_sets_not_ready_and_the_acd_and_records_see_it(h):
    _ready(h)
    supervisor = h.client("supervisor", name="sup")
    reply = supervisor.post("/api/agents/1001/state",
                            json={"action": "not_ready", "reason": "lunch"})
    assert reply.status_code == 202, reply.text
    assert reply.json()["status"] == "queued"
    h.run(1)
    agent = _agent(supervisor.get("/api/live").json(), "1001")
    assert (agent["state"], agent["reason"]) == ("not_ready", "lunch")
    assert str(h.app.acd.agent_state("1001")) == "not_ready"
    h.close()
    with Records(h.data_dir / "records.db") as records:
        history = records.agent_history("1001")
        audit = records.audit()
    assert any(c.to_state == "not_ready" and c.reason == "lunch" for c in history)
    assert any(e.who == "sup" and e.what == "agent 1001: not_ready (lunch)" for e in audit)


def test_viewer_cannot_set_agent_state(h):
    _ready(h)
    viewer = h.client("viewer")
    reply = viewer.post("/api/agents/1001/state", json={"action": "not_ready"})
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "forbidden"
    h.run(1)
    assert _agent(h.link.snapshot(), "1001")["state"] == "ready"


def test_agent_command_errors_say_what_would_be_right(h):
    supervisor = h.client("supervisor")
    unknown = supervisor.post("/api/agents/7777/state", json={"action": "ready"})
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {
        "code": "unknown_agent",
        "message": "agent '7777' is not configured; agents are: 1001, 1002"}
    illegal = supervisor.post("/api/agents/1002/state", json={"action": "end_wrapup",
                                                              "reason": "lunch"})
    assert illegal.status_code == 422
    assert illegal.json()["error"]["code"] == "bad_reason"
    bad = supervisor.post("/api/agents/1002/state", json={"action": "sleep"})
    assert bad.status_code == 422
    assert bad.json()["error"]["issues"][0]["path"] == "body.action"


def test_web_login_ties_the_agent_to_its_station(h):
    h.run(1)
    admin = h.client()
    state = _agent(h.link.snapshot(), "1002")["state"]
    if state != "logged_out":
        assert admin.post("/api/agents/1002/state", json={"action": "logout"}).status_code == 202
        h.run(1)
    assert admin.post("/api/agents/1002/state", json={"action": "login"}).status_code == 202
    h.run(1)
    assert _agent(h.link.snapshot(), "1002")["state"] == "not_ready"
    station = next(s for s in h.app.stations.values() if s.name == "fxs2")
    assert station.agent_id == "1002"
