"""The CTI WebSocket stream over a real appliance on the virtual clock, served by uvicorn on
loopback and read with the ``websockets`` client: a simulated stretch of a day's calls arrives
in order, each event exactly once, valid by the published schema; tokens and scopes hold.
"""

from __future__ import annotations

import json

import jsonschema_rs
import pytest
from loopback_server import served
from runtime_harness import bank_url, prompts_dir, scenario_text  # noqa: F401 (fixtures)
from web_harness import WebHarness
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from branchline.acd import TransferAnswered, TransferCompleted, TransferOffered
from branchline.config.web.cti_events import JSON_SCHEMA
from branchline.firmware.records.database import Records

WAIT_S = 30  # a bound on each read, for a loaded machine; the events are there already


@pytest.fixture
def h(tmp_path, prompts_dir, bank_url):  # noqa: F811
    harness = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url,
                         scenario=scenario_text(stations=2, end="09:06",
                                                agents=[("1001", 0), ("1002", 1)]))
    yield harness
    harness.close()


def _token(h, scopes, name="crm"):
    reply = h.client().post("/api/integrations", json={"name": name, "scopes": scopes})
    assert reply.status_code == 201, reply.text
    return reply.json()["token"]


def _open(base, query, token):
    return connect(base.replace("http", "ws") + "/api/cti/v1/stream?" + query,
                   additional_headers={"Authorization": f"Bearer {token}"},
                   open_timeout=WAIT_S)


def _read(ws, n):
    return [json.loads(ws.recv(timeout=WAIT_S)) for _ in range(n)]


def test_a_simulated_stretch_arrives_in_order_each_event_once(h):
    token = _token(h, ["all"])
    validator = jsonschema_rs.validator_for(JSON_SCHEMA)
    with served(h.web) as base, _open(base, "agent=1001&after=0", token) as agent_ws, \
            _open(base, "queue=general&after=0", token) as queue_ws:
        h.run(360)  # the scenario's arrivals end at 09:06; then every call ends
        h.run_until(lambda: not h.app.calls and h.link.agent_desk("1001")["state"] in (
            "ready", "not_ready"), limit=300)
        everything = [json.loads(e.text) for e in h.link.cti.since(0)[0]]
        for_agent = [e for e in everything if e["agent"] == "1001"]
        for_queue = [e for e in everything
                     if e["queue"] == "general" or (e["queue"] is None and e["agent"])]
        got_agent, got_queue = _read(agent_ws, len(for_agent)), _read(queue_ws, len(for_queue))
        assert got_agent == for_agent and got_queue == for_queue
        # Nothing more was sent in between: the next frame is the next event.
        target = "not_ready" if h.link.agent_desk("1001")["state"] == "ready" else "ready"
        h.link.agent_command("1001", target, "lunch" if target == "not_ready" else None,
                             who="test")
        h.run(0.1)
        marker = _read(agent_ws, 1)[0]
        assert marker["seq"] == everything[-1]["seq"] + 1
        assert (marker["type"], marker["data"]["new"]) == ("state_changed", target)
    for event in everything:
        validator.validate(event)
    seqs = [e["seq"] for e in everything]
    assert seqs == list(range(1, len(seqs) + 1))
    _check_story(for_agent)
    h.close()
    with Records(h.data_dir / "records.db") as records:
        answered = {c.call_id for c in records.iter_calls() if c.agent_id == "1001"}
    assert answered and answered == {e["call_id"] for e in for_agent if e["type"] == "answered"}


def _check_story(events):
    """Each call: offered, then answered and ended (talk), or ended (offer); the agent's
    states chain (each change starts where the last one ended)."""
    calls: dict[str, list[str]] = {}
    state = None
    for e in events:
        if e["type"] == "state_changed":
            assert state is None or e["data"]["old"] == state, e
            state = e["data"]["new"]
        else:
            calls.setdefault(e["call_id"], []).append(
                e["type"] + ("/" + e["data"]["phase"] if e["type"] == "ended" else ""))
    assert calls
    for call_id, story in calls.items():
        assert story in (["offered", "answered", "ended/talk"], ["offered", "ended/offer"],
                         ["offered", "answered"]), (call_id, story)  # last: still talking


def test_a_client_resumes_where_it_left_off_without_a_gap_or_a_repeat(h):
    token = _token(h, ["agent:1001"])
    with served(h.web) as base:
        with _open(base, "agent=1001&after=0", token) as ws:
            h.run(120)
            first = _read(ws, 3)
        h.run(60)
        stream, last = first[-1]["stream"], first[-1]["seq"]
        with _open(base, f"agent=1001&stream={stream}&after={last}", token) as ws:
            expected = [json.loads(e.text) for e in h.link.cti.since(last)[0]
                        if e.agent == "1001"]
            assert expected and _read(ws, len(expected)) == expected
        with _open(base, "agent=1001&stream=000000&after=5", token) as ws:
            gap = _read(ws, 1)[0]
            assert gap["type"] == "gap" and gap["stream"] == stream


def test_tokens_and_scopes_are_enforced_revocation_closes_and_all_is_audited(h):
    token = _token(h, ["queue:vip"])
    with served(h.web) as base:
        with _open(base, "agent=1001", "blt_not-a-token") as ws, \
                pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=WAIT_S)
        assert closed.value.rcvd.code == 4401
        with _open(base, "queue=general", token) as ws, \
                pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=WAIT_S)
        assert closed.value.rcvd.code == 4403
        assert "do not cover queue:general" in closed.value.rcvd.reason
        with _open(base, "queue=vip", token) as ws:
            revoked = h.client().delete("/api/integrations/crm")
            assert revoked.status_code == 204
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=WAIT_S)
            assert closed.value.rcvd.code == 4401
    listed = h.client().get("/api/integrations").json()
    assert listed[0]["revoked"] is not None and "token" not in listed[0]
    h.close()
    with Records(h.data_dir / "records.db") as records:
        audit = [(e.who, e.what) for e in records.audit()]
    assert any(what.startswith("CTI stream refused") for _, what in audit)
    assert ("integration:crm", "CTI stream queue:general refused: not in the token's scopes") \
        in audit
    assert any(who == "integration:crm" and what.startswith("CTI stream queue:vip opened")
               for who, what in audit)
    assert ("integration:crm", "CTI stream queue:vip closed: token revoked") in audit
    assert all(token not in what for _, what in audit)


def test_a_transfer_pops_the_call_for_the_colleague_and_says_where_it_went(h):
    def talking(agent):
        return (h.link.cti.desk(agent)["call"] or {}).get("phase") == "talking"

    h.run_until(lambda: talking("1001") and h.link.cti.desk("1002")["state"] == "ready",
                limit=300)
    call_id = h.link.cti.desk("1001")["call"]["call_id"]
    after = h.link.cti.last_seq
    now = h.runtime.clock.now()
    # What call control (firmware/calls/control.py) hands the ACD for a consult + transfer.
    assert h.app.acd_event(TransferOffered(call_id, "1002"), now)
    assert h.app.acd_event(TransferAnswered(call_id, "1002"), now)
    assert h.app.acd_event(TransferCompleted(call_id, to_agent="1002", detail="to 1002"), now)
    events = [json.loads(e.text) for e in h.link.cti.since(after)[0]]
    calls = [(e["type"], e["agent"]) for e in events if e["type"] != "state_changed"]
    assert calls == [("offered", "1002"), ("answered", "1002"), ("transferred", "1001"),
                     ("ended", "1001")]
    offered = next(e for e in events if e["type"] == "offered")
    assert offered["call_id"] == call_id and offered["data"]["station"] == "fxs2"
    moved = next(e for e in events if e["type"] == "transferred")
    assert moved["data"] == {"to_agent": "1002", "to_queue": None, "detail": "to 1002"}
    assert h.link.cti.desk("1002")["call"]["call_id"] == call_id
