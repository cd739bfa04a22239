"""The agent desktop's API over a real appliance on the virtual clock: the agent role, the
desk's state however it changed, the screen pop, the disposition, a reload mid-call.

The scenario's virtual agents log in and go ready by keypad at 09:00 (their shift), answer
when rung and hang up after 20 s; the tests log in through the API as the agents' web users.
"""

from __future__ import annotations

import json
import random

import pytest
from runtime_harness import CARD, PIN, bank_url, prompts_dir, scenario_text  # noqa: F401 (fixtures)
from web_harness import WebHarness

from branchline.acd.agent_states import AgentState
from branchline.config.web.auth import Role, route_roles
from branchline.firmware.records.database import Records

AGENT_PIN = "582914"


@pytest.fixture
def h(tmp_path, prompts_dir, bank_url):  # noqa: F811
    harness = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url,
                         scenario=scenario_text(stations=3, end="09:05", wrapup=None,
                                                agents=[("1001", 0), ("1002", 1)]))
    yield harness
    harness.close()


def _agent_client(h, agent_id="1001", secret=AGENT_PIN):
    admin = h.client()
    made = admin.post("/api/users", json={"name": agent_id, "role": "agent",
                                          "language": "zh", "password": secret})
    assert made.status_code == 201, made.text
    return h.login(agent_id, secret)


def _desk(client):
    reply = client.get("/api/agent/desk")
    assert reply.status_code == 200, reply.text
    return reply.json()


def _state_in_records(h, agent_id):
    with Records(h.data_dir / "records.db") as records:
        history = records.agent_history(agent_id)
    return history[-1].to_state if history else "logged_out"


# --- the role ---------------------------------------------------------------------------------

def test_an_agent_user_is_named_by_a_configured_agent_and_needs_a_strong_pin(h):
    admin = h.client()
    unknown = admin.post("/api/users", json={"name": "7777", "role": "agent",
                                             "password": AGENT_PIN})
    assert unknown.status_code == 422
    assert "'7777' is not a configured agent; use one of: 1001, 1002" in \
        unknown.json()["error"]["message"]
    for weak in ("123456", "111111", "51001" + "9", "1234"):
        reply = admin.post("/api/users", json={"name": "1001", "role": "agent",
                                               "password": weak})
        assert reply.status_code == 422, weak
        assert reply.json()["error"]["issues"][0]["path"] == "body.password"
    assert admin.post("/api/users", json={"name": "1001", "role": "agent",
                                          "password": AGENT_PIN}).status_code == 201


def test_the_agent_role_reaches_its_desk_and_nothing_else(h):
    agent = _agent_client(h)
    for path in ("/api/live", "/api/draft", "/api/versions", "/api/users",
                 "/api/reports/kpis?start=0&end=3600"):
        reply = agent.get(path)
        assert reply.status_code == 403, path
    refused = agent.post("/api/agents/1002/state", json={"action": "logout"})
    assert refused.status_code == 403
    assert agent.get("/api/session").json()["role"] == "agent"
    supervisor = h.client("supervisor")
    reply = supervisor.get("/api/agent/desk")
    assert reply.status_code == 403
    assert "the agent desktop is for agents" in reply.json()["error"]["message"]
    # What an agent may call at all: its desk and its own session.
    open_to_agents = {r.path for r in route_roles(h.web) if r.role is Role.agent}
    assert open_to_agents == {"/api/session", "/api/session/language", "/api/session/password",
                              "/api/agent/desk", "/api/agent/desk/stream", "/api/agent/login",
                              "/api/agent/state", "/api/agent/disposition", "/api/agent/call"}


# --- state ------------------------------------------------------------------------------------

def test_page_and_keypad_in_any_order_leave_one_consistent_state(h):
    agent = _agent_client(h)
    h.run_until(lambda: _desk(agent)["state"] == "ready", limit=60)  # keyed at 09:00
    station = h.app.stations[h.app.board.ports[-3].index]  # fxs1: 1001's phone
    codes = h.app.config.document.agent_codes

    def keypad(code):
        now = h.runtime.clock.now()
        station.hook_off(now)
        for key in code:
            station.digit(key, now)
        station.hook_on(now)

    page_actions = {"ready": {"action": "ready"},
                    "not_ready": {"action": "not_ready", "reason": "lunch"},
                    "logout": {"action": "logout"}}
    keypad_codes = {"ready": codes.ready, "not_ready": codes.not_ready.format(reason="2"),
                    "logout": codes.logout, "login": codes.login.format(agent_id="1001")}
    rng = random.Random(19)
    for _ in range(24):
        if rng.random() < 0.5:
            action = rng.choice([*keypad_codes])
            keypad(keypad_codes[action])
        else:
            action = rng.choice([*page_actions, "login"])
            if action == "login":
                agent.post("/api/agent/login", json={"station": None})
            else:
                agent.post("/api/agent/state", json=page_actions[action])
        h.run(1.2)  # the next snapshot; the station's beep plays out
        desk = _desk(agent)
        acd = str(h.app.acd.agent_state("1001"))
        live = next(a for a in h.link.snapshot()["agents"] if a["id"] == "1001")["state"]
        if acd in ("reserved", "talking", "wrap_up"):
            continue  # a caller arrived: the ACD moved on; still one state everywhere below
        assert desk["state"] == acd == live, (action, desk["state"], acd, live)
        assert AgentState(acd)
        logged_in_at = station.agent_id
        assert (logged_in_at == "1001") == (acd != "logged_out")
    h.close()
    assert _state_in_records(h, "1001") == str(h.app.acd.agent_state("1001"))


def test_login_at_a_chosen_station_rings_that_station(h):
    agent = _agent_client(h)
    h.run_until(lambda: _desk(agent)["state"] == "ready", limit=60)
    assert agent.post("/api/agent/state", json={"action": "logout"}).status_code == 202
    h.run(0.1)
    desk = _desk(agent)
    assert desk["state"] == "logged_out" and "fxs3" in desk["stations"]
    taken = agent.post("/api/agent/login", json={"station": "fxs2"})
    assert taken.status_code == 422
    assert "station fxs2 is in use by agent 1002" in taken.json()["error"]["message"]
    assert agent.post("/api/agent/login", json={"station": "fxs3"}).status_code == 202
    h.run(0.1)
    assert agent.post("/api/agent/state", json={"action": "ready"}).status_code == 202
    h.run(0.1)
    assert _desk(agent)["station"] == "fxs3"
    # 1002 takes calls too: wait for the first offer to 1001.
    h.run_until(lambda: (_desk(agent)["call"] or {}).get("phase") == "offered", limit=240)
    fxs3 = h.app.board.ports[-1].index
    assert h.app.stations[fxs3].offer is not None
    assert _desk(agent)["call"]["pop"]["station"] == "fxs3"


# --- the pop, disposition, reload ---------------------------------------------------------------

def _until_offered(h, agent):
    h.run_until(lambda: _desk(agent)["state"] == "ready", limit=60)
    h.run_until(lambda: (_desk(agent)["call"] or {}).get("phase") == "offered", limit=300)
    return _desk(agent)


def test_the_pop_shows_the_caller_before_the_answer_and_never_a_pin(h):
    agent = _agent_client(h)
    desk = _until_offered(h, agent)
    assert str(h.app.acd.agent_state("1001")) == "reserved"  # rung, not answered yet
    call = desk["call"]
    pop = call["pop"]
    session = h.app.by_id[call["call_id"]]
    assert pop["caller"] == session.caller and pop["caller"]
    assert pop["queue"] == session.s.queueing.queue
    assert pop["class"] == session.s.queueing.priority_class
    assert pop["language"] == session.s.language
    assert pop["card"] == "*" * 12 + CARD[-4:]
    assert {"endpoint": "balance", "status": "ok"} in pop["host"]
    assert pop["waited_s"] >= 0
    dids = [(s["node"], s["did"]) for s in pop["path"]]
    assert ("main_menu", "pressed") in dids and ("balance_pin", "typed") in dids
    pin_step = next(s for s in pop["path"] if s["node"] == "balance_pin" and s["did"] == "typed")
    assert pin_step["value"] == ""
    text = json.dumps(desk)
    assert PIN not in text and CARD not in text
    with Records(h.data_dir / "records.db") as records:
        earlier = [c.call_id for c in records.iter_calls() if c.caller == pop["caller"]]
    assert [c["call_id"] for c in pop["calls_today"]] == earlier


def test_disposition_is_stored_with_the_call_counted_and_survives_a_reload(h):
    agent = _agent_client(h)
    call_id = _until_offered(h, agent)["call"]["call_id"]
    early = agent.post("/api/agent/disposition", json={"call_id": call_id, "code": "resolved"})
    assert early.status_code == 422 and "was not answered by agent 1001" in early.text
    h.run_until(lambda: _desk(agent)["call"]["phase"] == "talking", limit=30)
    reloaded = h.login("1001", AGENT_PIN)  # a reload: a new page, the same desk
    again = _desk(reloaded)
    assert again["call"]["call_id"] == call_id and again["call"]["pop"]["card"]
    bad_code = agent.post("/api/agent/disposition", json={"call_id": call_id, "code": "nap"})
    assert bad_code.status_code == 422
    assert "use one of resolved, follow_up" in bad_code.json()["error"]["message"]
    card = agent.post("/api/agent/disposition", json={
        "call_id": call_id, "code": "resolved", "notes": f"card {CARD} blocked"})
    assert card.status_code == 422 and "full card number; nothing was stored" in card.text
    saved = agent.post("/api/agent/disposition", json={
        "call_id": call_id, "code": "card_service", "notes": "客户已挂失 card ending 7894"})
    assert saved.status_code == 201, saved.text
    h.run(0.1)
    assert _desk(reloaded)["call"]["disposition"] == {"code": "card_service",
                                                      "notes": "客户已挂失 card ending 7894"}
    h.run_until(lambda: _desk(agent)["state"] == "wrap_up", limit=60)
    assert agent.post("/api/agent/state", json={"action": "end_wrapup"}).status_code == 202
    h.run(0.1)
    assert _desk(agent)["state"] == "ready"
    start = h.app.wall_epoch(0.0)
    kpis = h.client().get(f"/api/reports/kpis?start={start}&end={start + 3600}").json()
    assert kpis["dispositions"] == {"card_service": 1}
    h.close()
    with Records(h.data_dir / "records.db") as records:
        rows = records.rows("SELECT call_id, agent, code, notes FROM dispositions")
        audit = [e.what for e in records.audit()]
    assert rows == [(call_id, "1001", "card_service", "客户已挂失 card ending 7894")]
    assert f"call {call_id}: disposition card_service by agent 1001" in audit


def test_call_control_from_the_api_is_checked_audited_and_shown_on_the_desk(h):
    agent = _agent_client(h)
    nothing = agent.post("/api/agent/call", json={"action": "hold"})
    assert nothing.status_code == 422
    assert "1001 has no call in progress" in nothing.json()["error"]["message"]
    call_id = _until_offered(h, agent)["call"]["call_id"]
    h.run_until(lambda: _desk(agent)["call"]["phase"] == "talking", limit=30)
    desk = _desk(agent)
    assert desk["call"]["control"]["phase"] == "talking"
    assert {"id": "1002", "name": "agent 1002", "state": "ready"} in desk["targets"]["agents"]
    h.link.agent_command("1002", "not_ready", "lunch", "test")
    h.run(0.1)
    refusals = [
        ({"action": "retrieve"}, "illegal_action",
         "is talking: retrieve is possible while held or consult_ringing or consulting"),
        ({"action": "transfer_queue", "target": "loans"}, "unknown_queue",
         "queue 'loans' is not configured; use one of general"),
        ({"action": "consult", "target": "1001"}, "bad_target", "agent 1001 is you"),
        ({"action": "consult", "target": "1009"}, "unknown_agent",
         "agent '1009' is not configured; agents are: 1002"),
        ({"action": "consult", "target": "1002"}, "agent_busy",
         "agent 1002 is not_ready: only a ready agent can be rung"),
        ({"action": "hold", "target": "1002"}, "bad_target", "hold takes no target"),
        ({"action": "transfer_outside", "target": "1"}, "unknown_target",
         "outside target '1' is not in call_control.outside; use one of (none configured)"),
    ]
    for body, code, said in refusals:
        reply = agent.post("/api/agent/call", json=body)
        assert reply.status_code == 422, (body, reply.text)
        assert reply.json()["error"]["code"] == code and said in reply.text, (body, reply.text)
    assert agent.post("/api/agent/call", json={"action": "hold"}).status_code == 202
    h.run(1.0)
    control = _desk(h.login("1001", AGENT_PIN))["call"]["control"]  # a reload mid-hold
    assert control["phase"] == "held" and control["held"] and control["agent"] == "1001"
    assert agent.post("/api/agent/call", json={"action": "retrieve"}).status_code == 202
    h.run(0.1)
    assert _desk(agent)["call"]["control"]["phase"] == "talking"
    h.close()
    with Records(h.data_dir / "records.db") as records:
        audit = [e.what for e in records.audit() if e.who == "1001"]
        cdr = records.call(call_id)
    assert audit[-2:] == [f"call {call_id}: hold by agent 1001 (page)",
                          f"call {call_id}: retrieve by agent 1001 (page)"]
    assert cdr.hold_seconds == pytest.approx(1.0, abs=0.05)
